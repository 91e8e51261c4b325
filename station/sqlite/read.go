package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/civic-station/station/station"
)

// rowScanner is what *sql.Row and *sql.Rows have in common.
type rowScanner interface {
	Scan(dest ...any) error
}

// querier is what *sql.DB and *sql.Tx have in common.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

const matterSelect = `SELECT code, name, pinyin, aliases, department, category, kind, time_limit_days, fee_cents, fee_note,
	certificate, location, conditions, materials, status, version FROM matters`

func scanMatter(r rowScanner) (*station.Matter, error) {
	var m station.Matter
	var kind, status, aliases, conds, mats string
	var cert int
	if err := r.Scan(&m.Code, &m.Name, &m.Pinyin, &aliases, &m.Department, &m.Category, &kind, &m.TimeLimitDays, &m.FeeCents,
		&m.FeeNote, &cert, &m.Location, &conds, &mats, &status, &m.Version); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(aliases), &m.Aliases); err != nil {
		return nil, fmt.Errorf("matter %s aliases: %w", m.Code, err)
	}
	m.Kind, m.Status, m.Certificate = station.MatterKind(kind), station.MatterStatus(status), cert == 1
	if err := json.Unmarshal([]byte(conds), &m.Conditions); err != nil {
		return nil, fmt.Errorf("matter %s conditions: %w", m.Code, err)
	}
	if err := json.Unmarshal([]byte(mats), &m.Materials); err != nil {
		return nil, fmt.Errorf("matter %s materials: %w", m.Code, err)
	}
	return &m, nil
}

// likeEscape escapes LIKE wildcards in user input (used with ESCAPE '\').
func likeEscape(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return r.Replace(s)
}

// Matters returns the matters that match f: without a query ordered by category and code, with one
// the matches of searchMatters, best first.
func (db *DB) Matters(ctx context.Context, f station.MatterFilter) ([]station.Matter, error) {
	var where []string
	var args []any
	if !f.IncludeWithdrawn {
		where = append(where, `status = 'active'`)
	}
	if f.Category != "" {
		where = append(where, `category = ?`)
		args = append(args, f.Category)
	}
	if f.Department != "" {
		where = append(where, `department = ?`)
		args = append(args, f.Department)
	}
	query := matterSelect
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	rows, err := db.read.QueryContext(ctx, query+` ORDER BY category, code`, args...)
	if err != nil {
		return nil, fmt.Errorf("list matters: %w", err)
	}
	defer rows.Close()
	out := []station.Matter{}
	for rows.Next() {
		m, err := scanMatter(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *m)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return searchMatters(out, f.Query), nil
}

// Ranks of a search match, best first.
const (
	rankCode              = iota // the code itself (MZ-001)
	rankName                     // the name or an alias itself (低保)
	rankPrefix                   // the start of the name, an alias or the code (最低, MZ-)
	rankSubstring                // a part of the name, an alias or the code (生活保障)
	rankInitials                 // the pinyin initials of the name or an alias (dbsq)
	rankInitialsPrefix           // their start (zdsh)
	rankInitialsSubstring        // a part of them (shbz)
	noMatch
)

// searchMatters is the catalog search: it keeps the matters that every word of q (split on spaces)
// matches and orders them by how well the worst word matches (see the ranks), then by name and
// code. A word matches the code, the name and the aliases case-insensitively as a whole, a prefix or
// a part, and, when it is all letters and digits, their pinyin initials likewise. An empty q keeps
// every matter in its order.
func searchMatters(ms []station.Matter, q string) []station.Matter {
	words := strings.Fields(strings.ToLower(q))
	if len(words) == 0 {
		return ms
	}
	type ranked struct {
		m    station.Matter
		rank int
	}
	var hits []ranked
	for _, m := range ms {
		code := strings.ToLower(m.Code)
		names := []string{strings.ToLower(m.Name)}
		for _, a := range m.Aliases {
			names = append(names, strings.ToLower(a))
		}
		var initials []string
		for _, n := range names {
			initials = append(initials, pinyinInitials(n))
		}
		worst := rankCode
		for _, w := range words {
			best := noMatch
			if w == code {
				best = rankCode
			}
			for _, n := range names {
				switch {
				case w == n:
					best = min(best, rankName)
				case strings.HasPrefix(n, w):
					best = min(best, rankPrefix)
				case strings.Contains(n, w):
					best = min(best, rankSubstring)
				}
			}
			switch {
			case strings.HasPrefix(code, w):
				best = min(best, rankPrefix)
			case strings.Contains(code, w):
				best = min(best, rankSubstring)
			}
			if best > rankInitials && isInitials(w) {
				for _, in := range initials {
					switch {
					case w == in:
						best = min(best, rankInitials)
					case strings.HasPrefix(in, w):
						best = min(best, rankInitialsPrefix)
					case strings.Contains(in, w):
						best = min(best, rankInitialsSubstring)
					}
				}
			}
			worst = max(worst, best)
		}
		if worst < noMatch {
			hits = append(hits, ranked{m, worst})
		}
	}
	slices.SortStableFunc(hits, func(a, b ranked) int {
		return cmp.Or(cmp.Compare(a.rank, b.rank), strings.Compare(a.m.Name, b.m.Name), strings.Compare(a.m.Code, b.m.Code))
	})
	out := make([]station.Matter, len(hits))
	for i, h := range hits {
		out[i] = h.m
	}
	return out
}

// isInitials reports whether a search word could be pinyin initials: lower-case letters and digits.
func isInitials(w string) bool {
	return w != "" && !strings.ContainsFunc(w, func(r rune) bool { return !('a' <= r && r <= 'z') && !('0' <= r && r <= '9') })
}

// Matter returns one matter by code, or ENOTFOUND.
func (db *DB) Matter(ctx context.Context, code string) (*station.Matter, error) {
	m, err := scanMatter(db.read.QueryRowContext(ctx, matterSelect+` WHERE code = ?`, code))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, station.Errorf(station.ENOTFOUND, "事项不存在")
	}
	return m, err
}

