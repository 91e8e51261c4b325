package syncer

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/civic-station/station/internal/atomicfile"
	"github.com/civic-station/station/station"
	"github.com/civic-station/station/station/revealkey"
	"github.com/civic-station/station/syncer/protocol"
)

// Identity is the station's identity at the hub: its ID and client certificate, the hub's CA, and
// the hub's reveal public key when the hub has one.
type Identity struct {
	StationID   string `json:"station_id"`
	StationName string `json:"station_name"`
	HubURL      string `json:"hub_url"`
	// RevealKey is the hub's reveal public key (station/revealkey, base64), given at enrollment or
	// announced later with the downlink; "" until the station knows one.
	RevealKey string `json:"reveal_key,omitempty"`

	Cert tls.Certificate `json:"-"`
	CA   *x509.CertPool  `json:"-"`

	dir string // the identity folder it was loaded from; "" for one built in memory
}

// HubRevealKey parses RevealKey; it returns nil and no error when the station knows no reveal key.
func (id *Identity) HubRevealKey() (*revealkey.PublicKey, error) {
	if id.RevealKey == "" {
		return nil, nil
	}
	return revealkey.ParsePublicKey(id.RevealKey)
}

// saveRevealKey records a new reveal key in identity.json (owner-only, replaced atomically).
func (id *Identity) saveRevealKey(key string) error {
	next := *id
	next.RevealKey = key
	if id.dir != "" {
		if err := writeIdentityMeta(id.dir, next); err != nil {
			return err
		}
	}
	id.RevealKey = key
	return nil
}

// writeIdentityMeta writes identity.json in dir.
func writeIdentityMeta(dir string, id Identity) error {
	meta, err := json.MarshalIndent(id, "", "  ")
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(filepath.Join(dir, "identity.json"), meta, 0o600); err != nil {
		return fmt.Errorf("store identity: %w", err)
	}
	return nil
}

// ErrNotEnrolled is returned by LoadIdentity when the data directory holds no identity.
var ErrNotEnrolled = errors.New("station not enrolled with a hub")

// identityDir is where the identity lives inside the data directory.
func identityDir(dataDir string) string { return filepath.Join(dataDir, "sync") }

// TLSConfig returns the client TLS configuration: the station's certificate, and the hub verified
// against the hub's CA.
func (id *Identity) TLSConfig() *tls.Config {
	return &tls.Config{Certificates: []tls.Certificate{id.Cert}, RootCAs: id.CA, MinVersion: tls.VersionTLS12}
}

// LoadIdentity loads the identity from the data directory, or returns ErrNotEnrolled.
func LoadIdentity(dataDir string) (*Identity, error) {
	dir := identityDir(dataDir)
	meta, err := os.ReadFile(filepath.Join(dir, "identity.json"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, ErrNotEnrolled
	} else if err != nil {
		return nil, fmt.Errorf("load identity: %w", err)
	}
	var id Identity
	if err := json.Unmarshal(meta, &id); err != nil {
		return nil, fmt.Errorf("load identity: %w", err)
	}
	id.Cert, err = tls.LoadX509KeyPair(filepath.Join(dir, "station.crt"), filepath.Join(dir, "station.key"))
	if err != nil {
		return nil, fmt.Errorf("load identity: %w", err)
	}
	caPEM, err := os.ReadFile(filepath.Join(dir, "hub-ca.crt"))
	if err != nil {
		return nil, fmt.Errorf("load identity: %w", err)
	}
	id.CA = x509.NewCertPool()
	if !id.CA.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("load identity: no certificate in %s", filepath.Join(dir, "hub-ca.crt"))
	}
	id.dir = dir
	return &id, nil
}

