package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/civic-station/station/station/argon2id"
	"github.com/civic-station/station/station/lantls"
)

// httpsClient trusts only roots (nil: the system's).
func httpsClient(roots *x509.CertPool) *http.Client {
	return &http.Client{
		Timeout:   10 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}},
	}
}

func caPool(t *testing.T, path string) *x509.CertPool {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	p := x509.NewCertPool()
	if !p.AppendCertsFromPEM(b) {
		t.Fatalf("%s holds no PEM certificate", path)
	}
	return p
}

// startHTTPSStation runs a real (non-demo) station with HTTPS on a free loopback port until the test
// ends.
func startHTTPSStation(t *testing.T, dir string, configure func(*Main)) *Main {
	t.Helper()
	m := runHTTPSStation(t, dir, configure)
	t.Cleanup(func() { m.Close() })
	return m
}

// runHTTPSStation is startHTTPSStation for a caller that closes the station itself.
func runHTTPSStation(t *testing.T, dir string, configure func(*Main)) *Main {
	t.Helper()
	m := NewMain()
	m.DataDir, m.Listen, m.ListenHTTPS = dir, "127.0.0.1:0", "127.0.0.1:0"
	m.Hasher = argon2id.Hasher{Params: argon2id.TestParams}
	m.Logger = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if configure != nil {
		configure(m)
	}
	if err := m.Run(context.Background()); err != nil {
		t.Fatalf("run: %v", err)
	}
	return m
}

