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
	"strings"
	"text/tabwriter"
	"time"

	kioskui "github.com/civic-station/station/kiosk-ui"
	"github.com/civic-station/station/station"
	"github.com/civic-station/station/station/argon2id"
	"github.com/civic-station/station/station/revealkey"
	"github.com/civic-station/station/syncer/hub"
	"github.com/civic-station/station/syncer/hub/console"
	hubpostgres "github.com/civic-station/station/syncer/hub/postgres"
	hubsqlite "github.com/civic-station/station/syncer/hub/sqlite"
	"github.com/civic-station/station/syncer/protocol"
)

// HubMain is the running data-center hub: store, CA, blob directory, the HTTPS server of sync
// protocol v1 and the department console. Tests run the same HubMain on 127.0.0.1:0.
type HubMain struct {
	DataDir string
	Listen  string
	DB      string   // "" for the embedded SQLite store in DataDir; postgres://… for PostgreSQL
	Hosts   []string // names and addresses for the server certificate
	Console string   // the department console's address (plain HTTP); "" for none
	// ConsoleListener, when not nil, is the console's socket, bound by the caller before anything
	// else started (the demo binds its ports first); Console is then only its name.
	ConsoleListener net.Listener
	// MetricsToken lets a scraper elsewhere read /metrics with a bearer token; "" loopback only.
	MetricsToken string
	// MinStationVersion is the oldest station release the hub syncs with ("" any).
	MinStationVersion string

	Logger *slog.Logger
	Now    func() time.Time
	Hasher argon2id.Hasher // console passwords; argon2id.DefaultParams by default
	UI     fs.FS           // the built UI the console serves; nil serves a placeholder

	Store         hub.Store
	CA            *hub.CA
	RevealKey     *revealkey.PrivateKey // DataDir/reveal.key: opens the hub's copies of ID numbers
	Blobs         *hub.BlobStore
	Server        *hub.Server
	ConsoleServer *console.Server // nil without Console
}

// NewHubMain returns a HubMain with the defaults of `station hub` (but no console: the command's
// --console flag gives it defaultConsole) and the embedded UI when the binary was built with it.
func NewHubMain() *HubMain {
	m := &HubMain{DataDir: "./hub-data", Listen: "127.0.0.1:8443", Logger: slog.New(slog.DiscardHandler), Now: time.Now}
	if ui, ok := kioskui.Dist(); ok {
		m.UI = ui
	}
	return m
}

// Open opens the store, the CA, the reveal key and the blob directory, without serving.
func (m *HubMain) Open(ctx context.Context) error {
	if err := os.MkdirAll(m.DataDir, 0o700); err != nil {
		return fmt.Errorf("create hub data directory: %w", err)
	}
	var err error
	if m.Store, err = openHubStore(ctx, m.DB, m.DataDir); err != nil {
		return err
	}
	if m.CA, err = hub.LoadOrCreateCA(m.DataDir, m.Now()); err != nil {
		return err
	}
	if m.RevealKey, err = revealkey.Load(filepath.Join(m.DataDir, revealkey.FileName)); err != nil {
		return err
	}
	m.Blobs, err = hub.OpenBlobStore(filepath.Join(m.DataDir, "blobs"))
	return err
}

// openHubStore opens the store named by dbURL: the embedded SQLite database in dir when it is empty.
func openHubStore(ctx context.Context, dbURL, dir string) (hub.Store, error) {
	switch {
	case dbURL == "":
		return hubsqlite.Open(ctx, filepath.Join(dir, "hub.db"))
	case strings.HasPrefix(dbURL, "postgres://"), strings.HasPrefix(dbURL, "postgresql://"):
		return openPostgresHub(ctx, dbURL)
	}
	return nil, fmt.Errorf("unsupported --db %q (postgres://… or empty for SQLite)", dbURL)
}

// Run opens everything and starts serving; it returns once the server listens. Close stops it.
func (m *HubMain) Run(ctx context.Context) error {
	if err := m.Open(ctx); err != nil {
		return err
	}
	hosts := m.Hosts
	if len(hosts) == 0 {
		hosts = []string{"localhost", "127.0.0.1", "::1"}
		if h, err := os.Hostname(); err == nil {
			hosts = append(hosts, h)
		}
	}
	m.Server = hub.New(hub.Config{Store: m.Store, Blobs: m.Blobs, CA: m.CA, Now: m.Now, Logger: m.Logger, Hosts: hosts, MetricsToken: m.MetricsToken,
		MinStationVersion: m.MinStationVersion, RevealKey: m.RevealKey.Public()})
	if err := m.Server.Open(m.Listen); err != nil {
		return err
	}
	m.Logger.Info("hub started", "addr", m.Server.Addr().String(), "data", m.DataDir, "reveal_key", m.RevealKey.Public().Fingerprint())
	if m.Console != "" {
		m.ConsoleServer = console.New(console.Config{Store: m.Store, Blobs: m.Blobs, Hasher: m.Hasher, Decisions: m.Server,
			Revealer: m.RevealKey, UI: m.UI, Now: m.Now, Logger: m.Logger.With("component", "console")})
		if m.ConsoleListener != nil {
			m.ConsoleServer.Start(m.ConsoleListener)
			m.ConsoleListener = nil
		} else if err := m.ConsoleServer.Open(m.Console); err != nil {
			return err
		}
		m.Logger.Info("department console started", "addr", m.ConsoleServer.Addr().String())
	}
	return nil
}

