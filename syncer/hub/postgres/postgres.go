// Package postgres is the hub's store on PostgreSQL (pgx), for data centers where several stateless hub
// processes share one database. It passes the same conformance suite (syncer/hub/hubtest) as the
// embedded SQLite store.
//
// Feed positions must grow with commit order, or a station reading the feed could step over a change
// committed late; Publish therefore serializes on a transaction-scoped advisory lock.
package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/civic-station/station/station"
	"github.com/civic-station/station/syncer/hub"
	"github.com/civic-station/station/syncer/protocol"
)

var _ hub.Store = (*Store)(nil)

const schema = `
CREATE TABLE IF NOT EXISTS hub_tokens (
	hash text PRIMARY KEY, station_name text NOT NULL, created_at timestamptz NOT NULL, expires_at timestamptz NOT NULL,
	used_at timestamptz, station_id text);
CREATE TABLE IF NOT EXISTS hub_stations (
	id text PRIMARY KEY, name text NOT NULL, cert_serial text NOT NULL, enrolled_at timestamptz NOT NULL,
	last_seen timestamptz, backlog integer NOT NULL DEFAULT 0, dead_letters integer NOT NULL DEFAULT 0,
	version text NOT NULL DEFAULT '', clock_skew_ms bigint NOT NULL DEFAULT 0, acked_seq bigint NOT NULL DEFAULT 0,
	cursor text NOT NULL DEFAULT '', state_hash text NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS hub_records (
	station_id text NOT NULL REFERENCES hub_stations (id), id text NOT NULL, seq bigint NOT NULL, kind text NOT NULL,
	occurred_at timestamptz NOT NULL, payload text NOT NULL, payload_sha256 text NOT NULL,
	application_id text NOT NULL DEFAULT '', received_at timestamptz NOT NULL, PRIMARY KEY (station_id, id));
CREATE INDEX IF NOT EXISTS hub_records_seq ON hub_records (station_id, seq);
CREATE INDEX IF NOT EXISTS hub_records_application ON hub_records (station_id, application_id, kind);
CREATE TABLE IF NOT EXISTS hub_conflicts (
	station_id text NOT NULL, id text NOT NULL, seq bigint NOT NULL, kind text NOT NULL, payload text NOT NULL,
	payload_sha256 text NOT NULL, held_sha256 text NOT NULL, received_at timestamptz NOT NULL,
	PRIMARY KEY (station_id, id, payload_sha256));
CREATE TABLE IF NOT EXISTS hub_feed (
	seq bigserial PRIMARY KEY, station_id text NOT NULL, key text NOT NULL, version text NOT NULL, body text NOT NULL,
	published_at timestamptz NOT NULL);
CREATE INDEX IF NOT EXISTS hub_feed_key ON hub_feed (key, station_id, seq);
CREATE INDEX IF NOT EXISTS hub_feed_station ON hub_feed (station_id, seq);
`

// publishLock is the advisory lock key that serializes Publish.
const publishLock = 0x5354_4e46 // "STNF"

// Store is a hub store on PostgreSQL: a small pool of pgx connections.
type Store struct {
	url  string
	pool chan *pgx.Conn
}

// Open connects to the database at url (postgres://…), creates the schema if needed, and keeps up to
// conns connections (default 8).
func Open(ctx context.Context, url string, conns int) (*Store, error) {
	if conns <= 0 {
		conns = 8
	}
	s := &Store{url: url, pool: make(chan *pgx.Conn, conns)}
	c, err := pgx.Connect(ctx, url)
	if err != nil {
		return nil, fmt.Errorf("open hub store: %w", err)
	}
	if _, err := c.Exec(ctx, `SELECT pg_advisory_lock(1); `+schema+consoleSchema+`; SELECT pg_advisory_unlock(1)`); err != nil {
		c.Close(ctx)
		return nil, fmt.Errorf("open hub store: schema: %w", err)
	}
	s.pool <- c
	for range conns - 1 {
		s.pool <- nil // connected on first use
	}
	return s, nil
}

// Close closes every connection.
func (s *Store) Close() error {
	for range cap(s.pool) {
		if c := <-s.pool; c != nil {
			_ = c.Close(context.Background())
		}
	}
	return nil
}

