// Package sqlite is the hub's embedded store: hub.Store on a modernc.org/sqlite database in WAL mode
// with synchronous=FULL, one writer connection and a pool of readers, schema from embedded migrations
// (opened and migrated by internal/sqlitedb, as the station's store is).
// It suits a data center of modest size and every test; syncer/hub/postgres serves large ones.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/civic-station/station/internal/sqlitedb"
	"github.com/civic-station/station/station"
	"github.com/civic-station/station/syncer/hub"
	"github.com/civic-station/station/syncer/protocol"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

var _ hub.Store = (*Store)(nil)

const timeFormat = "2006-01-02T15:04:05.000000000Z"

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(timeFormat)
}

func parseTime(s string) time.Time {
	t, _ := time.Parse(timeFormat, s)
	return t
}

// Store is an open hub database.
type Store struct {
	write *sql.DB
	read  *sql.DB
}

// keepUpgradeBackups is how many pre-upgrade snapshots Open keeps.
const keepUpgradeBackups = 3

// UpgradeBackupDir is where Open keeps the snapshot it takes of the database at path before it
// migrates it: upgrade-backups/ beside the database file, as hub-schemaNNNN-TIME.db.
func UpgradeBackupDir(path string) string {
	return filepath.Join(filepath.Dir(path), "upgrade-backups")
}

// Open opens (creating) the hub database at path and migrates it as the station's store is migrated:
// a database that already holds data is first snapshotted into UpgradeBackupDir, then every pending
// migration runs in one transaction, so a failed upgrade leaves the database as it was and the
// previous hub still runs on it. A database written by a newer hub (it holds migrations this one
// lacks) is refused.
func Open(ctx context.Context, path string) (*Store, error) {
	db, err := sqlitedb.Open(ctx, path, sqlitedb.Config{Readers: 4})
	if err != nil {
		return nil, fmt.Errorf("open hub store %s: %w", path, err)
	}
	schema := sqlitedb.Schema{FS: migrationFS, OneTransaction: true, BeforeUpgrade: func(ctx context.Context, from, to int) error {
		if _, err := sqlitedb.UpgradeBackup(ctx, path, UpgradeBackupDir(path), "hub", from, keepUpgradeBackups); err != nil {
			return fmt.Errorf("升级前备份失败，数据库未改动 / the pre-upgrade backup failed, the database is unchanged: %w", err)
		}
		return nil
	}}
	if _, err := schema.Migrate(ctx, db.Write); err != nil {
		db.Close()
		return nil, fmt.Errorf("open hub store %s: %w", path, err)
	}
	return &Store{write: db.Write, read: db.Read}, nil
}

// Close closes the database.
func (s *Store) Close() error {
	return errors.Join(s.read.Close(), s.write.Close())
}

// CreateToken stores a new enrollment token.
func (s *Store) CreateToken(ctx context.Context, t hub.Token) error {
	_, err := s.write.ExecContext(ctx, `INSERT INTO tokens (hash, station_name, created_at, expires_at) VALUES (?, ?, ?, ?)`,
		t.Hash, t.StationName, formatTime(t.CreatedAt), formatTime(t.ExpiresAt))
	if err != nil {
		return fmt.Errorf("create token: %w", err)
	}
	return nil
}

