package console_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/civic-station/station/station"
	"github.com/civic-station/station/syncer/hub"
	"github.com/civic-station/station/syncer/hub/console"
)

// revealAnswer is the body of a reveal, or of its refusal.
type revealAnswer struct {
	Code     string `json:"code"`
	Message  string `json:"message"`
	Detail   string `json:"detail"`
	IDType   string `json:"id_type"`
	IDNumber string `json:"id_number"`
	Masked   string `json:"masked"`
}

func (e *env) revealNumber(token, app string, body any) (response, revealAnswer) {
	e.t.Helper()
	r := e.do("POST", "/console/api/applications/"+e.id.StationID+"/"+app+"/reveal", token, body)
	var a revealAnswer
	r.json(e.t, &a)
	return r, a
}

// revealAudit returns the console's audit entries of reveals.
func (e *env) revealAudit() []station.AuditEntry {
	e.t.Helper()
	all, err := e.store.Audit(context.Background(), hub.AuditFilter{})
	if err != nil {
		e.t.Fatal(err)
	}
	var out []station.AuditEntry
	for _, a := range all {
		if a.Action == "reveal.id_number" {
			out = append(out, a)
		}
	}
	return out
}

// TestRevealThroughARealSync takes an application at a real station enrolled with a real hub, syncs
// it, and reveals the applicant's number in the console: allowed only to a clerk of the owning
// department with a reason, answered uncached, and every attempt audited without the number.
func TestRevealThroughARealSync(t *testing.T) {
	e := newEnv(t)
	if !e.key.HubKey().Equal(e.revealKey.Public()) {
		t.Fatal("the station did not take the hub's reveal key at enrollment")
	}
	app := e.intake("MZ-001", "王小明")
	e.forward(app)
	e.sync()

	rec, err := e.store.ApplicationRecord(context.Background(), e.id.StationID, app)
	if err != nil {
		t.Fatal(err)
	}
	var intake station.ApplicationIntake
	if err := json.Unmarshal(rec.Payload, &intake); err != nil {
		t.Fatal(err)
	}
	if intake.Applicant.IDNumber.Hub == "" {
		t.Fatal("the hub holds the intake record without the hub copy of the number")
	}
	if strings.Contains(string(rec.Payload), applicantNumber) {
		t.Fatal("the number reached the hub in clear")
	}

	clerk, other, admin := e.login("minzheng"), e.login("renshe"), e.login("cityadmin")
	const reason = "核对申请人身份，与户籍系统比对"
	steps := []struct {
		name   string
		token  string
		body   any
		status int
		code   string
	}{
		{"without a reason it is refused", clerk, map[string]string{}, 400, station.EINVALID},
		{"with a reason too short it is refused", clerk, map[string]string{"reason": " 核对 "}, 400, station.EINVALID},
		{"a clerk of another department is refused", other, map[string]string{"reason": reason}, 404, station.ENOTFOUND},
		{"the city administrator is refused", admin, map[string]string{"reason": reason}, 403, station.EFORBIDDEN},
		{"the owning department's clerk sees the full number", clerk, map[string]string{"reason": reason}, 200, ""},
	}
	for _, s := range steps {
		r, a := e.revealNumber(s.token, app, s.body)
		if r.status != s.status || a.Code != s.code {
			t.Fatalf("%s: %d %s, want %d %s", s.name, r.status, r.body, s.status, s.code)
		}
		if s.status != 200 && strings.Contains(string(r.body), applicantNumber) {
			t.Fatalf("%s: the refusal carries the number", s.name)
		}
		if s.code == station.EINVALID && !strings.Contains(a.Message, "原因") {
			t.Errorf("%s: message %q does not ask for a reason", s.name, a.Message)
		}
		if s.status == 200 {
			if a.IDNumber != applicantNumber || a.IDType != string(station.IDResident) || a.Masked != station.MaskIDNumber(applicantNumber) {
				t.Errorf("revealed %+v, want the applicant's number", a)
			}
			if cc := r.header.Get("Cache-Control"); !strings.Contains(cc, "no-store") {
				t.Errorf("Cache-Control = %q, want no-store", cc)
			}
		}
	}
	if r := e.do("GET", "/console/api/applications/"+e.id.StationID+"/"+app, clerk, nil); strings.Contains(string(r.body), applicantNumber) {
		t.Error("after a reveal the application's detail shows the full number")
	}

	audit := e.revealAudit()
	wantResults := []struct{ actor, result string }{
		{"minzheng", station.EINVALID}, {"minzheng", station.EINVALID}, {"renshe", station.ENOTFOUND},
		{"cityadmin", station.EFORBIDDEN}, {"minzheng", "ok"},
	}
	if len(audit) != len(wantResults) {
		t.Fatalf("%d reveal audit entries, want %d: %+v", len(audit), len(wantResults), audit)
	}
	object := "application:" + e.id.StationID + "/" + app
	for i, w := range wantResults {
		a := audit[i]
		if a.Actor != w.actor || a.Result != w.result || a.Object != object {
			t.Errorf("audit %d = %s %s %s, want %s %s %s", i, a.Actor, a.Object, a.Result, w.actor, object, w.result)
		}
		if strings.Contains(a.Detail, applicantNumber) || strings.Contains(a.Object, applicantNumber) {
			t.Errorf("audit %d carries the number: %+v", i, a)
		}
	}
	for _, i := range []int{2, 3, 4} {
		if !strings.Contains(audit[i].Detail, reason) {
			t.Errorf("audit %d detail %q does not record the reason", i, audit[i].Detail)
		}
	}
}

