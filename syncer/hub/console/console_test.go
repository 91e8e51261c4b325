package console_test

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/civic-station/station/station"
	"github.com/civic-station/station/syncer/hub"
	"github.com/civic-station/station/syncer/hub/console"
)

type item struct {
	StationID     string         `json:"station_id"`
	StationName   string         `json:"station_name"`
	ID            string         `json:"id"`
	Number        string         `json:"number"`
	MatterName    string         `json:"matter_name"`
	Department    string         `json:"department"`
	ApplicantName string         `json:"applicant_name"`
	ApplicantID   string         `json:"applicant_id"`
	Status        station.Status `json:"status"`
	DueDate       *string        `json:"due_date"`
	DueCalendar   string         `json:"due_calendar"`
	DueProvYears  []int          `json:"due_provisional_years"`
	Decision      *struct {
		Action    station.Action `json:"action"`
		Reason    string         `json:"reason"`
		DecidedBy string         `json:"decided_by"`
		Source    string         `json:"source"`
	} `json:"decision"`
}

type detail struct {
	item
	ApplicantFullName string `json:"applicant_full_name"`
	CanDecide         bool   `json:"can_decide"`
	Materials         []struct {
		Code    string `json:"code"`
		Name    string `json:"name"`
		BlobSHA string `json:"blob_sha256"`
		Pages   int    `json:"pages"`
	} `json:"materials"`
	Timeline []struct {
		Action station.Action `json:"action"`
	} `json:"timeline"`
}

func (e *env) list(token, which string) []item {
	e.t.Helper()
	r := e.do("GET", "/console/api/applications?list="+which, token, nil)
	if r.status != http.StatusOK {
		e.t.Fatalf("list %s: %d %s", which, r.status, r.body)
	}
	var out struct{ Items []item }
	r.json(e.t, &out)
	return out.Items
}

func ids(items []item) string {
	var out []string
	for _, it := range items {
		out = append(out, it.ID)
	}
	return fmt.Sprint(out)
}

