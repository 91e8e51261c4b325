package sqlite

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"

	"github.com/civic-station/station/internal/sqlitedb"
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
func SchemaVersion() int { return sqlitedb.Schema{FS: migrationFS}.Version() }

// SchemaVersion returns the open database's schema version: the number of its newest applied
// migration (0 for an empty database).
func (db *DB) SchemaVersion(ctx context.Context) (int, error) {
	_, v, err := sqlitedb.Applied(ctx, db.read)
	if err != nil {
		return 0, fmt.Errorf("schema version: %w", err)
	}
	return v, nil
}

// migrate brings the schema up to date from fsys. A database that already holds data is first
// snapshotted into UpgradeBackupDir; then every pending migration runs in one transaction, so a failure
// anywhere leaves the database as it was. A database with migrations fsys lacks is refused
// (SchemaNewerError).
func (db *DB) migrate(ctx context.Context, fsys fs.FS) error {
	schema := sqlitedb.Schema{FS: fsys, OneTransaction: true, BeforeUpgrade: func(ctx context.Context, from, to int) error {
		snap, err := db.upgradeSnapshot(ctx, from)
		if err != nil {
			return fmt.Errorf("升级前备份失败，数据库未改动 / the pre-upgrade backup failed, the database is unchanged: %w", err)
		}
		db.logger.Info("database upgrade: snapshot taken", "from", from, "to", to, "snapshot", snap)
		return nil
	}}
	up, err := schema.Migrate(ctx, db.write)
	var ne *sqlitedb.NewerError
	var me *sqlitedb.MigrationError
	switch {
	case errors.As(err, &ne):
		return &SchemaNewerError{Database: ne.Database, Program: ne.Program, Unknown: ne.Unknown}
	case errors.As(err, &me):
		return &MigrationError{Name: strings.TrimPrefix(me.Name, "migrations/"), From: me.From, Err: me.Err}
	case err != nil:
		return err
	}
	if up.Existing && len(up.Applied) > 0 {
		db.logger.Info("database upgraded", "from", up.From, "to", up.To, "migrations", len(up.Applied))
	}
	return nil
}

// upgradeSnapshot copies the database into UpgradeBackupDir as it is before a migration (fsynced), keeps
// the newest keepUpgradeBackups snapshots, and returns the new one's path.
func (db *DB) upgradeSnapshot(ctx context.Context, from int) (string, error) {
	return sqlitedb.UpgradeBackup(ctx, db.path, UpgradeBackupDir(db.path), "station", from, keepUpgradeBackups)
}
