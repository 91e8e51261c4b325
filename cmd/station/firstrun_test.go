package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/civic-station/station/internal/setupcode"
	"github.com/civic-station/station/station"
	"github.com/civic-station/station/syncer"
	"github.com/civic-station/station/syncer/hub"
)

// startRealStation starts a station as `station run` without --demo does, on dir, and returns it with
// what its banner printed.
func startRealStation(t *testing.T, dir string, configure func(*Main)) (*testStation, *bytes.Buffer) {
	t.Helper()
	var banner bytes.Buffer
	s := startStationIn(t, dir, func(m *Main) {
		m.Demo = false
		m.Stdout = &banner
		if configure != nil {
			configure(m)
		}
	})
	return s, &banner
}

// setupRequest sends a request from the box itself (plain HTTP on loopback) with the setup token
// (when not "") in X-Setup-Token.
func (s *testStation) setupRequest(t *testing.T, method, path, setupToken string, body any) response {
	t.Helper()
	return s.requestAt(t, s.URL(), http.DefaultClient, method, path, setupToken, body)
}

// lanRequest is setupRequest from a computer on the LAN: HTTPS to the station's LAN address, trusting
// the station CA.
func (s *testStation) lanRequest(t *testing.T, method, path, setupToken string, body any) response {
	t.Helper()
	return s.requestAt(t, s.HTTPSURL(), httpsClient(caPool(t, filepath.Join(s.DataDir, "tls", "ca.crt"))), method, path, setupToken, body)
}

