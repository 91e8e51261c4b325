package main

import (
	"flag"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
)

var updateUnit = flag.Bool("update-unit", false, "rewrite packaging/station.service from the unit template")

// packagedUnit is the unit the .deb and .rpm ship: the template with the packaged paths.
var packagedUnit = serviceOptions{Executable: "/usr/bin/station", Config: "/etc/station/station.toml", DataDir: "/var/lib/station", User: "station"}

// TestPackagedUnitIsTheTemplate keeps packaging/station.service and the unit `station service install`
// writes the same unit.
func TestPackagedUnitIsTheTemplate(t *testing.T) {
	want, err := renderUnit(packagedUnit)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("..", "..", "packaging", "station.service")
	if *updateUnit {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf("packaging/station.service differs from the unit template; run go test ./cmd/station -run PackagedUnit -update-unit\n--- file\n%s\n--- template\n%s", got, want)
	}
	for _, line := range []string{"Type=notify", "WatchdogSec=30", "Restart=on-failure", "User=station", "ProtectSystem=strict",
		"NoNewPrivileges=yes", "ReadWritePaths=/var/lib/station", "StateDirectory=station", "ExecStart=/usr/bin/station run --config /etc/station/station.toml"} {
		if !strings.Contains(want, "\n"+line+"\n") {
			t.Errorf("the unit lacks %q", line)
		}
	}
}

func TestUnitForAnotherDataDirectoryQuotesPathsAndDropsStateDirectory(t *testing.T) {
	u, err := renderUnit(serviceOptions{Executable: "/opt/station bin/station", Config: "/etc/station/station.toml", DataDir: "/srv/station data", User: "kiosk"})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`ExecStart="/opt/station bin/station" run`, `ReadWritePaths="/srv/station data"`, "User=kiosk"} {
		if !strings.Contains(u, want) {
			t.Errorf("unit lacks %q:\n%s", want, u)
		}
	}
	if strings.Contains(u, "StateDirectory=") {
		t.Error("StateDirectory= would create /var/lib/station beside a data directory elsewhere")
	}
}

// TestSystemdAcceptsTheUnit runs systemd's own checker on the rendered unit (where systemd-analyze
// is installed; Debian's systemd package has it).
func TestSystemdAcceptsTheUnit(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze not installed")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	o := packagedUnit
	o.Executable = exe // verify checks that ExecStart's binary exists
	unit, err := renderUnit(o)
	if err != nil {
		t.Fatal(err)
	}
	verifyUnit(t, analyze, "station.service", unit)
}

// verifyUnit runs systemd-analyze verify on a unit file named name holding unit.
func verifyUnit(t *testing.T, analyze, name, unit string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(unit), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(analyze, "verify", "--man=no", path).CombinedOutput()
	// Without systemd as PID 1 verify may complain about the system itself; only lines naming the
	// unit file are about the unit.
	var bad []string
	for _, l := range strings.Split(string(out), "\n") {
		if strings.Contains(l, name) && !strings.Contains(l, "Failed to prepare") {
			bad = append(bad, l)
		}
	}
	if len(bad) > 0 {
		t.Errorf("systemd-analyze verify (%v):\n%s", err, strings.Join(bad, "\n"))
	}
}

func TestDescribeUnitIsOneLine(t *testing.T) {
	cases := []struct {
		show    string
		want    []string
		running bool
	}{
		{"LoadState=loaded\nActiveState=active\nSubState=running\nActiveEnterTimestamp=Mon 2026-12-07 09:00:01 CST\nMainPID=4242\nNRestarts=2\n",
			[]string{"运行中", "自 Mon 2026-12-07 09:00:01 CST 起", "PID 4242", "已自动重启 2 次", "journalctl -u station"}, true},
		{"LoadState=loaded\nActiveState=failed\nSubState=failed\nMainPID=0\nNRestarts=10\n", []string{"已失败", "journalctl -u station -n 50"}, false},
		{"LoadState=not-found\nActiveState=inactive\n", []string{"未安装"}, false},
		{"LoadState=loaded\nActiveState=inactive\nSubState=dead\n", []string{"未运行", "station service start"}, false},
	}
	for _, c := range cases {
		line, running := describeUnit(c.show)
		if running != c.running || strings.Contains(line, "\n") {
			t.Errorf("describeUnit(%q) = %q, %v", c.show, line, running)
		}
		for _, w := range c.want {
			if !strings.Contains(line, w) {
				t.Errorf("%q lacks %q", line, w)
			}
		}
	}
}

// TestServiceInstallWithoutSystemdSaysWhy: on a box whose PID 1 is not systemd (this test machine),
// install refuses in one clear sentence instead of writing a unit nobody starts.
func TestServiceInstallWithoutSystemdSaysWhy(t *testing.T) {
	if why := supportedPlatform(); why == "" {
		t.Skip("this machine has systemd or is Windows")
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root (install checks for root first)")
	}
	code, _, stderr := runCLI(t, "service", "install", "--config", filepath.Join(t.TempDir(), "s.toml"))
	if code != 1 || !strings.Contains(stderr, "只支持 systemd 和 Windows 服务") {
		t.Errorf("exit %d, %q", code, stderr)
	}
}

