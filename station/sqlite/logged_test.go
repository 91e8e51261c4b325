package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/civic-station/station/station"
)

func TestRestoreFromReplacesTheLiveDatabase(t *testing.T) {
	src := newFixture(t)
	for i := range 5 {
		src.intake("MZ-001", validNumber(i))
	}
	snap := filepath.Join(t.TempDir(), "snap.db")
	if err := src.db.SnapshotTo(context.Background(), snap); err != nil {
		t.Fatal(err)
	}
	dst := newFixture(t)
	dst.intake("MZ-001", validNumber(99))
	if err := dst.db.RestoreFrom(context.Background(), snap); err != nil {
		t.Fatal(err)
	}
	_, n, err := dst.db.Applications(context.Background(), station.ApplicationFilter{Limit: 1})
	if err != nil || n != 5 {
		t.Fatalf("after the restore: %d applications (%v), want the snapshot's 5", n, err)
	}
}
