package sqlite

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/civic-station/station/station"
)

// This file holds the station's side of the sync protocol in the store: the commands that acknowledge,
// prune and set aside outbox records, the command that applies downlink changes together with the
// cursor, and the queries the syncer runs.

func (a *applier) requireSystem() error {
	return a.requireRole(a.cmd.Actor.Role == station.RoleSystem)
}

func (a *applier) outboxAck() error {
	if err := a.requireSystem(); err != nil {
		return err
	}
	var p station.OutboxAck
	if err := a.decode(&p); err != nil {
		return err
	}
	if p.ThroughSeq < 0 {
		return station.Errorf(station.EINVALID, "确认序号无效")
	}
	res, err := a.tx.ExecContext(a.ctx, `UPDATE outbox SET acked_at = ? WHERE seq <= ? AND acked_at IS NULL
		AND NOT EXISTS (SELECT 1 FROM outbox_dead_letters d WHERE d.seq = outbox.seq)`, formatTime(a.cmd.At), p.ThroughSeq)
	if err != nil {
		return err
	}
	n, _ := res.RowsAffected()
	a.eff.object = "outbox"
	a.eff.detail = fmt.Sprintf("through %d, %d records", p.ThroughSeq, n)
	return nil
}

func (a *applier) outboxPrune() error {
	if err := a.requireSystem(); err != nil {
		return err
	}
	var p station.OutboxPrune
	if err := a.decode(&p); err != nil {
		return err
	}
	if p.AckedBefore.IsZero() {
		return station.Errorf(station.EINVALID, "清理时间无效")
	}
	res, err := a.tx.ExecContext(a.ctx, `DELETE FROM outbox WHERE acked_at IS NOT NULL AND acked_at < ?
		AND NOT EXISTS (SELECT 1 FROM outbox_dead_letters d WHERE d.seq = outbox.seq)`, formatTime(p.AckedBefore))
	if err != nil {
		return err
	}
	n, _ := res.RowsAffected()
	a.eff.object = "outbox"
	a.eff.detail = fmt.Sprintf("acked before %s, %d records", formatTime(p.AckedBefore), n)
	return nil
}

func (a *applier) outboxDeadLetter() error {
	if err := a.requireSystem(); err != nil {
		return err
	}
	var p station.OutboxDeadLetter
	if err := a.decode(&p); err != nil {
		return err
	}
	if len(p.Records) == 0 {
		return station.Errorf(station.EINVALID, "没有要搁置的记录")
	}
	a.eff.object = "outbox"
	var seqs []string
	for _, r := range p.Records {
		if err := station.CheckLongText("原因", r.Message, 500, false); err != nil {
			return err
		}
		if r.Code == "" || len(r.Code) > 32 {
			return station.Errorf(station.EINVALID, "搁置代码无效")
		}
		var acked sql.NullString
		var dead bool
		err := a.tx.QueryRowContext(a.ctx, `SELECT acked_at, EXISTS (SELECT 1 FROM outbox_dead_letters d WHERE d.seq = outbox.seq)
			FROM outbox WHERE seq = ?`, r.Seq).Scan(&acked, &dead)
		if errors.Is(err, sql.ErrNoRows) {
			return station.Errorf(station.ENOTFOUND, "待上报记录%d不存在", r.Seq)
		} else if err != nil {
			return err
		}
		if acked.Valid {
			return station.Errorf(station.ECONFLICT, "记录%d已被数据中心确认", r.Seq)
		}
		if err := a.exec(`INSERT INTO outbox_dead_letters (seq, code, message, at) VALUES (?, ?, ?, ?)
			ON CONFLICT (seq) DO UPDATE SET code = excluded.code, message = excluded.message`,
			r.Seq, r.Code, r.Message, formatTime(a.cmd.At)); err != nil {
			return err
		}
		if !dead {
			if err := a.exec(`UPDATE outbox SET set_aside = set_aside + 1 WHERE seq = ?`, r.Seq); err != nil {
				return err
			}
		}
		seqs = append(seqs, fmt.Sprintf("%d:%s", r.Seq, r.Code))
	}
	a.eff.detail = strings.Join(seqs, ",")
	return nil
}

