package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/civic-station/station/station"
	"github.com/civic-station/station/syncer/hub"
)

// consoleSchema holds the department console's tables: accounts, sessions, the hash-chained audit
// log with its head, and the decisions (at most one per application).
const consoleSchema = `;
CREATE TABLE IF NOT EXISTS hub_users (
	username text PRIMARY KEY, display_name text NOT NULL, role text NOT NULL, department text NOT NULL DEFAULT '',
	password_hash text NOT NULL, disabled boolean NOT NULL DEFAULT false, failed_logins integer NOT NULL DEFAULT 0,
	locked_until timestamptz, created_at timestamptz NOT NULL);
CREATE TABLE IF NOT EXISTS hub_sessions (
	id text PRIMARY KEY, token_hash text NOT NULL UNIQUE, username text NOT NULL REFERENCES hub_users (username),
	created_at timestamptz NOT NULL, last_seen timestamptz NOT NULL, expires_at timestamptz NOT NULL);
CREATE INDEX IF NOT EXISTS hub_sessions_expiry ON hub_sessions (expires_at);
CREATE TABLE IF NOT EXISTS hub_audit_log (
	seq bigint PRIMARY KEY, at timestamptz NOT NULL, actor text NOT NULL, role text NOT NULL, action text NOT NULL,
	object text NOT NULL, result text NOT NULL, detail text NOT NULL, prev_hash text NOT NULL, hash text NOT NULL);
CREATE INDEX IF NOT EXISTS hub_audit_actor ON hub_audit_log (actor, seq);
CREATE INDEX IF NOT EXISTS hub_audit_object ON hub_audit_log (object, seq);
CREATE TABLE IF NOT EXISTS hub_audit_head (id integer PRIMARY KEY CHECK (id = 1), seq bigint NOT NULL, hash text NOT NULL);
INSERT INTO hub_audit_head (id, seq, hash) VALUES (1, 0, '` + station.AuditGenesis + `') ON CONFLICT DO NOTHING;
CREATE TABLE IF NOT EXISTS hub_decisions (
	station_id text NOT NULL, application_id text NOT NULL, action text NOT NULL, reason text NOT NULL,
	department text NOT NULL, decided_at timestamptz NOT NULL, decided_by text NOT NULL, feed_seq bigint NOT NULL,
	PRIMARY KEY (station_id, application_id));
CREATE INDEX IF NOT EXISTS hub_decisions_department ON hub_decisions (department, decided_at);
`

