package http

import (
	"io"
	nethttp "net/http"
	"net/http/httptest"
	"strings"
	"testing"
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
