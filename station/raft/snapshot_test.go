package raft_test

import (
	"context"
	"database/sql"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/civic-station/station/internal/sqlitedb"
	"github.com/civic-station/station/station"
	sraft "github.com/civic-station/station/station/raft"
)

// bigBox is a box on its own whose store holds mib MiB: a catalog, some applications, and rows of
// incompressible filler beside them (the snapshot copies pages; what the pages hold does not matter
// to it, only how many there are). It returns the box, an empty store's file to start a box from
// again, and the number of filler rows.
func bigBox(tb testing.TB, dir string, mib int) (*box, string, int) {
	tb.Helper()
	b := &box{t: tb, dir: dir, id: "box1"}
	tb.Cleanup(b.stop)
	cfg := sraft.Config{SoloTiming: sraft.SoloTiming}
	b.start(cfg)
	empty := filepath.Join(dir, "empty.db")
	if err := b.db.SnapshotTo(context.Background(), empty); err != nil {
		tb.Fatal(err)
	}
	submit(tb, b.node, command(tb, station.CmdCatalogImport, system, station.CatalogImport{Matters: matters()}))
	for i := range 20 {
		submit(tb, b.node, intake(tb, 9000+i))
	}
	rows := fill(tb, filepath.Join(dir, "station.db"), mib)
	return b, empty, rows
}

// fillRow is the size of one filler row: about a page of SQLite's default 4 KiB, as a scanned page's
// metadata or an audit-heavy day would fill them.
const fillRow = 3800

// fill adds filler rows to the database at path on a connection of its own until the file holds
// about mib MiB, and returns how many rows it added.
func fill(tb testing.TB, path string, mib int) int {
	tb.Helper()
	conn, err := sql.Open("sqlite", sqlitedb.DSN(path, []string{sqlitedb.BusyTimeout, "synchronous(OFF)"}))
	if err != nil {
		tb.Fatal(err)
	}
	defer conn.Close()
	conn.SetMaxOpenConns(1)
	if _, err := conn.Exec(`CREATE TABLE bench_filler (id INTEGER PRIMARY KEY, data BLOB NOT NULL)`); err != nil {
		tb.Fatal(err)
	}
	rng := rand.NewChaCha8([32]byte{7})
	buf := make([]byte, fillRow)
	rows := mib << 20 / (fillRow + 300) // a row, its cell header and the page's slack
	for done := 0; done < rows; {
		tx, err := conn.Begin()
		if err != nil {
			tb.Fatal(err)
		}
		st, err := tx.Prepare(`INSERT INTO bench_filler (data) VALUES (?)`)
		if err != nil {
			tb.Fatal(err)
		}
		for i := 0; i < 2000 && done < rows; i++ {
			rng.Read(buf)
			if _, err := st.Exec(buf); err != nil {
				tb.Fatal(err)
			}
			done++
		}
		st.Close()
		if err := tx.Commit(); err != nil {
			tb.Fatal(err)
		}
	}
	if _, err := conn.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		tb.Fatal(err)
	}
	return rows
}

// fillerRows counts the filler rows in b's store, on its reader.
func fillerRows(tb testing.TB, b *box) int {
	tb.Helper()
	conn, err := sql.Open("sqlite", sqlitedb.DSN(filepath.Join(b.dir, "station.db"), []string{sqlitedb.BusyTimeout}, "mode=ro"))
	if err != nil {
		tb.Fatal(err)
	}
	defer conn.Close()
	var n int
	if err := conn.QueryRow(`SELECT count(*) FROM bench_filler`).Scan(&n); err != nil {
		tb.Fatal(err)
	}
	return n
}

// peak measures the process's resident memory around f: what it held before, and the most it held
// while f ran (Linux's VmHWM, reset through /proc/self/clear_refs first), in MiB. ok is false where
// the peak cannot be reset (not Linux, or /proc not writable).
func peak(tb testing.TB, f func()) (before, most float64, ok bool) {
	tb.Helper()
	ok = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
	before = procMiB(tb, "VmRSS")
	f()
	most = procMiB(tb, "VmHWM")
	return before, most, ok
}

// procMiB reads one of /proc/self/status's memory lines, in MiB (0 where there is none).
func procMiB(tb testing.TB, field string) float64 {
	tb.Helper()
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			kib, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			if err != nil {
				tb.Fatalf("%s: %v", line, err)
			}
			return kib / 1024
		}
	}
	return 0
}

// snapshotRun is what snapshotAndRestore measured: how long each took, the resident memory before and
// at the peak of each (MiB), and the snapshot's size.
type snapshotRun struct {
	snapshot, restore          time.Duration
	rssBefore, snapshotPeak    float64
	restoreBefore, restorePeak float64
	peakKnown                  bool
	snapshotBytes              int64
}