// with runs f on a pooled connection in a transaction with the given options.
func (s *Store) with(ctx context.Context, opts pgx.TxOptions, f func(tx pgx.Tx) error) error {
	var c *pgx.Conn
	select {
	case c = <-s.pool:
	case <-ctx.Done():
		return ctx.Err()
	}
	if c == nil || c.IsClosed() {
		var err error
		if c, err = pgx.Connect(ctx, s.url); err != nil {
			s.pool <- nil
			return err
		}
	}
	defer func() { s.pool <- c }()
	tx, err := c.BeginTx(ctx, opts)
	if err != nil {
		return err
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if err := f(tx); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

// Transaction options: rw for writes, readOnly for reads.
var (
	rw       = pgx.TxOptions{}
	readOnly = pgx.TxOptions{AccessMode: pgx.ReadOnly}
)

// queryAll runs a query in tx and reads each row with scan; no rows give an empty slice.
func queryAll[T any](ctx context.Context, tx pgx.Tx, scan func(pgx.Row) (T, error), sql string, args ...any) ([]T, error) {
	rows, err := tx.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (T, error) { return scan(r) })
}

// wrap adds context to a driver error and leaves a domain error as it is.
func wrap(what string, err error) error {
	if err == nil || station.ErrorCode(err) != station.EINTERNAL {
		return err
	}
	return fmt.Errorf("%s: %w", what, err)
}

func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC()
}

// CreateToken stores a new enrollment token.
func (s *Store) CreateToken(ctx context.Context, t hub.Token) error {
	return s.with(ctx, rw, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO hub_tokens (hash, station_name, created_at, expires_at) VALUES ($1, $2, $3, $4)`,
			t.Hash, t.StationName, t.CreatedAt.UTC(), t.ExpiresAt.UTC())
		return err
	})
}

// Enroll uses up a token and creates the station.
func (s *Store) Enroll(ctx context.Context, tokenHash string, st hub.Station) (hub.Station, error) {
	err := s.with(ctx, rw, func(tx pgx.Tx) error {
		var name string
		var expires time.Time
		var used *time.Time
		err := tx.QueryRow(ctx, `SELECT station_name, expires_at, used_at FROM hub_tokens WHERE hash = $1 FOR UPDATE`, tokenHash).Scan(&name, &expires, &used)
		if errors.Is(err, pgx.ErrNoRows) {
			return station.Errorf(station.EUNAUTHORIZED, "注册码无效")
		} else if err != nil {
			return err
		}
		if used != nil {
			return station.Errorf(station.EUNAUTHORIZED, "注册码已被使用")
		}
		if !expires.After(st.EnrolledAt) {
			return station.Errorf(station.EUNAUTHORIZED, "注册码已过期")
		}
		st.Name = name
		if _, err := tx.Exec(ctx, `UPDATE hub_tokens SET used_at = $1, station_id = $2 WHERE hash = $3`, st.EnrolledAt.UTC(), st.ID, tokenHash); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO hub_stations (id, name, cert_serial, enrolled_at, version) VALUES ($1, $2, $3, $4, $5)`,
			st.ID, st.Name, st.CertSerial, st.EnrolledAt.UTC(), st.Version)
		return err
	})
	return st, wrap("enroll", err)
}

const stationSelect = `SELECT id, name, cert_serial, enrolled_at, last_seen, backlog, dead_letters, version, clock_skew_ms, acked_seq, cursor, state_hash FROM hub_stations`

func scanStation(r pgx.Row) (hub.Station, error) {
	var st hub.Station
	var seen *time.Time
	var skew int64
	err := r.Scan(&st.ID, &st.Name, &st.CertSerial, &st.EnrolledAt, &seen, &st.Backlog, &st.DeadLetters, &st.Version, &skew, &st.AckedThrough, &st.Cursor, &st.StateHash)
	st.EnrolledAt = st.EnrolledAt.UTC()
	if seen != nil {
		st.LastSeen = seen.UTC()
	}
	st.ClockSkew = time.Duration(skew) * time.Millisecond
	return st, err
}

// Station returns one station.
func (s *Store) Station(ctx context.Context, id string) (hub.Station, error) {
	var st hub.Station
	err := s.with(ctx, readOnly, func(tx pgx.Tx) error {
		var err error
		st, err = scanStation(tx.QueryRow(ctx, stationSelect+` WHERE id = $1`, id))
		if errors.Is(err, pgx.ErrNoRows) {
			return station.Errorf(station.ENOTFOUND, "站点不存在")
		}
		return err
	})
	return st, err
}

// Stations returns every station by name.
func (s *Store) Stations(ctx context.Context) ([]hub.Station, error) {
	var out []hub.Station
	err := s.with(ctx, readOnly, func(tx pgx.Tx) error {
		var err error
		out, err = queryAll(ctx, tx, scanStation, stationSelect+` ORDER BY name, id`)
		return err
	})
	return out, err
}

