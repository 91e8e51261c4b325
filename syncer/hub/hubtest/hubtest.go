// Package hubtest is the conformance suite every hub.Store implementation passes: the SQLite store
// and the PostgreSQL store run the same tests.
package hubtest

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/civic-station/station/station"
	"github.com/civic-station/station/syncer/hub"
	"github.com/civic-station/station/syncer/protocol"
)

// T0 is the suite's fixed clock.
var T0 = time.Date(2026, 11, 24, 2, 0, 0, 0, time.UTC)

// Run runs the conformance suite. open returns a new, empty store; the suite closes it.
func Run(t *testing.T, open func(t *testing.T) hub.Store) {
	t.Run("an enrollment token works once and only before it expires", func(t *testing.T) { testTokens(t, open(t)) })
	t.Run("a record is stored once; a resend is a duplicate and different content a quarantined conflict", func(t *testing.T) { testRecords(t, open(t)) })
	t.Run("the feed gives each station its own and the broadcast changes, latest per key, in pages", func(t *testing.T) { testFeed(t, open(t)) })
	t.Run("a contact updates what the hub knows of a station", func(t *testing.T) { testSeen(t, open(t)) })
}

func enroll(t *testing.T, s hub.Store, name, id string) hub.Station {
	t.Helper()
	ctx := context.Background()
	hash := protocol.PayloadHash([]byte(id))
	if err := s.CreateToken(ctx, hub.Token{Hash: hash, StationName: name, CreatedAt: T0, ExpiresAt: T0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	st, err := s.Enroll(ctx, hash, hub.Station{ID: id, CertSerial: "serial-" + id, EnrolledAt: T0})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func testTokens(t *testing.T, s hub.Store) {
	defer s.Close()
	ctx := context.Background()
	h1, h2 := fmt.Sprintf("%064d", 1), fmt.Sprintf("%064d", 2)
	for _, tok := range []hub.Token{
		{Hash: h1, StationName: "幸福里服务站", CreatedAt: T0, ExpiresAt: T0.Add(24 * time.Hour)},
		{Hash: h2, StationName: "过期站", CreatedAt: T0, ExpiresAt: T0.Add(time.Hour)},
	} {
		if err := s.CreateToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
	}
	st, err := s.Enroll(ctx, h1, hub.Station{ID: "st-1", CertSerial: "abc", EnrolledAt: T0.Add(time.Hour)})
	if err != nil {
		t.Fatalf("enroll: %v", err)
	}
	if st.Name != "幸福里服务站" {
		t.Errorf("name = %q, want the token's", st.Name)
	}
	got, err := s.Station(ctx, "st-1")
	if err != nil || got.CertSerial != "abc" || !got.EnrolledAt.Equal(T0.Add(time.Hour)) {
		t.Errorf("station = %+v, %v", got, err)
	}
	for _, c := range []struct {
		name, hash string
		at         time.Time
	}{
		{"reused", h1, T0.Add(2 * time.Hour)},
		{"expired", h2, T0.Add(time.Hour)},
		{"unknown", fmt.Sprintf("%064d", 3), T0},
	} {
		if _, err := s.Enroll(ctx, c.hash, hub.Station{ID: "st-" + c.name, CertSerial: "x", EnrolledAt: c.at}); station.ErrorCode(err) != station.EUNAUTHORIZED {
			t.Errorf("%s token: err = %v, want EUNAUTHORIZED", c.name, err)
		}
		if _, err := s.Station(ctx, "st-"+c.name); station.ErrorCode(err) != station.ENOTFOUND {
			t.Errorf("%s token created a station: %v", c.name, err)
		}
	}
	if _, err := s.Station(ctx, "nobody"); station.ErrorCode(err) != station.ENOTFOUND {
		t.Errorf("unknown station: %v", err)
	}
}

func record(stationID, id string, seq int64, kind string, payload string) hub.Record {
	return hub.Record{StationID: stationID, ID: id, Seq: seq, Kind: kind, OccurredAt: T0, Payload: json.RawMessage(payload),
		PayloadSHA256: protocol.PayloadHash([]byte(payload)), ReceivedAt: T0}
}

func testRecords(t *testing.T, s hub.Store) {
	defer s.Close()
	ctx := context.Background()
	a, b := enroll(t, s, "A", "st-a"), enroll(t, s, "B", "st-b")
	intake := `{"application_id":"app-1","matter_code":"MZ-001"}`
	r1 := record(a.ID, "cmd-1", 1, "application.intake", intake)
	r1.ApplicationID = "app-1"
	r2 := record(a.ID, "cmd-2", 2, "resident.upsert", `{"name":"张三"}`)
	got, err := s.PutRecords(ctx, []hub.Record{r1, r2})
	if err != nil || got[0] != protocol.StatusStored || got[1] != protocol.StatusStored {
		t.Fatalf("first put = %v, %v", got, err)
	}
	changed := record(a.ID, "cmd-2", 2, "resident.upsert", `{"name":"李四"}`)
	otherStation := record(b.ID, "cmd-2", 1, "resident.upsert", `{"name":"王五"}`)
	got, err = s.PutRecords(ctx, []hub.Record{r1, changed, otherStation})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{protocol.StatusDuplicate, protocol.StatusConflict, protocol.StatusStored}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("second put = %v, want %v (the same id at another station is another record)", got, want)
	}
	recs, err := s.Records(ctx, hub.RecordFilter{StationID: a.ID})
	if err != nil || len(recs) != 2 {
		t.Fatalf("records = %v, %v", recs, err)
	}
	if string(recs[1].Payload) != `{"name":"张三"}` {
		t.Errorf("held record overwritten: %s", recs[1].Payload)
	}
	conf, err := s.Conflicts(ctx, a.ID)
	if err != nil || len(conf) != 1 || conf[0].ID != "cmd-2" || conf[0].HeldSHA256 != r2.PayloadSHA256 || string(conf[0].Payload) != `{"name":"李四"}` {
		t.Fatalf("conflicts = %+v, %v", conf, err)
	}
	if _, err := s.PutRecords(ctx, []hub.Record{changed}); err != nil {
		t.Fatal(err)
	}
	if conf, _ := s.Conflicts(ctx, ""); len(conf) != 1 {
		t.Errorf("the same conflict resent is quarantined once; got %d", len(conf))
	}
	all, err := s.Records(ctx, hub.RecordFilter{})
	if err != nil || len(all) != 3 {
		t.Errorf("all records = %d, %v", len(all), err)
	}
	if rec, err := s.ApplicationRecord(ctx, a.ID, "app-1"); err != nil || rec.ID != "cmd-1" {
		t.Errorf("application record = %+v, %v", rec, err)
	}
	if _, err := s.ApplicationRecord(ctx, b.ID, "app-1"); station.ErrorCode(err) != station.ENOTFOUND {
		t.Errorf("another station's application: %v", err)
	}
}

func matterChange(code string, version int) station.Change {
	m := station.Matter{Code: code, Name: "事项" + code, Version: version}
	return station.Change{Key: "matter:" + code, Version: fmt.Sprint(version), Type: station.ChangeMatter, Matter: &m}
}

func testFeed(t *testing.T, s hub.Store) {
	defer s.Close()
	ctx := context.Background()
	a, b := enroll(t, s, "A", "st-a"), enroll(t, s, "B", "st-b")
	publish := func(stationID string, c station.Change) int64 {
		t.Helper()
		seq, err := s.Publish(ctx, stationID, c, T0)
		if err != nil {
			t.Fatal(err)
		}
		return seq
	}
	p1 := publish("", matterChange("M1", 1))
	p2 := publish("", matterChange("M2", 1))
	d := station.Decision{ApplicationID: "app-1", Action: station.ActionApprove, Department: "区民政局", DecidedAt: T0}
	p3 := publish(a.ID, station.Change{Key: "decision:app-1", Version: "approve", Type: station.ChangeDecision, Decision: &d})
	p4 := publish("", matterChange("M1", 2))
	if !(p1 < p2 && p2 < p3 && p3 < p4) {
		t.Fatalf("positions do not grow: %d %d %d %d", p1, p2, p3, p4)
	}

	page, err := s.Changes(ctx, a.ID, 0, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Changes) != 2 || !page.More || page.Hash != "" || page.Changes[0].Key != "matter:M2" || page.Changes[1].Key != "decision:app-1" {
		t.Fatalf("first page = %+v", page)
	}
	page2, err := s.Changes(ctx, a.ID, page.Next, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(page2.Changes) != 1 || page2.More || page2.Changes[0].Version != "2" || page2.Next != p4 {
		t.Fatalf("second page = %+v", page2)
	}
	want := station.StateHash(map[string]string{"matter:M1": "2", "matter:M2": "1", "decision:app-1": "approve"})
	if page2.Hash != want {
		t.Errorf("state hash = %s, want %s", page2.Hash, want)
	}
	if d := page2.Changes[0]; d.Matter == nil || d.Matter.Name != "事项M1" {
		t.Errorf("change body lost: %+v", d)
	}
	pb, err := s.Changes(ctx, b.ID, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range pb.Changes {
		if c.Type == station.ChangeDecision {
			t.Errorf("station B sees A's decision: %+v", c)
		}
	}
	if len(pb.Changes) != 2 || pb.Hash != station.StateHash(map[string]string{"matter:M1": "2", "matter:M2": "1"}) {
		t.Errorf("station B page = %+v", pb)
	}
	empty, err := s.Changes(ctx, a.ID, p4, 10)
	if err != nil || len(empty.Changes) != 0 || empty.More || empty.Next != p4 || empty.Hash != want {
		t.Errorf("caught-up page = %+v, %v", empty, err)
	}
}

func testSeen(t *testing.T, s hub.Store) {
	defer s.Close()
	ctx := context.Background()
	a := enroll(t, s, "A", "st-a")
	if err := s.SeeStation(ctx, a.ID, hub.Seen{At: T0.Add(time.Minute), Backlog: 7, DeadLetters: 1, Version: "v1.2", ClockSkew: -90 * time.Second, AckedThrough: 12, Cursor: "5", StateHash: "h"}); err != nil {
		t.Fatal(err)
	}
	if err := s.SeeStation(ctx, a.ID, hub.Seen{At: T0.Add(2 * time.Minute), Backlog: 0, Version: "v1.2", AckedThrough: 3}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Station(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !got.LastSeen.Equal(T0.Add(2*time.Minute)) || got.Backlog != 0 || got.AckedThrough != 12 || got.Version != "v1.2" {
		t.Errorf("station = %+v (acked seq never goes back)", got)
	}
	list, err := s.Stations(ctx)
	if err != nil || len(list) != 1 {
		t.Errorf("stations = %v, %v", list, err)
	}
}
