// Package datakey holds the station's data key and uses it to protect identity document numbers at
// rest: AES-256-GCM for the number itself and HMAC-SHA256 for a lookup hash, each with its own subkey
// derived from the key file by HKDF-SHA256. Once the station knows the data center's reveal key
// (SetHubKey), HubCopy adds to an applicant's sealed number a copy only the hub can open
// (station/revealkey).
//
// The key file is created on first start with mode 0600 and refused if anyone but the owner can read it.
// Losing it makes the stored numbers unreadable; back it up with the database, but separately.
package datakey

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"sync/atomic"

	"golang.org/x/crypto/argon2"

	"github.com/civic-station/station/internal/atomicfile"
	"github.com/civic-station/station/internal/keyfile"
	"github.com/civic-station/station/station"
	"github.com/civic-station/station/station/revealkey"
)

const header = "station-datakey-v1\n"

// Key is a loaded data key. It is safe for concurrent use.
type Key struct {
	aead        cipher.AEAD
	indexKey    []byte
	backupRoot  []byte // the root of backup archive keys (BackupKey)
	master      []byte // kept for Wrap
	fingerprint string
	hub         atomic.Pointer[revealkey.PublicKey] // the data center's reveal key; nil when unknown
}

var _ station.Sealer = (*Key)(nil)

// ErrBadCipher is returned by Open when a ciphertext is malformed, altered or made with another key.
var ErrBadCipher = errors.New("datakey: ciphertext is malformed or does not match this key")

// Load reads the key file at path, creating it (mode 0600, fsynced) if it does not exist. It refuses a
// file that group or others can access, or one that is not a key file.
func Load(path string) (*Key, error) {
	b, err := keyfile.Read(path, "data key", create)
	if err != nil {
		return nil, err
	}
	s := string(b)
	if !strings.HasPrefix(s, header) {
		return nil, fmt.Errorf("data key %s: not a station data key file", path)
	}
	master, err := base64.StdEncoding.DecodeString(strings.TrimSpace(strings.TrimPrefix(s, header)))
	if err != nil || len(master) != 32 {
		return nil, fmt.Errorf("data key %s: malformed key", path)
	}
	return New(master)
}

// New returns a key from 32 bytes of master key material.
func New(master []byte) (*Key, error) {
	if len(master) != 32 {
		return nil, fmt.Errorf("data key: master key must be 32 bytes, got %d", len(master))
	}
	encKey, err := hkdf.Key(sha256.New, master, nil, "station id-number encryption v1", 32)
	if err != nil {
		return nil, err
	}
	indexKey, err := hkdf.Key(sha256.New, master, nil, "station id-number index v1", 32)
	if err != nil {
		return nil, err
	}
	backupRoot, err := hkdf.Key(sha256.New, master, nil, "station backup archive v1", 32)
	if err != nil {
		return nil, err
	}
	fp, err := hkdf.Key(sha256.New, master, nil, "station data key fingerprint v1", 8)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(encKey)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Key{aead: aead, indexKey: indexKey, backupRoot: backupRoot, master: bytes.Clone(master), fingerprint: hex.EncodeToString(fp)}, nil
}

// Fingerprint names the key without revealing it (16 hex digits), so that a backup can say which key
// it needs and a technician can tell two key files apart.
func (k *Key) Fingerprint() string { return k.fingerprint }

// BackupKey is the 32-byte key of one backup archive, derived from the data key and the archive's
// random salt, so that every archive has a key of its own.
func (k *Key) BackupKey(salt []byte) ([]byte, error) {
	return hkdf.Key(sha256.New, k.backupRoot, salt, "station backup archive key", 32)
}

func create(path string) error {
	master := make([]byte, 32)
	if _, err := rand.Read(master); err != nil {
		return err
	}
	// Create fails with fs.ErrExist if another process created the key meanwhile; theirs wins and we read it.
	if err := atomicfile.Create(path, []byte(header+base64.StdEncoding.EncodeToString(master)+"\n"), 0o600); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("create data key %s: %w", path, err)
	}
	return nil
}

// wrapHeader starts a data key sealed under a passphrase.
const wrapHeader = "station-datakey-wrapped-v1\x00"

// wrapParams are the argon2id costs of a wrapped key: an archive may be attacked offline for as long
// as it exists, so they are well above the login hash's (64 MiB, 3 passes).
var wrapParams = struct{ memory, time uint32 }{64 * 1024, 3}

// ErrPassphrase is returned by Unwrap for a wrong passphrase or a damaged wrapped key.
var ErrPassphrase = errors.New("datakey: wrong passphrase, or the wrapped key is damaged")