// Close stops the console and the server and closes the store.
func (m *HubMain) Close() error {
	var errs []error
	if m.ConsoleServer != nil {
		errs = append(errs, m.ConsoleServer.Close())
	}
	if m.Server != nil {
		errs = append(errs, m.Server.Close())
	}
	if m.Store != nil {
		errs = append(errs, m.Store.Close())
	}
	return errors.Join(errs...)
}

// defaultConsole is where `station hub` serves the department console unless told otherwise.
const defaultConsole = "127.0.0.1:8444"

const hubUsage = `用法：
  station hub [--data DIR] [--listen HOST:PORT] [--db postgres://…] [--host 名称,…] [--console HOST:PORT]
                                                                                        启动数据中心和部门审批台
  station hub token create --station-name 名称 [--ttl 24h] [--data DIR] [--db URL]    生成一次性注册码
  station hub stations [--json] [--data DIR] [--db URL]                                 站点列表
  station hub records [--station ID] [--json] [--data DIR] [--db URL]                   已接收的记录
  station hub conflicts [--station ID] [--data DIR] [--db URL]                          已隔离的冲突记录（JSON）
  station hub decide --station ID --application ID (--approve | --reject --reason 原因) [--department 名称]
  station hub user add --username NAME --role clerk|admin [--department 名称] [--display-name 名称] < 密码
                                                                                        新建审批台账号（密码从标准输入读取）
  station hub users [--data DIR] [--db URL]                                             审批台账号列表
  station hub audit verify [--json] [--data DIR] [--db URL]                             校验审批台审计日志哈希链
  station hub publish catalog|calendar|notice FILE.json [--station ID] [--data DIR] [--db URL]  发布目录、日历、通知
  station hub revoke --station ID --certificate ID --reason 原因 [--data DIR] [--db URL]   撤销证明（发布到各站点）
`

// hubCommand runs `station hub` and its tools. The tools open the same store as a running hub and can
// run beside it.
func hubCommand(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		switch args[0] {
		case "token":
			if isHelp(args[1:]) {
				fmt.Fprint(stdout, hubUsage)
				return 0
			}
			if len(args) < 2 || args[1] != "create" {
				fmt.Fprint(stderr, hubUsage)
				return 2
			}
			return hubTokenCreate(ctx, args[2:], stdout, stderr)
		case "publish":
			return hubPublish(ctx, args[1:], stdout, stderr)
		case "revoke":
			return hubRevoke(ctx, args[1:], stdout, stderr)
		case "user", "users", "audit":
			return hubConsoleTool(ctx, args, stdin, stdout, stderr)
		case "stations", "records", "conflicts", "decide":
			return hubTool(ctx, args[0], args[1:], stdout, stderr)
		case "help":
			fmt.Fprint(stdout, hubUsage)
			return 0
		}
		fmt.Fprintf(stderr, "未知的子命令 %q\n\n%s", args[0], hubUsage)
		return 2
	}
	m := NewHubMain()
	fs := flag.NewFlagSet("station hub", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&m.DataDir, "data", m.DataDir, "数据目录")
	fs.StringVar(&m.Listen, "listen", m.Listen, "监听地址 HOST:PORT")
	fs.StringVar(&m.DB, "db", "", "PostgreSQL 连接串（为空则使用内置 SQLite）")
	hosts := fs.String("host", "", "服务器证书中的主机名或地址，逗号分隔")
	fs.StringVar(&m.MetricsToken, "metrics-token", os.Getenv("STATION_HUB_METRICS_TOKEN"), "远程采集 /metrics 的令牌（Authorization: Bearer 令牌；也可用环境变量 STATION_HUB_METRICS_TOKEN）；不设置时只对本机开放")
	fs.Func("min-station-version", "与之同步的最低站点版本，如 0.2.0（更旧的站点会收到升级提示；为空则不限）", func(v string) error {
		if _, ok := protocol.ParseVersion(v); !ok && v != "" {
			return fmt.Errorf("应为 X.Y.Z 形式的版本号，如 0.2.0 / want a release such as 0.2.0")
		}
		m.MinStationVersion = v
		return nil
	})
	fs.StringVar(&m.Console, "console", defaultConsole, "部门审批台监听地址（HTTP，默认仅本机；生产环境请在前面加 TLS 反向代理；为空则不启动）")
	if err := fs.Parse(args); err != nil {
		return flagExit(err)
	}
	if *hosts != "" {
		m.Hosts = strings.Split(*hosts, ",")
	}
	m.Logger = slog.New(slog.NewTextHandler(stderr, nil))
	if err := m.Run(ctx); err != nil {
		m.Logger.Error("hub start failed", "err", err)
		_ = m.Close()
		return 1
	}
	fmt.Fprintf(stdout, "数据中心已启动：%s\nCA 指纹：%s\n", m.Server.URL(), m.CA.Pin())
	if m.ConsoleServer != nil {
		fmt.Fprintf(stdout, "部门审批台：%s/hub（明文 HTTP，生产环境请在前面加 TLS 反向代理）\n", m.ConsoleServer.URL())
	}
	<-ctx.Done()
	if err := m.Close(); err != nil {
		m.Logger.Error("stop", "err", err)
		return 1
	}
	return 0
}

