package http

import (
	"bytes"
	"context"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/civic-station/station/station"
)

// SyncStore is the store's side of the sync the HTTP layer reads (station/sqlite.DB implements it).
type SyncStore interface {
	// DeadLetters returns the records set aside, oldest first.
	DeadLetters(ctx context.Context) ([]station.DeadLetter, error)
	// DeadLetter returns one dead letter by its seq or record ID, or ENOTFOUND.
	DeadLetter(ctx context.Context, seqOrID string) (station.DeadLetter, error)
	// DeadLetterRecords returns the dead letters with their payloads, for export.
	DeadLetterRecords(ctx context.Context) ([]station.DeadLetterRecord, error)
	// Notices returns the data center's notices that are not withdrawn, newest first.
	Notices(ctx context.Context, now time.Time) ([]station.Notice, error) // those shown at now
}

// SyncMonitor reports on the station's sync with the data center, enrolled or not (cmd/station wires
// the running syncer, or the store alone).
type SyncMonitor interface {
	Status(ctx context.Context) (station.SyncStatus, error)
	// Kick asks the syncer for a round soon (after a retry); a no-op when none runs.
	Kick()
}

// DiskMonitor reports the free space of the data directory against the reserve
// (station/diskspace.Guard implements it).
type DiskMonitor interface {
	Status() station.DiskStatus
}

// BackupMonitor reports the scheduled backups (cmd/station's scheduler implements it).
type BackupMonitor interface {
	Status() station.BackupStatus
}

// syncRoutes lists the routes about the station's sync with the data center (status, dead letters)
// and the notices it brings down.
func syncRoutes() []route {
	return []route{
		{method: "GET", path: "/api/v1/sync/status", summary: "与数据中心同步的状态（柜台状态条、设置页）", tag: "sync", roles: station.StaffRoles,
			reply: syncStatusView{}, status: 200, handle: (*Server).handleSyncStatus},
		{method: "GET", path: "/api/v1/sync/dead-letters", summary: "搁置记录列表", tag: "sync", roles: techRoles,
			reply: deadLetterList{}, status: 200, handle: (*Server).handleDeadLetters},
		{method: "POST", path: "/api/v1/sync/dead-letters/:id/retry", summary: "重试一条搁置记录（按序号或记录编号）", tag: "sync", roles: techRoles,
			reply: retryResult{}, status: 200, handle: (*Server).handleDeadLetterRetry},
		{method: "POST", path: "/api/v1/sync/dead-letters/retry-all", summary: "重试全部搁置记录", tag: "sync", roles: techRoles,
			reply: retryResult{}, status: 200, handle: (*Server).handleDeadLetterRetryAll},
		{method: "GET", path: "/api/v1/sync/dead-letters/export", summary: "导出搁置记录（JSON Lines，含记录内容；审计）", tag: "sync", roles: techRoles,
			status: 200, handle: (*Server).handleDeadLetterExport},
		{method: "GET", path: "/api/v1/notices", summary: "数据中心发布的通知公告", tag: "sync", public: true,
			reply: noticeList{}, status: 200, handle: (*Server).handleNotices},
	}
}

// syncStatusView is the sync status with the disk's and what needs attention.
type syncStatusView struct {
	Sync   station.SyncStatus    `json:"sync"`
	Disk   *station.DiskStatus   `json:"disk,omitempty"`
	Backup *station.BackupStatus `json:"backup,omitempty"` // the scheduled backups
	Alerts []string              `json:"alerts"`           // in Chinese; empty when all is well
	At     time.Time             `json:"at"`
}

type deadLetterList struct {
	Items []station.DeadLetter `json:"items"`
}

type retryResult struct {
	Retried     int `json:"retried"`      // records put back in the queue
	DeadLetters int `json:"dead_letters"` // records still set aside
}

type noticeList struct {
	Items []station.Notice `json:"items"`
}

func errNoSync() error {
	return station.Errorf(station.EUNAVAILABLE, "本机未启用与数据中心的同步")
}

func (s *Server) syncStatus(ctx context.Context) (syncStatusView, error) {
	if s.syncMon == nil {
		return syncStatusView{}, errNoSync()
	}
	st, err := s.syncMon.Status(ctx)
	if err != nil {
		return syncStatusView{}, err
	}
	now := s.now()
	v := syncStatusView{Sync: st, Alerts: st.Alerts(now), At: now}
	if s.disk != nil {
		d := s.disk.Status()
		v.Disk = &d
		if d.Low {
			v.Alerts = append(v.Alerts, station.ErrDiskLow().Message)
		}
	}
	if s.backups != nil {
		b := s.backups.Status()
		v.Backup = &b
		if a := b.Alert(now); a != "" {
			v.Alerts = append(v.Alerts, a)
		}
	}
	if s.cluster != nil {
		if a := s.cluster.Stale(); a != "" {
			v.Alerts = append(v.Alerts, a)
		}
	}
	if v.Alerts == nil {
		v.Alerts = []string{}
	}
	return v, nil
}

