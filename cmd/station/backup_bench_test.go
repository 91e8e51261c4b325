package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/civic-station/station/station/datakey"
	"github.com/civic-station/station/station/sqlite"
)

// Backup and restore of a large data directory against cp of the same files, in the same run.
//
//	STATION_BENCH_BACKUP_MB=1024 go test -run '^$' -bench BackupVsCopy -benchtime 1x -timeout 30m ./cmd/station/
//
// The data directory holds a station database grown to a fifth of the size with random bytes and
// 1 MiB blobs of random bytes for the rest (nothing compresses). Each figure is wall time over the
// directory's size; the copy is `cp -a` followed by `sync`, as the backup fsyncs its archive; each step
// starts after a sync, three rounds, medians reported. The backup and the restore run as `station backup` / `station restore` child processes of a binary built
// for the purpose, and their peak RSS is the child's VmHWM read from /proc every 20 ms until it exits.

func BenchmarkBackupVsCopy(b *testing.B) {
	mb := 1024
	if v, err := strconv.Atoi(os.Getenv("STATION_BENCH_BACKUP_MB")); err == nil && v > 0 {
		mb = v
	}
	work := b.TempDir()
	dir := filepath.Join(work, "data")
	size := fillDataDir(b, dir, int64(mb)<<20)
	bin := filepath.Join(work, "station")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		b.Fatalf("build: %v\n%s", err, out)
	}
	b.ResetTimer()
	for range b.N {
		// Three rounds, each step after a sync of its own so that it pays only for its own writes;
		// the medians are reported.
		var cps, bks, rss, docs []time.Duration
		var bkRSS, rsRSS float64
		var archiveSize int64
		for round := range 3 {
			syncAllDisks()
			cpDst := filepath.Join(work, fmt.Sprintf("copy-%d", round))
			d, _ := timeChild(b, "sh", "-c", `cp -a "$0" "$1" && sync`, dir, cpDst)
			cps = append(cps, d)
			os.RemoveAll(cpDst)

			syncAllDisks()
			archive := filepath.Join(work, fmt.Sprintf("backup-%d.stationbak", round))
			d, r := timeChild(b, bin, "backup", "--data", dir, "--to", archive)
			bks, bkRSS = append(bks, d), max(bkRSS, r)

			syncAllDisks()
			restored := filepath.Join(work, fmt.Sprintf("restored-%d", round))
			d, r = timeChild(b, bin, "restore", "--from", archive, "--data", restored, "--key", filepath.Join(dir, "datakey"))
			rss, rsRSS = append(rss, d), max(rsRSS, r)

			// doctor on the same directory (no station runs on it, so its HTTP check fails: exit 1).
			cfg := filepath.Join(work, "doctor.toml")
			os.WriteFile(cfg, []byte("data = \""+dir+"\"\nlisten = \"127.0.0.1:1\"\n"), 0o600)
			d, _ = timeChildExit(b, 1, bin, "doctor", "--config", cfg, "--json", "--no-hub")
			docs = append(docs, d)

			fi, _ := os.Stat(archive)
			archiveSize = fi.Size()
			os.Remove(archive)
			os.RemoveAll(restored)
		}
		cpTime, bkTime, rsTime, docTime := median(cps), median(bks), median(rss), median(docs)
		mbs := func(d time.Duration) float64 { return float64(size) / (1 << 20) / d.Seconds() }
		b.ReportMetric(mbs(cpTime), "cp_MB/s")
		b.ReportMetric(mbs(bkTime), "backup_MB/s")
		b.ReportMetric(mbs(rsTime), "restore_MB/s")
		b.ReportMetric(cpTime.Seconds()/bkTime.Seconds(), "backup/cp")
		b.ReportMetric(cpTime.Seconds()/rsTime.Seconds(), "restore/cp")
		b.ReportMetric(bkRSS, "backup_peak_RSS_MiB")
		b.ReportMetric(rsRSS, "restore_peak_RSS_MiB")
		b.ReportMetric(docTime.Seconds(), "doctor_s")
		b.Logf("data directory %d MiB, archive %d MiB; cp %v, backup %v, restore %v, doctor %v", size>>20, archiveSize>>20, cps, bks, rss, docs)
	}
}

