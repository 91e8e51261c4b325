package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/civic-station/station/internal/atomicfile"
	"github.com/civic-station/station/internal/bytesize"
	"github.com/civic-station/station/station"
	"github.com/civic-station/station/station/blob"
	"github.com/civic-station/station/station/diskspace"
	"github.com/civic-station/station/station/sqlite"
	"github.com/civic-station/station/syncer"
)

// syncStatusFile is where a running syncer leaves its status for `station sync status`.
func syncStatusFile(dataDir string) string { return filepath.Join(dataDir, "sync", "status.json") }

// syncMonitor is what the HTTP server sees of the sync: the running syncer once startSyncer started
// one, the store alone before that or when the station is not enrolled.
type syncMonitor struct {
	db      *sqlite.DB
	now     func() time.Time
	limiter *syncer.Limiter // nil: no bandwidth cap
	sy      atomic.Pointer[syncer.Syncer]
	// leader is the leader's syncer status, for a box of a cluster that does not lead (only the
	// leader syncs); nil on a box on its own.
	leader func(context.Context) (station.SyncStatus, error)
}

func newSyncMonitor(db *sqlite.DB, now func() time.Time, limiter *syncer.Limiter) *syncMonitor {
	return &syncMonitor{db: db, now: now, limiter: limiter}
}

// Status returns the running syncer's status; on a box of a cluster that does not sync, the
// leader's (SyncedBy names it); else, or when the leader does not answer within 2 s, the store's
// figures.
func (m *syncMonitor) Status(ctx context.Context) (station.SyncStatus, error) {
	if m.sy.Load() == nil && m.leader != nil {
		lctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		st, err := m.leader(lctx)
		cancel()
		if err == nil {
			return st, nil
		}
	}
	return m.local(ctx)
}

// local returns the status of the syncer this box runs, or the store's figures when it runs none
// (a station not enrolled). The other members of its cluster ask the leader for it.
func (m *syncMonitor) local(ctx context.Context) (station.SyncStatus, error) {
	if sy := m.sy.Load(); sy != nil {
		return sy.Status(ctx)
	}
	var st station.SyncStatus
	if m.limiter != nil {
		st.BandwidthLimit = m.limiter.Rate()
	}
	return syncer.StoreStatus(ctx, m.db, m.now(), st)
}

// Kick asks the running syncer for a round soon.
func (m *syncMonitor) Kick() {
	if sy := m.sy.Load(); sy != nil {
		sy.Kick()
	}
}

// syncOption adds an optional part to startSyncer.
type syncOption func(*syncer.Config, **syncMonitor)

// withMonitor makes startSyncer use the monitor's bandwidth limiter and report through it.
func withMonitor(m *syncMonitor) syncOption {
	return func(cfg *syncer.Config, mon **syncMonitor) {
		cfg.Limiter = m.limiter
		*mon = m
	}
}

// withHubKeys gives the syncer the data key, so that it seals to the hub's reveal key from the
// identity and to any the hub announces later.
func withHubKeys(k syncer.HubKeySetter) syncOption {
	return func(cfg *syncer.Config, _ **syncMonitor) { cfg.HubKeys = k }
}

// startSyncer starts the syncer of an enrolled station as a goroutine owned by the returned stop
// function, which cancels it and waits for it. A station that is not enrolled gets a no-op stop and
// no error: it works offline until a technician enrolls it. Main.Run calls it after opening the store.
func startSyncer(ctx context.Context, dataDir string, db syncer.Store, blobs *blob.Store, logger *slog.Logger, now func() time.Time, opts ...syncOption) (stop func(), err error) {
	id, err := syncer.LoadIdentity(dataDir)
	if errors.Is(err, syncer.ErrNotEnrolled) {
		logger.Info("not enrolled with a data center; records wait in the outbox")
		return func() {}, nil
	} else if err != nil {
		return nil, err
	}
	cfg := syncer.Config{
		Store: db, Identity: id, Blobs: blobs, Version: version,
		Logger: logger.With("component", "syncer"), Now: now, StatusFile: syncStatusFile(dataDir),
	}
	var mon *syncMonitor
	for _, o := range opts {
		o(&cfg, &mon)
	}
	sy, err := syncer.New(cfg)
	if err != nil {
		return nil, err
	}
	if mon != nil {
		mon.sy.Store(sy)
	}
	if cfg.Limiter != nil && !cfg.Limiter.Schedule().IsZero() {
		logger.Info("sync bandwidth capped", "schedule", cfg.Limiter.Schedule().String())
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
		if mon != nil {
			mon.sy.CompareAndSwap(sy, nil)
		}
		_ = sy.Close()
	}, nil
}

