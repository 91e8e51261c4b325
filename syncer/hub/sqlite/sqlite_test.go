package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

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