// TestDecisionLoop runs the department's side of the closed loop on real records: a station forwards
// applications (one with a scanned two-page PDF) and syncs; the clerk sees them, opens the scan page
// by page, approves one and rejects another; the station's next sync applies both decisions.
func TestDecisionLoop(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	withScan := e.intake("MZ-001", "王小明")
	sha := e.attachScan(withScan, 2)
	e.forward(withScan)
	plain := e.intake("MZ-001", "李大山")
	e.forward(plain)
	otherDept := e.intake("RS-002", "赵四")
	e.forward(otherDept)
	notYet := e.intake("MZ-001", "钱五")
	e.sync()

	clerk := e.login("minzheng")
	pending := e.list(clerk, "pending")
	if ids(pending) != fmt.Sprint([]string{withScan, plain}) {
		t.Fatalf("pending = %s, want the two forwarded 区民政局 applications (not %s of 区人社局, not %s still at the station)", ids(pending), otherDept, notYet)
	}
	st, err := e.db.Application(ctx, withScan)
	if err != nil {
		t.Fatal(err)
	}
	first := pending[0]
	if first.Number != st.Number || first.StationName != "幸福里服务站" || first.MatterName != "最低生活保障申请" ||
		first.ApplicantName != "王**" || first.ApplicantID != st.Applicant.IDNumber.Masked || first.DueDate == nil || *first.DueDate != st.DueDate.String() {
		t.Errorf("pending item = %+v; the station has number %s, due %s", first, st.Number, st.DueDate)
	}
	// The due date says which calendar it was counted on: provisional when it reaches into a year whose
	// 放假调休 notice is not out (2027 in calendar_national.json), weekdays past the known years.
	_, known := station.NationalCalendar()
	due, err := station.ParseDate(*first.DueDate)
	if err != nil {
		t.Fatal(err)
	}
	wantCal, wantYears := "official", []int(nil)
	for y := station.DateOf(e.clock.Now()).Year; y <= due.Year; y++ {
		if ok, listed := known[y]; !listed {
			wantCal = "weekdays"
		} else if !ok {
			wantYears = append(wantYears, y)
			if wantCal == "official" {
				wantCal = "provisional"
			}
		}
	}
	if first.DueCalendar != wantCal || fmt.Sprint(first.DueProvYears) != fmt.Sprint(wantYears) {
		t.Errorf("due %s on calendar %q %v, want %q %v", due, first.DueCalendar, first.DueProvYears, wantCal, wantYears)
	}
	var withCal struct {
		Calendar []struct {
			Year   int    `json:"year"`
			Status string `json:"status"`
		} `json:"calendar"`
	}
	e.do("GET", "/console/api/applications", clerk, nil).json(t, &withCal)
	if fmt.Sprint(withCal.Calendar) != "[{2026 official} {2027 provisional}]" {
		t.Errorf("list calendar = %v, want 2026 official and 2027 provisional", withCal.Calendar)
	}
	if strings.Contains(string(e.do("GET", "/console/api/applications", clerk, nil).body), "110101199003070018") {
		t.Error("the list shows a full ID number")
	}
	if other := e.list(e.login("renshe"), "pending"); ids(other) != fmt.Sprint([]string{otherDept}) {
		t.Errorf("区人社局 sees %s, want only %s", ids(other), otherDept)
	}

	r := e.do("GET", "/console/api/applications/"+e.id.StationID+"/"+withScan, clerk, nil)
	var d detail
	r.json(t, &d)
	if r.status != 200 || d.ApplicantFullName != "王小明" || !d.CanDecide || len(d.Materials) != 2 || d.Materials[0].Pages != 2 ||
		d.Materials[0].BlobSHA != sha || d.Materials[0].Name != "居民身份证" {
		t.Fatalf("detail = %d %s", r.status, r.body)
	}
	if strings.Contains(string(r.body), `"cipher"`) || strings.Contains(string(r.body), "110101199003070018") {
		t.Error("the detail shows the sealed or the full ID number")
	}
	if r := e.do("GET", "/console/api/applications/"+e.id.StationID+"/"+otherDept, clerk, nil); r.status != 404 {
		t.Errorf("another department's application: %d %s", r.status, r.body)
	}
	page := e.do("GET", "/console/api/applications/"+e.id.StationID+"/"+withScan+"/materials/M1/pages/2", clerk, nil)
	if page.status != 200 || page.header.Get("Content-Type") != "image/png" {
		t.Fatalf("page 2: %d %s", page.status, page.body)
	}
	img, err := png.Decode(bytes.NewReader(page.body))
	if err != nil {
		t.Fatal(err)
	}
	// An A4 page (595×842 points) at 100 dpi.
	if b := img.Bounds(); b.Dx() < 820 || b.Dx() > 830 || b.Dy() < 1165 || b.Dy() > 1175 {
		t.Errorf("page image is %v, want A4 at 100 dpi", b)
	}
	if r := e.do("GET", "/console/api/applications/"+e.id.StationID+"/"+withScan+"/materials/M1/pages/3", clerk, nil); r.status != 404 {
		t.Errorf("page 3 of 2: %d", r.status)
	}
	if r := e.do("GET", "/console/api/applications/"+e.id.StationID+"/"+plain+"/materials/M1/pages/1", clerk, nil); r.status != 404 {
		t.Errorf("a material without a scan: %d", r.status)
	}

	decide := func(id, action, reason string) response {
		return e.do("POST", "/console/api/applications/"+e.id.StationID+"/"+id+"/decision", clerk, map[string]string{"action": action, "reason": reason})
	}
	if r := decide(withScan, "approve", ""); r.status != http.StatusCreated {
		t.Fatalf("approve: %d %s", r.status, r.body)
	}
	if r := decide(withScan, "reject", "重复审批"); r.status != http.StatusConflict || r.code(t) != station.ECONFLICT {
		t.Errorf("a second decision: %d %s", r.status, r.body)
	}
	if r := decide(plain, "reject", ""); r.status != http.StatusBadRequest {
		t.Errorf("reject without a reason: %d %s", r.status, r.body)
	}
	if r := decide(plain, "complete", ""); r.status != http.StatusBadRequest {
		t.Errorf("an action that is not a decision: %d %s", r.status, r.body)
	}
	if r := decide(notYet, "approve", ""); r.status != http.StatusConflict {
		t.Errorf("deciding an application not forwarded: %d %s", r.status, r.body)
	}
	if r := decide(plain, "reject", "家庭收入超过低保标准"); r.status != http.StatusCreated {
		t.Fatalf("reject: %d %s", r.status, r.body)
	}
	if p := e.list(clerk, "pending"); len(p) != 0 {
		t.Errorf("still pending after the decisions: %s", ids(p))
	}

	e.sync() // the decisions come down
	for id, want := range map[string]station.Status{withScan: station.StatusApproved, plain: station.StatusRejected} {
		a, err := e.db.Application(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		last := a.Timeline[len(a.Timeline)-1]
		if a.Status != want || last.Role != station.RoleDepartment || last.Actor != "区民政局" {
			t.Errorf("at the station %s is %s (last %+v), want %s by 区民政局", id, a.Status, last, want)
		}
		if want == station.StatusRejected && last.Reason != "家庭收入超过低保标准" {
			t.Errorf("reject reason at the station: %q", last.Reason)
		}
	}
	e.sync() // the station's approve and reject records go up
	decided := e.list(clerk, "decided")
	if len(decided) != 2 || decided[0].Decision == nil || decided[1].Decision == nil {
		t.Fatalf("decided = %+v", decided)
	}
	for _, it := range decided {
		if it.Decision.Source != "hub" || it.Decision.DecidedBy != "minzheng" {
			t.Errorf("decided item %s: %+v", it.ID, it.Decision)
		}
	}
	if r := decide(plain, "approve", ""); r.status != http.StatusConflict {
		t.Errorf("deciding a decided application after the station applied it: %d", r.status)
	}

	entries, err := e.store.Audit(ctx, hub.AuditFilter{Object: "application:" + e.id.StationID + "/" + withScan})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, a := range entries {
		actions = append(actions, a.Action+"/"+a.Result)
	}
	if fmt.Sprint(actions) != "[read.application/ok read.material/ok decision.approve/ok decision.reject/ECONFLICT]" {
		t.Errorf("audit of %s = %v", withScan, actions)
	}
	all, _ := e.store.Audit(ctx, hub.AuditFilter{})
	v := station.NewAuditVerifier()
	for _, a := range all {
		v.Add(a)
		if a.Actor != "minzheng" && a.Actor != "renshe" {
			t.Errorf("audit entry by %q", a.Actor)
		}
	}
	seq, hash, _ := e.store.AuditHead(ctx)
	if rep := v.Finish(seq, hash); !rep.OK {
		t.Errorf("console audit chain: %+v", rep)
	}

	metrics := getMetrics(t, e)
	for _, want := range []string{
		`station_hub_console_decisions_total{action="approve"} 1`,
		`station_hub_console_decisions_total{action="reject"} 1`,
		fmt.Sprintf(`station_hub_station_lag_seconds{station="%s",name="幸福里服务站"} 0`, e.id.StationID),
		fmt.Sprintf(`station_hub_station_backlog{station="%s",name="幸福里服务站"} `, e.id.StationID),
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %q:\n%s", want, metrics)
		}
	}
	e.clock.Advance(90 * time.Second)
	if m := getMetrics(t, e); !strings.Contains(m, fmt.Sprintf(`station_hub_station_lag_seconds{station="%s",name="幸福里服务站"} 90`, e.id.StationID)) {
		t.Errorf("lag after 90 s of silence:\n%s", m)
	}
}

