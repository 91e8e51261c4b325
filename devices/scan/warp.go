package scan

import (
	"image"
	"image/color"
	"math"
	"runtime"
	"sync"
)

// plane is one 8-bit channel of an image, possibly subsampled: pixel (x, y) of the full image lies
// at (x/sx, y/sy) in the plane.
type plane struct {
	pix    []uint8
	stride int
	w, h   int
	sx, sy float64
}

// at samples the plane bilinearly at full-image coordinates (x, y), where pixel centres are at
// half-integers; outside the plane the nearest edge value is used.
func (p *plane) at(x, y float64) uint8 {
	fx := x/p.sx - 0.5
	fy := y/p.sy - 0.5
	if fx < 0 {
		fx = 0
	}
	if fy < 0 {
		fy = 0
	}
	maxX, maxY := float64(p.w-1), float64(p.h-1)
	if fx > maxX {
		fx = maxX
	}
	if fy > maxY {
		fy = maxY
	}
	x0, y0 := int(fx), int(fy)
	x1, y1 := min(x0+1, p.w-1), min(y0+1, p.h-1)
	ax, ay := fx-float64(x0), fy-float64(y0)
	r0 := p.pix[y0*p.stride:]
	r1 := p.pix[y1*p.stride:]
	top := float64(r0[x0]) + (float64(r0[x1])-float64(r0[x0]))*ax
	bot := float64(r1[x0]) + (float64(r1[x1])-float64(r1[x0]))*ax
	return uint8(top + (bot-top)*ay + 0.5)
}

// planes is an image as luminance and (optionally) chroma planes: the form JPEG decodes to and
// encodes from, so a camera's JPEG is warped without converting it to RGB and back.
type planes struct {
	y, cb, cr plane
	chroma    bool
}

func newPlanes(img image.Image) planes {
	switch m := img.(type) {
	case *image.YCbCr:
		b := m.Rect
		cw, ch := (b.Dx()+1)/2, (b.Dy()+1)/2
		sx, sy := 2.0, 2.0
		switch m.SubsampleRatio {
		case image.YCbCrSubsampleRatio444:
			cw, ch, sx, sy = b.Dx(), b.Dy(), 1, 1
		case image.YCbCrSubsampleRatio422:
			ch, sy = b.Dy(), 1
		case image.YCbCrSubsampleRatio440:
			cw, sx = b.Dx(), 1
		case image.YCbCrSubsampleRatio411:
			cw, ch, sx, sy = (b.Dx()+3)/4, b.Dy(), 4, 1
		case image.YCbCrSubsampleRatio410:
			cw, sx = (b.Dx()+3)/4, 4
		}
		yo := m.YOffset(b.Min.X, b.Min.Y)
		co := m.COffset(b.Min.X, b.Min.Y)
		return planes{
			y:      plane{pix: m.Y[yo:], stride: m.YStride, w: b.Dx(), h: b.Dy(), sx: 1, sy: 1},
			cb:     plane{pix: m.Cb[co:], stride: m.CStride, w: cw, h: ch, sx: sx, sy: sy},
			cr:     plane{pix: m.Cr[co:], stride: m.CStride, w: cw, h: ch, sx: sx, sy: sy},
			chroma: true,
		}
	case *image.Gray:
		b := m.Rect
		return planes{y: plane{pix: m.Pix[m.PixOffset(b.Min.X, b.Min.Y):], stride: m.Stride, w: b.Dx(), h: b.Dy(), sx: 1, sy: 1}}
	}
	// Anything else (RGBA from PNG or a generator): convert to full-resolution YCbCr.
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	y := make([]uint8, w*h)
	cb := make([]uint8, w*h)
	cr := make([]uint8, w*h)
	rgba, isRGBA := img.(*image.RGBA)
	for j := 0; j < h; j++ {
		for i := 0; i < w; i++ {
			var r, g, bb uint8
			if isRGBA {
				o := rgba.PixOffset(b.Min.X+i, b.Min.Y+j)
				r, g, bb = rgba.Pix[o], rgba.Pix[o+1], rgba.Pix[o+2]
			} else {
				c := color.RGBAModel.Convert(img.At(b.Min.X+i, b.Min.Y+j)).(color.RGBA)
				r, g, bb = c.R, c.G, c.B
			}
			yy, u, v := color.RGBToYCbCr(r, g, bb)
			y[j*w+i], cb[j*w+i], cr[j*w+i] = yy, u, v
		}
	}
	return planes{
		y:      plane{pix: y, stride: w, w: w, h: h, sx: 1, sy: 1},
		cb:     plane{pix: cb, stride: w, w: w, h: h, sx: 1, sy: 1},
		cr:     plane{pix: cr, stride: w, w: w, h: h, sx: 1, sy: 1},
		chroma: true,
	}
}

// homography is a 3×3 projective transform, row-major, h[8] = 1.
type homography [9]float64

