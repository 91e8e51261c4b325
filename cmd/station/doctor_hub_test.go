package main

import (
	"os"
	"strings"
	"testing"
	"time"
)

// TestDoctorChecksTheHub runs doctor on a demo station enrolled with its in-process hub: the station
// certificate's expiry, a TLS connection to the hub with the station's certificate, and the backlog
// are reported; with the hub down the connection check fails with what to do, and --no-hub leaves it
// out.
func TestDoctorChecksTheHub(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	clock := &testClock{now: time.Now()} // doctor reads certificates against the real time
	st := startStationIn(t, dir, func(m *Main) { m.HubConsole, m.DemoHub, m.Now = "127.0.0.1:0", true, clock.Now })
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, err := os.Stat(syncStatusFile(dir)); err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	config := writeConfig(t, "data = \""+dir+"\"\nlisten = \""+st.HTTP.Addr().String()+"\"\ndemo = true\n")
	_, res := doctorReport(t, config)
	if r := findCheck(t, res, "站点证书"); r.Status != checkOK || !strings.Contains(r.Detail, "有效期至") {
		t.Errorf("station certificate: %+v", r)
	}
	if r := findCheck(t, res, "数据中心连接"); r.Status != checkOK || !strings.Contains(r.Detail, "TLS 1.3") {
		t.Errorf("hub connection: %+v", r)
	}
	if r := findCheck(t, res, "同步积压"); r.Status == checkFail || !strings.Contains(r.Detail, "待上传") {
		t.Errorf("backlog: %+v", r)
	}

	if err := st.closeDemoHub(); err != nil {
		t.Fatal(err)
	}
	st.demoHub = nil
	code, res := doctorReport(t, config)
	if r := findCheck(t, res, "数据中心连接"); code != 1 || r.Status != checkFail || !strings.Contains(r.Detail, "无法连接") || r.Fix == "" {
		t.Errorf("hub down: exit %d, %+v", code, r)
	}
	_, out, _ := runCLI(t, "doctor", "--config", config, "--json", "--no-hub")
	if strings.Contains(out, "数据中心连接") {
		t.Errorf("--no-hub still connected:\n%s", out)
	}
}
