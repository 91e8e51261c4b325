package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/mozillazg/go-pinyin"

	"github.com/civic-station/station/station"
)

var _ station.Log = (*DB)(nil)

// Submit applies a command and returns when it is durable: domain changes, the audit entry, the outbox
// record and the command's own record commit in one transaction (synchronous=FULL). A command the
// domain refuses leaves the domain tables untouched, is still audited with its error code, and its
// *station.Error is returned. Submitting a command ID again returns the first outcome without applying
// it twice.
//
// With a space guard (WithSpaceGuard), new input is refused while the disk is short of its reserve;
// the sync bookkeeping, sessions and audit records of reads go on (station.CommandKind.NeedsSpace).
//
// Submit is the local, single-box implementation of station.Log; a replicated log calls Apply (and must
// ask the guard itself before it commits a command to the log).
func (db *DB) Submit(ctx context.Context, cmd station.Command) (station.Result, error) {
	if db.space != nil && cmd.Kind.NeedsSpace() {
		if err := db.space.Check(); err != nil {
			return station.Result{}, err
		}
	}
	return db.Apply(ctx, cmd)
}

// Apply applies one command. It is a pure function of the database state and the command: it reads no
// clock and draws no random numbers, so replaying a command log reproduces the same state. A command
// that cannot be written because the disk is full or failing changes nothing and answers ESTORAGE.
func (db *DB) Apply(ctx context.Context, cmd station.Command) (station.Result, error) {
	res, err := db.apply(ctx, cmd)
	var de *station.Error
	if errors.As(err, &de) && de.Code != station.ESTORAGE {
		db.health.translate(nil) // a domain refusal was written: the disk works
		return res, err
	}
	if err != nil && !errors.As(err, &de) {
		db.logger.Error("apply", "kind", cmd.Kind, "err", err)
	}
	return res, db.health.translate(err)
}

func (db *DB) apply(ctx context.Context, cmd station.Command) (station.Result, error) {
	if err := checkEnvelope(cmd); err != nil {
		return station.Result{}, err
	}
	db.mu.Lock()
	defer db.mu.Unlock()
	defer db.preparePending(context.WithoutCancel(ctx)) // runs after the transaction's deferred Rollback

	sqlTx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return station.Result{}, fmt.Errorf("apply %s: begin: %w", cmd.Kind, err)
	}
	defer sqlTx.Rollback()
	tx := stmtTx{Tx: sqlTx, db: db}
	res, domainErr, eff, err := applyOne(ctx, tx, db, cmd)
	if err != nil {
		return station.Result{}, err
	}
	if err := sqlTx.Commit(); err != nil {
		return station.Result{}, fmt.Errorf("apply %s: commit: %w", cmd.Kind, err)
	}
	db.changed(eff)
	if domainErr != nil {
		return res, domainErr
	}
	return res, nil
}

// checkEnvelope refuses a command without the fields every command has.
func checkEnvelope(cmd station.Command) error {
	if cmd.ID == "" || cmd.Kind == "" || cmd.At.IsZero() {
		return station.Errorf(station.EINVALID, "命令缺少编号、类型或时间")
	}
	return nil
}

// changed drops what the store caches about state a committed command changed.
func (db *DB) changed(eff effect) {
	if eff.calendarChanged {
		db.calMu.Lock()
		db.cal = nil
		db.calMu.Unlock()
	}
}

// applyOne applies cmd inside tx: the domain change (rolled back to a savepoint when the domain refuses
// it), the audit entry, the outbox record and the command's own record. It returns the result, the
// domain's refusal if any, and a non-nil err only when the transaction cannot go on (the caller rolls
// it back). A command ID seen before answers its first outcome and changes nothing.
func applyOne(ctx context.Context, tx stmtTx, db *DB, cmd station.Command) (station.Result, *station.Error, effect, error) {
	fail := func(what string, err error) (station.Result, *station.Error, effect, error) {
		return station.Result{}, nil, effect{}, fmt.Errorf("apply %s: %s%w", cmd.Kind, what, err)
	}
	if res, prevErr, ok, err := previousOutcome(ctx, tx, cmd.ID); err != nil {
		return fail("", err)
	} else if ok {
		var de *station.Error
		errors.As(prevErr, &de)
		return res, de, effect{}, nil
	}

	if _, err := tx.ExecContext(ctx, `SAVEPOINT apply`); err != nil {
		return fail("", err)
	}
	a := &applier{tx: tx, ctx: ctx, cmd: cmd, db: db}
	eff, applyErr := a.apply()
	var domainErr *station.Error
	switch {
	case applyErr == nil:
	case errors.As(applyErr, &domainErr):
		eff = effect{object: eff.object, objectID: eff.objectID, detail: eff.detail, auditAction: eff.auditAction}
		if _, err := tx.ExecContext(ctx, `ROLLBACK TO apply`); err != nil {
			return fail("", err)
		}
	default:
		return fail("", applyErr)
	}
	if _, err := tx.ExecContext(ctx, `RELEASE apply`); err != nil {
		return fail("", err)
	}

	result := "ok"
	if domainErr != nil {
		result = domainErr.Code
	}
	seq, err := appendAudit(ctx, tx, station.AuditEntry{
		At: cmd.At, Actor: cmd.Actor.Username, Role: cmd.Actor.Role,
		Action: eff.action(cmd), Object: eff.object, Result: result, Detail: eff.detail,
	})
	if err != nil {
		return fail("audit: ", err)
	}
	if domainErr == nil && outbound(cmd.Kind) {
		if _, err := tx.ExecContext(ctx, `INSERT INTO outbox (id, kind, occurred_at, payload) VALUES (?, ?, ?, ?)`,
			cmd.ID, string(cmd.Kind), formatTime(cmd.At), string(cmd.Payload)); err != nil {
			return fail("outbox: ", err)
		}
	}
	code, msg := "", ""
	if domainErr != nil {
		code, msg = domainErr.Code, domainErr.Message
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO commands (id, kind, at, audit_seq, object_id, error_code, error_msg) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		cmd.ID, string(cmd.Kind), formatTime(cmd.At), seq, eff.objectID, code, msg); err != nil {
		return fail("record command: ", err)
	}
	return station.Result{AuditSeq: seq, ObjectID: eff.objectID}, domainErr, eff, nil
}

