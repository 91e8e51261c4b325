package main

import (
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/civic-station/station/station/sqlite"
)

// TestAStationUpgradesThePreviousReleasesDataDirectory starts this program on the data directory of
// the previous release (station/sqlite/testdata): doctor first says the schema will be upgraded, the
// station starts and serves the old applications, and doctor then reports the current schema and the
// snapshot taken before the upgrade. `station version` names the schema version it writes.
func TestAStationUpgradesThePreviousReleasesDataDirectory(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"station.db", "datakey"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "station", "sqlite", "testdata", "release-2026-11-25", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	config := writeConfig(t, "data = \""+dir+"\"\nlisten = \"127.0.0.1:1\"\n")
	_, res := doctorReport(t, config)
	if r := findCheck(t, res, "数据库结构"); r.Status != checkWarn || !strings.Contains(r.Detail, "结构版本 5") {
		t.Fatalf("before the upgrade: %+v", r)
	}

	st := startStationIn(t, dir, func(m *Main) { m.Demo = false })
	tok := st.login(t, "admin")
	r := st.do(t, http.MethodGet, "/api/v1/applications?per_page=50", tok, nil)
	var page struct {
		Total int `json:"total"`
	}
	if r.json(t, &page); r.status != http.StatusOK || page.Total != 9 {
		t.Fatalf("applications after the upgrade: %d, %d", r.status, page.Total)
	}

	_, res = doctorReport(t, config)
	if r := findCheck(t, res, "数据库结构"); r.Status != checkOK || !strings.Contains(r.Detail, "结构版本 "+strconv.Itoa(sqlite.SchemaVersion())) ||
		!strings.Contains(r.Detail, "station-schema0005-") {
		t.Fatalf("after the upgrade: %+v", r)
	}

	code, out, _ := runCLI(t, "version")
	if code != 0 || !strings.Contains(out, "数据库结构版本："+strconv.Itoa(sqlite.SchemaVersion())) {
		t.Fatalf("station version: %d %s", code, out)
	}
}
