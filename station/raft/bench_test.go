package raft_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	hraft "github.com/hashicorp/raft"

	"github.com/civic-station/station/internal/rawinsert"
	"github.com/civic-station/station/station"
	scluster "github.com/civic-station/station/station/cluster"
	"github.com/civic-station/station/station/lantls"
	sraft "github.com/civic-station/station/station/raft"
	"github.com/civic-station/station/station/sqlite"
)

// BenchmarkWritePath measures one application.intake command, acknowledged, on the write paths a
// station can take, beside the floor of a raw fsynced INSERT in the same run, with 1 and with 16
// clients submitting at once. Everything runs on the disk of the test's temporary directory (not
// /dev/shm: the fsyncs are what is measured). `make bench-raft` runs it; docs/BENCHMARKS.md has the
// figures.
//
//   - raw: one INSERT of a row the size of an intake per transaction (internal/rawinsert);
//   - store: sqlite.DB.Submit, the store on its own (synchronous=FULL), as before the log;
//   - raft1-full: through a one-voter raft log, the store still fsyncing each commit;
//   - raft1: through a one-voter raft log, the store trusting the log's fsync (WithLogSynced), the
//     path a station takes;
//   - raft3: three voters in one process on raft's in-memory transport, each with its own log and store
//     on the same disk;
//   - raft3-tls: the same three voters on the station's cluster port (TLS 1.3 with member certificates
//     over loopback TCP), as boxes talk to each other.
func BenchmarkWritePath(b *testing.B) {
	for _, clients := range []int{1, 16} {
		b.Run(fmt.Sprintf("raw/clients=%d", clients), func(b *testing.B) {
			r := rawinsert.Open(b)
			run(b, clients, func() error { r.Insert(b); return nil })
		})
		b.Run(fmt.Sprintf("store/clients=%d", clients), func(b *testing.B) {
			db, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "station.db"))
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			benchSubmit(b, clients, db)
		})
		for _, mode := range []string{"raft1-full", "raft1", "raft3", "raft3-tls"} {
			b.Run(fmt.Sprintf("%s/clients=%d", mode, clients), func(b *testing.B) {
				benchSubmit(b, clients, benchLog(b, mode))
			})
		}
	}
}

// benchLog starts the write path named mode on the disk and returns its log (the leader's).
func benchLog(b *testing.B, mode string) station.Log {
	voters := 1
	if strings.HasPrefix(mode, "raft3") {
		voters = 3
	}
	var opts []sqlite.Option
	if mode != "raft1-full" {
		opts = append(opts, sqlite.WithLogSynced())
	}
	var nodes []*sraft.Node
	var trans []*hraft.InmemTransport
	var addrs, dirs []string
	for i := range voters {
		dir := b.TempDir()
		db, err := sqlite.Open(context.Background(), filepath.Join(dir, "station.db"), opts...)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { db.Close() })
		id := fmt.Sprintf("box%d", i+1)
		var tr hraft.Transport
		if mode == "raft3-tls" {
			ca := ""
			if i > 0 {
				ca = filepath.Join(dirs[0], "tls")
			}
			tr = tlsTransport(b, dir, id, ca)
		} else {
			_, mem := hraft.NewInmemTransport(hraft.ServerAddress(id))
			for j, o := range trans {
				mem.Connect(hraft.ServerAddress(fmt.Sprintf("box%d", j+1)), o)
				o.Connect(hraft.ServerAddress(id), mem)
			}
			trans = append(trans, mem)
			tr = mem
		}
		addrs = append(addrs, string(tr.LocalAddr()))
		dirs = append(dirs, dir)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		n, err := sraft.Open(ctx, sraft.Config{Dir: filepath.Join(dir, "raft"), ID: id, Store: db, Transport: tr, Join: i > 0})
		cancel()
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { n.Close() })
		nodes = append(nodes, n)
	}
	for i := 2; i <= voters; i++ {
		id := fmt.Sprintf("box%d", i)
		if err := nodes[0].AddMember(context.Background(), id, addrs[i-1], true); err != nil {
			b.Fatal(err)
		}
	}
	return nodes[0]
}

// tlsTransport is the cluster port of a box whose files are in dir, on a loopback port of its own,
// with a member certificate from the CA in caDir (created there by the first box; "" for it).
func tlsTransport(b *testing.B, dir, id, caDir string) hraft.Transport {
	tlsDir := filepath.Join(dir, "tls")
	if caDir != "" {
		if err := os.MkdirAll(tlsDir, 0o700); err != nil {
			b.Fatal(err)
		}
		for _, f := range []string{lantls.CACertFile, lantls.CAKeyFile} {
			copyFile(b, filepath.Join(caDir, f), filepath.Join(tlsDir, f))
		}
	}
	creds, err := lantls.EnsureMember(lantls.Options{Dir: tlsDir, CAName: "bench", Now: time.Now()}, id)
	if err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	port := scluster.Listen(ln, ln.Addr().String(), creds, &scluster.Service{Creds: creds, Codes: &scluster.Codes{}}, nil)
	b.Cleanup(func() { port.Close() })
	return port.Transport(nil)
}

var benchSeq atomic.Int64

// benchSubmit imports the catalog into l and measures intakes submitted by clients at once.
func benchSubmit(b *testing.B, clients int, l station.Log) {
	ctx := context.Background()
	if _, err := l.Submit(ctx, command(b, station.CmdCatalogImport, system, station.CatalogImport{Matters: matters()})); err != nil {
		b.Fatal(err)
	}
	sealed, err := key.Seal(station.IDResident, validNumber(1))
	if err != nil {
		b.Fatal(err)
	}
	next := func() station.Command {
		n := int(benchSeq.Add(1))
		// A day's application numbers have four digits: a new day every 5,000 commands.
		at := testAt.AddDate(0, 0, n/5000)
		cmd, err := station.NewCommand(fmt.Sprintf("bench-%d", n), station.CmdApplicationIntake, at, staff, station.ApplicationIntake{
			ApplicationID: fmt.Sprintf("bench-app-%d", n), MatterCode: "MZ-001",
			Applicant: station.Applicant{IDNumber: sealed, IDLast4: "0000", Name: "测试"},
			Materials: []station.MaterialCheck{{Code: "M1", Provided: true}}})
		if err != nil {
			b.Fatal(err)
		}
		return cmd
	}
	run(b, clients, func() error {
		_, err := l.Submit(ctx, next())
		return err
	})
}

// run calls op b.N times from clients goroutines and reports ops/s and the latency's p50 and p99.
func run(b *testing.B, clients int, op func() error) {
	var mu sync.Mutex
	lat := make([]time.Duration, 0, b.N)
	var left atomic.Int64
	left.Store(int64(b.N))
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mine := make([]time.Duration, 0, b.N/clients+1)
			for left.Add(-1) >= 0 {
				t0 := time.Now()
				if err := op(); err != nil {
					b.Error(err)
					return
				}
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	slices.Sort(lat)
	if len(lat) > 0 {
		b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "ops/s")
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
	}
}
