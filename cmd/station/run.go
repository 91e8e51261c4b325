package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/civic-station/station/devices/escpos"
	"github.com/civic-station/station/devices/idcard"
	"github.com/civic-station/station/devices/ipp"
	"github.com/civic-station/station/devices/rig"
	"github.com/civic-station/station/internal/sdnotify"
	kioskui "github.com/civic-station/station/kiosk-ui"
	"github.com/civic-station/station/station"
	"github.com/civic-station/station/station/argon2id"
	"github.com/civic-station/station/station/blob"
	"github.com/civic-station/station/station/cluster"
	"github.com/civic-station/station/station/datakey"
	"github.com/civic-station/station/station/diskspace"
	shttp "github.com/civic-station/station/station/http"
	"github.com/civic-station/station/station/issue"
	sraft "github.com/civic-station/station/station/raft"
	"github.com/civic-station/station/station/sqlite"
	"github.com/civic-station/station/syncer"
)

// Main is the running station: it opens the data directory and serves plain HTTP on loopback and,
// with ListenHTTPS, HTTPS for the LAN. Tests run the same Main on 127.0.0.1:0.
type Main struct {
	DataDir string
	Listen  string // plain HTTP, loopback only (the kiosk's browser)
	Demo    bool
	Version string

	// HTTPS for the counter terminals on the LAN ("" off): the station CA's certificate for the box's
	// names and addresses and TLSNames (comma-separated), or the operator's TLSCert and TLSKey files.
	ListenHTTPS string
	TLSCert     string
	TLSKey      string
	TLSNames    string

	// The box's devices (all optional; the demo uses simulators instead).
	IDReader        string // serial port of the SAM reader, or "auto" to probe
	PhotoDecoder    string // command that turns a WLT photo into a BMP
	TicketPrinter   string // tcp://HOST:9100 or serial:///dev/ttyUSB0
	DocumentPrinter string // ipp://HOST/…
	Camera          string // /dev/videoN

	// DemoHub adds the closed loop to demo mode: an in-process hub the station enrolls and syncs with
	// (`station run --demo` sets it; tests of other parts leave it off). HubConsole is where that hub
	// serves its department console ("" none; port 0 picks one).
	DemoHub    bool
	HubConsole string

	MetricsToken string // lets a scraper on the LAN read /metrics with a bearer token; "" loopback only

	SyncBandwidth string // bandwidth cap by time of day for the sync (syncer.ParseSchedule); "" unlimited
	DiskReserve   int64  // free space below which new input is refused, in bytes

	Backups backupPlan // the scheduled backups (backup_schedule.go)
	Kiosk   kioskPlan  // the kiosk screen's settings, for `station kiosk run` (kiosk.go); unused by run

	Community     string // the station's community, printed on certificates (cert.go)
	CertAlgorithm string // the certificate signature algorithm: ed25519 (default) or sm2

	Logger *slog.Logger
	Stdout io.Writer        // where the start-up banner goes
	Now    func() time.Time // the clock; time.Now by default
	Hasher argon2id.Hasher  // password hashing parameters; argon2id.DefaultParams by default
	// RaftTiming is the log's failure detection once the box has company (sraft.DefaultTiming when
	// zero); a box on its own runs with sraft.SoloTiming.
	RaftTiming sraft.Timing
	UI         fs.FS // the built UI; nil serves a placeholder

	// The cluster port ("" off) other boxes of the station reach this one at (ClusterAdvertise, or
	// the box's first LAN address), and the box's name in the cluster (cluster.go).
	ClusterListen    string
	ClusterAdvertise string
	ClusterName      string
	ClusterReap      cluster.ReapPolicy // members gone longer than this are removed by the leader

	DB      *sqlite.DB
	Log     *sraft.Node      // the write path: every command goes through it (log.go)
	Cluster *cluster.Service // the box's side of the cluster; nil without a cluster port
	Key     *datakey.Key
	Blobs   *blob.Store
	HTTP    *shttp.Server

	Rig   *rig.Rig       // the box's devices; nil when it has none
	Certs *issue.Service // issues, prints and verifies certificates

	Disk    *diskspace.Guard // the free space of the data directory against DiskReserve
	limiter *syncer.Limiter  // the sync's bandwidth cap; nil when unlimited
	syncMon *syncMonitor     // the sync status the HTTP server reports
	backups *backupScheduler // the scheduled backups; set by Run

	control   *controlServer // takes the shell tools' commands for the log
	httpLn    net.Listener   // bound by Run before anything else, until the HTTP server takes it
	httpsLn   net.Listener   // the HTTPS port's, likewise
	tls       *tlsService    // the HTTPS certificate; nil without HTTPS
	consoleLn net.Listener   // the demo hub console's, likewise
	clusterLn net.Listener   // the cluster port's, likewise, until the cluster port takes it

	clusterPort *cluster.Port // the cluster port; nil when off
	boxID       string        // the box's name in the cluster

	syncMu   sync.Mutex         // guards stopSync, syncCtx and closing: the first-run setup and a change of leader start and stop the syncer
	stopSync func()             // stops the syncer; nil while none runs
	syncCtx  context.Context    // what a syncer started later runs under; nil before Run has started the first
	closing  bool               // Close has begun: no syncer starts any more
	closed   atomic.Bool        // Close was called: a second Close does nothing
	demoDev  *demoDevices       // the demo's simulators
	demoHub  *demoHub           // the demo's in-process data center
	cancel   context.CancelFunc // stops what Run started in the background
	bg       sync.WaitGroup
}

