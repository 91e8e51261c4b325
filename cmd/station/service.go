package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/kardianos/service"

	"github.com/civic-station/station/internal/atomicfile"
)

// `station service install|uninstall|start|stop|restart|status`: the station as an OS service through
// kardianos/service — a systemd unit on Linux (Debian, Ubuntu, UOS, Kylin), a Windows service on
// Windows. Install also prepares the box: the `station` system user in the device groups, the data
// directory with private modes, and the configuration file.

// serviceName is the unit's and the Windows service's name.
const serviceName = "station"

// deviceGroups own the serial ports (ID card readers, ticket printers), printers and cameras on
// Debian-family and RPM-family systems; the service user joins those that exist.
var deviceGroups = []string{"dialout", "lp", "video"}

// serviceOptions is what `station service install` sets up.
type serviceOptions struct {
	Executable  string // the station binary the unit runs
	Config      string // the configuration file the unit passes with --config
	DataDir     string // the data directory the unit may write (and the user's home)
	User        string // the system user the service runs as
	Listen      string // written into a new configuration file: plain HTTP, loopback
	ListenHTTPS string // likewise: HTTPS for the counter terminals on the LAN
}

func defaultServiceOptions() serviceOptions {
	o := serviceOptions{Config: defaultConfigPath(), User: serviceName, Listen: "127.0.0.1:8080", ListenHTTPS: defaultListenHTTPS, DataDir: "/var/lib/station"}
	if runtime.GOOS == "windows" {
		o.DataDir = filepath.Join(filepath.Dir(o.Config), "data")
	}
	if exe, err := os.Executable(); err == nil {
		o.Executable = exe
	}
	return o
}

// unitTemplate is the systemd unit of a station box. packaging/station.service is this unit rendered
// with the packaged paths (a test keeps the two the same).
const unitTemplate = `# systemd unit for a station box: written by "station service install", shipped by the .deb and .rpm.
[Unit]
Description=Station community service station (社区便民服务站)
Documentation=file:///usr/share/doc/station/README.md
After=network-online.target
Wants=network-online.target
StartLimitIntervalSec=300
StartLimitBurst=10

[Service]
# READY=1 once the store is open and HTTP listens; WATCHDOG=1 while the store answers.
Type=notify
NotifyAccess=main
WatchdogSec=30
ExecStart={{quote .Executable}} run --config {{quote .Config}}
Restart=on-failure
RestartSec=2
TimeoutStartSec=120
TimeoutStopSec=30
User={{.User}}
Group={{.User}}
UMask=0077
{{- if eq .DataDir "/var/lib/station"}}
StateDirectory=station
StateDirectoryMode=0700
{{- end}}
NoNewPrivileges=yes
ProtectSystem=strict
ProtectHome=yes
PrivateTmp=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectControlGroups=yes
RestrictSUIDSGID=yes
LockPersonality=yes
ReadWritePaths={{quote .DataDir}}
LimitNOFILE=65536

[Install]
WantedBy=multi-user.target
`

// systemdQuote quotes a path for a unit file when it needs it.
func systemdQuote(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\"'\\") {
		return s
	}
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// renderUnit is the systemd unit for o.
func renderUnit(o serviceOptions) (string, error) {
	t, err := template.New("unit").Funcs(template.FuncMap{"quote": systemdQuote}).Parse(unitTemplate)
	if err != nil {
		return "", err
	}
	var b bytes.Buffer
	if err := t.Execute(&b, o); err != nil {
		return "", err
	}
	return b.String(), nil
}

