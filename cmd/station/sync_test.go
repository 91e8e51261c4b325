package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/civic-station/station/station"
	"github.com/civic-station/station/station/diskspace"
)

// stopSyncer stops the station's syncer (the demo's talks to its in-process hub), so that the test
// alone moves the outbox.
func (s *testStation) stopSyncer() {
	if s.stopSync != nil {
		s.stopSync()
		s.stopSync = nil
	}
}

// setAside dead-letters the first n pending outbox records of a running station, as the syncer does
// when the hub refuses them.
func (s *testStation) setAside(t *testing.T, n int) []station.OutboxRecord {
	t.Helper()
	ctx := context.Background()
	recs, err := s.DB.PendingOutbox(ctx, n)
	if err != nil || len(recs) != n {
		t.Fatalf("pending outbox: %d records, %v", len(recs), err)
	}
	var dl []station.DeadLetter
	for _, r := range recs {
		dl = append(dl, station.DeadLetter{Seq: r.Seq, Code: station.DeadConflict, Message: "同一编号的记录内容不同，已隔离待核查"})
	}
	if err := s.submit(ctx, station.CmdOutboxDeadLetter, station.OutboxDeadLetter{Records: dl}); err != nil {
		t.Fatal(err)
	}
	return recs
}

type syncStatusReply struct {
	Sync struct {
		Enrolled    bool    `json:"enrolled"`
		Pending     int     `json:"pending"`
		DeadLetters int     `json:"dead_letters"`
		OldestAge   float64 `json:"oldest_unsent_age_seconds"`
	} `json:"sync"`
	Disk   *station.DiskStatus `json:"disk"`
	Alerts []string            `json:"alerts"`
}

func TestDeadLettersThroughTheAPI(t *testing.T) {
	s := startStation(t)
	s.stopSyncer()
	recs := s.setAside(t, 2)
	counter, tech := s.login(t, "counter1"), s.login(t, "tech")
	s.clock.Advance(5 * time.Minute)

	var st syncStatusReply
	r := s.do(t, "GET", "/api/v1/sync/status", counter, nil)
	r.json(t, &st)
	if r.status != 200 || st.Sync.DeadLetters != 2 || st.Sync.Pending == 0 || st.Sync.OldestAge != 300 ||
		st.Disk == nil || st.Disk.Low || st.Disk.FreeBytes <= 0 || len(st.Alerts) != 1 {
		t.Fatalf("status: %d %s", r.status, r.body)
	}

	var list struct{ Items []station.DeadLetter }
	r = s.do(t, "GET", "/api/v1/sync/dead-letters", tech, nil)
	r.json(t, &list)
	if r.status != 200 || len(list.Items) != 2 || list.Items[0].Seq != recs[0].Seq || list.Items[0].Attempts != 1 ||
		list.Items[0].Reason != station.DeadLetterReason(station.DeadConflict) || list.Items[0].ID != recs[0].ID {
		t.Fatalf("dead letters: %d %s", r.status, r.body)
	}
	if r := s.do(t, "GET", "/api/v1/sync/dead-letters", counter, nil); r.status != http.StatusForbidden {
		t.Errorf("counter staff listed dead letters: %d", r.status)
	}

	t.Run("the export is JSON lines with the payloads, and audited", func(t *testing.T) {
		r := s.do(t, "GET", "/api/v1/sync/dead-letters/export", tech, nil)
		if r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "application/x-ndjson") ||
			!strings.Contains(r.header.Get("Content-Disposition"), ".ndjson") {
			t.Fatalf("export: %d %v", r.status, r.header)
		}
		lines := strings.Split(strings.TrimSpace(string(r.body)), "\n")
		if len(lines) != 2 {
			t.Fatalf("%d lines: %s", len(lines), r.body)
		}
		for i, line := range lines {
			var rec station.DeadLetterRecord
			if err := json.Unmarshal([]byte(line), &rec); err != nil {
				t.Fatalf("line %d: %v", i+1, err)
			}
			sum := sha256.Sum256(rec.Payload)
			if rec.Seq != recs[i].Seq || rec.PayloadSHA256 != hex.EncodeToString(sum[:]) || len(rec.Payload) == 0 {
				t.Errorf("line %d = %+v", i+1, rec)
			}
		}
		entries, _, err := s.DB.AuditEntries(context.Background(), station.AuditFilter{Object: "outbox:dead_letters", Limit: 5})
		if err != nil || len(entries) != 1 || entries[0].Actor != "tech" || entries[0].Action != "read.export" {
			t.Errorf("export audit = %+v, %v", entries, err)
		}
	})

	t.Run("retry one by seq and the rest at once", func(t *testing.T) {
		var res struct {
			Retried     int `json:"retried"`
			DeadLetters int `json:"dead_letters"`
		}
		r := s.do(t, "POST", "/api/v1/sync/dead-letters/"+recs[0].ID+"/retry", tech, `{}`)
		r.json(t, &res)
		if r.status != 200 || res.Retried != 1 || res.DeadLetters != 1 {
			t.Fatalf("retry: %d %s", r.status, r.body)
		}
		if r := s.do(t, "POST", "/api/v1/sync/dead-letters/"+recs[0].ID+"/retry", tech, `{}`); r.status != 404 {
			t.Errorf("retrying a record no longer set aside: %d %s", r.status, r.body)
		}
		r = s.do(t, "POST", "/api/v1/sync/dead-letters/retry-all", s.login(t, "admin"), `{}`)
		r.json(t, &res)
		if r.status != 200 || res.Retried != 1 || res.DeadLetters != 0 {
			t.Fatalf("retry all: %d %s", r.status, r.body)
		}
		entries, _, _ := s.DB.AuditEntries(context.Background(), station.AuditFilter{Action: string(station.CmdOutboxRetry), Limit: 5})
		if len(entries) != 2 {
			t.Errorf("retries audited: %+v", entries)
		}
		var st syncStatusReply
		s.do(t, "GET", "/api/v1/sync/status", counter, nil).json(t, &st)
		if st.Sync.DeadLetters != 0 || len(st.Alerts) != 0 {
			t.Errorf("status after the retries: %+v", st)
		}
	})

	t.Run("metrics carry the sync and disk figures", func(t *testing.T) {
		body := string(s.do(t, "GET", "/metrics", "", nil).body)
		for _, want := range []string{"station_sync_pending_records ", "station_sync_dead_letters 0", "station_sync_enrolled ",
			"station_disk_free_bytes ", "station_disk_reserve_bytes 2.68435456e+08", "station_disk_low 0", "station_sync_bandwidth_limit_bytes_per_second 0"} {
			if !strings.Contains(body, want) {
				t.Errorf("/metrics lacks %q", want)
			}
		}
	})

	t.Run("notices are public and empty before any sync", func(t *testing.T) {
		r := s.do(t, "GET", "/api/v1/notices", "", nil)
		if r.status != 200 || strings.TrimSpace(string(r.body)) != `{"items":[]}` {
			t.Errorf("notices: %d %s", r.status, r.body)
		}
	})
}

