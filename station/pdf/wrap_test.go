package pdf

import (
	"strings"
	"testing"
)

func TestWrap(t *testing.T) {
	m, err := newMetrics()
	if err != nil {
		t.Fatal(err)
	}
	const size = 10.0
	for _, tc := range []struct {
		name          string
		text          string
		indent, width float64
		want          []string
	}{
		{"Han characters fill each line", "一二三四五六七八九十", 0, 40, []string{"一二三四", "五六七八", "九十"}},
		{"the first line is indented", "一二三四五六七八", 20, 40, []string{"一二", "三四五六", "七八"}},
		{"a comma never starts a line", "一二三四，五六", 0, 40, []string{"一二三", "四，五六"}},
		{"a full stop and a closing quote stay with the word before", "一二三”。四", 0, 30, []string{"一二", "三”。", "四"}},
		{"an opening bracket never ends a line", "一二三（四五）", 0, 40, []string{"一二三", "（四五）"}},
		{"numbers are not broken", "编号2026000123号", 0, 70, []string{"编号", "2026000123号"}},
		{"spaces at a break are dropped", "abc def ghi", 0, 40, []string{"abc def", "ghi"}},
		{"a word wider than a line is broken between letters", "https://example.cn/abcdef", 0, 60, nil},
		{"empty text is one empty line", "", 0, 40, []string{""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lines, err := m.wrap(tc.text, size, tc.indent, tc.width)
			if err != nil {
				t.Fatal(err)
			}
			if tc.want != nil && strings.Join(lines, "|") != strings.Join(tc.want, "|") {
				t.Errorf("got %q, want %q", lines, tc.want)
			}
			if strings.ReplaceAll(strings.Join(lines, ""), " ", "") != strings.ReplaceAll(tc.text, " ", "") {
				t.Errorf("lines %q lost or added text of %q", lines, tc.text)
			}
			for i, l := range lines {
				w, err := m.width(l, size)
				if err != nil {
					t.Fatal(err)
				}
				avail := tc.width
				if i == 0 {
					avail -= tc.indent
				}
				if w > avail+1e-9 {
					t.Errorf("line %d %q is %.2f wide, more than %.2f", i, l, w, avail)
				}
				if strings.HasPrefix(l, " ") || strings.HasSuffix(l, " ") {
					t.Errorf("line %d %q starts or ends with a space", i, l)
				}
				if i > 0 && l != "" && strings.ContainsRune(noStart, firstRune(l)) {
					t.Errorf("line %d %q starts with %q", i, l, firstRune(l))
				}
				if l != "" && i < len(lines)-1 && strings.ContainsRune(noEnd, lastRune(l)) {
					t.Errorf("line %d %q ends with %q", i, l, lastRune(l))
				}
			}
		})
	}
}