// TestRevealOfANumberSealedBeforeTheHubKey answers a clear conflict for an application whose station
// did not know the hub's reveal key when it sealed the number, and audits it.
func TestRevealOfANumberSealedBeforeTheHubKey(t *testing.T) {
	e := newEnv(t)
	e.key.SetHubKey(nil) // as a station enrolled before the hub had a reveal key
	app := e.intake("MZ-001", "李四")
	e.forward(app)
	e.sync()
	r, a := e.revealNumber(e.login("minzheng"), app, map[string]string{"reason": "核对申请人身份"})
	if r.status != 409 || a.Code != station.ECONFLICT || !strings.Contains(a.Message, "未为数据中心保留") || !strings.Contains(a.Detail, "not kept") {
		t.Fatalf("reveal = %d %s, want 409 ECONFLICT saying the number was not kept for the data center", r.status, r.body)
	}
	if audit := e.revealAudit(); len(audit) != 1 || audit[0].Result != station.ECONFLICT {
		t.Fatalf("audit = %+v, want one ECONFLICT reveal", audit)
	}
}

// TestRevealWithoutAKeyIsRefused runs a console with no reveal key (a hub process started without
// reveal.key wiring) beside the real one: the reveal is refused as unavailable, and audited.
func TestRevealWithoutAKeyIsRefused(t *testing.T) {
	e := newEnv(t)
	app := e.intake("MZ-001", "王小明")
	e.forward(app)
	e.sync()
	keyless := console.New(console.Config{Store: e.store, Blobs: nil, Hasher: hasher, Now: e.clock.Now})
	if err := keyless.Open("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { keyless.Close() })
	token := e.login("minzheng")
	body := strings.NewReader(`{"reason":"核对申请人身份"}`)
	req, _ := http.NewRequest("POST", keyless.URL()+"/console/api/applications/"+e.id.StationID+"/"+app+"/reveal", body)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 503 || strings.Contains(string(b), applicantNumber) || !strings.Contains(string(b), station.EUNAVAILABLE) {
		t.Fatalf("reveal without a key = %d %s, want 503 EUNAVAILABLE", resp.StatusCode, b)
	}
	if audit := e.revealAudit(); len(audit) != 1 || audit[0].Result != station.EUNAVAILABLE {
		t.Fatalf("audit = %+v, want one EUNAVAILABLE reveal", audit)
	}
}
