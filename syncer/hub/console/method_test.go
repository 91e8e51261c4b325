package console_test

import (
	"net/http"
	"testing"

	"github.com/civic-station/station/station"
)

// TestWrongMethodIs405 answers a method a console path does not take as the station does: 405
// EMETHOD with Allow; a path no method takes stays 404.
func TestWrongMethodIs405(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name, method, path, allow string
		status                    int
	}{
		{"GET on the login route", "GET", "/console/api/sessions", "POST", http.StatusMethodNotAllowed},
		{"PUT on the current session", "PUT", "/console/api/sessions/current", "GET, DELETE", http.StatusMethodNotAllowed},
		{"DELETE on a decision", "DELETE", "/console/api/applications/s1/a1/decision", "POST", http.StatusMethodNotAllowed},
		{"a path no method takes", "GET", "/console/api/nothing-here", "", http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(tt.method, tt.path, "", nil)
			if r.status != tt.status || r.header.Get("Allow") != tt.allow {
				t.Fatalf("%d Allow %q, want %d Allow %q: %s", r.status, r.header.Get("Allow"), tt.status, tt.allow, r.body)
			}
			want := station.ENOTFOUND
			if tt.status == http.StatusMethodNotAllowed {
				want = station.EMETHOD
			}
			if r.code(t) != want {
				t.Fatalf("code %s, want %s", r.code(t), want)
			}
		})
	}
}