// Enroll uses up a token and creates the station.
func (s *Store) Enroll(ctx context.Context, tokenHash string, st hub.Station) (hub.Station, error) {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return st, fmt.Errorf("enroll: %w", err)
	}
	defer tx.Rollback()
	var name, expires string
	var used sql.NullString
	err = tx.QueryRowContext(ctx, `SELECT station_name, expires_at, used_at FROM tokens WHERE hash = ?`, tokenHash).Scan(&name, &expires, &used)
	if errors.Is(err, sql.ErrNoRows) {
		return st, station.Errorf(station.EUNAUTHORIZED, "注册码无效")
	} else if err != nil {
		return st, fmt.Errorf("enroll: %w", err)
	}
	if used.Valid {
		return st, station.Errorf(station.EUNAUTHORIZED, "注册码已被使用")
	}
	if !parseTime(expires).After(st.EnrolledAt) {
		return st, station.Errorf(station.EUNAUTHORIZED, "注册码已过期")
	}
	st.Name = name
	if _, err := tx.ExecContext(ctx, `UPDATE tokens SET used_at = ?, station_id = ? WHERE hash = ?`, formatTime(st.EnrolledAt), st.ID, tokenHash); err != nil {
		return st, fmt.Errorf("enroll: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO stations (id, name, cert_serial, enrolled_at, version) VALUES (?, ?, ?, ?, ?)`,
		st.ID, st.Name, st.CertSerial, formatTime(st.EnrolledAt), st.Version); err != nil {
		return st, fmt.Errorf("enroll: %w", err)
	}
	return st, tx.Commit()
}

const stationSelect = `SELECT id, name, cert_serial, enrolled_at, last_seen, backlog, dead_letters, version, clock_skew_ms, acked_seq, cursor, state_hash FROM stations`

func scanStation(r interface{ Scan(...any) error }) (hub.Station, error) {
	var st hub.Station
	var enrolled, seen string
	var skew int64
	err := r.Scan(&st.ID, &st.Name, &st.CertSerial, &enrolled, &seen, &st.Backlog, &st.DeadLetters, &st.Version, &skew, &st.AckedThrough, &st.Cursor, &st.StateHash)
	st.EnrolledAt, st.LastSeen, st.ClockSkew = parseTime(enrolled), parseTime(seen), time.Duration(skew)*time.Millisecond
	return st, err
}

// Station returns one station.
func (s *Store) Station(ctx context.Context, id string) (hub.Station, error) {
	st, err := scanStation(s.read.QueryRowContext(ctx, stationSelect+` WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return st, station.Errorf(station.ENOTFOUND, "站点不存在")
	} else if err != nil {
		return st, fmt.Errorf("station %s: %w", id, err)
	}
	return st, nil
}

// Stations returns every station by name.
func (s *Store) Stations(ctx context.Context) ([]hub.Station, error) {
	rows, err := s.read.QueryContext(ctx, stationSelect+` ORDER BY name, id`)
	if err != nil {
		return nil, fmt.Errorf("stations: %w", err)
	}
	defer rows.Close()
	out := []hub.Station{}
	for rows.Next() {
		st, err := scanStation(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, rows.Err()
}

// SeeStation records a contact.
func (s *Store) SeeStation(ctx context.Context, id string, v hub.Seen) error {
	_, err := s.write.ExecContext(ctx, `UPDATE stations SET last_seen = ?, backlog = ?, dead_letters = ?, version = ?, clock_skew_ms = ?,
		acked_seq = max(acked_seq, ?), cursor = ?, state_hash = ? WHERE id = ?`,
		formatTime(v.At), v.Backlog, v.DeadLetters, v.Version, v.ClockSkew.Milliseconds(), v.AckedThrough, v.Cursor, v.StateHash, id)
	if err != nil {
		return fmt.Errorf("see station %s: %w", id, err)
	}
	return nil
}

// PutRecords stores records, deduplicating by (station, id).
func (s *Store) PutRecords(ctx context.Context, recs []hub.Record) ([]string, error) {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("put records: %w", err)
	}
	defer tx.Rollback()
	out := make([]string, len(recs))
	for i, r := range recs {
		var heldHash, heldKind string
		err := tx.QueryRowContext(ctx, `SELECT payload_sha256, kind FROM records WHERE station_id = ? AND id = ?`, r.StationID, r.ID).Scan(&heldHash, &heldKind)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			if _, err := tx.ExecContext(ctx, `INSERT INTO records (station_id, id, seq, kind, occurred_at, payload, payload_sha256, application_id, received_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, r.StationID, r.ID, r.Seq, r.Kind, formatTime(r.OccurredAt), string(r.Payload), r.PayloadSHA256,
				r.ApplicationID, formatTime(r.ReceivedAt)); err != nil {
				return nil, fmt.Errorf("put record %s/%s: %w", r.StationID, r.ID, err)
			}
			out[i] = protocol.StatusStored
		case err != nil:
			return nil, fmt.Errorf("put record %s/%s: %w", r.StationID, r.ID, err)
		case heldHash == r.PayloadSHA256 && heldKind == r.Kind:
			out[i] = protocol.StatusDuplicate
		default:
			if _, err := tx.ExecContext(ctx, `INSERT INTO conflicts (station_id, id, seq, kind, payload, payload_sha256, held_sha256, received_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`, r.StationID, r.ID, r.Seq, r.Kind, string(r.Payload), r.PayloadSHA256,
				heldHash, formatTime(r.ReceivedAt)); err != nil {
				return nil, fmt.Errorf("quarantine record %s/%s: %w", r.StationID, r.ID, err)
			}
			out[i] = protocol.StatusConflict
		}
	}
	return out, tx.Commit()
}