// apply maps (x, y).
func (h *homography) apply(x, y float64) (float64, float64) {
	w := h[6]*x + h[7]*y + h[8]
	return (h[0]*x + h[1]*y + h[2]) / w, (h[3]*x + h[4]*y + h[5]) / w
}

// rectToQuad returns the homography that maps the rectangle (0,0)–(w,h) onto q (corner for corner:
// top-left, top-right, bottom-right, bottom-left). ok is false for a degenerate quad.
func rectToQuad(w, h float64, q Quad) (homography, bool) {
	src := [4]Point{{0, 0}, {w, 0}, {w, h}, {0, h}}
	// Solve the 8×8 system A·x = b for the eight unknowns.
	var a [8][9]float64
	for i := 0; i < 4; i++ {
		x, y := src[i].X, src[i].Y
		u, v := q[i].X, q[i].Y
		a[2*i] = [9]float64{x, y, 1, 0, 0, 0, -u * x, -u * y, u}
		a[2*i+1] = [9]float64{0, 0, 0, x, y, 1, -v * x, -v * y, v}
	}
	for col := 0; col < 8; col++ {
		piv := col
		for r := col + 1; r < 8; r++ {
			if math.Abs(a[r][col]) > math.Abs(a[piv][col]) {
				piv = r
			}
		}
		if math.Abs(a[piv][col]) < 1e-12 {
			return homography{}, false
		}
		a[col], a[piv] = a[piv], a[col]
		for r := 0; r < 8; r++ {
			if r == col {
				continue
			}
			f := a[r][col] / a[col][col]
			for c := col; c < 9; c++ {
				a[r][c] -= f * a[col][c]
			}
		}
	}
	var hm homography
	for i := 0; i < 8; i++ {
		hm[i] = a[i][8] / a[i][i]
	}
	hm[8] = 1
	return hm, true
}

// warp samples the quad q of src into an upright w×h image: *image.Gray when gray, else *image.YCbCr
// (4:2:0, the form the JPEG encoder takes directly).
func warp(src planes, q Quad, w, h int, gray bool) image.Image {
	hm, ok := rectToQuad(float64(w), float64(h), q)
	if !ok {
		return fit(src, w, h, gray)
	}
	return render(src, w, h, gray, hm.apply)
}

// fit scales the whole of src into a w×h image, keeping its aspect ratio and centring it on white.
func fit(src planes, w, h int, gray bool) image.Image {
	sw, sh := float64(src.y.w), float64(src.y.h)
	s := min(float64(w)/sw, float64(h)/sh)
	ox, oy := (float64(w)-sw*s)/2, (float64(h)-sh*s)/2
	return render(src, w, h, gray, func(x, y float64) (float64, float64) {
		return (x - ox) / s, (y - oy) / s
	})
}

// render fills a w×h image whose pixel centre (x, y) takes the source at m(x, y); points that map
// outside the source are white. Rows are split among a few goroutines, all joined before return.
func render(src planes, w, h int, gray bool, m func(x, y float64) (float64, float64)) image.Image {
	sw, sh := float64(src.y.w), float64(src.y.h)
	inside := func(x, y float64) bool { return x >= -0.5 && y >= -0.5 && x <= sw+0.5 && y <= sh+0.5 }
	var (
		out   image.Image
		yPix  []uint8
		yStr  int
		ycbcr *image.YCbCr
	)
	if gray {
		g := image.NewGray(image.Rect(0, 0, w, h))
		out, yPix, yStr = g, g.Pix, g.Stride
	} else {
		ycbcr = image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
		out, yPix, yStr = ycbcr, ycbcr.Y, ycbcr.YStride
	}
	rows := func(from, to int) {
		for j := from; j < to; j++ {
			row := yPix[j*yStr:]
			for i := 0; i < w; i++ {
				x, y := m(float64(i)+0.5, float64(j)+0.5)
				if inside(x, y) {
					row[i] = src.y.at(x, y)
				} else {
					row[i] = 255
				}
			}
			if ycbcr == nil || j%2 != 0 {
				continue
			}
			// Chroma at the centre of each 2×2 block.
			crow := ycbcr.Cb[(j/2)*ycbcr.CStride:]
			rrow := ycbcr.Cr[(j/2)*ycbcr.CStride:]
			for i := 0; i < (w+1)/2; i++ {
				x, y := m(float64(2*i)+1, float64(j)+1)
				if src.chroma && inside(x, y) {
					crow[i] = src.cb.at(x, y)
					rrow[i] = src.cr.at(x, y)
				} else {
					crow[i], rrow[i] = 128, 128
				}
			}
		}
	}
	workers := min(runtime.GOMAXPROCS(0), 4)
	if workers <= 1 || h < 64 {
		rows(0, h)
		return out
	}
	// Bands start on even rows so each chroma row is written by one worker.
	band := ((h+workers-1)/workers + 1) &^ 1
	var wg sync.WaitGroup
	for from := 0; from < h; from += band {
		wg.Add(1)
		go func(from, to int) {
			defer wg.Done()
			rows(from, to)
		}(from, min(from+band, h))
	}
	wg.Wait()
	return out
}
