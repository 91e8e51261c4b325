// Package sqlitedb opens a SQLite store the way every store in this module opens one (the station's,
// station/sqlite, and the hub's, syncer/hub/sqlite): a modernc.org/sqlite database in WAL mode with a
// busy timeout and foreign keys on, one writer connection whose transactions begin IMMEDIATE and a pool
// of query-only readers; and it brings the store's schema up to date from numbered .sql migrations
// embedded in the binary (Schema.Migrate).
package sqlitedb

import (
	"context"
	"database/sql"
	"errors"
	"net/url"
	"os"
	"strings"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// BusyTimeout is the pragma every connection Open makes runs first: a statement that finds the database
// locked waits up to 10 s for the lock instead of failing at once. Connections a store opens for itself
// (a snapshot's, a checkpointer's) use it too.
const BusyTimeout = "busy_timeout(10000)"

// DSN returns the modernc.org/sqlite data source name of the database file at path: each pragma becomes
// a _pragma parameter (the driver runs them in order on every new connection), then each param
// ("_txlock=immediate", "mode=ro") follows as it is; empty params are skipped.
func DSN(path string, pragmas []string, params ...string) string {
	q := url.Values{}
	for _, p := range pragmas {
		q.Add("_pragma", p)
	}
	var b strings.Builder
	b.WriteString("file:" + path + "?" + q.Encode())
	for _, p := range params {
		if p != "" {
			b.WriteString("&" + p)
		}
	}
	return b.String()
}

// Config says how Open opens a database beyond what every store shares.
type Config struct {
	// Synchronous is the synchronous pragma's level on every connection: "FULL" (the default: every
	// commit is fsynced) or "NORMAL" (in WAL mode a crash can lose the last commits but never corrupts
	// the file; for a store whose commands another log has already made durable).
	Synchronous string
	// WriterPragmas run on the writer's connection after journal_mode(WAL) and before the shared ones
	// (temp_store(MEMORY), wal_autocheckpoint(0)).
	WriterPragmas []string
	// Readers is the size of the reader pool: that many connections at most, all kept open
	// (default 4).
	Readers int
	// ReadOnly opens the readers alone, for a database another process writes: no writer, and the file
	// is neither created nor migrated.
	ReadOnly bool
}

// DB is a database opened by Open: the single writer and the pool of readers.
type DB struct {
	// Write is one connection, never closed for age or idleness; its transactions begin IMMEDIATE, so
	// a transaction takes the write lock when it starts and never fails to upgrade a read lock
	// halfway. Nil when opened ReadOnly.
	Write *sql.DB
	// Read is a pool of Config.Readers query_only connections: they cannot change the database.
	Read *sql.DB
}

// Open opens the database at path as one writer and a pool of readers. Unless ReadOnly it first creates
// the file owner-only (mode 0600; SQLite's -wal and -shm files take the same mode) when it does not
// exist, and makes sure the writer connects (a file that is not a database fails here). Every
// connection runs BusyTimeout, foreign_keys(1) and synchronous(Config.Synchronous); the writer also
// journal_mode(WAL) and Config.WriterPragmas, the readers query_only(1). The errors are the file
// system's or the driver's; the caller says which store failed to open.
func Open(ctx context.Context, path string, c Config) (*DB, error) {
	if c.Synchronous == "" {
		c.Synchronous = "FULL"
	}
	if c.Readers <= 0 {
		c.Readers = 4
	}
	shared := []string{BusyTimeout, "foreign_keys(1)", "synchronous(" + c.Synchronous + ")"}
	db := &DB{}
	if !c.ReadOnly {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			return nil, err
		}
		f.Close()
		pragmas := append(append([]string{"journal_mode(WAL)"}, c.WriterPragmas...), shared...)
		if db.Write, err = sql.Open("sqlite", DSN(path, pragmas, "_txlock=immediate")); err != nil {
			return nil, err
		}
		db.Write.SetMaxOpenConns(1)
		db.Write.SetMaxIdleConns(1)
		db.Write.SetConnMaxLifetime(0)
		db.Write.SetConnMaxIdleTime(0)
		if err := db.Write.PingContext(ctx); err != nil {
			db.Write.Close()
			return nil, err
		}
	}
	read, err := sql.Open("sqlite", DSN(path, append([]string{"query_only(1)"}, shared...)))
	if err != nil {
		db.Close()
		return nil, err
	}
	read.SetMaxOpenConns(c.Readers)
	read.SetMaxIdleConns(c.Readers)
	db.Read = read
	return db, nil
}

// Close closes the readers and the writer.
func (db *DB) Close() error {
	var errs []error
	if db.Read != nil {
		errs = append(errs, db.Read.Close())
	}
	if db.Write != nil {
		errs = append(errs, db.Write.Close())
	}
	return errors.Join(errs...)
}
