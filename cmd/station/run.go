package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"time"

	kioskui "github.com/civic-station/station/kiosk-ui"
	"github.com/civic-station/station/station"
	"github.com/civic-station/station/station/argon2id"
	"github.com/civic-station/station/station/datakey"
	shttp "github.com/civic-station/station/station/http"
	"github.com/civic-station/station/station/sqlite"
)

// Main is the running station: it opens the data directory and serves HTTP. Tests run the same Main
// on 127.0.0.1:0.
type Main struct {
	DataDir string
	Listen  string
	Demo    bool
	Version string

	Logger *slog.Logger
	Stdout io.Writer        // where the start-up banner goes
	Now    func() time.Time // the clock; time.Now by default
	Hasher argon2id.Hasher  // password hashing parameters; argon2id.DefaultParams by default
	UI     fs.FS            // the built UI; nil serves a placeholder

	DB   *sqlite.DB
	Key  *datakey.Key
	HTTP *shttp.Server
}

// NewMain returns a Main with the defaults of `station run` and the embedded UI when the binary was
// built with it.
func NewMain() *Main {
	m := &Main{
		DataDir: "./data",
		Listen:  "127.0.0.1:8080",
		Version: version,
		Logger:  slog.New(slog.DiscardHandler),
		Stdout:  io.Discard,
		Now:     time.Now,
	}
	if ui, ok := kioskui.Dist(); ok {
		m.UI = ui
	}
	return m
}

// Run opens the data directory and the store, seeds the demo data in demo mode, and starts the HTTP
// server. It returns once the server listens; Close stops everything.
func (m *Main) Run(ctx context.Context) error {
	if err := os.MkdirAll(m.DataDir, 0o700); err != nil {
		return fmt.Errorf("create data directory: %w", err)
	}
	key, err := datakey.Load(filepath.Join(m.DataDir, "datakey"))
	if err != nil {
		return fmt.Errorf("load data key: %w", err)
	}
	m.Key = key
	m.DB, err = sqlite.Open(ctx, filepath.Join(m.DataDir, "station.db"), sqlite.WithLogger(m.Logger))
	if err != nil {
		return err
	}
	m.HTTP = shttp.NewServer(shttp.Config{
		Store:   m.DB,
		Log:     m.DB,
		Sealer:  m.Key,
		Hasher:  m.Hasher,
		Now:     m.Now,
		Logger:  m.Logger,
		UI:      m.UI,
		Version: m.Version,
	})
	var accounts []demoUser
	if m.Demo {
		start := time.Now()
		if accounts, err = m.seedDemo(ctx); err != nil {
			return fmt.Errorf("seed demo data: %w", err)
		}
		m.Logger.Info("demo data ready", "took", time.Since(start).Round(time.Millisecond))
		// Hashing the demo passwords took tens of MiB (argon2id is memory-hard); give it back now rather
		// than leave an idle station holding it.
		debug.FreeOSMemory()
	}
	if err := m.HTTP.Open(m.Listen); err != nil {
		return err
	}
	m.Logger.Info("station started", "version", m.Version, "addr", m.HTTP.Addr().String(), "data", m.DataDir, "demo", m.Demo)
	return m.banner(ctx, accounts)
}

// URL returns the base URL the station serves on.
func (m *Main) URL() string {
	return "http://" + m.HTTP.Addr().String()
}

func (m *Main) banner(ctx context.Context, accounts []demoUser) error {
	u := m.URL()
	w := m.Stdout
	fmt.Fprintf(w, "社区便民服务站 %s 已启动\n", m.Version)
	fmt.Fprintf(w, "  自助终端  %s/kiosk\n  柜台      %s/counter\n  设置      %s/setup\n  接口文档  %s/api/v1/openapi.json\n", u, u, u, u)
	if m.Demo {
		fmt.Fprintf(w, "演示账号（密码均为 %s）：\n", demoPassword)
		for _, a := range accounts {
			fmt.Fprintf(w, "  %-10s %s（%s）\n", a.username, a.displayName, a.role.Label())
		}
		return nil
	}
	users, err := m.DB.Users(ctx)
	if err != nil {
		return err
	}
	if len(users) == 0 {
		fmt.Fprintln(w, "提示：尚未创建任何工作人员账号。体验功能请用 `station run --demo`（另用一个数据目录）。")
	}
	return nil
}

// Close stops the HTTP server and closes the store.
func (m *Main) Close() error {
	var errs []error
	if m.HTTP != nil {
		errs = append(errs, m.HTTP.Close())
	}
	if m.DB != nil {
		errs = append(errs, m.DB.Close())
	}
	return errors.Join(errs...)
}

func runCommand(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	m := NewMain()
	fs := flag.NewFlagSet("station run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&m.DataDir, "data", m.DataDir, "数据目录")
	fs.StringVar(&m.Listen, "listen", m.Listen, "监听地址 HOST:PORT")
	fs.BoolVar(&m.Demo, "demo", false, "演示模式：导入示例事项、居民和演示账号")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	m.Logger = slog.New(slog.NewTextHandler(stderr, nil))
	m.Stdout = stdout
	if err := m.Run(ctx); err != nil {
		m.Logger.Error("start failed", "err", err)
		_ = m.Close()
		return 1
	}
	<-ctx.Done()
	m.Logger.Info("stopping")
	if err := m.Close(); err != nil {
		m.Logger.Error("stop", "err", err)
		return 1
	}
	return 0
}

// systemActor is the actor of commands the station issues itself.
var systemActor = station.Actor{Username: "system", Role: station.RoleSystem}
