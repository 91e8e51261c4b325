package main

import (
	"net/http"
	"strings"
	"testing"
)

// TestTheLastAdministratorStays: on a station with one enabled station_admin, neither the API nor the
// box's shell can demote or disable it; once there is a second one, they can.
func TestTheLastAdministratorStays(t *testing.T) {
	s := startStation(t)
	admin := s.login(t, "admin")
	for _, body := range []map[string]any{{"role": "staff"}, {"disabled": true}, {"role": "technician", "display_name": "x"}} {
		r := s.do(t, "PATCH", "/api/v1/users/admin", admin, body)
		if code, msg := r.errorCode(t); r.status != http.StatusConflict || code != "ECONFLICT" || !strings.Contains(msg, "最后一个") {
			t.Errorf("PATCH %v: %d %s %q, want 409 ECONFLICT", body, r.status, code, msg)
		}
	}
	var me struct{ User struct{ Role string } }
	s.do(t, "GET", "/api/v1/sessions/current", admin, nil).json(t, &me)
	if me.User.Role != "station_admin" {
		t.Fatalf("after the refusals admin is %q: a refused change was applied", me.User.Role)
	}
	code, _, stderr := runCLI(t, "user", "update", "--data", s.DataDir, "--username", "admin", "--disable")
	if code != 1 || !strings.Contains(stderr, "最后一个") {
		t.Errorf("station user update --disable of the last admin: exit %d %q", code, stderr)
	}
	// A staff member promoted: now the first administrator may step down.
	if r := s.do(t, "PATCH", "/api/v1/users/counter1", admin, map[string]any{"role": "station_admin"}); r.status != http.StatusOK {
		t.Fatalf("promote counter1: %d %s", r.status, r.body)
	}
	if r := s.do(t, "PATCH", "/api/v1/users/admin", admin, map[string]any{"role": "staff"}); r.status != http.StatusOK {
		t.Errorf("demote admin with another administrator present: %d %s", r.status, r.body)
	}
	// Changing someone who is not an administrator is never refused for this reason.
	if code, _, stderr := runCLI(t, "user", "update", "--data", s.DataDir, "--username", "review1", "--disable"); code != 0 {
		t.Errorf("disable review1: exit %d %q", code, stderr)
	}
	if code, _, stderr := runCLI(t, "user", "unlock", "--data", s.DataDir, "--username", "review1"); code != 0 {
		t.Errorf("unlock review1: exit %d %q", code, stderr)
	}
}
