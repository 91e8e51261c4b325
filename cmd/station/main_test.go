package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/civic-station/station/station"
	"github.com/civic-station/station/station/argon2id"
	shttp "github.com/civic-station/station/station/http"
)

// testClock is a clock the tests move by hand.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// testStation is a running demo station on 127.0.0.1:0.
type testStation struct {
	*Main
	clock *testClock
}

// startStation runs the real Main in demo mode in a temporary data directory, with a hand-moved clock
// (Tuesday 2026-11-24 09:30 in China) and cheap password hashing.
func startStation(t *testing.T) *testStation {
	t.Helper()
	return startStationIn(t, t.TempDir(), nil)
}

// startStationIn runs the real Main as startStation does, in dir (which may hold an enrollment with a
// hub: the station then syncs with it), after configure, when not nil, has changed what the test needs.
func startStationIn(t testing.TB, dir string, configure func(*Main)) *testStation {
	t.Helper()
	clock := &testClock{now: time.Date(2026, 11, 24, 1, 30, 0, 0, time.UTC)}
	m := NewMain()
	m.DataDir = dir
	m.Listen = "127.0.0.1:0"
	m.Demo = true
	m.Now = clock.Now
	m.Hasher = argon2id.Hasher{Params: argon2id.TestParams}
	m.Logger = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if configure != nil {
		configure(m)
	}
	if err := m.Run(context.Background()); err != nil {
		t.Fatalf("run: %v", err)
	}
	t.Cleanup(func() {
		if err := m.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return &testStation{Main: m, clock: clock}
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// response is an answer from the station.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

func (r response) errorCode(t *testing.T) (code, message string) {
	t.Helper()
	var e struct{ Code, Message string }
	r.json(t, &e)
	return e.Code, e.Message
}

// do sends a request; body is sent as is when it is a string, else encoded as JSON.
func (s *testStation) do(t *testing.T, method, path, token string, body any) response {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		enc, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(enc)
	}
	req, err := http.NewRequest(method, s.URL()+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); strings.HasPrefix(ct, "text/event-stream") || strings.HasPrefix(ct, "multipart/x-mixed-replace") {
		return response{status: resp.StatusCode, header: resp.Header} // a stream: the status is the answer
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

func (s *testStation) login(t *testing.T, username string) string {
	t.Helper()
	r := s.do(t, "POST", "/api/v1/sessions", "", map[string]string{"username": username, "password": demoPassword})
	if r.status != http.StatusCreated {
		t.Fatalf("login %s: %d %s", username, r.status, r.body)
	}
	var out struct{ Token string }
	r.json(t, &out)
	return out.Token
}

// validID returns a valid resident ID number with the given first 17 digits.
func validID(first17 string) string {
	return first17 + string(station.CheckDigit(first17))
}

type application struct {
	ID              string           `json:"id"`
	Number          string           `json:"number"`
	Status          station.Status   `json:"status"`
	StatusLabel     string           `json:"status_label"`
	Deadline        string           `json:"deadline"`
	WorkingDaysLeft *int             `json:"working_days_left"`
	DueDate         *string          `json:"due_date"`
	CompletedOnTime *bool            `json:"completed_on_time"`
	AllowedActions  []station.Action `json:"allowed_actions"`
	Applicant       struct {
		IDNumber string `json:"id_number"`
		Name     string `json:"name"`
		Phone    string `json:"phone"`
	} `json:"applicant"`
	Timeline []station.Event `json:"timeline"`
}

// intake takes an application with material M1 provided; the matter's other required materials are
// accepted as missing (容缺受理), due in a week, so that tests can scan or tick them later.
// requiredMaterials is a checklist with every required material of a matter provided.
func (s *testStation) requiredMaterials(t *testing.T, matter string) []map[string]any {
	t.Helper()
	m, err := s.DB.Matter(context.Background(), matter)
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	for _, mat := range m.Materials {
		if mat.Required {
			out = append(out, map[string]any{"code": mat.Code, "provided": true})
		}
	}
	return out
}

func (s *testStation) intake(t *testing.T, token, matter, idNumber string) application {
	t.Helper()
	body := map[string]any{
		"matter_code": matter,
		"applicant":   map[string]string{"id_type": "resident", "id_number": idNumber, "name": "张三丰", "phone": "13800001234"},
		"materials":   []map[string]any{{"code": "M1", "provided": true}},
	}
	m, err := s.DB.Matter(context.Background(), matter)
	if err != nil {
		t.Fatal(err)
	}
	var deferred []string
	for _, mat := range m.Materials {
		if mat.Required && mat.Code != "M1" {
			deferred = append(deferred, mat.Code)
		}
	}
	if len(deferred) > 0 {
		body["deferral"] = map[string]any{"materials": deferred, "reason": "申请人材料尚在办理中",
			"due_date": station.DateOf(s.clock.Now()).AddDays(7).String()}
	}
	r := s.do(t, "POST", "/api/v1/applications", token, body)
	if r.status != http.StatusCreated {
		t.Fatalf("intake: %d %s", r.status, r.body)
	}
	var a application
	r.json(t, &a)
	return a
}

// TestIntakeWithMissingMaterials checks 容缺受理 through the API: required materials missing are refused
// unless the clerk accepts them as missing with a reason and a due date; the 容缺 is then on the
// application for staff, in the resident's progress lookup, and in the audit log.
func TestIntakeWithMissingMaterials(t *testing.T) {
	s := startStation(t)
	counter := s.login(t, "counter1")
	id := validID("11010119900307458")
	today := station.DateOf(s.clock.Now())
	intake := func(deferral map[string]any) response {
		body := map[string]any{"matter_code": "MZ-001",
			"applicant": map[string]string{"id_type": "resident", "id_number": id, "name": "张三丰", "phone": "13800001234"},
			"materials": []map[string]any{{"code": "M1", "provided": true}}}
		if deferral != nil {
			body["deferral"] = deferral
		}
		return s.do(t, "POST", "/api/v1/applications", counter, body)
	}
	m, err := s.DB.Matter(context.Background(), "MZ-001")
	if err != nil {
		t.Fatal(err)
	}
	var missing []string
	for _, mat := range m.Materials {
		if mat.Required && mat.Code != "M1" {
			missing = append(missing, mat.Code)
		}
	}
	if len(missing) < 2 {
		t.Fatalf("MZ-001 has %d required materials besides M1", len(missing))
	}
	t.Run("missing materials without 容缺 are refused, listed", func(t *testing.T) {
		r := intake(nil)
		if code, msg := r.errorCode(t); r.status != 400 || code != station.EINVALID || !strings.Contains(msg, "必需材料未收取") || !strings.Contains(msg, m.Materials[1].Name) {
			t.Fatalf("%d %s", r.status, r.body)
		}
	})
	bad := []struct {
		name     string
		deferral map[string]any
		want     string
	}{
		{"a due date that is no date", map[string]any{"materials": missing, "reason": "单位未开具", "due_date": "2026-13-01"}, "不是有效日期"},
		{"a due date today", map[string]any{"materials": missing, "reason": "单位未开具", "due_date": today.String()}, "晚于受理当天"},
		{"no due date", map[string]any{"materials": missing, "reason": "单位未开具"}, "补交材料的期限"},
		{"no reason", map[string]any{"materials": missing, "reason": "", "due_date": today.AddDays(5).String()}, "原因"},
		{"a missing material left out", map[string]any{"materials": missing[1:], "reason": "单位未开具", "due_date": today.AddDays(5).String()}, "未列入"},
	}
	for _, tt := range bad {
		t.Run("容缺 with "+tt.name+" is refused", func(t *testing.T) {
			r := intake(tt.deferral)
			if code, msg := r.errorCode(t); r.status != 400 || code != station.EINVALID || !strings.Contains(msg, tt.want) {
				t.Fatalf("%d %s", r.status, r.body)
			}
		})
	}
	due := today.AddDays(5)
	r := intake(map[string]any{"materials": missing, "reason": "户口簿在派出所补办中", "due_date": due.String()})
	if r.status != 201 {
		t.Fatalf("容缺受理: %d %s", r.status, r.body)
	}
	var a struct {
		ID       string `json:"id"`
		Number   string `json:"number"`
		Deferral *struct {
			Materials []struct {
				Code     string `json:"code"`
				Name     string `json:"name"`
				Provided bool   `json:"provided"`
			} `json:"materials"`
			Reason      string `json:"reason"`
			DueDate     string `json:"due_date"`
			Outstanding int    `json:"outstanding"`
			Overdue     bool   `json:"overdue"`
		} `json:"deferral"`
	}
	r.json(t, &a)
	if d := a.Deferral; d == nil || len(d.Materials) != len(missing) || d.Materials[0].Name != m.Materials[1].Name || d.Reason != "户口簿在派出所补办中" ||
		d.DueDate != due.String() || d.Outstanding != len(missing) || d.Overdue {
		t.Fatalf("the 容缺 on the application: %s", r.body)
	}
	if e := s.auditOf(t, "application:"+a.ID); !hasEntry(e, string(station.CmdApplicationIntake), "容缺受理") {
		t.Fatalf("the 容缺 is not audited: %+v", e)
	}
	// The resident sees what to bring and by when.
	p := s.do(t, "POST", "/api/v1/progress", "", map[string]string{"number": a.Number, "id_last4": id[len(id)-4:]})
	if p.status != 200 || !strings.Contains(string(p.body), `"due_date":"`+due.String()+`"`) || !strings.Contains(string(p.body), m.Materials[1].Name) {
		t.Fatalf("progress: %d %s", p.status, p.body)
	}
	// After the due date with the materials still missing, it is overdue.
	s.clock.Advance(6 * 24 * time.Hour)
	r = s.do(t, "GET", "/api/v1/applications/"+a.ID, s.login(t, "counter1"), nil)
	r.json(t, &a)
	if a.Deferral == nil || !a.Deferral.Overdue {
		t.Fatalf("after the due date: %s", r.body)
	}
}

func TestLogin(t *testing.T) {
	s := startStation(t)
	tests := []struct {
		name     string
		body     any
		status   int
		code     string
		message  string
		hasToken bool
	}{
		{"the right password opens a session", map[string]string{"username": "counter1", "password": demoPassword}, 201, "", "", true},
		{"a wrong password is refused", map[string]string{"username": "counter1", "password": "wrong-password"}, 401, "EUNAUTHORIZED", "用户名或密码错误，还可尝试4次", false},
		{"an unknown user gets the same answer as a wrong password", map[string]string{"username": "nobody", "password": demoPassword}, 401, "EUNAUTHORIZED", "用户名或密码错误，还可尝试4次", false},
		{"an empty password is invalid", map[string]string{"username": "counter1", "password": ""}, 400, "EINVALID", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := s.do(t, "POST", "/api/v1/sessions", "", tt.body)
			if r.status != tt.status {
				t.Fatalf("status = %d, want %d: %s", r.status, tt.status, r.body)
			}
			if tt.hasToken {
				var out struct {
					Token string
					User  struct{ Username, Role string }
				}
				r.json(t, &out)
				if len(out.Token) < 40 || out.User.Role != "staff" {
					t.Fatalf("bad login answer %s", r.body)
				}
				cookie := r.header.Get("Set-Cookie")
				for _, want := range []string{"station_session=" + out.Token, "HttpOnly", "SameSite=Strict", "Path=/"} {
					if !strings.Contains(strings.ToLower(cookie), strings.ToLower(want)) {
						t.Errorf("cookie %q lacks %q", cookie, want)
					}
				}
				return
			}
			code, msg := r.errorCode(t)
			if code != tt.code || (tt.message != "" && msg != tt.message) {
				t.Fatalf("error = %s %q, want %s %q", code, msg, tt.code, tt.message)
			}
		})
	}

	t.Run("the session cookie works like the bearer token", func(t *testing.T) {
		token := s.login(t, "review1")
		req, _ := http.NewRequest("GET", s.URL()+"/api/v1/sessions/current", nil)
		req.AddCookie(&http.Cookie{Name: shttp.SessionCookie, Value: token})
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("status %d", resp.StatusCode)
		}
	})

	t.Run("logging out ends the session", func(t *testing.T) {
		token := s.login(t, "counter1")
		if r := s.do(t, "DELETE", "/api/v1/sessions/current", token, nil); r.status != 204 {
			t.Fatalf("logout: %d %s", r.status, r.body)
		}
		if r := s.do(t, "GET", "/api/v1/sessions/current", token, nil); r.status != 401 {
			t.Fatalf("after logout: %d %s", r.status, r.body)
		}
	})

	t.Run("the status check answers 200 with or without a session", func(t *testing.T) {
		if r := s.do(t, "GET", "/api/v1/sessions/status", "", nil); r.status != 200 || !strings.Contains(string(r.body), `"authenticated":false`) {
			t.Fatalf("without a session: %d %s", r.status, r.body)
		}
		if r := s.do(t, "GET", "/api/v1/sessions/status", "not-a-token", nil); r.status != 200 || !strings.Contains(string(r.body), `"authenticated":false`) {
			t.Fatalf("with a bad token: %d %s", r.status, r.body)
		}
		token := s.login(t, "tech")
		if r := s.do(t, "GET", "/api/v1/sessions/status", token, nil); r.status != 200 || !strings.Contains(string(r.body), `"authenticated":true`) || !strings.Contains(string(r.body), `"tech"`) {
			t.Fatalf("signed in: %d %s", r.status, r.body)
		}
	})
}

func TestLockout(t *testing.T) {
	s := startStation(t)
	wrong := map[string]string{"username": "counter1", "password": "not-the-password"}
	try := func(body map[string]string) response { return s.do(t, "POST", "/api/v1/sessions", "", body) }
	t.Run("each wrong password says how many tries are left", func(t *testing.T) {
		for i := 1; i < station.SlowDownAfter; i++ {
			r := try(wrong)
			if code, msg := r.errorCode(t); r.status != 401 || code != "EUNAUTHORIZED" || msg != fmt.Sprintf("用户名或密码错误，还可尝试%d次", station.MaxFailedLogins-i) {
				t.Fatalf("failure %d: %d %s", i, r.status, r.body)
			}
		}
	})
	t.Run("from the third failure on the address must wait before it tries again", func(t *testing.T) {
		if r := try(wrong); r.status != 401 {
			t.Fatalf("failure %d: %d %s", station.SlowDownAfter, r.status, r.body)
		}
		r := try(map[string]string{"username": "counter1", "password": demoPassword})
		if code, _ := r.errorCode(t); r.status != 429 || code != "ETOOMANY" || r.header.Get("Retry-After") != "2" {
			t.Fatalf("a try at once after the third failure: %d %s (Retry-After %q)", r.status, r.body, r.header.Get("Retry-After"))
		}
		s.clock.Advance(2 * time.Second)
		if r := try(wrong); r.status != 401 || !strings.Contains(string(r.body), "还可尝试1次") {
			t.Fatalf("the fourth failure: %d %s", r.status, r.body)
		}
		s.clock.Advance(station.LoginDelay(station.MaxFailedLogins - 1))
	})
	t.Run("the fifth failure locks this address out for exactly 15 minutes", func(t *testing.T) {
		r := try(wrong)
		if code, msg := r.errorCode(t); r.status != 423 || code != "ELOCKED" || !strings.Contains(msg, "15分钟") {
			t.Fatalf("got %d %s", r.status, r.body)
		}
	})
	t.Run("a locked address is refused the right password", func(t *testing.T) {
		s.clock.Advance(5 * time.Minute)
		r := try(map[string]string{"username": "counter1", "password": demoPassword})
		if code, msg := r.errorCode(t); r.status != 423 || code != "ELOCKED" || !strings.Contains(msg, "10分钟") {
			t.Fatalf("got %d %s", r.status, r.body)
		}
	})
	t.Run("an unknown account gets the same answers", func(t *testing.T) {
		r := try(map[string]string{"username": "nobody", "password": "not-the-password"})
		if code, msg := r.errorCode(t); r.status != 401 || code != "EUNAUTHORIZED" || msg != fmt.Sprintf("用户名或密码错误，还可尝试%d次", station.MaxFailedLogins-1) {
			t.Fatalf("got %d %s", r.status, r.body)
		}
	})
	t.Run("an administrator unlocks at once, audited", func(t *testing.T) {
		// The administrator signs in from the same box: only counter1 is locked out of it.
		admin := s.login(t, "admin")
		if r := s.do(t, "PATCH", "/api/v1/users/counter1", admin, map[string]any{"unlock": true}); r.status != 200 {
			t.Fatalf("unlock: %d %s", r.status, r.body)
		}
		s.login(t, "counter1")
		r := s.do(t, "GET", "/api/v1/audit?action=user.update&per_page=100", admin, nil)
		if !strings.Contains(string(r.body), "unlock") {
			t.Errorf("the unlock is not in the audit log: %s", r.body)
		}
	})
	t.Run("the failures are in the audit log", func(t *testing.T) {
		admin := s.login(t, "admin")
		r := s.do(t, "GET", "/api/v1/audit?action=login.failed&per_page=100", admin, nil)
		var out struct{ Total int }
		r.json(t, &out)
		if out.Total != station.MaxFailedLogins {
			t.Fatalf("login.failed entries = %d, want %d: %s", out.Total, station.MaxFailedLogins, r.body)
		}
	})
}

func TestIdleSession(t *testing.T) {
	s := startStation(t)
	token := s.login(t, "counter1")
	steps := []struct {
		name    string
		advance time.Duration
		status  int
		message string
	}{
		{"a fresh session works", 0, 200, ""},
		{"a session used within 15 minutes still works", 14 * time.Minute, 200, ""},
		{"the idle time restarts with every request", 14 * time.Minute, 200, ""},
		{"a session idle for more than 15 minutes ends", 16 * time.Minute, 401, "登录已超时，请重新登录"},
		{"an ended session stays ended", 0, 401, "登录已失效，请重新登录"},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			s.clock.Advance(st.advance)
			r := s.do(t, "GET", "/api/v1/sessions/current", token, nil)
			if r.status != st.status {
				t.Fatalf("status %d, want %d: %s", r.status, st.status, r.body)
			}
			if st.message != "" {
				if _, msg := r.errorCode(t); msg != st.message {
					t.Fatalf("message %q, want %q", msg, st.message)
				}
			}
		})
	}
	t.Run("a session ends after 12 hours even when used", func(t *testing.T) {
		token := s.login(t, "counter1")
		for i := 0; i < 12*60/14+1; i++ {
			s.clock.Advance(14 * time.Minute)
			r := s.do(t, "GET", "/api/v1/sessions/current", token, nil)
			if r.status == 401 {
				return
			}
		}
		t.Fatal("session outlived SessionMaxAge")
	})
}