// newService is the kardianos service for o. The unit is rendered here, so kardianos gets a script
// with no template actions left.
func newService(o serviceOptions, prg service.Interface) (service.Service, error) {
	unit, err := renderUnit(o)
	if err != nil {
		return nil, err
	}
	cfg := &service.Config{
		Name:        serviceName,
		DisplayName: "Station 社区便民服务站",
		Description: "Station community service station (社区便民服务站)",
		Executable:  o.Executable,
		Arguments:   []string{"run", "--config", o.Config},
		Option: service.KeyValue{
			"SystemdScript":          strings.ReplaceAll(unit, "{{", "{{`{{`}}"),
			"StartType":              "automatic",
			"OnFailure":              "restart",
			"OnFailureDelayDuration": "5s",
			"OnFailureResetPeriod":   300,
		},
	}
	if runtime.GOOS != "windows" {
		cfg.UserName = o.User
	}
	if prg == nil {
		prg = noProgram{}
	}
	return service.New(prg, cfg)
}

// noProgram is the service.Interface of the control commands, which install or start the service
// but do not run it.
type noProgram struct{}

func (noProgram) Start(service.Service) error { return nil }
func (noProgram) Stop(service.Service) error  { return nil }

// supportedPlatform says why this box cannot have the service, or "" when it can.
func supportedPlatform() string {
	switch p := service.Platform(); p {
	case "linux-systemd", "windows-service":
		return ""
	default:
		pid1, _ := os.ReadFile("/proc/1/comm")
		return fmt.Sprintf("本机的服务管理器是 %s（1 号进程为 %s），station 只支持 systemd 和 Windows 服务；可直接运行 station run --config %s",
			p, strings.TrimSpace(string(pid1)), defaultConfigPath())
	}
}

const serviceHelp = `用法：
  station service install [--config FILE] [--data DIR] [--user station] [--listen ADDR] [--listen-https ADDR] [--no-unit]
                                   安装为系统服务：建立 station 用户（加入串口、打印机、摄像头组）、
                                   数据目录（仅该用户可读写）、配置文件，并注册开机自启
  station service uninstall        注销服务（保留数据目录、配置文件和用户）
  station service start|stop|restart
  station service status           一行说明：是否在运行、自何时起、日志在哪里
`

// serviceCommand is `station service …`.
func serviceCommand(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, serviceHelp)
		return 2
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, serviceHelp)
		return 0
	}
	if isHelp(args[1:]) {
		fmt.Fprint(stdout, serviceHelp)
		return 0
	}
	switch args[0] {
	case "install":
		return serviceInstall(args[1:], stdout, stderr)
	case "uninstall", "start", "stop", "restart":
		return serviceControl(args[0], stdout, stderr)
	case "status":
		return serviceStatus(stdout, stderr)
	}
	fmt.Fprintf(stderr, "未知的子命令 service %q\n\n%s", args[0], serviceHelp)
	return 2
}

