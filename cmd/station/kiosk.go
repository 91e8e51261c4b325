package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"text/template"
	"time"
)

// `station kiosk`: the resident's screen on a kiosk box. Chromium in kiosk mode under cage (a Wayland
// compositor that shows one application full screen and nothing else: no desktop, no panel, no VT
// switch) on tty1, started by the station-kiosk unit once the station answers, restarted when it dies.
// The screen settings are keys of the station's configuration file (kiosk-url, kiosk-rotation,
// kiosk-blank-minutes), read by `station kiosk run` each time the unit starts.

// kioskPlan is the kiosk screen's part of the configuration.
type kioskPlan struct {
	URL          string // the page the screen shows
	Rotation     int    // clockwise rotation of the screen: 0, 90, 180 or 270
	BlankMinutes int    // minutes without a touch before the screen turns off; 0 never
}

const (
	kioskUnitName = "station-kiosk.service"
	kioskUser     = "station-kiosk"
	kioskHome     = "/var/lib/station-kiosk"
)

// kioskGroups are the groups the kiosk user needs to drive the screen and the touch panel.
var kioskGroups = []string{"video", "render", "input"}

func (m *Main) registerKioskFlags(fs *flag.FlagSet) {
	m.Kiosk = kioskPlan{URL: "http://127.0.0.1:8080/kiosk"}
	fs.StringVar(&m.Kiosk.URL, "kiosk-url", m.Kiosk.URL, "自助终端屏幕显示的页面（station kiosk 使用）")
	fs.Var(checkedInt{&m.Kiosk.Rotation, func(v int) error {
		if v%90 != 0 || v < 0 || v > 270 {
			return errors.New("应为 0、90、180 或 270 / want 0, 90, 180 or 270")
		}
		return nil
	}}, "kiosk-rotation", "自助终端屏幕顺时针旋转角度：0、90、180、270（station kiosk 使用）")
	fs.Var(checkedInt{&m.Kiosk.BlankMinutes, func(v int) error {
		if v < 0 || v > 24*60 {
			return errors.New("应为 0（不熄屏）到 1440 分钟 / want 0 (never) to 1440 minutes")
		}
		return nil
	}}, "kiosk-blank-minutes", "无人触摸多少分钟后熄屏，0 为不熄屏（station kiosk 使用；需安装 swayidle 和 wlr-randr）")
}

// checkedInt is an int flag with a check, so a bad value names its key in `station config check`.
type checkedInt struct {
	p     *int
	check func(int) error
}

func (c checkedInt) String() string {
	if c.p == nil {
		return "0"
	}
	return strconv.Itoa(*c.p)
}

func (c checkedInt) Set(v string) error {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		return errors.New("应为整数 / want an integer")
	}
	if err := c.check(n); err != nil {
		return err
	}
	*c.p = n
	return nil
}

// kioskArgv is the command the kiosk unit runs: cage with the rotation, and inside it Chromium in
// kiosk mode on the kiosk URL, under swayidle when the screen blanks.
func kioskArgv(p kioskPlan, chromium string) []string {
	argv := []string{"cage", "-d"} // -d: no client-side decorations
	for range p.Rotation / 90 {
		argv = append(argv, "-r") // each -r turns the output 90° clockwise
	}
	argv = append(argv, "--")
	browser := []string{chromium,
		"--kiosk", "--ozone-platform=wayland", "--incognito", "--no-first-run", "--noerrdialogs",
		"--disable-infobars", "--disable-session-crashed-bubble", "--disable-pinch", "--overscroll-history-navigation=0",
		"--disable-features=Translate,TouchpadOverscrollHistoryNavigation", "--check-for-update-interval=31536000",
		"--autoplay-policy=no-user-gesture-required", "--user-data-dir=" + kioskHome + "/chromium",
		p.URL}
	if p.BlankMinutes > 0 {
		secs := strconv.Itoa(p.BlankMinutes * 60)
		// swayidle turns every output off after the idle time and on at the next touch; Chromium is its
		// child through sh so that the unit's restart covers both.
		script := `swayidle -w timeout ` + secs + ` 'wlr-randr | awk "/^[^ ]/{print \$1}" | xargs -I{} wlr-randr --output {} --off' ` +
			`resume 'wlr-randr | awk "/^[^ ]/{print \$1}" | xargs -I{} wlr-randr --output {} --on' & exec "$@"`
		return append(append(argv, "sh", "-c", script, "station-kiosk"), browser...)
	}
	return append(argv, browser...)
}

