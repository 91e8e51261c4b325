// Package revealkey is the data center's reveal key: an HPKE key pair (RFC 9180; DHKEM(X25519),
// HKDF-SHA256, AES-256-GCM) with which a station seals a copy of each document number for the hub, so
// that a department clerk can see the full number of an application on purpose (an audited reveal in
// the hub console) while the number never leaves the station in clear.
//
// The hub keeps the private key in its data directory (reveal.key, mode 0600, created on first start)
// and hands the public key to stations at enrollment and with every downlink answer. A station seals
// with PublicKey.Seal when it seals an application's applicant's number (station/datakey's HubCopy);
// the hub opens with PrivateKey.Open, for a clerk's audited reveal and nowhere else. The HPKE info binds each sealed copy to its document type and
// lookup index, so that a copy moved onto another record does not open.
package revealkey

import (
	"bytes"
	"crypto/ecdh"
	"crypto/hpke"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/civic-station/station/internal/atomicfile"
	"github.com/civic-station/station/internal/keyfile"
	"github.com/civic-station/station/station"
)

// FileName is the private key's file name in the hub's data directory.
const FileName = "reveal.key"

// header starts the private key file.
const header = "station-hub-reveal-key-v1\n"

// infoPrefix starts the HPKE info of every sealed copy; the version names the suite and the layout.
const infoPrefix = "station-id-reveal-v1"

// The HPKE suite.
var (
	kem  = hpke.DHKEM(ecdh.X25519())
	kdf  = hpke.HKDFSHA256()
	aead = hpke.AES256GCM()
)

// ErrNoHubCopy is returned by PrivateKey.Open for a number sealed without a copy for the hub (by a
// station that did not know the reveal key yet).
var ErrNoHubCopy = errors.New("revealkey: the number was sealed without a copy for the hub")

// ErrBadCipher is returned by PrivateKey.Open when the copy is malformed, was altered, was moved to
// another record, or was sealed to another key.
var ErrBadCipher = errors.New("revealkey: the hub copy is malformed or does not match this key and record")

// PublicKey is the hub's reveal public key as a station holds it.
type PublicKey struct {
	pk hpke.PublicKey
}

// ParsePublicKey reads a public key in the form PublicKey.String writes (standard base64 of the 32-byte
// X25519 key).
func ParsePublicKey(s string) (*PublicKey, error) {
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
	if err != nil {
		return nil, fmt.Errorf("revealkey: public key is not base64: %w", err)
	}
	pk, err := kem.NewPublicKey(b)
	if err != nil {
		return nil, fmt.Errorf("revealkey: public key: %w", err)
	}
	return &PublicKey{pk: pk}, nil
}

// String returns the key as standard base64, the form the sync protocol carries.
func (p *PublicKey) String() string { return base64.StdEncoding.EncodeToString(p.pk.Bytes()) }

// Fingerprint names the key (16 hex digits of its SHA-256) for logs and status pages.
func (p *PublicKey) Fingerprint() string {
	h := sha256.Sum256(p.pk.Bytes())
	return hex.EncodeToString(h[:8])
}

// Equal reports whether two keys are the same; a nil key equals only nil.
func (p *PublicKey) Equal(q *PublicKey) bool {
	if p == nil || q == nil {
		return p == q
	}
	return bytes.Equal(p.pk.Bytes(), q.pk.Bytes())
}

// info is the HPKE info of the copy of a number of type t whose lookup index is index.
func info(t station.IDType, index string) []byte {
	return []byte(infoPrefix + "\x00" + string(t) + "\x00" + index)
}

// Seal encrypts a validated, normalized document number to the hub, bound to its type and lookup
// index (SealedID.Type and SealedID.Index of the same seal). It returns the value of SealedID.Hub:
// standard base64 of the encapsulated key followed by the ciphertext. Sealing is randomized.
func (p *PublicKey) Seal(t station.IDType, index, number string) (string, error) {
	ct, err := hpke.Seal(p.pk, kdf, aead, info(t, index), []byte(number))
	if err != nil {
		return "", fmt.Errorf("revealkey: seal: %w", err)
	}
	return base64.StdEncoding.EncodeToString(ct), nil
}

// PrivateKey is the hub's reveal private key. It is safe for concurrent use.
type PrivateKey struct {
	sk  hpke.PrivateKey
	pub *PublicKey
}

// Generate returns a new random key pair.
func Generate() (*PrivateKey, error) {
	sk, err := kem.GenerateKey()
	if err != nil {
		return nil, fmt.Errorf("revealkey: generate: %w", err)
	}
	return &PrivateKey{sk: sk, pub: &PublicKey{pk: sk.PublicKey()}}, nil
}

// Public returns the public half, the one stations seal to.
func (k *PrivateKey) Public() *PublicKey { return k.pub }

// Open decrypts the hub's copy of a sealed number. It returns ErrNoHubCopy when s has none, and
// ErrBadCipher when the copy does not open under this key for s's type and index, or opens to a number
// that does not match s's masked form.
func (k *PrivateKey) Open(s station.SealedID) (string, error) {
	if s.Hub == "" {
		return "", ErrNoHubCopy
	}
	ct, err := base64.StdEncoding.DecodeString(s.Hub)
	if err != nil {
		return "", ErrBadCipher
	}
	pt, err := hpke.Open(k.sk, kdf, aead, info(s.Type, s.Index), ct)
	if err != nil {
		return "", ErrBadCipher
	}
	number := string(pt)
	if station.MaskIDNumber(number) != s.Masked {
		return "", ErrBadCipher
	}
	return number, nil
}

// Load reads the private key file at path, creating it (mode 0600, fsynced) if it does not exist. It
// refuses a file that group or others can access, or one that is not a reveal key file.
func Load(path string) (*PrivateKey, error) {
	b, err := keyfile.Read(path, "reveal key", create)
	if err != nil {
		return nil, err
	}
	s, ok := strings.CutPrefix(string(b), header)
	if !ok {
		return nil, fmt.Errorf("reveal key %s: not a hub reveal key file", path)
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
	if err != nil {
		return nil, fmt.Errorf("reveal key %s: malformed key", path)
	}
	sk, err := kem.NewPrivateKey(raw)
	if err != nil {
		return nil, fmt.Errorf("reveal key %s: malformed key", path)
	}
	return &PrivateKey{sk: sk, pub: &PublicKey{pk: sk.PublicKey()}}, nil
}

// create writes a new key file at path. If another process created one meanwhile, theirs wins and
// Load reads it.
func create(path string) error {
	k, err := Generate()
	if err != nil {
		return err
	}
	raw, err := k.sk.Bytes()
	if err != nil {
		return fmt.Errorf("revealkey: serialize: %w", err)
	}
	if err := atomicfile.Create(path, []byte(header+base64.StdEncoding.EncodeToString(raw)+"\n"), 0o600); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("create reveal key %s: %w", path, err)
	}
	return nil
}