func (s *testStation) requestAt(t *testing.T, base string, client *http.Client, method, path, setupToken string, body any) response {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if setupToken != "" {
		req.Header.Set("X-Setup-Token", setupToken)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

// wantError checks an error answer: its status, code and the field at fault ("" for none).
func wantError(t *testing.T, what string, r response, status int, code, field string) string {
	t.Helper()
	var e struct{ Code, Message, Field string }
	if err := json.Unmarshal(r.body, &e); err != nil || r.status != status || e.Code != code || e.Field != field {
		t.Fatalf("%s: %d %s; want %d %s field %q", what, r.status, r.body, status, code, field)
	}
	if e.Message == "" || !regexp.MustCompile(`\p{Han}`).MatchString(e.Message) {
		t.Errorf("%s: the message %q is not Chinese", what, e.Message)
	}
	return e.Message
}

func firstRunBody(username, password string) map[string]any {
	return map[string]any{
		"station_name": "红旗社区便民服务站", "community": "红旗社区",
		"admin": map[string]string{"username": username, "display_name": "李建国", "password": password},
	}
}

func (s *testStation) auditActions(t *testing.T, action string) []station.AuditEntry {
	t.Helper()
	entries, _, err := s.DB.AuditEntries(context.Background(), station.AuditFilter{Action: action, Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	return entries
}

func TestFirstRunFromTheBoxItself(t *testing.T) {
	dir := t.TempDir()
	s, banner := startRealStation(t, dir, nil)
	if !strings.Contains(banner.String(), "首次设置") || !regexp.MustCompile(`设置码：\d{4}-\d{4}`).MatchString(banner.String()) {
		t.Fatalf("the banner of a station without accounts does not show the setup and its code:\n%s", banner)
	}
	if fi, err := os.Stat(setupcode.Path(dir)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("setup code file: %v %v", fi, err)
	}

	var state struct {
		Pending      bool  `json:"pending"`
		CodeRequired bool  `json:"code_required"`
		Local        bool  `json:"local"`
		Devices      []any `json:"devices"`
	}
	r := s.setupRequest(t, "GET", "/api/v1/setup/first-run", "", nil)
	if r.status != 200 {
		t.Fatalf("first-run state: %d %s", r.status, r.body)
	}
	r.json(t, &state)
	if !state.Pending || state.CodeRequired || !state.Local || state.Devices == nil || len(state.Devices) != 0 {
		t.Fatalf("from loopback on a box without devices: %s", r.body)
	}
	if r := s.setupRequest(t, "POST", "/api/v1/setup/first-run/devices/ticket-printer/test", "", nil); r.status != http.StatusServiceUnavailable {
		t.Fatalf("a ticket test without a printer: %d %s", r.status, r.body)
	}

	for _, c := range []struct {
		name  string
		edit  func(map[string]any)
		field string
	}{
		{"a short password is refused", func(b map[string]any) { b["admin"].(map[string]string)["password"] = "short" }, "admin.password"},
		{"a bad username is refused", func(b map[string]any) { b["admin"].(map[string]string)["username"] = "Li Jianguo" }, "admin.username"},
		{"a missing display name is refused", func(b map[string]any) { b["admin"].(map[string]string)["display_name"] = " " }, "admin.display_name"},
		{"a missing station name is refused", func(b map[string]any) { b["station_name"] = "" }, "station_name"},
		{"a missing community is refused", func(b map[string]any) { b["community"] = "" }, "community"},
		{"a token without a hub is refused", func(b map[string]any) { b["token"] = "abc" }, "hub_url"},
		{"a hub without a token is refused", func(b map[string]any) { b["hub_url"] = "https://hub.example:8443" }, "token"},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := firstRunBody("lijianguo", "correct horse battery")
			c.edit(b)
			wantError(t, c.name, s.setupRequest(t, "POST", "/api/v1/setup/first-run", "", b), 400, station.EINVALID, c.field)
		})
	}
	if users, _ := s.DB.Users(context.Background()); len(users) != 0 {
		t.Fatalf("refused setups created %d accounts", len(users))
	}

	r = s.setupRequest(t, "POST", "/api/v1/setup/first-run", "", firstRunBody("lijianguo", "correct horse battery"))
	if r.status != http.StatusCreated {
		t.Fatalf("complete the setup: %d %s", r.status, r.body)
	}
	var done struct {
		StationName string `json:"station_name"`
		Community   string
		Admin       struct{ Username, Role string }
		Sync        string
	}
	r.json(t, &done)
	if done.Admin.Username != "lijianguo" || done.Admin.Role != "station_admin" || done.Sync != "offline" || done.Community != "红旗社区" {
		t.Fatalf("setup answer: %s", r.body)
	}
	if login := s.do(t, "POST", "/api/v1/sessions", "", map[string]string{"username": "lijianguo", "password": "correct horse battery"}); login.status != http.StatusCreated {
		t.Fatalf("the new administrator cannot log in: %d %s", login.status, login.body)
	}
	for _, demo := range []string{"counter1", "admin", "tech"} {
		if login := s.do(t, "POST", "/api/v1/sessions", "", map[string]string{"username": demo, "password": demoPassword}); login.status != http.StatusUnauthorized {
			t.Errorf("the demo account %s exists on a real station: %d", demo, login.status)
		}
	}
	if n := len(s.auditActions(t, string(station.CmdStationSetup))); n != 1 {
		t.Errorf("%d station.setup audit entries, want 1", n)
	} else if e := s.auditActions(t, string(station.CmdStationSetup))[0]; e.Result != "ok" || !strings.Contains(e.Detail, "lijianguo") || e.Actor != station.SetupActor.Username {
		t.Errorf("station.setup audit entry: %+v", e)
	}
	if _, err := os.Stat(setupcode.Path(dir)); !os.IsNotExist(err) {
		t.Errorf("the setup code outlives the setup: %v", err)
	}
	if got := s.Certs.StationInfo(); got.Community != "红旗社区" || got.Name != "红旗社区便民服务站" {
		t.Errorf("certificates print %+v after the setup, want the stored name and community", got)
	}

	if r := s.setupRequest(t, "GET", "/api/v1/setup/first-run", "", nil); r.status != http.StatusOK || !strings.Contains(string(r.body), `"pending":false`) {
		t.Errorf("GET first-run after the setup: %d %s, want 200 and not pending", r.status, r.body)
	}
	for _, c := range []struct{ method, path string }{
		{"POST", "/api/v1/setup/first-run"},
		{"POST", "/api/v1/setup/first-run/code"},
		{"POST", "/api/v1/setup/first-run/devices/ticket-printer/test"},
		{"POST", "/api/v1/setup/first-run/devices/idreader/read"},
	} {
		var body any
		if c.method == "POST" {
			body = firstRunBody("second", "correct horse battery")
			if strings.HasSuffix(c.path, "/code") {
				body = map[string]string{"code": "12345678"}
			}
		}
		wantError(t, c.method+" "+c.path+" after the setup", s.setupRequest(t, c.method, c.path, "", body), http.StatusConflict, station.ECONFLICT, "")
	}
	if users, _ := s.DB.Users(context.Background()); len(users) != 1 {
		t.Fatalf("%d accounts after a second setup, want 1", len(users))
	}
	stop(t, s)

	// The stored community is used after a restart; --community wins when set.
	again, banner := startRealStation(t, dir, nil)
	if got := again.Certs.StationInfo(); got.Community != "红旗社区" {
		t.Errorf("after a restart certificates print %+v", got)
	}
	if strings.Contains(banner.String(), "首次设置") {
		t.Errorf("a station set up still shows the first-run banner:\n%s", banner)
	}
	stop(t, again)
	flagged, _ := startRealStation(t, dir, func(m *Main) { m.Community = "幸福社区" })
	if got := flagged.Certs.StationInfo(); got.Community != "幸福社区" || got.Name != "红旗社区便民服务站" {
		t.Errorf("with --community certificates print %+v", got)
	}
}

// stop closes a station before its test ends (to start another on the same data directory).
func stop(t *testing.T, s *testStation) {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s.HTTP = nil // closed: the cleanup's Close leaves it
}

// lanAddress returns an IPv4 address of this machine that is not loopback, or "" when it has none.
func lanAddress() string {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return ""
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLoopback() && !n.IP.IsLinkLocalUnicast() {
			return n.IP.String()
		}
	}
	return ""
}

func setupCodeFrom(t *testing.T, banner string) string {
	t.Helper()
	m := regexp.MustCompile(`设置码：(\d{4}-\d{4})`).FindStringSubmatch(banner)
	if m == nil {
		t.Fatalf("no setup code in the banner:\n%s", banner)
	}
	return m[1]
}

// TestFirstRunFromTheLANNeedsTheCode reaches the station over HTTPS on a non-loopback address of this
// machine, as a counter computer does, so the station sees a client on the LAN.
func TestFirstRunFromTheLANNeedsTheCode(t *testing.T) {
	ip := lanAddress()
	if ip == "" {
		t.Skip("this machine has no non-loopback address; the address check is covered by station/http's tests")
	}
	dir := t.TempDir()
	s, banner := startRealStation(t, dir, func(m *Main) { m.ListenHTTPS = net.JoinHostPort(ip, "0") })
	code := setupCodeFrom(t, banner.String())

	r := s.lanRequest(t, "GET", "/api/v1/setup/first-run", "", nil)
	if r.status != 200 || !strings.Contains(string(r.body), `"code_required":true`) || !strings.Contains(string(r.body), `"devices":null`) {
		t.Fatalf("first-run state from the LAN: %d %s", r.status, r.body)
	}
	wantError(t, "setup without the code", s.lanRequest(t, "POST", "/api/v1/setup/first-run", "", firstRunBody("lijianguo", "correct horse battery")),
		401, station.EUNAUTHORIZED, "code")
	wantError(t, "a device test without the code", s.lanRequest(t, "POST", "/api/v1/setup/first-run/devices/ticket-printer/test", "", nil),
		401, station.EUNAUTHORIZED, "code")
	wantError(t, "a forged setup token", s.lanRequest(t, "POST", "/api/v1/setup/first-run/devices/ticket-printer/test", "forged", nil),
		401, station.EUNAUTHORIZED, "code")

	wrong := "0000-0000"
	if wrong == code {
		wrong = "1111-1111"
	}
	try := func(typed string) response {
		return s.lanRequest(t, "POST", "/api/v1/setup/first-run/code", "", map[string]string{"code": typed})
	}
	if msg := wantError(t, "the first wrong code", try(wrong), 401, station.EUNAUTHORIZED, "code"); !strings.Contains(msg, "还可尝试4次") {
		t.Errorf("the first wrong code says %q", msg)
	}
	wantError(t, "the second wrong code", try(wrong), 401, station.EUNAUTHORIZED, "code")
	wantError(t, "the third wrong code", try(wrong), 401, station.EUNAUTHORIZED, "code")
	if r := try(code); r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") == "" {
		t.Fatalf("right after the third wrong code: %d %s, want 429 with Retry-After", r.status, r.body)
	}
	s.clock.Advance(time.Minute)
	wantError(t, "the fourth wrong code", try(wrong), 401, station.EUNAUTHORIZED, "code")
	s.clock.Advance(time.Minute)
	wantError(t, "the fifth wrong code", try(wrong), 423, station.ELOCKED, "")
	s.clock.Advance(time.Minute)
	wantError(t, "the right code while locked out", try(code), 423, station.ELOCKED, "")
	if n := len(s.auditActions(t, "setup.code_refused")); n != 5 {
		t.Errorf("%d refused codes audited, want 5", n)
	}

	s.clock.Advance(station.LockoutDuration)
	r = try(code)
	if r.status != 200 {
		t.Fatalf("the right code after the lockout: %d %s", r.status, r.body)
	}
	var tok struct{ Token string }
	r.json(t, &tok)
	if e := s.auditActions(t, "setup.code_accepted"); len(e) != 1 || !strings.Contains(e[0].Detail, ip) {
		t.Errorf("accepted code audit: %+v", e)
	}
	if r := s.lanRequest(t, "GET", "/api/v1/setup/first-run", tok.Token, nil); !strings.Contains(string(r.body), `"code_required":false`) {
		t.Fatalf("with the setup token: %d %s", r.status, r.body)
	}
	if r := s.lanRequest(t, "POST", "/api/v1/setup/first-run", tok.Token, firstRunBody("lijianguo", "correct horse battery")); r.status != 201 {
		t.Fatalf("setup with the token: %d %s", r.status, r.body)
	}
	wantError(t, "the token after the setup", s.lanRequest(t, "POST", "/api/v1/setup/first-run/devices/ticket-printer/test", tok.Token, nil), 409, station.ECONFLICT, "")
}