// TestPrepareBoxCreatesTheUserDataAndConfig runs the install's preparation for real (root only): a
// system user in the device groups, a private data directory it owns, and a configuration file that
// `station config check` accepts; a second run changes nothing.
func TestPrepareBoxCreatesTheUserDataAndConfig(t *testing.T) {
	if runtime.GOOS != "linux" || os.Geteuid() != 0 {
		t.Skip("needs root on Linux")
	}
	if _, err := exec.LookPath("useradd"); err != nil {
		t.Skip("no useradd")
	}
	name := "stationtest"
	if _, err := user.Lookup(name); err == nil {
		t.Fatalf("user %s exists before the test", name)
	}
	t.Cleanup(func() { _ = exec.Command("userdel", name).Run() })
	dir := t.TempDir()
	o := serviceOptions{Config: filepath.Join(dir, "etc", "station.toml"), DataDir: filepath.Join(dir, "data"), User: name, Listen: "127.0.0.1:8080"}
	code, out, stderr := runCLI(t, "service", "install", "--no-unit", "--config", o.Config, "--data", o.DataDir, "--user", name)
	if code != 0 {
		t.Fatalf("install --no-unit: exit %d: %s %s", code, out, stderr)
	}
	u, err := user.Lookup(name)
	if err != nil {
		t.Fatalf("no user after install: %v", err)
	}
	groups, _ := u.GroupIds()
	for _, g := range deviceGroups {
		grp, err := user.LookupGroup(g)
		if err != nil {
			continue
		}
		if !contains(groups, grp.Gid) {
			t.Errorf("%s is not in group %s", name, g)
		}
	}
	fi, err := os.Stat(o.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o700 || fi.Sys().(*syscall.Stat_t).Uid != atou(u.Uid) {
		t.Errorf("data directory mode %v uid %d, want 0700 owned by %s", fi.Mode().Perm(), fi.Sys().(*syscall.Stat_t).Uid, u.Uid)
	}
	cf, err := os.Stat(o.Config)
	if err != nil || cf.Mode().Perm() != 0o640 {
		t.Fatalf("config file: %v, %v", cf, err)
	}
	if code, _, stderr := runCLI(t, "config", "check", "--config", o.Config); code != 0 {
		t.Errorf("the written config does not check: %s", stderr)
	}
	data, _ := os.ReadFile(o.Config)
	if !strings.Contains(string(data), "data = \""+o.DataDir+"\"") {
		t.Errorf("the config does not name the data directory:\n%s", data)
	}
	for _, want := range []string{"\nlisten = \"127.0.0.1:8080\"\n", "\nlisten-https = \":8443\"\n"} {
		if !strings.Contains(string(data), want) {
			t.Errorf("the config lacks %q:\n%s", want, data)
		}
	}
	code, out, _ = runCLI(t, "service", "install", "--no-unit", "--config", o.Config, "--data", o.DataDir, "--user", name)
	if code != 0 || strings.Contains(out, "已建立系统用户") || !strings.Contains(out, "保留已有的配置文件") {
		t.Errorf("a second install: exit %d, %q", code, out)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func atou(s string) uint32 {
	var n uint32
	for _, c := range s {
		n = n*10 + uint32(c-'0')
	}
	return n
}

// TestAnUpgradeMovesTheOldPlainHTTPConfigToHTTPS: a file station service install wrote before HTTPS
// (listen on every address) is moved to loopback HTTP and HTTPS on :8443 and then checks clean; a
// file the technician wrote is left as it is.
func TestAnUpgradeMovesTheOldPlainHTTPConfigToHTTPS(t *testing.T) {
	old := "# 由 station service install 于 2026-06-01 写入。\ndata = \"/var/lib/station\"\nlisten = \"0.0.0.0:8080\"\n\n# idreader = \"\"\n"
	p := writeConfig(t, old)
	if code, _, _ := runCLI(t, "config", "check", "--config", p); code != 1 {
		t.Fatalf("the old file checks clean (exit %d): the refusal of plain HTTP on the LAN is not reported", code)
	}
	changed, err := upgradeConfig(p)
	if err != nil || !changed {
		t.Fatalf("upgrade: %v, changed %v", err, changed)
	}
	data, _ := os.ReadFile(p)
	want := strings.Replace(old, "listen = \"0.0.0.0:8080\"", "listen = \"127.0.0.1:8080\"\nlisten-https = \":8443\"", 1)
	if string(data) != want {
		t.Errorf("upgraded file:\n%s\nwant:\n%s", data, want)
	}
	if code, out, stderr := runCLI(t, "config", "check", "--config", p); code != 0 {
		t.Errorf("the upgraded file: exit %d %s %s", code, out, stderr)
	}
	if changed, err := upgradeConfig(p); err != nil || changed {
		t.Errorf("a second upgrade: changed %v, %v", changed, err)
	}
	own := writeConfig(t, "# 张工写的\nlisten = \"0.0.0.0:8080\"\n")
	if changed, err := upgradeConfig(own); err != nil || changed {
		t.Errorf("a technician's file: changed %v, %v", changed, err)
	}
}
