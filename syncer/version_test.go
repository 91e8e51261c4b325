package syncer_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/civic-station/station/station"
	"github.com/civic-station/station/syncer"
	"github.com/civic-station/station/syncer/hub"
)

// TestAHubRefusesAStationBelowItsMinimumVersion: with a minimum station version set, the hub refuses
// enrollment and every sync round of an older station with 426 EUPGRADE; the station keeps its records,
// says why in its sync status in the hub's words, and syncs once it runs a release at the minimum.
func TestAHubRefusesAStationBelowItsMinimumVersion(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	h := startHub(t, clk, func(c *hub.Config) { c.MinStationVersion = "0.2.0" })
	s := newStation(t, &testHub{clock: clk}, "幸福里服务站")

	_, err := syncer.Enroll(ctx, h.URL(), h.token(t, "幸福里服务站", time.Hour), s.dir, "0.1.9")
	if station.ErrorCode(err) != station.EUPGRADE || !strings.Contains(err.Error(), "最低版本 0.2.0") {
		t.Fatalf("enrolling 0.1.9 with a minimum of 0.2.0: %v", err)
	}
	if s.id, err = syncer.Enroll(ctx, h.URL(), h.token(t, "幸福里服务站", time.Hour), s.dir, "0.2.0"); err != nil {
		t.Fatalf("enrolling 0.2.0: %v", err)
	}
	s.intake("")
	s.intake("")
	pending := s.stats().Pending

	old := s.syncer(func(c *syncer.Config) { c.Version = "0.1.9+git20261201.abcdef0" })
	if err := old.SyncOnce(ctx); err == nil {
		t.Fatal("an old station synced")
	}
	st, err := old.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !st.UpgradeRequired || !strings.Contains(st.LastError, "本站软件版本（0.1.9+git20261201.abcdef0）低于数据中心要求的最低版本 0.2.0") {
		t.Fatalf("status of the refused station: upgrade_required=%v last_error=%q", st.UpgradeRequired, st.LastError)
	}
	if p := s.stats().Pending; p != pending || p < 2 {
		t.Fatalf("pending after the refusal: %d, want the %d before it", p, pending)
	}
	if m := getMetrics(t, h); !strings.Contains(m, "station_hub_too_old_total 2") {
		t.Errorf("refusals not counted (one enrollment, one round):\n%s", m)
	}

	upgraded := s.syncer(func(c *syncer.Config) { c.Version = "0.2.0+git20261207.ec2a26b" })
	if err := upgraded.SyncOnce(ctx); err != nil {
		t.Fatalf("the upgraded station: %v", err)
	}
	if st, _ := upgraded.Status(ctx); st.UpgradeRequired || st.LastError != "" || s.stats().Pending != 0 {
		t.Fatalf("after the upgrade: %+v, pending %d", st, s.stats().Pending)
	}
}
