package escpossim

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"os"
	"strings"
	"sync"

	"github.com/skip2/go-qrcode"
	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"
)

// Job is one printed ticket: what the printer received between two cuts.
type Job struct {
	Seq    int // 1, 2, … in the order printed
	Blocks []Block

	renderer *Renderer
	once     sync.Once
	png      []byte
	pngErr   error
}

// Text is the ticket as plain text, one line per printed line: text lines as printed, a QR code as
// "[二维码] data", a raster image as "[图像]", and a feed of n lines as n empty lines.
func (j *Job) Text() string {
	var lines []string
	for _, b := range j.Blocks {
		switch b.Kind {
		case KindFeed:
			for range b.Lines {
				lines = append(lines, "")
			}
		default:
			lines = append(lines, b.Text())
		}
	}
	return strings.Join(lines, "\n") + "\n"
}

// PNG is the ticket as the paper would look, rendered once on first use.
func (j *Job) PNG() ([]byte, error) {
	j.once.Do(func() {
		img := j.renderer.Render(j.Blocks)
		var b bytes.Buffer
		enc := png.Encoder{CompressionLevel: png.BestSpeed}
		j.pngErr = enc.Encode(&b, img)
		j.png = b.Bytes()
	})
	return j.png, j.pngErr
}

// Renderer draws jobs as paper: a white image the printer's dot width wide, text in the TrueType
// fonts at 24 dots per line height (times the size multipliers), QR codes, raster images as sent.
// It is safe for concurrent use.
type Renderer struct {
	width int
	mu    sync.Mutex
	fonts []*sfnt.Font // empty: the basic 7×13 font, which has no Chinese
	faces map[[2]int]font.Face
	buf   sfnt.Buffer
}

// NewRenderer returns a renderer for paper width dots wide drawing text with the fonts at paths (the
// Go font is appended for Latin text). With no paths it draws with a basic Latin bitmap font.
func NewRenderer(width int, paths ...string) (*Renderer, error) {
	r := &Renderer{width: width, faces: map[[2]int]font.Face{}}
	if len(paths) == 0 {
		return r, nil
	}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("escpossim: font: %w", err)
		}
		c, err := sfnt.ParseCollection(data)
		if err != nil {
			return nil, fmt.Errorf("escpossim: font %s: %w", p, err)
		}
		f, err := pickFace(c)
		if err != nil {
			return nil, fmt.Errorf("escpossim: font %s: %w", p, err)
		}
		r.fonts = append(r.fonts, f)
	}
	g, err := sfnt.Parse(goregular.TTF)
	if err != nil {
		return nil, err
	}
	r.fonts = append(r.fonts, g)
	return r, nil
}

func pickFace(c *sfnt.Collection) (*sfnt.Font, error) {
	var buf sfnt.Buffer
	for i := range c.NumFonts() {
		f, err := c.Font(i)
		if err != nil {
			return nil, err
		}
		if name, _ := f.Name(&buf, sfnt.NameIDFull); strings.Contains(name, " SC") {
			return f, nil
		}
	}
	return c.Font(0)
}

// Width is the paper width in dots.
func (r *Renderer) Width() int { return r.width }

const (
	charHeight = 24 // dots, the printer's font A
	lineHeight = 30 // dots between lines at the default line spacing
)

var (
	black = color.Gray{Y: 0}
	white = color.Gray{Y: 0xFF}
)

// Render draws blocks as the printed paper.
func (r *Renderer) Render(blocks []Block) *image.Gray {
	r.mu.Lock()
	defer r.mu.Unlock()
	var parts []*image.Gray
	for _, b := range blocks {
		switch b.Kind {
		case KindText:
			parts = append(parts, r.textBlock(b)...)
		case KindQR:
			parts = append(parts, r.qrBlock(b))
		case KindRaster:
			parts = append(parts, r.rasterBlock(b))
		case KindFeed:
			parts = append(parts, blank(r.width, b.Lines*lineHeight+b.Dots))
		}
	}
	h := 16
	for _, p := range parts {
		h += p.Rect.Dy()
	}
	h += 16
	img := blank(r.width, h)
	y := 16
	for _, p := range parts {
		draw.Draw(img, p.Rect.Add(image.Pt(0, y)), p, image.Point{}, draw.Src)
		y += p.Rect.Dy()
	}
	return img
}

func blank(w, h int) *image.Gray {
	img := image.NewGray(image.Rect(0, 0, w, max(h, 0)))
	draw.Draw(img, img.Rect, image.NewUniform(white), image.Point{}, draw.Src)
	return img
}

func offset(align, width, w int) int {
	switch align {
	case 1:
		return max((width-w)/2, 0)
	case 2:
		return max(width-w, 0)
	}
	return 0
}

// glyph is one character drawn at its size, before placement.
type glyph struct {
	img  *image.Alpha
	adv  int
	h    int // the span's line height multiplier
	bold bool
}