// TestCounterTerminalsLogInOverHTTPSWithTheStationCA: the demo station with HTTPS on; a client that
// trusts only the CA from the data directory logs in over HTTPS and gets HSTS; a client without the CA
// fails verification; the loopback HTTP answer carries no HSTS; the setup API gives out the same CA.
func TestCounterTerminalsLogInOverHTTPSWithTheStationCA(t *testing.T) {
	s := startStationIn(t, t.TempDir(), func(m *Main) { m.ListenHTTPS = "127.0.0.1:0" })
	base := s.HTTPSURL()
	if !strings.HasPrefix(base, "https://127.0.0.1:") {
		t.Fatalf("HTTPSURL %q", base)
	}
	caFile := filepath.Join(s.DataDir, "tls", "ca.crt")
	client := httpsClient(caPool(t, caFile))

	body, _ := json.Marshal(map[string]string{"username": "counter1", "password": demoPassword})
	resp, err := client.Post(base+"/api/v1/sessions", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatalf("login over HTTPS with the station CA: %v", err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("login over HTTPS: %d", resp.StatusCode)
	}
	if got := resp.Header.Get("Strict-Transport-Security"); got != "max-age=31536000" {
		t.Errorf("HSTS %q on the HTTPS answer", got)
	}
	secure := false
	for _, c := range resp.Cookies() {
		secure = secure || c.Name == "station_session" && c.Secure
	}
	if !secure {
		t.Error("the session cookie set over HTTPS is not Secure")
	}
	if resp.TLS == nil || resp.TLS.Version < tls.VersionTLS12 {
		t.Errorf("connection state %+v", resp.TLS)
	}

	// No HSTS for localhost: browsers would pin the kiosk's http://localhost:8080 to HTTPS too.
	resp, err = client.Get(strings.Replace(base, "127.0.0.1", "localhost", 1) + "/readyz")
	if err != nil {
		t.Fatalf("https://localhost: %v", err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("Strict-Transport-Security"); resp.StatusCode != 200 || got != "" {
		t.Errorf("https://localhost: %d, HSTS %q; want none", resp.StatusCode, got)
	}

	_, err = httpsClient(nil).Get(base + "/readyz")
	var uae x509.UnknownAuthorityError
	if err == nil || !errors.As(err, &uae) {
		t.Fatalf("a client without the station CA: %v; want an unknown-authority failure", err)
	}

	if r := s.do(t, "GET", "/readyz", "", nil); r.status != 200 || r.header.Get("Strict-Transport-Security") != "" {
		t.Errorf("loopback HTTP: %d, HSTS %q", r.status, r.header.Get("Strict-Transport-Security"))
	}

	// The setup page's download is the CA on disk, in DER, and its fingerprint is in the status.
	resp, err = client.Get(base + "/api/v1/setup/ca.crt")
	if err != nil {
		t.Fatal(err)
	}
	der, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	ca, _, err := lantls.LoadCA(filepath.Join(s.DataDir, "tls"))
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || !bytes.Equal(der, ca.Raw) || resp.Header.Get("Content-Type") != "application/x-x509-ca-cert" {
		t.Errorf("ca.crt: %d %s, %d bytes; want the CA's DER", resp.StatusCode, resp.Header.Get("Content-Type"), len(der))
	}
	var st struct {
		Enabled       bool   `json:"enabled"`
		StationCA     bool   `json:"station_ca"`
		CAFingerprint string `json:"ca_fingerprint_sha256"`
	}
	s.do(t, "GET", "/api/v1/setup/tls", "", nil).json(t, &st)
	if !st.Enabled || !st.StationCA || st.CAFingerprint != lantls.Fingerprint(ca) {
		t.Errorf("setup status %+v, want the CA fingerprint %s", st, lantls.Fingerprint(ca))
	}

	if runtime.GOOS != "windows" {
		for _, key := range []string{"ca.key", "server.key"} {
			fi, err := os.Stat(filepath.Join(s.DataDir, "tls", key))
			if err != nil || fi.Mode().Perm() != 0o600 {
				t.Errorf("%s: %v, mode %v; want 0600", key, err, fi.Mode().Perm())
			}
		}
	}
}

// TestTheCertificateIsKeptAcrossStartsUntilTheNamesChange: a restart with the same --tls-names keeps
// the certificate (same serial); other names reissue it, from the same CA.
func TestTheCertificateIsKeptAcrossStartsUntilTheNamesChange(t *testing.T) {
	dir := t.TempDir()
	leaf := func(names string) (serial string, ca *x509.Certificate, got []string) {
		m := runHTTPSStation(t, dir, func(m *Main) { m.TLSNames = names })
		defer m.Close()
		conn, err := tls.Dial("tcp", strings.TrimPrefix(m.HTTPSURL(), "https://"), &tls.Config{RootCAs: caPool(t, filepath.Join(dir, "tls", "ca.crt")), ServerName: "127.0.0.1"})
		if err != nil {
			t.Fatalf("dial with --tls-names %s: %v", names, err)
		}
		c := conn.ConnectionState().PeerCertificates
		conn.Close()
		return c[0].SerialNumber.String(), c[1], lantls.CertNames(c[0])
	}
	s1, ca1, names1 := leaf("station-01.example")
	s2, ca2, _ := leaf("Station-01.example")
	if s1 != s2 {
		t.Errorf("the same names reissued the certificate: serial %s, then %s", s1, s2)
	}
	s3, ca3, names3 := leaf("station-01.example,192.0.2.50")
	if s3 == s1 {
		t.Error("new names kept the old certificate")
	}
	if !slices.Contains(names1, "station-01.example") || !slices.Contains(names3, "192.0.2.50") || slices.Contains(names1, "192.0.2.50") {
		t.Errorf("names %v, then %v", names1, names3)
	}
	if !ca1.Equal(ca2) || !ca1.Equal(ca3) {
		t.Error("the CA changed between starts")
	}
}

// TestOwnCertificateFiles: with --tls-cert and --tls-key the station presents them, makes no CA, and
// the setup API says so.
func TestOwnCertificateFiles(t *testing.T) {
	own := t.TempDir() // an operator's CA and certificate, made here by the same package
	st, err := lantls.Ensure(lantls.Options{Dir: own, CAName: "城市政务 CA", Names: []string{"127.0.0.1", "localhost"}, Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	m := startHTTPSStation(t, dir, func(m *Main) {
		m.TLSCert, m.TLSKey = filepath.Join(own, "server.crt"), filepath.Join(own, "server.key")
	})
	resp, err := httpsClient(caPool(t, filepath.Join(own, "ca.crt"))).Get(m.HTTPSURL() + "/readyz")
	if err != nil {
		t.Fatalf("a client trusting the operator's CA: %v", err)
	}
	resp.Body.Close()
	if !resp.TLS.PeerCertificates[0].Equal(st.Leaf) {
		t.Error("the station did not present the operator's certificate")
	}
	if _, err := os.Stat(filepath.Join(dir, "tls")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a station with its own certificate made a tls folder: %v", err)
	}
	s := &testStation{Main: m}
	if r := s.do(t, "GET", "/api/v1/setup/ca.crt", "", nil); r.status != 404 {
		t.Errorf("ca.crt with an own certificate: %d %s", r.status, r.body)
	}
}

func TestTLSFlagsThatCannotWork(t *testing.T) {
	t.Setenv("STATION_CONFIG", writeConfig(t, "# none\n"))
	cases := []struct {
		name string
		args []string
		want []string
	}{
		{"plain HTTP on every address", []string{"--listen", "0.0.0.0:0"}, []string{"--listen 0.0.0.0:0 不是本机地址", "listen-https", "cannot start", "not a loopback address"}},
		{"plain HTTP on every address, host left out", []string{"--listen", ":0"}, []string{"--listen :0 不是本机地址"}},
		{"plain HTTP on every IPv6 address", []string{"--listen", "[::]:0"}, []string{"--listen [::]:0 不是本机地址"}},
		{"plain HTTP on a LAN address", []string{"--listen", "192.0.2.10:8080"}, []string{"--listen 192.0.2.10:8080 不是本机地址"}},
		{"a certificate without its key", []string{"--listen", "127.0.0.1:0", "--listen-https", "127.0.0.1:0", "--tls-cert", "/etc/ssl/x.pem"}, []string{"tls-cert 和 tls-key 须一起设置"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "data")
			code, _, stderr := runCLI(t, append([]string{"run", "--data", dir}, c.args...)...)
			if code != 1 {
				t.Fatalf("exit %d, want 1: %s", code, stderr)
			}
			for _, w := range c.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
			if _, err := os.Stat(dir); err == nil {
				t.Error("the refused start created the data directory")
			}
		})
	}
}

// TestATakenHTTPSPortNamesItsFlag: the HTTPS port is bound first like the others.
func TestATakenHTTPSPortNamesItsFlag(t *testing.T) {
	m := startHTTPSStation(t, t.TempDir(), nil)
	addr := strings.TrimPrefix(m.HTTPSURL(), "https://")
	t.Setenv("STATION_CONFIG", writeConfig(t, "# none\n"))
	dir := filepath.Join(t.TempDir(), "data")
	code, _, stderr := runCLI(t, "run", "--data", dir, "--listen", "127.0.0.1:0", "--listen-https", addr)
	if code != 1 || !strings.Contains(stderr, "无法启动："+addr+" 地址已被占用") || !strings.Contains(stderr, "请用 --listen-https 换一个地址") {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if _, err := os.Stat(dir); err == nil {
		t.Error("the refused start created the data directory")
	}
}