func TestAnExpiredSetupCodeIsRefusedAndReplaced(t *testing.T) {
	ip := lanAddress()
	if ip == "" {
		t.Skip("this machine has no non-loopback address")
	}
	dir := t.TempDir()
	s, banner := startRealStation(t, dir, func(m *Main) { m.ListenHTTPS = net.JoinHostPort(ip, "0") })
	code := setupCodeFrom(t, banner.String())
	before, err := os.ReadFile(setupcode.Path(dir))
	if err != nil {
		t.Fatal(err)
	}
	s.clock.Advance(setupcode.TTL)
	wantError(t, "an expired code", s.lanRequest(t, "POST", "/api/v1/setup/first-run/code", "", map[string]string{"code": code}),
		401, station.EUNAUTHORIZED, "code")
	after, err := os.ReadFile(setupcode.Path(dir))
	if err != nil || bytes.Equal(before, after) {
		t.Fatalf("the expired code was not replaced (%v)", err)
	}
	if ok, until, _ := setupcode.Valid(dir, s.clock.Now()); !ok || !until.Equal(s.clock.Now().Add(setupcode.TTL)) {
		t.Errorf("the new code is valid %v until %v", ok, until)
	}

	// The station's watch replaces a code that expires while nobody tries it.
	if done, err := s.renewSetupCode(context.Background()); done || err != nil {
		t.Fatalf("renew a valid code: done %v, %v", done, err)
	}
	if again, _ := os.ReadFile(setupcode.Path(dir)); !bytes.Equal(again, after) {
		t.Fatal("a valid code was replaced")
	}
	s.clock.Advance(setupcode.TTL)
	if done, err := s.renewSetupCode(context.Background()); done || err != nil {
		t.Fatalf("renew an expired code: done %v, %v", done, err)
	}
	if ok, _, _ := setupcode.Valid(dir, s.clock.Now()); !ok {
		t.Error("the expired code was not replaced")
	}
	if r := s.lanRequest(t, "POST", "/api/v1/setup/first-run", "", firstRunBody("lijianguo", "correct horse battery")); r.status != http.StatusUnauthorized {
		t.Fatalf("setup from the LAN without the code: %d", r.status)
	}
}