const recordSelect = `SELECT station_id, id, seq, kind, occurred_at, payload, payload_sha256, application_id, received_at FROM records`

func scanRecord(r interface{ Scan(...any) error }) (hub.Record, error) {
	var rec hub.Record
	var occurred, received, payload string
	err := r.Scan(&rec.StationID, &rec.ID, &rec.Seq, &rec.Kind, &occurred, &payload, &rec.PayloadSHA256, &rec.ApplicationID, &received)
	rec.OccurredAt, rec.ReceivedAt, rec.Payload = parseTime(occurred), parseTime(received), json.RawMessage(payload)
	return rec, err
}

// Records returns records in (station, seq) order.
func (s *Store) Records(ctx context.Context, f hub.RecordFilter) ([]hub.Record, error) {
	q, args := recordSelect+` WHERE 1 = 1`, []any{}
	if f.StationID != "" {
		q += ` AND station_id = ?`
		args = append(args, f.StationID)
	}
	if f.ApplicationID != "" {
		q += ` AND application_id = ?`
		args = append(args, f.ApplicationID)
	}
	if len(f.Kinds) > 0 {
		q += ` AND kind IN (?` + strings.Repeat(`, ?`, len(f.Kinds)-1) + `)`
		for _, k := range f.Kinds {
			args = append(args, k)
		}
	}
	q += ` ORDER BY station_id, seq`
	if f.Limit > 0 {
		q += ` LIMIT ?`
		args = append(args, f.Limit)
	}
	rows, err := s.read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("records: %w", err)
	}
	defer rows.Close()
	out := []hub.Record{}
	for rows.Next() {
		rec, err := scanRecord(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, rec)
	}
	return out, rows.Err()
}

