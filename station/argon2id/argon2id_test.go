package argon2id_test

import (
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/civic-station/station/station/argon2id"
)

func TestHashFormat(t *testing.T) {
	t.Run("the default parameters appear in the PHC string", func(t *testing.T) {
		h, err := argon2id.Hash("correct horse battery")
		if err != nil {
			t.Fatal(err)
		}
		re := regexp.MustCompile(`^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`)
		if !re.MatchString(h) {
			t.Fatalf("hash %q does not match %s", h, re)
		}
	})
	t.Run("two hashes of the same password differ by their salt", func(t *testing.T) {
		h := argon2id.Hasher{Params: argon2id.TestParams}
		a, _ := h.Hash("same password")
		b, _ := h.Hash("same password")
		if a == b {
			t.Fatal("hashes are equal; salt not random")
		}
	})
}

func TestVerify(t *testing.T) {
	h := argon2id.Hasher{Params: argon2id.TestParams}
	good, err := h.Hash("station-demo")
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(good, "$")
	flip := func(s string) string {
		b := []byte(s)
		if b[0] == 'A' {
			b[0] = 'B'
		} else {
			b[0] = 'A'
		}
		return string(b)
	}
	tamperedKey := strings.Join(append(append([]string{}, parts[:5]...), flip(parts[5])), "$")
	tamperedSalt := strings.Join([]string{"", parts[1], parts[2], parts[3], flip(parts[4]), parts[5]}, "$")
	tamperedCost := strings.Replace(good, "t=1", "t=2", 1)

	tests := []struct {
		name      string
		password  string
		encoded   string
		want      bool
		malformed bool
	}{
		{"the right password verifies", "station-demo", good, true, false},
		{"a wrong password does not verify", "station-dem0", good, false, false},
		{"an empty password does not verify", "", good, false, false},
		{"a tampered key does not verify", "station-demo", tamperedKey, false, false},
		{"a tampered salt does not verify", "station-demo", tamperedSalt, false, false},
		{"a tampered cost parameter does not verify", "station-demo", tamperedCost, false, false},
		{"an empty string is malformed", "x", "", false, true},
		{"a bcrypt hash is malformed", "x", "$2a$10$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234", false, true},
		{"argon2i is malformed", "x", strings.Replace(good, "argon2id", "argon2i", 1), false, true},
		{"another version is malformed", "x", strings.Replace(good, "v=19", "v=16", 1), false, true},
		{"a missing parameter is malformed", "x", strings.Replace(good, ",p=1", "", 1), false, true},
		{"a zero time cost is malformed", "x", strings.Replace(good, "t=1", "t=0", 1), false, true},
		{"a huge memory cost is malformed", "x", strings.Replace(good, "m=1024", "m=99999999", 1), false, true},
		{"a non-base64 salt is malformed", "x", strings.Join([]string{"", parts[1], parts[2], parts[3], "!!!!", parts[5]}, "$"), false, true},
		{"a short key is malformed", "x", strings.Join([]string{"", parts[1], parts[2], parts[3], parts[4], "AAAA"}, "$"), false, true},
		{"a missing field is malformed", "x", strings.Join(parts[:5], "$"), false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, err := h.Verify(tt.password, tt.encoded)
			if tt.malformed {
				if !errors.Is(err, argon2id.ErrMalformed) {
					t.Fatalf("err = %v, want ErrMalformed", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error %v", err)
			}
			if ok != tt.want {
				t.Fatalf("Verify = %v, want %v", ok, tt.want)
			}
		})
	}
}