// NewMain returns a Main with the defaults of `station run` and the embedded UI when the binary was
// built with it, but without HTTPS: runFlags sets --listen-https's default (":8443"), as it does the
// demo hub console's, so that a Main built in a test or a tool opens no LAN port unless told.
func NewMain() *Main {
	m := &Main{
		DataDir: "./data",
		Listen:  "127.0.0.1:8080",
		Version: version,
		Logger:  slog.New(slog.DiscardHandler),
		Stdout:  io.Discard,
		Now:     time.Now,

		DiskReserve: diskspace.DefaultReserve,
	}
	if ui, ok := kioskui.Dist(); ok {
		m.UI = ui
	}
	return m
}

// Run opens the data directory and the store, seeds the demo data in demo mode, and starts the HTTP
// server. It returns once the server listens; Close stops everything.
func (m *Main) Run(ctx context.Context) error {
	// Bind the ports before anything touches the data directory: a port someone else holds stops the
	// start with nothing seeded, created or enrolled.
	if err := checkPlainListen(m.Listen); err != nil {
		return err
	}
	if err := m.checkTLSFlags(); err != nil {
		return err
	}
	var err error
	if m.httpLn, err = bindAddr(m.Listen, "--listen"); err != nil {
		return err
	}
	if m.ListenHTTPS != "" {
		if m.httpsLn, err = bindAddr(m.ListenHTTPS, "--listen-https"); err != nil {
			return err
		}
	}
	if m.Demo && m.DemoHub && m.HubConsole != "" {
		if m.consoleLn, err = bindAddr(m.HubConsole, "--hub-console"); err != nil {
			return err
		}
	}
	if m.ClusterListen != "" {
		if m.clusterLn, err = bindAddr(m.ClusterListen, "--cluster-listen"); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(m.DataDir, 0o700); err != nil {
		return fmt.Errorf("create data directory: %w", err)
	}
	if err := m.prepareSync(); err != nil {
		return err
	}
	if m.boxID, err = boxName(m.DataDir, m.ClusterName); err != nil {
		return err
	}
	if err := m.startTLS(); err != nil {
		return err
	}
	if err := m.startCluster(); err != nil {
		return err
	}
	key, err := datakey.Load(filepath.Join(m.DataDir, "datakey"))
	if err != nil {
		return fmt.Errorf("load data key: %w", err)
	}
	m.Key = key
	m.DB, err = openStore(ctx, m.DataDir, sqlite.WithLogger(m.Logger))
	if err != nil {
		return err
	}
	lcfg, err := m.logConfig()
	if err != nil {
		return err
	}
	lcfg.ID, lcfg.Space, lcfg.Logger, lcfg.Timing = m.boxID, m.Disk, m.Logger.With("component", "log"), m.RaftTiming
	if m.Log, err = openLog(ctx, m.DataDir, m.DB, lcfg); err != nil {
		return err
	}
	if m.control, err = startControl(m.DataDir, m.Log, m.Logger, m.clusterRoutes); err != nil {
		// On a full disk: the station still runs; the shell tools say they cannot reach it.
		m.Logger.Warn("the shell tools cannot reach this station", "err", err)
	}
	if m.Blobs, err = blob.Open(m.DataDir, blob.Options{}); err != nil {
		return fmt.Errorf("open blob store: %w", err)
	}
	m.syncMon = newSyncMonitor(m.DB, m.Now, m.limiter)
	if m.Cluster != nil {
		m.syncMon.leader = m.Cluster.LeaderSyncStatus
		m.Cluster.SyncStatus = m.syncMon.local
	}
	bgCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	m.cancel = cancel
	rcfg, err := m.deviceConfig(bgCtx)
	if err != nil {
		return err
	}
	var devs shttp.Devices
	if rcfg.IDReader != nil || rcfg.TicketPrinter != nil || rcfg.DocumentPrinter != nil || rcfg.Camera != nil {
		m.Rig = rig.New(rcfg)
		devs = m.Rig
		m.bg.Add(1)
		go func() {
			defer m.bg.Done()
			_ = m.Rig.Run(bgCtx)
		}()
	}
	var demoDevs shttp.DemoDevices
	if m.demoDev != nil {
		demoDevs = m.demoDev
	}
	var scanner shttp.Scanner
	if rcfg.Camera != nil {
		scanner = pageScanner{}
	}
	var testPage func(time.Time) []byte
	var printer issue.Printer
	if rcfg.DocumentPrinter != nil {
		testPage = func(at time.Time) []byte { return ipp.TestPage(at, "Station "+m.Version) }
		printer = m.Rig
	}
	if err := m.newCertificates(ctx, printer); err != nil {
		return err
	}
	if err := m.startBackups(bgCtx); err != nil {
		return err
	}
	var setup shttp.FirstRun
	if !m.Demo {
		setup = firstRun{m}
	}
	m.HTTP = shttp.NewServer(shttp.Config{
		Store:    m.DB,
		Log:      m.Log,
		Sealer:   m.Key,
		Hasher:   m.Hasher,
		Now:      m.Now,
		Logger:   m.Logger,
		UI:       m.UI,
		Devices:  devs,
		Demo:     demoDevs,
		Scanner:  scanner,
		Blobs:    m.Disk.Blobs(m.Blobs),
		TestPage: testPage,
		Version:  m.Version,

		SyncStore: m.DB,
		Sync:      m.syncMon,
		Disk:      m.Disk,
		Backups:   m.backups,

		Certificates: m.Certs,
		MetricsToken: m.MetricsToken,
		TLS:          m.tlsInfo(),
		FirstRun:     setup,
		Cluster:      clusterPage{m},
		Kiosk:        kioskInfo{m},
	})
	var accounts []demoUser
	if m.Demo {
		// The demo hub first: enrolling gives the station the hub's reveal key, so that the demo
		// applications seeded next carry the copy of the applicant's number a clerk can reveal.
		if m.DemoHub {
			if err := m.startDemoHub(ctx); err != nil {
				return fmt.Errorf("start the demo hub: %w", err)
			}
		}
		start := time.Now()
		if accounts, err = m.seedDemo(ctx); err != nil {
			return fmt.Errorf("seed demo data: %w", err)
		}
		m.Logger.Info("demo data ready", "took", time.Since(start).Round(time.Millisecond))
		// Hashing the demo passwords took tens of MiB (argon2id is memory-hard); give it back now rather
		// than leave an idle station holding it.
		debug.FreeOSMemory()
	}
	if err := m.startCertificates(ctx); err != nil {
		return fmt.Errorf("certificate signing key: %w", err)
	}
	m.afterLogOpen(bgCtx)
	m.syncMu.Lock()
	m.syncCtx = bgCtx
	if m.Log.IsLeader() { // else the box's leadership starts it (leadershipChanged)
		m.stopSync, err = startSyncer(ctx, m.DataDir, m.store(), m.Blobs, m.Logger, m.Now, m.syncOptions()...)
	}
	m.syncMu.Unlock()
	if err != nil {
		return fmt.Errorf("start syncer: %w", err)
	}
	if m.tls != nil {
		m.HTTP.Start(m.httpLn, m.httpsListener())
		m.bg.Add(1)
		go func() {
			defer m.bg.Done()
			m.tls.run(bgCtx)
		}()
	} else {
		m.HTTP.Start(m.httpLn)
	}
	m.httpLn, m.httpsLn = nil, nil // the server owns them now
	m.Logger.Info("station started", "version", m.Version, "addr", m.HTTP.Addr().String(), "https", m.HTTPSURL(), "data", m.DataDir, "demo", m.Demo)
	if err := m.banner(ctx, accounts); err != nil {
		return err
	}
	m.watchSetupCode(bgCtx)
	return nil
}

// syncOptions are the syncer's options in this station.
func (m *Main) syncOptions() []syncOption {
	return []syncOption{withMonitor(m.syncMon), withHubKeys(m.Key), m.demoHubSync()}
}

// store is the store with Submit going through the log, for the parts that read and submit alike.
func (m *Main) store() loggedStore { return loggedStore{DB: m.DB, log: m.Log} }

// URL returns the base URL the station serves on.
func (m *Main) URL() string {
	return "http://" + m.HTTP.Addr().String()
}

func (m *Main) banner(ctx context.Context, accounts []demoUser) error {
	u := m.URL()
	w := m.Stdout
	fmt.Fprintf(w, "社区便民服务站 %s 已启动\n", m.Version)
	fmt.Fprintf(w, "  自助终端  %s/kiosk\n  柜台      %s/counter\n  设置      %s/setup\n  接口文档  %s/api/v1/openapi.json\n", u, u, u, u)
	m.printHTTPS(w)
	if m.Demo {
		fmt.Fprintf(w, "演示账号（密码均为 %s）：\n", demoPassword)
		for _, a := range accounts {
			fmt.Fprintf(w, "  %-10s %s（%s）\n", a.username, a.displayName, a.role.Label())
		}
		m.printDemoHub(w)
		return nil
	}
	pending, err := m.firstRunPending(ctx)
	if err != nil || !pending {
		return err
	}
	if err := m.setupBanner(w); err != nil {
		return err
	}
	fmt.Fprintln(w, "  （也可在本机用 station user add 创建账号；体验功能请用 `station run --demo`，另用一个数据目录。）")
	return nil
}

// Close stops the HTTP server and closes the store. A second Close does nothing.
func (m *Main) Close() error {
	if m.closed.Swap(true) {
		return nil
	}
	var errs []error
	for _, ln := range []net.Listener{m.httpLn, m.httpsLn, m.consoleLn, m.clusterLn} { // bound, not yet served: a failed start
		if ln != nil {
			ln.Close()
		}
	}
	m.httpLn, m.httpsLn, m.consoleLn, m.clusterLn = nil, nil, nil, nil
	if m.HTTP != nil {
		errs = append(errs, m.HTTP.Close())
	}
	m.syncMu.Lock()
	m.closing = true
	if m.stopSync != nil {
		m.stopSync() // before the store closes: the syncer submits commands to it
		m.stopSync = nil
	}
	m.syncMu.Unlock()
	errs = append(errs, m.closeDemoHub()) // after the syncer, which talks to it
	if m.cancel != nil {
		m.cancel()
		m.bg.Wait()
	}
	errs = append(errs, m.demoDev.Close())
	if m.control != nil {
		errs = append(errs, m.control.Close())
	}
	if m.Log != nil {
		errs = append(errs, m.Log.Close()) // before the store it applies to
	}
	if m.clusterPort != nil {
		errs = append(errs, m.clusterPort.Close())
	}
	if m.DB != nil {
		errs = append(errs, m.DB.Close())
	}
	if m.Blobs != nil {
		errs = append(errs, m.Blobs.Close())
	}
	return errors.Join(errs...)
}

func runCommand(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	m := NewMain()
	fs := runFlags(m, stderr)
	applyConfig := configFlag(fs, os.LookupEnv)
	if err := fs.Parse(args); err != nil {
		return flagExit(err)
	}
	path, src, err := applyConfig()
	if err != nil {
		fmt.Fprintf(stderr, "配置错误（%s）：\n%v\n", path, err)
		return 2
	}
	m.applyDemoDefaults(src)
	m.Logger = slog.New(slog.NewTextHandler(stderr, nil))
	m.Stdout = stdout
	if err := m.Run(ctx); err != nil {
		var be *bindError
		var le *lanHTTPError
		var te *tlsFlagsError
		if errors.As(err, &be) || errors.As(err, &le) || errors.As(err, &te) {
			fmt.Fprintln(stderr, err.Error())
		} else {
			m.Logger.Error("start failed", "err", err)
		}
		_ = m.Close()
		return 1
	}
	stopping := notifySystemd(ctx, sdnotify.New(), m.DB.Ready, m.Logger)
	<-ctx.Done()
	stopping()
	m.Logger.Info("stopping")
	if err := m.Close(); err != nil {
		m.Logger.Error("stop", "err", err)
		return 1
	}
	return 0
}

// bindError is a port the station could not listen on: what it says names the address and the flag
// that changes it, in Chinese and in English.
type bindError struct {
	addr, flag string
	err        error
}

func (e *bindError) Error() string {
	why, whyEn := "无法监听", "cannot listen"
	if errors.Is(e.err, syscall.EADDRINUSE) {
		why, whyEn = "地址已被占用", "address already in use"
	} else if errors.Is(e.err, syscall.EACCES) {
		why, whyEn = "没有权限使用该端口", "permission denied"
	}
	return fmt.Sprintf("无法启动：%s %s（%v）。请用 %s 换一个地址，例如 %s 127.0.0.1:0（自动选择端口）。\n"+
		"cannot start: %s: %s; choose another address with %s", e.addr, why, e.err, e.flag, e.flag, e.addr, whyEn, e.flag)
}

func (e *bindError) Unwrap() error { return e.err }

// bindAddr listens on addr, or returns a bindError naming flag.
func bindAddr(addr, flag string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, &bindError{addr: addr, flag: flag, err: err}
	}
	return ln, nil
}