func TestTheSetupCodeWatchEndsWithTheSetup(t *testing.T) {
	s, _ := startRealStation(t, t.TempDir(), nil)
	if r := s.setupRequest(t, "POST", "/api/v1/setup/first-run", "", firstRunBody("lijianguo", "correct horse battery")); r.status != 201 {
		t.Fatalf("setup: %d %s", r.status, r.body)
	}
	if done, err := s.renewSetupCode(context.Background()); !done || err != nil {
		t.Fatalf("after the setup: done %v, %v", done, err)
	}
	if _, err := os.Stat(setupcode.Path(s.DataDir)); !os.IsNotExist(err) {
		t.Errorf("a code was made after the setup: %v", err)
	}
}

func TestFirstRunEnrollsWithTheDataCenter(t *testing.T) {
	ctx := context.Background()
	h := NewHubMain()
	h.DataDir, h.Listen = t.TempDir(), "127.0.0.1:0"
	h.Logger = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if err := h.Run(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	token, err := hub.CreateToken(ctx, h.Store, h.CA, "红旗社区便民服务站", time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	s, _ := startRealStation(t, dir, nil)

	bad := firstRunBody("lijianguo", "correct horse battery")
	bad["hub_url"], bad["token"] = h.Server.URL(), "not-a-token"
	r := s.setupRequest(t, "POST", "/api/v1/setup/first-run", "", bad)
	var e struct{ Field string }
	r.json(t, &e)
	if r.status < 400 || e.Field != "token" {
		t.Fatalf("a wrong token: %d %s, want an error about the token", r.status, r.body)
	}
	if users, _ := s.DB.Users(ctx); len(users) != 0 {
		t.Fatal("a failed enrollment left an account behind")
	}
	if n := len(s.auditActions(t, "setup.enroll_failed")); n != 1 {
		t.Errorf("%d failed enrollments audited, want 1", n)
	}

	good := firstRunBody("lijianguo", "correct horse battery")
	good["hub_url"], good["token"] = h.Server.URL(), token
	r = s.setupRequest(t, "POST", "/api/v1/setup/first-run", "", good)
	if r.status != 201 {
		t.Fatalf("setup with enrollment: %d %s", r.status, r.body)
	}
	var done struct {
		Sync     string
		Enrolled struct {
			StationID string `json:"station_id"`
		}
	}
	r.json(t, &done)
	if done.Sync != "running" || done.Enrolled.StationID == "" {
		t.Fatalf("setup with enrollment: %s", r.body)
	}
	id, err := syncer.LoadIdentity(dir)
	if err != nil || id.StationID != done.Enrolled.StationID {
		t.Fatalf("identity after the setup: %+v %v", id, err)
	}
	if s.syncMon.sy.Load() == nil {
		t.Fatal("no syncer runs after the setup enrolled the station")
	}
	if e := s.auditActions(t, "setup.enrolled"); len(e) != 1 || !strings.Contains(e[0].Detail, id.StationID) {
		t.Errorf("enrollment audit: %+v", e)
	}
	if got := s.Certs.Signer().PublicKey().StationID; got != id.StationID {
		t.Errorf("certificates are signed as station %q, enrolled as %q", got, id.StationID)
	}
	eventually(t, "the station's records reach the data center", func() bool {
		s.kick(t)
		recs, err := h.Store.Records(ctx, hub.RecordFilter{StationID: id.StationID, Kinds: []string{string(station.CmdSigningKeyPublish)}})
		return err == nil && len(recs) > 0
	})
}

func TestSetupCodeCommand(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	var out, errOut bytes.Buffer
	if code := run(ctx, []string{"setup", "code", "--data", dir}, strings.NewReader(""), &out, &errOut); code != 0 {
		t.Fatalf("setup code on a fresh directory: %d %s", code, errOut.String())
	}
	m := regexp.MustCompile(`设置码：(\d{4}-\d{4})`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("no code printed: %s", out.String())
	}
	if ok, _, err := setupcode.Valid(dir, time.Now()); !ok || err != nil {
		t.Fatalf("the printed code is not stored: %v", err)
	}

	s, _ := startRealStation(t, dir, nil)
	if r := s.setupRequest(t, "POST", "/api/v1/setup/first-run", "", firstRunBody("lijianguo", "correct horse battery")); r.status != 201 {
		t.Fatalf("setup: %d %s", r.status, r.body)
	}
	out.Reset()
	errOut.Reset()
	if code := run(ctx, []string{"setup", "code", "--data", dir}, strings.NewReader(""), &out, &errOut); code != 1 || !strings.Contains(errOut.String(), "已完成首次设置") {
		t.Fatalf("setup code on a station set up: %d %s %s", code, out.String(), errOut.String())
	}
	if _, err := os.Stat(setupcode.Path(dir)); !os.IsNotExist(err) {
		t.Errorf("a code was made for a station set up: %v", err)
	}
}

func TestDoctorSaysWhetherTheFirstRunSetupIsDone(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	s, _ := startRealStation(t, dir, nil)
	config := writeConfig(t, "data = \""+dir+"\"\nlisten = \""+s.HTTP.Addr().String()+"\"\n")
	_, res := doctorReport(t, config)
	// (The doctor reads the wall clock, the station the test's: whether the code is still valid is not
	// asked here; setupcode's tests cover it.)
	if r := findCheck(t, res, "首次设置"); r.Status != checkWarn || !strings.Contains(r.Detail, "还没有账号") || !strings.Contains(r.Fix, "station setup code") {
		t.Errorf("doctor before the setup: %+v", r)
	}
	if r := s.setupRequest(t, "POST", "/api/v1/setup/first-run", "", firstRunBody("lijianguo", "correct horse battery")); r.status != 201 {
		t.Fatalf("setup: %d %s", r.status, r.body)
	}
	_, res = doctorReport(t, config)
	if r := findCheck(t, res, "首次设置"); r.Status != checkOK {
		t.Errorf("doctor after the setup: %+v", r)
	}
}