func TestApplicationFlow(t *testing.T) {
	s := startStation(t)
	counter, reviewer := s.login(t, "counter1"), s.login(t, "review1")
	// The demo seeds sample applications; the figures below are counted from this baseline.
	var base station.Stats
	s.do(t, "GET", "/api/v1/stats", counter, nil).json(t, &base)
	var baseCompleted struct{ Total int }
	s.do(t, "GET", "/api/v1/applications?status=completed", counter, nil).json(t, &baseCompleted)
	a := s.intake(t, counter, "MZ-001", validID("11010119900307451"))

	t.Run("an intake is received with a deadline", func(t *testing.T) {
		if a.Status != station.StatusReceived || a.StatusLabel != "已受理" || a.Deadline != "ok" || a.WorkingDaysLeft == nil || *a.WorkingDaysLeft != 30 {
			t.Fatalf("bad application %+v", a)
		}
		if !strings.HasPrefix(a.Number, "SQ20261124-") {
			t.Fatalf("number %q", a.Number)
		}
		if strings.Join(actions(a.AllowedActions), ",") != "return,withdraw" {
			t.Fatalf("staff allowed actions %v", a.AllowedActions)
		}
	})

	steps := []struct {
		name   string
		token  string
		action string
		reason string
		status int
		want   station.Status
	}{
		{"counter staff may not pre-review", counter, "pre_review", "", 403, ""},
		{"forwarding before pre-review conflicts with the state machine", reviewer, "forward", "", 409, ""},
		{"an unknown action is invalid", reviewer, "teleport", "", 400, ""},
		{"a return without a reason is invalid", reviewer, "return", "", 400, ""},
		{"the reviewer pre-reviews", reviewer, "pre_review", "材料齐全", 200, station.StatusPreReviewed},
		{"the reviewer forwards", reviewer, "forward", "", 200, station.StatusForwarded},
		{"counter staff may not approve", counter, "approve", "", 403, ""},
		{"the reviewer approves", reviewer, "approve", "", 200, station.StatusApproved},
		{"counter staff complete", counter, "complete", "", 200, station.StatusCompleted},
		{"a completed application cannot be withdrawn", counter, "withdraw", "申请人要求", 409, ""},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			r := s.do(t, "POST", "/api/v1/applications/"+a.ID+"/transitions", st.token, map[string]string{"action": st.action, "reason": st.reason})
			if r.status != st.status {
				t.Fatalf("status %d, want %d: %s", r.status, st.status, r.body)
			}
			if st.want != "" {
				var got application
				r.json(t, &got)
				if got.Status != st.want {
					t.Fatalf("status %s, want %s", got.Status, st.want)
				}
			}
		})
	}

	t.Run("the completed application shows its timeline and was on time", func(t *testing.T) {
		r := s.do(t, "GET", "/api/v1/applications/"+a.ID, counter, nil)
		var got application
		r.json(t, &got)
		if len(got.Timeline) != 5 || got.CompletedOnTime == nil || !*got.CompletedOnTime || got.Deadline != "none" {
			t.Fatalf("got %s", r.body)
		}
	})

	t.Run("an immediate matter goes from received to completed", func(t *testing.T) {
		b := s.intake(t, counter, "MZ-008", validID("11010119850101123"))
		if b.DueDate != nil || b.Deadline != "none" {
			t.Fatalf("immediate application has a deadline: %+v", b)
		}
		r := s.do(t, "POST", "/api/v1/applications/"+b.ID+"/transitions", counter, map[string]string{"action": "complete"})
		var got application
		r.json(t, &got)
		if r.status != 200 || got.Status != station.StatusCompleted || got.CompletedOnTime == nil || !*got.CompletedOnTime {
			t.Fatalf("got %d %s", r.status, r.body)
		}
	})

	t.Run("the list and the stats count the applications", func(t *testing.T) {
		r := s.do(t, "GET", "/api/v1/applications?status=completed", counter, nil)
		var list struct {
			Items []application
			Total int
		}
		r.json(t, &list)
		// The demo's completed ones, plus the commitment and the immediate application completed above.
		if want := baseCompleted.Total + 2; list.Total != want || len(list.Items) != want {
			t.Fatalf("list total %d, want %d: %s", list.Total, want, r.body)
		}
		r = s.do(t, "GET", "/api/v1/stats", counter, nil)
		var stats station.Stats
		r.json(t, &stats)
		// Only the commitment application has a due date, so only it counts towards the rate.
		if stats.Open != base.Open || stats.Completed != base.Completed+1 || stats.CompletedOnTime != base.CompletedOnTime+1 {
			t.Fatalf("stats %s, baseline %+v", r.body, base)
		}
	})

	t.Run("materials can be updated while open", func(t *testing.T) {
		c := s.intake(t, counter, "MZ-001", validID("11010119900307452"))
		r := s.do(t, "PUT", "/api/v1/applications/"+c.ID+"/materials", counter, map[string]any{"materials": []map[string]any{{"code": "M2", "provided": true}}})
		if r.status != 200 {
			t.Fatalf("got %d %s", r.status, r.body)
		}
		r = s.do(t, "PUT", "/api/v1/applications/"+c.ID+"/materials", counter, map[string]any{"materials": []map[string]any{{"code": "NOPE", "provided": true}}})
		if r.status != 400 {
			t.Fatalf("unknown material: got %d %s", r.status, r.body)
		}
	})
}