func hubFlags(name string, stderr io.Writer) (*flag.FlagSet, *HubMain) {
	m := NewHubMain()
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&m.DataDir, "data", m.DataDir, "数据目录")
	fs.StringVar(&m.DB, "db", "", "PostgreSQL 连接串（为空则使用内置 SQLite）")
	return fs, m
}

// openTool opens the hub's store for a tool run beside the hub (Open), saying on stderr when it
// cannot. The caller closes m when it returns true.
func (m *HubMain) openTool(ctx context.Context, stderr io.Writer) bool {
	if err := m.Open(ctx); err != nil {
		fmt.Fprintf(stderr, "打开数据中心存储失败：%v\n", err)
		return false
	}
	return true
}

func hubTokenCreate(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs, m := hubFlags("station hub token create", stderr)
	name := fs.String("station-name", "", "站点名称")
	ttl := fs.Duration("ttl", 24*time.Hour, "有效期")
	if err := fs.Parse(args); err != nil {
		return flagExit(err)
	}
	if *name == "" {
		fmt.Fprint(stderr, "缺少 --station-name\n\n"+hubUsage)
		return 2
	}
	if !m.openTool(ctx, stderr) {
		return 1
	}
	defer m.Close()
	tok, err := hub.CreateToken(ctx, m.Store, m.CA, *name, *ttl, m.Now())
	if err != nil {
		fmt.Fprintln(stderr, station.ErrorMessage(err))
		return 1
	}
	fmt.Fprintln(stdout, tok)
	return 0
}

func hubTool(ctx context.Context, tool string, args []string, stdout, stderr io.Writer) int {
	fs, m := hubFlags("station hub "+tool, stderr)
	stationID := fs.String("station", "", "站点编号")
	asJSON := fs.Bool("json", false, "以JSON输出")
	appID := fs.String("application", "", "办件编号（decide）")
	approve := fs.Bool("approve", false, "批准（decide）")
	reject := fs.Bool("reject", false, "不予批准（decide）")
	reason := fs.String("reason", "", "原因（decide）")
	department := fs.String("department", "", "审批部门（decide）")
	if err := fs.Parse(args); err != nil {
		return flagExit(err)
	}
	if !m.openTool(ctx, stderr) {
		return 1
	}
	defer m.Close()
	switch tool {
	case "stations":
		list, err := m.Store.Stations(ctx)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		if *asJSON {
			writeJSON(stdout, list)
			return 0
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "编号\t名称\t最后联系\t待传\t搁置\t时钟偏差\t版本")
		for _, s := range list {
			seen := "从未"
			if !s.LastSeen.IsZero() {
				seen = s.LastSeen.Local().Format("2006-01-02 15:04:05")
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\t%s\n", s.ID, s.Name, seen, s.Backlog, s.DeadLetters, s.ClockSkew, s.Version)
		}
		_ = tw.Flush()
	case "records":
		recs, err := m.Store.Records(ctx, hub.RecordFilter{StationID: *stationID})
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		if *asJSON {
			writeJSON(stdout, recs)
			return 0
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "站点\t序号\t编号\t类型\t发生时间")
		for _, r := range recs {
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\n", r.StationID, r.Seq, r.ID, r.Kind, r.OccurredAt.Local().Format("2006-01-02 15:04:05"))
		}
		_ = tw.Flush()
	case "conflicts":
		list, err := m.Store.Conflicts(ctx, *stationID)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		writeJSON(stdout, list)
	case "decide":
		if *stationID == "" || *appID == "" || *approve == *reject {
			fmt.Fprint(stderr, hubUsage)
			return 2
		}
		d := station.Decision{ApplicationID: *appID, Action: station.ActionApprove, Reason: *reason, Department: *department}
		if *reject {
			d.Action = station.ActionReject
		}
		if _, err := hub.PublishDecision(ctx, m.Store, *stationID, d, m.Now()); err != nil {
			fmt.Fprintln(stderr, station.ErrorMessage(err))
			return 1
		}
		fmt.Fprintf(stdout, "审批结果已发布，站点下次同步时生效：%s %s\n", *appID, d.Action.Label())
	}
	return 0
}

// openPostgresHub opens the PostgreSQL hub store.
func openPostgresHub(ctx context.Context, dbURL string) (hub.Store, error) {
	return hubpostgres.Open(ctx, dbURL, 16)
}
