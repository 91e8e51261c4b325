package bytesize

import "testing"

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
	}{
		{"4096", 4096},
		{"512MiB", 512 << 20},
		{"256 KiB", 256 << 10},
		{"256kib", 256 << 10},
		{"1GB", 1_000_000_000},
		{"1.5KiB", 1536},
		{"2M", 2 << 20},
		{"0", 0},
		{"10B", 10},
	} {
		t.Run(tc.in+" is read as bytes", func(t *testing.T) {
			got, err := Parse(tc.in)
			if err != nil || got != tc.want {
				t.Fatalf("Parse(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
			}
		})
	}
	for _, bad := range []string{"", "abc", "-1MiB", "12 parsecs", "1e30TiB", "NaN"} {
		t.Run(bad+" is refused", func(t *testing.T) {
			if n, err := Parse(bad); err == nil {
				t.Fatalf("Parse(%q) = %d, want an error", bad, n)
			}
		})
	}
}

func TestFormat(t *testing.T) {
	for n, want := range map[int64]string{100: "100B", 1536: "1.5KiB", 256 << 20: "256MiB", 3 << 30: "3GiB", -2048: "-2KiB"} {
		if got := Format(n); got != want {
			t.Errorf("Format(%d) = %q, want %q", n, got, want)
		}
	}
}