// kioskUnitTemplate is the systemd unit of the kiosk screen: a login session on tty1 for the kiosk
// user (cage needs a seat), after the station, restarted whatever ends it.
const kioskUnitTemplate = `# systemd unit for the kiosk screen: written by "station kiosk install".
[Unit]
Description=Station kiosk screen (Chromium under cage on tty1)
Documentation=file:///usr/share/doc/station/README.md
After=station.service systemd-user-sessions.service plymouth-quit-wait.service getty@tty1.service
Wants=station.service
Conflicts=getty@tty1.service

[Service]
Type=simple
User={{.User}}
PAMName=login
TTYPath=/dev/tty1
TTYReset=yes
TTYVHangup=yes
TTYVTDisallocate=yes
StandardInput=tty-fail
StandardOutput=journal
StandardError=journal
UtmpIdentifier=tty1
UtmpMode=user
Environment=XDG_SESSION_TYPE=wayland
ExecStart={{.Executable}} kiosk run --config {{.Config}}
Restart=always
RestartSec=2

[Install]
WantedBy=graphical.target
`

type kioskUnitOptions struct {
	Executable, Config, User string
}

func renderKioskUnit(o kioskUnitOptions) (string, error) {
	var b bytes.Buffer
	err := template.Must(template.New("unit").Parse(kioskUnitTemplate)).Execute(&b, o)
	return b.String(), err
}

func kioskCommand(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	usage := "用法：station kiosk install|uninstall|run|unit [--config F]"
	if len(args) == 0 {
		fmt.Fprintln(stderr, usage)
		return 2
	}
	fs := flag.NewFlagSet("station kiosk "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := fs.String("config", defaultConfigPath(), "配置文件（kiosk-url、kiosk-rotation、kiosk-blank-minutes）")
	unitDir := fs.String("unit-dir", "/etc/systemd/system", "单元文件目录")
	if err := fs.Parse(args[1:]); err != nil {
		return flagExit(err)
	}
	exe, _ := os.Executable()
	o := kioskUnitOptions{Executable: exe, Config: *cfg, User: kioskUser}
	switch args[0] {
	case "unit":
		unit, err := renderKioskUnit(o)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		fmt.Fprint(stdout, unit)
		return 0
	case "install":
		return kioskInstall(o, *unitDir, stdout, stderr)
	case "uninstall":
		_ = execQuiet("systemctl", "disable", "--now", kioskUnitName)
		if err := os.Remove(filepath.Join(*unitDir, kioskUnitName)); err != nil && !errors.Is(err, os.ErrNotExist) {
			fmt.Fprintln(stderr, err)
			return 1
		}
		_ = execQuiet("systemctl", "daemon-reload")
		fmt.Fprintf(stdout, "已移除 %s（用户 %s 保留）\n", kioskUnitName, kioskUser)
		return 0
	case "run":
		return kioskRun(ctx, *cfg, stderr)
	}
	fmt.Fprintln(stderr, usage)
	return 2
}

// kioskInstall checks that cage and Chromium are installed, creates the kiosk user in the screen and
// input groups, writes the unit and enables it.
func kioskInstall(o kioskUnitOptions, unitDir string, stdout, stderr io.Writer) int {
	if os.Geteuid() != 0 {
		fmt.Fprintln(stderr, "需要管理员权限：sudo station kiosk install")
		return 1
	}
	var missing []string
	if _, err := exec.LookPath("cage"); err != nil {
		missing = append(missing, "cage")
	}
	if _, err := exec.LookPath("Xwayland"); err != nil { // Debian's cage aborts without it and does not pull it in
		missing = append(missing, "xwayland")
	}
	if chromiumPath() == "" {
		missing = append(missing, "chromium")
	}
	if len(missing) > 0 {
		fmt.Fprintf(stderr, "缺少 %s：请先 apt install %s\n", strings.Join(missing, "、"), strings.Join(missing, " "))
		return 1
	}
	if _, err := ensureSystemUser(o.User, kioskHome); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if err := os.MkdirAll(kioskHome, 0o700); err == nil {
		if uid, gid, err := lookupIDs(o.User); err == nil {
			_ = os.Chown(kioskHome, uid, gid)
		}
	}
	for _, g := range kioskGroups {
		if _, err := user.LookupGroup(g); err == nil {
			if err := execQuiet("usermod", "-a", "-G", g, o.User); err != nil {
				fmt.Fprintf(stderr, "把 %s 加入 %s 组失败：%v\n", o.User, g, err)
				return 1
			}
		}
	}
	if err := writeChromiumPolicy(chromiumPolicyDir); err != nil {
		fmt.Fprintf(stderr, "写入 Chromium 策略失败：%v\n", err)
		return 1
	}
	unit, err := renderKioskUnit(o)
	if err == nil {
		err = os.WriteFile(filepath.Join(unitDir, kioskUnitName), []byte(unit), 0o644)
	}
	if err != nil {
		fmt.Fprintf(stderr, "写入 %s 失败：%v\n", kioskUnitName, err)
		return 1
	}
	_ = execQuiet("systemctl", "daemon-reload")
	_ = execQuiet("systemctl", "set-default", "graphical.target")
	if err := execQuiet("systemctl", "enable", kioskUnitName); err != nil {
		fmt.Fprintf(stderr, "启用 %s 失败：%v\n", kioskUnitName, err)
		return 1
	}
	fmt.Fprintf(stdout, "已安装 %s：开机后在 tty1 全屏显示自助终端（用户 %s）；屏幕设置见配置文件 %s 的 kiosk-* 项，修改后 systemctl restart %s\n",
		kioskUnitName, o.User, o.Config, kioskUnitName)
	return 0
}

// chromiumPolicyDir is where Debian's Chromium reads the policies an administrator sets.
const chromiumPolicyDir = "/etc/chromium/policies/managed"

// chromiumPolicyFile is the kiosk's policy file in chromiumPolicyDir.
const chromiumPolicyFile = "station-kiosk.json"

// writeChromiumPolicy writes the kiosk's Chromium policy into dir: no offer to translate the page
// (the bubble covers the kiosk's top-right buttons, and --disable-features=Translate no longer stops
// it). A policy applies to every Chromium on the box: a kiosk box runs no other.
func writeChromiumPolicy(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, chromiumPolicyFile), []byte("{\"TranslateEnabled\": false}\n"), 0o644)
}

