package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/civic-station/station/station"
	"github.com/civic-station/station/syncer/hub"
)

// CreateUser stores a new console account.
func (s *Store) CreateUser(ctx context.Context, u hub.User) error {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("create user: %w", err)
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM users WHERE username = ?`, u.Username).Scan(&n); err != nil {
		return fmt.Errorf("create user: %w", err)
	}
	if n > 0 {
		return station.Errorf(station.ECONFLICT, "账号%s已存在", u.Username)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO users (username, display_name, role, department, password_hash, disabled, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, u.Username, u.DisplayName, string(u.Role), u.Department, u.PasswordHash, u.Disabled, formatTime(u.CreatedAt)); err != nil {
		return fmt.Errorf("create user: %w", err)
	}
	return tx.Commit()
}

const userSelect = `SELECT username, display_name, role, department, password_hash, disabled, failed_logins, locked_until, created_at FROM users`

func scanUser(r interface{ Scan(...any) error }) (hub.User, error) {
	var u hub.User
	var role, locked, created string
	err := r.Scan(&u.Username, &u.DisplayName, &role, &u.Department, &u.PasswordHash, &u.Disabled, &u.FailedLogins, &locked, &created)
	u.Role, u.LockedUntil, u.CreatedAt = hub.Role(role), parseTime(locked), parseTime(created)
	return u, err
}

func userTx(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, username string) (hub.User, error) {
	u, err := scanUser(q.QueryRowContext(ctx, userSelect+` WHERE username = ?`, username))
	if errors.Is(err, sql.ErrNoRows) {
		return u, station.Errorf(station.ENOTFOUND, "账号不存在")
	} else if err != nil {
		return u, fmt.Errorf("user %s: %w", username, err)
	}
	return u, nil
}

// User returns one console account.
func (s *Store) User(ctx context.Context, username string) (hub.User, error) {
	return userTx(ctx, s.read, username)
}

// Users returns every console account by username.
func (s *Store) Users(ctx context.Context) ([]hub.User, error) {
	rows, err := s.read.QueryContext(ctx, userSelect+` ORDER BY username`)
	if err != nil {
		return nil, fmt.Errorf("users: %w", err)
	}
	defer rows.Close()
	out := []hub.User{}
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// LoginFailed counts a failed login and locks the account after too many in a row.
func (s *Store) LoginFailed(ctx context.Context, username string, at time.Time) (hub.User, error) {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return hub.User{}, fmt.Errorf("login failed: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `UPDATE users SET failed_logins = failed_logins + 1 WHERE username = ?`, username); err != nil {
		return hub.User{}, fmt.Errorf("login failed: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE users SET failed_logins = 0, locked_until = ? WHERE username = ? AND failed_logins >= ?`,
		formatTime(at.Add(station.LockoutDuration)), username, station.MaxFailedLogins); err != nil {
		return hub.User{}, fmt.Errorf("login failed: %w", err)
	}
	u, err := userTx(ctx, tx, username)
	if err != nil {
		return u, err
	}
	return u, tx.Commit()
}

// OpenSession stores a session and resets the account's failure count.
func (s *Store) OpenSession(ctx context.Context, sess hub.Session) error {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("open session: %w", err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `UPDATE users SET failed_logins = 0, locked_until = '' WHERE username = ?`, sess.Username)
	if err != nil {
		return fmt.Errorf("open session: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return station.Errorf(station.ENOTFOUND, "账号不存在")
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at < ?`, formatTime(sess.CreatedAt)); err != nil {
		return fmt.Errorf("open session: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO sessions (id, token_hash, username, created_at, last_seen, expires_at) VALUES (?, ?, ?, ?, ?, ?)`,
		sess.ID, sess.TokenHash, sess.Username, formatTime(sess.CreatedAt), formatTime(sess.LastSeen), formatTime(sess.ExpiresAt)); err != nil {
		return fmt.Errorf("open session: %w", err)
	}
	return tx.Commit()
}

// Session returns the session with a token hash.
func (s *Store) Session(ctx context.Context, tokenHash string) (hub.Session, error) {
	var sess hub.Session
	var created, seen, expires string
	err := s.read.QueryRowContext(ctx, `SELECT id, token_hash, username, created_at, last_seen, expires_at FROM sessions WHERE token_hash = ?`, tokenHash).
		Scan(&sess.ID, &sess.TokenHash, &sess.Username, &created, &seen, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return sess, station.Errorf(station.ENOTFOUND, "会话不存在")
	} else if err != nil {
		return sess, fmt.Errorf("session: %w", err)
	}
	sess.CreatedAt, sess.LastSeen, sess.ExpiresAt = parseTime(created), parseTime(seen), parseTime(expires)
	return sess, nil
}

// TouchSession records a request of a session.
func (s *Store) TouchSession(ctx context.Context, id string, at time.Time) error {
	if _, err := s.write.ExecContext(ctx, `UPDATE sessions SET last_seen = ? WHERE id = ? AND last_seen < ?`, formatTime(at), id, formatTime(at)); err != nil {
		return fmt.Errorf("touch session: %w", err)
	}
	return nil
}

// CloseSession ends a session.
func (s *Store) CloseSession(ctx context.Context, id string) error {
	if _, err := s.write.ExecContext(ctx, `DELETE FROM sessions WHERE id = ?`, id); err != nil {
		return fmt.Errorf("close session: %w", err)
	}
	return nil
}

// AppendAudit appends an entry to the console's audit chain.
func (s *Store) AppendAudit(ctx context.Context, e station.AuditEntry) (station.AuditEntry, error) {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return e, fmt.Errorf("append audit: %w", err)
	}
	defer tx.Rollback()
	if err := tx.QueryRowContext(ctx, `SELECT seq, hash FROM audit_head WHERE id = 1`).Scan(&e.Seq, &e.PrevHash); err != nil {
		return e, fmt.Errorf("append audit: %w", err)
	}
	e.Seq++
	e.At = e.At.UTC()
	e.Hash = e.ComputeHash()
	if _, err := tx.ExecContext(ctx, `INSERT INTO audit_log (seq, at, actor, role, action, object, result, detail, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		e.Seq, formatTime(e.At), e.Actor, string(e.Role), e.Action, e.Object, e.Result, e.Detail, e.PrevHash, e.Hash); err != nil {
		return e, fmt.Errorf("append audit: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1`, e.Seq, e.Hash); err != nil {
		return e, fmt.Errorf("append audit: %w", err)
	}
	return e, tx.Commit()
}

