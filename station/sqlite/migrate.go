package sqlite

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// SchemaNewerError is returned by Open when the database holds migrations this program does not know:
// it was written by a newer version, and an older binary must not touch it (a downgrade needs the
// snapshot taken before the upgrade; see UpgradeBackupDir).
type SchemaNewerError struct {
	Database int      // the database's schema version
	Program  int      // this program's schema version
	Unknown  []string // the migrations the database has and this program lacks
}

func (e *SchemaNewerError) Error() string {
	return fmt.Sprintf("数据库结构版本 %d 比本程序支持的 %d 新（由更新的版本写入）：请安装新版本，或从升级前的备份恢复 / "+
		"database schema %d is newer than this program's %d (unknown migrations %s): install the newer version or restore the pre-upgrade backup",
		e.Database, e.Program, e.Database, e.Program, strings.Join(e.Unknown, ", "))
}

// MigrationError is returned by Open when a migration failed. Every pending migration runs in one
// transaction, so the database is left exactly as it was before the upgrade, and the previous version
// of the program still runs on it.
type MigrationError struct {
	Name string // the migration that failed
	From int    // the schema version the database keeps
	Err  error
}

func (e *MigrationError) Error() string {
	return fmt.Sprintf("数据库升级失败（%s），数据库保持原样（结构版本 %d），旧版本程序仍可使用 / migration %s failed, the database is unchanged at schema %d: %v",
		e.Name, e.From, e.Name, e.From, e.Err)
}

func (e *MigrationError) Unwrap() error { return e.Err }

// keepUpgradeBackups is how many pre-upgrade snapshots Open keeps; older ones are removed.
const keepUpgradeBackups = 3

// UpgradeBackupDir returns the directory where Open keeps the snapshot it takes of the database at
// path before it migrates it: upgrade-backups/ beside the database file.
func UpgradeBackupDir(path string) string {
	return filepath.Join(filepath.Dir(path), "upgrade-backups")
}

// SchemaVersion returns the schema version this program writes: the number of its newest migration.
func SchemaVersion() int {
	names, err := migrationNames(migrationFS)
	if err != nil || len(names) == 0 {
		return 0
	}
	return migrationNumber(names[len(names)-1])
}

// SchemaVersion returns the open database's schema version: the number of its newest applied
// migration (0 for an empty database).
func (db *DB) SchemaVersion(ctx context.Context) (int, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT name FROM schema_migrations`)
	if err != nil {
		return 0, fmt.Errorf("schema version: %w", err)
	}
	defer rows.Close()
	v := 0
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return 0, err
		}
		v = max(v, migrationNumber(name))
	}
	return v, rows.Err()
}

// migrationNames lists the .sql files of a migration tree in the order they apply.
func migrationNames(fsys fs.FS) ([]string, error) {
	names, err := fs.Glob(fsys, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	sort.Slice(names, func(i, j int) bool { return migrationNumber(names[i]) < migrationNumber(names[j]) })
	return names, nil
}

func migrationNumber(name string) int {
	base := strings.TrimPrefix(name, "migrations/")
	n, _ := strconv.Atoi(strings.SplitN(base, "_", 2)[0])
	return n
}

// migrate brings the schema up to date from fsys. A database that already holds data is first
// snapshotted into UpgradeBackupDir; then every pending migration runs in one transaction, so a failure
// anywhere leaves the database as it was. A database with migrations fsys lacks is refused
// (SchemaNewerError).
func (db *DB) migrate(ctx context.Context, fsys fs.FS) error {
	if _, err := db.write.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL) STRICT`); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	names, err := migrationNames(fsys)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	applied, from, err := db.appliedMigrations(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
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
		return &SchemaNewerError{Database: from, Program: migrationNumber(names[len(names)-1]), Unknown: unknown}
	}
	if len(pending) == 0 {
		return nil
	}
	if len(applied) > 0 {
		snap, err := db.upgradeSnapshot(ctx, from)
		if err != nil {
			return fmt.Errorf("升级前备份失败，数据库未改动 / the pre-upgrade backup failed, the database is unchanged: %w", err)
		}
		db.logger.Info("database upgrade: snapshot taken", "from", from, "to", migrationNumber(pending[len(pending)-1]), "snapshot", snap)
	}
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer tx.Rollback()
	at := formatTime(time.Now())
	for _, name := range pending {
		body, err := fs.ReadFile(fsys, name)
		if err == nil {
			_, err = tx.ExecContext(ctx, string(body))
		}
		if err == nil {
			_, err = tx.ExecContext(ctx, `INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)`, name, at)
		}
		if err != nil {
			return &MigrationError{Name: strings.TrimPrefix(name, "migrations/"), From: from, Err: err}
		}
	}
	if err := tx.Commit(); err != nil {
		return &MigrationError{Name: "commit", From: from, Err: err}
	}
	if len(applied) > 0 {
		db.logger.Info("database upgraded", "from", from, "to", migrationNumber(pending[len(pending)-1]), "migrations", len(pending))
	}
	return nil
}

// appliedMigrations returns the names recorded in schema_migrations and the schema version they make.
func (db *DB) appliedMigrations(ctx context.Context) (map[string]bool, int, error) {
	rows, err := db.write.QueryContext(ctx, `SELECT name FROM schema_migrations`)
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
		v = max(v, migrationNumber(name))
	}
	return applied, v, rows.Err()
}

// upgradeSnapshot copies the database into UpgradeBackupDir as it is before a migration (fsynced), keeps
// the newest keepUpgradeBackups snapshots, and returns the new one's path.
func (db *DB) upgradeSnapshot(ctx context.Context, from int) (string, error) {
	dir := UpgradeBackupDir(db.path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	path := filepath.Join(dir, fmt.Sprintf("station-schema%04d-%s.db", from, time.Now().UTC().Format("20060102T150405.000Z")))
	if err := db.SnapshotTo(ctx, path); err != nil {
		return "", err
	}
	if err := os.Chmod(path, 0o600); err != nil {
		os.Remove(path)
		return "", err
	}
	if err := syncFile(path); err != nil {
		os.Remove(path)
		return "", err
	}
	pruneSnapshots(dir, keepUpgradeBackups)
	return path, nil
}

func syncFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	err = f.Sync()
	return errors.Join(err, f.Close())
}

// pruneSnapshots removes all but the newest keep station-schema*.db files of dir.
func pruneSnapshots(dir string, keep int) {
	matches, _ := filepath.Glob(filepath.Join(dir, "station-schema*.db"))
	type snap struct {
		path string
		mod  time.Time
	}
	var snaps []snap
	for _, m := range matches {
		if fi, err := os.Stat(m); err == nil {
			snaps = append(snaps, snap{m, fi.ModTime()})
		}
	}
	sort.Slice(snaps, func(i, j int) bool { return snaps[i].mod.After(snaps[j].mod) })
	for i := keep; i < len(snaps); i++ {
		os.Remove(snaps[i].path)
	}
}
