package pdf_test

import (
	"bytes"
	"image/png"
	"strings"
	"testing"

	"github.com/civic-station/station/station"
	"github.com/civic-station/station/station/pdf"
)

func TestSealDrawsRingStarAndName(t *testing.T) {
	b, err := pdf.Seal("幸福社区居民委员会")
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if s := img.Bounds().Size(); s.X != 480 || s.Y != 480 {
		t.Fatalf("seal is %v pixels, want 480×480", s)
	}
	alpha := func(x, y int) uint32 { _, _, _, a := img.At(x, y).RGBA(); return a >> 8 }
	red := func(x, y int) bool {
		r, g, b, a := img.At(x, y).RGBA()
		return a>>8 > 200 && r>>8 > 180 && g>>8 < 60 && b>>8 < 60
	}
	for _, p := range []struct {
		what string
		x, y int
	}{
		{"the ring on the right", 240 + 229, 240},
		{"the ring at the bottom", 240, 240 + 229},
		{"the middle of the star", 240, 248},
	} {
		if !red(p.x, p.y) {
			t.Errorf("%s (%d,%d) is not opaque red: %v", p.what, p.x, p.y, img.At(p.x, p.y))
		}
	}
	for _, p := range [][2]int{{2, 2}, {477, 477}, {240, 240 + 160}, {240 + 100, 240 + 100}} {
		if a := alpha(p[0], p[1]); a != 0 {
			t.Errorf("(%d,%d) should be transparent, alpha %d", p[0], p[1], a)
		}
	}
	// The name is drawn in the upper band between the ring and the star.
	inked := 0
	for y := 20; y < 150; y++ {
		for x := 60; x < 420; x++ {
			if alpha(x, y) > 128 {
				inked++
			}
		}
	}
	if inked < 2000 {
		t.Errorf("only %d inked pixels in the band where the name goes", inked)
	}
	again, err := pdf.Seal("幸福社区居民委员会")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, again) {
		t.Error("the same name gave two different seals")
	}
}

func TestSealRefusesBadNames(t *testing.T) {
	for name, in := range map[string]string{
		"empty":          "  ",
		"too long":       strings.Repeat("社区", 13),
		"no glyph":       "社区😀",
		"a control char": "社区\x01",
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := pdf.Seal(in); station.ErrorCode(err) != station.EINVALID {
				t.Errorf("Seal(%q) = %v, want EINVALID", in, err)
			}
		})
	}
	for _, n := range []int{1, 24} {
		if _, err := pdf.Seal(strings.Repeat("章", n)); err != nil {
			t.Errorf("a name of %d characters: %v", n, err)
		}
	}
}