func serviceInstall(args []string, stdout, stderr io.Writer) int {
	o := defaultServiceOptions()
	fs := flag.NewFlagSet("station service install", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.Config, "config", o.Config, "配置文件")
	fs.StringVar(&o.DataDir, "data", o.DataDir, "数据目录")
	fs.StringVar(&o.User, "user", o.User, "运行服务的系统用户")
	fs.StringVar(&o.Listen, "listen", o.Listen, "新配置文件中的明文 HTTP 监听地址（只能是本机地址）")
	fs.StringVar(&o.ListenHTTPS, "listen-https", o.ListenHTTPS, "新配置文件中的 HTTPS 监听地址（柜台电脑经局域网访问）")
	noUnit := fs.Bool("no-unit", false, "只准备用户、数据目录和配置文件，不注册服务（软件包的安装脚本使用：单元文件由软件包提供）")
	if err := fs.Parse(args); err != nil {
		return flagExit(err)
	}
	if err := checkPlainListen(o.Listen); err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	if runtime.GOOS != "windows" && os.Geteuid() != 0 {
		fmt.Fprintln(stderr, "需要 root 权限：sudo station service install")
		return 1
	}
	if !*noUnit {
		if why := supportedPlatform(); why != "" {
			fmt.Fprintln(stderr, why)
			return 1
		}
	}
	var err error
	if o.DataDir, err = filepath.Abs(o.DataDir); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	steps, err := prepareBox(o)
	for _, s := range steps {
		fmt.Fprintln(stdout, s)
	}
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if err := installSetupCode(o.DataDir, stdout); err != nil {
		fmt.Fprintf(stderr, "生成首次设置码失败：%v\n", err)
		return 1
	}
	if *noUnit {
		return 0
	}
	s, err := newService(o, nil)
	if err == nil {
		err = s.Install()
	}
	if err != nil {
		if strings.Contains(err.Error(), "already exists") {
			fmt.Fprintln(stdout, "服务已经安装过（保持不变）；要重新安装请先 station service uninstall")
			return 0
		}
		fmt.Fprintf(stderr, "注册服务失败：%v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "已注册 %s 服务并设为开机自启。\n启动：station service start；状态：station service status；%s\n", serviceName, logHint())
	return 0
}

// prepareBox creates what the service needs on the box: the user (in the device groups), the data
// directory and the configuration file. Each step is idempotent; it returns a line per change made.
func prepareBox(o serviceOptions) ([]string, error) {
	var done []string
	if runtime.GOOS != "windows" {
		made, err := ensureSystemUser(o.User, o.DataDir)
		if err != nil {
			return done, err
		}
		if made {
			done = append(done, fmt.Sprintf("已建立系统用户 %s", o.User))
		}
		for _, g := range deviceGroups {
			if _, err := user.LookupGroup(g); err != nil {
				continue // not on this system: nothing to join
			}
			if err := execQuiet("usermod", "-a", "-G", g, o.User); err != nil {
				return done, fmt.Errorf("把 %s 加入 %s 组失败：%w", o.User, g, err)
			}
		}
	}
	if err := os.MkdirAll(o.DataDir, 0o700); err != nil {
		return done, fmt.Errorf("建立数据目录 %s 失败：%w", o.DataDir, err)
	}
	if err := os.Chmod(o.DataDir, 0o700); err != nil {
		return done, err
	}
	if runtime.GOOS != "windows" {
		uid, gid, err := lookupIDs(o.User)
		if err != nil {
			return done, err
		}
		if err := os.Chown(o.DataDir, uid, gid); err != nil {
			return done, fmt.Errorf("设置数据目录 %s 的属主失败：%w", o.DataDir, err)
		}
	}
	done = append(done, fmt.Sprintf("数据目录 %s（仅 %s 可读写）", o.DataDir, o.User))
	wrote, err := writeDefaultConfig(o)
	if err != nil {
		return done, err
	}
	if wrote {
		done = append(done, fmt.Sprintf("已写入配置文件 %s（station config check 检查；全部配置项见 station config example）", o.Config))
	} else if up, err := upgradeConfig(o.Config); err != nil {
		return done, err
	} else if up {
		done = append(done, fmt.Sprintf("已更新配置文件 %s：listen 改为 127.0.0.1:8080（明文 HTTP 只供本机），柜台电脑改用 HTTPS（listen-https = \":8443\"，本站根证书在设置页下载）", o.Config))
	} else {
		done = append(done, fmt.Sprintf("保留已有的配置文件 %s", o.Config))
	}
	return done, nil
}

// installSetupCode makes and prints the first-run setup code of a fresh data directory (no database
// yet). A box that already has a database keeps what it has: `station setup code` makes a code for
// one that still waits for its setup.
func installSetupCode(dataDir string, stdout io.Writer) error {
	if _, err := os.Stat(filepath.Join(dataDir, "station.db")); err == nil {
		fmt.Fprintln(stdout, "数据目录中已有数据库：不生成首次设置码（如本站仍需首次设置，运行 station setup code）")
		return nil
	}
	code, err := newSetupCode(dataDir, time.Now())
	if err != nil {
		return err
	}
	printSetupCode(stdout, code)
	return nil
}

// ensureSystemUser creates the system user name (home dir, no login shell) unless it exists and
// reports whether it did.
func ensureSystemUser(name, home string) (bool, error) {
	if _, err := user.Lookup(name); err == nil {
		return false, nil
	}
	shell := "/usr/sbin/nologin"
	if _, err := os.Stat(shell); err != nil {
		shell = "/sbin/nologin"
	}
	if err := execQuiet("useradd", "--system", "--user-group", "--home-dir", home, "--no-create-home",
		"--shell", shell, "--comment", "Station community service station", name); err != nil {
		return false, fmt.Errorf("建立系统用户 %s 失败：%w", name, err)
	}
	return true, nil
}

func lookupIDs(name string) (int, int, error) {
	u, err := user.Lookup(name)
	if err != nil {
		return 0, 0, fmt.Errorf("找不到用户 %s：%w", name, err)
	}
	uid, err1 := strconv.Atoi(u.Uid)
	gid, err2 := strconv.Atoi(u.Gid)
	if err1 != nil || err2 != nil {
		return 0, 0, fmt.Errorf("用户 %s 的 uid/gid 不是数字：%s/%s", name, u.Uid, u.Gid)
	}
	return uid, gid, nil
}

// writeDefaultConfig writes a configuration file for a real station, unless one exists: the data
// directory and the listen addresses set, every other key commented out with its meaning. Readable by
// the service's group only (it may hold a metrics token).
func writeDefaultConfig(o serviceOptions) (bool, error) {
	if _, err := os.Stat(o.Config); err == nil {
		return false, nil
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s于 %s 写入。\ndata = %q\nlisten = %q\nlisten-https = %q\n\n", writtenByInstall, time.Now().Format("2006-01-02"), o.DataDir, o.Listen, o.ListenHTTPS)
	fset := runFlags(NewMain(), io.Discard)
	if err := exampleConfig(&b, fset, "data", "listen", "listen-https"); err != nil {
		return false, err
	}
	if err := os.MkdirAll(filepath.Dir(o.Config), 0o755); err != nil {
		return false, fmt.Errorf("建立配置目录失败：%w", err)
	}
	if err := os.WriteFile(o.Config, b.Bytes(), 0o640); err != nil {
		return false, fmt.Errorf("写入配置文件 %s 失败：%w", o.Config, err)
	}
	if runtime.GOOS != "windows" {
		if _, gid, err := lookupIDs(o.User); err == nil {
			_ = os.Chown(o.Config, 0, gid)
		}
	}
	return true, nil
}

// writtenByInstall begins the first line of a file writeDefaultConfig wrote.
const writtenByInstall = "# 由 station service install "

// oldListenLine is the plain-HTTP address on every interface that station service install wrote
// before the station served HTTPS.
const oldListenLine = `listen = "0.0.0.0:8080"`

// upgradeConfig moves a configuration file that station service install wrote before HTTPS, and
// that still has its plain-HTTP listen on every address, to loopback HTTP and HTTPS for the LAN, so
// that a package upgrade does not leave a station that refuses to start. A file the technician wrote
// or changed that way is left alone (station run and station config check then say what to change).
// It reports whether it changed the file.
func upgradeConfig(path string) (bool, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return false, err
	}
	text := string(data)
	if !strings.HasPrefix(text, writtenByInstall) {
		return false, nil
	}
	lines := strings.Split(text, "\n")
	at := -1
	for i, l := range lines {
		switch {
		case strings.TrimSpace(l) == oldListenLine:
			at = i
		case strings.HasPrefix(strings.TrimSpace(l), "listen-https"):
			return false, nil // already has an HTTPS setting
		}
	}
	if at < 0 {
		return false, nil
	}
	lines[at] = fmt.Sprintf("listen = %q\nlisten-https = %q", "127.0.0.1:8080", defaultListenHTTPS)
	fi, err := os.Stat(path)
	if err != nil {
		return false, err
	}
	if err := atomicfile.WriteFile(path, []byte(strings.Join(lines, "\n")), fi.Mode().Perm()); err != nil {
		return false, fmt.Errorf("更新配置文件 %s 失败：%w", path, err)
	}
	keepOwner(path, fi) // the rename made a file of root's; the service's group must still read it
	return true, nil
}

func execQuiet(name string, args ...string) error {
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %v: %s", name, err, strings.TrimSpace(string(out)))
	}
	return nil
}

func serviceControl(action string, stdout, stderr io.Writer) int {
	if why := supportedPlatform(); why != "" {
		fmt.Fprintln(stderr, why)
		return 1
	}
	s, err := newService(defaultServiceOptions(), nil)
	if err == nil {
		err = service.Control(s, action)
	}
	if err != nil {
		fmt.Fprintf(stderr, "station service %s 失败：%v\n%s\n", action, err, logHint())
		return 1
	}
	msg := map[string]string{"uninstall": "已注销服务（数据目录、配置文件和用户保留不变）", "start": "已启动", "stop": "已停止", "restart": "已重启"}[action]
	fmt.Fprintln(stdout, msg)
	return 0
}

// logHint says where the service's logs are.
func logHint() string {
	if runtime.GOOS == "windows" {
		return "日志：事件查看器 → Windows 日志 → 应用程序（来源 station）"
	}
	return "日志：journalctl -u station"
}

func serviceStatus(stdout, stderr io.Writer) int {
	if why := supportedPlatform(); why != "" {
		fmt.Fprintln(stderr, why)
		return 1
	}
	if runtime.GOOS != "windows" {
		out, err := exec.Command("systemctl", "show", serviceName, "--property=LoadState,ActiveState,SubState,ActiveEnterTimestamp,MainPID,NRestarts").Output()
		if err != nil {
			fmt.Fprintf(stderr, "systemctl show 失败：%v\n", err)
			return 1
		}
		line, running := describeUnit(string(out))
		fmt.Fprintln(stdout, line)
		if !running {
			return 3 // as systemctl status does for a unit that is not active
		}
		return 0
	}
	s, err := newService(defaultServiceOptions(), nil)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	st, err := s.Status()
	switch {
	case errors.Is(err, service.ErrNotInstalled):
		fmt.Fprintln(stdout, "未安装：station service install")
		return 3
	case err != nil:
		fmt.Fprintln(stderr, err)
		return 1
	case st == service.StatusRunning:
		fmt.Fprintln(stdout, "运行中；"+logHint())
		return 0
	}
	fmt.Fprintln(stdout, "已停止；"+logHint())
	return 3
}

// describeUnit turns `systemctl show` properties into the one line `station service status` prints,
// and reports whether the service runs.
func describeUnit(show string) (string, bool) {
	p := map[string]string{}
	for _, l := range strings.Split(show, "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(l), "="); ok {
			p[k] = v
		}
	}
	if p["LoadState"] == "not-found" {
		return "未安装：station service install", false
	}
	restarts := ""
	if n, _ := strconv.Atoi(p["NRestarts"]); n > 0 {
		restarts = fmt.Sprintf("，已自动重启 %d 次", n)
	}
	switch p["ActiveState"] {
	case "active", "reloading":
		since := p["ActiveEnterTimestamp"]
		return fmt.Sprintf("运行中（自 %s 起，PID %s%s）；%s", since, p["MainPID"], restarts, logHint()), true
	case "activating":
		return fmt.Sprintf("正在启动（%s%s）；%s", p["SubState"], restarts, logHint()), false
	case "failed":
		return fmt.Sprintf("已失败（%s%s），请查看日志：journalctl -u station -n 50", p["SubState"], restarts), false
	}
	return fmt.Sprintf("未运行（%s）；启动：station service start；%s", p["ActiveState"], logHint()), false
}
