package protocol

import (
	"strconv"
	"strings"
)

// ParseVersion reads the release a software version names: "0.2.0", "v0.2.0" and
// "0.2.0+git20261207.ec2a26b" all name release 0.2.0 (whatever follows the third number is build
// information, not compared). ok is false for a version that names no release, such as a bare commit.
func ParseVersion(s string) (release [3]int, ok bool) {
	s = strings.TrimPrefix(strings.TrimSpace(s), "v")
	end := strings.IndexFunc(s, func(r rune) bool { return r != '.' && (r < '0' || r > '9') })
	if end >= 0 {
		s = s[:end]
	}
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return release, false
	}
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			return release, false
		}
		release[i] = n
	}
	return release, true
}

// VersionAtLeast reports whether version have is release min or newer. A version that names no release
// is not at least anything: a hub that sets a minimum cannot vouch for an unversioned build.
func VersionAtLeast(have, min string) bool {
	h, ok := ParseVersion(have)
	m, mok := ParseVersion(min)
	if !ok || !mok {
		return false
	}
	for i := range h {
		if h[i] != m[i] {
			return h[i] > m[i]
		}
	}
	return true
}