// Enroll enrolls the station with the hub at hubURL using a one-time token (SECRET.PIN, from
// `station hub token create`) and stores the identity in the data directory: the private key, generated
// here and never sent, and the certificate, both owner-only. The hub is trusted only if its CA matches
// the token's pin. Enroll refuses to replace an existing identity.
func Enroll(ctx context.Context, hubURL, token, dataDir, version string) (*Identity, error) {
	if _, err := LoadIdentity(dataDir); err == nil {
		return nil, station.Errorf(station.ECONFLICT, "本站已注册，如需重新注册请先移除 %s", identityDir(dataDir))
	}
	_, pin, ok := strings.Cut(strings.TrimSpace(token), ".")
	if !ok || len(pin) != 64 {
		return nil, station.Errorf(station.EINVALID, "注册码格式错误")
	}
	u, err := url.Parse(strings.TrimRight(hubURL, "/"))
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return nil, station.Errorf(station.EINVALID, "数据中心地址必须是 https://主机:端口")
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	csr, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "station"}}, key)
	if err != nil {
		return nil, err
	}
	body, _ := json.Marshal(protocol.EnrollRequest{Token: strings.TrimSpace(token), CSR: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csr})), Version: version})
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: pinnedTLS(pin, u.Hostname())}}
	defer client.CloseIdleConnections() // enrollment is one request; keep no connection behind it
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String()+protocol.PathEnroll, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(protocol.HeaderStationVersion, version)
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("enroll at %s: %w", u.Host, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		he := hubErrorFrom(resp, raw, time.Now())
		if he.Code != "" && resp.StatusCode < 500 {
			return nil, &station.Error{Code: he.Code, Message: "数据中心拒绝注册：" + he.Message}
		}
		return nil, he
	}
	var er protocol.EnrollResponse
	if err := json.Unmarshal(raw, &er); err != nil {
		return nil, fmt.Errorf("enroll: bad answer: %w", err)
	}
	if er.RevealKey != "" {
		if _, err := revealkey.ParsePublicKey(er.RevealKey); err != nil {
			return nil, fmt.Errorf("enroll: bad answer: reveal key: %w", err)
		}
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	id := Identity{StationID: er.StationID, StationName: er.StationName, HubURL: u.String(), RevealKey: er.RevealKey}
	dir := identityDir(dataDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	for _, f := range []struct {
		name string
		data []byte
	}{{"station.key", keyPEM}, {"station.crt", []byte(er.Certificate)}, {"hub-ca.crt", []byte(er.CA)}} {
		if err := atomicfile.WriteFile(filepath.Join(dir, f.name), f.data, 0o600); err != nil {
			return nil, fmt.Errorf("store identity: %w", err)
		}
	}
	// identity.json last: LoadIdentity treats its presence as "enrolled".
	if err := writeIdentityMeta(dir, id); err != nil {
		return nil, err
	}
	return LoadIdentity(dataDir)
}

// pinnedTLS trusts a server whose chain contains the CA with the given SHA-256 and whose certificate
// that CA signed for host.
func pinnedTLS(pin, host string) *tls.Config {
	return &tls.Config{
		MinVersion:         tls.VersionTLS12,
		InsecureSkipVerify: true, // replaced by VerifyConnection: the pin stands in for a CA the station does not have yet
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errors.New("hub sent no certificate")
			}
			roots := x509.NewCertPool()
			for _, c := range cs.PeerCertificates {
				h := sha256.Sum256(c.Raw)
				if hex.EncodeToString(h[:]) == pin {
					roots.AddCert(c)
				}
			}
			_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{Roots: roots, DNSName: host})
			if err != nil {
				return fmt.Errorf("hub certificate does not match the token's pin: %w", err)
			}
			return nil
		},
	}
}

// hubError is an error answer from the hub.
type hubError struct {
	Status     int
	Code       string
	Message    string
	RetryAfter time.Duration
}

func (e *hubError) Error() string {
	return fmt.Sprintf("hub answered %d %s: %s", e.Status, e.Code, e.Message)
}

func hubErrorFrom(resp *http.Response, body []byte, now time.Time) *hubError {
	e := &hubError{Status: resp.StatusCode}
	var er protocol.ErrorResponse
	if json.Unmarshal(body, &er) == nil {
		e.Code, e.Message = er.Code, er.Message
	}
	e.RetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), now)
	return e
}

// parseRetryAfter reads Retry-After in seconds or as an HTTP date.
func parseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	var secs int
	if _, err := fmt.Sscanf(v, "%d", &secs); err == nil && secs >= 0 {
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}
