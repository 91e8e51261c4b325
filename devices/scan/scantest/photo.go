// Package scantest synthesises photos of document pages as a document camera sees them: a white A4
// page with text-like lines, a block and four corner markers of distinct sizes, lying rotated on a
// textured desk and seen with a mild perspective. It knows where the page's corners land in the photo
// and where the markers sit on the page, so tests can check a page finder and warper against the truth.
// The simulated camera (devices/sim/camsim) serves these photos as its frames.
//
// The geometry is deliberately independent of package scan: the page is rotated on the desk and then
// projected through a camera tilted about the horizontal axis, with a closed-form inverse, so a bug in
// scan's homography cannot hide behind the same bug in the generator.
package scantest

import (
	"bytes"
	"image"
	"image/jpeg"
	"math"
	"math/rand/v2"
)

// Page dimensions in millimetres (ISO A4, portrait).
const (
	PageWidthMM  = 210.0
	PageHeightMM = 297.0
)

// Marker is a solid black square printed near a page corner. The four markers have distinct sizes, so
// a page that came out rotated or mirrored is told apart from an upright one.
type Marker struct {
	Name   string     // "top-left", "top-right", "bottom-right", "bottom-left"
	Center [2]float64 // centre on the upright page, in millimetres from the top-left corner
	Size   float64    // side length in millimetres
}

// Markers are the corner markers every generated page carries, in the order TL, TR, BR, BL.
var Markers = [4]Marker{
	{Name: "top-left", Center: [2]float64{25, 25}, Size: 16},
	{Name: "top-right", Center: [2]float64{PageWidthMM - 25, 25}, Size: 12},
	{Name: "bottom-right", Center: [2]float64{PageWidthMM - 25, PageHeightMM - 25}, Size: 8},
	{Name: "bottom-left", Center: [2]float64{25, PageHeightMM - 25}, Size: 10},
}

// Text and blocks stay between these heights (mm), clear of the markers' rows, so a marker can be
// searched for in a window around its expected place without meeting text.
const (
	contentTopMM    = 52.0
	contentBottomMM = PageHeightMM - 52.0
)

// Spec describes one synthetic photo.
type Spec struct {
	Width, Height int     // photo size in pixels; 2592×1944 (5 MP) when zero
	Angle         float64 // page rotation on the desk in degrees, counter-clockwise as seen in the photo
	Tilt          float64 // camera tilt about the horizontal axis in degrees (keystone); 0 is straight down
	Fill          float64 // page height as a fraction of the photo height before tilt; 0.8 when zero
	OffsetX       float64 // page centre offset from the photo centre, as a fraction of the width
	OffsetY       float64 // and of the height
	Seed          uint64  // varies the text layout, the desk texture and the noise
	LightDesk     bool    // a desk as light as the page: no clear border
	Noise         float64 // per-pixel noise amplitude in grey levels; 6 when zero, negative for none
}

// Truth is where the page landed in a generated photo.
type Truth struct {
	// Corners are the page's corners in photo pixel coordinates, in the order top-left, top-right,
	// bottom-right, bottom-left of the upright page.
	Corners [4][2]float64
}

// geometry maps page millimetres to photo pixels and back.
type geometry struct {
	cosA, sinA float64 // in-plane rotation
	cosT, sinT float64 // tilt
	f, d       float64 // focal length and camera distance, in mm-equivalent units
	scale      float64 // photo pixels per projected unit
	cx, cy     float64 // photo centre plus offset
}

func newGeometry(s Spec) geometry {
	a := s.Angle * math.Pi / 180
	t := s.Tilt * math.Pi / 180
	g := geometry{cosA: math.Cos(a), sinA: math.Sin(a), cosT: math.Cos(t), sinT: math.Sin(t), f: 1000, d: 1000}
	fill := s.Fill
	if fill == 0 {
		fill = 0.8
	}
	g.scale = fill * float64(s.Height) / PageHeightMM
	g.cx = float64(s.Width)/2 + s.OffsetX*float64(s.Width)
	g.cy = float64(s.Height)/2 + s.OffsetY*float64(s.Height)
	return g
}

