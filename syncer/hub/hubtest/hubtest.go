// Package hubtest is the conformance suite every hub.Store implementation passes: the SQLite store
// and the PostgreSQL store run the same tests.
package hubtest

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
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
	t.Run("records are selected by kind and by application", func(t *testing.T) { testRecordFilter(t, open(t)) })
	t.Run("an intake record keeps the applicant's sealed number, its hub copy included, as sent", func(t *testing.T) { testSealedNumber(t, open(t)) })
	t.Run("console accounts lock after repeated failures and sessions are found by token hash", func(t *testing.T) { testUsers(t, open(t)) })
	t.Run("the console audit log is a hash chain that verifies", func(t *testing.T) { testAudit(t, open(t)) })
	t.Run("an application is decided once, even by two clerks at the same moment", func(t *testing.T) { testDecideOnce(t, open(t)) })
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

// testSealedNumber stores an application.intake payload as a station sends it, the applicant's number
// carrying the copy sealed to the hub's reveal key (station.SealedID.Hub), and one from before the
// feature without it: both come back byte for byte, so that the hash still matches and a reveal finds
// the copy.
func testSealedNumber(t *testing.T, s hub.Store) {
	defer s.Close()
	ctx := context.Background()
	a := enroll(t, s, "A", "st-a")
	withCopy := station.SealedID{Type: station.IDResident, Cipher: "bm9uY2UrY2lwaGVydGV4dA==", Index: fmt.Sprintf("%064x", 7),
		Masked: "1101**********0018", Hub: "ZW5jYXBzdWxhdGVka2V5K2NpcGhlcnRleHQ="}
	without := withCopy
	without.Hub = ""
	for i, sealed := range []station.SealedID{withCopy, without} {
		app := fmt.Sprintf("app-%d", i+1)
		payload, err := json.Marshal(station.ApplicationIntake{ApplicationID: app, MatterCode: "MZ-001",
			Applicant: station.Applicant{IDNumber: sealed, IDLast4: "0018", Name: "王小明"}})
		if err != nil {
			t.Fatal(err)
		}
		r := record(a.ID, fmt.Sprintf("cmd-%d", i+1), int64(i+1), string(station.CmdApplicationIntake), string(payload))
		r.ApplicationID = app
		if got, err := s.PutRecords(ctx, []hub.Record{r}); err != nil || got[0] != protocol.StatusStored {
			t.Fatalf("put %s = %v, %v", app, got, err)
		}
		held, err := s.ApplicationRecord(ctx, a.ID, app)
		if err != nil {
			t.Fatal(err)
		}
		if string(held.Payload) != string(payload) || held.PayloadSHA256 != r.PayloadSHA256 {
			t.Fatalf("%s held as %s, sent as %s", app, held.Payload, payload)
		}
		var back station.ApplicationIntake
		if err := json.Unmarshal(held.Payload, &back); err != nil {
			t.Fatal(err)
		}
		if back.Applicant.IDNumber != sealed {
			t.Errorf("%s: sealed number read back as %+v, want %+v", app, back.Applicant.IDNumber, sealed)
		}
		if got, err := s.PutRecords(ctx, []hub.Record{r}); err != nil || got[0] != protocol.StatusDuplicate {
			t.Errorf("%s resent = %v, %v; want a duplicate", app, got, err)
		}
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
	// Publishing a key's latest change again (a station resending its signing key, a repeated
	// decision) appends nothing: the answer is the position it already has.
	if again := publish("", matterChange("M1", 2)); again != p4 {
		t.Errorf("the same change published again is at %d, want %d (no new entry)", again, p4)
	}
	if again := publish(a.ID, station.Change{Key: "decision:app-1", Version: "approve", Type: station.ChangeDecision, Decision: &d}); again != p3 {
		t.Errorf("the same decision published again is at %d, want %d", again, p3)
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

func testRecordFilter(t *testing.T, s hub.Store) {
	defer s.Close()
	ctx := context.Background()
	a, b := enroll(t, s, "A", "st-a"), enroll(t, s, "B", "st-b")
	app := func(st hub.Station, id string, seq int64, kind, appID string) hub.Record {
		r := record(st.ID, id, seq, kind, fmt.Sprintf(`{"application_id":%q,"n":%d}`, appID, seq))
		r.ApplicationID = appID
		return r
	}
	if _, err := s.PutRecords(ctx, []hub.Record{
		app(a, "a1", 1, "application.intake", "app-1"),
		record(a.ID, "a2", 2, "resident.upsert", `{}`),
		app(a, "a3", 3, "application.transition", "app-1"),
		app(a, "a4", 4, "application.intake", "app-2"),
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutRecords(ctx, []hub.Record{app(b, "b1", 1, "application.intake", "app-1")}); err != nil {
		t.Fatal(err)
	}
	ids := func(f hub.RecordFilter) string {
		t.Helper()
		recs, err := s.Records(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, r := range recs {
			out = append(out, r.ID)
		}
		return fmt.Sprint(out)
	}
	for _, c := range []struct {
		name string
		f    hub.RecordFilter
		want string
	}{
		{"every intake", hub.RecordFilter{Kinds: []string{"application.intake"}}, "[a1 a4 b1]"},
		{"intakes and transitions of one station", hub.RecordFilter{StationID: a.ID, Kinds: []string{"application.intake", "application.transition"}}, "[a1 a3 a4]"},
		{"one application of one station", hub.RecordFilter{StationID: a.ID, ApplicationID: "app-1"}, "[a1 a3]"},
		{"one application of one station, limited", hub.RecordFilter{StationID: a.ID, ApplicationID: "app-1", Limit: 1}, "[a1]"},
		{"an unknown kind", hub.RecordFilter{Kinds: []string{"nothing"}}, "[]"},
	} {
		if got := ids(c.f); got != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
	}
}

func testUsers(t *testing.T, s hub.Store) {
	defer s.Close()
	ctx := context.Background()
	clerk := hub.User{Username: "minzheng", DisplayName: "民政审批", Role: hub.RoleClerk, Department: "区民政局", PasswordHash: "$argon2id$x", CreatedAt: T0}
	if err := s.CreateUser(ctx, clerk); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateUser(ctx, hub.User{Username: "cityadmin", Role: hub.RoleAdmin, PasswordHash: "$argon2id$y", CreatedAt: T0}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateUser(ctx, clerk); station.ErrorCode(err) != station.ECONFLICT {
		t.Errorf("the same username again: %v, want ECONFLICT", err)
	}
	got, err := s.User(ctx, "minzheng")
	if err != nil || got.Department != "区民政局" || got.Role != hub.RoleClerk || got.PasswordHash != "$argon2id$x" || !got.CreatedAt.Equal(T0) || got.Locked(T0) {
		t.Fatalf("user = %+v, %v", got, err)
	}
	if _, err := s.User(ctx, "nobody"); station.ErrorCode(err) != station.ENOTFOUND {
		t.Errorf("unknown user: %v", err)
	}
	if list, err := s.Users(ctx); err != nil || len(list) != 2 || list[0].Username != "cityadmin" {
		t.Errorf("users = %+v, %v", list, err)
	}

	at := T0.Add(time.Minute)
	for i := 1; i < station.MaxFailedLogins; i++ {
		u, err := s.LoginFailed(ctx, "minzheng", at)
		if err != nil || u.FailedLogins != i || u.Locked(at) {
			t.Fatalf("failure %d: %+v, %v", i, u, err)
		}
	}
	u, err := s.LoginFailed(ctx, "minzheng", at)
	if err != nil || !u.Locked(at) || u.Locked(at.Add(station.LockoutDuration)) || u.FailedLogins != 0 {
		t.Fatalf("failure %d: %+v, %v; want locked for %v", station.MaxFailedLogins, u, err, station.LockoutDuration)
	}
	if _, err := s.LoginFailed(ctx, "nobody", at); station.ErrorCode(err) != station.ENOTFOUND {
		t.Errorf("failure of an unknown user: %v", err)
	}

	old := hub.Session{ID: "s-old", TokenHash: fmt.Sprintf("%064d", 7), Username: "minzheng", CreatedAt: T0, LastSeen: T0, ExpiresAt: T0.Add(time.Hour)}
	if err := s.OpenSession(ctx, old); err != nil {
		t.Fatal(err)
	}
	later := T0.Add(2 * time.Hour)
	sess := hub.Session{ID: "s-1", TokenHash: fmt.Sprintf("%064d", 8), Username: "minzheng", CreatedAt: later, LastSeen: later, ExpiresAt: later.Add(12 * time.Hour)}
	if err := s.OpenSession(ctx, sess); err != nil {
		t.Fatal(err)
	}
	if u, _ := s.User(ctx, "minzheng"); u.Locked(at) || u.FailedLogins != 0 {
		t.Errorf("a successful login leaves the account %+v", u)
	}
	if _, err := s.Session(ctx, old.TokenHash); station.ErrorCode(err) != station.ENOTFOUND {
		t.Errorf("an expired session survives the next login: %v", err)
	}
	if err := s.OpenSession(ctx, hub.Session{ID: "s-2", TokenHash: fmt.Sprintf("%064d", 9), Username: "nobody", CreatedAt: later, LastSeen: later, ExpiresAt: later.Add(time.Hour)}); station.ErrorCode(err) != station.ENOTFOUND {
		t.Errorf("a session for an unknown user: %v", err)
	}
	if err := s.TouchSession(ctx, "s-1", later.Add(5*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := s.TouchSession(ctx, "s-1", later.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	got2, err := s.Session(ctx, sess.TokenHash)
	if err != nil || got2.ID != "s-1" || got2.Username != "minzheng" || !got2.LastSeen.Equal(later.Add(5*time.Minute)) || !got2.ExpiresAt.Equal(sess.ExpiresAt) {
		t.Fatalf("session = %+v, %v (last seen never goes back)", got2, err)
	}
	if err := s.CloseSession(ctx, "s-1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Session(ctx, sess.TokenHash); station.ErrorCode(err) != station.ENOTFOUND {
		t.Errorf("a closed session is still found: %v", err)
	}
	if err := s.CloseSession(ctx, "s-1"); err != nil {
		t.Errorf("closing a closed session: %v", err)
	}
}

func testAudit(t *testing.T, s hub.Store) {
	defer s.Close()
	ctx := context.Background()
	if seq, hash, err := s.AuditHead(ctx); err != nil || seq != 0 || hash != station.AuditGenesis {
		t.Fatalf("empty head = %d %s %v", seq, hash, err)
	}
	for i, e := range []station.AuditEntry{
		{At: T0.Add(123456789 * time.Nanosecond), Actor: "minzheng", Role: station.Role(hub.RoleClerk), Action: "read.application", Object: "application:st-a/app-1", Result: "ok"},
		{At: T0.Add(time.Second), Actor: "minzheng", Role: station.Role(hub.RoleClerk), Action: "decision.approve", Object: "application:st-a/app-1", Result: "ok", Detail: "区民政局"},
		{At: T0.Add(2 * time.Second), Actor: "cityadmin", Role: station.Role(hub.RoleAdmin), Action: "read.stations", Object: "stations", Result: "ok"},
	} {
		got, err := s.AppendAudit(ctx, e)
		if err != nil {
			t.Fatal(err)
		}
		if got.Seq != int64(i+1) || got.Hash == "" || got.Hash != got.ComputeHash() {
			t.Fatalf("appended entry %d = %+v", i+1, got)
		}
	}
	all, err := s.Audit(ctx, hub.AuditFilter{})
	if err != nil || len(all) != 3 {
		t.Fatalf("audit = %+v, %v", all, err)
	}
	v := station.NewAuditVerifier()
	for _, e := range all {
		v.Add(e)
	}
	seq, hash, err := s.AuditHead(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rep := v.Finish(seq, hash); !rep.OK || rep.Entries != 3 {
		t.Errorf("the chain as read back does not verify: %+v", rep)
	}
	if got, _ := s.Audit(ctx, hub.AuditFilter{Object: "application:st-a/app-1"}); len(got) != 2 || got[1].Action != "decision.approve" {
		t.Errorf("by object = %+v", got)
	}
	if got, _ := s.Audit(ctx, hub.AuditFilter{Actor: "cityadmin"}); len(got) != 1 {
		t.Errorf("by actor = %+v", got)
	}
	if got, _ := s.Audit(ctx, hub.AuditFilter{After: 1, Limit: 1}); len(got) != 1 || got[0].Seq != 2 {
		t.Errorf("a page = %+v", got)
	}
}

func testDecideOnce(t *testing.T, s hub.Store) {
	defer s.Close()
	ctx := context.Background()
	a := enroll(t, s, "A", "st-a")
	change := func(d station.Decision) station.Change {
		return station.Change{Key: "decision:" + d.ApplicationID, Version: string(d.Action), Type: station.ChangeDecision, Decision: &d}
	}
	approve := station.Decision{ApplicationID: "app-1", Action: station.ActionApprove, Department: "区民政局", DecidedAt: T0}
	reject := station.Decision{ApplicationID: "app-1", Action: station.ActionReject, Reason: "材料不全", Department: "区民政局", DecidedAt: T0}
	var wins, conflicts atomic.Int32
	var wg sync.WaitGroup
	for i, d := range []station.Decision{approve, reject, approve, reject} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.Decide(ctx, hub.DecisionRecord{StationID: a.ID, Decision: d, DecidedBy: fmt.Sprintf("clerk%d", i)}, change(d), T0)
			switch station.ErrorCode(err) {
			case "":
				wins.Add(1)
			case station.ECONFLICT:
				conflicts.Add(1)
			default:
				t.Errorf("decide: %v", err)
			}
		}()
	}
	wg.Wait()
	if wins.Load() != 1 || conflicts.Load() != 3 {
		t.Fatalf("%d decisions taken and %d refused, want 1 and 3", wins.Load(), conflicts.Load())
	}
	page, err := s.Changes(ctx, a.ID, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	list, err := s.Decisions(ctx, hub.DecisionFilter{StationID: a.ID, ApplicationID: "app-1"})
	if err != nil || len(list) != 1 {
		t.Fatalf("decisions = %+v, %v", list, err)
	}
	got := list[0]
	if len(page.Changes) != 1 || page.Next != got.FeedSeq || page.Changes[0].Decision.Action != got.Decision.Action {
		t.Errorf("the feed holds %+v (next %d); the decision kept is %+v: a refused decision was published", page.Changes, page.Next, got)
	}
	if !got.Decision.DecidedAt.Equal(T0) || got.Decision.Department != "区民政局" || got.DecidedBy == "" {
		t.Errorf("decision = %+v", got)
	}
	other := station.Decision{ApplicationID: "app-2", Action: station.ActionApprove, Department: "区人社局", DecidedAt: T0.Add(time.Minute)}
	if _, err := s.Decide(ctx, hub.DecisionRecord{StationID: a.ID, Decision: other}, change(other), T0); err != nil {
		t.Fatal(err)
	}
	if l, _ := s.Decisions(ctx, hub.DecisionFilter{Department: "区人社局"}); len(l) != 1 || l[0].Decision.ApplicationID != "app-2" {
		t.Errorf("by department = %+v", l)
	}
	if l, _ := s.Decisions(ctx, hub.DecisionFilter{}); len(l) != 2 {
		t.Errorf("every decision = %+v", l)
	}
}