// Wrap seals the key under a passphrase (argon2id, then AES-256-GCM) for a backup archive to carry.
func (k *Key) Wrap(passphrase []byte) ([]byte, error) {
	if len(passphrase) < 12 {
		return nil, errors.New("datakey: the passphrase must be at least 12 characters")
	}
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return nil, err
	}
	aead, err := passphraseCipher(passphrase, salt, wrapParams.memory, wrapParams.time)
	if err != nil {
		return nil, err
	}
	out := []byte(wrapHeader)
	out = append(out, salt...)
	out = binary.BigEndian.AppendUint32(out, wrapParams.memory)
	out = binary.BigEndian.AppendUint32(out, wrapParams.time)
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	out = append(out, nonce...)
	return aead.Seal(out, nonce, k.master, []byte(wrapHeader)), nil
}

// Unwrap opens a key Wrap sealed and returns it with the contents of its key file.
func Unwrap(wrapped, passphrase []byte) (*Key, []byte, error) {
	n := len(wrapHeader) + 16 + 8 + 12
	if len(wrapped) < n+32 || string(wrapped[:len(wrapHeader)]) != wrapHeader {
		return nil, nil, ErrPassphrase
	}
	salt := wrapped[len(wrapHeader) : len(wrapHeader)+16]
	mem := binary.BigEndian.Uint32(wrapped[len(wrapHeader)+16:])
	t := binary.BigEndian.Uint32(wrapped[len(wrapHeader)+20:])
	if mem > 1<<20 || t > 16 { // refuse costs a damaged header could make enormous
		return nil, nil, ErrPassphrase
	}
	aead, err := passphraseCipher(passphrase, salt, mem, t)
	if err != nil {
		return nil, nil, err
	}
	master, err := aead.Open(nil, wrapped[n-12:n], wrapped[n:], []byte(wrapHeader))
	if err != nil {
		return nil, nil, ErrPassphrase
	}
	k, err := New(master)
	if err != nil {
		return nil, nil, err
	}
	return k, []byte(header + base64.StdEncoding.EncodeToString(master) + "\n"), nil
}

func passphraseCipher(passphrase, salt []byte, memory, time uint32) (cipher.AEAD, error) {
	kek := argon2.IDKey(passphrase, salt, time, memory, 1, 32)
	block, err := aes.NewCipher(kek)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// SetHubKey makes HubCopy seal to the data center's reveal key; nil stops it. The syncer calls it when
// the station enrolls or the hub announces its key; it is safe to call while other goroutines seal.
func (k *Key) SetHubKey(p *revealkey.PublicKey) { k.hub.Store(p) }

// HubKey returns the reveal key HubCopy seals to, or nil when the station knows none.
func (k *Key) HubKey() *revealkey.PublicKey { return k.hub.Load() }

// Seal encrypts a document number. The document type is bound to the ciphertext as associated data.
func (k *Key) Seal(t station.IDType, number string) (station.SealedID, error) {
	nonce := make([]byte, k.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return station.SealedID{}, err
	}
	ct := k.aead.Seal(nonce, nonce, []byte(number), []byte(t))
	return station.SealedID{
		Type:   t,
		Cipher: base64.StdEncoding.EncodeToString(ct),
		Index:  k.Index(t, number),
		Masked: station.MaskIDNumber(number),
	}, nil
}

// HubCopy adds the data center's copy of the number to s (station.Sealer.HubCopy), bound to s's type
// and lookup index. It returns ErrBadCipher if s does not open with this key or its index is not the
// number's.
func (k *Key) HubCopy(s station.SealedID) (station.SealedID, error) {
	hub := k.hub.Load()
	if hub == nil || s.Hub != "" {
		return s, nil
	}
	number, err := k.Open(s)
	if err != nil {
		return station.SealedID{}, err
	}
	if !hmac.Equal([]byte(k.Index(s.Type, number)), []byte(s.Index)) {
		return station.SealedID{}, ErrBadCipher
	}
	if s.Hub, err = hub.Seal(s.Type, s.Index, number); err != nil {
		return station.SealedID{}, err
	}
	return s, nil
}

// Open decrypts a sealed number. It returns ErrBadCipher if the ciphertext was altered, moved to
// another document type, or sealed with another key.
func (k *Key) Open(s station.SealedID) (string, error) {
	b, err := base64.StdEncoding.DecodeString(s.Cipher)
	if err != nil || len(b) < k.aead.NonceSize()+k.aead.Overhead() {
		return "", ErrBadCipher
	}
	n := k.aead.NonceSize()
	pt, err := k.aead.Open(nil, b[:n], b[n:], []byte(s.Type))
	if err != nil {
		return "", ErrBadCipher
	}
	return string(pt), nil
}

// Index returns the keyed lookup hash of a document number.
func (k *Key) Index(t station.IDType, number string) string {
	m := hmac.New(sha256.New, k.indexKey)
	m.Write([]byte(t))
	m.Write([]byte{0})
	m.Write([]byte(number))
	return hex.EncodeToString(m.Sum(nil))
}