func actions(as []station.Action) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = string(a)
	}
	return out
}

func TestProgress(t *testing.T) {
	s := startStation(t)
	counter := s.login(t, "counter1")
	id := validID("11010119900307451")
	a := s.intake(t, counter, "MZ-001", id)
	last4 := id[len(id)-4:]
	tests := []struct {
		name   string
		number string
		last4  string
		status int
	}{
		{"the right number and last four digits show the progress", a.Number, last4, 200},
		{"the number is matched regardless of case", strings.ToLower(a.Number), last4, 200},
		{"wrong last four digits are not found", a.Number, "0000", 404},
		{"an unknown number is not found", "SQ20261124-9999", last4, 404},
		{"missing last four digits are invalid", a.Number, "", 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := s.do(t, "POST", "/api/v1/progress", "", map[string]string{"number": tt.number, "id_last4": tt.last4})
			if r.status != tt.status {
				t.Fatalf("status %d, want %d: %s", r.status, tt.status, r.body)
			}
			switch tt.status {
			case 200:
				var p struct {
					StatusLabel   string `json:"status_label"`
					ApplicantName string `json:"applicant_name"`
					Timeline      []struct{ Label string }
				}
				r.json(t, &p)
				if p.StatusLabel != "已受理" || p.ApplicantName != "张**" || len(p.Timeline) != 1 || p.Timeline[0].Label != "已受理" {
					t.Fatalf("progress %s", r.body)
				}
				if bytes.Contains(r.body, []byte("13800001234")) || bytes.Contains(r.body, []byte(id)) {
					t.Fatalf("progress leaks personal data: %s", r.body)
				}
			case 404:
				if _, msg := r.errorCode(t); msg != "未找到办件，请核对办件编号和证件号码后四位" {
					t.Fatalf("message %q", msg)
				}
			}
		})
	}
}