// SeeStation records a contact.
func (s *Store) SeeStation(ctx context.Context, id string, v hub.Seen) error {
	return s.with(ctx, rw, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE hub_stations SET last_seen = $1, backlog = $2, dead_letters = $3, version = $4, clock_skew_ms = $5,
			acked_seq = greatest(acked_seq, $6), cursor = $7, state_hash = $8 WHERE id = $9`,
			nullTime(v.At), v.Backlog, v.DeadLetters, v.Version, v.ClockSkew.Milliseconds(), v.AckedThrough, v.Cursor, v.StateHash, id)
		return err
	})
}

// PutRecords stores records, deduplicating by (station, id). Concurrent senders of the same key are
// safe: the insert either wins or finds the held row.
func (s *Store) PutRecords(ctx context.Context, recs []hub.Record) ([]string, error) {
	out := make([]string, len(recs))
	err := s.with(ctx, rw, func(tx pgx.Tx) error {
		for i, r := range recs {
			tag, err := tx.Exec(ctx, `INSERT INTO hub_records (station_id, id, seq, kind, occurred_at, payload, payload_sha256, application_id, received_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (station_id, id) DO NOTHING`,
				r.StationID, r.ID, r.Seq, r.Kind, r.OccurredAt.UTC(), string(r.Payload), r.PayloadSHA256, r.ApplicationID, r.ReceivedAt.UTC())
			if err != nil {
				return fmt.Errorf("put record %s/%s: %w", r.StationID, r.ID, err)
			}
			if tag.RowsAffected() == 1 {
				out[i] = protocol.StatusStored
				continue
			}
			var heldHash, heldKind string
			if err := tx.QueryRow(ctx, `SELECT payload_sha256, kind FROM hub_records WHERE station_id = $1 AND id = $2`, r.StationID, r.ID).Scan(&heldHash, &heldKind); err != nil {
				return err
			}
			if heldHash == r.PayloadSHA256 && heldKind == r.Kind {
				out[i] = protocol.StatusDuplicate
				continue
			}
			if _, err := tx.Exec(ctx, `INSERT INTO hub_conflicts (station_id, id, seq, kind, payload, payload_sha256, held_sha256, received_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING`, r.StationID, r.ID, r.Seq, r.Kind, string(r.Payload), r.PayloadSHA256,
				heldHash, r.ReceivedAt.UTC()); err != nil {
				return err
			}
			out[i] = protocol.StatusConflict
		}
		return nil
	})
	return out, err
}

const recordSelect = `SELECT station_id, id, seq, kind, occurred_at, payload, payload_sha256, application_id, received_at FROM hub_records`

func scanRecord(r pgx.Row) (hub.Record, error) {
	var rec hub.Record
	var payload string
	err := r.Scan(&rec.StationID, &rec.ID, &rec.Seq, &rec.Kind, &rec.OccurredAt, &payload, &rec.PayloadSHA256, &rec.ApplicationID, &rec.ReceivedAt)
	rec.Payload, rec.OccurredAt, rec.ReceivedAt = json.RawMessage(payload), rec.OccurredAt.UTC(), rec.ReceivedAt.UTC()
	return rec, err
}

// Records returns records in (station, seq) order.
func (s *Store) Records(ctx context.Context, f hub.RecordFilter) ([]hub.Record, error) {
	var out []hub.Record
	limit := int64(f.Limit)
	if limit <= 0 {
		limit = 1 << 62
	}
	err := s.with(ctx, readOnly, func(tx pgx.Tx) error {
		kinds := f.Kinds
		if kinds == nil {
			kinds = []string{}
		}
		var err error
		out, err = queryAll(ctx, tx, scanRecord, recordSelect+` WHERE ($1 = '' OR station_id = $1) AND ($2 = '' OR application_id = $2)
			AND (cardinality($3::text[]) = 0 OR kind = ANY($3)) ORDER BY station_id, seq LIMIT $4`, f.StationID, f.ApplicationID, kinds, limit)
		return err
	})
	return out, err
}

func scanConflict(r pgx.Row) (hub.Conflict, error) {
	var c hub.Conflict
	var payload string
	err := r.Scan(&c.StationID, &c.ID, &c.Seq, &c.Kind, &payload, &c.PayloadSHA256, &c.HeldSHA256, &c.ReceivedAt)
	c.Payload, c.ReceivedAt = json.RawMessage(payload), c.ReceivedAt.UTC()
	return c, err
}

// Conflicts returns quarantined conflicts.
func (s *Store) Conflicts(ctx context.Context, stationID string) ([]hub.Conflict, error) {
	var out []hub.Conflict
	err := s.with(ctx, readOnly, func(tx pgx.Tx) error {
		var err error
		out, err = queryAll(ctx, tx, scanConflict, `SELECT station_id, id, seq, kind, payload, payload_sha256, held_sha256, received_at FROM hub_conflicts
			WHERE $1 = '' OR station_id = $1 ORDER BY received_at, station_id, id`, stationID)
		return err
	})
	return out, err
}

// ApplicationRecord returns the intake record of an application.
func (s *Store) ApplicationRecord(ctx context.Context, stationID, applicationID string) (hub.Record, error) {
	var rec hub.Record
	err := s.with(ctx, readOnly, func(tx pgx.Tx) error {
		var err error
		rec, err = scanRecord(tx.QueryRow(ctx, recordSelect+` WHERE station_id = $1 AND application_id = $2 AND kind = $3`,
			stationID, applicationID, string(station.CmdApplicationIntake)))
		if errors.Is(err, pgx.ErrNoRows) {
			return station.Errorf(station.ENOTFOUND, "数据中心没有该站点的这件办件")
		}
		return err
	})
	return rec, err
}

// Publish appends a change to the feed, serialized with every other publish.
func (s *Store) Publish(ctx context.Context, stationID string, c station.Change, at time.Time) (int64, error) {
	body, err := json.Marshal(c)
	if err != nil {
		return 0, err
	}
	var seq int64
	err = s.with(ctx, rw, func(tx pgx.Tx) error {
		seq, err = publish(ctx, tx, stationID, c.Key, c.Version, body, at)
		return err
	})
	return seq, err
}

// publish appends a change (encoded as body) to the feed in tx, after taking the publish lock, unless
// it is the same as the key's latest change for that audience: then it returns that change's position.
func publish(ctx context.Context, tx pgx.Tx, stationID, key, version string, body []byte, at time.Time) (int64, error) {
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, publishLock); err != nil {
		return 0, err
	}
	var seq int64
	var latest string
	err := tx.QueryRow(ctx, `SELECT seq, body FROM hub_feed WHERE station_id = $1 AND key = $2 ORDER BY seq DESC LIMIT 1`,
		stationID, key).Scan(&seq, &latest)
	switch {
	case err == nil && latest == string(body):
		return seq, nil
	case err != nil && !errors.Is(err, pgx.ErrNoRows):
		return 0, err
	}
	err = tx.QueryRow(ctx, `INSERT INTO hub_feed (station_id, key, version, body, published_at) VALUES ($1, $2, $3, $4, $5) RETURNING seq`,
		stationID, key, version, string(body), at.UTC()).Scan(&seq)
	return seq, err
}

// Changes returns a page of a station's feed in one repeatable-read snapshot.
func (s *Store) Changes(ctx context.Context, stationID string, after int64, limit int) (hub.FeedPage, error) {
	page := hub.FeedPage{Next: after}
	err := s.with(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT seq, body FROM hub_feed f WHERE station_id IN ('', $1) AND seq > $2
			AND seq = (SELECT max(seq) FROM hub_feed g WHERE g.key = f.key AND g.station_id IN ('', $1))
			ORDER BY seq LIMIT $3`, stationID, after, limit+1)
		if err != nil {
			return err
		}
		for rows.Next() {
			var seq int64
			var body string
			if err := rows.Scan(&seq, &body); err != nil {
				rows.Close()
				return err
			}
			if len(page.Changes) == limit {
				page.More = true
				break
			}
			var c station.Change
			if err := json.Unmarshal([]byte(body), &c); err != nil {
				rows.Close()
				return fmt.Errorf("feed %d: %w", seq, err)
			}
			page.Changes = append(page.Changes, c)
			page.Next = seq
		}
		rows.Close()
		if err := rows.Err(); err != nil || page.More {
			return err
		}
		rows, err = tx.Query(ctx, `SELECT key, version FROM hub_feed f WHERE station_id IN ('', $1) AND seq <= $2
			AND seq = (SELECT max(seq) FROM hub_feed g WHERE g.key = f.key AND g.station_id IN ('', $1) AND g.seq <= $2)`, stationID, page.Next)
		if err != nil {
			return err
		}
		defer rows.Close()
		items := map[string]string{}
		for rows.Next() {
			var k, v string
			if err := rows.Scan(&k, &v); err != nil {
				return err
			}
			items[k] = v
		}
		page.Hash = station.StateHash(items)
		return rows.Err()
	})
	if err != nil {
		return page, fmt.Errorf("changes: %w", err)
	}
	return page, nil
}
