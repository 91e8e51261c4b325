package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/civic-station/station/station"
	"github.com/civic-station/station/station/cert"
	"github.com/civic-station/station/station/diskspace"
)

// TestPublishedChangesReachTheStation runs the city administrator's path with the real commands: a hub,
// an enrolled station, `station hub publish` of the example catalog, calendar and notices; the station
// syncs and shows them; a changed matter gets the next version; and a station short of disk space still
// takes the data center's changes while it refuses new input.
func TestPublishedChangesReachTheStation(t *testing.T) {
	ctx := context.Background()
	logger := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	h, hub, out, errb, stationDir := publishingHub(t, logger)

	examples := filepath.Join("..", "..", "docs", "examples")
	for _, what := range []string{"catalog", "calendar", "notice"} {
		file := filepath.Join(examples, map[string]string{"catalog": "catalog.json", "calendar": "calendar.json", "notice": "notices.json"}[what])
		if code := hub("publish", what, file); code != 0 {
			t.Fatalf("publish %s: %d %s", what, code, errb.String())
		}
	}
	if code := hub("publish", "catalog", filepath.Join(examples, "catalog.json")); code != 0 || !strings.Contains(out.String(), "发布 0 项，未变化 2 项") {
		t.Errorf("publishing the same catalog again: %d %s", code, out.String())
	}

	m := NewMain()
	m.DataDir, m.Listen, m.Logger = stationDir, "127.0.0.1:0", logger
	if err := m.Run(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	s := &testStation{Main: m}
	matter := func() station.Matter {
		var mt station.Matter
		if r := s.do(t, "GET", "/api/v1/catalog/matters/JZ-004", "", nil); r.status == 200 {
			r.json(t, &mt)
		}
		return mt
	}
	notices := func() []station.Notice {
		var list struct{ Items []station.Notice }
		s.do(t, "GET", "/api/v1/notices", "", nil).json(t, &list)
		return list.Items
	}
	waitUntil(t, "the first sync", func() bool { return matter().Version == 1 && len(notices()) == 2 })
	if got := matter().Aliases; !slices.Equal(got, []string{"居住证明", "实际居住证明"}) {
		t.Errorf("aliases at the station %q; the published catalog's must arrive", got)
	}
	if r := s.do(t, "GET", "/api/v1/catalog/matters?q=sjjzzm", "", nil); !strings.Contains(string(r.body), `"JZ-004"`) {
		t.Errorf("the initials of a published alias do not find the matter: %d %s", r.status, r.body)
	}
	if days, err := m.DB.CalendarDays(ctx, 2027); err != nil || len(days) != 9 {
		t.Errorf("calendar 2027 at the station: %d days, %v", len(days), err)
	}

	// The city changes a matter and publishes a notice, while the station is short of disk space.
	mt := matter()
	mt.Name = "居住证明开具（含电子证明）"
	mt.Version = 0 // the hub versions it
	changed := filepath.Join(t.TempDir(), "catalog.json")
	writeJSONFile(t, changed, []station.Matter{mt})
	if code := hub("publish", "catalog", changed); code != 0 || !strings.Contains(out.String(), "版本 2") {
		t.Fatalf("publish the changed matter: %d %s %s", code, out.String(), errb.String())
	}
	notice := filepath.Join(t.TempDir(), "notice.json")
	writeJSONFile(t, notice, station.Notice{ID: "n-2027-03", Title: "本周六停电检修", Body: "上午9时至12时暂停服务。"})
	if code := hub("publish", "notice", notice); code != 0 {
		t.Fatalf("publish the notice: %s", errb.String())
	}
	free, err := diskspace.Free(stationDir)
	if err != nil {
		t.Fatal(err)
	}
	m.Disk.SetReserve(free + 1<<40)
	m.syncMon.Kick()
	waitUntil(t, "the second sync", func() bool {
		got := matter()
		return got.Version == 2 && got.Name == mt.Name && len(notices()) == 3
	})
	if n := notices(); n[0].ID != "n-2027-03" && n[1].ID != "n-2027-03" && n[2].ID != "n-2027-03" {
		t.Errorf("notices = %+v", n)
	}
	if _, err := m.Log.Submit(ctx, mustCommand(t, station.CmdCatalogImport, station.CatalogImport{Matters: []station.Matter{mt}})); station.ErrorCode(err) != station.ESTORAGE {
		t.Errorf("local input short of space: %v", err)
	}
	st, err := m.syncMon.Status(ctx)
	if err != nil || !st.Enrolled || !st.Online || st.StationName != "幸福里服务站" {
		t.Errorf("sync status = %+v, %v", st, err)
	}

	t.Run("invalid files are refused before anything is published", func(t *testing.T) {
		bad := filepath.Join(t.TempDir(), "bad.json")
		writeJSONFile(t, bad, []station.Notice{{ID: "n-ok", Title: "好"}, {ID: "n-bad", Title: ""}})
		if code := hub("publish", "notice", bad); code != 1 || !strings.Contains(errb.String(), "标题不能为空") {
			t.Errorf("invalid notice: %d %s", code, errb.String())
		}
		writeJSONFile(t, bad, map[string]any{"years": []int{2027}, "days": []map[string]string{{"date": "2028-01-01", "kind": "holiday", "name": "元旦"}}})
		if code := hub("publish", "calendar", bad); code != 1 || !strings.Contains(errb.String(), "不在所列年份内") {
			t.Errorf("calendar day outside its years: %d %s", code, errb.String())
		}
		writeJSONFile(t, bad, []map[string]any{{"code": "X-1", "name": "无部门事项"}})
		if code := hub("publish", "catalog", bad); code != 1 || !strings.Contains(errb.String(), "X-1") {
			t.Errorf("invalid matter: %d %s", code, errb.String())
		}
		page, err := h.Store.Changes(ctx, "", 0, 1000)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range page.Changes {
			if c.Key == "notice:n-ok" || c.Key == "matter:X-1" || c.Key == "calendar:2028" {
				t.Errorf("an invalid file published %s", c.Key)
			}
		}
	})
}

// publishingHub starts a hub on 127.0.0.1:0 and enrolls a station data directory with it. hub runs a
// `station hub …` tool on the hub's data and leaves its output in out and errb.
func publishingHub(t *testing.T, logger *slog.Logger) (h *HubMain, hub func(args ...string) int, out, errb *bytes.Buffer, stationDir string) {
	t.Helper()
	ctx := context.Background()
	h = NewHubMain()
	h.DataDir, h.Listen, h.Logger = t.TempDir(), "127.0.0.1:0", logger
	if err := h.Run(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	out, errb = new(bytes.Buffer), new(bytes.Buffer)
	hub = func(args ...string) int {
		t.Helper()
		out.Reset()
		errb.Reset()
		return hubCommand(ctx, append(args, "--data", h.DataDir), nil, out, errb)
	}
	if code := hub("token", "create", "--station-name", "幸福里服务站"); code != 0 {
		t.Fatalf("token: %s", errb.String())
	}
	token := strings.TrimSpace(out.String())
	stationDir = t.TempDir()
	if code := enrollCommand(ctx, []string{"--hub", h.Server.URL(), "--token", token, "--data", stationDir}, out, errb); code != 0 {
		t.Fatalf("enroll: %s", errb.String())
	}
	return h, hub, out, errb, stationDir
}

// The city withdraws a certificate type and rewords another with `station hub publish templates`; the
// station's library follows with versions above its built-in ones, and the same file again publishes
// nothing.
func TestPublishedTemplatesReachTheStation(t *testing.T) {
	ctx := context.Background()
	logger := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	_, hub, out, errb, stationDir := publishingHub(t, logger)

	active := cert.BuiltIn().Active()
	withdrawn := active[0].Withdraw("依据市民政局通知，自2027年1月1日起不再由社区出具")
	reworded := active[1]
	reworded.Layout.Footer = "本证明仅用于所述用途，复印无效。"
	// The file keeps the version it was copied with; the hub raises it above the stations' version.
	file := filepath.Join(t.TempDir(), "templates.json")
	writeJSONFile(t, file, map[string]any{"version": 2, "templates": []cert.Template{withdrawn, reworded, active[2]}})
	if code := hub("publish", "templates", file); code != 0 || !strings.Contains(out.String(), "发布 2 项，未变化 1 项") {
		t.Fatalf("publish templates: %d %s %s", code, out.String(), errb.String())
	}
	if code := hub("publish", "templates", file); code != 0 || !strings.Contains(out.String(), "发布 0 项，未变化 3 项") {
		t.Errorf("publishing the same templates again: %d %s", code, out.String())
	}
	bad := filepath.Join(t.TempDir(), "bad.json")
	broken := active[3]
	broken.Layout.Body += "{{no_such_field}}"
	writeJSONFile(t, bad, map[string]any{"version": 3, "templates": []cert.Template{broken}})
	if code := hub("publish", "templates", bad); code != 1 || !strings.Contains(errb.String(), broken.Code) {
		t.Errorf("a template with an unknown placeholder: %d %s", code, errb.String())
	}

	m := NewMain()
	m.DataDir, m.Listen, m.Logger = stationDir, "127.0.0.1:0", logger
	if err := m.Run(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	held := func() map[string]cert.Template {
		list, err := m.DB.CertificateTemplates(ctx)
		if err != nil {
			t.Fatal(err)
		}
		byCode := map[string]cert.Template{}
		for _, tp := range list {
			byCode[tp.Code] = tp
		}
		return byCode
	}
	waitUntil(t, "the templates at the station", func() bool { return len(held()) == 2 })
	got := held()
	if w := got[withdrawn.Code]; w.Status != cert.StatusWithdrawn || w.Version != active[0].Version+1 {
		t.Errorf("withdrawn template at the station: status %s, version %d (built-in %d)", w.Status, w.Version, active[0].Version)
	}
	if r := got[reworded.Code]; r.Layout.Footer != reworded.Layout.Footer || r.Version != active[1].Version+1 {
		t.Errorf("reworded template at the station: footer %q, version %d", r.Layout.Footer, r.Version)
	}
	if _, ok := got[broken.Code]; ok {
		t.Error("the refused template reached the station")
	}
}

func writeJSONFile(t testing.TB, path string, v any) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func mustCommand(t *testing.T, kind station.CommandKind, payload any) station.Command {
	t.Helper()
	cmd, err := station.NewCommand("test-"+string(kind)+time.Now().Format("150405.000000000"), kind, time.Now(), systemActor, payload)
	if err != nil {
		t.Fatal(err)
	}
	return cmd
}

// waitUntil polls cond every 20 ms for up to 20 s.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for i := 0; i < 1000; i++ {
		if cond() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

// TestTheHubPublishesTheNationalCalendar: `station hub publish calendar national` publishes the
// built-in national calendar, every year it covers (2027's provisional days too), once.
func TestTheHubPublishesTheNationalCalendar(t *testing.T) {
	logger := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	_, hub, out, errb, _ := publishingHub(t, logger)
	if code := hub("publish", "calendar", "national"); code != 0 {
		t.Fatalf("publish calendar national: %d %s", code, errb.String())
	}
	for _, want := range []string{"已发布2026年日历", "已发布2027年日历"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("first publication lacks %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	if code := hub("publish", "calendar", "national"); code != 0 || !strings.Contains(out.String(), "2026年日历未变化") || strings.Contains(out.String(), "已发布") {
		t.Errorf("publishing it again: %d %s", code, out.String())
	}
}