func TestProgressGuessLimit(t *testing.T) {
	s := startStation(t)
	counter := s.login(t, "counter1")
	id := validID("11010119900307452")
	a := s.intake(t, counter, "MZ-001", id)
	b := s.intake(t, counter, "MZ-001", validID("11010119900307453"))
	lookup := func(number, last4 string) int {
		return s.do(t, "POST", "/api/v1/progress", "", map[string]string{"number": number, "id_last4": last4}).status
	}
	for i := 0; i < 5; i++ {
		if st := lookup(a.Number, fmt.Sprintf("%04d", i)); st != 404 {
			t.Fatalf("wrong guess %d: status %d, want 404", i+1, st)
		}
	}
	if st := lookup(a.Number, id[14:]); st != 429 {
		t.Fatalf("after 5 wrong guesses even the right answer gets %d, want 429", st)
	}
	r := s.do(t, "POST", "/api/v1/progress", "", map[string]string{"number": a.Number, "id_last4": id[14:]})
	if code, msg := r.errorCode(t); code != station.ETOOMANY || !strings.Contains(msg, "窗口") {
		t.Fatalf("error %s %q", code, msg)
	}
	if st := lookup(b.Number, validID("11010119900307453")[14:]); st != 200 {
		t.Fatalf("another application's lookup is blocked too: %d", st)
	}
	s.clock.Advance(time.Hour)
	if st := lookup(a.Number, id[14:]); st != 200 {
		t.Fatalf("an hour later the lookup still gets %d", st)
	}
}

