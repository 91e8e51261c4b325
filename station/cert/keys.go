package cert

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"

	"github.com/civic-station/station/internal/atomicfile"
)

// Algorithm is a signature algorithm for QR payloads.
type Algorithm string

// Signature algorithms. Ed25519 is the default; SM2 (GB/T 32918.2, with SM3 and the default user id
// 1234567812345678) is for deployments that must use commercial cryptography (商用密码).
const (
	Ed25519 Algorithm = "ed25519"
	SM2     Algorithm = "sm2"
)

// ParseAlgorithm reads a configured algorithm name; "" means Ed25519.
func ParseAlgorithm(s string) (Algorithm, error) {
	switch Algorithm(s) {
	case "", Ed25519:
		return Ed25519, nil
	case SM2:
		return SM2, nil
	}
	return "", invalid("签名算法“%s”无效，应为ed25519或sm2", s)
}

// algorithm ids in the binary payload.
const (
	algEd25519 byte = 1
	algSM2     byte = 2
)

func (a Algorithm) id() byte {
	switch a {
	case Ed25519:
		return algEd25519
	case SM2:
		return algSM2
	}
	return 0
}

func algorithmOf(id byte) (Algorithm, bool) {
	switch id {
	case algEd25519:
		return Ed25519, true
	case algSM2:
		return SM2, true
	}
	return "", false
}

// keyIDSize is the length of a key id: the first bytes of the SHA-256 of the key's PKIX encoding.
const keyIDSize = 8

// PublicKey is a station's public signing key as a key ring holds it: bound to the station it belongs to.
// The zero PublicKey verifies nothing.
type PublicKey struct {
	StationID string
	Algorithm Algorithm
	KeyID     string // hex, 16 characters
	DER       []byte // PKIX (SubjectPublicKeyInfo) encoding
	key       crypto.PublicKey
}

// NewPublicKey parses a PKIX-encoded Ed25519 or SM2 public key belonging to the given station.
func NewPublicKey(stationID string, der []byte) (PublicKey, error) {
	if stationID == "" || len(stationID) > maxIDLen {
		return PublicKey{}, invalid("公钥所属服务站编号不能为空且不超过%d个字节", maxIDLen)
	}
	k, err := smx509.ParsePKIXPublicKey(der)
	if err != nil {
		return PublicKey{}, invalid("公钥格式错误：%v", err)
	}
	pk := PublicKey{StationID: stationID, DER: append([]byte(nil), der...), key: k}
	switch k := k.(type) {
	case ed25519.PublicKey:
		pk.Algorithm = Ed25519
	case *ecdsa.PublicKey:
		if !sm2.IsSM2PublicKey(k) {
			return PublicKey{}, invalid("公钥不是SM2曲线上的密钥")
		}
		pk.Algorithm = SM2
	default:
		return PublicKey{}, invalid("不支持的公钥类型%T，应为Ed25519或SM2", k)
	}
	sum := sha256.Sum256(der)
	pk.KeyID = hex.EncodeToString(sum[:keyIDSize])
	return pk, nil
}

// ParsePublicKeyPEM parses a "PUBLIC KEY" PEM block (as PublicKey.PEM writes) belonging to stationID.
func ParsePublicKeyPEM(stationID string, data []byte) (PublicKey, error) {
	b, _ := pem.Decode(data)
	if b == nil || b.Type != "PUBLIC KEY" {
		return PublicKey{}, invalid("公钥文件应为PEM格式的PUBLIC KEY")
	}
	return NewPublicKey(stationID, b.Bytes)
}

// PEM returns the key as a "PUBLIC KEY" PEM block (readable by openssl and GmSSL/Tongsuo for SM2).
func (k PublicKey) PEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: k.DER})
}

type publicKeyJSON struct {
	StationID string    `json:"station_id"`
	Algorithm Algorithm `json:"algorithm"`
	KeyID     string    `json:"key_id"`
	PublicKey []byte    `json:"public_key"` // base64 of the PKIX encoding
}

// MarshalJSON encodes the key as {"station_id","algorithm","key_id","public_key"} with the PKIX encoding in
// base64: the form in which the data center distributes station keys.
func (k PublicKey) MarshalJSON() ([]byte, error) {
	return json.Marshal(publicKeyJSON{k.StationID, k.Algorithm, k.KeyID, k.DER})
}

// UnmarshalJSON decodes the form MarshalJSON writes. The algorithm and key id, when present, must match
// the key.
func (k *PublicKey) UnmarshalJSON(data []byte) error {
	var j publicKeyJSON
	if err := json.Unmarshal(data, &j); err != nil {
		return err
	}
	pk, err := NewPublicKey(j.StationID, j.PublicKey)
	if err != nil {
		return err
	}
	if (j.Algorithm != "" && j.Algorithm != pk.Algorithm) || (j.KeyID != "" && j.KeyID != pk.KeyID) {
		return invalid("公钥的算法或密钥编号与公钥内容不符")
	}
	*k = pk
	return nil
}

// KeyRing answers Verify's questions about public keys. KeySet implements it in memory; a store may
// implement it over the station keys it received from the data center.
type KeyRing interface {
	// Key returns the public key with the given id (hex).
	Key(keyID string) (PublicKey, bool)
	// HasStation reports whether the ring holds any key of the station.
	HasStation(stationID string) bool
}

// KeySet is an in-memory KeyRing. The zero KeySet is empty and usable; Add must not race with lookups.
type KeySet struct {
	keys     map[string]PublicKey
	stations map[string]int
}

var _ KeyRing = (*KeySet)(nil)

