package pdf

import (
	_ "embed"
	"fmt"
	"sync"
	"unicode"

	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"
)

// droidTTF is Droid Sans Fallback (Apache-2.0, see fonts/README.md): the CJK glyphs.
//
//go:embed fonts/DroidSansFallbackFull.ttf
var droidTTF []byte

// face is one TrueType font: its bytes for the PDF writer and its parsed tables for metrics and outlines.
type face struct {
	family string // the family name registered with the PDF writer
	ttf    []byte
	font   *sfnt.Font
	upem   float64 // design units per em
}

// faces holds the two fonts every certificate uses. Droid Sans Fallback has the Han characters and CJK
// punctuation but no Latin letters or digits; Go Regular has those.
type faces struct {
	cjk, latin *face
}

// loadFaces parses the embedded fonts once; the parsed fonts are read-only and shared.
var loadFaces = sync.OnceValues(func() (*faces, error) {
	cjk, err := parseFace("cjk", droidTTF)
	if err != nil {
		return nil, err
	}
	latin, err := parseFace("latin", goregular.TTF)
	if err != nil {
		return nil, err
	}
	return &faces{cjk: cjk, latin: latin}, nil
})

func parseFace(family string, ttf []byte) (*face, error) {
	f, err := sfnt.Parse(ttf)
	if err != nil {
		return nil, fmt.Errorf("pdf: parse font %s: %w", family, err)
	}
	return &face{family: family, ttf: ttf, font: f, upem: float64(f.UnitsPerEm())}, nil
}

// glyph is a rune resolved to the font that draws it.
type glyph struct {
	face    *face
	index   sfnt.GlyphIndex
	advance float64 // in ems
}

// metrics resolves runes to glyphs and measures text. It is not safe for concurrent use (it owns an
// sfnt.Buffer); each Render or Seal call makes its own.
type metrics struct {
	faces *faces
	buf   sfnt.Buffer
	cache map[rune]glyph
}

func newMetrics() (*metrics, error) {
	fs, err := loadFaces()
	if err != nil {
		return nil, err
	}
	return &metrics{faces: fs, cache: make(map[rune]glyph)}, nil
}

// errNoGlyph reports a rune that neither embedded font can draw.
type errNoGlyph struct{ r rune }

func (e errNoGlyph) Error() string { return fmt.Sprintf("pdf: no glyph for %U", e.r) }

// glyph returns the glyph for r: ASCII from the Latin font, everything else from the CJK font when it
// has it (so that Chinese quotes and dashes are full width), else from the Latin font. Space-like runes
// are drawn as an ASCII space.
func (m *metrics) glyph(r rune) (glyph, error) {
	if unicode.IsSpace(r) {
		r = ' '
	}
	if g, ok := m.cache[r]; ok {
		return g, nil
	}
	order := []*face{m.faces.cjk, m.faces.latin}
	if r < 0x80 {
		order = []*face{m.faces.latin}
	}
	for _, f := range order {
		x, err := f.font.GlyphIndex(&m.buf, r)
		if err != nil {
			return glyph{}, fmt.Errorf("pdf: look up %U in %s: %w", r, f.family, err)
		}
		if x == 0 || unicode.IsControl(r) {
			continue
		}
		adv, err := f.font.GlyphAdvance(&m.buf, x, fixed.I(int(f.upem)), font.HintingNone)
		if err != nil {
			return glyph{}, fmt.Errorf("pdf: advance of %U in %s: %w", r, f.family, err)
		}
		g := glyph{face: f, index: x, advance: float64(adv) / 64 / f.upem}
		m.cache[r] = g
		return g, nil
	}
	return glyph{}, errNoGlyph{r}
}

// width returns the advance width of s in points at size points.
func (m *metrics) width(s string, size float64) (float64, error) {
	w := 0.0
	for _, r := range s {
		g, err := m.glyph(r)
		if err != nil {
			return 0, err
		}
		w += g.advance
	}
	return w * size, nil
}

// run is a piece of a line drawn with one font.
type run struct {
	face  *face
	text  string
	width float64 // in ems
}

// runs splits s into pieces that each use one font, in order.
func (m *metrics) runs(s string) ([]run, error) {
	var out []run
	var cur []rune
	var curFace *face
	var curWidth float64
	flush := func() {
		if len(cur) > 0 {
			out = append(out, run{face: curFace, text: string(cur), width: curWidth})
		}
		cur, curWidth = nil, 0
	}
	for _, r := range s {
		g, err := m.glyph(r)
		if err != nil {
			return nil, err
		}
		if g.face != curFace {
			flush()
			curFace = g.face
		}
		if unicode.IsSpace(r) {
			r = ' '
		}
		cur = append(cur, r)
		curWidth += g.advance
	}
	flush()
	return out, nil
}
