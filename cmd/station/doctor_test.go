package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func doctorReport(t *testing.T, config string) (int, []checkResult) {
	t.Helper()
	code, out, stderr := runCLI(t, "doctor", "--config", config, "--json")
	var res []checkResult
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("doctor --json: %v\n%s\n%s", err, out, stderr)
	}
	return code, res
}

func findCheck(t *testing.T, res []checkResult, name string) checkResult {
	t.Helper()
	for _, r := range res {
		if r.Name == name {
			return r
		}
	}
	t.Fatalf("no %s check in %+v", name, res)
	return checkResult{}
}

// TestDoctorOnAHealthyStationAndOnBrokenOnes runs `station doctor` against a running station, then
// breaks one thing at a time: each breakage fails its own check with a fix, and the exit code says so.
func TestDoctorOnAHealthyStationAndOnBrokenOnes(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o700); err != nil { // t.TempDir makes it 0755; station service install makes it 0700
		t.Fatal(err)
	}
	st := startStationIn(t, dir, nil)
	config := writeConfig(t, "data = \""+dir+"\"\nlisten = \""+st.HTTP.Addr().String()+"\"\ndemo = true\n")
	code, res := doctorReport(t, config)
	for _, name := range []string{"配置文件", "数据目录", "数据密钥", "数据库", "数据库结构", "审计日志", "磁盘空间", "网页服务", "设备"} {
		if r := findCheck(t, res, name); r.Status != checkOK {
			t.Errorf("%s: %s %s (fix %q)", name, r.Status, r.Detail, r.Fix)
		}
	}
	if code != 0 {
		t.Errorf("doctor on a healthy station exited %d: %+v", code, res)
	}

	// A data directory others can enter.
	_ = os.Chmod(dir, 0o755)
	code, res = doctorReport(t, config)
	if r := findCheck(t, res, "数据目录"); code != 1 || r.Status != checkFail || !strings.Contains(r.Fix, "chmod 700") {
		t.Errorf("data directory 0755: exit %d, %+v", code, r)
	}
	_ = os.Chmod(dir, 0o700)

	// A data key others can read.
	key := filepath.Join(dir, "datakey")
	if err := os.Chmod(key, 0o644); err != nil {
		t.Fatal(err)
	}
	code, res = doctorReport(t, config)
	if r := findCheck(t, res, "数据密钥"); code != 1 || r.Status != checkFail || !strings.Contains(r.Fix, "chmod 600") {
		t.Errorf("data key 0644: exit %d, %+v", code, r)
	}
	_ = os.Chmod(key, 0o600)

	// A station that does not answer.
	cfgDown := writeConfig(t, "data = \""+dir+"\"\nlisten = \"127.0.0.1:1\"\ndemo = true\n")
	code, res = doctorReport(t, cfgDown)
	if r := findCheck(t, res, "网页服务"); code != 1 || r.Status != checkFail || r.Fix == "" {
		t.Errorf("nothing listening: exit %d, %+v", code, r)
	}

	// A bad configuration file is reported with its line, and the other checks still run.
	bad := writeConfig(t, "data = \""+dir+"\"\nlisten = \""+st.HTTP.Addr().String()+"\"\nlisten_port = 1\n")
	code, res = doctorReport(t, bad)
	if r := findCheck(t, res, "配置文件"); code != 1 || r.Status != checkFail || !strings.Contains(r.Detail, bad+":3:") {
		t.Errorf("bad config: exit %d, %+v", code, r)
	}
	findCheck(t, res, "数据库")

	// The plain report: one line per check and a summary.
	code, out, _ := runCLI(t, "doctor", "--config", config)
	if code != 0 || !strings.Contains(out, "✓ 数据库：") || !strings.Contains(out, "项正常") && !strings.Contains(out, "需要注意") {
		t.Errorf("plain report (exit %d):\n%s", code, out)
	}
}

func TestDoctorOnAMissingDataDirectory(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope")
	code, res := doctorReport(t, writeConfig(t, "data = \""+missing+"\"\nlisten = \"127.0.0.1:1\"\n"))
	if r := findCheck(t, res, "数据目录"); code != 1 || r.Status != checkFail || !strings.Contains(r.Fix, "station service install") {
		t.Errorf("exit %d, %+v", code, r)
	}
}