func (a *applier) outboxRetry() error {
	if err := a.requireRole(a.cmd.Actor.Role == station.RoleSystem || a.cmd.Actor.Role == station.RoleTechnician || a.cmd.Actor.Role == station.RoleStationAdmin); err != nil {
		return err
	}
	var p station.OutboxRetry
	if err := a.decode(&p); err != nil {
		return err
	}
	a.eff.object = "outbox"
	if p.All == (len(p.Seqs) > 0) {
		return station.Errorf(station.EINVALID, "请指定要重试的搁置记录，或选择全部重试")
	}
	if p.All {
		rows, err := a.tx.QueryContext(a.ctx, `SELECT seq FROM outbox_dead_letters ORDER BY seq`)
		if err != nil {
			return err
		}
		for rows.Next() {
			var seq int64
			if err := rows.Scan(&seq); err != nil {
				rows.Close()
				return err
			}
			p.Seqs = append(p.Seqs, seq)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}
	done := []string{}
	for _, seq := range p.Seqs {
		res, err := a.tx.ExecContext(a.ctx, `DELETE FROM outbox_dead_letters WHERE seq = ?`, seq)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return station.Errorf(station.ENOTFOUND, "搁置记录%d不存在", seq)
		}
		done = append(done, fmt.Sprint(seq))
	}
	a.eff.detail = fmt.Sprintf("%d records: %s", len(done), strings.Join(done, ","))
	return nil
}

// syncApply applies a page of downlink changes. Each change is applied under its own savepoint: a
// change the station's domain refuses (a decision on an application that was withdrawn meanwhile, a
// catalog version older than the one held) is rolled back alone and recorded with its error code, so it
// cannot block the feed; the cursor moves past it either way.
func (a *applier) syncApply() error {
	if err := a.requireSystem(); err != nil {
		return err
	}
	var p station.SyncApply
	if err := a.decode(&p); err != nil {
		return err
	}
	a.eff.object = "sync"
	var cur string
	if err := a.tx.QueryRowContext(a.ctx, `SELECT cursor FROM sync_cursor WHERE id = 1`).Scan(&cur); err != nil {
		return err
	}
	if p.FromCursor != cur {
		return station.Errorf(station.ECONFLICT, "下行数据游标不一致（本地为“%s”）", cur)
	}
	if p.Reset {
		if err := a.exec(`DELETE FROM sync_items`); err != nil {
			return err
		}
		if err := a.exec(`UPDATE sync_cursor SET resyncs = resyncs + 1 WHERE id = 1`); err != nil {
			return err
		}
	}
	refused := 0
	for i := range p.Changes {
		c := &p.Changes[i]
		if _, err := a.tx.ExecContext(a.ctx, `SAVEPOINT change`); err != nil {
			return err
		}
		result := "ok"
		err := a.applyChange(c)
		var de *station.Error
		switch {
		case err == nil:
		case errors.As(err, &de):
			result = de.Code
			refused++
			if _, err := a.tx.ExecContext(a.ctx, `ROLLBACK TO change`); err != nil {
				return err
			}
		default:
			return fmt.Errorf("change %s: %w", c.Key, err)
		}
		if _, err := a.tx.ExecContext(a.ctx, `RELEASE change`); err != nil {
			return err
		}
		if err := a.exec(`INSERT INTO sync_items (key, version, result) VALUES (?, ?, ?)
			ON CONFLICT (key) DO UPDATE SET version = excluded.version, result = excluded.result`, c.Key, c.Version, result); err != nil {
			return err
		}
	}
	if err := a.exec(`UPDATE sync_cursor SET cursor = ?, updated_at = ? WHERE id = 1`, p.Cursor, formatTime(a.cmd.At)); err != nil {
		return err
	}
	a.eff.detail = fmt.Sprintf("cursor %q -> %q, %d changes, %d refused", p.FromCursor, p.Cursor, len(p.Changes), refused)
	if p.Reset {
		a.eff.detail += ", full resync"
	}
	return nil
}