// CreateUser stores a new console account.
func (s *Store) CreateUser(ctx context.Context, u hub.User) error {
	err := s.with(ctx, rw, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO hub_users (username, display_name, role, department, password_hash, disabled, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (username) DO NOTHING`,
			u.Username, u.DisplayName, string(u.Role), u.Department, u.PasswordHash, u.Disabled, u.CreatedAt.UTC())
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return station.Errorf(station.ECONFLICT, "账号%s已存在", u.Username)
		}
		return nil
	})
	return wrap("create user", err)
}

const userSelect = `SELECT username, display_name, role, department, password_hash, disabled, failed_logins, locked_until, created_at FROM hub_users`

func scanUser(r pgx.Row) (hub.User, error) {
	var u hub.User
	var role string
	var locked *time.Time
	err := r.Scan(&u.Username, &u.DisplayName, &role, &u.Department, &u.PasswordHash, &u.Disabled, &u.FailedLogins, &locked, &u.CreatedAt)
	u.Role, u.CreatedAt = hub.Role(role), u.CreatedAt.UTC()
	if locked != nil {
		u.LockedUntil = locked.UTC()
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return u, station.Errorf(station.ENOTFOUND, "账号不存在")
	}
	return u, err
}

// User returns one console account.
func (s *Store) User(ctx context.Context, username string) (hub.User, error) {
	var u hub.User
	err := s.with(ctx, readOnly, func(tx pgx.Tx) error {
		var err error
		u, err = scanUser(tx.QueryRow(ctx, userSelect+` WHERE username = $1`, username))
		return err
	})
	return u, wrap("user", err)
}

// Users returns every console account by username.
func (s *Store) Users(ctx context.Context) ([]hub.User, error) {
	var out []hub.User
	err := s.with(ctx, readOnly, func(tx pgx.Tx) error {
		var err error
		out, err = queryAll(ctx, tx, scanUser, userSelect+` ORDER BY username`)
		return err
	})
	return out, wrap("users", err)
}

// LoginFailed counts a failed login and locks the account after too many in a row.
func (s *Store) LoginFailed(ctx context.Context, username string, at time.Time) (hub.User, error) {
	var u hub.User
	err := s.with(ctx, rw, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE hub_users SET failed_logins = failed_logins + 1 WHERE username = $1`, username); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE hub_users SET failed_logins = 0, locked_until = $1 WHERE username = $2 AND failed_logins >= $3`,
			at.Add(station.LockoutDuration).UTC(), username, station.MaxFailedLogins); err != nil {
			return err
		}
		var err error
		u, err = scanUser(tx.QueryRow(ctx, userSelect+` WHERE username = $1`, username))
		return err
	})
	return u, wrap("login failed", err)
}

// OpenSession stores a session and resets the account's failure count.
func (s *Store) OpenSession(ctx context.Context, sess hub.Session) error {
	err := s.with(ctx, rw, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE hub_users SET failed_logins = 0, locked_until = NULL WHERE username = $1`, sess.Username)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return station.Errorf(station.ENOTFOUND, "账号不存在")
		}
		if _, err := tx.Exec(ctx, `DELETE FROM hub_sessions WHERE expires_at < $1`, sess.CreatedAt.UTC()); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO hub_sessions (id, token_hash, username, created_at, last_seen, expires_at) VALUES ($1, $2, $3, $4, $5, $6)`,
			sess.ID, sess.TokenHash, sess.Username, sess.CreatedAt.UTC(), sess.LastSeen.UTC(), sess.ExpiresAt.UTC())
		return err
	})
	return wrap("open session", err)
}

// Session returns the session with a token hash.
func (s *Store) Session(ctx context.Context, tokenHash string) (hub.Session, error) {
	var sess hub.Session
	err := s.with(ctx, readOnly, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `SELECT id, token_hash, username, created_at, last_seen, expires_at FROM hub_sessions WHERE token_hash = $1`, tokenHash).
			Scan(&sess.ID, &sess.TokenHash, &sess.Username, &sess.CreatedAt, &sess.LastSeen, &sess.ExpiresAt)
		if errors.Is(err, pgx.ErrNoRows) {
			return station.Errorf(station.ENOTFOUND, "会话不存在")
		}
		return err
	})
	sess.CreatedAt, sess.LastSeen, sess.ExpiresAt = sess.CreatedAt.UTC(), sess.LastSeen.UTC(), sess.ExpiresAt.UTC()
	return sess, wrap("session", err)
}

// TouchSession records a request of a session.
func (s *Store) TouchSession(ctx context.Context, id string, at time.Time) error {
	return wrap("touch session", s.with(ctx, rw, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE hub_sessions SET last_seen = $1 WHERE id = $2 AND last_seen < $1`, at.UTC(), id)
		return err
	}))
}

// CloseSession ends a session.
func (s *Store) CloseSession(ctx context.Context, id string) error {
	return wrap("close session", s.with(ctx, rw, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `DELETE FROM hub_sessions WHERE id = $1`, id)
		return err
	}))
}