// byteSize is a flag holding a byte quantity written as "512MiB".
type byteSize struct{ n *int64 }

func (b byteSize) String() string {
	if b.n == nil {
		return ""
	}
	return bytesize.Format(*b.n)
}

func (b byteSize) Set(s string) error {
	n, err := bytesize.Parse(s)
	if err != nil {
		return err
	}
	*b.n = n
	return nil
}

// registerSyncFlags adds the flags of `station run` about the sync and the disk reserve.
func (m *Main) registerSyncFlags(fs *flag.FlagSet) {
	fs.Var(checkedString{&m.SyncBandwidth, func(v string) error { _, err := syncer.ParseSchedule(v); return err }}, "sync-bandwidth",
		"与数据中心同步的限速（中国时间），如 08:00-18:00=256KiB/s,18:00-08:00=0；0 或不填为不限速")
	fs.Var(byteSize{&m.DiskReserve}, "disk-reserve", "数据目录所在磁盘的保留空间，低于此值时暂停受理新业务（如 512MiB）")
}

// prepareSync reads the bandwidth schedule and sets up the disk guard; Run calls it before opening
// the store, so that a mistyped flag stops the station at once.
func (m *Main) prepareSync() error {
	sched, err := syncer.ParseSchedule(m.SyncBandwidth)
	if err != nil {
		return fmt.Errorf("--sync-bandwidth：%w", err)
	}
	if !sched.IsZero() {
		// The real clock, whatever m.Now is: the limiter sleeps in real time, and a clock that does not
		// move with its sleeps would never refill the bucket.
		m.limiter = syncer.NewLimiter(sched, nil, nil)
	}
	m.Disk = diskspace.New(m.DataDir, m.DiskReserve, diskspace.Options{Logger: m.Logger.With("component", "disk"), Now: m.Now})
	if st := m.Disk.Status(); st.Error != "" {
		m.Logger.Warn("cannot read the free space of the data directory", "err", st.Error)
	}
	return nil
}

const syncUsage = `用法：
  station sync status [--data DIR] [--json]             同步状态
  station sync dead-letters [--data DIR] [--json]       搁置记录列表
  station sync retry (序号或记录编号… | --all) [--data DIR]  重试搁置记录
  station sync export --out FILE [--data DIR]           导出搁置记录（JSON Lines，含记录内容）
`

// syncCommand runs `station sync status|dead-letters|retry|export`. status and dead-letters read the
// store read-only; retry and export write a command (audited) and so open it for writing, as
// `station user add` does; all of them work beside a live station.
func syncCommand(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, syncUsage)
		return 2
	}
	switch args[0] {
	case "status":
		return syncStatusCommand(ctx, args[1:], stdout, stderr)
	case "dead-letters":
		return syncDeadLettersCommand(ctx, args[1:], stdout, stderr)
	case "retry":
		return syncRetryCommand(ctx, args[1:], stdout, stderr)
	case "export":
		return syncExportCommand(ctx, args[1:], stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, syncUsage)
		return 0
	}
	fmt.Fprintf(stderr, "未知的子命令 %q\n\n%s", args[0], syncUsage)
	return 2
}

// syncReport is what `station sync status` prints.
type syncReport struct {
	Enrolled    bool   `json:"enrolled"`
	StationID   string `json:"station_id,omitempty"`
	StationName string `json:"station_name,omitempty"`
	HubURL      string `json:"hub_url,omitempty"`
	// RevealKey is the fingerprint of the hub's reveal key the station seals applicants' numbers to; ""
	// while it knows none (the data center then cannot reveal the numbers of new applications).
	RevealKey   string               `json:"reveal_key,omitempty"`
	Outbox      station.OutboxStats  `json:"outbox"`
	Cursor      station.SyncCursor   `json:"cursor"`
	DeadLetters []station.DeadLetter `json:"dead_letters"`
	Syncer      *syncer.Status       `json:"syncer,omitempty"` // the running syncer's last report, if any
}

