package sqlite_test

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/civic-station/station/station"
	"github.com/civic-station/station/station/datakey"
	"github.com/civic-station/station/station/sqlite"
)

// TestCrashChild is the child side of TestKilledMidIntakeLosesNothingAcknowledged: it takes
// applications as fast as it can and prints "ACK id" after each Submit returns.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv("STATION_CRASH_CHILD_DIR")
	if dir == "" {
		t.Skip("run only as the child of the crash test")
	}
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(dir, "station.db"))
	if err != nil {
		fmt.Println("ERR", err)
		os.Exit(2)
	}
	key, err := datakey.Load(filepath.Join(dir, "datakey"))
	if err != nil {
		fmt.Println("ERR", err)
		os.Exit(2)
	}
	prefix := os.Getenv("STATION_CRASH_CHILD_PREFIX")
	cmd, _ := station.NewCommand(prefix+"-catalog", station.CmdCatalogImport, time.Now(), system, station.CatalogImport{Matters: testMatters()})
	if _, err := db.Submit(ctx, cmd); err != nil {
		fmt.Println("ERR", err)
		os.Exit(2)
	}
	out := bufio.NewWriter(os.Stdout)
	for i := 0; ; i++ {
		number := validNumber(i)
		sealed, _ := key.Seal(station.IDResident, number)
		id := fmt.Sprintf("%s-%d", prefix, i)
		cmd, _ := station.NewCommand(id, station.CmdApplicationIntake, time.Now(), staff, station.ApplicationIntake{
			ApplicationID: id, MatterCode: "MZ-001",
			Applicant: station.Applicant{IDNumber: sealed, IDLast4: station.IDLast4(number), Name: "测试"},
			Materials: providedAll("MZ-001"),
		})
		if _, err := db.Submit(ctx, cmd); err != nil {
			fmt.Fprintln(out, "ERR", err)
			out.Flush()
			os.Exit(2)
		}
		fmt.Fprintln(out, "ACK", id)
		out.Flush()
	}
}

// TestKilledMidIntakeLosesNothingAcknowledged kills a process that is taking applications with SIGKILL
// at random moments, many times over the same database, and checks that every application whose
// Submit returned is there and that the database is intact.
func TestKilledMidIntakeLosesNothingAcknowledged(t *testing.T) {
	if testing.Short() {
		t.Skip("crash loop skipped in -short mode")
	}
	dir := t.TempDir()
	rounds := 25
	acked := map[string]bool{}
	for round := 0; round < rounds; round++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.v=false")
		cmd.Env = append(os.Environ(), "STATION_CRASH_CHILD_DIR="+dir, fmt.Sprintf("STATION_CRASH_CHILD_PREFIX=r%02d", round))
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Let it run until a random number of acknowledgements, then kill it without warning.
		killAfter := 5 + rand.IntN(60)
		sc := bufio.NewScanner(stdout)
		n := 0
		for sc.Scan() {
			line := sc.Text()
			if strings.HasPrefix(line, "ERR") {
				t.Fatalf("round %d: child failed: %s", round, line)
			}
			if id, ok := strings.CutPrefix(line, "ACK "); ok {
				acked[id] = true
				n++
				if n == killAfter {
					cmd.Process.Signal(syscall.SIGKILL)
				}
			}
		}
		cmd.Wait()
		if n < killAfter {
			t.Fatalf("round %d: child stopped after %d acknowledgements before being killed", round, n)
		}
	}
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(dir, "station.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if r, err := db.IntegrityCheck(ctx); err != nil || r != "ok" {
		t.Fatalf("integrity_check after %d kills = %q, %v", rounds, r, err)
	}
	for id := range acked {
		if _, err := db.Application(ctx, id); err != nil {
			t.Fatalf("acknowledged application %s is missing after the crashes: %v", id, err)
		}
	}
	if r, err := db.VerifyAudit(ctx); err != nil || !r.OK {
		t.Fatalf("audit chain after the crashes: %+v %v", r, err)
	}
	t.Logf("%d rounds, %d acknowledged applications, all present", rounds, len(acked))
}