// snapshotAndRestore takes a snapshot of b's store through raft, then starts b again from an empty
// store, which restores it from that snapshot.
func snapshotAndRestore(tb testing.TB, b *box, empty string) snapshotRun {
	tb.Helper()
	var r snapshotRun
	submit(tb, b.node, intake(tb, 9100)) // something new for the snapshot to cover
	r.rssBefore, r.snapshotPeak, r.peakKnown = peak(tb, func() {
		start := time.Now()
		if err := b.node.Raft().Snapshot().Error(); err != nil {
			tb.Fatal(err)
		}
		r.snapshot = time.Since(start)
	})
	snaps, _ := filepath.Glob(filepath.Join(b.dir, "raft", "snapshots", "*", "state.bin"))
	for _, s := range snaps {
		if st, err := os.Stat(s); err == nil {
			r.snapshotBytes = max(r.snapshotBytes, st.Size())
		}
	}
	b.stop()
	for _, suffix := range []string{"", "-wal", "-shm"} {
		os.Remove(filepath.Join(b.dir, "station.db"+suffix))
	}
	copyFile(tb, empty, filepath.Join(b.dir, "station.db"))
	r.restoreBefore, r.restorePeak, _ = peak(tb, func() {
		start := time.Now()
		b.start(sraft.Config{SoloTiming: sraft.SoloTiming})
		r.restore = time.Since(start)
	})
	return r
}

// A store of 256 MiB (64 under the race detector) is snapshotted and restored with the memory of a few dozen pages, not of the
// database: the snapshot is SQLite's online backup into a file that is then streamed, the restore
// streams to a file and copies it in page by page. Everything comes back.
func TestSnapshotAndRestoreOfALargeStoreStayWithinAMemoryBound(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a 256 MiB store")
	}
	mib := 256
	if raceEnabled {
		mib = 64
	}
	b, empty, rows := bigBox(t, boxDir(t), mib)
	apps := countApplications(t, b.db) + 1 // and the one the snapshot is taken after
	r := snapshotAndRestore(t, b, empty)
	t.Logf("snapshot of %d MiB in %v, restore in %v; RSS %.0f MiB before, peak %.0f MiB while snapshotting; %.0f MiB before the restore, peak %.0f MiB",
		r.snapshotBytes>>20, r.snapshot, r.restore, r.rssBefore, r.snapshotPeak, r.restoreBefore, r.restorePeak)
	if r.snapshotBytes < int64(mib)<<20*9/10 {
		t.Fatalf("the snapshot holds %d bytes, want about %d MiB: the test did not measure a large store", r.snapshotBytes, mib)
	}
	if got := fillerRows(t, b); got != rows {
		t.Fatalf("after the restore the store holds %d filler rows, want %d", got, rows)
	}
	if got := countApplications(t, b.db); got != apps {
		t.Fatalf("after the restore the store holds %d applications, want %d", got, apps)
	}
	if !r.peakKnown {
		t.Skip("the peak resident memory cannot be measured here")
	}
	// The bound: 48 MiB, about a fifth of the larger database. Holding it (or its snapshot) in memory
	// once would exceed that five times over; the race detector's shadow memory fits inside it.
	const bound = 48
	if grew := r.snapshotPeak - r.rssBefore; grew > bound {
		t.Errorf("the snapshot grew the resident memory by %.0f MiB, more than %d MiB", grew, bound)
	}
	if grew := r.restorePeak - r.restoreBefore; grew > bound {
		t.Errorf("the restore grew the resident memory by %.0f MiB, more than %d MiB", grew, bound)
	}
}

// BenchmarkSnapshot1GiB measures a snapshot of a store of STATION_BENCH_SNAPSHOT_MB MiB (default 1024)
// through raft, and its restore into an empty store, on the disk of the test's temporary directory,
// beside the floor of the same run: copying the database file and fsyncing the copy. `make
// bench-snapshot` runs it; docs/BENCHMARKS.md has the figures.
func BenchmarkSnapshot1GiB(b *testing.B) {
	mib := 1024
	if s := os.Getenv("STATION_BENCH_SNAPSHOT_MB"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			b.Fatal(err)
		}
		mib = n
	}
	for range b.N {
		dir := b.TempDir()
		fillStart := time.Now()
		bx, empty, _ := bigBox(b, dir, mib)
		b.Logf("built a %d MiB store in %v", mib, time.Since(fillStart))
		start := time.Now()
		copyFile(b, filepath.Join(dir, "station.db"), filepath.Join(dir, "copy.db"))
		syncFile(b, filepath.Join(dir, "copy.db"))
		cp := time.Since(start)
		os.Remove(filepath.Join(dir, "copy.db"))
		r := snapshotAndRestore(b, bx, empty)
		b.ReportMetric(r.snapshot.Seconds(), "snapshot-s")
		b.ReportMetric(r.restore.Seconds(), "restore-s")
		b.ReportMetric(cp.Seconds(), "copy-s")
		b.ReportMetric(r.snapshotPeak-r.rssBefore, "snapshot-peak-growth-MiB")
		b.ReportMetric(r.restorePeak-r.restoreBefore, "restore-peak-growth-MiB")
		b.Logf("snapshot %d MiB: %v (RSS %.0f → peak %.0f MiB); restore at start: %v (RSS %.0f → peak %.0f MiB); cp + fsync of the file: %v",
			r.snapshotBytes>>20, r.snapshot, r.rssBefore, r.snapshotPeak, r.restore, r.restoreBefore, r.restorePeak, cp)
		bx.stop()
	}
}

// syncFile fsyncs the file at path.
func syncFile(tb testing.TB, path string) {
	tb.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		tb.Fatal(err)
	}
}
