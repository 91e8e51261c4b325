package sqlite_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/civic-station/station/station"
)

// reportLatency adds p50 and p99 latency metrics (in microseconds) to a benchmark.
func reportLatency(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}

// BenchmarkIntake measures application intake through the store's command path: one transaction per
// command with the domain rows, the timeline event, the audit entry, the outbox record and the command
// record, fsynced (synchronous=FULL), one writer.
func BenchmarkIntake(b *testing.B) {
	f := newFixture(b)
	ctx := context.Background()
	sealed, _ := f.key.Seal(station.IDResident, validNumber(1))
	cmds := make([]station.Command, b.N)
	for i := range cmds {
		cmds[i], _ = station.NewCommand(fmt.Sprintf("bench-%d", i), station.CmdApplicationIntake, f.now, staff, station.ApplicationIntake{
			ApplicationID: fmt.Sprintf("app-%d", i), MatterCode: "MZ-001",
			Applicant: station.Applicant{IDNumber: sealed, IDLast4: "0000", Name: "测试"},
			Materials: []station.MaterialCheck{{Code: "M1", Provided: true}}})
	}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range cmds {
		start := time.Now()
		if _, err := f.db.Submit(ctx, cmds[i]); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	reportLatency(b, lat)
}

// BenchmarkRawInsertBaseline is the floor for BenchmarkIntake: one INSERT of a similar row per
// transaction into a plain table, same pragmas (WAL, synchronous=FULL), same machine, same run.
func BenchmarkRawInsertBaseline(b *testing.B) {
	path := filepath.Join(b.TempDir(), "raw.db")
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=busy_timeout(10000)&_txlock=immediate")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(`CREATE TABLE t (id TEXT PRIMARY KEY, payload TEXT NOT NULL) STRICT`); err != nil {
		b.Fatal(err)
	}
	payload := `{"matter_code":"MZ-001","applicant":{"name":"测试","id_number":{"cipher":"` + strings.Repeat("A", 64) + `"}}}`
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		tx, err := db.Begin()
		if err != nil {
			b.Fatal(err)
		}
		if _, err := tx.Exec(`INSERT INTO t (id, payload) VALUES (?, ?)`, fmt.Sprintf("raw-%d", i), payload); err != nil {
			b.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	reportLatency(b, lat)
}
