package revealkey_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/civic-station/station/station"
	"github.com/civic-station/station/station/revealkey"
)

const number = "11010519491231002X"

// sealed is what a station sends for number: the hub copy with the index and masked form it is
// bound to (the index is any 64 hex digits here; the station's is an HMAC under its data key).
func sealed(t *testing.T, pub *revealkey.PublicKey, typ station.IDType, index, number string) station.SealedID {
	t.Helper()
	hub, err := pub.Seal(typ, index, number)
	if err != nil {
		t.Fatal(err)
	}
	return station.SealedID{Type: typ, Cipher: "c2VhbGVk", Index: index, Masked: station.MaskIDNumber(number), Hub: hub}
}

var indexA, indexB = strings.Repeat("a", 64), strings.Repeat("b", 64)

func TestLoadCreatesAnOwnerOnlyKeyAndReloadsTheSameKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), revealkey.FileName)
	k1, err := revealkey.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode = %v, want 0600", fi.Mode().Perm())
	}
	k2, err := revealkey.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if !k1.Public().Equal(k2.Public()) || k1.Public().Fingerprint() != k2.Public().Fingerprint() {
		t.Fatal("the reloaded key is another key")
	}
	s := sealed(t, k1.Public(), station.IDResident, indexA, number)
	if got, err := k2.Open(s); err != nil || got != number {
		t.Fatalf("the reloaded key opens %q, %v; want the number", got, err)
	}
	b, _ := os.ReadFile(path)
	if strings.Contains(string(b), k1.Public().String()) {
		t.Error("the key file holds the public key, not the private one")
	}
}

func TestLoadRefusesAGroupReadableKeyAndGarbage(t *testing.T) {
	path := filepath.Join(t.TempDir(), revealkey.FileName)
	if _, err := revealkey.Load(path); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o640); err != nil {
		t.Fatal(err)
	}
	if _, err := revealkey.Load(path); err == nil {
		t.Error("Load accepted a group-readable key file")
	}
	garbage := filepath.Join(t.TempDir(), revealkey.FileName)
	os.WriteFile(garbage, []byte("station-datakey-v1\nAAAA\n"), 0o600)
	if _, err := revealkey.Load(garbage); err == nil {
		t.Error("Load accepted a file that is not a reveal key")
	}
}

func TestThePublicKeyRoundTripsThroughItsString(t *testing.T) {
	k, _ := revealkey.Generate()
	p, err := revealkey.ParsePublicKey(k.Public().String())
	if err != nil || !p.Equal(k.Public()) {
		t.Fatalf("ParsePublicKey(String()) = %v, %v", p, err)
	}
	for _, bad := range []string{"", "not base64!", "AAAA"} {
		if _, err := revealkey.ParsePublicKey(bad); err == nil {
			t.Errorf("ParsePublicKey(%q) accepted", bad)
		}
	}
}

func TestTheHubCopyOpensOnlyForItsOwnRecord(t *testing.T) {
	k, _ := revealkey.Generate()
	other, _ := revealkey.Generate()
	s := sealed(t, k.Public(), station.IDResident, indexA, number)
	if got, err := k.Open(s); err != nil || got != number {
		t.Fatalf("Open = %q, %v; want the number", got, err)
	}
	if s2 := sealed(t, k.Public(), station.IDResident, indexA, number); s2.Hub == s.Hub {
		t.Error("two seals of the same number are the same ciphertext: sealing is not randomized")
	}
	moved := func(f func(*station.SealedID)) station.SealedID {
		c := s
		f(&c)
		return c
	}
	flipped := []byte(s.Hub)
	flipped[40] = map[bool]byte{true: 'B', false: 'A'}[flipped[40] == 'A']
	other2 := sealed(t, k.Public(), station.IDResident, indexB, "110101199003074518")
	cases := []struct {
		name string
		key  *revealkey.PrivateKey
		s    station.SealedID
	}{
		{"another hub's key", other, s},
		{"the copy moved to a record with another lookup index", k, moved(func(c *station.SealedID) { c.Index = indexB })},
		{"the copy moved to another document type", k, moved(func(c *station.SealedID) { c.Type = station.IDHKMOPermit })},
		{"the copy of another person's number put on this record", k, moved(func(c *station.SealedID) { c.Hub = other2.Hub })},
		{"a masked form that does not match the number", k, moved(func(c *station.SealedID) { c.Masked = "1101**********0000" })},
		{"a flipped ciphertext byte", k, moved(func(c *station.SealedID) { c.Hub = string(flipped) })},
		{"a truncated copy", k, moved(func(c *station.SealedID) { c.Hub = s.Hub[:20] })},
		{"a copy that is not base64", k, moved(func(c *station.SealedID) { c.Hub = "%%%" })},
	}
	for _, c := range cases {
		t.Run("it refuses "+c.name, func(t *testing.T) {
			if got, err := c.key.Open(c.s); !errors.Is(err, revealkey.ErrBadCipher) {
				t.Fatalf("Open = %q, %v; want ErrBadCipher", got, err)
			}
		})
	}
	if _, err := k.Open(moved(func(c *station.SealedID) { c.Hub = "" })); !errors.Is(err, revealkey.ErrNoHubCopy) {
		t.Errorf("a record without a hub copy: %v, want ErrNoHubCopy", err)
	}
}
