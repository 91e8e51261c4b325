// Package lantls is the station's HTTPS on the LAN: its own certificate authority, created once in the
// data directory, and the server certificate it signs for the box's names and addresses, reissued when
// those change or the certificate nears its end. Counter terminals install the CA once (from the setup
// page) and then trust every certificate the box issues itself.
//
// The files live in one folder (<data>/tls): ca.crt and server.crt (PEM, 0644), ca.key and server.key
// (PKCS #8 PEM, 0600). Every file is written atomically. Keys are ECDSA P-256. Only the standard
// library is used.
package lantls

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/civic-station/station/internal/atomicfile"
)

// Validity and renewal.
const (
	// CAValidity is how long the station CA is valid: counter terminals install it once.
	CAValidity = 10 * 365 * 24 * time.Hour
	// ServerValidity is how long a server certificate is valid, NotBefore to NotAfter: under the
	// 398 days browsers accept for any certificate.
	ServerValidity = 396 * 24 * time.Hour
	// RenewBefore is how long before its end a server certificate is reissued.
	RenewBefore = 30 * 24 * time.Hour
	// backdate covers a terminal whose clock is a little behind the box's.
	backdate = time.Hour
)

// File names inside the folder.
const (
	CACertFile     = "ca.crt"
	CAKeyFile      = "ca.key"
	ServerCertFile = "server.crt"
	ServerKeyFile  = "server.key"
)

// ErrKeyMode is returned when a key file is readable by others than its owner.
var ErrKeyMode = errors.New("key file readable by others")

// Options says what certificate the station needs.
type Options struct {
	Dir string // the folder of the four files, created 0700 when missing
	// CAName names the station in the CA's common name ("Station CA " + CAName) when the CA is created,
	// e.g. the station ID or the box's host name; Organization names the community (may be "").
	CAName       string
	Organization string
	// Names are the server certificate's subject alternative names: host names and IP addresses. A
	// server certificate whose names differ is reissued.
	Names []string
	Now   time.Time
	// Force reissues the server certificate even when the current one would do.
	Force bool
}

// State is the station's TLS material after Ensure.
type State struct {
	CA     *x509.Certificate
	CAPEM  []byte
	Leaf   *x509.Certificate
	Cert   tls.Certificate // the server certificate with the CA in its chain, for tls.Config
	Dir    string
	Issued bool // the server certificate was (re)issued by this call
	NewCA  bool // the CA was created by this call
	Reason string
}

// Ensure loads the CA from o.Dir, creating it when there is none, and returns a server certificate for
// o.Names, reusing the one on disk unless it is missing, unreadable, not the CA's, for other names, or
// within RenewBefore of its end (or o.Force). It never replaces an existing CA: a CA that cannot be
// read is an error, since terminals trust it.
func Ensure(o Options) (*State, error) {
	if err := os.MkdirAll(o.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("create TLS folder: %w", err)
	}
	names := NormalizeNames(o.Names)
	if len(names) == 0 {
		return nil, errors.New("no names for the server certificate")
	}
	st := &State{Dir: o.Dir}
	ca, caKey, caPEM, err := loadCA(o.Dir)
	if errors.Is(err, fs.ErrNotExist) {
		ca, caKey, caPEM, err = createCA(o)
		st.NewCA = true
	}
	if err != nil {
		return nil, err
	}
	st.CA, st.CAPEM = ca, caPEM
	reason := o.reissueReason(ca, names)
	if reason == "" {
		cert, leaf, err := loadServer(o.Dir, ca)
		if err == nil {
			st.Cert, st.Leaf = cert, leaf
			return st, nil
		}
		reason = "unusable: " + err.Error()
	}
	st.Reason = reason
	if st.Cert, st.Leaf, err = issueServer(o.Dir, ca, caKey, names, o.Now); err != nil {
		return nil, err
	}
	st.Issued = true
	return st, nil
}

// reissueReason says why the server certificate on disk must be replaced, or "" when it may do
// (subject to loading it).
func (o Options) reissueReason(ca *x509.Certificate, names []string) string {
	if o.Force {
		return "forced"
	}
	leaf, err := readCert(filepath.Join(o.Dir, ServerCertFile))
	if err != nil {
		return "missing"
	}
	if err := leaf.CheckSignatureFrom(ca); err != nil {
		return "not signed by the station CA"
	}
	if got := CertNames(leaf); !slices.Equal(got, names) {
		return fmt.Sprintf("names changed: %s → %s", strings.Join(got, ","), strings.Join(names, ","))
	}
	if o.Now.Add(RenewBefore).After(leaf.NotAfter) {
		return "expires " + leaf.NotAfter.UTC().Format(time.DateOnly)
	}
	if o.Now.Before(leaf.NotBefore) {
		return "not yet valid"
	}
	return ""
}