func TestShortOfDiskTheStationRefusesNewInputAndLosesNothing(t *testing.T) {
	s := startStation(t)
	ctx := context.Background()
	counter := s.login(t, "counter1")
	kept := s.intake(t, counter, "MZ-001", validID("11010119900307451"))

	// The demo's syncer keeps running: acknowledging records goes on while input is refused.
	type counts struct {
		apps, outbox int // outbox: every record held, pending, acknowledged or set aside
	}
	count := func() counts {
		_, apps, err := s.DB.Applications(ctx, station.ApplicationFilter{Limit: 1})
		if err != nil {
			t.Fatal(err)
		}
		ob, err := s.DB.OutboxStats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return counts{apps, ob.Pending + ob.Acked + ob.DeadLetters}
	}
	free, err := diskspace.Free(s.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	s.Disk.SetReserve(free + 1<<40) // more than the disk can ever have free: the real statfs says "short"
	before := count()

	for _, req := range []struct{ method, path string }{
		{"POST", "/api/v1/applications"},
		{"POST", "/api/v1/scans/pages"},
		{"POST", "/api/v1/applications/" + kept.ID + "/transitions"},
	} {
		var body any = map[string]any{
			"matter_code": "RS-002",
			"applicant":   map[string]string{"id_type": "resident", "id_number": validID("11010119900307452"), "name": "李四", "phone": "13800002222"},
			"materials":   []map[string]any{{"code": "M1", "provided": true}},
		}
		if strings.HasSuffix(req.path, "transitions") {
			body = map[string]string{"action": "forward"}
		}
		r := s.do(t, req.method, req.path, counter, body)
		code, msg := r.errorCode(t)
		if r.status != http.StatusInsufficientStorage || code != station.ESTORAGE || msg != "本机存储空间不足，暂停受理新业务，请联系技术人员。已有数据安全。" {
			t.Errorf("%s %s short of space: %d %s", req.method, req.path, r.status, r.body)
		}
	}
	// Signing in, reading and auditing reads go on.
	admin := s.login(t, "admin")
	if r := s.do(t, "GET", "/api/v1/applications/"+kept.ID, counter, nil); r.status != 200 {
		t.Errorf("reading an application short of space: %d %s", r.status, r.body)
	}
	var st syncStatusReply
	s.do(t, "GET", "/api/v1/sync/status", counter, nil).json(t, &st)
	if st.Disk == nil || !st.Disk.Low || !strings.Contains(strings.Join(st.Alerts, ";"), "存储空间不足") {
		t.Errorf("status short of space: %+v", st)
	}
	if body := string(s.do(t, "GET", "/metrics", "", nil).body); !strings.Contains(body, "station_disk_low 1") {
		t.Error("/metrics does not show station_disk_low 1")
	}
	after := count()
	if after.apps != before.apps || after.outbox != before.outbox+1 { // the sign-in does not travel; the audited read does
		t.Errorf("counts short of space: before %+v, after %+v", before, after)
	}
	var rep station.AuditReport
	s.do(t, "GET", "/api/v1/audit/verify", admin, nil).json(t, &rep)
	if !rep.OK {
		t.Fatalf("audit chain after refusals: %+v", rep)
	}

	s.Disk.SetReserve(diskspace.DefaultReserve)
	s.intake(t, counter, "RS-002", validID("11010119900307452"))
	if got := count(); got.apps != before.apps+1 {
		t.Errorf("applications after freeing space = %d, want %d", got.apps, before.apps+1)
	}
}

func TestSyncCommandLine(t *testing.T) {
	s := startStation(t)
	s.stopSyncer()
	recs := s.setAside(t, 3)
	ctx := context.Background()
	var out, errb bytes.Buffer
	run := func(args ...string) int {
		out.Reset()
		errb.Reset()
		return syncCommand(ctx, append([]string{args[0], "--data", s.DataDir}, args[1:]...), &out, &errb)
	}

	if code := run("dead-letters"); code != 0 || !strings.Contains(out.String(), "冲突") || !strings.Contains(out.String(), "共 3 条") {
		t.Fatalf("dead-letters: %d %s %s", code, out.String(), errb.String())
	}
	var list []station.DeadLetter
	if code := run("dead-letters", "--json"); code != 0 || json.Unmarshal(out.Bytes(), &list) != nil || len(list) != 3 || list[2].Seq != recs[2].Seq {
		t.Fatalf("dead-letters --json: %d %s %s", code, out.String(), errb.String())
	}

	file := filepath.Join(t.TempDir(), "dead.ndjson")
	if code := run("export", "--out", file); code != 0 {
		t.Fatalf("export: %d %s", code, errb.String())
	}
	fi, err := os.Stat(file)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("export file: %v %v", fi, err)
	}
	f, _ := os.Open(file)
	defer f.Close()
	lines := 0
	for sc := bufio.NewScanner(f); sc.Scan(); lines++ {
		var rec station.DeadLetterRecord
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil || len(rec.Payload) == 0 {
			t.Fatalf("line %d: %v %s", lines+1, err, sc.Bytes())
		}
	}
	if lines != 3 {
		t.Errorf("%d lines exported, want 3", lines)
	}

	if code := run("retry"); code != 2 {
		t.Errorf("retry of nothing: %d", code)
	}
	if code := run("retry", "999999"); code != 1 || !strings.Contains(errb.String(), "不存在") {
		t.Errorf("retry of an unknown record: %d %s", code, errb.String())
	}
	if code := run("retry", recs[0].ID, "2"); code != 0 || !strings.Contains(out.String(), "2 条") {
		t.Fatalf("retry two: %d %s %s", code, out.String(), errb.String())
	}
	if code := run("retry", "--all"); code != 0 || !strings.Contains(out.String(), "1 条") {
		t.Fatalf("retry --all: %d %s %s", code, out.String(), errb.String())
	}
	var rep syncReport
	if code := run("status", "--json"); code != 0 || json.Unmarshal(out.Bytes(), &rep) != nil || rep.Outbox.DeadLetters != 0 || len(rep.DeadLetters) != 0 {
		t.Fatalf("status: %d %s", code, out.String())
	}
	entries, _, _ := s.DB.AuditEntries(ctx, station.AuditFilter{Actor: "console", Limit: 10})
	actions := map[string]int{}
	for _, e := range entries {
		actions[e.Action]++
	}
	if actions[string(station.CmdOutboxRetry)] != 2 || actions["read.export"] != 1 {
		t.Errorf("console actions audited: %v", actions)
	}
}

func TestRunRefusesABadBandwidthSchedule(t *testing.T) {
	var out, errb bytes.Buffer
	code := runCommand(context.Background(), []string{"--data", t.TempDir(), "--listen", "127.0.0.1:0", "--sync-bandwidth", "08:00-18:00=fast"}, &out, &errb)
	if code != 2 || !strings.Contains(errb.String(), "速率") { // refused as the flag is parsed, like a config file's bad value
		t.Errorf("run with a bad schedule: %d %s", code, errb.String())
	}
	code = runCommand(context.Background(), []string{"--data", t.TempDir(), "--disk-reserve", "lots"}, &out, &errb)
	if code != 2 || !strings.Contains(errb.String(), "无法识别的大小") {
		t.Errorf("run with a bad reserve: %d %s", code, errb.String())
	}
}