func (s *Server) handleSyncStatus(c *fiber.Ctx) error {
	v, err := s.syncStatus(c.UserContext())
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(v)
}

func (s *Server) handleDeadLetters(c *fiber.Ctx) error {
	if s.syncStore == nil {
		return errNoSync()
	}
	items, err := s.syncStore.DeadLetters(c.UserContext())
	if err != nil {
		return err
	}
	return c.JSON(deadLetterList{Items: items})
}

// retry puts dead letters back in the queue by a command in the caller's name, and asks the syncer
// for a round.
func (s *Server) retry(c *fiber.Ctx, p station.OutboxRetry, n int) error {
	ctx := c.UserContext()
	if _, err := s.submit(ctx, station.CmdOutboxRetry, caller(c).actor(), p); err != nil {
		return err
	}
	if s.syncMon != nil {
		s.syncMon.Kick()
	}
	left, err := s.syncStore.DeadLetters(ctx)
	if err != nil {
		return err
	}
	return c.JSON(retryResult{Retried: n, DeadLetters: len(left)})
}

func (s *Server) handleDeadLetterRetry(c *fiber.Ctx) error {
	if s.syncStore == nil {
		return errNoSync()
	}
	d, err := s.syncStore.DeadLetter(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	return s.retry(c, station.OutboxRetry{Seqs: []int64{d.Seq}}, 1)
}

func (s *Server) handleDeadLetterRetryAll(c *fiber.Ctx) error {
	if s.syncStore == nil {
		return errNoSync()
	}
	all, err := s.syncStore.DeadLetters(c.UserContext())
	if err != nil {
		return err
	}
	if len(all) == 0 {
		return c.JSON(retryResult{})
	}
	return s.retry(c, station.OutboxRetry{All: true}, len(all))
}

// handleDeadLetterExport answers the dead letters with their payloads as JSON lines. The payloads hold
// personal data (names; ID numbers only sealed), so the export is audited like any staff read.
func (s *Server) handleDeadLetterExport(c *fiber.Ctx) error {
	if s.syncStore == nil {
		return errNoSync()
	}
	recs, err := s.syncStore.DeadLetterRecords(c.UserContext())
	if err != nil {
		return err
	}
	if err := s.recordAccess(c, "outbox:dead_letters", "export"); err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := station.WriteDeadLetterExport(&buf, recs); err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "application/x-ndjson; charset=utf-8")
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="dead-letters-`+s.now().In(station.ChinaTime).Format("20060102-150405")+`.ndjson"`)
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Send(buf.Bytes())
}

func (s *Server) handleNotices(c *fiber.Ctx) error {
	items := []station.Notice{}
	if s.syncStore != nil {
		var err error
		if items, err = s.syncStore.Notices(c.UserContext(), s.now()); err != nil {
			return err
		}
	}
	return c.JSON(noticeList{Items: items})
}

// syncCollector exports the sync and disk status to /metrics at each scrape.
type syncCollector struct {
	sync SyncMonitor // may be nil
	disk DiskMonitor // may be nil
	log  func(msg string, args ...any)
}

var (
	descSyncEnrolled   = prometheus.NewDesc("station_sync_enrolled", "1 when the station is enrolled with a data center.", nil, nil)
	descSyncOnline     = prometheus.NewDesc("station_sync_online", "1 when the last sync round reached the hub and finished.", nil, nil)
	descSyncPending    = prometheus.NewDesc("station_sync_pending_records", "Outbox records waiting to be sent.", nil, nil)
	descSyncOldestAge  = prometheus.NewDesc("station_sync_oldest_unsent_age_seconds", "Age of the oldest record waiting to be sent (0 when none).", nil, nil)
	descSyncDead       = prometheus.NewDesc("station_sync_dead_letters", "Outbox records set aside (dead letters).", nil, nil)
	descSyncAcked      = prometheus.NewDesc("station_sync_acked_unpruned_records", "Records the hub acknowledged, kept until pruned.", nil, nil)
	descSyncSuccess    = prometheus.NewDesc("station_sync_last_success_timestamp_seconds", "Unix time of the last successful sync round (0 never).", nil, nil)
	descSyncAttempt    = prometheus.NewDesc("station_sync_last_attempt_timestamp_seconds", "Unix time of the last sync round (0 never).", nil, nil)
	descSyncFailures   = prometheus.NewDesc("station_sync_consecutive_failures", "Failed sync rounds in a row.", nil, nil)
	descSyncSent       = prometheus.NewDesc("station_sync_sent_bytes_total", "Bytes sent to the hub (record batches compressed, blob chunks) since start.", nil, nil)
	descSyncReceived   = prometheus.NewDesc("station_sync_received_bytes_total", "Bytes of hub answers read since start.", nil, nil)
	descSyncAckedTotal = prometheus.NewDesc("station_sync_acked_records_total", "Records the hub acknowledged since start.", nil, nil)
	descSyncSkew       = prometheus.NewDesc("station_sync_clock_skew_seconds", "Hub clock minus station clock, from the hub's Date header.", nil, nil)
	descSyncDrift      = prometheus.NewDesc("station_sync_downlink_drift", "1 when the downlink state hash differs from the hub's.", nil, nil)
	descSyncResyncs    = prometheus.NewDesc("station_sync_resyncs_total", "Full downlink resyncs.", nil, nil)
	descSyncBandwidth  = prometheus.NewDesc("station_sync_bandwidth_limit_bytes_per_second", "Bandwidth cap in force now (0 unlimited).", nil, nil)
	descDiskFree       = prometheus.NewDesc("station_disk_free_bytes", "Free space of the data directory.", nil, nil)
	descDiskReserve    = prometheus.NewDesc("station_disk_reserve_bytes", "Free space below which new input is refused.", nil, nil)
	descDiskLow        = prometheus.NewDesc("station_disk_low", "1 while the free space is below the reserve and new input is refused.", nil, nil)
)

// Describe implements prometheus.Collector.
func (sc syncCollector) Describe(ch chan<- *prometheus.Desc) {
	if sc.sync != nil {
		for _, d := range []*prometheus.Desc{descSyncEnrolled, descSyncOnline, descSyncPending, descSyncOldestAge, descSyncDead, descSyncAcked,
			descSyncSuccess, descSyncAttempt, descSyncFailures, descSyncSent, descSyncReceived, descSyncAckedTotal, descSyncSkew,
			descSyncDrift, descSyncResyncs, descSyncBandwidth} {
			ch <- d
		}
	}
	if sc.disk != nil {
		ch <- descDiskFree
		ch <- descDiskReserve
		ch <- descDiskLow
	}
}

// Collect implements prometheus.Collector.
func (sc syncCollector) Collect(ch chan<- prometheus.Metric) {
	gauge := func(d *prometheus.Desc, v float64) { ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v) }
	counter := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v)
	}
	flag := func(b bool) float64 {
		if b {
			return 1
		}
		return 0
	}
	unix := func(t time.Time) float64 {
		if t.IsZero() {
			return 0
		}
		return float64(t.UnixMilli()) / 1000
	}
	if sc.sync != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		st, err := sc.sync.Status(ctx)
		cancel()
		if err != nil {
			sc.log("sync status for metrics", "err", err)
		} else {
			gauge(descSyncEnrolled, flag(st.Enrolled))
			gauge(descSyncOnline, flag(st.Online))
			gauge(descSyncPending, float64(st.Pending))
			gauge(descSyncOldestAge, st.OldestAge.Duration().Seconds())
			gauge(descSyncDead, float64(st.DeadLetters))
			gauge(descSyncAcked, float64(st.Acked))
			gauge(descSyncSuccess, unix(st.LastSuccess))
			gauge(descSyncAttempt, unix(st.LastAttempt))
			gauge(descSyncFailures, float64(st.ConsecutiveKO))
			counter(descSyncSent, float64(st.BytesSent))
			counter(descSyncReceived, float64(st.BytesReceived))
			counter(descSyncAckedTotal, float64(st.RecordsAcked))
			gauge(descSyncSkew, st.ClockSkew.Duration().Seconds())
			gauge(descSyncDrift, flag(st.Drift))
			counter(descSyncResyncs, float64(st.Resyncs))
			gauge(descSyncBandwidth, float64(st.BandwidthLimit))
		}
	}
	if sc.disk != nil {
		d := sc.disk.Status()
		gauge(descDiskFree, float64(d.FreeBytes))
		gauge(descDiskReserve, float64(d.ReserveBytes))
		gauge(descDiskLow, flag(d.Low))
	}
}
