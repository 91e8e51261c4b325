package main

import (
	"bytes"
	"context"
	"encoding/json"
	"image/png"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/civic-station/station/station"
	"github.com/civic-station/station/syncer"
	"github.com/civic-station/station/syncer/hub"
)

// startDemoWithConsole runs the real Main in demo mode, as startStation does, with the in-process
// hub's department console on a free port.
func startDemoWithConsole(t *testing.T, dir string) *testStation {
	t.Helper()
	var banner bytes.Buffer
	s := startStationIn(t, dir, func(m *Main) {
		m.HubConsole, m.DemoHub = "127.0.0.1:0", true
		m.Stdout = &banner
	})
	if !strings.Contains(banner.String(), s.HubConsoleURL()+"/hub") || !strings.Contains(banner.String(), "minzheng") || !strings.Contains(banner.String(), "cityadmin") {
		t.Errorf("the banner does not show the console and its accounts:\n%s", banner.String())
	}
	return s
}

// console sends a request to the demo's department console.
func (s *testStation) console(t *testing.T, method, path, token string, body any) response {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, s.HubConsoleURL()+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

func (s *testStation) consoleLogin(t *testing.T, username string) string {
	t.Helper()
	r := s.console(t, "POST", "/console/api/sessions", "", map[string]string{"username": username, "password": demoPassword})
	if r.status != http.StatusCreated {
		t.Fatalf("console login %s: %d %s", username, r.status, r.body)
	}
	var out struct{ Token string }
	r.json(t, &out)
	return out.Token
}

type consoleItem struct {
	StationID  string `json:"station_id"`
	ID         string `json:"id"`
	Number     string `json:"number"`
	MatterCode string `json:"matter_code"`
}

// eventually polls f every 50 ms until it reports true, for at most a bound well above the demo's
// sync interval.
func eventually(t *testing.T, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 30 s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestDemoClosedLoop runs the demo's closed loop through the real Main: the station forwards an
// application with a scanned material, the clerk of the department sees it in the console of the
// in-process hub, previews the scan and approves it, and the station shows it approved.
func TestDemoClosedLoop(t *testing.T) {
	dir := t.TempDir()
	s := startDemoWithConsole(t, dir)
	counter, reviewer := s.login(t, "counter1"), s.login(t, "review1")
	number := validID("11010119900307451")
	a := s.intake(t, counter, "MZ-001", number)
	r := s.do(t, "POST", "/api/v1/scans/pages", counter, nil)
	var page struct{ SHA256 string }
	r.json(t, &page)
	if r := s.do(t, "POST", "/api/v1/applications/"+a.ID+"/materials/M2/scan", counter, map[string]any{"pages": []string{page.SHA256}}); r.status != 200 {
		t.Fatalf("attach the scan: %d %s", r.status, r.body)
	}
	for _, action := range []string{"pre_review", "forward"} {
		if r := s.do(t, "POST", "/api/v1/applications/"+a.ID+"/transitions", reviewer, map[string]string{"action": action}); r.status != 200 {
			t.Fatalf("%s: %d %s", action, r.status, r.body)
		}
	}

	clerk := s.consoleLogin(t, "minzheng")
	var mine, sample consoleItem
	eventually(t, "the forwarded application reaches the console", func() bool {
		var list struct{ Items []consoleItem }
		s.console(t, "GET", "/console/api/applications", clerk, nil).json(t, &list)
		for _, it := range list.Items {
			if it.ID == a.ID {
				mine = it
			}
			if it.MatterCode == "MZ-007" { // the demo's sample forwarded to 区民政局
				sample = it
			}
		}
		return mine.ID != ""
	})
	seeded := sample.ID != ""
	if mine.Number != a.Number {
		t.Errorf("the console numbers the application %q, the station %q", mine.Number, a.Number)
	}
	if !seeded {
		t.Error("the demo's sample application forwarded to 区民政局 (MZ-007) is not in the console")
	}
	if r := s.console(t, "GET", "/console/api/applications", s.consoleLogin(t, "renshe"), nil); strings.Contains(string(r.body), a.ID) {
		t.Error("another department's clerk sees the application")
	}
	base := "/console/api/applications/" + mine.StationID + "/" + a.ID
	png1 := s.console(t, "GET", base+"/materials/M2/pages/1", clerk, nil)
	if png1.status != 200 {
		t.Fatalf("page preview: %d %s", png1.status, png1.body)
	}
	if _, err := png.Decode(bytes.NewReader(png1.body)); err != nil {
		t.Fatalf("page preview: %v", err)
	}
	// The clerk reveals the applicant's full number for a reason: the station sealed a copy to the
	// demo hub's reveal key, for the application taken at the counter and for the seeded sample.
	var revealed struct {
		IDNumber string `json:"id_number"`
	}
	rv := s.console(t, "POST", base+"/reveal", clerk, map[string]string{"reason": "核对申请人身份"})
	if rv.json(t, &revealed); rv.status != 200 || revealed.IDNumber != number {
		t.Fatalf("reveal: %d %s", rv.status, rv.body)
	}
	if seeded {
		rv := s.console(t, "POST", "/console/api/applications/"+sample.StationID+"/"+sample.ID+"/reveal", clerk, map[string]string{"reason": "核对申请人身份"})
		if rv.json(t, &revealed); rv.status != 200 || revealed.IDNumber == "" || strings.Contains(revealed.IDNumber, "*") {
			t.Errorf("reveal of the demo's seeded sample: %d %s", rv.status, rv.body)
		}
	}
	// Only applicants' numbers get a copy for the data center: the residents the station sent have none.
	residents, err := s.demoHub.Store.Records(context.Background(), hub.RecordFilter{Kinds: []string{string(station.CmdResidentUpsert)}})
	if err != nil || len(residents) == 0 {
		t.Fatalf("the demo hub holds %d resident records (%v), want the demo's", len(residents), err)
	}
	for _, rec := range residents {
		var up station.ResidentUpsert
		if err := json.Unmarshal(rec.Payload, &up); err != nil || up.IDNumber.Hub != "" {
			t.Fatalf("resident record %s carries a hub copy (or does not decode: %v)", rec.ID, err)
		}
	}
	if r := s.console(t, "POST", base+"/decision", clerk, map[string]string{"action": "approve"}); r.status != http.StatusCreated {
		t.Fatalf("approve: %d %s", r.status, r.body)
	}
	eventually(t, "the station shows the application approved", func() bool {
		var got application
		s.do(t, "GET", "/api/v1/applications/"+a.ID, counter, nil).json(t, &got)
		return got.Status == station.StatusApproved
	})
	var got application
	s.do(t, "GET", "/api/v1/applications/"+a.ID, counter, nil).json(t, &got)
	if last := got.Timeline[len(got.Timeline)-1]; last.Actor != "区民政局" || last.Role != station.RoleDepartment {
		t.Errorf("the approval at the station: %+v", last)
	}

	// A restart keeps the enrollment and the console's accounts.
	id, err := syncer.LoadIdentity(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = startDemoWithConsole(t, dir)
	again, err := syncer.LoadIdentity(dir)
	if err != nil || again.StationID != id.StationID {
		t.Fatalf("identity after a restart: %+v, %v (was %s)", again, err, id.StationID)
	}
	list, err := s.demoHub.Store.Stations(context.Background())
	if err != nil || len(list) != 1 {
		t.Fatalf("the demo hub knows %d stations (%v), want the one", len(list), err)
	}
	r = s.console(t, "GET", "/console/api/applications?list=decided", s.consoleLogin(t, "minzheng"), nil)
	if !strings.Contains(string(r.body), a.ID) {
		t.Errorf("after a restart the decided list lacks the approved application: %s", r.body)
	}
}

// TestDemoHubAccounts gives every department that decides applications in the demo catalog a
// console account.
func TestDemoHubAccounts(t *testing.T) {
	users, err := demoHubUsers()
	if err != nil {
		t.Fatal(err)
	}
	var matters []station.Matter
	if err := decodeStrict(demoCatalog, &matters); err != nil {
		t.Fatal(err)
	}
	clerks := map[string]bool{}
	for _, u := range users {
		u.PasswordHash = "$argon2id$…"
		if err := u.Validate(); err != nil {
			t.Errorf("account %s: %v", u.Username, err)
		}
		if u.Role == hub.RoleClerk {
			clerks[u.Department] = true
		}
	}
	for _, m := range matters {
		if m.Kind == station.KindCommitment && !clerks[m.Department] {
			t.Errorf("no clerk for %s (%s)", m.Department, m.Code)
		}
	}
	if users[len(users)-1].Username != "cityadmin" || users[len(users)-1].Role != hub.RoleAdmin {
		t.Errorf("no city administrator: %v", users[len(users)-1])
	}
	if len(clerks) != len(users)-1 {
		t.Errorf("%d clerks for %d departments", len(users)-1, len(clerks))
	}
}

// TestTheDemoSeedsNotices: the demo's data center publishes three notices — current, expired and not
// yet published — and the kiosk shows only the current one once the station has synced.
func TestTheDemoSeedsNotices(t *testing.T) {
	s := startDemoWithConsole(t, t.TempDir())
	// The station's clock is the test's (2026-11-24); the hub dates the notices from the real day, so
	// the station is moved to the real time to judge what shows.
	s.clock.Advance(time.Until(s.clock.Now()) * -1)
	var list struct{ Items []station.Notice }
	eventually(t, "the demo's notices reach the kiosk", func() bool {
		s.do(t, "GET", "/api/v1/notices", "", nil).json(t, &list)
		return len(list.Items) > 0
	})
	if len(list.Items) != 1 || list.Items[0].ID != "demo-winter-hours" || list.Items[0].ExpiresAt.IsZero() {
		t.Errorf("the kiosk shows %+v, want only the current notice with its expiry", list.Items)
	}
}
