// Package sessiontoken makes the bearer tokens of login sessions and the form a store keeps of them.
// The station's staff API and the data center's department console issue their sessions this way.
package sessiontoken

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
)

// New returns a fresh token: 32 random bytes, base64url-encoded without padding.
func New() (string, error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(raw), nil
}

// Hash returns the hex SHA-256 of a token, the form a store keeps: a copy of the store holds no token
// that can be used.
func Hash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}