func TestMalformedRequests(t *testing.T) {
	s := startStation(t)
	counter := s.login(t, "counter1")
	tests := []struct {
		name    string
		path    string
		body    string
		status  int
		code    string
		message string
	}{
		{"broken JSON is invalid", "/api/v1/sessions", `{"username":`, 400, "EINVALID", "请求体JSON不完整"},
		{"a syntax error is invalid", "/api/v1/sessions", `{"username" "x"}`, 400, "EINVALID", "语法错误"},
		{"an unknown field is refused", "/api/v1/sessions", `{"username":"a","password":"b","foo":1}`, 400, "EINVALID", "提交的内容有误"},
		{"a wrong type is refused", "/api/v1/sessions", `{"username":1,"password":"b"}`, 400, "EINVALID", "提交的内容有误"},
		{"an empty body is invalid", "/api/v1/progress", ``, 400, "EINVALID", "请求体不能为空"},
		{"two JSON values are invalid", "/api/v1/progress", `{} {}`, 400, "EINVALID", "只能包含一个JSON对象"},
		{"an array instead of an object is invalid", "/api/v1/progress", `[]`, 400, "EINVALID", "应为JSON对象"},
		{"an unknown nested field is named", "/api/v1/applications", `{"matter_code":"MZ-001","applicant":{"id_type":"resident","id_number":"1","nickname":"x"}}`, 400, "EINVALID", "提交的内容有误"},
		{"a wrong check digit is explained without echoing the number", "/api/v1/residents/lookup", `{"id_type":"resident","id_number":"110101199003074510"}`, 400, "EINVALID", "校验位错误"},
		{"a body over 64 KiB is too large", "/api/v1/progress", `{"number":"` + strings.Repeat("x", 70<<10) + `"}`, 413, "ETOOLARGE", "64KB"},
		{"an unknown API path is not found", "/api/v1/nothing-here", `{}`, 404, "ENOTFOUND", ""},
	}
	t.Run("a body announced over the server's hard limit is refused before it is read", func(t *testing.T) {
		// A raw connection: the client announces 2 MiB and sends none of it, so the answer cannot race
		// with the upload (the server closes the connection after answering).
		conn, err := net.Dial("tcp", s.HTTP.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		fmt.Fprintf(conn, "POST /api/v1/progress HTTP/1.1\r\nHost: station\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", 2<<20)
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Fatalf("status %d, want 413", resp.StatusCode)
		}
	})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := s.do(t, "POST", tt.path, counter, tt.body)
			if r.status != tt.status {
				t.Fatalf("status %d, want %d: %.300s", r.status, tt.status, r.body)
			}
			code, msg := r.errorCode(t)
			if code != tt.code || !strings.Contains(msg, tt.message) {
				t.Fatalf("error %s %q, want %s containing %q", code, msg, tt.code, tt.message)
			}
		})
	}
}

