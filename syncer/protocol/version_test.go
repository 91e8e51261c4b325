package protocol

import "testing"

func TestVersionAtLeast(t *testing.T) {
	for _, c := range []struct {
		have, min string
		want      bool
	}{
		{"0.2.0", "0.2.0", true},
		{"v0.2.1", "0.2.0", true},
		{"0.10.0", "0.9.9", true},
		{"1.0.0", "0.99.99", true},
		{"0.2.0+git20261207.ec2a26b", "0.2.0", true},
		{"0.1.9+git20261207.ec2a26b-dirty", "0.2.0", false},
		{"0.1.0", "0.2.0", false},
		{"0.2.0", "0.10.0", false},
		{"ec2a26b", "0.1.0", false},
		{"dev", "0.1.0", false},
		{"", "0.1.0", false},
		{"0.2", "0.1.0", false},
		{"0.2.0", "junk", false},
	} {
		if got := VersionAtLeast(c.have, c.min); got != c.want {
			t.Errorf("VersionAtLeast(%q, %q) = %v, want %v", c.have, c.min, got, c.want)
		}
	}
}