// NormalizeNames trims, lower-cases host names, writes IP addresses in their canonical form, drops
// empty and repeated entries and sorts the rest.
func NormalizeNames(names []string) []string {
	var out []string
	for _, n := range names {
		n = strings.TrimSpace(n)
		n = strings.TrimSuffix(strings.TrimPrefix(n, "["), "]")
		if n == "" {
			continue
		}
		if ip := net.ParseIP(n); ip != nil {
			n = ip.String()
		} else {
			n = strings.ToLower(strings.TrimSuffix(n, "."))
		}
		out = append(out, n)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// CertNames are a certificate's subject alternative names as NormalizeNames writes them.
func CertNames(c *x509.Certificate) []string {
	names := slices.Clone(c.DNSNames)
	for _, ip := range c.IPAddresses {
		names = append(names, ip.String())
	}
	return NormalizeNames(names)
}

// Fingerprint is the SHA-256 of a certificate's DER bytes in upper-case hex pairs joined by colons, as
// browsers and `openssl x509 -fingerprint -sha256` show it.
func Fingerprint(c *x509.Certificate) string {
	sum := sha256.Sum256(c.Raw)
	parts := make([]string, len(sum))
	for i, b := range sum {
		parts[i] = fmt.Sprintf("%02X", b)
	}
	return strings.Join(parts, ":")
}

// LocalNames are the names a counter terminal may use for this box: its host name, "localhost", the
// loopback addresses, every address of an interface that is up (except loopback and link-local
// ones), and extra (e.g. names from --tls-names), normalized.
func LocalNames(extra []string) []string {
	names := append([]string{"localhost", "127.0.0.1", "::1"}, extra...)
	if h, err := os.Hostname(); err == nil && h != "" {
		names = append(names, h)
	}
	ifaces, _ := net.Interfaces()
	for _, ifc := range ifaces {
		if ifc.Flags&net.FlagUp == 0 || ifc.Flags&net.FlagLoopback != 0 {
			continue
		}
		addrs, _ := ifc.Addrs()
		for _, a := range addrs {
			ipn, ok := a.(*net.IPNet)
			if !ok || ipn.IP.IsLoopback() || ipn.IP.IsLinkLocalUnicast() {
				continue
			}
			names = append(names, ipn.IP.String())
		}
	}
	return NormalizeNames(names)
}

// ServerConfig is the TLS configuration of the HTTPS listener: TLS 1.2 and later, forward-secret AEAD
// cipher suites only, HTTP/1.1. cert returns the certificate to present (it may change while the
// listener runs).
func ServerConfig(cert func() *tls.Certificate) *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		CipherSuites: []uint16{ // TLS 1.2; TLS 1.3's suites are all AEAD and not configurable
			tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
			tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
		},
		NextProtos: []string{"http/1.1"},
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			c := cert()
			if c == nil {
				return nil, errors.New("no server certificate")
			}
			return c, nil
		},
	}
}

// LoadKeyPair loads an operator's own certificate (PEM, chain included) and key files, and parses the
// leaf.
func LoadKeyPair(certFile, keyFile string) (tls.Certificate, *x509.Certificate, error) {
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	return pair, pair.Leaf, nil
}

// LoadCA reads the station CA certificate from dir (no key): what `station tls show` and the setup
// page's download give out.
func LoadCA(dir string) (*x509.Certificate, []byte, error) {
	path := filepath.Join(dir, CACertFile)
	pemBytes, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	c, err := parseCertPEM(pemBytes)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, pemBytes, nil
}

// CheckKeyMode returns ErrKeyMode (wrapped with the path) when path is readable by group or others.
func CheckKeyMode(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if fi.Mode().Perm()&0o077 != 0 && !isWindows() {
		return fmt.Errorf("%s: mode %04o: %w", path, fi.Mode().Perm(), ErrKeyMode)
	}
	return nil
}

