package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/civic-station/station/station"
	"github.com/civic-station/station/station/blob"
	"github.com/civic-station/station/station/sqlite"
	"github.com/civic-station/station/syncer/hub"
)

// TestHubEnrollSyncStatus runs the technician's path with the real commands: start a hub, create a
// token, enroll a station, let its syncer deliver, and read both sides' status.
func TestHubEnrollSyncStatus(t *testing.T) {
	ctx := context.Background()
	hubDir, stationDir := t.TempDir(), t.TempDir()
	h := NewHubMain()
	h.DataDir, h.Listen = hubDir, "127.0.0.1:0"
	h.Logger = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if err := h.Run(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })

	var out, errb bytes.Buffer
	if code := hubCommand(ctx, []string{"token", "create", "--data", hubDir, "--station-name", "幸福里服务站", "--ttl", "1h"}, nil, &out, &errb); code != 0 {
		t.Fatalf("token create: %d %s", code, errb.String())
	}
	token := strings.TrimSpace(out.String())

	db, err := sqlite.Open(ctx, filepath.Join(stationDir, "station.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	cmd, _ := station.NewCommand("c1", station.CmdCatalogImport, time.Now(), systemActor, station.CatalogImport{Matters: []station.Matter{{
		Code: "RS-002", Name: "就业失业登记", Department: "区人社局", Category: "就业创业", Kind: station.KindImmediate,
		FeeNote: "不收费", Location: "二号窗口", Status: station.MatterActive, Version: 1}}})
	if _, err := db.Submit(ctx, cmd); err != nil {
		t.Fatal(err)
	}

	out.Reset()
	if code := enrollCommand(ctx, []string{"--hub", h.Server.URL(), "--token", token, "--data", stationDir}, &out, &errb); code != 0 {
		t.Fatalf("enroll: %d %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "幸福里服务站") {
		t.Errorf("enroll output: %s", out.String())
	}
	if code := enrollCommand(ctx, []string{"--hub", h.Server.URL(), "--token", token, "--data", t.TempDir()}, &out, &errb); code != 1 {
		t.Errorf("a used token enrolled again: %d", code)
	}

	blobs, err := blob.Open(stationDir, blob.Options{})
	if err != nil {
		t.Fatal(err)
	}
	stop, err := startSyncer(ctx, stationDir, db, blobs, h.Logger, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ {
		// The first round is over when the syncer has written its status with a success.
		var st struct {
			LastSuccess time.Time `json:"last_success"`
		}
		if b, err := os.ReadFile(syncStatusFile(stationDir)); err == nil && json.Unmarshal(b, &st) == nil && !st.LastSuccess.IsZero() {
			break
		}
		if i > 500 {
			t.Fatal("the syncer delivered nothing")
		}
		time.Sleep(10 * time.Millisecond)
	}
	stop()
	if recs, err := h.Store.Records(ctx, hub.RecordFilter{}); err != nil || len(recs) != 1 {
		t.Fatalf("hub holds %d records (%v), want 1", len(recs), err)
	}

	out.Reset()
	if code := syncCommand(ctx, []string{"status", "--data", stationDir, "--json"}, &out, &errb); code != 0 {
		t.Fatalf("sync status: %d %s", code, errb.String())
	}
	var rep syncReport
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("sync status JSON: %v\n%s", err, out.String())
	}
	if !rep.Enrolled || rep.Outbox.Pending != 0 || rep.Syncer == nil || rep.Syncer.LastSuccess.IsZero() {
		t.Errorf("sync status = %s", out.String())
	}
	// The hub's reveal key: created owner-only on first start, handed over at enrollment.
	if fi, err := os.Stat(filepath.Join(hubDir, "reveal.key")); err != nil {
		t.Errorf("the hub's reveal.key: %v", err)
	} else if fi.Mode().Perm() != 0o600 {
		t.Errorf("the hub's reveal.key has mode %v, want 0600", fi.Mode().Perm())
	}
	if rep.RevealKey == "" || rep.RevealKey != h.RevealKey.Public().Fingerprint() {
		t.Errorf("sync status reveal key %q, want the hub's %s", rep.RevealKey, h.RevealKey.Public().Fingerprint())
	}
	out.Reset()
	if code := syncCommand(ctx, []string{"status", "--data", stationDir}, &out, &errb); code != 0 || !strings.Contains(out.String(), "数据中心查看密钥："+rep.RevealKey) {
		t.Errorf("sync status text: %d %s", code, out.String())
	}
	out.Reset()
	if code := hubCommand(ctx, []string{"records", "--data", hubDir, "--station", rep.StationID, "--json"}, nil, &out, &errb); code != 0 {
		t.Fatalf("hub records: %d %s", code, errb.String())
	}
	var recs []hub.Record
	if err := json.Unmarshal(out.Bytes(), &recs); err != nil || len(recs) != 1 || recs[0].ID != "c1" {
		t.Errorf("hub records = %s (%v)", out.String(), err)
	}
}
