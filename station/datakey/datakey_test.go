package datakey_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/civic-station/station/station"
	"github.com/civic-station/station/station/datakey"
	"github.com/civic-station/station/station/revealkey"
)

const number = "11010519491231002X"

func TestLoadCreatesOwnerOnlyKeyAndReloadsTheSameKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "datakey")
	k1, err := datakey.Load(path)
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
	s, err := k1.Seal(station.IDResident, number)
	if err != nil {
		t.Fatal(err)
	}
	k2, err := datakey.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	got, err := k2.Open(s)
	if err != nil || got != number {
		t.Fatalf("reloaded key opens %q, %v; want %q", got, err, number)
	}
	if k2.Index(station.IDResident, number) != s.Index {
		t.Fatal("reloaded key computes a different index")
	}
}

func TestSealedFormHidesTheNumber(t *testing.T) {
	k, err := datakey.Load(filepath.Join(t.TempDir(), "k"))
	if err != nil {
		t.Fatal(err)
	}
	a, _ := k.Seal(station.IDResident, number)
	b, _ := k.Seal(station.IDResident, number)
	if a.Cipher == b.Cipher {
		t.Error("two seals of the same number have the same ciphertext: nonce not random")
	}
	if a.Index != b.Index {
		t.Error("the lookup index differs between seals of the same number")
	}
	for _, field := range []string{a.Cipher, a.Index, a.Masked} {
		if strings.Contains(field, number) || strings.Contains(field, number[4:14]) {
			t.Errorf("sealed field %q reveals the number", field)
		}
	}
	if a.Masked != "1101**********002X" {
		t.Errorf("masked = %q", a.Masked)
	}
	if k.Index(station.IDHKMOPermit, number) == a.Index {
		t.Error("index does not depend on the document type")
	}
}

func TestOpenRejectsTamperingAndForeignKeys(t *testing.T) {
	dir := t.TempDir()
	k, _ := datakey.Load(filepath.Join(dir, "a"))
	other, _ := datakey.Load(filepath.Join(dir, "b"))
	s, _ := k.Seal(station.IDResident, number)

	flipped := []byte(s.Cipher)
	flipped[20] ^= 1
	if flipped[20] == '=' || flipped[20] == '+' {
		flipped[20] = 'A'
	}
	cases := []struct {
		name string
		key  *datakey.Key
		s    station.SealedID
	}{
		{"a flipped ciphertext byte", k, station.SealedID{Type: s.Type, Cipher: string(flipped)}},
		{"another station's key", other, s},
		{"the ciphertext moved to another document type", k, station.SealedID{Type: station.IDTWPermit, Cipher: s.Cipher}},
		{"a truncated ciphertext", k, station.SealedID{Type: s.Type, Cipher: s.Cipher[:10]}},
		{"not base64 at all", k, station.SealedID{Type: s.Type, Cipher: "%%%"}},
	}
	for _, c := range cases {
		t.Run("it refuses "+c.name, func(t *testing.T) {
			if _, err := c.key.Open(c.s); !errors.Is(err, datakey.ErrBadCipher) {
				t.Fatalf("Open = %v, want ErrBadCipher", err)
			}
		})
	}
}

func TestLoadRefusesAGroupReadableKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k")
	if _, err := datakey.Load(path); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := datakey.Load(path); err == nil {
		t.Fatal("Load accepted a world-readable key file")
	}
}

func TestLoadRefusesAFileThatIsNotAKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k")
	os.WriteFile(path, []byte("hello"), 0o600)
	if _, err := datakey.Load(path); err == nil {
		t.Fatal("Load accepted garbage")
	}
}