func getMetrics(t *testing.T, e *env) string {
	t.Helper()
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: e.id.TLSConfig()}}
	resp, err := client.Get(e.hub.URL() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestStationsAndConflicts gives the city administrator the stations' health and the quarantined
// conflicts, without their payloads.
func TestStationsAndConflicts(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.intake("MZ-001", "王小明")
	e.sync()
	recs, err := e.store.Records(ctx, hub.RecordFilter{StationID: e.id.StationID, Kinds: []string{string(station.CmdApplicationIntake)}})
	if err != nil || len(recs) != 1 {
		t.Fatalf("records = %v, %v", recs, err)
	}
	changed := recs[0]
	changed.Payload = []byte(`{"application_id":"x","applicant":{"name":"冒名顶替"}}`)
	changed.PayloadSHA256 = strings.Repeat("0", 64)
	if _, err := e.store.PutRecords(ctx, []hub.Record{changed}); err != nil {
		t.Fatal(err)
	}
	admin := e.login("cityadmin")
	r := e.do("GET", "/console/api/stations", admin, nil)
	var stations struct {
		Items []struct {
			ID, Name, Health, Version string
			Conflicts                 int
			LastSeen                  time.Time `json:"last_seen"`
		}
	}
	r.json(t, &stations)
	if r.status != 200 || len(stations.Items) != 1 || stations.Items[0].Name != "幸福里服务站" || stations.Items[0].Conflicts != 1 ||
		stations.Items[0].Health != "attention" || stations.Items[0].Version != "test" || stations.Items[0].LastSeen.IsZero() {
		t.Fatalf("stations = %d %s", r.status, r.body)
	}
	e.clock.Advance(2 * time.Hour)
	admin = e.login("cityadmin") // the first session went idle
	e.do("GET", "/console/api/stations", admin, nil).json(t, &stations)
	if stations.Items[0].Health != "late" {
		t.Errorf("a station silent for 2 hours is %q", stations.Items[0].Health)
	}
	r = e.do("GET", "/console/api/conflicts", admin, nil)
	if r.status != 200 || !strings.Contains(string(r.body), changed.ID) || strings.Contains(string(r.body), "冒名顶替") {
		t.Errorf("conflicts = %d %s", r.status, r.body)
	}
}

// TestRoles checks every API route for every role against the expected table, and that every
// route needs a session except login.
func TestRoles(t *testing.T) {
	e := newEnv(t)
	app := e.intake("MZ-001", "王小明")
	e.sync()
	want := map[string][]hub.Role{
		"POST /console/api/sessions":                                                 nil, // public
		"GET /console/api/sessions/current":                                          {hub.RoleClerk, hub.RoleAdmin},
		"GET /console/api/sessions/status":                                           nil, // public
		"DELETE /console/api/sessions/current":                                       {hub.RoleClerk, hub.RoleAdmin},
		"GET /console/api/applications":                                              {hub.RoleClerk},
		"GET /console/api/applications/{station}/{id}":                               {hub.RoleClerk},
		"GET /console/api/applications/{station}/{id}/materials/{code}/pages/{page}": {hub.RoleClerk},
		"POST /console/api/applications/{station}/{id}/decision":                     {hub.RoleClerk},
		"POST /console/api/applications/{station}/{id}/reveal":                       {hub.RoleClerk},
		"GET /console/api/stations":                                                  {hub.RoleAdmin},
		"GET /console/api/conflicts":                                                 {hub.RoleAdmin},
	}
	routes := console.Routes()
	if len(routes) != len(want) {
		t.Errorf("%d routes, the table has %d: add the new route to the table", len(routes), len(want))
	}
	users := map[hub.Role]string{hub.RoleClerk: "minzheng", hub.RoleAdmin: "cityadmin"}
	fill := strings.NewReplacer("{station}", e.id.StationID, "{id}", app, "{code}", "M1", "{page}", "1")
	for _, rt := range routes {
		key := rt.Method + " " + rt.Path
		roles, ok := want[key]
		if !ok {
			t.Errorf("route %s is not in the table", key)
			continue
		}
		path := fill.Replace(rt.Path)
		body := any(nil)
		if rt.Method == "POST" {
			body = `{}`
		}
		if rt.Public {
			if roles != nil {
				t.Errorf("%s is public", key)
			}
			continue
		}
		t.Run(key+" needs a session", func(t *testing.T) {
			for _, token := range []string{"", "not-a-token"} {
				if r := e.do(rt.Method, path, token, body); r.status != 401 || r.code(t) != station.EUNAUTHORIZED {
					t.Errorf("token %q: %d %s", token, r.status, r.body)
				}
			}
		})
		for _, role := range hub.Roles {
			allowed := false
			for _, r := range roles {
				allowed = allowed || r == role
			}
			if allowed != rt.Allows(role) {
				t.Errorf("%s for %s: the route says %v, the table %v", key, role, rt.Allows(role), allowed)
			}
			t.Run(fmt.Sprintf("%s for %s (allowed %v)", key, role, allowed), func(t *testing.T) {
				r := e.do(rt.Method, path, e.login(users[role]), body)
				if allowed && (r.status == 401 || r.status == 403) {
					t.Fatalf("refused: %d %s", r.status, r.body)
				}
				if !allowed && (r.status != 403 || r.code(t) != station.EFORBIDDEN) {
					t.Fatalf("let through: %d %s", r.status, r.body)
				}
			})
		}
	}
}

// TestLogin covers the login policy: lockout after repeated failures, the idle timeout, logout, and
// the session cookie that lets <img> tags load page previews.
func TestLogin(t *testing.T) {
	e := newEnv(t)
	for i := 1; i < station.MaxFailedLogins; i++ {
		r := e.do("POST", "/console/api/sessions", "", map[string]string{"username": "minzheng", "password": "wrong password"})
		if r.status != 401 {
			t.Fatalf("failure %d: %d %s", i, r.status, r.body)
		}
	}
	r := e.do("POST", "/console/api/sessions", "", map[string]string{"username": "minzheng", "password": "wrong password"})
	if r.status != http.StatusLocked || r.code(t) != station.ELOCKED {
		t.Fatalf("failure %d: %d %s", station.MaxFailedLogins, r.status, r.body)
	}
	if r := e.do("POST", "/console/api/sessions", "", map[string]string{"username": "minzheng", "password": password}); r.status != http.StatusLocked {
		t.Fatalf("the right password on a locked account: %d %s", r.status, r.body)
	}
	if r := e.do("POST", "/console/api/sessions", "", map[string]string{"username": "nobody", "password": password}); r.status != 401 {
		t.Errorf("an unknown account: %d", r.status)
	}
	e.clock.Advance(station.LockoutDuration)
	token := e.login("minzheng")

	e.clock.Advance(station.SessionIdle - time.Minute)
	if r := e.do("GET", "/console/api/sessions/current", token, nil); r.status != 200 || !strings.Contains(string(r.body), "区民政局") {
		t.Fatalf("current: %d %s", r.status, r.body)
	}
	e.clock.Advance(station.SessionIdle + time.Second)
	if r := e.do("GET", "/console/api/sessions/current", token, nil); r.status != 401 || !strings.Contains(string(r.body), "超时") {
		t.Fatalf("after %v idle: %d %s", station.SessionIdle, r.status, r.body)
	}

	r = e.do("POST", "/console/api/sessions", "", map[string]string{"username": "minzheng", "password": password})
	var cookie *http.Cookie
	for _, c := range (&http.Response{Header: r.header}).Cookies() {
		if c.Name == console.SessionCookie {
			cookie = c
		}
	}
	if cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteStrictMode {
		t.Fatalf("session cookie = %+v", cookie)
	}
	req, _ := http.NewRequest("GET", e.console.URL()+"/console/api/sessions/current", nil)
	req.AddCookie(cookie)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("with the cookie: %d", resp.StatusCode)
	}
	var out struct{ Token string }
	r.json(t, &out)
	if r := e.do("DELETE", "/console/api/sessions/current", out.Token, nil); r.status != 204 {
		t.Fatalf("logout: %d", r.status)
	}
	if r := e.do("GET", "/console/api/sessions/current", out.Token, nil); r.status != 401 {
		t.Errorf("after logout: %d", r.status)
	}
	// The status check answers 200 either way, so that the login page logs no error.
	if r := e.do("GET", "/console/api/sessions/status", out.Token, nil); r.status != 200 || !strings.Contains(string(r.body), `"authenticated":false`) {
		t.Errorf("status after logout: %d %s", r.status, r.body)
	}
	if r := e.do("GET", "/console/api/sessions/status", e.login("minzheng"), nil); r.status != 200 || !strings.Contains(string(r.body), `"authenticated":true`) {
		t.Errorf("status signed in: %d %s", r.status, r.body)
	}
}

// TestUI serves the built UI's index for every /hub path, its assets, and JSON errors elsewhere.
func TestUI(t *testing.T) {
	ui := fstest.MapFS{
		"index.html":        {Data: []byte(`<!doctype html><div id="app"></div>`)},
		"assets/index-1.js": {Data: []byte(`console.log(1)`)},
	}
	srv := httptest.NewServer(console.New(console.Config{Hasher: hasher, UI: ui}).Handler())
	defer srv.Close()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, c := range []struct {
		path, want string
		status     int
	}{
		{"/", "", http.StatusFound},
		{"/hub", `id="app"`, 200},
		{"/hub/applications/x/y", `id="app"`, 200},
		{"/assets/index-1.js", "console.log", 200},
		{"/assets/none.js", "ENOTFOUND", 404},
		{"/console/api/nothing", "ENOTFOUND", 404},
	} {
		resp, err := client.Get(srv.URL + c.path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.status || !strings.Contains(string(b), c.want) || resp.Header.Get("Content-Security-Policy") == "" {
			t.Errorf("GET %s: %d %q (CSP %q), want %d with %q", c.path, resp.StatusCode, b, resp.Header.Get("Content-Security-Policy"), c.status, c.want)
		}
	}
}
