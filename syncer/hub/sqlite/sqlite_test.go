package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/civic-station/station/internal/sqlitedb"
	"github.com/civic-station/station/syncer/hub"
	"github.com/civic-station/station/syncer/hub/hubtest"
	"github.com/civic-station/station/syncer/hub/sqlite"
)

func TestStore(t *testing.T) {
	hubtest.Run(t, func(t *testing.T) hub.Store {
		s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "hub.db"))
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

// TestANewerHubDatabaseIsRefused: a hub database that holds a migration this hub lacks (a newer hub
// wrote it) is not opened, so an older hub never writes to a newer schema.
func TestANewerHubDatabaseIsRefused(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "hub.db")
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	raw, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`INSERT INTO schema_migrations VALUES ('migrations/9999_later.sql', 't')`); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	_, err = sqlite.Open(ctx, path)
	var ne *sqlitedb.NewerError
	if !errors.As(err, &ne) || ne.Database != 9999 || !strings.Contains(err.Error(), "open hub store "+path) {
		t.Fatalf("want the newer database refused, got %v", err)
	}
}

// TestAnUpgradeSnapshotsTheHubDatabaseFirst: a hub database from before the console (schema 1, with a
// station in it) is snapshotted as it is before the pending migration runs, and the upgrade keeps it.
func TestAnUpgradeSnapshotsTheHubDatabaseFirst(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "hub.db")
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateToken(ctx, hub.Token{Hash: "h1", StationName: "幸福社区服务站", CreatedAt: time.Now(), ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	// Back to schema 1: the console's migration undone.
	raw, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`DROP TABLE decisions`, `DROP TABLE audit_head`, `DROP TABLE audit_log`, `DROP TABLE sessions`, `DROP TABLE users`,
		`DELETE FROM schema_migrations WHERE name = 'migrations/0002_console.sql'`} {
		if _, err := raw.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	raw.Close()
	if _, err := os.Stat(sqlite.UpgradeBackupDir(path)); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("an upgrade-backups folder before any upgrade: %v", err)
	}

	s, err = sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	snaps, _ := filepath.Glob(filepath.Join(sqlite.UpgradeBackupDir(path), "hub-schema0001-*.db"))
	if len(snaps) != 1 {
		t.Fatalf("snapshots before the upgrade: %v", snaps)
	}
	if fi, err := os.Stat(snaps[0]); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("the snapshot: %v %v", fi, err)
	}
	snap, err := sql.Open("sqlite", "file:"+snaps[0]+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Close()
	var migrations, tokens int
	if err := snap.QueryRow(`SELECT count(*) FROM schema_migrations`).Scan(&migrations); err != nil {
		t.Fatal(err)
	}
	if err := snap.QueryRow(`SELECT count(*) FROM tokens`).Scan(&tokens); err != nil {
		t.Fatal(err)
	}
	if migrations != 1 || tokens != 1 {
		t.Fatalf("the snapshot holds %d migrations and %d tokens, want the database before the upgrade (1, 1)", migrations, tokens)
	}
}
