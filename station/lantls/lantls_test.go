package lantls_test

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/civic-station/station/station/lantls"
)

var t0 = time.Date(2026, 12, 7, 6, 0, 0, 0, time.UTC)

func ensure(t *testing.T, o lantls.Options) *lantls.State {
	t.Helper()
	st, err := lantls.Ensure(o)
	if err != nil {
		t.Fatalf("ensure: %v", err)
	}
	return st
}

func TestTheFirstEnsureMakesACAAndAServerCertificateForTheNames(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tls")
	st := ensure(t, lantls.Options{Dir: dir, CAName: "S-0042", Organization: "幸福社区", Names: []string{"Box-01", "192.0.2.7", "localhost", "127.0.0.1", "::1"}, Now: t0})
	if !st.NewCA || !st.Issued {
		t.Fatalf("NewCA %v Issued %v, want both", st.NewCA, st.Issued)
	}
	ca := st.CA
	if !ca.IsCA || ca.Subject.CommonName != "Station CA S-0042" || !slices.Equal(ca.Subject.OrganizationalUnit, []string{"幸福社区"}) {
		t.Errorf("CA subject %v, IsCA %v", ca.Subject, ca.IsCA)
	}
	if years := ca.NotAfter.Sub(ca.NotBefore).Hours() / 24 / 365; years < 9.9 || years > 10.1 {
		t.Errorf("the CA is valid %.1f years, want about 10", years)
	}
	if ca.PublicKeyAlgorithm != x509.ECDSA || st.Leaf.PublicKeyAlgorithm != x509.ECDSA {
		t.Errorf("key algorithms %v / %v, want ECDSA", ca.PublicKeyAlgorithm, st.Leaf.PublicKeyAlgorithm)
	}
	if d := st.Leaf.NotAfter.Sub(st.Leaf.NotBefore); d > 397*24*time.Hour {
		t.Errorf("the server certificate is valid %v, more than 397 days", d)
	}
	want := []string{"127.0.0.1", "192.0.2.7", "::1", "box-01", "localhost"}
	if got := lantls.CertNames(st.Leaf); !slices.Equal(got, want) {
		t.Errorf("names %v, want %v", got, want)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	for _, name := range []string{"box-01", "192.0.2.7", "localhost"} {
		if _, err := st.Leaf.Verify(x509.VerifyOptions{Roots: roots, DNSName: name, CurrentTime: t0}); err != nil {
			t.Errorf("verify for %s: %v", name, err)
		}
	}
	if _, err := st.Leaf.Verify(x509.VerifyOptions{Roots: roots, DNSName: "192.0.2.8", CurrentTime: t0}); err == nil {
		t.Error("the certificate verified for an address it does not name")
	}
	for file, mode := range map[string]os.FileMode{"ca.crt": 0o644, "ca.key": 0o600, "server.crt": 0o644, "server.key": 0o600} {
		fi, err := os.Stat(filepath.Join(dir, file))
		if err != nil {
			t.Fatal(err)
		}
		if runtime.GOOS != "windows" && fi.Mode().Perm() != mode {
			t.Errorf("%s has mode %04o, want %04o", file, fi.Mode().Perm(), mode)
		}
	}
	if fi, _ := os.Stat(dir); runtime.GOOS != "windows" && fi.Mode().Perm() != 0o700 {
		t.Errorf("the folder has mode %04o, want 0700", fi.Mode().Perm())
	}
}

func TestTheServerCertificateIsKeptOrReissued(t *testing.T) {
	names := []string{"box-01", "192.0.2.7", "localhost"}
	cases := []struct {
		name    string
		names   []string
		now     time.Time
		force   bool
		reissue bool
	}{
		{"the same names a day later keep it", names, t0.Add(24 * time.Hour), false, false},
		{"the same names in another order and case keep it", []string{"LOCALHOST", "192.0.2.7", "Box-01"}, t0, false, false},
		{"an address more reissues it", append(slices.Clone(names), "198.51.100.3"), t0, false, true},
		{"an address less reissues it", names[:2], t0, false, true},
		{"31 days before its end keep it", names, t0.Add(lantls.ServerValidity - 31*24*time.Hour - time.Hour), false, false},
		{"29 days before its end reissue it", names, t0.Add(lantls.ServerValidity - 29*24*time.Hour), false, true},
		{"after its end reissues it", names, t0.Add(lantls.ServerValidity + time.Hour), false, true},
		{"forcing reissues it", names, t0, true, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			first := ensure(t, lantls.Options{Dir: dir, CAName: "box-01", Names: names, Now: t0})
			again := ensure(t, lantls.Options{Dir: dir, CAName: "box-01", Names: c.names, Now: c.now, Force: c.force})
			if again.NewCA {
				t.Fatal("the second Ensure made a new CA")
			}
			if again.CA.SerialNumber.Cmp(first.CA.SerialNumber) != 0 {
				t.Fatal("the CA changed")
			}
			same := again.Leaf.SerialNumber.Cmp(first.Leaf.SerialNumber) == 0
			if same == c.reissue || again.Issued != c.reissue {
				t.Fatalf("same serial %v, Issued %v (%s); want reissued %v", same, again.Issued, again.Reason, c.reissue)
			}
			if c.reissue {
				if got, want := lantls.CertNames(again.Leaf), lantls.NormalizeNames(c.names); !slices.Equal(got, want) {
					t.Errorf("names %v, want %v", got, want)
				}
				if !again.Leaf.NotAfter.After(c.now.Add(lantls.RenewBefore)) {
					t.Errorf("the new certificate ends %v, within the renewal window of %v", again.Leaf.NotAfter, c.now)
				}
			}
		})
	}
}