// outbound reports whether commands of kind travel to the data center. Login and session bookkeeping
// stays on the station (it is in the audit log, which travels separately).
func outbound(kind station.CommandKind) bool {
	switch kind {
	case station.CmdLoginFailed, station.CmdSessionOpen, station.CmdSessionClose:
		return false
	case station.CmdStationSetup, station.CmdSetupRecord: // the station's own set-up; the admin's password hash stays here
		return false
	case station.CmdOutboxAck, station.CmdOutboxPrune, station.CmdOutboxDeadLetter, station.CmdOutboxRetry, station.CmdSyncApply:
		return false
	}
	return true
}

func previousOutcome(ctx context.Context, tx querier, id string) (station.Result, error, bool, error) {
	var res station.Result
	var code, msg string
	err := tx.QueryRowContext(ctx, `SELECT audit_seq, object_id, error_code, error_msg FROM commands WHERE id = ?`, id).
		Scan(&res.AuditSeq, &res.ObjectID, &code, &msg)
	if errors.Is(err, sql.ErrNoRows) {
		return res, nil, false, nil
	} else if err != nil {
		return res, nil, false, err
	}
	if code != "" {
		return res, &station.Error{Code: code, Message: msg}, true, nil
	}
	return res, nil, true, nil
}

// appendAudit appends an entry to the hash chain and moves the head, returning the entry's seq.
func appendAudit(ctx context.Context, tx stmtTx, e station.AuditEntry) (int64, error) {
	if err := tx.QueryRowContext(ctx, `SELECT seq, hash FROM audit_head WHERE id = 1`).Scan(&e.Seq, &e.PrevHash); err != nil {
		return 0, err
	}
	e.Seq++
	e.Hash = e.ComputeHash()
	if _, err := tx.ExecContext(ctx, `INSERT INTO audit_log (seq, at, actor, role, action, object, result, detail, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		e.Seq, formatTime(e.At), e.Actor, string(e.Role), e.Action, e.Object, e.Result, e.Detail, e.PrevHash, e.Hash); err != nil {
		return 0, err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1`, e.Seq, e.Hash); err != nil {
		return 0, err
	}
	return e.Seq, nil
}

// effect describes what a command did, for its audit entry and result.
type effect struct {
	object          string // audit object, type:id
	objectID        string
	detail          string
	auditAction     string // overrides the command kind as the audit action
	calendarChanged bool
}

func (e effect) action(cmd station.Command) string {
	if e.auditAction != "" {
		return e.auditAction
	}
	return string(cmd.Kind)
}

type applier struct {
	ctx context.Context
	tx  stmtTx
	cmd station.Command
	db  *DB
	eff effect
}

func (a *applier) exec(query string, args ...any) error {
	_, err := a.tx.ExecContext(a.ctx, query, args...)
	return err
}

