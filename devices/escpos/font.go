package escpos

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"os"
	"strings"
	"sync"

	"github.com/civic-station/station/devices"
	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"
)

// DefaultFontPath is the TrueType CJK font used to draw lines the printer's font lacks (Debian
// package fonts-droid-fallback).
const DefaultFontPath = "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf"

// ErrNoFont means a line needs a raster image (it has characters outside the printer's GBK font)
// but no TrueType font was given to draw it.
var ErrNoFont = errors.New("escpos: no font to draw characters the printer lacks")

// Bitmap is a 1-bit image in the layout GS v 0 sends: rows of (Width+7)/8 bytes, the most
// significant bit leftmost, a set bit a black dot.
type Bitmap struct {
	Width, Height int
	Bits          []byte
}

// NewBitmap returns a white bitmap.
func NewBitmap(w, h int) *Bitmap {
	return &Bitmap{Width: w, Height: h, Bits: make([]byte, (w+7)/8*h)}
}

// Stride is the number of bytes in a row.
func (b *Bitmap) Stride() int { return (b.Width + 7) / 8 }

// Set blackens the dot at x, y; dots outside the bitmap are ignored.
func (b *Bitmap) Set(x, y int) {
	if x < 0 || y < 0 || x >= b.Width || y >= b.Height {
		return
	}
	b.Bits[y*b.Stride()+x/8] |= 0x80 >> (x % 8)
}

// At reports whether the dot at x, y is black.
func (b *Bitmap) At(x, y int) bool {
	if x < 0 || y < 0 || x >= b.Width || y >= b.Height {
		return false
	}
	return b.Bits[y*b.Stride()+x/8]&(0x80>>(x%8)) != 0
}

// Font draws text with TrueType/OpenType fonts, for the lines the printer cannot print itself. A
// rune is drawn with the first font that has it; the Go font is always last, for Latin text (the
// Droid CJK fallback font has no Latin letters). It is safe for concurrent use.
type Font struct {
	mu    sync.Mutex
	fonts []*sfnt.Font
	faces map[faceKey]font.Face
	buf   sfnt.Buffer
}

type faceKey struct{ font, size int }

// LoadFont reads the font files at paths (TrueType .ttf, OpenType .otf, or a .ttc collection, where
// the Simplified Chinese face is used). Every path must load.
func LoadFont(paths ...string) (*Font, error) {
	f := &Font{faces: map[faceKey]font.Face{}}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("escpos: load font: %w", err)
		}
		sf, err := parseFont(data)
		if err != nil {
			return nil, fmt.Errorf("escpos: load font %s: %w", p, err)
		}
		f.fonts = append(f.fonts, sf)
	}
	goFont, err := sfnt.Parse(goregular.TTF)
	if err != nil {
		return nil, fmt.Errorf("escpos: load Go font: %w", err)
	}
	f.fonts = append(f.fonts, goFont)
	return f, nil
}

func parseFont(data []byte) (*sfnt.Font, error) {
	c, err := sfnt.ParseCollection(data)
	if err != nil {
		return nil, err
	}
	var buf sfnt.Buffer
	for i := range c.NumFonts() {
		sf, err := c.Font(i)
		if err != nil {
			return nil, err
		}
		name, _ := sf.Name(&buf, sfnt.NameIDFull)
		if strings.Contains(name, " SC") {
			return sf, nil
		}
	}
	return c.Font(0)
}

// Has reports whether any of the fonts, the Latin fallback included, has r.
func (f *Font) Has(r rune) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.pick(r) >= 0
}

// pick returns the index of the first font that has r, or -1. The caller holds f.mu.
func (f *Font) pick(r rune) int {
	for i, sf := range f.fonts {
		if gi, err := sf.GlyphIndex(&f.buf, r); err == nil && gi != 0 {
			return i
		}
	}
	return -1
}

func (f *Font) face(i, size int) (font.Face, error) {
	k := faceKey{i, size}
	if fc, ok := f.faces[k]; ok {
		return fc, nil
	}
	fc, err := opentype.NewFace(f.fonts[i], &opentype.FaceOptions{Size: float64(size), DPI: 72, Hinting: font.HintingFull})
	if err != nil {
		return nil, err
	}
	f.faces[k] = fc
	return fc, nil
}

// RenderLine draws text as the printer would print it at the given style on paper width dots wide:
// characters 24 dots high (48 when double), wrapped to the width, each row aligned. Runes no font
// has are drawn as the first font's missing-glyph box.
func (f *Font) RenderLine(text string, bold, double bool, align devices.Align, width int) (*Bitmap, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	size := charHeight
	if double {
		size *= 2
	}
	lineHeight := size * 5 / 4
	type glyph struct {
		r    rune
		font int
		adv  int
	}
	var rows [][]glyph
	var row []glyph
	rowWidth := 0
	extra := 0
	if bold {
		extra = 1
	}
	for _, r := range text {
		i := f.pick(r)
		if i < 0 {
			i = 0
		}
		fc, err := f.face(i, size)
		if err != nil {
			return nil, fmt.Errorf("escpos: font face: %w", err)
		}
		adv, ok := fc.GlyphAdvance(r)
		if !ok {
			adv = fixed.I(size)
		}
		g := glyph{r, i, adv.Round() + extra}
		if rowWidth+g.adv > width && len(row) > 0 {
			rows = append(rows, row)
			row, rowWidth = nil, 0
		}
		row = append(row, g)
		rowWidth += g.adv
	}
	rows = append(rows, row)

	img := image.NewAlpha(image.Rect(0, 0, width, lineHeight*len(rows)))
	baseline := size * 22 / 25 // CJK fonts put the baseline about 0.88 em below the top
	for n, row := range rows {
		w := 0
		for _, g := range row {
			w += g.adv
		}
		x := 0
		switch align {
		case devices.AlignCenter:
			x = (width - w) / 2
		case devices.AlignRight:
			x = width - w
		}
		x = max(x, 0)
		y := n*lineHeight + (lineHeight-size)/2 + baseline
		for _, g := range row {
			fc, _ := f.face(g.font, size)
			for dx := 0; dx <= extra; dx++ {
				dr, mask, mp, _, ok := fc.Glyph(fixed.P(x+dx, y), g.r)
				if ok {
					draw.DrawMask(img, dr, image.NewUniform(color.Alpha{A: 0xFF}), image.Point{}, mask, mp, draw.Over)
				}
			}
			x += g.adv
		}
	}
	bm := NewBitmap(width, img.Rect.Dy())
	for y := 0; y < bm.Height; y++ {
		for x := 0; x < bm.Width; x++ {
			if img.AlphaAt(x, y).A >= 0x80 {
				bm.Set(x, y)
			}
		}
	}
	return bm, nil
}