// sub returns an applier for a command of another kind inside this one's transaction, so that downlink
// changes go through the same validation as the commands they correspond to.
func (a *applier) sub(kind station.CommandKind, actor station.Actor, payload any) (*applier, error) {
	b, err := json.Marshal(payload)
	if err != nil {
		return nil, err
	}
	cmd := station.Command{ID: a.cmd.ID, Kind: kind, At: a.cmd.At, Actor: actor, Payload: b}
	return &applier{ctx: a.ctx, tx: a.tx, cmd: cmd, db: a.db}, nil
}

func (a *applier) applyChange(c *station.Change) error {
	if c.Key == "" || c.Version == "" {
		return station.Errorf(station.EINVALID, "下行变更缺少键或版本")
	}
	system := station.Actor{Username: "hub", Role: station.RoleSystem}
	switch c.Type {
	case station.ChangeMatter:
		if c.Matter == nil || c.Key != "matter:"+c.Matter.Code {
			return station.Errorf(station.EINVALID, "事项变更内容无效")
		}
		s, err := a.sub(station.CmdCatalogImport, system, station.CatalogImport{Matters: []station.Matter{*c.Matter}})
		if err != nil {
			return err
		}
		return s.catalogImport()
	case station.ChangeCalendar:
		if c.Calendar == nil {
			return station.Errorf(station.EINVALID, "日历变更内容无效")
		}
		s, err := a.sub(station.CmdCalendarImport, system, c.Calendar)
		if err != nil {
			return err
		}
		if err := s.calendarImport(); err != nil {
			return err
		}
		a.eff.calendarChanged = true
		return nil
	case station.ChangeDecision:
		d := c.Decision
		if d == nil || c.Key != "decision:"+d.ApplicationID {
			return station.Errorf(station.EINVALID, "审批结果内容无效")
		}
		if err := d.Validate(); err != nil {
			return err
		}
		name := strings.TrimSpace(d.Department)
		if name == "" {
			name = "department"
		}
		s, err := a.sub(station.CmdApplicationTransition, station.Actor{Username: name, Role: station.RoleDepartment},
			station.ApplicationTransition{ApplicationID: d.ApplicationID, Action: d.Action, Reason: d.Reason})
		if err != nil {
			return err
		}
		return s.transition()
	case station.ChangeNotice:
		n := c.Notice
		if n == nil || c.Key != "notice:"+n.ID {
			return station.Errorf(station.EINVALID, "通知内容无效")
		}
		if err := station.CheckText("通知标题", n.Title, 100, true); err != nil {
			return err
		}
		if err := station.CheckLongText("通知内容", n.Body, 5000, false); err != nil {
			return err
		}
		if err := n.Validate(); err != nil {
			return err
		}
		var expires any
		if !n.ExpiresAt.IsZero() {
			expires = formatTime(n.ExpiresAt)
		}
		return a.exec(`INSERT INTO notices (id, title, body, published_at, expires_at, withdrawn) VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET title = excluded.title, body = excluded.body, published_at = excluded.published_at,
			expires_at = excluded.expires_at, withdrawn = excluded.withdrawn`,
			n.ID, n.Title, n.Body, formatTime(n.PublishedAt), expires, boolInt(n.Withdrawn))
	case station.ChangeSigningKey, station.ChangeRevocation, station.ChangeTemplate:
		return a.certificateChange(c)
	}
	return station.Errorf(station.EINVALID, "未知的下行变更类型“%s”", c.Type)
}

