package http

import (
	"context"
	"encoding/json"
	"io"
	nethttp "net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/civic-station/station/station"
)

// noAccounts is a store of a station without accounts; anything else it is asked panics.
type noAccounts struct{ Store }

func (noAccounts) Users(context.Context) ([]station.User, error) { return []station.User{}, nil }

// auditLog accepts every command and remembers its kind.
type auditLog struct{ kinds []station.CommandKind }

func (l *auditLog) Submit(_ context.Context, cmd station.Command) (station.Result, error) {
	l.kinds = append(l.kinds, cmd.Kind)
	return station.Result{}, nil
}

// fixedCode is a FirstRun whose setup code is 12345678.
type fixedCode struct{ FirstRun }

func (fixedCode) CheckCode(typed string) (bool, error) { return typed == "12345678", nil }

// TestFirstRunFromTheLANNeedsTheSetupCode: fiber's in-memory test connection comes from 0.0.0.0, not
// loopback, so it stands for a client on the LAN (cmd/station's tests reach a real station through a
// non-loopback address of the machine when it has one).
func TestFirstRunFromTheLANNeedsTheSetupCode(t *testing.T) {
	log := &auditLog{}
	srv := NewServer(Config{Store: noAccounts{}, Log: log, FirstRun: fixedCode{}})
	call := func(method, path, token, body string) (int, string) {
		t.Helper()
		var rd io.Reader
		if body != "" {
			rd = strings.NewReader(body)
		}
		req := httptest.NewRequest(method, path, rd)
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		if token != "" {
			req.Header.Set(SetupTokenHeader, token)
		}
		resp, err := srv.app.Test(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}

	if st, body := call("GET", "/api/v1/setup/first-run", "", ""); st != 200 || !strings.Contains(body, `"code_required":true`) || !strings.Contains(body, `"local":false`) {
		t.Fatalf("state from the LAN: %d %s", st, body)
	}
	if st, body := call("POST", "/api/v1/setup/first-run/devices/ticket-printer/test", "", ""); st != 401 || !strings.Contains(body, `"field":"code"`) {
		t.Fatalf("a device test without the code: %d %s", st, body)
	}
	if st, body := call("POST", "/api/v1/setup/first-run/code", "", `{"code":"87654321"}`); st != 401 {
		t.Fatalf("a wrong code: %d %s", st, body)
	}
	st, body := call("POST", "/api/v1/setup/first-run/code", "", `{"code":"1234-5678"}`)
	if st != 401 {
		t.Fatalf("the CheckCode of this test takes the digits only: %d %s", st, body)
	}
	st, body = call("POST", "/api/v1/setup/first-run/code", "", `{"code":"12345678"}`)
	if st != 200 {
		t.Fatalf("the right code: %d %s", st, body)
	}
	var tok struct{ Token string }
	if err := json.Unmarshal([]byte(body), &tok); err != nil || tok.Token == "" {
		t.Fatalf("no token in %s", body)
	}
	if st, body := call("GET", "/api/v1/setup/first-run", tok.Token, ""); st != 200 || !strings.Contains(body, `"code_required":false`) || !strings.Contains(body, `"devices":[]`) {
		t.Fatalf("state with the token: %d %s", st, body)
	}
	if st, body := call("POST", "/api/v1/setup/first-run/devices/ticket-printer/test", tok.Token, ""); st != nethttp.StatusServiceUnavailable {
		t.Fatalf("a device test with the token on a box without devices: %d %s", st, body)
	}
	var records int
	for _, k := range log.kinds {
		if k == station.CmdSetupRecord {
			records++
		}
	}
	if records != 3 {
		t.Errorf("%d setup records audited for 3 code tries", records)
	}

	demo := NewServer(Config{Store: noAccounts{}, Log: log})
	req := httptest.NewRequest("GET", "/api/v1/setup/first-run", nil)
	resp, err := demo.app.Test(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != nethttp.StatusOK || !strings.Contains(string(raw), `"pending":false`) {
		t.Errorf("a server without first-run setup (the demo): %d %s, want 200 and not pending", resp.StatusCode, raw)
	}
}
