package setupcode

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/civic-station/station/station/argon2id"
)

func TestACodeIsValidUntilItExpiresOrIsRemoved(t *testing.T) {
	dir := t.TempDir()
	h := argon2id.Hasher{Params: argon2id.TestParams}
	now := time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)
	if ok, _, err := Valid(dir, now); ok || err != nil {
		t.Fatalf("no file: valid %v, %v", ok, err)
	}
	if _, err := Check(dir, h, "12345678", now); !errors.Is(err, ErrNoCode) {
		t.Fatalf("no file: %v, want ErrNoCode", err)
	}
	code, err := Rotate(dir, h, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(code) != 8 || Normalize(code) != code {
		t.Fatalf("code %q is not eight digits", code)
	}
	fi, err := os.Stat(Path(dir))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
	if b, _ := os.ReadFile(Path(dir)); len(b) == 0 || strings.Contains(string(b), code) {
		t.Errorf("the file holds the code in clear: %s", b)
	}
	for _, typed := range []string{code, Format(code), code[:4] + " " + code[4:], fullWidth(code)} {
		if ok, err := Check(dir, h, typed, now.Add(TTL-time.Second)); !ok || err != nil {
			t.Errorf("Check(%q) = %v, %v", typed, ok, err)
		}
	}
	wrong := "00000000"
	if code == wrong {
		wrong = "11111111"
	}
	for _, typed := range []string{wrong, code[:7], ""} {
		if ok, err := Check(dir, h, typed, now); ok || err != nil {
			t.Errorf("Check(%q) = %v, %v; want false, nil", typed, ok, err)
		}
	}
	if ok, until, _ := Valid(dir, now.Add(TTL)); ok || !until.Equal(now.Add(TTL)) {
		t.Errorf("at expiry: valid %v until %v", ok, until)
	}
	if _, err := Check(dir, h, code, now.Add(TTL)); !errors.Is(err, ErrNoCode) {
		t.Errorf("an expired code: %v, want ErrNoCode", err)
	}
	next, err := Rotate(dir, h, now.Add(TTL))
	if err != nil {
		t.Fatal(err)
	}
	if ok, _ := Check(dir, h, next, now.Add(TTL)); !ok {
		t.Error("the rotated code does not check")
	}
	if next != code {
		if ok, _ := Check(dir, h, code, now.Add(TTL)); ok {
			t.Error("the old code still checks after rotation")
		}
	}
	if err := Remove(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := Check(dir, h, next, now.Add(TTL)); !errors.Is(err, ErrNoCode) {
		t.Errorf("after Remove: %v", err)
	}
	if err := Remove(dir); err != nil {
		t.Errorf("removing twice: %v", err)
	}
}

func TestADamagedFileSaysHowToMakeANewCode(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(Path(dir), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Check(dir, argon2id.Hasher{Params: argon2id.TestParams}, "12345678", time.Now())
	if err == nil || errors.Is(err, ErrNoCode) || !strings.Contains(err.Error(), "station setup code") {
		t.Fatalf("damaged file: %v", err)
	}
}

func fullWidth(s string) string {
	var out []rune
	for _, r := range s {
		out = append(out, '０'+r-'0')
	}
	return string(out)
}
