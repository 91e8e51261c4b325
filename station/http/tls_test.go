package http

import (
	"errors"
	"io"
	"net"
	nethttp "net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

type fixedTLS TLSStatus

func (f fixedTLS) TLSStatus() TLSStatus { return TLSStatus(f) }

func TestTheCACertificateDownload(t *testing.T) {
	der := []byte{0x30, 0x82, 0x01, 0x02}
	cases := []struct {
		name   string
		tls    TLSInfo
		status int
		body   string
	}{
		{"without HTTPS it is unavailable", nil, 503, "listen-https"},
		{"with the operator's own certificate there is no station CA", fixedTLS{Enabled: true}, 404, "tls-cert"},
		{"with the station CA it is the DER certificate", fixedTLS{Enabled: true, StationCA: true, CACert: der}, 200, string(der)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := NewServer(Config{TLS: c.tls})
			resp, err := srv.app.Test(httptest.NewRequest(nethttp.MethodGet, "/api/v1/setup/ca.crt", nil))
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != c.status || !strings.Contains(string(body), c.body) {
				t.Fatalf("%d %q, want %d with %q", resp.StatusCode, body, c.status, c.body)
			}
			if c.status == 200 && resp.Header.Get("Content-Type") != "application/x-x509-ca-cert" {
				t.Errorf("Content-Type %q", resp.Header.Get("Content-Type"))
			}
			if resp.Header.Get("Strict-Transport-Security") != "" {
				t.Error("a plain HTTP answer carries HSTS")
			}
		})
	}
}

// flakyListener fails its first Accept with a temporary error (as EMFILE is), then hands out conns.
type flakyListener struct {
	net.Listener
	failed bool
}

type temporaryError struct{}

func (temporaryError) Error() string   { return "accept: too many open files" }
func (temporaryError) Temporary() bool { return true }
func (temporaryError) Timeout() bool   { return false }

func (f *flakyListener) Accept() (net.Conn, error) {
	if !f.failed {
		f.failed = true
		return nil, temporaryError{}
	}
	return f.Listener.Accept()
}

// TestMultiListenerAcceptsFromBothAndClosesBoth: connections to either listener come out of Accept,
// a passing failure of one does not end it, and Close ends Accept and closes both.
func TestMultiListenerAcceptsFromBothAndClosesBoth(t *testing.T) {
	a, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b0, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &flakyListener{Listener: b0}
	m := newMultiListener([]net.Listener{a, b})
	for _, ln := range []net.Listener{a, b0} {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		got, err := m.Accept()
		if err != nil {
			t.Fatalf("accept from %s: %v", ln.Addr(), err)
		}
		if got.LocalAddr().String() != ln.Addr().String() {
			t.Errorf("accepted a connection to %s, want %s", got.LocalAddr(), ln.Addr())
		}
		got.Close()
	}
	if m.Addr().String() != a.Addr().String() {
		t.Errorf("Addr %s, want the first listener's %s", m.Addr(), a.Addr())
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Accept after Close: %v", err)
	}
	for _, ln := range []net.Listener{a, b0} {
		if c, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second); err == nil {
			c.Close()
			t.Errorf("%s still accepts after Close", ln.Addr())
		}
	}
}