// textBlock draws a text line, wrapped at the paper width as the printer wraps it.
func (r *Renderer) textBlock(b Block) []*image.Gray {
	var gs []glyph
	for _, sp := range b.Spans {
		for _, c := range sp.Text {
			gs = append(gs, r.glyph(c, sp))
		}
	}
	var rows [][]glyph
	var row []glyph
	w := 0
	for _, g := range gs {
		if w+g.adv > r.width && len(row) > 0 {
			rows, row, w = append(rows, row), nil, 0
		}
		row, w = append(row, g), w+g.adv
	}
	rows = append(rows, row)
	var out []*image.Gray
	for _, row := range rows {
		hm, w := 1, 0
		for _, g := range row {
			hm, w = max(hm, g.h), w+g.adv
		}
		img := blank(r.width, lineHeight*hm)
		x := offset(b.Align, r.width, w)
		for _, g := range row {
			y := img.Rect.Dy() - g.img.Rect.Dy() - (lineHeight-charHeight)*hm/2
			for dx := 0; dx <= b2i(g.bold); dx++ {
				draw.DrawMask(img, g.img.Rect.Add(image.Pt(x+dx, y)), image.NewUniform(black), image.Point{}, g.img, image.Point{}, draw.Over)
			}
			x += g.adv
		}
		threshold(img)
		out = append(out, img)
	}
	return out
}

// glyph draws c at the span's size into a cell of 24·H dots high and its advance times W/H wide.
func (r *Renderer) glyph(c rune, sp Span) glyph {
	w, h := max(sp.W, 1), max(sp.H, 1)
	size := charHeight * h
	face := r.face(c, size)
	adv, ok := face.GlyphAdvance(c)
	if !ok {
		adv = fixed.I(size / 2)
	}
	cell := image.NewAlpha(image.Rect(0, 0, adv.Ceil(), size))
	ascent := size * 22 / 25
	if len(r.fonts) == 0 {
		ascent = size * 3 / 4
	}
	dr, mask, mp, _, ok := face.Glyph(fixed.P(0, ascent), c)
	if ok {
		draw.DrawMask(cell, dr, image.NewUniform(color.Alpha{A: 0xFF}), image.Point{}, mask, mp, draw.Over)
	} else {
		for x := 1; x < cell.Rect.Dx()-1; x++ { // a box for a character no font has
			cell.SetAlpha(x, 2, color.Alpha{A: 0xFF})
			cell.SetAlpha(x, size-3, color.Alpha{A: 0xFF})
		}
	}
	// Stretch horizontally when width and height multipliers differ.
	cw := cell.Rect.Dx() * w / h
	out := image.NewAlpha(image.Rect(0, 0, cw, size))
	for y := 0; y < size; y++ {
		for x := 0; x < cw; x++ {
			out.SetAlpha(x, y, cell.AlphaAt(x*h/w, y))
		}
	}
	return glyph{img: out, adv: cw + b2i(sp.Bold), h: h, bold: sp.Bold}
}

func (r *Renderer) face(c rune, size int) font.Face {
	if len(r.fonts) == 0 {
		return basicfont.Face7x13
	}
	i := 0
	for k, f := range r.fonts {
		if gi, err := f.GlyphIndex(&r.buf, c); err == nil && gi != 0 {
			i = k
			break
		}
	}
	key := [2]int{i, size}
	if f, ok := r.faces[key]; ok {
		return f
	}
	f, err := opentype.NewFace(r.fonts[i], &opentype.FaceOptions{Size: float64(size), DPI: 72, Hinting: font.HintingFull})
	if err != nil {
		return basicfont.Face7x13
	}
	r.faces[key] = f
	return f
}

// threshold makes a gray image black and white, as thermal paper is.
func threshold(img *image.Gray) {
	for i, v := range img.Pix {
		if v < 0x80 {
			img.Pix[i] = 0
		} else {
			img.Pix[i] = 0xFF
		}
	}
}

func (r *Renderer) qrBlock(b Block) *image.Gray {
	level := map[byte]qrcode.RecoveryLevel{'L': qrcode.Low, 'M': qrcode.Medium, 'Q': qrcode.High, 'H': qrcode.Highest}[b.QRLevel]
	q, err := qrcode.New(b.QR, level)
	if err != nil {
		return r.textBlock(Block{Spans: []Span{{Text: "[二维码错误]", W: 1, H: 1}}})[0]
	}
	q.DisableBorder = true
	bm := q.Bitmap()
	m := max(b.QRModule, 1)
	size := len(bm) * m
	img := blank(r.width, size+8)
	x0 := offset(b.Align, r.width, size)
	for y, row := range bm {
		for x, on := range row {
			if on {
				draw.Draw(img, image.Rect(x0+x*m, 4+y*m, x0+(x+1)*m, 4+(y+1)*m), image.NewUniform(black), image.Point{}, draw.Src)
			}
		}
	}
	return img
}

func (r *Renderer) rasterBlock(b Block) *image.Gray {
	ras := b.Raster
	img := blank(r.width, ras.Height)
	x0 := offset(b.Align, r.width, ras.Width)
	for y := 0; y < ras.Height; y++ {
		for x := 0; x < ras.Width; x++ {
			if ras.At(x, y) && x0+x < r.width {
				img.SetGray(x0+x, y, black)
			}
		}
	}
	return img
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
