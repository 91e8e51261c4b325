// Package bytesize parses and formats byte quantities as technicians write them in flags: "512MiB",
// "256KiB", "1.5GB", "4096". Binary units (KiB, MiB, GiB, TiB) are powers of 1024, decimal units (KB,
// MB, GB, TB) powers of 1000; a bare number is bytes. Errors are in Chinese: they end up in front of
// the technician who typed the value.
package bytesize

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

var units = []struct {
	suffix string
	factor float64
}{
	// Longest suffixes first, so that "KiB" is not read as "B".
	{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30}, {"tib", 1 << 40},
	{"kb", 1e3}, {"mb", 1e6}, {"gb", 1e9}, {"tb", 1e12},
	{"k", 1 << 10}, {"m", 1 << 20}, {"g", 1 << 30}, {"t", 1 << 40},
	{"b", 1},
}

// Parse reads a byte quantity such as "512MiB", "256 KiB", "1.5GB" or "4096". It refuses negative
// numbers, unknown units and values beyond int64.
func Parse(s string) (int64, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	if t == "" {
		return 0, errors.New("大小不能为空")
	}
	factor := 1.0
	for _, u := range units {
		if num, ok := strings.CutSuffix(t, u.suffix); ok {
			t, factor = strings.TrimSpace(num), u.factor
			break
		}
	}
	v, err := strconv.ParseFloat(t, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("无法识别的大小“%s”（示例：512MiB、256KiB、1GB、4096）", s)
	}
	if v < 0 {
		return 0, fmt.Errorf("大小“%s”不能为负数", s)
	}
	n := v * factor
	if n >= math.MaxInt64 {
		return 0, fmt.Errorf("大小“%s”过大", s)
	}
	return int64(n), nil
}

// Format writes n bytes with the largest binary unit that keeps at least one whole unit, with up to
// one decimal: 268435456 → "256MiB", 1536 → "1.5KiB", 100 → "100B".
func Format(n int64) string {
	if n < 0 {
		return "-" + Format(-n)
	}
	for _, u := range []struct {
		name   string
		factor int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n >= u.factor {
			v := float64(n) / float64(u.factor)
			return strconv.FormatFloat(math.Round(v*10)/10, 'f', -1, 64) + u.name
		}
	}
	return strconv.FormatInt(n, 10) + "B"
}