func TestWrapUnwrapWithAPassphrase(t *testing.T) {
	k, err := datakey.Load(filepath.Join(t.TempDir(), "datakey"))
	if err != nil {
		t.Fatal(err)
	}
	wrapped, err := k.Wrap([]byte("correct horse battery"))
	if err != nil {
		t.Fatal(err)
	}
	got, file, err := datakey.Unwrap(wrapped, []byte("correct horse battery"))
	if err != nil || got.Fingerprint() != k.Fingerprint() {
		t.Fatalf("Unwrap = %v, %v", got, err)
	}
	sealed, _ := k.Seal(station.IDResident, "110101199003074518")
	if n, err := got.Open(sealed); err != nil || n != "110101199003074518" {
		t.Errorf("the unwrapped key does not open what the key sealed: %q %v", n, err)
	}
	p := filepath.Join(t.TempDir(), "restored")
	if err := os.WriteFile(p, file, 0o600); err != nil {
		t.Fatal(err)
	}
	if again, err := datakey.Load(p); err != nil || again.Fingerprint() != k.Fingerprint() {
		t.Errorf("the key file Unwrap returns does not load as the same key: %v", err)
	}
	if _, _, err := datakey.Unwrap(wrapped, []byte("correct horse battery!")); !errors.Is(err, datakey.ErrPassphrase) {
		t.Errorf("a wrong passphrase: %v", err)
	}
	bad := bytes.Clone(wrapped)
	bad[len(bad)-1] ^= 1
	if _, _, err := datakey.Unwrap(bad, []byte("correct horse battery")); !errors.Is(err, datakey.ErrPassphrase) {
		t.Errorf("a damaged wrapped key: %v", err)
	}
	if _, err := k.Wrap([]byte("short")); err == nil {
		t.Error("a short passphrase was accepted")
	}
	other, _ := datakey.Load(filepath.Join(t.TempDir(), "datakey"))
	if other.Fingerprint() == k.Fingerprint() {
		t.Error("two keys share a fingerprint")
	}
}

func TestHubCopyOpensOnlyWithTheHubKeyAndOnlyOnceTheKeyIsKnown(t *testing.T) {
	k, err := datakey.Load(filepath.Join(t.TempDir(), "datakey"))
	if err != nil {
		t.Fatal(err)
	}
	hub, err := revealkey.Generate()
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := k.Seal(station.IDResident, number)
	if s, err := k.HubCopy(plain); err != nil || s != plain {
		t.Fatalf("HubCopy without a hub key = %+v, %v; want the sealed number unchanged", s, err)
	}
	if _, err := hub.Open(plain); !errors.Is(err, revealkey.ErrNoHubCopy) {
		t.Fatalf("the hub opens a record without a hub copy: %v, want ErrNoHubCopy", err)
	}

	k.SetHubKey(hub.Public())
	if !k.HubKey().Equal(hub.Public()) {
		t.Fatal("HubKey does not return the key set")
	}
	if s, _ := k.Seal(station.IDResident, number); s.Hub != "" {
		t.Fatal("Seal adds a hub copy: only an applicant's number (HubCopy) may carry one")
	}
	s, err := station.SealApplicant(k, station.IDResident, number)
	if err != nil {
		t.Fatal(err)
	}
	if s.Hub == "" || strings.Contains(s.Hub, number) || s.Index != plain.Index || s.Masked != plain.Masked {
		t.Fatalf("applicant seal = %+v, want the station's seal plus a hub copy that hides the number", s)
	}
	if got, err := hub.Open(s); err != nil || got != number {
		t.Fatalf("the hub opens %q, %v; want the number", got, err)
	}
	if got, err := k.Open(s); err != nil || got != number {
		t.Fatalf("the station opens %q, %v; want the number", got, err)
	}
	if again, err := k.HubCopy(s); err != nil || again.Hub != s.Hub {
		t.Errorf("HubCopy of a number that has a copy replaced it: %v", err)
	}
	other, _ := revealkey.Generate()
	if _, err := other.Open(s); !errors.Is(err, revealkey.ErrBadCipher) {
		t.Fatalf("another hub key opens the copy: %v, want ErrBadCipher", err)
	}

	foreign, _ := datakey.Load(filepath.Join(t.TempDir(), "other"))
	theirs, _ := foreign.Seal(station.IDResident, number)
	if _, err := k.HubCopy(theirs); !errors.Is(err, datakey.ErrBadCipher) {
		t.Errorf("HubCopy of another station's ciphertext: %v, want ErrBadCipher", err)
	}
	wrongIndex := plain
	wrongIndex.Index = k.Index(station.IDResident, "110101199003074518")
	if _, err := k.HubCopy(wrongIndex); !errors.Is(err, datakey.ErrBadCipher) {
		t.Errorf("HubCopy of a record whose index is another number's: %v, want ErrBadCipher", err)
	}

	k.SetHubKey(nil)
	if s, _ := station.SealApplicant(k, station.IDResident, number); s.Hub != "" {
		t.Fatal("SetHubKey(nil) did not stop the hub copy")
	}
}
