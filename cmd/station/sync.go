package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/civic-station/station/station"
	"github.com/civic-station/station/station/blob"
	"github.com/civic-station/station/station/sqlite"
	"github.com/civic-station/station/syncer"
)

// syncStatusFile is where a running syncer leaves its status for `station sync status`.
func syncStatusFile(dataDir string) string { return filepath.Join(dataDir, "sync", "status.json") }

// startSyncer starts the syncer of an enrolled station as a goroutine owned by the returned stop
// function, which cancels it and waits for it. A station that is not enrolled gets a no-op stop and
// no error: it works offline until a technician enrolls it. Main.Run calls it after opening the store.
func startSyncer(ctx context.Context, dataDir string, db *sqlite.DB, blobs *blob.Store, logger *slog.Logger, now func() time.Time) (stop func(), err error) {
	id, err := syncer.LoadIdentity(dataDir)
	if errors.Is(err, syncer.ErrNotEnrolled) {
		logger.Info("not enrolled with a data center; records wait in the outbox")
		return func() {}, nil
	} else if err != nil {
		return nil, err
	}
	sy, err := syncer.New(syncer.Config{
		Store: db, Identity: id, Blobs: blobs, Version: version,
		Logger: logger.With("component", "syncer"), Now: now, StatusFile: syncStatusFile(dataDir),
	})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = sy.Run(ctx)
	}()
	return func() {
		cancel()
		<-done
		_ = sy.Close()
	}, nil
}

// syncReport is what `station sync status` prints.
type syncReport struct {
	Enrolled    bool                 `json:"enrolled"`
	StationID   string               `json:"station_id,omitempty"`
	StationName string               `json:"station_name,omitempty"`
	HubURL      string               `json:"hub_url,omitempty"`
	Outbox      station.OutboxStats  `json:"outbox"`
	Cursor      station.SyncCursor   `json:"cursor"`
	DeadLetters []station.DeadLetter `json:"dead_letters"`
	Syncer      *syncer.Status       `json:"syncer,omitempty"` // the running syncer's last report, if any
}

// syncCommand runs `station sync status [--data DIR] [--json]`. It reads the store read-only and the
// running syncer's last report, so it works beside a live station.
func syncCommand(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "status" {
		fmt.Fprint(stderr, "用法：station sync status [--data DIR] [--json]\n")
		return 2
	}
	fs := flag.NewFlagSet("station sync status", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("data", "./data", "数据目录")
	asJSON := fs.Bool("json", false, "以JSON输出")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	db, err := openReadOnly(ctx, *dir)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	defer db.Close()
	var rep syncReport
	if id, err := syncer.LoadIdentity(*dir); err == nil {
		rep.Enrolled, rep.StationID, rep.StationName, rep.HubURL = true, id.StationID, id.StationName, id.HubURL
	}
	if rep.Outbox, err = db.OutboxStats(ctx); err == nil {
		if rep.Cursor, err = db.SyncCursor(ctx); err == nil {
			rep.DeadLetters, err = db.DeadLetters(ctx)
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "读取同步状态失败：%v\n", err)
		return 1
	}
	if b, err := os.ReadFile(syncStatusFile(*dir)); err == nil {
		var st syncer.Status
		if json.Unmarshal(b, &st) == nil {
			rep.Syncer = &st
		}
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		_ = enc.Encode(rep)
		return 0
	}
	if rep.Enrolled {
		fmt.Fprintf(stdout, "已注册：%s（站点编号 %s），数据中心 %s\n", rep.StationName, rep.StationID, rep.HubURL)
	} else {
		fmt.Fprintln(stdout, "尚未注册数据中心（station enroll），记录保存在本地待上报。")
	}
	fmt.Fprintf(stdout, "待上报 %d 条", rep.Outbox.Pending)
	if !rep.Outbox.OldestAt.IsZero() {
		fmt.Fprintf(stdout, "，最早一条产生于 %s", rep.Outbox.OldestAt.Local().Format("2006-01-02 15:04:05"))
	}
	fmt.Fprintf(stdout, "；已确认未清理 %d 条；搁置 %d 条\n", rep.Outbox.Acked, rep.Outbox.DeadLetters)
	fmt.Fprintf(stdout, "下行游标 %q，全量重同步 %d 次\n", rep.Cursor.Cursor, rep.Cursor.Resyncs)
	if s := rep.Syncer; s != nil {
		if !s.LastSuccess.IsZero() {
			fmt.Fprintf(stdout, "最近成功同步 %s，已发送 %d 字节，时钟偏差 %s\n", s.LastSuccess.Local().Format("2006-01-02 15:04:05"), s.BytesSent, s.ClockSkew)
		}
		if s.LastError != "" {
			fmt.Fprintf(stdout, "最近一次错误：%s\n", s.LastError)
		}
		if s.Drift {
			fmt.Fprintln(stdout, "警告：本地下行数据与数据中心不一致，已尝试全量重同步。")
		}
	}
	for _, d := range rep.DeadLetters {
		fmt.Fprintf(stdout, "搁置记录 #%d %s（%s）：%s\n", d.Seq, d.Kind, d.Code, d.Message)
	}
	return 0
}
