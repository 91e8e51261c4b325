package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

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
	if domainErr == nil && outbound(cmd.Kind) && !eff.local {
		payload := cmd.Payload
		if eff.outPayload != nil {
			payload = eff.outPayload
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO outbox (id, kind, occurred_at, payload) VALUES (?, ?, ?, ?)`,
			cmd.ID, string(cmd.Kind), formatTime(cmd.At), string(payload)); err != nil {
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
	local           bool   // applied, but nothing for the data center: no outbox record
	outPayload      []byte // the outbox record's payload when it is not the command's own (what the apply decided)
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
	case station.CmdQueueLineSet, station.CmdQueueTicketIssue, station.CmdQueueCallNext, station.CmdQueueRecall,
		station.CmdQueueServe, station.CmdQueueDone, station.CmdQueueSkip, station.CmdQueueTransfer,
		station.CmdQueueHold, station.CmdQueueResume:
		err = a.queueCommand()
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

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