// Categories returns the categories of active matters with their counts.
func (db *DB) Categories(ctx context.Context) ([]station.CategoryCount, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT category, count(*) FROM matters WHERE status = 'active' GROUP BY category ORDER BY count(*) DESC, category`)
	if err != nil {
		return nil, fmt.Errorf("list categories: %w", err)
	}
	defer rows.Close()
	out := []station.CategoryCount{}
	for rows.Next() {
		var c station.CategoryCount
		if err := rows.Scan(&c.Name, &c.Count); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// Calendar returns the working-day calendar.
func (db *DB) Calendar(ctx context.Context) (*station.Calendar, error) {
	return db.calendarTx(ctx, db.read)
}

func (db *DB) calendarTx(ctx context.Context, q querier) (*station.Calendar, error) {
	db.calMu.Lock()
	defer db.calMu.Unlock()
	if db.cal != nil {
		return db.cal, nil
	}
	rows, err := q.QueryContext(ctx, `SELECT date, kind, name FROM calendar_days ORDER BY date`)
	if err != nil {
		return nil, fmt.Errorf("load calendar: %w", err)
	}
	defer rows.Close()
	var days []station.CalendarDay
	for rows.Next() {
		var d station.CalendarDay
		var date, kind string
		if err := rows.Scan(&date, &kind, &d.Name); err != nil {
			return nil, err
		}
		if d.Date, err = station.ParseDate(date); err != nil {
			return nil, fmt.Errorf("load calendar: bad date %q", date)
		}
		d.Kind = station.DayKind(kind)
		days = append(days, d)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	cal, err := station.NewCalendar(days)
	if err != nil {
		return nil, fmt.Errorf("load calendar: %w", err)
	}
	db.cal = cal
	return cal, nil
}

// CalendarDays returns the calendar's exceptional days of one year.
func (db *DB) CalendarDays(ctx context.Context, year int) ([]station.CalendarDay, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT date, kind, name FROM calendar_days WHERE date LIKE ? ORDER BY date`, fmt.Sprintf("%04d-%%", year))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []station.CalendarDay{}
	for rows.Next() {
		var d station.CalendarDay
		var date, kind string
		if err := rows.Scan(&date, &kind, &d.Name); err != nil {
			return nil, err
		}
		d.Date, _ = station.ParseDate(date)
		d.Kind = station.DayKind(kind)
		out = append(out, d)
	}
	return out, rows.Err()
}