func TestABrokenServerFileIsReplacedButABrokenCAIsNot(t *testing.T) {
	names := []string{"box-01"}
	t.Run("a server key that does not match is replaced", func(t *testing.T) {
		dir := t.TempDir()
		first := ensure(t, lantls.Options{Dir: dir, Names: names, Now: t0})
		key, _ := os.ReadFile(filepath.Join(dir, "ca.key")) // a valid key, not the server's
		if err := os.WriteFile(filepath.Join(dir, "server.key"), key, 0o600); err != nil {
			t.Fatal(err)
		}
		again := ensure(t, lantls.Options{Dir: dir, Names: names, Now: t0})
		if !again.Issued || again.Leaf.SerialNumber.Cmp(first.Leaf.SerialNumber) == 0 {
			t.Fatalf("a mismatched key was kept (%s)", again.Reason)
		}
	})
	t.Run("a missing CA certificate beside its key is an error, not a new CA", func(t *testing.T) {
		dir := t.TempDir()
		ensure(t, lantls.Options{Dir: dir, Names: names, Now: t0})
		os.Remove(filepath.Join(dir, "ca.crt"))
		if _, err := lantls.Ensure(lantls.Options{Dir: dir, Names: names, Now: t0}); err == nil || !strings.Contains(err.Error(), "ca.crt is missing but") {
			t.Fatalf("err %v", err)
		}
	})
	if runtime.GOOS == "windows" {
		return
	}
	t.Run("a CA key others can read is refused", func(t *testing.T) {
		dir := t.TempDir()
		ensure(t, lantls.Options{Dir: dir, Names: names, Now: t0})
		os.Chmod(filepath.Join(dir, "ca.key"), 0o644)
		if _, err := lantls.Ensure(lantls.Options{Dir: dir, Names: names, Now: t0}); !errors.Is(err, lantls.ErrKeyMode) {
			t.Fatalf("err %v, want ErrKeyMode", err)
		}
	})
}

// TestServerConfigSpeaksOnlyModernTLS: a real handshake over loopback with a client that trusts the
// CA works; TLS 1.1 and a CBC suite are refused.
func TestServerConfigSpeaksOnlyModernTLS(t *testing.T) {
	st := ensure(t, lantls.Options{Dir: t.TempDir(), Names: []string{"localhost", "127.0.0.1"}, Now: time.Now()})
	ln, err := tls.Listen("tcp", "127.0.0.1:0", lantls.ServerConfig(func() *tls.Certificate { return &st.Cert }))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { _ = c.(*tls.Conn).Handshake(); c.Close() }()
		}
	}()
	roots := x509.NewCertPool()
	roots.AddCert(st.CA)
	dial := func(cfg *tls.Config) error {
		c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", ln.Addr().String(), cfg)
		if err == nil {
			c.Close()
		}
		return err
	}
	if err := dial(&tls.Config{RootCAs: roots, ServerName: "127.0.0.1"}); err != nil {
		t.Errorf("a client trusting the CA: %v", err)
	}
	if err := dial(&tls.Config{ServerName: "127.0.0.1"}); err == nil {
		t.Error("a client with only the system roots accepted the station's certificate")
	}
	if err := dial(&tls.Config{RootCAs: roots, ServerName: "127.0.0.1", MaxVersion: tls.VersionTLS11, MinVersion: tls.VersionTLS10}); err == nil {
		t.Error("TLS 1.1 was accepted")
	}
	if err := dial(&tls.Config{RootCAs: roots, ServerName: "127.0.0.1", MaxVersion: tls.VersionTLS12,
		CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA}}); err == nil {
		t.Error("a CBC cipher suite was accepted")
	}
}

func TestFingerprintIsTheSHA256OfTheDER(t *testing.T) {
	st := ensure(t, lantls.Options{Dir: t.TempDir(), Names: []string{"box"}, Now: t0})
	sum := sha256.Sum256(st.CA.Raw)
	want := strings.ToUpper(hex.EncodeToString(sum[:]))
	fp := lantls.Fingerprint(st.CA)
	if strings.ReplaceAll(fp, ":", "") != want || strings.Count(fp, ":") != 31 {
		t.Fatalf("fingerprint %q, want %s in colon-separated pairs", fp, want)
	}
	if lantls.Fingerprint(st.Leaf) == fp {
		t.Fatal("the server certificate and the CA have the same fingerprint")
	}
}