// TestRoleChecks calls every route without a session and as every staff role: allowed roles get past
// authentication and authorization (whatever the handler then says), the others are refused.
func TestRoleChecks(t *testing.T) {
	s := startStation(t)
	roles := map[station.Role]string{
		station.RoleStaff: "counter1", station.RoleReviewer: "review1",
		station.RoleStationAdmin: "admin", station.RoleTechnician: "tech",
	}
	fill := strings.NewReplacer("{id}", "0193aaaa-0000-7000-8000-000000000000", "{code}", "MZ-001", "{username}", "nobody",
		"{sha}", strings.Repeat("ab", 32))
	for _, rt := range shttp.Routes() {
		path := fill.Replace(rt.Path)
		body := any(nil)
		if rt.Method != "GET" && rt.Method != "DELETE" {
			body = `{}`
		}
		if rt.Public {
			t.Run(rt.Method+" "+rt.Path+" is open without a session", func(t *testing.T) {
				if rt.Method == "POST" && rt.Path == "/api/v1/sessions" {
					return // logging in with {} is covered by TestLogin
				}
				if r := s.do(t, rt.Method, path, "", body); r.status == 401 || r.status == 403 {
					t.Fatalf("status %d: %s", r.status, r.body)
				}
			})
			continue
		}
		t.Run(rt.Method+" "+rt.Path+" needs a session", func(t *testing.T) {
			r := s.do(t, rt.Method, path, "", body)
			if code, _ := r.errorCode(t); r.status != 401 || code != "EUNAUTHORIZED" {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			r = s.do(t, rt.Method, path, "not-a-token", body)
			if r.status != 401 {
				t.Fatalf("with a bad token: status %d: %s", r.status, r.body)
			}
		})
		for role, user := range roles {
			allowed := rt.Allows(role)
			verb := "is refused"
			if allowed {
				verb = "is let through"
			}
			t.Run(fmt.Sprintf("%s %s %s for %s", rt.Method, rt.Path, verb, role), func(t *testing.T) {
				token := s.login(t, user)
				r := s.do(t, rt.Method, path, token, body)
				if allowed && (r.status == 401 || r.status == 403) {
					t.Fatalf("status %d: %s", r.status, r.body)
				}
				if !allowed {
					if code, _ := r.errorCode(t); r.status != 403 || code != "EFORBIDDEN" {
						t.Fatalf("status %d: %s", r.status, r.body)
					}
				}
			})
		}
	}
}

func TestIDNumbersStayMasked(t *testing.T) {
	s := startStation(t)
	counter, reviewer, admin := s.login(t, "counter1"), s.login(t, "review1"), s.login(t, "admin")
	id := validID("11010119900307451")
	masked := station.MaskIDNumber(id)

	r := s.do(t, "POST", "/api/v1/residents", counter, map[string]any{
		"id_type": "resident", "id_number": id, "name": "赵六", "phone": "13912345678", "community": "幸福社区",
	})
	if r.status != 201 {
		t.Fatalf("create resident: %d %s", r.status, r.body)
	}
	var res struct {
		ID        string
		IDNumber  string `json:"id_number"`
		Sex       string
		BirthDate string `json:"birth_date"`
		Phone     string
	}
	r.json(t, &res)
	if res.IDNumber != masked || res.Sex != "male" || res.BirthDate != "1990-03-07" || res.Phone != "139****5678" {
		t.Fatalf("resident %s", r.body)
	}
	app := s.intake(t, counter, "MZ-001", id)

	reads := []struct {
		name, method, path, token string
		body                      any
	}{
		{"the resident as created", "", "", "", nil},
		{"a resident lookup", "POST", "/api/v1/residents/lookup", counter, map[string]string{"id_type": "resident", "id_number": id}},
		{"a resident read", "GET", "/api/v1/residents/" + res.ID, reviewer, nil},
		{"an application detail", "GET", "/api/v1/applications/" + app.ID, counter, nil},
		{"the application list", "GET", "/api/v1/applications", counter, nil},
		{"the audit log", "GET", "/api/v1/audit?per_page=100", admin, nil},
		{"the kiosk progress", "POST", "/api/v1/progress", "", map[string]string{"number": app.Number, "id_last4": id[14:]}},
	}
	for _, rd := range reads {
		t.Run(rd.name+" does not show the full number", func(t *testing.T) {
			if rd.method == "" {
				return
			}
			r := s.do(t, rd.method, rd.path, rd.token, rd.body)
			if r.status != 200 {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			if bytes.Contains(r.body, []byte(id)) {
				t.Fatalf("full ID number in %s", r.body)
			}
		})
	}
	t.Run("the application shows the applicant's name in full and the number masked", func(t *testing.T) {
		if app.Applicant.Name != "张三丰" || app.Applicant.IDNumber != masked || app.Applicant.Phone != "138****1234" {
			t.Fatalf("applicant %+v", app.Applicant)
		}
	})
	t.Run("counter staff may not reveal the number", func(t *testing.T) {
		r := s.do(t, "GET", "/api/v1/residents/"+res.ID+"?reveal=1", counter, nil)
		if r.status != 403 || bytes.Contains(r.body, []byte(id)) {
			t.Fatalf("status %d: %s", r.status, r.body)
		}
	})
	t.Run("a reviewer may reveal the number", func(t *testing.T) {
		r := s.do(t, "GET", "/api/v1/residents/"+res.ID+"?reveal=1", reviewer, nil)
		var got struct {
			IDNumber string `json:"id_number"`
		}
		r.json(t, &got)
		if r.status != 200 || got.IDNumber != id {
			t.Fatalf("status %d: %s", r.status, r.body)
		}
	})
	t.Run("every staff read is in the audit log", func(t *testing.T) {
		want := map[string]string{
			"read.lookup": "resident:" + res.ID, "read.view": "resident:" + res.ID,
			"read.reveal": "resident:" + res.ID,
		}
		for action, object := range want {
			r := s.do(t, "GET", "/api/v1/audit?action="+action+"&per_page=100", admin, nil)
			var out struct {
				Items []station.AuditEntry
			}
			r.json(t, &out)
			found := false
			for _, e := range out.Items {
				found = found || (e.Object == object && e.Result == "ok")
			}
			if !found {
				t.Errorf("no %s of %s in %s", action, object, r.body)
			}
		}
		r := s.do(t, "GET", "/api/v1/audit?object=application:"+app.ID+"&per_page=100", admin, nil)
		if !bytes.Contains(r.body, []byte(`"read.view"`)) {
			t.Errorf("application view not audited: %s", r.body)
		}
		r = s.do(t, "GET", "/api/v1/audit?action=read.reveal&per_page=100", admin, nil)
		if !bytes.Contains(r.body, []byte(`"review1"`)) {
			t.Errorf("reveal not attributed to review1: %s", r.body)
		}
	})
}

func TestUsers(t *testing.T) {
	s := startStation(t)
	admin := s.login(t, "admin")
	t.Run("the admin creates an account", func(t *testing.T) {
		r := s.do(t, "POST", "/api/v1/users", admin, map[string]string{"username": "counter2", "display_name": "柜台二", "role": "staff", "password": "a-long-password"})
		if r.status != 201 {
			t.Fatalf("%d %s", r.status, r.body)
		}
		r = s.do(t, "POST", "/api/v1/sessions", "", map[string]string{"username": "counter2", "password": "a-long-password"})
		if r.status != 201 {
			t.Fatalf("login: %d %s", r.status, r.body)
		}
	})
	t.Run("a short password is invalid", func(t *testing.T) {
		r := s.do(t, "POST", "/api/v1/users", admin, map[string]string{"username": "counter3", "display_name": "柜台三", "role": "staff", "password": "short"})
		if r.status != 400 {
			t.Fatalf("%d %s", r.status, r.body)
		}
	})
	t.Run("a duplicate username conflicts", func(t *testing.T) {
		r := s.do(t, "POST", "/api/v1/users", admin, map[string]string{"username": "counter1", "display_name": "柜台一", "role": "staff", "password": "a-long-password"})
		if r.status != 409 {
			t.Fatalf("%d %s", r.status, r.body)
		}
	})
	t.Run("disabling an account ends its sessions", func(t *testing.T) {
		token := s.login(t, "counter1")
		r := s.do(t, "PATCH", "/api/v1/users/counter1", admin, map[string]any{"disabled": true})
		if r.status != 200 {
			t.Fatalf("%d %s", r.status, r.body)
		}
		if r := s.do(t, "GET", "/api/v1/sessions/current", token, nil); r.status != 401 {
			t.Fatalf("session of a disabled account: %d %s", r.status, r.body)
		}
		r = s.do(t, "POST", "/api/v1/sessions", "", map[string]string{"username": "counter1", "password": demoPassword})
		if r.status != 401 {
			t.Fatalf("login of a disabled account: %d %s", r.status, r.body)
		}
	})
	t.Run("the list shows the accounts", func(t *testing.T) {
		r := s.do(t, "GET", "/api/v1/users", admin, nil)
		var out struct{ Items []struct{ Username string } }
		r.json(t, &out)
		if len(out.Items) != 5 {
			t.Fatalf("%s", r.body)
		}
	})
}

func TestOperations(t *testing.T) {
	s := startStation(t)
	s.login(t, "counter1") // submits a command, so the command counter has a series
	s.do(t, "GET", "/api/v1/catalog/matters?q=dbsq", "", nil)
	tests := []struct {
		name   string
		path   string
		status int
		want   []string
	}{
		{"healthz says ok", "/healthz", 200, []string{"ok"}},
		{"readyz says ok with the store open", "/readyz", 200, []string{"ok"}},
		{"metrics show requests, durations, commands and the Go runtime", "/metrics", 200, []string{
			"station_http_requests_total", "station_http_request_duration_seconds", "station_commands_submitted_total",
			`route="/api/v1/catalog/matters"`, "go_goroutines",
		}},
		{"the OpenAPI document is served", "/api/v1/openapi.json", 200, []string{`"openapi":"3.0.3"`, `"/api/v1/residents/{id}"`}},
		{"the kiosk gets the placeholder page without a built UI", "/kiosk", 200, []string{"make ui"}},
		{"a kiosk sub-path gets the same page", "/kiosk/progress", 200, []string{"make ui"}},
		{"the catalog finds matters by pinyin initials", "/api/v1/catalog/matters?q=zdshbz", 200, []string{"MZ-001"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := s.do(t, "GET", tt.path, "", nil)
			if r.status != tt.status {
				t.Fatalf("status %d: %.300s", r.status, r.body)
			}
			for _, w := range tt.want {
				if !bytes.Contains(r.body, []byte(w)) {
					t.Errorf("body lacks %q", w)
				}
			}
		})
	}
	t.Run("the root redirects to the kiosk", func(t *testing.T) {
		r := s.do(t, "GET", "/", "", nil)
		if r.status != 302 || r.header.Get("Location") != "/kiosk" {
			t.Fatalf("%d %v", r.status, r.header)
		}
	})
	t.Run("every response carries the security headers", func(t *testing.T) {
		r := s.do(t, "GET", "/api/v1/catalog/categories", "", nil)
		for h, want := range map[string]string{
			"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer",
			"Content-Security-Policy": "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:",
		} {
			if got := r.header.Get(h); !strings.HasPrefix(got, want) {
				t.Errorf("%s = %q, want %q", h, got, want)
			}
		}
	})
}

func TestAuditVerifyCommand(t *testing.T) {
	s := startStation(t)
	counter := s.login(t, "counter1")
	s.intake(t, counter, "MZ-001", validID("11010119900307451"))
	ctx := context.Background()
	verify := func(args ...string) (int, string) {
		var out, errOut bytes.Buffer
		code := run(ctx, append([]string{"audit", "verify", "--data", s.DataDir}, args...), nil, &out, &errOut)
		return code, out.String() + errOut.String()
	}

	t.Run("an intact chain verifies while the station runs", func(t *testing.T) {
		if code, out := verify(); code != 0 || !strings.Contains(out, "审计日志完好") {
			t.Fatalf("exit %d: %s", code, out)
		}
	})
	t.Run("a missing database is an error", func(t *testing.T) {
		var out bytes.Buffer
		if code := run(ctx, []string{"audit", "verify", "--data", t.TempDir()}, nil, &out, &out); code != 1 {
			t.Fatalf("exit %d: %s", code, out.String())
		}
	})
	t.Run("a bad flag is a usage error", func(t *testing.T) {
		if code, out := verify("--nope"); code != 2 {
			t.Fatalf("exit %d: %s", code, out)
		}
	})

	// Tamper with the log the way an intruder with file access would.
	db, err := sql.Open("sqlite", "file:"+filepath.Join(s.DataDir, "station.db")+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range []string{
		`DROP TRIGGER audit_log_no_update`,
		`UPDATE audit_log SET actor = 'mallory' WHERE seq = 3`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	t.Run("an edited entry breaks the chain and exits 1", func(t *testing.T) {
		code, out := verify()
		if code != 1 || !strings.Contains(out, "第 3 条") {
			t.Fatalf("exit %d: %s", code, out)
		}
	})
	t.Run("the JSON report names the first bad entry", func(t *testing.T) {
		code, out := verify("--json")
		var rep station.AuditReport
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		if code != 1 || rep.OK || rep.FirstBadSeq != 3 {
			t.Fatalf("exit %d: %+v", code, rep)
		}
	})
	t.Run("the API reports the broken chain too", func(t *testing.T) {
		r := s.do(t, "GET", "/api/v1/audit/verify", s.login(t, "admin"), nil)
		var rep station.AuditReport
		r.json(t, &rep)
		if rep.OK || rep.FirstBadSeq != 3 {
			t.Fatalf("%s", r.body)
		}
	})
}

func TestCommands(t *testing.T) {
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"version prints the version", []string{"version"}, 0, "station dev"},
		{"no subcommand is a usage error", nil, 2, "用法"},
		{"an unknown subcommand is a usage error", []string{"fly"}, 2, "未知的子命令"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			if code := run(context.Background(), tt.args, nil, &out, &out); code != tt.code || !strings.Contains(out.String(), tt.want) {
				t.Fatalf("exit %d: %s", code, out.String())
			}
		})
	}
}

func TestDemoRestart(t *testing.T) {
	t.Run("a second start in demo mode keeps the data and starts quickly", func(t *testing.T) {
		s := startStation(t)
		counter := s.login(t, "counter1")
		s.intake(t, counter, "MZ-001", validID("11010119900307451"))
		var before station.Stats
		s.do(t, "GET", "/api/v1/stats", counter, nil).json(t, &before)
		dir := s.DataDir
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		m := NewMain()
		m.DataDir, m.Listen, m.Demo = dir, "127.0.0.1:0", true
		m.Now = s.clock.Now // the same day as the first start: deadline counts depend on it
		if err := m.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		var stats station.Stats
		st := &testStation{Main: m}
		token := st.login(t, "counter1")
		st.do(t, "GET", "/api/v1/stats", token, nil).json(t, &stats)
		if stats != before {
			t.Fatalf("stats after restart %+v, before %+v: demo data seeded twice or lost", stats, before)
		}
	})
	// How long the starts take is measured by bench/coldstart.sh, not asserted here.
	t.Run("a first start in demo mode with production hashing serves", func(t *testing.T) {
		m := NewMain()
		m.DataDir, m.Listen, m.Demo = t.TempDir(), "127.0.0.1:0", true
		if err := m.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		st := &testStation{Main: m}
		if r := st.do(t, "GET", "/readyz", "", nil); r.status != 200 {
			t.Errorf("/readyz = %d", r.status)
		}
	})
}

func TestUserAddCreatesTheFirstAdministrator(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	add := func(stdin string, args ...string) (int, string) {
		var out bytes.Buffer
		code := run(ctx, append([]string{"user", "add", "--data", dir}, args...), strings.NewReader(stdin), &out, &out)
		return code, out.String()
	}
	if code, out := add("correct horse battery\n", "--username", "zhangwei", "--role", "station_admin", "--display-name", "张伟"); code != 0 {
		t.Fatalf("user add: %d %s", code, out)
	}
	if code, out := add("correct horse battery\n", "--username", "zhangwei", "--role", "staff"); code != 1 || !strings.Contains(out, "已存在") {
		t.Fatalf("adding the same username again: %d %s", code, out)
	}
	if code, out := add("short\n", "--username", "lina", "--role", "staff"); code != 1 || !strings.Contains(out, "密码长度") {
		t.Fatalf("a short password: %d %s", code, out)
	}
	if code, _ := add("correct horse battery\n", "--username", "lina", "--role", "mayor"); code != 2 {
		t.Fatalf("an unknown role: exit %d, want 2", code)
	}

	m := NewMain()
	m.DataDir, m.Listen = dir, "127.0.0.1:0"
	if err := m.Run(ctx); err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	s := &testStation{Main: m}
	r := s.do(t, "POST", "/api/v1/sessions", "", map[string]string{"username": "zhangwei", "password": "correct horse battery"})
	if r.status != http.StatusCreated || !strings.Contains(string(r.body), "station_admin") {
		t.Fatalf("login as the new administrator: %d %s", r.status, r.body)
	}
	if r := s.do(t, "POST", "/api/v1/sessions", "", map[string]string{"username": "counter1", "password": demoPassword}); r.status != http.StatusUnauthorized {
		t.Fatalf("a station started without --demo accepts a demo account: %d", r.status)
	}
}

func TestDemoSeedsApplicationsInEveryDeadlineState(t *testing.T) {
	s := startStation(t)
	token := s.login(t, "review1")
	var stats station.Stats
	s.do(t, "GET", "/api/v1/stats", token, nil).json(t, &stats)
	if stats.Overdue < 1 || stats.DueSoon < 2 || stats.Completed != 2 || stats.CompletedOnTime != 1 {
		t.Fatalf("demo stats %+v: want an overdue one, two due soon, and one of two completed on time", stats)
	}
	var list struct {
		Items []application `json:"items"`
		Total int           `json:"total"`
	}
	s.do(t, "GET", "/api/v1/applications?status=returned", token, nil).json(t, &list)
	if list.Total != 1 || list.Items[0].AllowedActions == nil {
		t.Fatalf("returned applications: %+v", list)
	}
	s.do(t, "GET", "/api/v1/applications?deadline=overdue", token, nil).json(t, &list)
	if list.Total < 1 || list.Items[0].Deadline != "overdue" || list.Items[0].Status != station.StatusForwarded {
		t.Fatalf("overdue list: %+v", list)
	}
	r := s.do(t, "GET", "/api/v1/audit/verify", s.login(t, "admin"), nil)
	var rep station.AuditReport
	r.json(t, &rep)
	if !rep.OK {
		t.Fatalf("the demo seed left a broken audit chain: %s", r.body)
	}
}

func TestApplicationListsMaskApplicantNames(t *testing.T) {
	s := startStation(t)
	token := s.login(t, "counter1")
	a := s.intake(t, token, "MZ-001", validID("11010119900307451"))
	var list struct{ Items []application }
	s.do(t, "GET", "/api/v1/applications?q="+a.Number, token, nil).json(t, &list)
	if len(list.Items) != 1 || list.Items[0].Applicant.Name != "张**" {
		t.Fatalf("list shows applicant %+v, want the masked name 张**", list.Items)
	}
	if a.Applicant.Name != "张三丰" {
		t.Fatalf("the intake answer (to the staff member who typed it) shows %q", a.Applicant.Name)
	}
}

func TestScanningAMaterialIntoAPDF(t *testing.T) {
	s := startStation(t)
	token := s.login(t, "counter1")
	a := s.intake(t, token, "MZ-001", validID("11010119900307451"))
	var pages []string
	for i := 0; i < 2; i++ {
		r := s.do(t, "POST", "/api/v1/scans/pages", token, nil)
		var p struct {
			SHA256   string `json:"sha256"`
			Width    int    `json:"width"`
			Height   int    `json:"height"`
			Bytes    int64  `json:"bytes"`
			Detected bool   `json:"detected"`
		}
		r.json(t, &p)
		if r.status != http.StatusCreated || p.Width != 1654 || p.Height != 2339 || !p.Detected || p.Bytes > 320<<10 {
			t.Fatalf("scan page %d: %d %s", i+1, r.status, r.body)
		}
		pages = append(pages, p.SHA256)
		s.do(t, "POST", "/api/v1/demo/camera/next-page", "", nil)
	}
	r := s.do(t, "POST", "/api/v1/applications/"+a.ID+"/materials/M2/scan", token, map[string]any{"pages": pages})
	var got struct {
		Materials []station.MaterialCheck `json:"materials"`
	}
	r.json(t, &got)
	var pdfSHA string
	for _, m := range got.Materials {
		if m.Code == "M2" && m.Provided {
			pdfSHA = m.BlobSHA
		}
	}
	if r.status != 200 || pdfSHA == "" {
		t.Fatalf("attach: %d %s", r.status, r.body)
	}
	pdf := s.do(t, "GET", "/api/v1/blobs/"+pdfSHA, token, nil)
	if pdf.status != 200 || pdf.header.Get("Content-Type") != "application/pdf" || !bytes.HasPrefix(pdf.body, []byte("%PDF-")) || !bytes.Contains(pdf.body, []byte("/Count 2 ")) {
		t.Fatalf("the material PDF: %d %s, %d bytes", pdf.status, pdf.header.Get("Content-Type"), len(pdf.body))
	}
	sum := sha256.Sum256(pdf.body)
	if hex.EncodeToString(sum[:]) != pdfSHA {
		t.Fatal("the served PDF does not match its hash")
	}
	var audit struct {
		Items []station.AuditEntry `json:"items"`
	}
	s.do(t, "GET", "/api/v1/audit?object=blob:"+pdfSHA, s.login(t, "admin"), nil).json(t, &audit)
	if len(audit.Items) != 1 || audit.Items[0].Action != "read.view" || audit.Items[0].Actor != "counter1" {
		t.Fatalf("the read of the scanned material is not audited: %+v", audit.Items)
	}
	if r := s.do(t, "POST", "/api/v1/applications/"+a.ID+"/materials/M2/scan", token, map[string]any{"pages": []string{pdfSHA}}); r.status != 400 {
		t.Fatalf("a PDF passed off as a page: %d %s", r.status, r.body)
	}
}