// forward maps a point on the page (mm from the top-left corner) to photo pixels.
func (g geometry) forward(u, v float64) (float64, float64) {
	u -= PageWidthMM / 2
	v -= PageHeightMM / 2
	// Rotate on the desk; photo y grows downwards, so a counter-clockwise turn as seen uses -angle.
	x := g.cosA*u + g.sinA*v
	y := -g.sinA*u + g.cosA*v
	// Project through a camera tilted about the x axis.
	den := g.d + y*g.sinT
	px := g.f * x / den
	py := g.f * y * g.cosT / den
	return g.cx + px*g.scale, g.cy + py*g.scale
}

// inverse maps photo pixels to the page (mm from the top-left corner).
func (g geometry) inverse(px, py float64) (float64, float64) {
	X := (px - g.cx) / g.scale
	Y := (py - g.cy) / g.scale
	y := Y * g.d / (g.f*g.cosT - Y*g.sinT)
	x := X * (g.d + y*g.sinT) / g.f
	u := g.cosA*x - g.sinA*y
	v := g.sinA*x + g.cosA*y
	return u + PageWidthMM/2, v + PageHeightMM/2
}

// Photo renders the photo described by s and returns it with the truth about where the page is.
func Photo(s Spec) (*image.RGBA, Truth) {
	if s.Width == 0 || s.Height == 0 {
		s.Width, s.Height = 2592, 1944
	}
	noise := s.Noise
	if noise == 0 {
		noise = 6
	}
	if noise < 0 {
		noise = 0
	}
	g := newGeometry(s)
	var truth Truth
	for i, c := range [4][2]float64{{0, 0}, {PageWidthMM, 0}, {PageWidthMM, PageHeightMM}, {0, PageHeightMM}} {
		x, y := g.forward(c[0], c[1])
		truth.Corners[i] = [2]float64{x, y}
	}
	content := newContent(s.Seed)
	desk := newDesk(s.Seed, s.Width, s.Height, s.LightDesk)
	rng := rand.New(rand.NewPCG(s.Seed, 0x5ca7))
	img := image.NewRGBA(image.Rect(0, 0, s.Width, s.Height))
	w, h := float64(s.Width), float64(s.Height)
	for py := 0; py < s.Height; py++ {
		row := img.Pix[py*img.Stride:]
		for px := 0; px < s.Width; px++ {
			u, v := g.inverse(float64(px)+0.5, float64(py)+0.5)
			var r, gg, b float64
			if u >= 0 && u < PageWidthMM && v >= 0 && v < PageHeightMM {
				ink := content.ink(u, v)
				// Paper white with a soft light fall-off towards the photo's edges.
				dx, dy := (float64(px)-w/2)/w, (float64(py)-h/2)/h
				light := 1 - 0.25*(dx*dx+dy*dy)
				paper := [3]float64{246 * light, 244 * light, 238 * light}
				r = paper[0] + (42-paper[0])*ink
				gg = paper[1] + (42-paper[1])*ink
				b = paper[2] + (52-paper[2])*ink
			} else {
				r, gg, b = desk.at(px, py)
			}
			n := 0.0
			if noise > 0 {
				n = (rng.Float64()*2 - 1) * noise
			}
			o := px * 4
			row[o] = clamp8(r + n)
			row[o+1] = clamp8(gg + n)
			row[o+2] = clamp8(b + n)
			row[o+3] = 255
		}
	}
	return img, truth
}

func clamp8(v float64) uint8 {
	if v <= 0 {
		return 0
	}
	if v >= 255 {
		return 255
	}
	return uint8(v + 0.5)
}

// content is the printed matter on a page: lines of "words", one grey block and the corner markers.
type content struct {
	lines []textLine
	block [4]float64 // x0, y0, x1, y1 in mm
}

type textLine struct {
	y0, y1 float64
	words  [][2]float64 // x ranges
}

