package sessiontoken_test

import (
	"encoding/base64"
	"testing"

	"github.com/civic-station/station/internal/sessiontoken"
)

func TestNewTokensAreRandomAnd32Bytes(t *testing.T) {
	a, err := sessiontoken.New()
	if err != nil {
		t.Fatal(err)
	}
	b, err := sessiontoken.New()
	if err != nil {
		t.Fatal(err)
	}
	if a == b {
		t.Fatalf("two tokens are the same: %s", a)
	}
	raw, err := base64.RawURLEncoding.DecodeString(a)
	if err != nil || len(raw) != 32 {
		t.Fatalf("token %q: %d bytes, %v", a, len(raw), err)
	}
}

func TestHashIsTheHexSHA256(t *testing.T) {
	const want = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824" // sha256("hello")
	if got := sessiontoken.Hash("hello"); got != want {
		t.Fatalf("Hash = %s, want %s", got, want)
	}
}