// NewKeySet returns a key set holding keys.
func NewKeySet(keys ...PublicKey) (*KeySet, error) {
	s := &KeySet{}
	for _, k := range keys {
		if err := s.Add(k); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Add adds a key. It returns EINVALID for a zero key and ECONFLICT for a key id already bound to another
// station (adding the same key twice is a no-op).
func (s *KeySet) Add(k PublicKey) error {
	if k.key == nil {
		return invalid("公钥为空")
	}
	if old, ok := s.keys[k.KeyID]; ok {
		if old.StationID != k.StationID {
			return conflict("密钥%s已登记为服务站%s的公钥", k.KeyID, old.StationID)
		}
		return nil
	}
	if s.keys == nil {
		s.keys, s.stations = map[string]PublicKey{}, map[string]int{}
	}
	s.keys[k.KeyID] = k
	s.stations[k.StationID]++
	return nil
}

// Key implements KeyRing. A nil KeySet holds no key.
func (s *KeySet) Key(keyID string) (PublicKey, bool) {
	if s == nil {
		return PublicKey{}, false
	}
	k, ok := s.keys[keyID]
	return k, ok
}

// HasStation implements KeyRing. A nil KeySet knows no station.
func (s *KeySet) HasStation(stationID string) bool { return s != nil && s.stations[stationID] > 0 }

// Signer signs QR payloads with a station's private key.
type Signer struct {
	stationID string
	pub       PublicKey
	keyID     [keyIDSize]byte
	ed        ed25519.PrivateKey
	sm        *sm2.PrivateKey
}

// GenerateSigner returns a signer with a new in-memory key (for tests, and for LoadOrCreateSigner).
func GenerateSigner(alg Algorithm, stationID string) (*Signer, error) {
	var priv crypto.PrivateKey
	switch alg {
	case Ed25519:
		_, k, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("generate ed25519 key: %w", err)
		}
		priv = k
	case SM2:
		k, err := sm2.GenerateKey(rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("generate sm2 key: %w", err)
		}
		priv = k
	default:
		_, err := ParseAlgorithm(string(alg))
		return nil, err
	}
	return newSigner(priv, stationID)
}

func newSigner(priv crypto.PrivateKey, stationID string) (*Signer, error) {
	s := &Signer{stationID: stationID}
	var pub crypto.PublicKey
	switch k := priv.(type) {
	case ed25519.PrivateKey:
		s.ed, pub = k, k.Public()
	case *sm2.PrivateKey:
		s.sm, pub = k, &k.PublicKey
	default:
		return nil, fmt.Errorf("unsupported private key type %T (want ed25519 or sm2)", priv)
	}
	der, err := smx509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("encode public key: %w", err)
	}
	if s.pub, err = NewPublicKey(stationID, der); err != nil {
		return nil, err
	}
	hex.Decode(s.keyID[:], []byte(s.pub.KeyID))
	return s, nil
}

// LoadOrCreateSigner loads the station's private key from path (PEM, PKCS #8), or creates a key of the
// given algorithm there (mode 0600, written atomically; the folder is created 0700) if the file does not
// exist. It refuses a key file that others may read or write, and a file holding a key of another
// algorithm than alg: switching algorithms means a new file, so existing signatures stay verifiable.
func LoadOrCreateSigner(path string, alg Algorithm, stationID string) (*Signer, error) {
	if alg != Ed25519 && alg != SM2 {
		return nil, invalid("签名算法“%s”无效，应为ed25519或sm2", alg)
	}
	if stationID == "" {
		return nil, invalid("服务站编号不能为空")
	}
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return createSigner(path, alg, stationID)
	case err != nil:
		return nil, fmt.Errorf("certificate signing key %s: %w", path, err)
	case fi.Mode().Perm()&0o077 != 0:
		return nil, fmt.Errorf("certificate signing key %s: mode %04o lets others read it; run chmod 600 %s", path, fi.Mode().Perm(), path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read certificate signing key: %w", err)
	}
	b, _ := pem.Decode(data)
	if b == nil || b.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("certificate signing key %s: not a PEM PRIVATE KEY", path)
	}
	priv, err := smx509.ParsePKCS8PrivateKey(b.Bytes)
	if err != nil {
		return nil, fmt.Errorf("certificate signing key %s: %w", path, err)
	}
	s, err := newSigner(priv, stationID)
	if err != nil {
		return nil, fmt.Errorf("certificate signing key %s: %w", path, err)
	}
	if s.Algorithm() != alg {
		return nil, fmt.Errorf("certificate signing key %s holds a %s key but %s is configured; move it away to create a new key", path, s.Algorithm(), alg)
	}
	return s, nil
}

func createSigner(path string, alg Algorithm, stationID string) (*Signer, error) {
	s, err := GenerateSigner(alg, stationID)
	if err != nil {
		return nil, err
	}
	var priv any = s.ed
	if s.sm != nil {
		priv = s.sm
	}
	der, err := smx509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("encode certificate signing key: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create folder for certificate signing key: %w", err)
	}
	if err := atomicfile.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		return nil, fmt.Errorf("write certificate signing key %s: %w", path, err)
	}
	return s, nil
}

// PublicKey returns the signer's public key, bound to its station: what the station publishes to the
// data center and what KeySet holds.
func (s *Signer) PublicKey() PublicKey { return s.pub }

// Algorithm returns the signer's algorithm.
func (s *Signer) Algorithm() Algorithm { return s.pub.Algorithm }

// StationID returns the station the signer signs for.
func (s *Signer) StationID() string { return s.stationID }
