package pdf

import (
	"bytes"
	"fmt"
	"image"
	"image/png"
	"math"
	"strings"

	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"
	"golang.org/x/image/vector"

	"github.com/civic-station/station/station"
)

// Geometry of a generated seal, in pixels of its square image (42 mm at about 290 dpi).
const (
	sealPx        = 480
	sealRing      = 236.0 // outer radius of the ring
	sealRingWidth = 14.0
	sealTextGap   = 12.0                // between the ring and the tops of the characters
	sealMaxSpan   = 250 * math.Pi / 180 // the arc the name may cover
	sealMaxAngle  = 24 * math.Pi / 180  // per character, for short names
	sealStar      = 72.0                // outer radius of the star
	sealMaxRunes  = 24
)

// Seal draws a round red demo seal: a ring, a five-pointed star in the middle, and name along the top
// arc, on a transparent background, as a PNG. Real stations configure an image of their own seal; this
// one lets a demo or a new station print something that looks like a certificate.
//
// It returns a *station.Error with code EINVALID when name is empty, longer than 24 characters, or has
// a character the embedded fonts cannot draw.
func Seal(name string) ([]byte, error) {
	name = strings.Join(strings.Fields(name), "")
	rs := []rune(name)
	if len(rs) == 0 {
		return nil, station.Errorf(station.EINVALID, "印章名称不能为空")
	}
	if len(rs) > sealMaxRunes {
		return nil, station.Errorf(station.EINVALID, "印章名称过长（%d个字，最多%d个）", len(rs), sealMaxRunes)
	}
	m, err := newMetrics()
	if err != nil {
		return nil, err
	}

	z := vector.NewRasterizer(sealPx, sealPx)
	cx, cy := float32(sealPx)/2, float32(sealPx)/2

	// Ring: the outer circle one way round, the inner the other, so the middle stays empty.
	circle(z, cx, cy, sealRing, false)
	circle(z, cx, cy, sealRing-sealRingWidth, true)

	// Star, a little below the centre to balance the name above it.
	star(z, cx, cy+8, sealStar)

	// Name along the top arc, each character upright with respect to the centre. The character size
	// follows from the angle each one gets: its width is about the arc length at its middle.
	textTop := sealRing - sealRingWidth - sealTextGap
	angle := min(sealMaxAngle, sealMaxSpan/float64(len(rs)))
	const ascent, mid, widthFactor = 0.88, 0.48, 1.05 // in ems, for Han characters in Droid Sans
	size := math.Min(72, textTop*angle/(widthFactor+mid*angle))
	baseline := textTop - ascent*size
	span := angle * float64(len(rs))
	for i, r := range rs {
		phi := -span/2 + (float64(i)+0.5)*angle // clockwise from straight up
		if err := sealChar(z, m, r, size, float64(cx), float64(cy), baseline, phi); err != nil {
			return nil, textErr("印章名称", err)
		}
	}

	mask := image.NewAlpha(image.Rect(0, 0, sealPx, sealPx))
	z.Draw(mask, mask.Bounds(), image.Opaque, image.Point{})
	img := image.NewNRGBA(mask.Bounds())
	for i, a := range mask.Pix {
		img.Pix[4*i+0] = uint8(sealRed[0])
		img.Pix[4*i+1] = uint8(sealRed[1])
		img.Pix[4*i+2] = uint8(sealRed[2])
		img.Pix[4*i+3] = a
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("pdf: encode seal: %w", err)
	}
	return buf.Bytes(), nil
}

// sealChar adds the outline of r to z, centred on the direction phi (radians clockwise from up), its
// baseline baseline pixels from the centre (cx, cy) and its top pointing outwards.
func sealChar(z *vector.Rasterizer, m *metrics, r rune, size, cx, cy, baseline, phi float64) error {
	g, err := m.glyph(r)
	if err != nil {
		return err
	}
	segs, err := g.face.font.LoadGlyph(&m.buf, g.index, fixed.Int26_6(size*64), nil)
	if err != nil {
		return fmt.Errorf("pdf: outline of %U: %w", r, err)
	}
	half := g.advance * size / 2
	ux, uy := math.Sin(phi), -math.Cos(phi) // outwards
	tx, ty := math.Cos(phi), math.Sin(phi)  // along the arc, left to right
	pt := func(p fixed.Point26_6) (float32, float32) {
		gx := float64(p.X)/64 - half
		gy := float64(p.Y) / 64 // down is towards the centre
		rad := baseline - gy
		return float32(cx + ux*rad + tx*gx), float32(cy + uy*rad + ty*gx)
	}
	for i, s := range segs {
		switch s.Op {
		case sfnt.SegmentOpMoveTo:
			if i > 0 {
				z.ClosePath() // each contour is closed before the next starts
			}
			x, y := pt(s.Args[0])
			z.MoveTo(x, y)
		case sfnt.SegmentOpLineTo:
			x, y := pt(s.Args[0])
			z.LineTo(x, y)
		case sfnt.SegmentOpQuadTo:
			x1, y1 := pt(s.Args[0])
			x2, y2 := pt(s.Args[1])
			z.QuadTo(x1, y1, x2, y2)
		case sfnt.SegmentOpCubeTo:
			x1, y1 := pt(s.Args[0])
			x2, y2 := pt(s.Args[1])
			x3, y3 := pt(s.Args[2])
			z.CubeTo(x1, y1, x2, y2, x3, y3)
		}
	}
	z.ClosePath()
	return nil
}

// circle adds a circle of radius r around (cx, cy) made of four cubic Béziers; reverse runs it the
// other way round, which cuts a hole in a shape drawn the first way.
func circle(z *vector.Rasterizer, cx, cy float32, r float64, reverse bool) {
	const k = 0.5522847498 // control-point distance for a quarter circle
	rr, kr := float32(r), float32(r*k)
	// Quarter arcs through right, bottom, left, top (clockwise on screen).
	pts := [][2]float32{{cx + rr, cy}, {cx, cy + rr}, {cx - rr, cy}, {cx, cy - rr}}
	ctl := [][4]float32{
		{cx + rr, cy + kr, cx + kr, cy + rr},
		{cx - kr, cy + rr, cx - rr, cy + kr},
		{cx - rr, cy - kr, cx - kr, cy - rr},
		{cx + kr, cy - rr, cx + rr, cy - kr},
	}
	z.MoveTo(pts[0][0], pts[0][1])
	if !reverse {
		for i := range 4 {
			end := pts[(i+1)%4]
			z.CubeTo(ctl[i][0], ctl[i][1], ctl[i][2], ctl[i][3], end[0], end[1])
		}
	} else {
		for i := 3; i >= 0; i-- {
			end := pts[i]
			z.CubeTo(ctl[i][2], ctl[i][3], ctl[i][0], ctl[i][1], end[0], end[1])
		}
	}
	z.ClosePath()
}

// star adds a five-pointed star with one point up, outer radius r, centred on (cx, cy).
func star(z *vector.Rasterizer, cx, cy float32, r float64) {
	inner := r * 0.381966 // the regular star: the inner pentagon's radius over the outer
	for i := range 10 {
		rad := r
		if i%2 == 1 {
			rad = inner
		}
		a := float64(i) * math.Pi / 5
		x, y := cx+float32(rad*math.Sin(a)), cy-float32(rad*math.Cos(a))
		if i == 0 {
			z.MoveTo(x, y)
		} else {
			z.LineTo(x, y)
		}
	}
	z.ClosePath()
}
