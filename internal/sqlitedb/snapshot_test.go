package sqlitedb_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/civic-station/station/internal/sqlitedb"
)

// A snapshot taken while a writer goes on holds every row committed before it, is private, and
// refuses to overwrite a file; upgrade backups keep the newest few of their name only.
func TestSnapshotCopiesTheLiveDatabase(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	src := filepath.Join(dir, "live.db")
	db, err := sqlitedb.Open(ctx, src, sqlitedb.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Write.Exec(`CREATE TABLE t (n INTEGER)`); err != nil {
		t.Fatal(err)
	}
	for i := range 500 {
		if _, err := db.Write.Exec(`INSERT INTO t VALUES (?)`, i); err != nil {
			t.Fatal(err)
		}
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { // the writer goes on
		defer close(done)
		for i := 500; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			db.Write.Exec(`INSERT INTO t VALUES (?)`, i)
		}
	}()
	dst := filepath.Join(dir, "copy.db")
	err = sqlitedb.Snapshot(ctx, src, dst)
	close(stop)
	<-done
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(dst); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("the copy: %v %v", fi, err)
	}
	cp, err := sql.Open("sqlite", "file:"+dst+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	var n, top int
	if err := cp.QueryRow(`SELECT count(*), max(n) FROM t`).Scan(&n, &top); err != nil {
		t.Fatal(err)
	}
	cp.Close()
	if n < 500 || top != n-1 {
		t.Fatalf("the copy holds %d rows up to %d: want at least the 500 committed before, and no gap", n, top)
	}
	if err := sqlitedb.Snapshot(ctx, src, dst); err == nil {
		t.Fatal("a snapshot overwrote an existing file")
	}

	backups := filepath.Join(dir, "upgrade-backups")
	other := filepath.Join(backups, "hub-schema0001-old.db")
	if err := os.MkdirAll(backups, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(other, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for v := range 5 {
		if _, err := sqlitedb.UpgradeBackup(ctx, src, backups, "station", v, 3); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond) // distinct names and times
	}
	kept, _ := filepath.Glob(filepath.Join(backups, "station-schema*.db"))
	if len(kept) != 3 {
		t.Fatalf("kept %v, want the newest 3", kept)
	}
	for _, want := range []string{"station-schema0004-", "station-schema0003-", "station-schema0002-"} {
		found := false
		for _, k := range kept {
			found = found || filepath.Base(k)[:len(want)] == want
		}
		if !found {
			t.Errorf("%s* not kept: %v", want, kept)
		}
	}
	if _, err := os.Stat(other); err != nil {
		t.Errorf("another store's backup was pruned: %v", err)
	}
}
