package syncer_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/civic-station/station/station"
	"github.com/civic-station/station/station/datakey"
	"github.com/civic-station/station/station/revealkey"
	"github.com/civic-station/station/syncer"
	"github.com/civic-station/station/syncer/hub"
)

// hubCopy returns the hub copy of the applicant's number in the intake record the hub holds.
func hubCopy(t *testing.T, h *testHub, stationID, app string) station.SealedID {
	t.Helper()
	rec, err := h.store.ApplicationRecord(context.Background(), stationID, app)
	if err != nil {
		t.Fatal(err)
	}
	var p station.ApplicationIntake
	if err := json.Unmarshal(rec.Payload, &p); err != nil {
		t.Fatal(err)
	}
	return p.Applicant.IDNumber
}

// TestAStationEnrolledBeforeTheHubHadARevealKeyTakesItWithTheDownlink upgrades a hub under an
// enrolled station: the station takes the reveal key from the next downlink answer, keeps it in its
// identity, and seals the numbers of later applications to it; earlier ones stay as they were.
func TestAStationEnrolledBeforeTheHubHadARevealKeyTakesItWithTheDownlink(t *testing.T) {
	clk := newClock()
	ctx := context.Background()
	h := startHub(t, clk, nil)
	s := newStation(t, h, "幸福里服务站")
	if s.id.RevealKey != "" {
		t.Fatalf("a hub without a reveal key gave one: %q", s.id.RevealKey)
	}

	reveal, err := revealkey.Generate()
	if err != nil {
		t.Fatal(err)
	}
	upgraded := hub.New(hub.Config{Store: h.store, Blobs: h.blobs, CA: h.ca, Now: clk.Now, Logger: testLogger(t), RevealKey: reveal.Public()})
	if err := upgraded.Open("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { upgraded.Close() })

	before := s.intake("")
	sy := s.syncer(func(c *syncer.Config) { c.HubURL, c.HubKeys = upgraded.URL(), s.key })
	if err := sy.SyncOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if !s.key.HubKey().Equal(reveal.Public()) {
		t.Fatal("the station did not take the reveal key the hub announced")
	}
	stored, err := syncer.LoadIdentity(s.dir)
	if err != nil {
		t.Fatal(err)
	}
	if stored.RevealKey != reveal.Public().String() {
		t.Fatalf("identity.json holds reveal key %q, want the announced one", stored.RevealKey)
	}

	after := s.intake("")
	if err := sy.SyncOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if c := hubCopy(t, h, s.id.StationID, before); c.Hub != "" {
		t.Error("an application sealed before the key was known got a hub copy")
	}
	if n, err := reveal.Open(hubCopy(t, h, s.id.StationID, after)); err != nil || n != "110101199003070018" {
		t.Errorf("the hub opens the later application's copy as %q, %v", n, err)
	}

	t.Run("a restarted station seals to the stored key before its first round", func(t *testing.T) {
		k, err := datakey.Load(filepath.Join(s.dir, "datakey"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := syncer.New(syncer.Config{Store: s.db, Identity: stored, HubKeys: k}); err != nil {
			t.Fatal(err)
		}
		if !k.HubKey().Equal(reveal.Public()) {
			t.Fatal("syncer.New did not apply the reveal key of the identity")
		}
	})
	t.Run("a station enrolling with the upgraded hub gets the key at enrollment", func(t *testing.T) {
		id, err := syncer.Enroll(ctx, upgraded.URL(), h.token(t, "和平里服务站", time.Hour), t.TempDir(), "test")
		if err != nil {
			t.Fatal(err)
		}
		if id.RevealKey != reveal.Public().String() {
			t.Fatalf("enrolled identity has reveal key %q, want the hub's", id.RevealKey)
		}
	})
}