// chromiumPath finds Chromium under the names Debian and others give it.
func chromiumPath() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// kioskRun reads the configuration, waits until the station answers on the kiosk URL's host, and
// replaces itself with cage (so systemd supervises the compositor directly).
func kioskRun(ctx context.Context, config string, stderr io.Writer) int {
	m := NewMain()
	fset := runFlags(m, stderr)
	applyConfig := configFlag(fset, os.LookupEnv)
	if err := fset.Parse([]string{"--config", config}); err != nil {
		return flagExit(err)
	}
	if _, _, err := applyConfig(); err != nil {
		fmt.Fprintf(stderr, "配置错误：%v\n", err)
		return 2
	}
	chromium := chromiumPath()
	if chromium == "" {
		fmt.Fprintln(stderr, "找不到 chromium：apt install chromium")
		return 1
	}
	argv := kioskArgv(m.Kiosk, chromium)
	cage, err := exec.LookPath(argv[0])
	if err != nil {
		fmt.Fprintln(stderr, "找不到 cage：apt install cage")
		return 1
	}
	waitForStation(ctx, m.Kiosk.URL, stderr)
	if err := execReplace(cage, argv); err != nil {
		fmt.Fprintf(stderr, "启动 cage 失败：%v\n", err)
		return 1
	}
	return 0
}

// waitForStation polls the station's /readyz behind the kiosk URL until it answers 200, so the screen
// never shows a browser error page while the station starts (at most two minutes, then it goes on).
func waitForStation(ctx context.Context, kioskURL string, stderr io.Writer) {
	u, err := url.Parse(kioskURL)
	if err != nil {
		fmt.Fprintf(stderr, "kiosk-url 无效：%v\n", err)
		return
	}
	ready := (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: "/readyz"}).String()
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DialContext: (&net.Dialer{Timeout: time.Second}).DialContext}}
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if resp, err := client.Get(ready); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(time.Second)
	}
	fmt.Fprintln(stderr, "站点两分钟内未就绪，仍启动屏幕（页面会自行重试）")
}