// median is the middle of three or more durations.
func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// syncAllDisks flushes every dirty page, so that the next step is not charged for earlier writes.
func syncAllDisks() { _ = exec.Command("sync").Run() }

// fillDataDir makes a station data directory of about size bytes and returns its size.
func fillDataDir(b *testing.B, dir string, size int64) int64 {
	b.Helper()
	ctx := context.Background()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		b.Fatal(err)
	}
	if _, err := datakey.Load(filepath.Join(dir, "datakey")); err != nil {
		b.Fatal(err)
	}
	db, err := sqlite.Open(ctx, filepath.Join(dir, "station.db"))
	if err != nil {
		b.Fatal(err)
	}
	db.Close()
	// The database's share: random rows in a table of its own, written with the sqlite3-compatible
	// driver the store uses.
	dbBytes := size / 5
	raw, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "station.db")+"?_pragma=busy_timeout(5000)")
	if err != nil {
		b.Fatal(err)
	}
	if _, err := raw.Exec(`CREATE TABLE bench_fill (b BLOB NOT NULL)`); err != nil {
		b.Fatal(err)
	}
	tx, _ := raw.Begin()
	row := make([]byte, 64<<10)
	for n := int64(0); n < dbBytes; n += int64(len(row)) {
		rand.Read(row)
		if _, err := tx.Exec(`INSERT INTO bench_fill VALUES (?)`, row); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	raw.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`)
	raw.Close()
	// The blobs under their SHA-256, as the blob store keeps them (the backup takes a blob by its
	// content address and the restore checks it against that).
	blob := make([]byte, 1<<20)
	for i := int64(0); i < (size-dbBytes)>>20; i++ {
		rand.Read(blob)
		sum := sha256.Sum256(blob)
		name := hex.EncodeToString(sum[:])
		sub := filepath.Join(dir, "blobs", name[:2])
		if err := os.MkdirAll(sub, 0o700); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(sub, name[2:]), blob, 0o600); err != nil {
			b.Fatal(err)
		}
	}
	var total int64
	filepath.Walk(dir, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			total += fi.Size()
		}
		return nil
	})
	return total
}

// timeChild runs a command that must succeed and returns its wall time and its peak RSS in MiB
// (VmHWM, polled).
func timeChild(b *testing.B, name string, args ...string) (time.Duration, float64) {
	b.Helper()
	return timeChildExit(b, 0, name, args...)
}

// timeChildExit is timeChild for a command that must exit with code.
func timeChildExit(b *testing.B, code int, name string, args ...string) (time.Duration, float64) {
	b.Helper()
	cmd := exec.Command(name, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var hwm float64
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			d := time.Since(start)
			if got := cmd.ProcessState.ExitCode(); got != code {
				b.Fatalf("%s %v: exit %d (%v), want %d\n%s", name, args, got, err, code, out.String())
			}
			return d, hwm
		case <-tick.C:
			if st, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", cmd.Process.Pid)); err == nil {
				for _, line := range strings.Split(string(st), "\n") {
					if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
						kib, _ := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 64)
						hwm = max(hwm, kib/1024)
					}
				}
			}
		}
	}
}

// BenchmarkDoctor is `station doctor --json` against a running demo station (not enrolled: no hub
// check), in process: configuration, data directory, key, integrity check, audit chain, disk,
// service, HTTP and devices.
//
//	go test -run '^$' -bench Doctor -benchtime 20x ./cmd/station/
func BenchmarkDoctor(b *testing.B) {
	dir := b.TempDir()
	if err := os.Chmod(dir, 0o700); err != nil {
		b.Fatal(err)
	}
	st := startStationIn(b, dir, nil)
	cfg := filepath.Join(b.TempDir(), "station.toml")
	if err := os.WriteFile(cfg, []byte("data = \""+dir+"\"\nlisten = \""+st.HTTP.Addr().String()+"\"\ndemo = true\n"), 0o600); err != nil {
		b.Fatal(err)
	}
	var out, errb bytes.Buffer
	b.ResetTimer()
	for range b.N {
		out.Reset()
		if code := run(context.Background(), []string{"doctor", "--config", cfg, "--json"}, strings.NewReader(""), &out, &errb); code == 2 {
			b.Fatalf("doctor: %d %s", code, errb.String())
		}
	}
}
