// Package argon2id hashes staff passwords with Argon2id (RFC 9106) and encodes them in the PHC string
// format used by most password libraries:
//
//	$argon2id$v=19$m=19456,t=2,p=1$<salt>$<key>
//
// where salt and key are unpadded standard base64. The parameters travel inside the string, so a hash
// made with one set of parameters still verifies after the defaults change.
package argon2id

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Params are the Argon2id cost parameters and output sizes.
type Params struct {
	Memory  uint32 // KiB
	Time    uint32 // passes over memory
	Threads uint8
	SaltLen uint32 // bytes
	KeyLen  uint32 // bytes
}

// DefaultParams are the production parameters, OWASP's recommended minimum for argon2id: 19 MiB,
// 2 passes, 1 lane, 16-byte salt, 32-byte key. A station box is small and shared with a browser, so the
// memory cost stays modest; every login allocates it once.
var DefaultParams = Params{Memory: 19 * 1024, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}

// TestParams are cheap parameters for tests and demos; never use them for real accounts.
var TestParams = Params{Memory: 1024, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

// ErrMalformed is returned (wrapped) by Verify when the encoded hash is not a valid argon2id PHC string.
var ErrMalformed = errors.New("argon2id: malformed hash")

// Limits on decoded parameters, so a hostile or corrupted hash cannot make Verify allocate without
// bound.
const (
	maxMemory  = 1 << 22 // 4 GiB in KiB
	maxTime    = 64
	maxSaltLen = 64
	maxKeyLen  = 128
)

// Hasher hashes and verifies passwords with fixed parameters. The zero Hasher uses DefaultParams.
type Hasher struct {
	Params Params
}

func (h Hasher) params() Params {
	if h.Params == (Params{}) {
		return DefaultParams
	}
	return h.Params
}

// Hash returns the PHC-encoded Argon2id hash of password with a fresh random salt.
func (h Hasher) Hash(password string) (string, error) {
	p := h.params()
	salt := make([]byte, p.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("argon2id: read salt: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// Verify reports whether password matches the encoded hash, comparing keys in constant time. It
// returns an error wrapping ErrMalformed when encoded is not a valid argon2id PHC string; a wrong
// password is (false, nil). The parameters are read from encoded, not from h.
func (h Hasher) Verify(password, encoded string) (bool, error) {
	return Verify(password, encoded)
}

// Hash returns the PHC-encoded Argon2id hash of password with DefaultParams.
func Hash(password string) (string, error) { return Hasher{}.Hash(password) }

// Verify reports whether password matches the encoded hash. See Hasher.Verify.
func Verify(password, encoded string) (bool, error) {
	p, salt, key, err := decode(encoded)
	if err != nil {
		return false, err
	}
	got := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, uint32(len(key)))
	return subtle.ConstantTimeCompare(got, key) == 1, nil
}

func decode(encoded string) (Params, []byte, []byte, error) {
	bad := func(format string, args ...any) (Params, []byte, []byte, error) {
		return Params{}, nil, nil, fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
	}
	parts := strings.Split(encoded, "$")
	// "", "argon2id", "v=19", "m=..,t=..,p=..", salt, key
	if len(parts) != 6 || parts[0] != "" {
		return bad("want 5 $-separated fields, got %d", len(parts)-1)
	}
	if parts[1] != "argon2id" {
		return bad("algorithm %q is not argon2id", parts[1])
	}
	v, ok := strings.CutPrefix(parts[2], "v=")
	if !ok {
		return bad("missing version field")
	}
	if n, err := strconv.Atoi(v); err != nil || n != argon2.Version {
		return bad("unsupported version %q", v)
	}
	var p Params
	fields := strings.Split(parts[3], ",")
	if len(fields) != 3 {
		return bad("want parameters m,t,p")
	}
	for i, name := range []string{"m", "t", "p"} {
		val, ok := strings.CutPrefix(fields[i], name+"=")
		if !ok {
			return bad("parameter %d should be %s=", i+1, name)
		}
		n, err := strconv.ParseUint(val, 10, 32)
		if err != nil || n == 0 {
			return bad("parameter %s=%q is not a positive integer", name, val)
		}
		switch name {
		case "m":
			if n > maxMemory {
				return bad("memory %d KiB too large", n)
			}
			p.Memory = uint32(n)
		case "t":
			if n > maxTime {
				return bad("time %d too large", n)
			}
			p.Time = uint32(n)
		case "p":
			if n > 255 {
				return bad("parallelism %d too large", n)
			}
			p.Threads = uint8(n)
		}
	}
	if p.Memory < 8*uint32(p.Threads) {
		return bad("memory %d KiB below 8 KiB per lane", p.Memory)
	}
	salt, err := base64.RawStdEncoding.Strict().DecodeString(parts[4])
	if err != nil || len(salt) < 8 || len(salt) > maxSaltLen {
		return bad("salt is not 8 to %d bytes of unpadded base64", maxSaltLen)
	}
	key, err := base64.RawStdEncoding.Strict().DecodeString(parts[5])
	if err != nil || len(key) < 16 || len(key) > maxKeyLen {
		return bad("key is not 16 to %d bytes of unpadded base64", maxKeyLen)
	}
	p.SaltLen, p.KeyLen = uint32(len(salt)), uint32(len(key))
	return p, salt, key, nil
}
