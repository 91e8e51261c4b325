// Package sqlite is the station's store: the domain's tables in an embedded SQLite database
// (modernc.org/sqlite, pure Go), the command applier that changes them, and the queries that read them.
//
// The database runs in WAL mode with synchronous=FULL, foreign keys on, STRICT tables and a busy
// timeout. One connection writes (commands are applied one at a time, each in one transaction that also
// appends the audit entry and the outbox record); a pool of query-only connections reads. Migrations are
// numbered .sql files embedded in the binary, forward only: an upgrade first snapshots the database into
// upgrade-backups/ beside it, then applies every pending migration in one transaction, so a failure leaves
// the old database exactly as it was (see migrate.go). The opening and the migrating are
// internal/sqlitedb's, shared with the hub's store; the snapshots and the checkpointer are this package's.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"time"

	// registers the "sqlite" driver; its online backup makes snapshots

	"github.com/civic-station/station/internal/sqlitedb"
	"github.com/civic-station/station/station"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// timeFormat is fixed-width so that text order is time order.
const timeFormat = "2006-01-02T15:04:05.000000000Z"

func formatTime(t time.Time) string { return t.UTC().Format(timeFormat) }

func parseTime(s string) (time.Time, error) { return time.Parse(timeFormat, s) }

// DB is an open station database.
type DB struct {
	path   string
	write  *sql.DB // one connection: the single writer
	read   *sql.DB // query-only pool
	logger *slog.Logger

	mu      sync.Mutex    // serializes Submit
	applied appliedCache  // what raft_applied holds, under mu (logged.go)
	health  storageHealth // whether the last write failed for a full or failing disk

	stmtMu  sync.Mutex
	stmts   map[string]*sql.Stmt // the writer's prepared statements, by query text
	pending map[string]bool      // queries to prepare on the writer once no transaction holds it

	calMu sync.Mutex
	cal   *station.Calendar // cached calendar; nil after the calendar changes

	space  SpaceGuard    // asked before new input is applied; nil: no reserve
	ckpt   *checkpointer // the background checkpointer under the log; nil otherwise
	schema fs.FS         // the migrations, for a restored snapshot of an older schema
}

// SpaceGuard says whether the disk has room for new input (station/diskspace.Guard implements it):
// Check returns an error (station.ErrDiskLow) when it has not.
type SpaceGuard interface {
	Check() error
}

// Option configures Open.
type Option func(*options)

type options struct {
	logger   *slog.Logger
	readOnly bool
	readers  int
	space    SpaceGuard
	schema   fs.FS // the migrations (migrationFS; tests swap in broken ones)
	logSync  bool  // the replicated log fsyncs each command: commits need not
}

// WithSpaceGuard makes Submit ask g before it applies a command that is new input
// (station.CommandKind.NeedsSpace) and refuse the command with g's error when the disk is short of
// space. Refused commands leave no trace: no domain change, no audit entry, no outbox record.
func WithSpaceGuard(g SpaceGuard) Option { return func(o *options) { o.space = g } }

// WithLogSynced says that every command reaches the store through the replicated log (ApplyLogged),
// which has fsynced it before: the store's commits then skip their own fsync (synchronous=NORMAL in WAL
// mode, still crash-safe: a crash can lose the last commits but never corrupts the file), and after a
// crash the log replays the entries after the last index the store kept. docs/BENCHMARKS.md has the
// measurements behind the choice.
func WithLogSynced() Option { return func(o *options) { o.logSync = true } }

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// ReadOnly opens an existing database for reading only, without migrating it; used by tools such as
// `station audit verify` that run beside a live station.
func ReadOnly() Option { return func(o *options) { o.readOnly = true } }

// Open opens (creating if needed) the database at path and brings its schema up to date.
func Open(ctx context.Context, path string, opts ...Option) (*DB, error) {
	o := options{logger: slog.New(slog.DiscardHandler), readers: max(4, runtime.GOMAXPROCS(0)), schema: migrationFS}
	for _, f := range opts {
		f(&o)
	}
	c := sqlitedb.Config{Readers: o.readers, ReadOnly: o.readOnly, WriterPragmas: []string{"temp_store(MEMORY)"}}
	if o.logSync {
		c.Synchronous = "NORMAL"
		c.WriterPragmas = append(c.WriterPragmas, "wal_autocheckpoint(0)") // checkpointer does it
	}
	conns, err := sqlitedb.Open(ctx, path, c)
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	db := &DB{path: path, write: conns.Write, read: conns.Read, logger: o.logger, stmts: map[string]*sql.Stmt{},
		pending: map[string]bool{}, space: o.space, schema: o.schema}
	if o.readOnly {
		var v int
		if err := db.read.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations`).Scan(&v); err != nil {
			db.Close()
			return nil, fmt.Errorf("open store %s: not a station database: %w", path, err)
		}
		return db, nil
	}
	if err := db.migrate(ctx, o.schema); err != nil {
		db.Close()
		return nil, err
	}
	if o.logSync {
		if db.ckpt, err = startCheckpointer(path); err != nil {
			db.Close()
			return nil, fmt.Errorf("open store %s: %w", path, err)
		}
	}
	return db, nil
}

// Close closes the database.
func (db *DB) Close() error {
	var errs []error
	db.stmtMu.Lock()
	for _, st := range db.stmts {
		errs = append(errs, st.Close())
	}
	db.stmts = map[string]*sql.Stmt{}
	db.stmtMu.Unlock()
	if db.ckpt != nil {
		errs = append(errs, db.ckpt.close())
		db.ckpt = nil
	}
	if db.read != nil {
		errs = append(errs, db.read.Close())
	}
	if db.write != nil {
		errs = append(errs, db.write.Close())
	}
	return errors.Join(errs...)
}

// Path returns the database file path.
func (db *DB) Path() string { return db.path }

// Ready returns nil when the database answers queries and its disk takes writes: after a write failed
// for a full or failing disk it returns station.ErrStoreDegraded until one succeeds.
func (db *DB) Ready(ctx context.Context) error {
	if db.health.failing.Load() {
		return station.ErrStoreDegraded
	}
	var n int
	if err := db.read.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil {
		return fmt.Errorf("store not ready: %w", err)
	}
	if n == 0 {
		return errors.New("store not ready: not migrated")
	}
	return nil
}

// SnapshotTo writes a consistent copy of the whole database to path, which must not exist, while
// writers go on (sqlitedb.Snapshot: SQLite's online backup, the copy created 0600 and written without a
// journal or fsyncs). The caller fsyncs it when it needs to be durable.
func (db *DB) SnapshotTo(ctx context.Context, path string) error {
	return sqlitedb.Snapshot(ctx, db.path, path)
}

// IntegrityCheck runs PRAGMA integrity_check and returns its findings ("ok" when sound).
func (db *DB) IntegrityCheck(ctx context.Context) (string, error) {
	rows, err := db.read.QueryContext(ctx, `PRAGMA integrity_check`)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return "", err
		}
		out = append(out, s)
	}
	return strings.Join(out, "\n"), rows.Err()
}