func loadCA(dir string) (*x509.Certificate, crypto.Signer, []byte, error) {
	certPath, keyPath := filepath.Join(dir, CACertFile), filepath.Join(dir, CAKeyFile)
	ca, caPEM, err := LoadCA(dir)
	if errors.Is(err, fs.ErrNotExist) {
		if _, kerr := os.Stat(keyPath); kerr == nil {
			return nil, nil, nil, fmt.Errorf("%s is missing but %s exists: restore the CA certificate from a backup, or move both away to make a new CA (terminals then need the new one)", certPath, keyPath)
		}
		return nil, nil, nil, err
	}
	if err != nil {
		return nil, nil, nil, fmt.Errorf("load station CA: %w", err)
	}
	if err := CheckKeyMode(keyPath); err != nil {
		return nil, nil, nil, fmt.Errorf("load station CA key: %w", err)
	}
	keyPEM, err := os.ReadFile(keyPath)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("load station CA key: %w", err)
	}
	pair, err := tls.X509KeyPair(caPEM, keyPEM)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("load station CA %s: %w", certPath, err)
	}
	signer, ok := pair.PrivateKey.(crypto.Signer)
	if !ok || !ca.IsCA {
		return nil, nil, nil, fmt.Errorf("load station CA %s: not a CA certificate with a signing key", certPath)
	}
	return ca, signer, caPEM, nil
}

func createCA(o Options) (*x509.Certificate, crypto.Signer, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, nil, err
	}
	subject := pkix.Name{CommonName: strings.TrimSpace("Station CA " + o.CAName), Organization: []string{"社区便民服务站"}}
	if o.Organization != "" {
		subject.OrganizationalUnit = []string{o.Organization}
	}
	tmpl := &x509.Certificate{
		SerialNumber:          randomSerial(),
		Subject:               subject,
		NotBefore:             o.Now.Add(-backdate),
		NotAfter:              o.Now.Add(CAValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true, // it signs this box's server certificates, never another CA
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("create station CA: %w", err)
	}
	ca, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, nil, err
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	// The key first: a crash between the two leaves a key without a certificate, which loadCA reports,
	// never a certificate terminals might install without its key.
	if err := writeKey(filepath.Join(o.Dir, CAKeyFile), key); err != nil {
		return nil, nil, nil, fmt.Errorf("create station CA: %w", err)
	}
	if err := atomicfile.WriteFile(filepath.Join(o.Dir, CACertFile), certPEM, 0o644); err != nil {
		return nil, nil, nil, fmt.Errorf("create station CA: %w", err)
	}
	return ca, key, certPEM, nil
}

func issueServer(dir string, ca *x509.Certificate, caKey crypto.Signer, names []string, now time.Time) (tls.Certificate, *x509.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: randomSerial(),
		Subject:      pkix.Name{CommonName: names[0], Organization: ca.Subject.Organization},
		NotBefore:    now.Add(-backdate),
		NotAfter:     now.Add(-backdate).Add(ServerValidity),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	if tmpl.NotAfter.After(ca.NotAfter) {
		tmpl.NotAfter = ca.NotAfter
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("issue server certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	// The key before the certificate: a crash in between leaves a certificate that does not match the
	// key, which the next Ensure replaces.
	if err := writeKey(filepath.Join(dir, ServerKeyFile), key); err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("issue server certificate: %w", err)
	}
	var chain bytes.Buffer
	_ = pem.Encode(&chain, &pem.Block{Type: "CERTIFICATE", Bytes: der})
	if err := atomicfile.WriteFile(filepath.Join(dir, ServerCertFile), chain.Bytes(), 0o644); err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("issue server certificate: %w", err)
	}
	return tls.Certificate{Certificate: [][]byte{der, ca.Raw}, PrivateKey: key, Leaf: leaf}, leaf, nil
}

// loadServer loads server.crt and server.key and checks that they match and that the CA signed the
// certificate.
func loadServer(dir string, ca *x509.Certificate) (tls.Certificate, *x509.Certificate, error) {
	keyPath := filepath.Join(dir, ServerKeyFile)
	if err := CheckKeyMode(keyPath); err != nil {
		return tls.Certificate{}, nil, err
	}
	pair, err := tls.LoadX509KeyPair(filepath.Join(dir, ServerCertFile), keyPath)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	if err := pair.Leaf.CheckSignatureFrom(ca); err != nil {
		return tls.Certificate{}, nil, err
	}
	pair.Certificate = append(pair.Certificate[:1:1], ca.Raw)
	return pair, pair.Leaf, nil
}

func writeKey(path string, key *ecdsa.PrivateKey) error {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		return err
	}
	return os.Chmod(path, 0o600) // WriteFile's mode applies to a new file only; the umask may narrow it, never widen
}

func readCert(path string) (*x509.Certificate, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return parseCertPEM(b)
}

func parseCertPEM(b []byte) (*x509.Certificate, error) {
	block, _ := pem.Decode(b)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, errors.New("no PEM certificate")
	}
	return x509.ParseCertificate(block.Bytes)
}

func randomSerial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return n.Add(n, big.NewInt(1))
}

func isWindows() bool { return os.PathSeparator == '\\' }
