package sqlite

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/civic-station/station/station"
	"github.com/civic-station/station/station/datakey"
)

// The previous release's data directory (station.db at schema 5 and its data key), made by running
// `station run --demo` of commit 11972b2 (the release of 2026-11-25) and compacting the database.
const previousRelease = "testdata/release-2026-11-25"

// copyFixture copies the previous release's database and key into a fresh directory.
func copyFixture(t *testing.T) (dbPath, keyPath string) {
	t.Helper()
	dir := t.TempDir()
	for _, name := range []string{"station.db", "datakey"} {
		b, err := os.ReadFile(filepath.Join(previousRelease, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, "station.db"), filepath.Join(dir, "datakey")
}

// tableDigest is every user table of a database with its columns, row count and a hash of its rows in
// a total order, read with a plain connection so that it does not depend on the store's code.
type tableDigest struct {
	columns []string
	rows    int
	sum     string
}

func digestTables(t *testing.T, path string, columns map[string][]string) map[string]tableDigest {
	t.Helper()
	raw, err := sql.Open("sqlite", dsn(path, nil, "mode=ro"))
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if columns == nil {
		columns = map[string][]string{}
		rows, err := raw.Query(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`)
		if err != nil {
			t.Fatal(err)
		}
		var tables []string
		for rows.Next() {
			var n string
			rows.Scan(&n)
			tables = append(tables, n)
		}
		rows.Close()
		for _, tbl := range tables {
			cr, err := raw.Query(`SELECT name FROM pragma_table_info(?)`, tbl)
			if err != nil {
				t.Fatal(err)
			}
			for cr.Next() {
				var c string
				cr.Scan(&c)
				columns[tbl] = append(columns[tbl], c)
			}
			cr.Close()
		}
	}
	out := map[string]tableDigest{}
	for tbl, cols := range columns {
		quoted := make([]string, len(cols))
		order := make([]string, len(cols))
		for i, c := range cols {
			quoted[i] = `"` + c + `"`
			order[i] = fmt.Sprint(i + 1)
		}
		rows, err := raw.Query(`SELECT ` + strings.Join(quoted, ", ") + ` FROM "` + tbl + `" ORDER BY ` + strings.Join(order, ", "))
		if err != nil {
			t.Fatalf("%s: %v", tbl, err)
		}
		h := sha256.New()
		n := 0
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(h, "%q\n", vals)
			n++
		}
		rows.Close()
		out[tbl] = tableDigest{columns: cols, rows: n, sum: hex.EncodeToString(h.Sum(nil))}
	}
	return out
}

func columnsOf(d map[string]tableDigest) map[string][]string {
	m := map[string][]string{}
	for tbl, td := range d {
		m[tbl] = td.columns
	}
	return m
}

// TestUpgradeFromThePreviousReleaseKeepsEveryRecord opens the previous release's database with this
// program: every pending migration applies, a snapshot of the old database is kept, every row of every
// old table reads back the same in its old columns, the audit chain still verifies, and the sealed ID
// numbers still open with the station's key.
func TestUpgradeFromThePreviousReleaseKeepsEveryRecord(t *testing.T) {
	ctx := context.Background()
	path, keyPath := copyFixture(t)
	before := digestTables(t, path, nil)
	if before["applications"].rows == 0 || before["residents"].rows == 0 || before["audit_log"].rows == 0 {
		t.Fatalf("the fixture holds too little to prove anything: %+v", before)
	}

	db, err := Open(ctx, path)
	if err != nil {
		t.Fatalf("upgrade: %v", err)
	}
	defer db.Close()
	if v, err := db.SchemaVersion(ctx); err != nil || v != SchemaVersion() || v <= 5 {
		t.Fatalf("schema version after the upgrade: %d %v; want %d", v, err, SchemaVersion())
	}

	after := digestTables(t, path, columnsOf(before))
	for tbl, b := range before {
		if tbl == "schema_migrations" { // grows by the migrations applied
			continue
		}
		if a := after[tbl]; a.rows != b.rows || a.sum != b.sum {
			t.Errorf("%s: %d rows (%s…) before, %d rows (%s…) after", tbl, b.rows, b.sum[:8], a.rows, a.sum[:8])
		}
	}

	snaps, _ := filepath.Glob(filepath.Join(UpgradeBackupDir(path), "station-schema0005-*.db"))
	if len(snaps) != 1 {
		t.Fatalf("pre-upgrade snapshots: %v", snaps)
	}
	if fi, err := os.Stat(snaps[0]); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("snapshot mode: %v %v", fi, err)
	}
	snapped := digestTables(t, snaps[0], nil)
	if len(snapped) != len(before) {
		t.Fatalf("the snapshot has %d tables, the old database %d", len(snapped), len(before))
	}
	for tbl, b := range before {
		if s := snapped[tbl]; s.sum != b.sum {
			t.Errorf("snapshot %s differs from the old database", tbl)
		}
	}

	if rep, err := db.VerifyAudit(ctx); err != nil || !rep.OK || rep.Entries != int64(before["audit_log"].rows) {
		t.Fatalf("audit after the upgrade: %+v %v", rep, err)
	}
	key, err := datakey.Load(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	apps, total, err := db.Applications(ctx, station.ApplicationFilter{Limit: 100})
	if err != nil || total != before["applications"].rows || len(apps) != total {
		t.Fatalf("applications: %d of %d, %v", len(apps), total, err)
	}
	for _, a := range apps {
		n, err := key.Open(a.Applicant.IDNumber)
		if err != nil || len(n) < 6 || key.Index(a.Applicant.IDNumber.Type, n) != a.Applicant.IDNumber.Index {
			t.Fatalf("application %s: the sealed ID number does not open after the upgrade: %v", a.Number, err)
		}
		if a.Deferral != nil {
			t.Fatalf("application %s: an old application reads as 容缺受理 after the upgrade: %+v", a.Number, a.Deferral)
		}
	}

	// Opening again is a no-op: nothing pending, no second snapshot.
	db.Close()
	db2, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	db2.Close()
	if snaps, _ := filepath.Glob(filepath.Join(UpgradeBackupDir(path), "*.db")); len(snaps) != 1 {
		t.Fatalf("a second open snapshotted again: %v", snaps)
	}
}

// brokenSchema is this program's migrations plus two more, the second of which fails halfway.
func brokenSchema(t *testing.T) fs.FS {
	t.Helper()
	m := fstest.MapFS{}
	names, err := migrationNames(migrationFS)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		b, _ := fs.ReadFile(migrationFS, n)
		m[n] = &fstest.MapFile{Data: b}
	}
	m["migrations/9998_fine.sql"] = &fstest.MapFile{Data: []byte(`CREATE TABLE upgrade_probe (a TEXT) STRICT; INSERT INTO upgrade_probe VALUES ('x');`)}
	m["migrations/9999_broken.sql"] = &fstest.MapFile{Data: []byte(`UPDATE residents SET name = 'changed'; INSERT INTO no_such_table VALUES (1);`)}
	return m
}

// TestAFailedMigrationLeavesTheDatabaseUnchanged upgrades the previous release's database with a
// migration set whose last step fails after earlier steps and statements succeeded: Open refuses with
// a MigrationError naming the step, the database is byte-for-byte the old one in every table, and the
// program's real migrations still open it afterwards.
func TestAFailedMigrationLeavesTheDatabaseUnchanged(t *testing.T) {
	ctx := context.Background()
	path, _ := copyFixture(t)
	before := digestTables(t, path, nil)

	_, err := Open(ctx, path, func(o *options) { o.schema = brokenSchema(t) })
	var me *MigrationError
	if !errors.As(err, &me) || me.Name != "9999_broken.sql" || me.From != 5 {
		t.Fatalf("want a MigrationError for 9999_broken.sql from schema 5, got %v", err)
	}
	if !strings.Contains(err.Error(), "数据库保持原样") {
		t.Fatalf("message: %v", err)
	}
	after := digestTables(t, path, nil)
	if len(after) != len(before) {
		t.Fatalf("tables: %d before, %d after the failed upgrade", len(before), len(after))
	}
	for tbl, b := range before {
		if a := after[tbl]; a.sum != b.sum || strings.Join(a.columns, ",") != strings.Join(b.columns, ",") {
			t.Errorf("%s changed although the upgrade failed", tbl)
		}
	}
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatalf("the real migrations after a failed upgrade: %v", err)
	}
	db.Close()
}

// TestANewerDatabaseIsRefused: a database that holds a migration this program lacks (written by a newer
// version) is not opened, so an older binary never writes to a newer schema.
func TestANewerDatabaseIsRefused(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "station.db")
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	// A newer program's migration, recorded as that program would have.
	if _, err := db.write.ExecContext(ctx, `INSERT INTO schema_migrations VALUES ('migrations/9998_fine.sql', 't')`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	_, err = Open(ctx, path)
	var ne *SchemaNewerError
	if !errors.As(err, &ne) || ne.Database != 9998 || ne.Program != SchemaVersion() || len(ne.Unknown) != 1 {
		t.Fatalf("want SchemaNewerError 9998 > %d, got %v", SchemaVersion(), err)
	}
	if !strings.Contains(err.Error(), "请安装新版本") {
		t.Fatalf("message: %v", err)
	}
}

// TestOnlyTheNewestUpgradeSnapshotsAreKept: a fresh database is not snapshotted, and of many
// pre-upgrade snapshots only the newest keepUpgradeBackups stay.
func TestOnlyTheNewestUpgradeSnapshotsAreKept(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "station.db")
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(UpgradeBackupDir(path)); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("a fresh database was snapshotted: %v", err)
	}
	for i := 0; i < keepUpgradeBackups+2; i++ {
		if _, err := db.upgradeSnapshot(ctx, i); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	snaps, _ := filepath.Glob(filepath.Join(UpgradeBackupDir(path), "*.db"))
	if len(snaps) != keepUpgradeBackups {
		t.Fatalf("kept %d snapshots: %v", len(snaps), snaps)
	}
	for _, s := range snaps {
		if strings.Contains(s, "schema0000-") || strings.Contains(s, "schema0001-") {
			t.Fatalf("an old snapshot was kept: %s", s)
		}
	}
}
