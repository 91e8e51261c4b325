package sqlitedb

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Schema is a store's schema as numbered migrations: the files migrations/NNNN_what.sql of FS, applied
// in the order of their numbers, forward only, each recorded by its name (migrations/NNNN_what.sql) in
// the table schema_migrations. The schema version is the number of the newest migration.
type Schema struct {
	FS fs.FS
	// OneTransaction applies every pending migration in one transaction, so that a failure anywhere
	// leaves the database exactly as it was before the upgrade and the previous program still runs on
	// it (the station's choice). Otherwise each migration commits in its own transaction, and a
	// failure leaves the database at the last migration that succeeded.
	OneTransaction bool
	// BeforeUpgrade, when set, is called with the schema versions before and after when a database that
	// already holds migrations has some pending, before anything is applied (the station snapshots the
	// database there). Its error stops Migrate and is returned as it is.
	BeforeUpgrade func(ctx context.Context, from, to int) error
}

// Upgrade says what Migrate applied.
type Upgrade struct {
	From    int      // the schema version before (0: an empty database)
	To      int      // the schema version after
	Applied []string // the migrations applied, in order; none when the schema was up to date
	// Existing says that the database held migrations before: an upgrade rather than a new schema.
	Existing bool
}

// NewerError is returned by Migrate when the database holds migrations the Schema lacks: a newer
// program wrote it, and this one must not touch it.
type NewerError struct {
	Database int      // the database's schema version
	Program  int      // the Schema's version
	Unknown  []string // the migrations the database has and the Schema lacks, sorted
}

func (e *NewerError) Error() string {
	return fmt.Sprintf("database schema %d is newer than this program's %d (unknown migrations %s): install the newer version",
		e.Database, e.Program, strings.Join(e.Unknown, ", "))
}

// MigrationError is returned by Migrate when a migration failed; its transaction was rolled back.
type MigrationError struct {
	// Name is the migration that failed (migrations/0002_what.sql), or "commit" when the one
	// transaction of every pending migration (Schema.OneTransaction) failed to commit.
	Name string
	From int // the schema version the database is left at
	Err  error
}

func (e *MigrationError) Error() string { return fmt.Sprintf("migrate %s: %v", e.Name, e.Err) }

func (e *MigrationError) Unwrap() error { return e.Err }

// timeFormat is the stores' fixed-width time format, for applied_at.
const timeFormat = "2006-01-02T15:04:05.000000000Z"

// Names returns the Schema's migrations in the order they apply.
func (s Schema) Names() ([]string, error) {
	names, err := fs.Glob(s.FS, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	sort.Slice(names, func(i, j int) bool {
		if a, b := Number(names[i]), Number(names[j]); a != b {
			return a < b
		}
		return names[i] < names[j]
	})
	return names, nil
}

// Version returns the Schema's version: the number of its newest migration (0 when it has none or its
// FS cannot be read).
func (s Schema) Version() int {
	names, err := s.Names()
	if err != nil || len(names) == 0 {
		return 0
	}
	return Number(names[len(names)-1])
}

// Number returns a migration's number: the digits its file name starts with (0 when it starts with
// none).
func Number(name string) int {
	base := strings.TrimPrefix(name, "migrations/")
	n, _ := strconv.Atoi(strings.SplitN(base, "_", 2)[0])
	return n
}

// Applied returns the migrations recorded in db's schema_migrations and the schema version they make
// (0 for none). It fails when the table does not exist: the database is not a migrated store.
func Applied(ctx context.Context, db *sql.DB) (map[string]bool, int, error) {
	rows, err := db.QueryContext(ctx, `SELECT name FROM schema_migrations`)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	applied := map[string]bool{}
	v := 0
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, 0, err
		}
		applied[name] = true
		v = max(v, Number(name))
	}
	return applied, v, rows.Err()
}

// Migrate brings the schema of the database written through db up to date: it applies every migration
// of s the database has not recorded, in order, each recorded in schema_migrations within the
// transaction that applies it (see OneTransaction). A database that holds a migration s lacks is
// refused with a *NewerError and left untouched; a failed migration returns a *MigrationError.
func (s Schema) Migrate(ctx context.Context, db *sql.DB) (Upgrade, error) {
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL) STRICT`); err != nil {
		return Upgrade{}, fmt.Errorf("migrate: %w", err)
	}
	names, err := s.Names()
	if err != nil {
		return Upgrade{}, fmt.Errorf("migrate: %w", err)
	}
	applied, from, err := Applied(ctx, db)
	if err != nil {
		return Upgrade{}, fmt.Errorf("migrate: %w", err)
	}
	up := Upgrade{From: from, To: from, Existing: len(applied) > 0}
	known := map[string]bool{}
	var pending []string
	for _, name := range names {
		known[name] = true
		if !applied[name] {
			pending = append(pending, name)
		}
	}
	var unknown []string
	for name := range applied {
		if !known[name] {
			unknown = append(unknown, name)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return up, &NewerError{Database: from, Program: s.Version(), Unknown: unknown}
	}
	if len(pending) == 0 {
		return up, nil
	}
	if up.Existing && s.BeforeUpgrade != nil {
		if err := s.BeforeUpgrade(ctx, from, Number(pending[len(pending)-1])); err != nil {
			return up, err
		}
	}
	batches := [][]string{pending}
	if !s.OneTransaction {
		batches = nil
		for _, name := range pending {
			batches = append(batches, []string{name})
		}
	}
	for _, batch := range batches {
		if err := s.apply(ctx, db, batch, up.To); err != nil {
			return up, err
		}
		up.Applied = append(up.Applied, batch...)
		for _, name := range batch {
			up.To = max(up.To, Number(name))
		}
	}
	return up, nil
}

// apply runs the migrations of batch in one transaction, recording each; at is the schema version
// the database stays at when it fails.
func (s Schema) apply(ctx context.Context, db *sql.DB, batch []string, at int) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer tx.Rollback()
	now := time.Now().UTC().Format(timeFormat)
	for _, name := range batch {
		body, err := fs.ReadFile(s.FS, name)
		if err == nil {
			_, err = tx.ExecContext(ctx, string(body))
		}
		if err == nil {
			_, err = tx.ExecContext(ctx, `INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)`, name, now)
		}
		if err != nil {
			return &MigrationError{Name: name, From: at, Err: err}
		}
	}
	if err := tx.Commit(); err != nil {
		name := batch[0]
		if s.OneTransaction {
			name = "commit"
		}
		return &MigrationError{Name: name, From: at, Err: err}
	}
	return nil
}
