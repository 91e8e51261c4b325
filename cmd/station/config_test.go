package main

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

func writeConfig(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "station.toml")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestConfigExampleListsEveryRunFlagAndChecksClean: the generated example names each flag of
// `station run`, and uncommented as it is, passes `station config check`.
func TestConfigExampleListsEveryRunFlagAndChecksClean(t *testing.T) {
	code, example, stderr := runCLI(t, "config", "example")
	if code != 0 {
		t.Fatalf("config example: exit %d: %s", code, stderr)
	}
	runFlags(NewMain(), nil).VisitAll(func(f *flag.Flag) {
		if !strings.Contains(example, "# "+f.Name+" = ") {
			t.Errorf("the example lacks the key %q", f.Name)
		}
	})
	if strings.Contains(example, "# config = ") {
		t.Error("the example lists --config, which has no place in the file")
	}
	var lines []string
	for _, l := range strings.Split(example, "\n") {
		if strings.HasPrefix(l, "# ") && strings.Contains(l, " = ") && !strings.HasPrefix(l, "# demo") {
			l = strings.TrimPrefix(l, "# ")
		}
		lines = append(lines, l)
	}
	p := writeConfig(t, strings.Join(lines, "\n"))
	t.Setenv("STATION_LISTEN", "")
	os.Unsetenv("STATION_LISTEN")
	if code, out, stderr := runCLI(t, "config", "check", "--config", p); code != 0 || !strings.Contains(out, "配置正确") {
		t.Errorf("config check of the uncommented example: exit %d, %q %q", code, out, stderr)
	}
}

func TestConfigCheckNamesTheBadKeyItsLineAndWhatIsAllowed(t *testing.T) {
	p := writeConfig(t, "listen = \"8080\"\n\nsync-bandwith = \"0\"\ndisk-reserve = \"lots\"\ncert-algorithm = \"rsa\"\n")
	code, _, stderr := runCLI(t, "config", "check", "--config", p)
	if code != 1 {
		t.Fatalf("exit %d, want 1: %s", code, stderr)
	}
	for _, want := range []string{
		p + `:1: 配置项 "listen" 的值无效：应为 主机:端口`,
		p + `:3: 未知的配置项 "sync-bandwith"，是不是 "sync-bandwidth"？`,
		p + `:4: 配置项 "disk-reserve" 的值无效`,
		p + `:5: 配置项 "cert-algorithm" 的值无效`,
		"配置有 4 处错误",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
}

// TestRunTakesFlagThenEnvThenFile: `station config show` prints what `station run` would use.
func TestConfigShowPrecedence(t *testing.T) {
	p := writeConfig(t, "listen = \"0.0.0.0:9999\"\ncommunity = \"幸福社区\"\ndisk-reserve = \"1GiB\"\n")
	t.Setenv("STATION_DISK_RESERVE", "512MiB")
	code, out, stderr := runCLI(t, "config", "show", "--config", p)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{`"0.0.0.0:9999"`, `"幸福社区"`, `"512MiB"`} {
		if !strings.Contains(out, want) {
			t.Errorf("show lacks %s:\n%s", want, out)
		}
	}
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		if len(f) == 0 {
			continue
		}
		want := map[string]string{"listen": "file", "community": "file", "disk-reserve": "env", "data": "default"}[f[0]]
		if want != "" && f[len(f)-1] != want {
			t.Errorf("%s comes from %s, want %s", f[0], f[len(f)-1], want)
		}
	}
}

func TestRunRefusesABadConfigBeforeStarting(t *testing.T) {
	dir := t.TempDir()
	p := writeConfig(t, "data = \""+dir+"\"\nlisten = 8080\n")
	code, _, stderr := runCLI(t, "run", "--config", p)
	if code != 2 || !strings.Contains(stderr, p+`:2: 配置项 "listen" 的值无效`) {
		t.Fatalf("exit %d, stderr %q; want 2 and the bad key with its line", code, stderr)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("a refused start wrote %d files into the data directory", len(entries))
	}
	missing := filepath.Join(t.TempDir(), "none.toml")
	if code, _, stderr := runCLI(t, "run", "--config", missing); code != 2 || !strings.Contains(stderr, "读取配置文件") {
		t.Errorf("a missing --config file: exit %d, %q", code, stderr)
	}
}

var updateConfigExample = flag.Bool("update-config-example", false, "rewrite testdata/station.example.toml from station config example")

// TestConfigExampleGolden: what `station config example` prints is testdata/station.example.toml, so a
// change to a flag or its help shows in review (-update-config-example rewrites it).
func TestConfigExampleGolden(t *testing.T) {
	code, example, stderr := runCLI(t, "config", "example")
	if code != 0 {
		t.Fatalf("config example: exit %d: %s", code, stderr)
	}
	golden := filepath.Join("testdata", "station.example.toml")
	if *updateConfigExample {
		if err := os.WriteFile(golden, []byte(example), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if example != string(want) {
		t.Errorf("station config example differs from %s (go test ./cmd/station -run ConfigExampleGolden -update-config-example):\n%s", golden, example)
	}
	for _, key := range []string{`# listen = "127.0.0.1:8080"`, `# listen-https = ":8443"`, `# tls-cert = ""`, `# tls-key = ""`, `# tls-names = ""`} {
		if !strings.Contains(example, key) {
			t.Errorf("the example lacks %s", key)
		}
	}
}

// TestConfigCheckReportsSettingsThatDoNotGoTogether: each value is valid alone, but plain HTTP on the
// LAN and a certificate without its key are refused by station run, so config check names them.
func TestConfigCheckReportsSettingsThatDoNotGoTogether(t *testing.T) {
	t.Setenv("STATION_LISTEN", "")
	os.Unsetenv("STATION_LISTEN")
	cases := []struct{ name, file, want string }{
		{"plain HTTP on every address", "listen = \"0.0.0.0:8080\"\n", `配置项 "listen" = "0.0.0.0:8080"（来自 file）不是本机地址`},
		{"a certificate without its key", "tls-cert = \"/etc/station/own.crt\"\n", `配置项 "tls-cert" 和 "tls-key" 须一起设置`},
		{"certificate files that do not load", "tls-cert = \"/nonexistent/own.crt\"\ntls-key = \"/nonexistent/own.key\"\n", `配置项 "tls-cert"/"tls-key" 无法载入`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := writeConfig(t, c.file)
			code, _, stderr := runCLI(t, "config", "check", "--config", p)
			if code != 1 || !strings.Contains(stderr, p+": "+c.want) || !strings.Contains(stderr, "配置有 1 处错误") {
				t.Fatalf("exit %d, stderr %q; want 1 and %q", code, stderr, c.want)
			}
		})
	}
	if code, _, stderr := runCLI(t, "config", "check", "--config", writeConfig(t, "listen = \"127.0.0.1:8080\"\nlisten-https = \":8443\"\n")); code != 0 {
		t.Errorf("loopback HTTP with HTTPS on the LAN: exit %d %s", code, stderr)
	}
}