// PendingOutbox returns up to limit outbox records waiting to be sent, in seq order: not acknowledged
// and not dead letters.
func (db *DB) PendingOutbox(ctx context.Context, limit int) ([]station.OutboxRecord, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT seq, id, kind, occurred_at, payload FROM outbox
		WHERE acked_at IS NULL AND NOT EXISTS (SELECT 1 FROM outbox_dead_letters d WHERE d.seq = outbox.seq)
		ORDER BY seq LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("pending outbox: %w", err)
	}
	defer rows.Close()
	var out []station.OutboxRecord
	for rows.Next() {
		var r station.OutboxRecord
		var at, payload string
		if err := rows.Scan(&r.Seq, &r.ID, &r.Kind, &at, &payload); err != nil {
			return nil, err
		}
		if r.OccurredAt, err = parseTime(at); err != nil {
			return nil, fmt.Errorf("outbox %d: %w", r.Seq, err)
		}
		r.Payload = json.RawMessage(payload)
		out = append(out, r)
	}
	return out, rows.Err()
}

// OutboxStats summarises the outbox.
func (db *DB) OutboxStats(ctx context.Context) (station.OutboxStats, error) {
	var s station.OutboxStats
	var oldest, lastAck sql.NullString
	var oldestSeq sql.NullInt64
	err := db.read.QueryRowContext(ctx, `SELECT
		(SELECT count(*) FROM outbox o WHERE acked_at IS NULL AND NOT EXISTS (SELECT 1 FROM outbox_dead_letters d WHERE d.seq = o.seq)),
		(SELECT min(seq) FROM outbox o WHERE acked_at IS NULL AND NOT EXISTS (SELECT 1 FROM outbox_dead_letters d WHERE d.seq = o.seq)),
		(SELECT count(*) FROM outbox_dead_letters),
		(SELECT count(*) FROM outbox WHERE acked_at IS NOT NULL),
		(SELECT max(acked_at) FROM outbox)`).Scan(&s.Pending, &oldestSeq, &s.DeadLetters, &s.Acked, &lastAck)
	if err != nil {
		return s, fmt.Errorf("outbox stats: %w", err)
	}
	if oldestSeq.Valid {
		s.OldestSeq = oldestSeq.Int64
		if err := db.read.QueryRowContext(ctx, `SELECT occurred_at FROM outbox WHERE seq = ?`, oldestSeq.Int64).Scan(&oldest); err != nil {
			return s, fmt.Errorf("outbox stats: %w", err)
		}
		s.OldestAt, _ = parseTime(oldest.String)
	}
	if lastAck.Valid {
		s.LastAckedAt, _ = parseTime(lastAck.String)
	}
	return s, nil
}

// DeadLetters returns the outbox records set aside, oldest first.
func (db *DB) DeadLetters(ctx context.Context) ([]station.DeadLetter, error) {
	recs, err := db.deadLetters(ctx, false, "")
	if err != nil {
		return nil, err
	}
	out := make([]station.DeadLetter, len(recs))
	for i, r := range recs {
		out[i] = r.DeadLetter
	}
	return out, nil
}

// DeadLetterRecords returns the outbox records set aside with their payloads, oldest first, for export.
func (db *DB) DeadLetterRecords(ctx context.Context) ([]station.DeadLetterRecord, error) {
	return db.deadLetters(ctx, true, "")
}

// DeadLetter returns one dead letter by its seq or its record ID, or ENOTFOUND.
func (db *DB) DeadLetter(ctx context.Context, seqOrID string) (station.DeadLetter, error) {
	recs, err := db.deadLetters(ctx, false, seqOrID)
	if err != nil {
		return station.DeadLetter{}, err
	}
	if len(recs) == 0 {
		return station.DeadLetter{}, station.Errorf(station.ENOTFOUND, "搁置记录“%s”不存在", seqOrID)
	}
	return recs[0].DeadLetter, nil
}