// syncStatusCommand runs `station sync status [--data DIR] [--json]`. It reads the store read-only and
// the running syncer's last report, so it works beside a live station.
func syncStatusCommand(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var asJSON bool
	fs, dir := dataFlags("station sync status", stderr, &asJSON)
	if err := fs.Parse(args); err != nil {
		return flagExit(err)
	}
	db, err := openStationDB(ctx, *dir, sqlite.ReadOnly())
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	defer db.Close()
	var rep syncReport
	if id, err := syncer.LoadIdentity(*dir); err == nil {
		rep.Enrolled, rep.StationID, rep.StationName, rep.HubURL = true, id.StationID, id.StationName, id.HubURL
		if k, err := id.HubRevealKey(); err == nil && k != nil {
			rep.RevealKey = k.Fingerprint()
		}
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
	if asJSON {
		writeJSON(stdout, rep)
		return 0
	}
	if rep.Enrolled {
		fmt.Fprintf(stdout, "已注册：%s（站点编号 %s），数据中心 %s\n", rep.StationName, rep.StationID, rep.HubURL)
		if rep.RevealKey != "" {
			fmt.Fprintf(stdout, "数据中心查看密钥：%s（新受理办件的证件号码为数据中心另行加密一份）\n", rep.RevealKey)
		} else {
			fmt.Fprintln(stdout, "尚未取得数据中心查看密钥：数据中心暂不能查看新受理办件的完整证件号码（下次同步时取得）。")
		}
	} else {
		fmt.Fprintln(stdout, "尚未注册数据中心（station enroll），记录保存在本地待上报。")
	}
	fmt.Fprintf(stdout, "待上报 %d 条", rep.Outbox.Pending)
	if !rep.Outbox.OldestAt.IsZero() {
		fmt.Fprintf(stdout, "，最早一条产生于 %s", rep.Outbox.OldestAt.In(station.ChinaTime).Format("2006-01-02 15:04:05"))
	}
	fmt.Fprintf(stdout, "；已确认未清理 %d 条；搁置 %d 条\n", rep.Outbox.Acked, rep.Outbox.DeadLetters)
	fmt.Fprintf(stdout, "下行游标 %q，全量重同步 %d 次\n", rep.Cursor.Cursor, rep.Cursor.Resyncs)
	if s := rep.Syncer; s != nil {
		if !s.LastSuccess.IsZero() {
			fmt.Fprintf(stdout, "最近成功同步 %s，已发送 %s，已接收 %s，时钟偏差 %s\n", s.LastSuccess.In(station.ChinaTime).Format("2006-01-02 15:04:05"),
				bytesize.Format(s.BytesSent), bytesize.Format(s.BytesReceived), s.ClockSkew.Duration())
		}
		if s.LastError != "" {
			fmt.Fprintf(stdout, "最近一次错误：%s\n", s.LastError)
		}
		if s.Drift {
			fmt.Fprintln(stdout, "警告：本地下行数据与数据中心不一致，已尝试全量重同步。")
		}
		if s.BandwidthLimit > 0 {
			fmt.Fprintf(stdout, "当前限速 %s/s\n", bytesize.Format(s.BandwidthLimit))
		}
	}
	for _, d := range rep.DeadLetters {
		fmt.Fprintf(stdout, "搁置记录 #%d %s（%s）：%s\n", d.Seq, d.Kind, d.Code, d.Message)
	}
	return 0
}

// syncDeadLettersCommand runs `station sync dead-letters [--data DIR] [--json]`.
func syncDeadLettersCommand(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var asJSON bool
	fs, dir := dataFlags("station sync dead-letters", stderr, &asJSON)
	if err := fs.Parse(args); err != nil {
		return flagExit(err)
	}
	db, err := openStationDB(ctx, *dir, sqlite.ReadOnly())
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	defer db.Close()
	list, err := db.DeadLetters(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "读取搁置记录失败：%v\n", err)
		return 1
	}
	if asJSON {
		writeJSON(stdout, list)
		return 0
	}
	if len(list) == 0 {
		fmt.Fprintln(stdout, "没有搁置记录。")
		return 0
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "序号\t记录编号\t类型\t原因\t说明\t搁置时间\t次数")
	for _, d := range list {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s（%s）\t%s\t%s\t%d\n", d.Seq, d.ID, d.Kind, d.Reason, d.Code, d.Message,
			d.At.In(station.ChinaTime).Format("2006-01-02 15:04:05"), d.Attempts)
	}
	_ = tw.Flush()
	fmt.Fprintf(stdout, "共 %d 条。重试：station sync retry 序号…（或 --all）；导出：station sync export --out 文件\n", len(list))
	return 0
}

