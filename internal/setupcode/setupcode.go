// Package setupcode keeps the one-time setup code of a station that has not been set up yet: eight
// random digits, shown once when made (by `station run`, `station service install` or `station setup
// code`), stored only as an argon2id hash in DATA/setup-code.json (owner-only), valid for TTL or until
// the first-run setup completes (Remove).
//
// A technician types the code into the setup wizard from another computer on the LAN; the box's own
// screen needs none.
package setupcode

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/civic-station/station/internal/atomicfile"
)

// FileName is the code's file in the data directory.
const FileName = "setup-code.json"

// TTL is how long a code is valid.
const TTL = 24 * time.Hour

// Hasher hashes codes and verifies them against a stored hash (argon2id.Hasher).
type Hasher interface {
	Hash(secret string) (string, error)
	Verify(secret, encoded string) (bool, error)
}

// ErrNoCode is returned by Check when there is no code file, or its code has expired.
var ErrNoCode = errors.New("setupcode: no valid setup code")

// stored is the file's content.
type stored struct {
	Hash      string    `json:"hash"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
}

// Path returns the code file of data directory dir.
func Path(dir string) string { return filepath.Join(dir, FileName) }

// Format writes an eight-digit code as two groups of four, the way it is shown: 1234-5678.
func Format(code string) string {
	if len(code) != 8 {
		return code
	}
	return code[:4] + "-" + code[4:]
}

// Normalize keeps only the digits of what someone typed ("1234 5678", "1234-5678", full-width digits).
func Normalize(typed string) string {
	var b strings.Builder
	for _, r := range typed {
		switch {
		case '0' <= r && r <= '9':
			b.WriteRune(r)
		case '０' <= r && r <= '９':
			b.WriteRune('0' + r - '０')
		}
	}
	return b.String()
}

// Rotate makes a new code valid from now for TTL, replacing any previous one, and returns it (eight
// digits, unformatted). The file is written atomically with mode 0600.
func Rotate(dir string, h Hasher, now time.Time) (string, error) {
	n, err := rand.Int(rand.Reader, big.NewInt(100_000_000))
	if err != nil {
		return "", fmt.Errorf("setup code: %w", err)
	}
	code := fmt.Sprintf("%08d", n.Int64())
	hash, err := h.Hash(code)
	if err != nil {
		return "", fmt.Errorf("setup code: hash: %w", err)
	}
	b, err := json.Marshal(stored{Hash: hash, CreatedAt: now.UTC(), ExpiresAt: now.Add(TTL).UTC()})
	if err != nil {
		return "", err
	}
	if err := atomicfile.WriteFile(Path(dir), b, 0o600); err != nil {
		return "", fmt.Errorf("setup code: %w", err)
	}
	return code, nil
}

// Valid reports whether dir holds a code that has not expired at now, and until when it is valid.
func Valid(dir string, now time.Time) (bool, time.Time, error) {
	s, err := load(dir)
	if errors.Is(err, os.ErrNotExist) {
		return false, time.Time{}, nil
	} else if err != nil {
		return false, time.Time{}, err
	}
	return now.Before(s.ExpiresAt), s.ExpiresAt, nil
}

// Check reports whether typed (Normalize is applied) is the valid code of dir at now; ErrNoCode when
// there is no code or it has expired.
func Check(dir string, h Hasher, typed string, now time.Time) (bool, error) {
	s, err := load(dir)
	if errors.Is(err, os.ErrNotExist) {
		return false, ErrNoCode
	} else if err != nil {
		return false, err
	}
	if !now.Before(s.ExpiresAt) {
		return false, ErrNoCode
	}
	code := Normalize(typed)
	if len(code) != 8 {
		return false, nil
	}
	return h.Verify(code, s.Hash)
}

// Remove invalidates the code of dir (the setup completed). No file is no error.
func Remove(dir string) error {
	if err := os.Remove(Path(dir)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("setup code: %w", err)
	}
	return nil
}

func load(dir string) (stored, error) {
	var s stored
	b, err := os.ReadFile(Path(dir))
	if err != nil {
		return s, err
	}
	if err := json.Unmarshal(b, &s); err != nil || s.Hash == "" {
		return s, fmt.Errorf("setup code: %s is damaged; make a new code with `station setup code`", Path(dir))
	}
	return s, nil
}
