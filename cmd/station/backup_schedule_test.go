package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/civic-station/station/station"
)

func TestNextBackup(t *testing.T) {
	cst := station.ChinaTime
	for _, c := range []struct {
		now  time.Time
		at   string
		want time.Time
	}{
		{time.Date(2026, 12, 7, 1, 0, 0, 0, cst), "02:30", time.Date(2026, 12, 7, 2, 30, 0, 0, cst)},
		{time.Date(2026, 12, 7, 2, 30, 0, 0, cst), "02:30", time.Date(2026, 12, 8, 2, 30, 0, 0, cst)}, // not now again
		{time.Date(2026, 12, 7, 23, 0, 0, 0, cst), "02:30", time.Date(2026, 12, 8, 2, 30, 0, 0, cst)},
		{time.Date(2026, 12, 31, 18, 0, 0, 0, time.UTC), "02:30", time.Date(2027, 1, 1, 2, 30, 0, 0, cst)}, // 02:00 on the 1st in China
		{time.Date(2026, 12, 6, 18, 0, 0, 0, time.UTC), "02:30", time.Date(2026, 12, 7, 2, 30, 0, 0, cst)},
	} {
		if got := nextBackup(c.now, c.at); !got.Equal(c.want) {
			t.Errorf("nextBackup(%v, %s) = %v, want %v", c.now, c.at, got, c.want)
		}
	}
	for _, bad := range []string{"2:30", "24:00", "02:60", "0230", "x"} {
		if checkClock(bad) == nil {
			t.Errorf("checkClock(%q) accepted", bad)
		}
	}
}

// TestScheduledBackupsWriteKeepAndReport runs the station's scheduled backup three times into a
// destination that keeps two: the two newest stay and each verifies; the outcome reaches the sync
// status the setup page reads and `station doctor`. With the destination gone (a USB disk pulled out),
// the failure is reported there too, in Chinese, and nothing half-written is left.
func TestScheduledBackupsWriteKeepAndReport(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	dest := filepath.Join(t.TempDir(), "usb")
	if err := os.Mkdir(dest, 0o700); err != nil {
		t.Fatal(err)
	}
	// Today's clock, not the tests' usual day: doctor judges the last backup against the real time.
	clock := &testClock{now: time.Now()}
	st := startStationIn(t, dir, func(m *Main) { m.Backups, m.Now = backupPlan{At: "02:30", To: dest, Keep: 2}, clock.Now })
	st.clock = clock
	ctx := context.Background()
	if b := st.backups.Status(); !b.Enabled || b.NextAt.IsZero() && !waitNext(st) {
		t.Fatalf("schedule: %+v", b)
	}
	var files []string
	for range 3 {
		st.clock.Advance(time.Hour)
		if err := st.backups.RunOnce(ctx); err != nil {
			t.Fatalf("scheduled backup: %v", err)
		}
		files = append(files, st.backups.Status().LastFile)
	}
	kept, _ := filepath.Glob(filepath.Join(dest, "*"))
	if len(kept) != 2 || kept[0] != files[1] || kept[1] != files[2] {
		t.Fatalf("kept %v, want the newest two of %v", kept, files)
	}
	for _, f := range kept {
		if code, out, errOut := runCLI(t, "backup", "verify", f, "--key", filepath.Join(dir, "datakey")); code != 0 {
			t.Fatalf("verify %s: %d %s %s", f, code, out, errOut)
		}
	}
	if fi, err := os.Stat(backupStatusFile(dir)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("status file: %v %v", fi, err)
	}

	tok := st.login(t, "tech")
	var view struct {
		Backup station.BackupStatus `json:"backup"`
		Alerts []string             `json:"alerts"`
	}
	st.do(t, "GET", "/api/v1/sync/status", tok, nil).json(t, &view)
	if !view.Backup.Enabled || view.Backup.LastFile != files[2] || view.Backup.LastBytes == 0 || view.Backup.LastError != "" {
		t.Fatalf("sync status backup: %+v", view.Backup)
	}
	config := writeConfig(t, "data = \""+dir+"\"\nlisten = \""+st.HTTP.Addr().String()+"\"\ndemo = true\nbackup-at = \"02:30\"\nbackup-to = \""+dest+"\"\n")
	_, res := doctorReport(t, config)
	if r := findCheck(t, res, "定时备份"); r.Status != checkOK || !strings.Contains(r.Detail, filepath.Base(files[2])) {
		t.Fatalf("doctor after good backups: %+v", r)
	}

	// The USB disk is pulled out.
	if err := os.RemoveAll(dest); err != nil {
		t.Fatal(err)
	}
	st.clock.Advance(time.Hour)
	if err := st.backups.RunOnce(ctx); err == nil {
		t.Fatal("a backup into a missing destination succeeded")
	}
	tok = st.login(t, "tech") // the hour idled the session out
	st.do(t, "GET", "/api/v1/sync/status", tok, nil).json(t, &view)
	want := "定时备份失败：备份目的目录 " + dest + " 不存在或未挂载"
	if !strings.Contains(strings.Join(view.Alerts, "|"), want) || view.Backup.LastFile != files[2] {
		t.Fatalf("after a failed backup: alerts %v, backup %+v", view.Alerts, view.Backup)
	}
	code, res := doctorReport(t, config)
	if r := findCheck(t, res, "定时备份"); code != 1 || r.Status != checkFail || !strings.Contains(r.Detail, want) {
		t.Fatalf("doctor after a failed backup: exit %d, %+v", code, r)
	}
	if _, err := os.Stat(dest); err == nil {
		t.Fatal("the failed backup created the destination")
	}
}

// waitNext waits for the scheduler's first NextAt (it is set as the loop starts).
func waitNext(st *testStation) bool {
	for range 200 {
		if !st.backups.Status().NextAt.IsZero() {
			return true
		}
		time.Sleep(5 * time.Millisecond)
	}
	return false
}

// TestABackupScheduleWithoutADestinationDoesNotStart: backup_at alone is a configuration error at start.
func TestABackupScheduleWithoutADestinationDoesNotStart(t *testing.T) {
	m := NewMain()
	m.DataDir, m.Listen, m.Backups = t.TempDir(), "127.0.0.1:0", backupPlan{At: "02:30", Keep: 7}
	err := m.Run(context.Background())
	m.Close()
	if err == nil || !strings.Contains(err.Error(), "未设置 --backup-to") {
		t.Fatalf("run with backup_at and no backup_to: %v", err)
	}
}