// syncRetryCommand runs `station sync retry (SEQ|ID…|--all) [--data DIR]`.
func syncRetryCommand(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs, dir := dataFlags("station sync retry", stderr, nil)
	all := fs.Bool("all", false, "重试全部搁置记录")
	if err := fs.Parse(args); err != nil {
		return flagExit(err)
	}
	if *all == (fs.NArg() > 0) {
		fmt.Fprint(stderr, "请给出要重试的搁置记录序号或记录编号，或使用 --all\n\n"+syncUsage)
		return 2
	}
	db, err := openStationDB(ctx, *dir)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	defer db.Close()
	p := station.OutboxRetry{All: *all}
	for _, key := range fs.Args() {
		d, err := db.DeadLetter(ctx, key)
		if err != nil {
			fmt.Fprintln(stderr, station.ErrorMessage(err))
			return 1
		}
		p.Seqs = append(p.Seqs, d.Seq)
	}
	before, err := db.DeadLetters(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "读取搁置记录失败：%v\n", err)
		return 1
	}
	if *all && len(before) == 0 {
		fmt.Fprintln(stdout, "没有搁置记录。")
		return 0
	}
	if err := consoleSubmit(ctx, *dir, station.CmdOutboxRetry, p); err != nil {
		fmt.Fprintf(stderr, "重试失败：%s\n", station.ErrorMessage(err))
		return 1
	}
	n := len(p.Seqs)
	if *all {
		n = len(before)
	}
	fmt.Fprintf(stdout, "已将 %d 条搁置记录放回待上报队列，下次同步时重新上传。\n", n)
	return 0
}

// syncExportCommand runs `station sync export --out FILE [--data DIR]`: the dead letters with their
// payloads as JSON lines, in an owner-only file. The export is audited (payloads hold personal data).
func syncExportCommand(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs, dir := dataFlags("station sync export", stderr, nil)
	out := fs.String("out", "", "导出文件（JSON Lines）")
	if err := fs.Parse(args); err != nil {
		return flagExit(err)
	}
	if *out == "" || fs.NArg() > 0 {
		fmt.Fprint(stderr, "缺少 --out 文件\n\n"+syncUsage)
		return 2
	}
	db, err := openStationDB(ctx, *dir)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	defer db.Close()
	recs, err := db.DeadLetterRecords(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "读取搁置记录失败：%v\n", err)
		return 1
	}
	var buf bytes.Buffer
	if err := station.WriteDeadLetterExport(&buf, recs); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if err := consoleSubmit(ctx, *dir, station.CmdAccessRecord, station.AccessRecord{Object: "outbox:dead_letters", Purpose: "export"}); err != nil {
		fmt.Fprintf(stderr, "记录审计失败，未导出：%s\n", station.ErrorMessage(err))
		return 1
	}
	if err := atomicfile.WriteFile(*out, buf.Bytes(), 0o600); err != nil {
		fmt.Fprintf(stderr, "写入 %s 失败：%v\n", *out, err)
		return 1
	}
	fmt.Fprintf(stdout, "已导出 %s 条搁置记录到 %s（含记录内容，请妥善保管）。\n", strconv.Itoa(len(recs)), *out)
	return 0
}