const residentSelect = `SELECT id, id_type, id_cipher, id_index, id_masked, name, sex, ethnicity, birth_date, address,
	community, grid, phone, tags, registered_since FROM residents`

func scanResident(r rowScanner) (*station.Resident, error) {
	var p station.Resident
	var idType, sex, birth, tags, registered string
	if err := r.Scan(&p.ID, &idType, &p.IDNumber.Cipher, &p.IDNumber.Index, &p.IDNumber.Masked, &p.Name, &sex, &p.Ethnicity,
		&birth, &p.Address, &p.Community, &p.Grid, &p.Phone, &tags, &registered); err != nil {
		return nil, err
	}
	p.IDNumber.Type, p.Sex = station.IDType(idType), station.Sex(sex)
	if birth != "" {
		p.BirthDate, _ = station.ParseDate(birth)
	}
	if registered != "" {
		p.RegisteredSince, _ = station.ParseDate(registered)
	}
	if err := json.Unmarshal([]byte(tags), &p.Tags); err != nil {
		return nil, fmt.Errorf("resident tags: %w", err)
	}
	return &p, nil
}

// Resident returns a resident by ID, or ENOTFOUND.
func (db *DB) Resident(ctx context.Context, id string) (*station.Resident, error) {
	p, err := scanResident(db.read.QueryRowContext(ctx, residentSelect+` WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, station.Errorf(station.ENOTFOUND, "未找到该居民")
	}
	return p, err
}

// ResidentByIndex returns the resident whose document number has the given lookup hash, or ENOTFOUND.
func (db *DB) ResidentByIndex(ctx context.Context, index string) (*station.Resident, error) {
	p, err := scanResident(db.read.QueryRowContext(ctx, residentSelect+` WHERE id_index = ?`, index))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, station.Errorf(station.ENOTFOUND, "未找到该居民")
	}
	return p, err
}

const applicationSelect = `SELECT id, number, matter_code, matter_name, department, kind, status, coalesce(resident_id, ''),
	applicant_id_type, applicant_id_cipher, applicant_id_index, applicant_id_masked, applicant_id_last4, applicant_name,
	applicant_phone, materials, note, received_at, received_by, due_date, closed_at, updated_at,
	deferred_materials, deferral_reason, deferral_due FROM applications`

func scanApplication(r rowScanner) (*station.Application, error) {
	var a station.Application
	var kind, status, idType, mats, received, due, updated, deferred, deferReason, deferDue string
	var closed sql.NullString
	if err := r.Scan(&a.ID, &a.Number, &a.MatterCode, &a.MatterName, &a.Department, &kind, &status, &a.Applicant.ResidentID,
		&idType, &a.Applicant.IDNumber.Cipher, &a.Applicant.IDNumber.Index, &a.Applicant.IDNumber.Masked, &a.Applicant.IDLast4,
		&a.Applicant.Name, &a.Applicant.Phone, &mats, &a.Note, &received, &a.ReceivedBy, &due, &closed, &updated,
		&deferred, &deferReason, &deferDue); err != nil {
		return nil, err
	}
	if deferDue != "" {
		d := &station.Deferral{Reason: deferReason}
		if err := json.Unmarshal([]byte(deferred), &d.Materials); err != nil {
			return nil, fmt.Errorf("application %s deferred materials: %w", a.ID, err)
		}
		var err error
		if d.DueDate, err = station.ParseDate(deferDue); err != nil {
			return nil, fmt.Errorf("application %s deferral due date: %w", a.ID, err)
		}
		a.Deferral = d
	}
	a.Kind, a.Status, a.Applicant.IDNumber.Type = station.MatterKind(kind), station.Status(status), station.IDType(idType)
	var err error
	if a.ReceivedAt, err = parseTime(received); err != nil {
		return nil, err
	}
	if a.UpdatedAt, err = parseTime(updated); err != nil {
		return nil, err
	}
	if due != "" {
		if a.DueDate, err = station.ParseDate(due); err != nil {
			return nil, err
		}
	}
	if closed.Valid {
		t, err := parseTime(closed.String)
		if err != nil {
			return nil, err
		}
		a.CompletedAt = &t
	}
	if err := json.Unmarshal([]byte(mats), &a.Materials); err != nil {
		return nil, fmt.Errorf("application %s materials: %w", a.ID, err)
	}
	return &a, nil
}

// Application returns an application with its timeline, or ENOTFOUND.
func (db *DB) Application(ctx context.Context, id string) (*station.Application, error) {
	return db.applicationWhere(ctx, `id = ?`, id)
}

// ApplicationByNumber returns an application by its public number, with its timeline, or ENOTFOUND.
func (db *DB) ApplicationByNumber(ctx context.Context, number string) (*station.Application, error) {
	return db.applicationWhere(ctx, `number = ?`, strings.ToUpper(strings.TrimSpace(number)))
}

func (db *DB) applicationWhere(ctx context.Context, where string, arg any) (*station.Application, error) {
	tx, err := db.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	a, err := scanApplication(tx.QueryRowContext(ctx, applicationSelect+` WHERE `+where, arg))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, station.Errorf(station.ENOTFOUND, "办件不存在")
	} else if err != nil {
		return nil, fmt.Errorf("get application: %w", err)
	}
	rows, err := tx.QueryContext(ctx, `SELECT at, action, from_status, to_status, actor, role, reason FROM application_events WHERE application_id = ? ORDER BY seq`, a.ID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var e station.Event
		var at, action, from, to, role string
		if err := rows.Scan(&at, &action, &from, &to, &e.Actor, &role, &e.Reason); err != nil {
			return nil, err
		}
		if e.At, err = parseTime(at); err != nil {
			return nil, err
		}
		e.Action, e.From, e.To, e.Role = station.Action(action), station.Status(from), station.Status(to), station.Role(role)
		a.Timeline = append(a.Timeline, e)
	}
	return a, rows.Err()
}

// openStatuses is the SQL list of statuses that still run against a time limit.
const openStatuses = `('received', 'returned', 'pre_reviewed', 'forwarded', 'approved', 'rejected')`

// Applications returns one page of the applications that match f, most urgent first (open ones before
// closed ones, then by earliest due date, then newest), and the total number that match.
func (db *DB) Applications(ctx context.Context, f station.ApplicationFilter) ([]station.Application, int, error) {
	var where []string
	var args []any
	if f.Status != "" {
		where = append(where, `status = ?`)
		args = append(args, string(f.Status))
	}
	if f.MatterCode != "" {
		where = append(where, `matter_code = ?`)
		args = append(args, f.MatterCode)
	}
	if f.Applicant != "" {
		where = append(where, `applicant_id_index = ?`)
		args = append(args, f.Applicant)
	}
	if q := strings.TrimSpace(f.Query); q != "" {
		where = append(where, `number LIKE ? ESCAPE '\'`)
		args = append(args, likeEscape(strings.ToUpper(q))+"%")
	}
	if f.Deadline != "" {
		if f.Today.IsZero() {
			return nil, 0, station.Errorf(station.EINVALID, "缺少查询日期")
		}
		switch f.Deadline {
		case station.DeadlineOverdue:
			where = append(where, `status IN `+openStatuses+` AND due_date != '' AND due_date < ?`)
			args = append(args, f.Today.String())
		case station.DeadlineDueSoon:
			cal, err := db.Calendar(ctx)
			if err != nil {
				return nil, 0, err
			}
			where = append(where, `status IN `+openStatuses+` AND due_date != '' AND due_date >= ? AND due_date <= ?`)
			args = append(args, f.Today.String(), cal.AddWorkingDays(f.Today, station.DueSoonDays).String())
		default:
			return nil, 0, station.Errorf(station.EINVALID, "期限筛选应为due_soon或overdue")
		}
	}
	cond := ""
	if len(where) > 0 {
		cond = " WHERE " + strings.Join(where, " AND ")
	}
	limit := f.Limit
	if limit <= 0 || limit > 200 {
		limit = 20
	}
	tx, err := db.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, 0, err
	}
	defer tx.Rollback()
	var total int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM applications`+cond, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count applications: %w", err)
	}
	rows, err := tx.QueryContext(ctx, applicationSelect+cond+` ORDER BY (status IN `+openStatuses+`) DESC, (due_date = ''), due_date, received_at DESC LIMIT ? OFFSET ?`,
		append(args, limit, max(0, f.Offset))...)
	if err != nil {
		return nil, 0, fmt.Errorf("list applications: %w", err)
	}
	defer rows.Close()
	out := []station.Application{}
	for rows.Next() {
		a, err := scanApplication(rows)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, *a)
	}
	return out, total, rows.Err()
}

// Stats returns the station's application figures as of today.
func (db *DB) Stats(ctx context.Context, today station.Date) (station.Stats, error) {
	cal, err := db.Calendar(ctx)
	if err != nil {
		return station.Stats{}, err
	}
	var s station.Stats
	err = db.read.QueryRowContext(ctx, `SELECT
		count(*) FILTER (WHERE status IN `+openStatuses+`),
		count(*) FILTER (WHERE status IN `+openStatuses+` AND due_date != '' AND due_date < ?1),
		count(*) FILTER (WHERE status IN `+openStatuses+` AND due_date != '' AND due_date >= ?1 AND due_date <= ?2),
		count(*) FILTER (WHERE status = 'completed' AND due_date != ''),
		count(*) FILTER (WHERE status = 'completed' AND due_date != '' AND closed_day <= due_date)
		FROM applications`, today.String(), cal.AddWorkingDays(today, station.DueSoonDays).String()).
		Scan(&s.Open, &s.Overdue, &s.DueSoon, &s.Completed, &s.CompletedOnTime)
	if err != nil {
		return s, fmt.Errorf("stats: %w", err)
	}
	s.OnTimeRate = 1
	if s.Completed > 0 {
		s.OnTimeRate = float64(s.CompletedOnTime) / float64(s.Completed)
	}
	return s, nil
}

const userSelect = `SELECT username, display_name, role, password_hash, disabled, failed_logins, locked_until, created_at FROM users`

func scanUser(r rowScanner) (*station.User, error) {
	var u station.User
	var role, created string
	var disabled int
	var locked sql.NullString
	if err := r.Scan(&u.Username, &u.DisplayName, &role, &u.PasswordHash, &disabled, &u.FailedLogins, &locked, &created); err != nil {
		return nil, err
	}
	u.Role, u.Disabled = station.Role(role), disabled == 1
	var err error
	if u.CreatedAt, err = parseTime(created); err != nil {
		return nil, err
	}
	if locked.Valid {
		t, err := parseTime(locked.String)
		if err != nil {
			return nil, err
		}
		u.LockedUntil = &t
	}
	return &u, nil
}

// LoginAttempts returns the failed logins of an account from one address (zero when there are none).
func (db *DB) LoginAttempts(ctx context.Context, username, address string) (station.LoginAttempts, error) {
	var la station.LoginAttempts
	var last string
	var locked sql.NullString
	err := db.read.QueryRowContext(ctx, `SELECT failures, last_at, locked_until FROM login_failures WHERE username = ? AND address = ?`,
		username, address).Scan(&la.Failures, &last, &locked)
	if errors.Is(err, sql.ErrNoRows) {
		return la, nil
	} else if err != nil {
		return la, err
	}
	la.LastAt, _ = parseTime(last)
	if locked.Valid {
		if t, err := parseTime(locked.String); err == nil {
			la.LockedUntil = &t
		}
	}
	return la, nil
}

// User returns an account by username, or ENOTFOUND.
func (db *DB) User(ctx context.Context, username string) (*station.User, error) {
	u, err := scanUser(db.read.QueryRowContext(ctx, userSelect+` WHERE username = ?`, username))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, station.Errorf(station.ENOTFOUND, "用户不存在")
	}
	return u, err
}

// Users returns every account ordered by username.
func (db *DB) Users(ctx context.Context) ([]station.User, error) {
	rows, err := db.read.QueryContext(ctx, userSelect+` ORDER BY username`)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	defer rows.Close()
	out := []station.User{}
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *u)
	}
	return out, rows.Err()
}

// Session returns the open session with the given token hash and its user's current role, or ENOTFOUND.
func (db *DB) Session(ctx context.Context, tokenHash string) (*station.Session, error) {
	var s station.Session
	var role, created, expires string
	err := db.read.QueryRowContext(ctx, `SELECT s.id, s.token_hash, s.username, u.role, s.created_at, s.expires_at
		FROM sessions s JOIN users u ON u.username = s.username
		WHERE s.token_hash = ? AND s.closed_at IS NULL AND u.disabled = 0`, tokenHash).
		Scan(&s.ID, &s.TokenHash, &s.Username, &role, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, station.Errorf(station.ENOTFOUND, "会话不存在或已结束")
	} else if err != nil {
		return nil, fmt.Errorf("get session: %w", err)
	}
	s.Role = station.Role(role)
	if s.CreatedAt, err = parseTime(created); err != nil {
		return nil, err
	}
	if s.ExpiresAt, err = parseTime(expires); err != nil {
		return nil, err
	}
	return &s, nil
}

const auditSelect = `SELECT seq, at, actor, role, action, object, result, detail, prev_hash, hash FROM audit_log`

func scanAudit(r rowScanner) (station.AuditEntry, error) {
	var e station.AuditEntry
	var at, role string
	if err := r.Scan(&e.Seq, &at, &e.Actor, &role, &e.Action, &e.Object, &e.Result, &e.Detail, &e.PrevHash, &e.Hash); err != nil {
		return e, err
	}
	e.Role = station.Role(role)
	t, err := parseTime(at)
	if err != nil {
		// A malformed time is tampering too; keep the zero time so verification reports the hash mismatch.
		t = time.Time{}
	}
	e.At = t
	return e, nil
}

// AuditEntries returns one page of audit entries matching f, newest first, and the total that match.
func (db *DB) AuditEntries(ctx context.Context, f station.AuditFilter) ([]station.AuditEntry, int, error) {
	var where []string
	var args []any
	for _, c := range []struct{ col, v string }{{"actor", f.Actor}, {"action", f.Action}, {"object", f.Object}} {
		if c.v != "" {
			where = append(where, c.col+` = ?`)
			args = append(args, c.v)
		}
	}
	cond := ""
	if len(where) > 0 {
		cond = " WHERE " + strings.Join(where, " AND ")
	}
	limit := f.Limit
	if limit <= 0 || limit > 500 {
		limit = 50
	}
	var total int
	if err := db.read.QueryRowContext(ctx, `SELECT count(*) FROM audit_log`+cond, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count audit: %w", err)
	}
	rows, err := db.read.QueryContext(ctx, auditSelect+cond+` ORDER BY seq DESC LIMIT ? OFFSET ?`, append(args, limit, max(0, f.Offset))...)
	if err != nil {
		return nil, 0, fmt.Errorf("list audit: %w", err)
	}
	defer rows.Close()
	out := []station.AuditEntry{}
	for rows.Next() {
		e, err := scanAudit(rows)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, e)
	}
	return out, total, rows.Err()
}

// VerifyAudit walks the whole audit chain in storage order and checks every link and the head.
func (db *DB) VerifyAudit(ctx context.Context) (station.AuditReport, error) {
	tx, err := db.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return station.AuditReport{}, err
	}
	defer tx.Rollback()
	var headSeq int64
	var headHash string
	if err := tx.QueryRowContext(ctx, `SELECT seq, hash FROM audit_head WHERE id = 1`).Scan(&headSeq, &headHash); err != nil {
		return station.AuditReport{}, fmt.Errorf("verify audit: head: %w", err)
	}
	// Storage order is rowid order, which for an INTEGER PRIMARY KEY is seq; reading by rowid means a
	// row whose seq was edited shows up where it really is.
	rows, err := tx.QueryContext(ctx, auditSelect+` ORDER BY rowid`)
	if err != nil {
		return station.AuditReport{}, fmt.Errorf("verify audit: %w", err)
	}
	defer rows.Close()
	v := station.NewAuditVerifier()
	for rows.Next() {
		e, err := scanAudit(rows)
		if err != nil {
			return station.AuditReport{}, fmt.Errorf("verify audit: %w", err)
		}
		v.Add(e)
	}
	if err := rows.Err(); err != nil {
		return station.AuditReport{}, fmt.Errorf("verify audit: %w", err)
	}
	return v.Finish(headSeq, headHash), nil
}

// OutboxLen returns the number of outbox records not yet acknowledged by the data center.
func (db *DB) OutboxLen(ctx context.Context) (int, error) {
	var n int
	err := db.read.QueryRowContext(ctx, `SELECT count(*) FROM outbox WHERE acked_at IS NULL`).Scan(&n)
	return n, err
}
