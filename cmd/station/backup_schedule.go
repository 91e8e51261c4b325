package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/civic-station/station/internal/atomicfile"
	"github.com/civic-station/station/station"
)

// Scheduled backups: `station run` with backup_at and backup_to writes one backup a day into the
// destination (a USB disk's mount point, a network share), keeps the newest backup_keep, and records
// the outcome in DATA/backup-status.json for the setup page and `station doctor`.

// backupPlan is the backup schedule of the configuration.
type backupPlan struct {
	At             string // HH:MM China time; "" no scheduled backups
	To             string // destination directory
	Keep           int    // backups kept in the destination
	PassphraseFile string // seals the data key into each backup when set
}

const backupFilePrefix = "station-"
const backupFileSuffix = ".stationbak"

func (m *Main) registerBackupFlags(fs *flag.FlagSet) {
	m.Backups.Keep = 7
	fs.Var(checkedString{&m.Backups.At, checkClock}, "backup-at", "每天定时备份的时间（中国时间 HH:MM，如 02:30）；不填则不定时备份")
	fs.StringVar(&m.Backups.To, "backup-to", "", "定时备份的目的目录（如U盘挂载点 /media/usb/station-backups）")
	fs.IntVar(&m.Backups.Keep, "backup-keep", m.Backups.Keep, "目的目录中保留的备份份数")
	fs.StringVar(&m.Backups.PassphraseFile, "backup-passphrase-file", "", "口令文件：定时备份附带用此口令加密的数据密钥（不填则备份不含密钥）")
}

// checkClock accepts "" or a time of day HH:MM.
func checkClock(v string) error {
	if v == "" {
		return nil
	}
	if _, err := time.Parse("15:04", v); err != nil || len(v) != 5 {
		return errors.New("应为 HH:MM，如 02:30 / want HH:MM such as 02:30")
	}
	return nil
}

// backupScheduler runs the scheduled backups of a running station.
type backupScheduler struct {
	m       *Main
	plan    backupPlan
	wrapped []byte // the data key sealed under the passphrase; nil without one
	file    string // DATA/backup-status.json

	mu sync.Mutex
	st station.BackupStatus
}

func backupStatusFile(dir string) string { return filepath.Join(dir, "backup-status.json") }

// startBackups checks the schedule and starts it in the background; without backup_at it only keeps
// the status (disabled) for the setup page.
func (m *Main) startBackups(ctx context.Context) error {
	p := m.Backups
	b := &backupScheduler{m: m, plan: p, file: backupStatusFile(m.DataDir)}
	m.backups = b
	if raw, err := os.ReadFile(b.file); err == nil {
		_ = json.Unmarshal(raw, &b.st) // the last outcome survives a restart
	}
	b.st.Enabled, b.st.At, b.st.To, b.st.Keep, b.st.NextAt = p.At != "", p.At, p.To, p.Keep, time.Time{}
	if p.At == "" {
		return nil
	}
	if p.To == "" {
		return errors.New("已设置 --backup-at，但未设置 --backup-to（备份目的目录） / --backup-at needs --backup-to")
	}
	if p.Keep < 1 {
		return errors.New("--backup-keep 至少为 1 / --backup-keep must be at least 1")
	}
	if p.PassphraseFile != "" {
		pass, err := readPassphrase(p.PassphraseFile, strings.NewReader(""))
		if err == nil {
			b.wrapped, err = m.Key.Wrap(pass)
		}
		if err != nil {
			return fmt.Errorf("--backup-passphrase-file：%w", err)
		}
		b.st.KeyIncluded = true
	}
	m.bg.Add(1)
	go func() {
		defer m.bg.Done()
		b.loop(ctx)
	}()
	return nil
}

// nextBackup is the first time at or after now when the clock reads at (HH:MM China time), never now
// itself.
func nextBackup(now time.Time, at string) time.Time {
	t, _ := time.Parse("15:04", at)
	local := now.In(station.ChinaTime)
	next := time.Date(local.Year(), local.Month(), local.Day(), t.Hour(), t.Minute(), 0, 0, station.ChinaTime)
	if !next.After(local) {
		next = next.AddDate(0, 0, 1)
	}
	return next
}

func (b *backupScheduler) loop(ctx context.Context) {
	for {
		now := b.m.Now()
		next := nextBackup(now, b.plan.At)
		b.mu.Lock()
		b.st.NextAt = next
		b.mu.Unlock()
		b.save()
		t := time.NewTimer(next.Sub(now))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		_ = b.RunOnce(ctx)
	}
}

// RunOnce writes one backup into the destination now, prunes old ones and records the outcome.
func (b *backupScheduler) RunOnce(ctx context.Context) error {
	start := b.m.Now()
	b.mu.Lock()
	b.st.LastAttempt = start
	b.mu.Unlock()
	file, size, err := b.write(ctx, start)
	b.mu.Lock()
	if err != nil {
		b.st.LastError = err.Error()
		b.m.Logger.Error("scheduled backup failed", "to", b.plan.To, "err", err)
	} else {
		b.st.LastError, b.st.LastSuccess, b.st.LastFile, b.st.LastBytes = "", b.m.Now(), file, size
		b.st.LastTook = station.Seconds(b.m.Now().Sub(start))
		b.m.Logger.Info("scheduled backup written", "file", file, "bytes", size)
	}
	b.mu.Unlock()
	b.save()
	return err
}

func (b *backupScheduler) write(ctx context.Context, at time.Time) (string, int64, error) {
	fi, err := os.Stat(b.plan.To)
	if err != nil || !fi.IsDir() {
		return "", 0, fmt.Errorf("备份目的目录 %s 不存在或未挂载（U盘未插好？）", b.plan.To)
	}
	out := filepath.Join(b.plan.To, backupFilePrefix+at.In(station.ChinaTime).Format("20060102-150405")+backupFileSuffix)
	if _, err := writeBackupFile(ctx, b.m.DataDir, b.m.DB, b.m.Key, b.wrapped, out, nil); err != nil {
		return "", 0, err
	}
	pruneBackups(b.plan.To, b.plan.Keep)
	fi, err = os.Stat(out)
	if err != nil {
		return "", 0, err
	}
	return out, fi.Size(), nil
}

// pruneBackups removes all but the newest keep scheduled backups of dir (their names sort by time);
// files of other names are never touched.
func pruneBackups(dir string, keep int) {
	names, _ := filepath.Glob(filepath.Join(dir, backupFilePrefix+"*"+backupFileSuffix))
	sort.Strings(names)
	for i := 0; i < len(names)-keep; i++ {
		os.Remove(names[i])
	}
}

// Status returns the schedule and the last outcome.
func (b *backupScheduler) Status() station.BackupStatus {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.st
}

func (b *backupScheduler) save() {
	raw, _ := json.MarshalIndent(b.Status(), "", "  ")
	if err := atomicfile.WriteFile(b.file, raw, 0o600); err != nil {
		b.m.Logger.Warn("write backup status", "err", err)
	}
}
