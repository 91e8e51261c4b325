package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"testing"

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