func newContent(seed uint64) content {
	rng := rand.New(rand.NewPCG(seed, 0x7e47))
	var c content
	blockTop := contentTopMM + 60 + rng.Float64()*60
	c.block = [4]float64{30 + rng.Float64()*40, blockTop, 120 + rng.Float64()*50, blockTop + 30 + rng.Float64()*20}
	for y := contentTopMM; y+3 < contentBottomMM; y += 7 {
		if y+3 > c.block[1]-2 && y < c.block[3]+2 {
			continue
		}
		line := textLine{y0: y, y1: y + 3.2}
		end := PageWidthMM - 22
		if rng.IntN(5) == 0 {
			end = 60 + rng.Float64()*100 // a paragraph's last line
		}
		for x := 22.0; x < end; {
			wl := 2 + rng.Float64()*12
			if x+wl > end {
				wl = end - x
			}
			line.words = append(line.words, [2]float64{x, x + wl})
			x += wl + 1.5 + rng.Float64()*1.5
		}
		c.lines = append(c.lines, line)
	}
	return c
}

// ink returns how much ink covers the page at (u, v) mm: 0 for paper, 1 for solid black.
func (c *content) ink(u, v float64) float64 {
	for _, m := range Markers {
		if math.Abs(u-m.Center[0]) <= m.Size/2 && math.Abs(v-m.Center[1]) <= m.Size/2 {
			return 1
		}
	}
	if v < contentTopMM || v > contentBottomMM {
		return 0
	}
	if u >= c.block[0] && u < c.block[2] && v >= c.block[1] && v < c.block[3] {
		return 0.45
	}
	// Lines are 7 mm apart from contentTopMM; find the one v falls in.
	i := int((v - contentTopMM) / 7)
	for _, l := range c.lines {
		if int((l.y0-contentTopMM)/7) != i {
			continue
		}
		if v < l.y0 || v >= l.y1 {
			return 0
		}
		for _, w := range l.words {
			if u >= w[0] && u < w[1] {
				return 0.9
			}
		}
		return 0
	}
	return 0
}

// desk is a wood-like textured background: smooth value noise plus streaks.
type desk struct {
	grid          []float64
	gw, gh, cell  int
	base          [3]float64
	streak, phase float64
}

func newDesk(seed uint64, w, h int, light bool) desk {
	rng := rand.New(rand.NewPCG(seed, 0xde5c))
	d := desk{cell: 48}
	d.gw, d.gh = w/d.cell+2, h/d.cell+2
	d.grid = make([]float64, d.gw*d.gh)
	for i := range d.grid {
		d.grid[i] = rng.Float64()*2 - 1
	}
	d.base = [3]float64{96, 72, 52}
	if light {
		d.base = [3]float64{240, 238, 233}
	}
	d.streak = 0.02 + rng.Float64()*0.02
	d.phase = rng.Float64() * 10
	return d
}

func (d *desk) at(px, py int) (float64, float64, float64) {
	gx, gy := float64(px)/float64(d.cell), float64(py)/float64(d.cell)
	ix, iy := int(gx), int(gy)
	fx, fy := gx-float64(ix), gy-float64(iy)
	v00 := d.grid[iy*d.gw+ix]
	v10 := d.grid[iy*d.gw+ix+1]
	v01 := d.grid[(iy+1)*d.gw+ix]
	v11 := d.grid[(iy+1)*d.gw+ix+1]
	n := (v00*(1-fx)+v10*fx)*(1-fy) + (v01*(1-fx)+v11*fx)*fy
	s := math.Sin(float64(py)*d.streak+n*3+d.phase) * 0.5
	k := 1 + 0.18*n + 0.08*s
	if d.base[0] > 200 {
		k = 1 + 0.01*n
	}
	return d.base[0] * k, d.base[1] * k, d.base[2] * k
}

// JPEG renders the photo described by s and encodes it as a camera would deliver it.
func JPEG(s Spec, quality int) ([]byte, Truth, error) {
	img, truth := Photo(s)
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: quality}); err != nil {
		return nil, truth, err
	}
	return buf.Bytes(), truth, nil
}