// runFlags is the flag set of `station run`, bound to m; `station config` reads the same set, so every
// flag is a key of the configuration file.
func runFlags(m *Main, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("station run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&m.DataDir, "data", m.DataDir, "数据目录")
	fs.Var(checkedString{&m.Listen, checkHostPort}, "listen", "明文 HTTP 监听地址 HOST:PORT，只能是本机地址（127.0.0.1、::1、localhost）；局域网用 listen-https")
	fs.BoolVar(&m.Demo, "demo", false, "演示模式：导入示例事项、居民和演示账号，使用模拟设备")
	fs.StringVar(&m.IDReader, "idreader", "", "身份证读卡器串口（如 /dev/ttyUSB0，auto 为自动查找）")
	fs.StringVar(&m.PhotoDecoder, "photo-decoder", "", "证件照片解码命令（WLT 转 BMP，可选）")
	fs.StringVar(&m.TicketPrinter, "ticket-printer", "", "小票打印机（tcp://HOST:9100 或 serial:///dev/ttyUSB0）")
	fs.StringVar(&m.DocumentPrinter, "document-printer", "", "A4打印机（ipp://HOST/…）")
	fs.StringVar(&m.Camera, "camera", "", "高拍仪（如 /dev/video0）")
	m.DemoHub = true
	m.HubConsole = defaultHubConsole
	fs.Var(checkedString{&m.HubConsole, checkHostPort}, "hub-console", "演示模式：内置数据中心的部门审批台监听地址（端口0为自动选择）")
	fs.StringVar(&m.MetricsToken, "metrics-token", "", "远程采集 /metrics 的令牌（Authorization: Bearer 令牌）；不设置时只对本机开放")
	m.registerSyncFlags(fs)
	m.registerCertFlags(fs)
	m.registerBackupFlags(fs)
	m.registerKioskFlags(fs)
	m.registerTLSFlags(fs)
	m.registerClusterFlags(fs)
	return fs
}

// systemActor is the actor of commands the station issues itself.
var systemActor = station.Actor{Username: "system", Role: station.RoleSystem}

// deviceConfig builds the rig configuration: the demo's simulators, or the devices given by flags.
func (m *Main) deviceConfig(ctx context.Context) (rig.Config, error) {
	cfg := rig.Config{Logger: m.Logger.With("component", "devices"), Now: m.Now}
	if m.Demo {
		residents, err := loadDemoResidents()
		if err != nil {
			return cfg, err
		}
		m.demoDev, cfg, err = startDemoDevices(ctx, m.DataDir, residents, cfg)
		return cfg, err
	}
	if m.IDReader != "" {
		port := m.IDReader
		if port == "auto" {
			port = ""
		}
		cfg.IDReader = idcard.New(idcard.Config{Port: port, PhotoDecoder: m.PhotoDecoder, Logger: cfg.Logger})
	}
	var err error
	if m.TicketPrinter != "" {
		if cfg.TicketPrinter, err = escpos.Open(m.TicketPrinter, escpos.Options{}); err != nil {
			return cfg, err
		}
	}
	if m.DocumentPrinter != "" {
		if cfg.DocumentPrinter, err = ipp.New(m.DocumentPrinter, documentPrinterOptions()); err != nil {
			return cfg, err
		}
	}
	if m.Camera != "" {
		if cfg.Camera, err = openCamera(m.Camera, false); err != nil {
			return cfg, err
		}
	}
	return cfg, nil
}