// AppendAudit appends an entry to the console's audit chain. The head row is locked, so hub processes
// sharing the database append one at a time.
func (s *Store) AppendAudit(ctx context.Context, e station.AuditEntry) (station.AuditEntry, error) {
	err := s.with(ctx, rw, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `SELECT seq, hash FROM hub_audit_head WHERE id = 1 FOR UPDATE`).Scan(&e.Seq, &e.PrevHash); err != nil {
			return err
		}
		e.Seq++
		// The hash covers the time at the precision the database keeps (microseconds).
		e.At = e.At.UTC().Truncate(time.Microsecond)
		e.Hash = e.ComputeHash()
		if _, err := tx.Exec(ctx, `INSERT INTO hub_audit_log (seq, at, actor, role, action, object, result, detail, prev_hash, hash)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
			e.Seq, e.At, e.Actor, string(e.Role), e.Action, e.Object, e.Result, e.Detail, e.PrevHash, e.Hash); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `UPDATE hub_audit_head SET seq = $1, hash = $2 WHERE id = 1`, e.Seq, e.Hash)
		return err
	})
	return e, wrap("append audit", err)
}

func scanAuditEntry(r pgx.Row) (station.AuditEntry, error) {
	var e station.AuditEntry
	var role string
	err := r.Scan(&e.Seq, &e.At, &e.Actor, &role, &e.Action, &e.Object, &e.Result, &e.Detail, &e.PrevHash, &e.Hash)
	e.At, e.Role = e.At.UTC(), station.Role(role)
	return e, err
}

// Audit returns console audit entries in seq order.
func (s *Store) Audit(ctx context.Context, f hub.AuditFilter) ([]station.AuditEntry, error) {
	var out []station.AuditEntry
	limit := int64(f.Limit)
	if limit <= 0 {
		limit = 1 << 62
	}
	err := s.with(ctx, readOnly, func(tx pgx.Tx) error {
		var err error
		out, err = queryAll(ctx, tx, scanAuditEntry, `SELECT seq, at, actor, role, action, object, result, detail, prev_hash, hash FROM hub_audit_log
			WHERE seq > $1 AND ($2 = '' OR actor = $2) AND ($3 = '' OR object = $3) ORDER BY seq LIMIT $4`, f.After, f.Actor, f.Object, limit)
		return err
	})
	return out, wrap("audit", err)
}

// AuditHead returns the head of the console's audit chain.
func (s *Store) AuditHead(ctx context.Context) (int64, string, error) {
	var seq int64
	var hash string
	err := s.with(ctx, readOnly, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT seq, hash FROM hub_audit_head WHERE id = 1`).Scan(&seq, &hash)
	})
	return seq, hash, wrap("audit head", err)
}

// Decide stores a decision and publishes its change, once per application. The decision row is
// inserted first: a concurrent second decision waits on it and then finds it.
func (s *Store) Decide(ctx context.Context, d hub.DecisionRecord, c station.Change, at time.Time) (hub.DecisionRecord, error) {
	body, err := json.Marshal(c)
	if err != nil {
		return d, err
	}
	dec := d.Decision
	err = s.with(ctx, rw, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO hub_decisions (station_id, application_id, action, reason, department, decided_at, decided_by, feed_seq)
			VALUES ($1, $2, $3, $4, $5, $6, $7, 0) ON CONFLICT DO NOTHING`,
			d.StationID, dec.ApplicationID, string(dec.Action), dec.Reason, dec.Department, dec.DecidedAt.UTC(), d.DecidedBy)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return station.Errorf(station.ECONFLICT, "该办件已审批，不能重复审批")
		}
		if d.FeedSeq, err = publish(ctx, tx, d.StationID, c.Key, c.Version, body, at); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE hub_decisions SET feed_seq = $1 WHERE station_id = $2 AND application_id = $3`, d.FeedSeq, d.StationID, dec.ApplicationID)
		return err
	})
	return d, wrap("decide", err)
}

func scanDecision(r pgx.Row) (hub.DecisionRecord, error) {
	var d hub.DecisionRecord
	var action string
	err := r.Scan(&d.StationID, &d.Decision.ApplicationID, &action, &d.Decision.Reason, &d.Decision.Department,
		&d.Decision.DecidedAt, &d.DecidedBy, &d.FeedSeq)
	d.Decision.Action, d.Decision.DecidedAt = station.Action(action), d.Decision.DecidedAt.UTC()
	return d, err
}

// Decisions returns decisions, oldest first.
func (s *Store) Decisions(ctx context.Context, f hub.DecisionFilter) ([]hub.DecisionRecord, error) {
	var out []hub.DecisionRecord
	err := s.with(ctx, readOnly, func(tx pgx.Tx) error {
		var err error
		out, err = queryAll(ctx, tx, scanDecision, `SELECT station_id, application_id, action, reason, department, decided_at, decided_by, feed_seq FROM hub_decisions
			WHERE ($1 = '' OR station_id = $1) AND ($2 = '' OR application_id = $2) AND ($3 = '' OR department = $3)
			ORDER BY decided_at, station_id, application_id`, f.StationID, f.ApplicationID, f.Department)
		return err
	})
	return out, wrap("decisions", err)
}
