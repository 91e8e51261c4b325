package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/civic-station/station/station/lantls"
)

// TestDoctorChecksTheHTTPSCertificate runs `station doctor` beside a station serving HTTPS, then
// replaces its certificate with one near its end, an expired one, none, and one whose key others can
// read: each fails or warns with the one thing to do; `station tls renew` mends it and `station tls
// show` prints the CA's fingerprint.
func TestDoctorChecksTheHTTPSCertificate(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	m := startHTTPSStation(t, dir, nil)
	https := strings.TrimPrefix(m.HTTPSURL(), "https://")
	config := writeConfig(t, "data = \""+dir+"\"\nlisten = \""+m.HTTP.Addr().String()+"\"\nlisten-https = \""+https+"\"\n")
	tlsFolder := filepath.Join(dir, "tls")
	ca, _, err := lantls.LoadCA(tlsFolder)
	if err != nil {
		t.Fatal(err)
	}

	_, res := doctorReport(t, config)
	if r := findCheck(t, res, tlsCheck); r.Status != checkOK || !strings.Contains(r.Detail, lantls.Fingerprint(ca)) {
		t.Errorf("a fresh certificate: %+v", r)
	}
	if r := findCheck(t, res, "HTTPS 服务"); r.Status != checkOK {
		t.Errorf("the running HTTPS listener: %+v", r)
	}

	code, out, stderr := runCLI(t, "tls", "show", "--config", config)
	if code != 0 || !strings.Contains(out, lantls.Fingerprint(ca)) || !strings.Contains(out, filepath.Join(tlsFolder, "ca.crt")) {
		t.Errorf("tls show: exit %d\n%s%s", code, out, stderr)
	}

	// reissue replaces the server certificate with one the same CA issued at start.
	reissue := func(start time.Time) {
		t.Helper()
		if _, err := lantls.Ensure(lantls.Options{Dir: tlsFolder, Names: lantls.LocalNames(nil), Now: start, Force: true}); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		name    string
		breakIt func()
		status  string
		detail  string
		fix     string
	}{
		{"a certificate ten days from its end", func() { reissue(time.Now().Add(-lantls.ServerValidity + 10*24*time.Hour)) }, checkWarn, "天后", "station tls renew"},
		{"an expired certificate", func() { reissue(time.Now().Add(-lantls.ServerValidity - 2*24*time.Hour)) }, checkFail, "过期", "station tls renew"},
		{"a missing certificate", func() { os.Remove(filepath.Join(tlsFolder, "server.crt")) }, checkFail, "缺失", "station tls renew"},
		{"a server key others can read", func() { os.Chmod(filepath.Join(tlsFolder, "server.key"), 0o644) }, checkFail, "其他用户可读", "chmod 600"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.breakIt()
			code, res := doctorReport(t, config)
			r := findCheck(t, res, tlsCheck)
			if r.Status != c.status || !strings.Contains(r.Detail, c.detail) || !strings.Contains(r.Fix, c.fix) {
				t.Errorf("%+v; want %s with %q and fix %q", r, c.status, c.detail, c.fix)
			}
			if c.status == checkFail && code != 1 {
				t.Errorf("exit %d with a failed certificate check", code)
			}
			os.Chmod(filepath.Join(tlsFolder, "server.key"), 0o600)
			if code, out, stderr := runCLI(t, "tls", "renew", "--config", config); code != 0 || !strings.Contains(out, "已重新签发") {
				t.Fatalf("tls renew: exit %d %s %s", code, out, stderr)
			}
			if _, res := doctorReport(t, config); findCheck(t, res, tlsCheck).Status != checkOK {
				t.Errorf("after tls renew: %+v", findCheck(t, res, tlsCheck))
			}
		})
	}

	t.Run("a name the certificate lacks", func(t *testing.T) {
		cfg := writeConfig(t, "data = \""+dir+"\"\nlisten = \""+m.HTTP.Addr().String()+"\"\nlisten-https = \""+https+"\"\ntls-names = \"counter-gateway.example\"\n")
		_, res := doctorReport(t, cfg)
		if r := findCheck(t, res, tlsCheck); r.Status != checkWarn || !strings.Contains(r.Detail, "counter-gateway.example") || !strings.Contains(r.Fix, "station tls renew") {
			t.Errorf("%+v", r)
		}
	})
	t.Run("HTTPS turned off", func(t *testing.T) {
		cfg := writeConfig(t, "data = \""+dir+"\"\nlisten = \""+m.HTTP.Addr().String()+"\"\nlisten-https = \"\"\n")
		_, res := doctorReport(t, cfg)
		if r := findCheck(t, res, tlsCheck); r.Status != checkWarn || !strings.Contains(r.Fix, "listen-https") {
			t.Errorf("%+v", r)
		}
	})
	t.Run("plain HTTP on the LAN in the file", func(t *testing.T) {
		cfg := writeConfig(t, "data = \""+dir+"\"\nlisten = \"0.0.0.0:8080\"\n")
		code, res := doctorReport(t, cfg)
		if r := findCheck(t, res, "配置文件"); code != 1 || r.Status != checkFail || !strings.Contains(r.Detail, `"listen"`) {
			t.Errorf("exit %d, %+v", code, r)
		}
	})
}

// TestDoctorWarnsAYearBeforeTheStationCAEnds: replacing the CA means visiting every terminal, so the
// doctor says so a year ahead; the server certificate itself is still fine.
func TestDoctorWarnsAYearBeforeTheStationCAEnds(t *testing.T) {
	dir := t.TempDir()
	os.Chmod(dir, 0o700)
	tlsFolder := filepath.Join(dir, "tls")
	old := time.Now().Add(-lantls.CAValidity + 180*24*time.Hour) // the CA has half a year left
	for _, at := range []time.Time{old, time.Now()} {
		if _, err := lantls.Ensure(lantls.Options{Dir: tlsFolder, Names: lantls.LocalNames(nil), Now: at, Force: true}); err != nil {
			t.Fatal(err)
		}
	}
	config := writeConfig(t, "data = \""+dir+"\"\nlisten = \"127.0.0.1:1\"\nlisten-https = \"127.0.0.1:1\"\n")
	_, res := doctorReport(t, config)
	if r := findCheck(t, res, "本站根证书"); r.Status != checkWarn || !strings.Contains(r.Fix, "每台柜台电脑") {
		t.Errorf("%+v", r)
	}
	if r := findCheck(t, res, tlsCheck); r.Status != checkOK {
		t.Errorf("the server certificate: %+v", r)
	}
}