// Audit returns console audit entries in seq order.
func (s *Store) Audit(ctx context.Context, f hub.AuditFilter) ([]station.AuditEntry, error) {
	limit := int64(f.Limit)
	if limit <= 0 {
		limit = -1
	}
	rows, err := s.read.QueryContext(ctx, `SELECT seq, at, actor, role, action, object, result, detail, prev_hash, hash FROM audit_log
		WHERE seq > ? AND (? = '' OR actor = ?) AND (? = '' OR object = ?) ORDER BY seq LIMIT ?`,
		f.After, f.Actor, f.Actor, f.Object, f.Object, limit)
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	defer rows.Close()
	out := []station.AuditEntry{}
	for rows.Next() {
		var e station.AuditEntry
		var at, role string
		if err := rows.Scan(&e.Seq, &at, &e.Actor, &role, &e.Action, &e.Object, &e.Result, &e.Detail, &e.PrevHash, &e.Hash); err != nil {
			return nil, err
		}
		e.At, e.Role = parseTime(at), station.Role(role)
		out = append(out, e)
	}
	return out, rows.Err()
}

// AuditHead returns the head of the console's audit chain.
func (s *Store) AuditHead(ctx context.Context) (int64, string, error) {
	var seq int64
	var hash string
	if err := s.read.QueryRowContext(ctx, `SELECT seq, hash FROM audit_head WHERE id = 1`).Scan(&seq, &hash); err != nil {
		return 0, "", fmt.Errorf("audit head: %w", err)
	}
	return seq, hash, nil
}

// Decide stores a decision and publishes its change, once per application.
func (s *Store) Decide(ctx context.Context, d hub.DecisionRecord, c station.Change, at time.Time) (hub.DecisionRecord, error) {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return d, fmt.Errorf("decide: %w", err)
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM decisions WHERE station_id = ? AND application_id = ?`,
		d.StationID, d.Decision.ApplicationID).Scan(&n); err != nil {
		return d, fmt.Errorf("decide: %w", err)
	}
	if n > 0 {
		return d, errAlreadyDecided
	}
	if d.FeedSeq, err = publish(ctx, tx, d.StationID, c, at); err != nil {
		return d, fmt.Errorf("decide: %w", err)
	}
	dec := d.Decision
	if _, err := tx.ExecContext(ctx, `INSERT INTO decisions (station_id, application_id, action, reason, department, decided_at, decided_by, feed_seq)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, d.StationID, dec.ApplicationID, string(dec.Action), dec.Reason, dec.Department,
		formatTime(dec.DecidedAt), d.DecidedBy, d.FeedSeq); err != nil {
		return d, fmt.Errorf("decide: %w", err)
	}
	return d, tx.Commit()
}

// errAlreadyDecided refuses a second decision on an application.
var errAlreadyDecided = station.Errorf(station.ECONFLICT, "该办件已审批，不能重复审批")

// Decisions returns decisions, oldest first.
func (s *Store) Decisions(ctx context.Context, f hub.DecisionFilter) ([]hub.DecisionRecord, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT station_id, application_id, action, reason, department, decided_at, decided_by, feed_seq FROM decisions
		WHERE (? = '' OR station_id = ?) AND (? = '' OR application_id = ?) AND (? = '' OR department = ?) ORDER BY decided_at, station_id, application_id`,
		f.StationID, f.StationID, f.ApplicationID, f.ApplicationID, f.Department, f.Department)
	if err != nil {
		return nil, fmt.Errorf("decisions: %w", err)
	}
	defer rows.Close()
	out := []hub.DecisionRecord{}
	for rows.Next() {
		var d hub.DecisionRecord
		var action, decided string
		if err := rows.Scan(&d.StationID, &d.Decision.ApplicationID, &action, &d.Decision.Reason, &d.Decision.Department, &decided, &d.DecidedBy, &d.FeedSeq); err != nil {
			return nil, err
		}
		d.Decision.Action, d.Decision.DecidedAt = station.Action(action), parseTime(decided)
		out = append(out, d)
	}
	return out, rows.Err()
}