// deadLetters reads the dead letters, with their payloads or not, all of them or the one whose seq or
// record ID is only ("" for all).
func (db *DB) deadLetters(ctx context.Context, payloads bool, only string) ([]station.DeadLetterRecord, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT d.seq, o.id, o.kind, d.code, d.message, d.at, o.set_aside, o.occurred_at,
			CASE WHEN ? THEN o.payload ELSE '' END
		FROM outbox_dead_letters d JOIN outbox o ON o.seq = d.seq
		WHERE ? = '' OR o.id = ? OR CAST(d.seq AS TEXT) = ?
		ORDER BY d.seq`, payloads, only, only, only)
	if err != nil {
		return nil, fmt.Errorf("dead letters: %w", err)
	}
	defer rows.Close()
	out := []station.DeadLetterRecord{}
	for rows.Next() {
		var r station.DeadLetterRecord
		var at, occurred, body string
		if err := rows.Scan(&r.Seq, &r.ID, &r.Kind, &r.Code, &r.Message, &at, &r.Attempts, &occurred, &body); err != nil {
			return nil, fmt.Errorf("dead letters: %w", err)
		}
		r.Reason = station.DeadLetterReason(r.Code)
		r.At, _ = parseTime(at)
		r.OccurredAt, _ = parseTime(occurred)
		r.Attempts = max(r.Attempts, 1) // set aside before the count was kept
		if payloads {
			var b bytes.Buffer
			if err := json.Compact(&b, []byte(body)); err != nil {
				b.Reset()
				b.WriteString(body)
			}
			r.Payload = json.RawMessage(b.Bytes())
			sum := sha256.Sum256(r.Payload)
			r.PayloadSHA256 = hex.EncodeToString(sum[:])
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// SyncCursor returns the downlink cursor.
func (db *DB) SyncCursor(ctx context.Context) (station.SyncCursor, error) {
	var c station.SyncCursor
	var at string
	if err := db.read.QueryRowContext(ctx, `SELECT cursor, updated_at, resyncs FROM sync_cursor WHERE id = 1`).Scan(&c.Cursor, &at, &c.Resyncs); err != nil {
		return c, fmt.Errorf("sync cursor: %w", err)
	}
	if at != "" {
		c.UpdatedAt, _ = parseTime(at)
	}
	return c, nil
}

// SyncStateHash returns the hash of the station's downlink state (station.StateHash): every key applied
// with the hub's version, except that a matter's version is read from the catalog itself, so that a
// catalog changed behind the feed's back shows as drift.
func (db *DB) SyncStateHash(ctx context.Context) (string, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT s.key, s.version, m.version FROM sync_items s
		LEFT JOIN matters m ON s.key LIKE 'matter:%' AND m.code = substr(s.key, 8)`)
	if err != nil {
		return "", fmt.Errorf("sync state hash: %w", err)
	}
	defer rows.Close()
	items := map[string]string{}
	for rows.Next() {
		var key, version string
		var matterVersion sql.NullInt64
		if err := rows.Scan(&key, &version, &matterVersion); err != nil {
			return "", err
		}
		if strings.HasPrefix(key, "matter:") {
			version = ""
			if matterVersion.Valid {
				version = fmt.Sprint(matterVersion.Int64)
			}
		}
		items[key] = version
	}
	if err := rows.Err(); err != nil {
		return "", err
	}
	return station.StateHash(items), nil
}

// Notices returns the notices the data center published that are shown at now (published, not expired,
// not withdrawn), newest first.
func (db *DB) Notices(ctx context.Context, now time.Time) ([]station.Notice, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT id, title, body, published_at, coalesce(expires_at, '') FROM notices WHERE withdrawn = 0 ORDER BY published_at DESC, id`)
	if err != nil {
		return nil, fmt.Errorf("notices: %w", err)
	}
	defer rows.Close()
	out := []station.Notice{}
	for rows.Next() {
		var n station.Notice
		var at, expires string
		if err := rows.Scan(&n.ID, &n.Title, &n.Body, &at, &expires); err != nil {
			return nil, err
		}
		n.PublishedAt, _ = parseTime(at)
		if expires != "" {
			n.ExpiresAt, _ = parseTime(expires)
		}
		if n.ShownAt(now) {
			out = append(out, n)
		}
	}
	return out, rows.Err()
}