// Conflicts returns quarantined conflicts.
func (s *Store) Conflicts(ctx context.Context, stationID string) ([]hub.Conflict, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT station_id, id, seq, kind, payload, payload_sha256, held_sha256, received_at FROM conflicts
		WHERE ? = '' OR station_id = ? ORDER BY received_at, station_id, id`, stationID, stationID)
	if err != nil {
		return nil, fmt.Errorf("conflicts: %w", err)
	}
	defer rows.Close()
	out := []hub.Conflict{}
	for rows.Next() {
		var c hub.Conflict
		var payload, received string
		if err := rows.Scan(&c.StationID, &c.ID, &c.Seq, &c.Kind, &payload, &c.PayloadSHA256, &c.HeldSHA256, &received); err != nil {
			return nil, err
		}
		c.Payload, c.ReceivedAt = json.RawMessage(payload), parseTime(received)
		out = append(out, c)
	}
	return out, rows.Err()
}

// ApplicationRecord returns the intake record of an application.
func (s *Store) ApplicationRecord(ctx context.Context, stationID, applicationID string) (hub.Record, error) {
	rec, err := scanRecord(s.read.QueryRowContext(ctx, recordSelect+` WHERE station_id = ? AND application_id = ? AND kind = ?`,
		stationID, applicationID, string(station.CmdApplicationIntake)))
	if errors.Is(err, sql.ErrNoRows) {
		return rec, station.Errorf(station.ENOTFOUND, "数据中心没有该站点的这件办件")
	} else if err != nil {
		return rec, fmt.Errorf("application record: %w", err)
	}
	return rec, nil
}

// Publish appends a change to the feed.
func (s *Store) Publish(ctx context.Context, stationID string, c station.Change, at time.Time) (int64, error) {
	return publish(ctx, s.write, stationID, c, at)
}

// publish appends a change to the feed with q (the database, or a transaction), unless it is the same
// as the key's latest change for that audience: then it returns that change's position.
func publish(ctx context.Context, q interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, stationID string, c station.Change, at time.Time) (int64, error) {
	body, err := json.Marshal(c)
	if err != nil {
		return 0, err
	}
	var seq int64
	var latest string
	err = q.QueryRowContext(ctx, `SELECT seq, body FROM feed WHERE station_id = ? AND key = ? ORDER BY seq DESC LIMIT 1`,
		stationID, c.Key).Scan(&seq, &latest)
	switch {
	case err == nil && latest == string(body):
		return seq, nil
	case err != nil && !errors.Is(err, sql.ErrNoRows):
		return 0, fmt.Errorf("publish %s: %w", c.Key, err)
	}
	res, err := q.ExecContext(ctx, `INSERT INTO feed (station_id, key, version, body, published_at) VALUES (?, ?, ?, ?, ?)`,
		stationID, c.Key, c.Version, string(body), formatTime(at))
	if err != nil {
		return 0, fmt.Errorf("publish %s: %w", c.Key, err)
	}
	return res.LastInsertId()
}

// Changes returns a page of a station's feed: the latest change of each key, after a position.
func (s *Store) Changes(ctx context.Context, stationID string, after int64, limit int) (hub.FeedPage, error) {
	page := hub.FeedPage{Next: after}
	tx, err := s.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return page, fmt.Errorf("changes: %w", err)
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, `SELECT seq, body FROM feed f WHERE station_id IN ('', ?) AND seq > ?
		AND seq = (SELECT max(seq) FROM feed g WHERE g.key = f.key AND g.station_id IN ('', ?))
		ORDER BY seq LIMIT ?`, stationID, after, stationID, limit+1)
	if err != nil {
		return page, fmt.Errorf("changes: %w", err)
	}
	for rows.Next() {
		var seq int64
		var body string
		if err := rows.Scan(&seq, &body); err != nil {
			rows.Close()
			return page, err
		}
		if len(page.Changes) == limit {
			page.More = true
			break
		}
		var c station.Change
		if err := json.Unmarshal([]byte(body), &c); err != nil {
			rows.Close()
			return page, fmt.Errorf("changes: feed %d: %w", seq, err)
		}
		page.Changes = append(page.Changes, c)
		page.Next = seq
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return page, err
	}
	if page.More {
		return page, nil
	}
	rows, err = tx.QueryContext(ctx, `SELECT key, version FROM feed f WHERE station_id IN ('', ?) AND seq <= ?
		AND seq = (SELECT max(seq) FROM feed g WHERE g.key = f.key AND g.station_id IN ('', ?) AND g.seq <= ?)`,
		stationID, page.Next, stationID, page.Next)
	if err != nil {
		return page, fmt.Errorf("changes: state hash: %w", err)
	}
	defer rows.Close()
	items := map[string]string{}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return page, err
		}
		items[k] = v
	}
	if err := rows.Err(); err != nil {
		return page, err
	}
	page.Hash = station.StateHash(items)
	return page, nil
}
