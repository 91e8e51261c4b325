package lantls

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/civic-station/station/internal/atomicfile"
)

// Member certificates: the boxes of one station's cluster (station/cluster) authenticate each other
// with certificates the station CA issues for the purpose, both as client and as server. A member
// certificate names its box in the common name and carries MemberUnit in its organizational unit,
// which the station's HTTPS certificates do not; every box holds the CA (it issues its own HTTPS
// certificate too), so each box issues its own member certificate.

// Member certificate files inside the folder.
const (
	MemberCertFile = "member.crt"
	MemberKeyFile  = "member.key"
)

// MemberUnit marks a member certificate.
const MemberUnit = "station cluster member"

// MemberState is a box's member certificate and the CA that trusts the others.
type MemberState struct {
	Cert tls.Certificate // with the CA in its chain
	Leaf *x509.Certificate
	CA   *x509.Certificate
	Pool *x509.CertPool // the CA alone
}

// EnsureMember loads the member certificate for id from o.Dir, issuing it when it is missing, for
// another name or CA, or within RenewBefore of its end. The CA is created when there is none (o's
// CAName and Organization name it), as Ensure does.
func EnsureMember(o Options, id string) (*MemberState, error) {
	if err := os.MkdirAll(o.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("create TLS folder: %w", err)
	}
	ca, caKey, _, err := loadCA(o.Dir)
	if errors.Is(err, fs.ErrNotExist) {
		ca, caKey, _, err = createCA(o)
	}
	if err != nil {
		return nil, err
	}
	st := &MemberState{CA: ca, Pool: x509.NewCertPool()}
	st.Pool.AddCert(ca)
	certPath, keyPath := filepath.Join(o.Dir, MemberCertFile), filepath.Join(o.Dir, MemberKeyFile)
	if err := CheckKeyMode(keyPath); err == nil {
		if pair, err := tls.LoadX509KeyPair(certPath, keyPath); err == nil && pair.Leaf.CheckSignatureFrom(ca) == nil &&
			pair.Leaf.Subject.CommonName == id && o.Now.Before(pair.Leaf.NotAfter.Add(-RenewBefore)) {
			pair.Certificate = append(pair.Certificate[:1:1], ca.Raw)
			st.Cert, st.Leaf = pair, pair.Leaf
			return st, nil
		}
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: randomSerial(),
		Subject:      pkix.Name{CommonName: id, Organization: ca.Subject.Organization, OrganizationalUnit: []string{MemberUnit}},
		NotBefore:    o.Now.Add(-backdate),
		NotAfter:     o.Now.Add(-backdate).Add(ServerValidity),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	if tmpl.NotAfter.After(ca.NotAfter) {
		tmpl.NotAfter = ca.NotAfter
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return nil, fmt.Errorf("issue member certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	if err := writeKey(keyPath, key); err != nil {
		return nil, fmt.Errorf("issue member certificate: %w", err)
	}
	var b bytes.Buffer
	_ = pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: der})
	if err := atomicfile.WriteFile(certPath, b.Bytes(), 0o644); err != nil {
		return nil, fmt.Errorf("issue member certificate: %w", err)
	}
	st.Cert = tls.Certificate{Certificate: [][]byte{der, ca.Raw}, PrivateKey: key, Leaf: leaf}
	st.Leaf = leaf
	return st, nil
}

// VerifyMember checks that the chain a peer presented holds a member certificate the CA in pool
// issued, and returns the member's name.
func VerifyMember(rawCerts [][]byte, pool *x509.CertPool, now time.Time) (string, error) {
	if len(rawCerts) == 0 {
		return "", errors.New("no member certificate")
	}
	leaf, err := x509.ParseCertificate(rawCerts[0])
	if err != nil {
		return "", err
	}
	if !slices.Contains(leaf.Subject.OrganizationalUnit, MemberUnit) || !slices.Contains(leaf.ExtKeyUsage, x509.ExtKeyUsageServerAuth) {
		return "", fmt.Errorf("%q is not a member certificate", leaf.Subject.CommonName)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, CurrentTime: now,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		return "", fmt.Errorf("member certificate %q: %w", leaf.Subject.CommonName, err)
	}
	return leaf.Subject.CommonName, nil
}
