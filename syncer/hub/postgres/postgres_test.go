package postgres_test

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/civic-station/station/syncer/hub"
	"github.com/civic-station/station/syncer/hub/hubtest"
	"github.com/civic-station/station/syncer/hub/postgres"
)

var dbN atomic.Int64

// TestStore runs the conformance suite against a real PostgreSQL named by STATION_TEST_POSTGRES_URL
// (.ci/postgres.sh starts one); each case gets a fresh database.
func TestStore(t *testing.T) {
	base := os.Getenv("STATION_TEST_POSTGRES_URL")
	if base == "" {
		t.Skip("STATION_TEST_POSTGRES_URL not set; .ci/postgres.sh starts a server")
	}
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	hubtest.Run(t, func(t *testing.T) hub.Store {
		name := fmt.Sprintf("hubtest_%d_%d", os.Getpid(), dbN.Add(1))
		if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _, _ = admin.Exec(ctx, "DROP DATABASE "+name+" WITH (FORCE)") })
		cfg, err := pgx.ParseConfig(base)
		if err != nil {
			t.Fatal(err)
		}
		url := fmt.Sprintf("postgres://%s@%s:%d/%s?sslmode=disable", cfg.User, cfg.Host, cfg.Port, name)
		s, err := postgres.Open(ctx, url, 4)
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}