// decode unmarshals the command payload strictly.
func (a *applier) decode(v any) error {
	dec := json.NewDecoder(strings.NewReader(string(a.cmd.Payload)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return station.Errorf(station.EINVALID, "命令内容格式错误")
	}
	return nil
}

func (a *applier) apply() (effect, error) {
	var err error
	switch a.cmd.Kind {
	case station.CmdCatalogImport:
		err = a.catalogImport()
	case station.CmdCalendarImport:
		err = a.calendarImport()
	case station.CmdResidentUpsert:
		err = a.residentUpsert()
	case station.CmdApplicationIntake:
		err = a.intake()
	case station.CmdApplicationTransition:
		err = a.transition()
	case station.CmdApplicationMaterials:
		err = a.materials()
	case station.CmdAccessRecord:
		err = a.accessRecord()
	case station.CmdUserCreate:
		err = a.userCreate()
	case station.CmdUserUpdate:
		err = a.userUpdate()
	case station.CmdStationSetup:
		err = a.stationSetup()
	case station.CmdSetupRecord:
		err = a.setupRecord()
	case station.CmdLoginFailed:
		err = a.loginFailed()
	case station.CmdSessionOpen:
		err = a.sessionOpen()
	case station.CmdSessionClose:
		err = a.sessionClose()
	case station.CmdOutboxAck:
		err = a.outboxAck()
	case station.CmdOutboxPrune:
		err = a.outboxPrune()
	case station.CmdOutboxDeadLetter:
		err = a.outboxDeadLetter()
	case station.CmdOutboxRetry:
		err = a.outboxRetry()
	case station.CmdSyncApply:
		err = a.syncApply()
	case station.CmdCertificateIssue, station.CmdCertificateNumber, station.CmdCertificateSign,
		station.CmdCertificatePrinted, station.CmdCertificatePrintFailed,
		station.CmdCertificateVoid, station.CmdCertificateRevoke, station.CmdSigningKeyPublish, station.CmdRatingRecord:
		err = a.certificateCommand()
	default:
		err = station.Errorf(station.EINVALID, "未知的命令类型“%s”", a.cmd.Kind)
	}
	return a.eff, err
}

func (a *applier) requireRole(ok bool) error {
	if !ok {
		return station.Errorf(station.EFORBIDDEN, "当前角色（%s）无权执行此操作", a.cmd.Actor.Role.Label())
	}
	return nil
}

// pinyinInitials returns the lower-case initials of the Han characters in s, keeping ASCII letters and
// digits (最低生活保障 -> zdshbz).
func pinyinInitials(s string) string {
	args := pinyin.NewArgs()
	args.Style = pinyin.FirstLetter
	var b strings.Builder
	for _, r := range s {
		switch {
		case r < utf8.RuneSelf:
			if ('a' <= r && r <= 'z') || ('0' <= r && r <= '9') {
				b.WriteRune(r)
			} else if 'A' <= r && r <= 'Z' {
				b.WriteRune(r + 'a' - 'A')
			}
		default:
			if p := pinyin.SinglePinyin(r, args); len(p) > 0 {
				b.WriteString(p[0])
			}
		}
	}
	return b.String()
}

func (a *applier) catalogImport() error {
	if err := a.requireRole(a.cmd.Actor.Role == station.RoleSystem || a.cmd.Actor.Role == station.RoleStationAdmin); err != nil {
		return err
	}
	var p station.CatalogImport
	if err := a.decode(&p); err != nil {
		return err
	}
	if len(p.Matters) == 0 {
		return station.Errorf(station.EINVALID, "导入的事项目录为空")
	}
	a.eff.object = "catalog"
	seen := map[string]bool{}
	for i := range p.Matters {
		m := &p.Matters[i]
		if err := m.Validate(); err != nil {
			return err
		}
		if seen[m.Code] {
			return station.Errorf(station.EINVALID, "事项编码%s重复", m.Code)
		}
		seen[m.Code] = true
		var cur int
		err := a.tx.QueryRowContext(a.ctx, `SELECT version FROM matters WHERE code = ?`, m.Code).Scan(&cur)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if err == nil && cur > m.Version {
			return station.Errorf(station.ECONFLICT, "事项%s的版本%d早于已有版本%d", m.Code, m.Version, cur)
		}
		conds, _ := json.Marshal(nonNil(m.Conditions))
		mats, _ := json.Marshal(nonNilMaterials(m.Materials))
		aliases, _ := json.Marshal(nonNil(m.Aliases))
		if err := a.exec(`INSERT INTO matters (code, name, pinyin, aliases, department, category, kind, time_limit_days, fee_cents, fee_note, certificate, location, conditions, materials, status, version)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (code) DO UPDATE SET name = excluded.name, pinyin = excluded.pinyin, aliases = excluded.aliases, department = excluded.department,
				category = excluded.category, kind = excluded.kind, time_limit_days = excluded.time_limit_days,
				fee_cents = excluded.fee_cents, fee_note = excluded.fee_note, certificate = excluded.certificate,
				location = excluded.location, conditions = excluded.conditions, materials = excluded.materials,
				status = excluded.status, version = excluded.version`,
			m.Code, m.Name, pinyinInitials(m.Name), string(aliases), m.Department, m.Category, string(m.Kind), m.TimeLimitDays, m.FeeCents,
			m.FeeNote, boolInt(m.Certificate), m.Location, string(conds), string(mats), string(m.Status), m.Version); err != nil {
			return err
		}
	}
	a.eff.detail = fmt.Sprintf("%d matters", len(p.Matters))
	return nil
}

func (a *applier) calendarImport() error {
	if err := a.requireRole(a.cmd.Actor.Role == station.RoleSystem || a.cmd.Actor.Role == station.RoleStationAdmin); err != nil {
		return err
	}
	var p station.CalendarImport
	if err := a.decode(&p); err != nil {
		return err
	}
	if _, err := station.NewCalendar(p.Days); err != nil {
		return err
	}
	years := map[int]bool{}
	for _, y := range p.Years {
		if y < 2000 || y > 2100 {
			return station.Errorf(station.EINVALID, "年份%d无效", y)
		}
		years[y] = true
		if err := a.exec(`DELETE FROM calendar_days WHERE date LIKE ?`, fmt.Sprintf("%04d-%%", y)); err != nil {
			return err
		}
	}
	for _, d := range p.Days {
		if !years[d.Date.Year] {
			return station.Errorf(station.EINVALID, "日期%s不在导入的年份内", d.Date)
		}
		if err := a.exec(`INSERT INTO calendar_days (date, kind, name) VALUES (?, ?, ?)`, d.Date.String(), string(d.Kind), d.Name); err != nil {
			return err
		}
	}
	a.eff.object = "calendar"
	a.eff.detail = fmt.Sprintf("years %v, %d days", p.Years, len(p.Days))
	a.eff.calendarChanged = true
	return nil
}

func validSealed(s station.SealedID) error {
	if !s.Type.Valid() || s.Cipher == "" || len(s.Index) != 64 || s.Masked == "" {
		return station.Errorf(station.EINVALID, "证件信息不完整")
	}
	return nil
}

func (a *applier) residentUpsert() error {
	if err := a.requireRole(station.CanTakeApplications(a.cmd.Actor.Role) || a.cmd.Actor.Role == station.RoleSystem); err != nil {
		return err
	}
	var p station.ResidentUpsert
	if err := a.decode(&p); err != nil {
		return err
	}
	if err := validSealed(p.IDNumber); err != nil {
		return err
	}
	for _, c := range []struct {
		what string
		v    string
		max  int
		req  bool
	}{{"姓名", p.Name, 50, true}, {"民族", p.Ethnicity, 20, false}, {"地址", p.Address, 200, false},
		{"社区", p.Community, 50, false}, {"网格", p.Grid, 50, false}} {
		if err := station.CheckText(c.what, c.v, c.max, c.req); err != nil {
			return err
		}
	}
	if err := station.ValidatePhone("电话", p.Phone); err != nil {
		return err
	}
	switch p.Sex {
	case station.SexMale, station.SexFemale, station.SexUnknown:
	default:
		return station.Errorf(station.EINVALID, "性别无效")
	}
	tags, _ := json.Marshal(nonNil(p.Tags))
	now := formatTime(a.cmd.At)
	var id string
	err := a.tx.QueryRowContext(a.ctx, `SELECT id FROM residents WHERE id_index = ?`, p.IDNumber.Index).Scan(&id)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		if p.ResidentID == "" {
			return station.Errorf(station.EINVALID, "缺少居民编号")
		}
		id = p.ResidentID
		err = a.exec(`INSERT INTO residents (id, id_type, id_cipher, id_index, id_masked, name, sex, ethnicity, birth_date, address, community, grid, phone, tags, registered_since, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			id, string(p.IDNumber.Type), p.IDNumber.Cipher, p.IDNumber.Index, p.IDNumber.Masked, p.Name, string(p.Sex), p.Ethnicity,
			dateText(p.BirthDate), p.Address, p.Community, p.Grid, p.Phone, string(tags), dateText(p.RegisteredSince), now, now)
	case err == nil:
		err = a.exec(`UPDATE residents SET name = ?, sex = ?, ethnicity = ?, birth_date = ?, address = ?, community = ?, grid = ?, phone = ?, tags = ?, registered_since = ?, updated_at = ? WHERE id = ?`,
			p.Name, string(p.Sex), p.Ethnicity, dateText(p.BirthDate), p.Address, p.Community, p.Grid, p.Phone, string(tags), dateText(p.RegisteredSince), now, id)
	}
	if err != nil {
		return err
	}
	a.eff.object, a.eff.objectID = "resident:"+id, id
	return nil
}

func (a *applier) loadMatter(code string) (*station.Matter, error) {
	m, err := scanMatter(a.tx.QueryRowContext(a.ctx, matterSelect+` WHERE code = ?`, code))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, station.Errorf(station.ENOTFOUND, "事项%s不存在", code)
	}
	return m, err
}

func (a *applier) intake() error {
	// A resident at the kiosk applies only for a certificate's department verification (证明核实).
	resident := a.cmd.Actor.Role == station.RoleResident
	if err := a.requireRole(station.CanTakeApplications(a.cmd.Actor.Role) || resident); err != nil {
		return err
	}
	var p station.ApplicationIntake
	if err := a.decode(&p); err != nil {
		return err
	}
	if p.ApplicationID == "" {
		return station.Errorf(station.EINVALID, "缺少办件编号")
	}
	a.eff.object, a.eff.objectID = "application:"+p.ApplicationID, p.ApplicationID
	m, err := a.loadMatter(p.MatterCode)
	if err != nil {
		return err
	}
	if m.Status != station.MatterActive {
		return station.Errorf(station.ECONFLICT, "事项“%s”已停止办理", m.Name)
	}
	if resident && m.Category != station.CertificateMatterCategory {
		return station.Errorf(station.EFORBIDDEN, "自助终端只能申请证明核实，其他事项请到柜台办理")
	}
	ap := p.Applicant
	if err := validSealed(ap.IDNumber); err != nil {
		return err
	}
	if err := station.CheckText("申请人姓名", ap.Name, 50, true); err != nil {
		return err
	}
	if err := station.ValidatePhone("联系电话", ap.Phone); err != nil {
		return err
	}
	if err := station.CheckLongText("备注", p.Note, 500, false); err != nil {
		return err
	}
	if len(ap.IDLast4) != 4 {
		return station.Errorf(station.EINVALID, "证件号码后四位缺失")
	}
	checklist, err := m.Checklist(p.Materials)
	if err != nil {
		return err
	}
	day := station.DateOf(a.cmd.At)
	if err := station.CheckIntakeMaterials(checklist, p.Deferral, day); err != nil {
		return err
	}
	deferred, deferReason, deferDue := "[]", "", ""
	if d := p.Deferral; d != nil {
		codes, _ := json.Marshal(d.Materials)
		deferred, deferReason, deferDue = string(codes), strings.TrimSpace(d.Reason), d.DueDate.String()
	}
	if ap.ResidentID != "" {
		var n int
		if err := a.tx.QueryRowContext(a.ctx, `SELECT count(*) FROM residents WHERE id = ?`, ap.ResidentID).Scan(&n); err != nil {
			return err
		} else if n == 0 {
			return station.Errorf(station.ENOTFOUND, "居民不存在")
		}
	}
	var exists int
	if err := a.tx.QueryRowContext(a.ctx, `SELECT count(*) FROM applications WHERE id = ?`, p.ApplicationID).Scan(&exists); err != nil {
		return err
	} else if exists > 0 {
		return station.Errorf(station.ECONFLICT, "办件已存在")
	}
	// The day's last number, not a count, so a busy day does not scan all its applications.
	n := 0
	var last string
	err = a.tx.QueryRowContext(a.ctx, `SELECT number FROM applications WHERE received_day = ? ORDER BY number DESC LIMIT 1`, day.String()).Scan(&last)
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return err
	default:
		if i := strings.LastIndexByte(last, '-'); i >= 0 {
			n, _ = strconv.Atoi(last[i+1:])
		}
	}
	cal, err := a.db.calendarTx(a.ctx, a.tx)
	if err != nil {
		return err
	}
	due := station.DueDate(cal, day, m.TimeLimitDays)
	mats, _ := json.Marshal(checklist)
	var residentID any
	if ap.ResidentID != "" {
		residentID = ap.ResidentID
	}
	at := formatTime(a.cmd.At)
	if err := a.exec(`INSERT INTO applications (id, number, matter_code, matter_name, department, kind, status, resident_id,
			applicant_id_type, applicant_id_cipher, applicant_id_index, applicant_id_masked, applicant_id_last4, applicant_name, applicant_phone,
			materials, note, received_at, received_day, received_by, due_date, updated_at, deferred_materials, deferral_reason, deferral_due)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		p.ApplicationID, station.ApplicationNumber(day, n+1), m.Code, m.Name, m.Department, string(m.Kind), string(station.StatusReceived), residentID,
		string(ap.IDNumber.Type), ap.IDNumber.Cipher, ap.IDNumber.Index, ap.IDNumber.Masked, strings.ToUpper(ap.IDLast4), ap.Name, ap.Phone,
		string(mats), p.Note, at, day.String(), a.cmd.Actor.Username, dateText(due), at, deferred, deferReason, deferDue); err != nil {
		return err
	}
	a.eff.detail = m.Code
	if p.Deferral != nil {
		a.eff.detail += fmt.Sprintf("; 容缺受理 %s due %s: %s", strings.Join(p.Deferral.Materials, ","), deferDue, deferReason)
	}
	return a.event(p.ApplicationID, station.ActionIntake, "", station.StatusReceived, "")
}

func (a *applier) event(appID string, action station.Action, from, to station.Status, reason string) error {
	var seq int
	if err := a.tx.QueryRowContext(a.ctx, `SELECT count(*) FROM application_events WHERE application_id = ?`, appID).Scan(&seq); err != nil {
		return err
	}
	return a.exec(`INSERT INTO application_events (application_id, seq, at, action, from_status, to_status, actor, role, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		appID, seq+1, formatTime(a.cmd.At), string(action), string(from), string(to), a.cmd.Actor.Username, string(a.cmd.Actor.Role), reason)
}

func (a *applier) transition() error {
	var p station.ApplicationTransition
	if err := a.decode(&p); err != nil {
		return err
	}
	a.eff.object, a.eff.objectID = "application:"+p.ApplicationID, p.ApplicationID
	var status, kind, code string
	err := a.tx.QueryRowContext(a.ctx, `SELECT status, kind, matter_code FROM applications WHERE id = ?`, p.ApplicationID).Scan(&status, &kind, &code)
	if errors.Is(err, sql.ErrNoRows) {
		return station.Errorf(station.ENOTFOUND, "办件不存在")
	} else if err != nil {
		return err
	}
	reason := strings.TrimSpace(p.Reason)
	if err := station.CheckLongText("原因", reason, 500, false); err != nil {
		return err
	}
	t, err := station.Transit(station.MatterKind(kind), station.Status(status), p.Action, a.cmd.Actor.Role, reason)
	a.eff.detail = fmt.Sprintf("%s: %s -> %s", p.Action, status, t.To)
	if err != nil {
		a.eff.detail = string(p.Action)
		return err
	}
	at := formatTime(a.cmd.At)
	if err := a.exec(`UPDATE applications SET status = ?, updated_at = ? WHERE id = ?`, string(t.To), at, p.ApplicationID); err != nil {
		return err
	}
	switch t.To {
	case station.StatusCompleted, station.StatusWithdrawn:
		if err := a.exec(`UPDATE applications SET closed_at = ?, closed_day = ? WHERE id = ?`, at, station.DateOf(a.cmd.At).String(), p.ApplicationID); err != nil {
			return err
		}
	}
	if err := a.certificatesFollow(p.ApplicationID, t.To, reason); err != nil {
		return err
	}
	if t.Action == station.ActionResubmit {
		// The time limit starts again when the missing materials arrive (补正后重新计算).
		m, err := a.loadMatter(code)
		if err != nil {
			return err
		}
		cal, err := a.db.calendarTx(a.ctx, a.tx)
		if err != nil {
			return err
		}
		due := station.DueDate(cal, station.DateOf(a.cmd.At), m.TimeLimitDays)
		if err := a.exec(`UPDATE applications SET due_date = ? WHERE id = ?`, dateText(due), p.ApplicationID); err != nil {
			return err
		}
	}
	return a.event(p.ApplicationID, t.Action, t.From, t.To, reason)
}

func (a *applier) materials() error {
	if err := a.requireRole(station.CanTakeApplications(a.cmd.Actor.Role)); err != nil {
		return err
	}
	var p station.ApplicationMaterials
	if err := a.decode(&p); err != nil {
		return err
	}
	a.eff.object, a.eff.objectID = "application:"+p.ApplicationID, p.ApplicationID
	var status, code string
	err := a.tx.QueryRowContext(a.ctx, `SELECT status, matter_code FROM applications WHERE id = ?`, p.ApplicationID).Scan(&status, &code)
	if errors.Is(err, sql.ErrNoRows) {
		return station.Errorf(station.ENOTFOUND, "办件不存在")
	} else if err != nil {
		return err
	}
	if s := station.Status(status); s != station.StatusReceived && s != station.StatusReturned {
		return station.Errorf(station.ECONFLICT, "办件当前状态为“%s”，不能修改材料", s.Label())
	}
	m, err := a.loadMatter(code)
	if err != nil {
		return err
	}
	checklist, err := m.Checklist(p.Materials)
	if err != nil {
		return err
	}
	mats, _ := json.Marshal(checklist)
	return a.exec(`UPDATE applications SET materials = ?, updated_at = ? WHERE id = ?`, string(mats), formatTime(a.cmd.At), p.ApplicationID)
}

func (a *applier) accessRecord() error {
	var p station.AccessRecord
	if err := a.decode(&p); err != nil {
		return err
	}
	if p.Object == "" || !strings.Contains(p.Object, ":") {
		return station.Errorf(station.EINVALID, "访问记录缺少对象")
	}
	a.eff.object = p.Object
	a.eff.auditAction = "read." + p.Purpose
	a.eff.detail = p.Purpose
	return nil
}

func (a *applier) userCreate() error {
	if err := a.requireRole(station.CanManageUsers(a.cmd.Actor.Role)); err != nil {
		return err
	}
	var p station.UserCreate
	if err := a.decode(&p); err != nil {
		return err
	}
	return a.insertUser(p)
}

// insertUser creates the account p after checking it.
func (a *applier) insertUser(p station.UserCreate) error {
	a.eff.object = "user:" + p.Username
	if err := station.ValidateUsername(p.Username); err != nil {
		return err
	}
	if !p.Role.IsStaffRole() {
		return station.Errorf(station.EINVALID, "角色“%s”无效", p.Role)
	}
	if err := station.CheckText("显示名称", p.DisplayName, 50, true); err != nil {
		return err
	}
	if !strings.HasPrefix(p.PasswordHash, "$argon2id$") {
		return station.Errorf(station.EINVALID, "密码哈希格式无效")
	}
	var n int
	if err := a.tx.QueryRowContext(a.ctx, `SELECT count(*) FROM users WHERE username = ?`, p.Username).Scan(&n); err != nil {
		return err
	} else if n > 0 {
		return station.Errorf(station.ECONFLICT, "用户名%s已存在", p.Username)
	}
	a.eff.objectID = p.Username
	a.eff.detail = string(p.Role)
	return a.exec(`INSERT INTO users (username, display_name, role, password_hash, created_at) VALUES (?, ?, ?, ?, ?)`,
		p.Username, p.DisplayName, string(p.Role), p.PasswordHash, formatTime(a.cmd.At))
}

// activeAdmin reports whether username is an enabled station administrator.
func (a *applier) activeAdmin(username string) (bool, error) {
	var n int
	err := a.tx.QueryRowContext(a.ctx, `SELECT count(*) FROM users WHERE username = ? AND role = ? AND disabled = 0`,
		username, string(station.RoleStationAdmin)).Scan(&n)
	return n > 0, err
}

func (a *applier) userUpdate() error {
	if err := a.requireRole(station.CanManageUsers(a.cmd.Actor.Role)); err != nil {
		return err
	}
	var p station.UserUpdate
	if err := a.decode(&p); err != nil {
		return err
	}
	a.eff.object, a.eff.objectID = "user:"+p.Username, p.Username
	var n int
	if err := a.tx.QueryRowContext(a.ctx, `SELECT count(*) FROM users WHERE username = ?`, p.Username).Scan(&n); err != nil {
		return err
	} else if n == 0 {
		return station.Errorf(station.ENOTFOUND, "用户%s不存在", p.Username)
	}
	wasAdmin, err := a.activeAdmin(p.Username)
	if err != nil {
		return err
	}
	var changed []string
	if p.DisplayName != nil {
		if err := station.CheckText("显示名称", *p.DisplayName, 50, true); err != nil {
			return err
		}
		if err := a.exec(`UPDATE users SET display_name = ? WHERE username = ?`, *p.DisplayName, p.Username); err != nil {
			return err
		}
		changed = append(changed, "display_name")
	}
	if p.Role != nil {
		if !p.Role.IsStaffRole() {
			return station.Errorf(station.EINVALID, "角色“%s”无效", *p.Role)
		}
		if err := a.exec(`UPDATE users SET role = ? WHERE username = ?`, string(*p.Role), p.Username); err != nil {
			return err
		}
		changed = append(changed, "role="+string(*p.Role))
	}
	if p.Disabled != nil {
		if err := a.exec(`UPDATE users SET disabled = ? WHERE username = ?`, boolInt(*p.Disabled), p.Username); err != nil {
			return err
		}
		changed = append(changed, fmt.Sprintf("disabled=%t", *p.Disabled))
	}
	if p.PasswordHash != nil {
		if !strings.HasPrefix(*p.PasswordHash, "$argon2id$") {
			return station.Errorf(station.EINVALID, "密码哈希格式无效")
		}
		if err := a.exec(`UPDATE users SET password_hash = ? WHERE username = ?`, *p.PasswordHash, p.Username); err != nil {
			return err
		}
		changed = append(changed, "password")
	}
	if p.Unlock {
		if err := a.exec(`UPDATE users SET failed_logins = 0, locked_until = NULL WHERE username = ?`, p.Username); err != nil {
			return err
		}
		if err := a.exec(`DELETE FROM login_failures WHERE username = ?`, p.Username); err != nil {
			return err
		}
		changed = append(changed, "unlock")
	}
	if wasAdmin && (p.Role != nil || p.Disabled != nil) {
		// The station must keep an administrator: without one nobody can manage accounts, read the
		// audit or revoke a certificate over the API.
		var admins int
		if err := a.tx.QueryRowContext(a.ctx, `SELECT count(*) FROM users WHERE role = ? AND disabled = 0`, string(station.RoleStationAdmin)).Scan(&admins); err != nil {
			return err
		}
		if admins == 0 {
			return station.ErrLastAdmin()
		}
	}
	if p.Disabled != nil && *p.Disabled || p.PasswordHash != nil || p.Role != nil {
		// A disabled account, a new password or a new role ends the account's sessions.
		if err := a.exec(`UPDATE sessions SET closed_at = ?, close_reason = 'account changed' WHERE username = ? AND closed_at IS NULL`,
			formatTime(a.cmd.At), p.Username); err != nil {
			return err
		}
	}
	a.eff.detail = strings.Join(changed, ",")
	return nil
}

func (a *applier) loginFailed() error {
	var p station.LoginFailed
	if err := a.decode(&p); err != nil {
		return err
	}
	a.eff.object = "user:" + p.Username
	var failed int
	err := a.tx.QueryRowContext(a.ctx, `SELECT failed_logins FROM users WHERE username = ?`, p.Username).Scan(&failed)
	if errors.Is(err, sql.ErrNoRows) {
		a.eff.detail = "unknown user"
		return nil
	} else if err != nil {
		return err
	}
	var pair int
	var lockedUntil sql.NullString
	err = a.tx.QueryRowContext(a.ctx, `SELECT failures, locked_until FROM login_failures WHERE username = ? AND address = ?`,
		p.Username, p.Address).Scan(&pair, &lockedUntil)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	if until, err := parseTime(lockedUntil.String); lockedUntil.Valid && err == nil && !a.cmd.At.Before(until) {
		pair = 0 // the lock has run out: the address starts again
	}
	failed, pair = failed+1, pair+1
	a.eff.detail = fmt.Sprintf("failure %d from %s, %d in all", pair, p.Address, failed)
	var lockPair any
	if pair >= station.MaxFailedLogins {
		lockPair = formatTime(a.cmd.At.Add(station.LockoutDuration))
		a.eff.detail += ", address locked out"
	}
	if err := a.exec(`INSERT INTO login_failures (username, address, failures, last_at, locked_until) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (username, address) DO UPDATE SET failures = excluded.failures, last_at = excluded.last_at, locked_until = excluded.locked_until`,
		p.Username, p.Address, pair, formatTime(a.cmd.At), lockPair); err != nil {
		return err
	}
	if failed >= station.MaxAccountFailures {
		a.eff.detail += ", account locked"
		return a.exec(`UPDATE users SET failed_logins = 0, locked_until = ? WHERE username = ?`,
			formatTime(a.cmd.At.Add(station.LockoutDuration)), p.Username)
	}
	return a.exec(`UPDATE users SET failed_logins = ? WHERE username = ?`, failed, p.Username)
}

func (a *applier) sessionOpen() error {
	var p station.SessionOpen
	if err := a.decode(&p); err != nil {
		return err
	}
	a.eff.object, a.eff.objectID = "user:"+p.Username, p.SessionID
	u, err := scanUser(a.tx.QueryRowContext(a.ctx, userSelect+` WHERE username = ?`, p.Username))
	if errors.Is(err, sql.ErrNoRows) {
		return station.Errorf(station.EUNAUTHORIZED, "用户名或密码错误")
	} else if err != nil {
		return err
	}
	if u.Disabled {
		return station.Errorf(station.EUNAUTHORIZED, "用户名或密码错误")
	}
	if u.Locked(a.cmd.At) {
		return station.LockedError(*u.LockedUntil, a.cmd.At)
	}
	if p.SessionID == "" || len(p.TokenHash) != 64 || !p.ExpiresAt.After(a.cmd.At) {
		return station.Errorf(station.EINVALID, "会话信息无效")
	}
	if err := a.exec(`UPDATE users SET failed_logins = 0, locked_until = NULL WHERE username = ?`, p.Username); err != nil {
		return err
	}
	if err := a.exec(`DELETE FROM login_failures WHERE username = ? AND address = ?`, p.Username, p.Address); err != nil {
		return err
	}
	return a.exec(`INSERT INTO sessions (id, token_hash, username, created_at, expires_at) VALUES (?, ?, ?, ?, ?)`,
		p.SessionID, p.TokenHash, p.Username, formatTime(a.cmd.At), formatTime(p.ExpiresAt))
}

func (a *applier) sessionClose() error {
	var p station.SessionClose
	if err := a.decode(&p); err != nil {
		return err
	}
	var username string
	err := a.tx.QueryRowContext(a.ctx, `SELECT username FROM sessions WHERE id = ? AND closed_at IS NULL`, p.SessionID).Scan(&username)
	if errors.Is(err, sql.ErrNoRows) {
		return station.Errorf(station.ENOTFOUND, "会话不存在或已结束")
	} else if err != nil {
		return err
	}
	a.eff.object, a.eff.objectID = "user:"+username, p.SessionID
	a.eff.detail = p.Reason
	return a.exec(`UPDATE sessions SET closed_at = ?, close_reason = ? WHERE id = ?`, formatTime(a.cmd.At), p.Reason, p.SessionID)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func dateText(d station.Date) string {
	if d.IsZero() {
		return ""
	}
	return d.String()
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func nonNilMaterials(s []station.Material) []station.Material {
	if s == nil {
		return []station.Material{}
	}
	return s
}

// stmtTx is a write transaction whose statements go through the writer's prepared-statement cache, so
// the hot write path does not parse the same SQL again for every command.
type stmtTx struct {
	*sql.Tx
	db *DB
}

// ExecContext executes query with a cached prepared statement.
func (t stmtTx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	st, err := t.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

// QueryRowContext runs a single-row query with a cached prepared statement.
func (t stmtTx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	st, err := t.stmt(ctx, query)
	if err != nil {
		return t.Tx.QueryRowContext(ctx, query, args...) // reports the same error on Scan
	}
	return st.QueryRowContext(ctx, args...)
}

// stmt returns a statement for query bound to the transaction. A statement the writer has prepared
// before is reused on its connection; a new one is prepared in the transaction, and the writer
// prepares it for good after the transaction ends (it cannot while the transaction holds its only
// connection).
func (t stmtTx) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	t.db.stmtMu.Lock()
	st, ok := t.db.stmts[query]
	if !ok {
		t.db.pending[query] = true
	}
	t.db.stmtMu.Unlock()
	if ok {
		return t.Tx.StmtContext(ctx, st), nil
	}
	return t.Tx.PrepareContext(ctx, query)
}

// preparePending prepares on the writer the statements transactions asked for since the last call. It
// runs with no transaction open, under db.mu.
func (db *DB) preparePending(ctx context.Context) {
	db.stmtMu.Lock()
	defer db.stmtMu.Unlock()
	for q := range db.pending {
		delete(db.pending, q)
		if st, err := db.write.PrepareContext(ctx, q); err == nil {
			db.stmts[q] = st
		}
	}
}
