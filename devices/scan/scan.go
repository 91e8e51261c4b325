// Package scan turns a document camera's photo of a paper page into a clean page image, in pure Go:
// it finds the page's four corners (a lighter page on a darker desk, turned up to about 20° and seen
// with some perspective), warps the page to an upright A4 rectangle at 200 dpi (1654×2339 pixels),
// optionally in greyscale, and encodes it as a JPEG whose quality is chosen so the page comes out at
// about 300 KB. PDF assembles such page JPEGs into one A4 PDF, one page per image, without
// re-encoding them.
//
// Finding the page: the photo's luminance is box-downscaled to about 640 pixels on its long side,
// thresholded with Otsu's method, and the largest connected light region is taken as the page; the
// quadrilateral of largest area inscribed in its convex hull gives the corners, which are then refined
// by fitting straight lines to the region's boundary. When no region looks like a page (too small,
// filling the frame, or not four-sided), the whole frame is used and the result says so.
package scan

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/jpeg"

	// Registered so that Process also accepts PNG input (screenshots, test fixtures).
	_ "image/png"
)

// Default output geometry and size target.
const (
	// A4Width and A4Height are an A4 page at 200 dpi, portrait.
	A4Width  = 1654
	A4Height = 2339
	// DefaultTargetBytes is the size a page JPEG aims at: about 300 KB.
	DefaultTargetBytes = 300_000
	// DefaultMinQuality and DefaultMaxQuality bound the JPEG quality search.
	DefaultMinQuality = 35
	DefaultMaxQuality = 92
	// DefaultMaxPixels bounds the photos Process decodes (a guard against decompression bombs).
	DefaultMaxPixels = 50_000_000
	// MinInputSide is the smallest width or height of a photo Process accepts.
	MinInputSide = 64
)

// Errors Process returns; callers tell them apart with errors.Is and show the person a message of
// their own.
var (
	// ErrNotImage means the input is not a JPEG or PNG image that decodes.
	ErrNotImage = errors.New("scan: input is not a decodable image")
	// ErrTooSmall means the image is too small to hold a readable page.
	ErrTooSmall = errors.New("scan: image too small")
	// ErrTooLarge means the image has more pixels than Options.MaxPixels allows.
	ErrTooLarge = errors.New("scan: image too large")
)

// Options controls Process. The zero value gives a colour A4 page at 200 dpi of about 300 KB.
type Options struct {
	// Width and Height are the output size in pixels of a portrait page; a page found lying in
	// landscape comes out Height×Width. Zero means A4Width×A4Height.
	Width, Height int
	// Gray encodes a single-channel greyscale JPEG (smaller; enough for most forms).
	Gray bool
	// TargetBytes is the JPEG size to stay under: the highest quality in [MinQuality, MaxQuality]
	// whose output fits is used; if none fits, MinQuality. Zero means DefaultTargetBytes.
	TargetBytes int
	// MinQuality and MaxQuality bound the quality search (1–100). Zero means the defaults.
	MinQuality, MaxQuality int
	// MaxPixels limits the input photo's width×height. Zero means DefaultMaxPixels.
	MaxPixels int
	// NoDetect skips page finding and uses the whole frame (the caller knows the frame is the page).
	NoDetect bool
}

func (o Options) withDefaults() Options {
	if o.Width <= 0 || o.Height <= 0 {
		o.Width, o.Height = A4Width, A4Height
	}
	if o.TargetBytes <= 0 {
		o.TargetBytes = DefaultTargetBytes
	}
	if o.MinQuality <= 0 {
		o.MinQuality = DefaultMinQuality
	}
	if o.MaxQuality <= 0 {
		o.MaxQuality = DefaultMaxQuality
	}
	o.MinQuality = min(max(o.MinQuality, 1), 100)
	o.MaxQuality = min(max(o.MaxQuality, o.MinQuality), 100)
	if o.MaxPixels <= 0 {
		o.MaxPixels = DefaultMaxPixels
	}
	return o
}

// Point is a position in an image, in pixels; (0, 0) is the top-left corner of the top-left pixel.
type Point struct{ X, Y float64 }

// Quad is a page outline: its corners in the order top-left, top-right, bottom-right, bottom-left of
// the page as it is read.
type Quad [4]Point

// Page is a processed page.
type Page struct {
	JPEG          []byte
	Width, Height int  // of the page image
	Quality       int  // the JPEG quality used
	Gray          bool // single-channel JPEG
	// Corners is the outline in the input photo that became the page.
	Corners Quad
	// Detected is false when no page border was found and the whole frame was used.
	Detected bool
	// Note says, for the staff at the counter, anything they should check (Chinese); empty when the
	// page was found cleanly.
	Note string
}

// NoteNoBorder is the Note of a page for which no border was found.
const NoteNoBorder = "未检测到纸张边缘，已使用整幅画面；请将材料平放在深色台面上，四边完整入镜后重拍"

// Process decodes a photo (JPEG or PNG), finds the page in it, warps it upright to the output size and
// encodes it. It returns ErrNotImage, ErrTooSmall or ErrTooLarge (wrapped) for input it cannot use.
func Process(photo []byte, opts Options) (*Page, error) {
	opts = opts.withDefaults()
	cfg, _, err := image.DecodeConfig(bytes.NewReader(photo))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotImage, err)
	}
	if err := checkSize(cfg.Width, cfg.Height, opts); err != nil {
		return nil, err
	}
	img, _, err := image.Decode(bytes.NewReader(photo))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotImage, err)
	}
	return ProcessImage(img, opts)
}

func checkSize(w, h int, opts Options) error {
	if w < MinInputSide || h < MinInputSide {
		return fmt.Errorf("%w: %d×%d, need at least %d pixels a side", ErrTooSmall, w, h, MinInputSide)
	}
	if int64(w)*int64(h) > int64(opts.MaxPixels) {
		return fmt.Errorf("%w: %d×%d exceeds %d pixels", ErrTooLarge, w, h, opts.MaxPixels)
	}
	return nil
}

// ProcessImage is Process for an image already decoded.
func ProcessImage(img image.Image, opts Options) (*Page, error) {
	opts = opts.withDefaults()
	b := img.Bounds()
	if err := checkSize(b.Dx(), b.Dy(), opts); err != nil {
		return nil, err
	}
	src := newPlanes(img)
	page := &Page{Gray: opts.Gray || !src.chroma}
	var quad Quad
	found := false
	if !opts.NoDetect {
		quad, found = findPage(src.y)
	}
	w, h := opts.Width, opts.Height
	var out image.Image
	if found {
		page.Detected = true
		if quad.landscape() {
			w, h = h, w
		}
		out = warp(src, quad, w, h, page.Gray)
	} else {
		if !opts.NoDetect {
			page.Note = NoteNoBorder
		}
		if b.Dx() > b.Dy() {
			w, h = h, w
		}
		quad = Quad{{0, 0}, {float64(b.Dx()), 0}, {float64(b.Dx()), float64(b.Dy())}, {0, float64(b.Dy())}}
		out = fit(src, w, h, page.Gray)
	}
	page.Corners = quad
	page.Width, page.Height = w, h
	data, q, err := encodeTarget(out, opts.TargetBytes, opts.MinQuality, opts.MaxQuality)
	if err != nil {
		return nil, err
	}
	page.JPEG, page.Quality = data, q
	return page, nil
}

// encodeTarget encodes img with the highest quality in [lo, hi] whose output is at most target bytes,
// or with lo when even that is larger. JPEG size grows with quality, so this is a search; to save
// full encodes (≈60 ms each for an A4 page) it first binary-searches a quarter-size sample of the
// page's rows, calibrates the sample against one full encode, searches the sample again (mostly from
// cache), and then steps one quality at a time with full encodes to the exact answer.
func encodeTarget(img image.Image, target, lo, hi int) ([]byte, int, error) {
	fulls := map[int][]byte{}
	full := func(q int) ([]byte, error) {
		if d, ok := fulls[q]; ok {
			return d, nil
		}
		d, err := encodeJPEG(img, q)
		fulls[q] = d
		return d, err
	}
	guess := hi
	if sample, frac := sampleRows(img); sample != nil {
		samples := map[int][]byte{}
		sampled := func(q int) ([]byte, error) {
			if d, ok := samples[q]; ok {
				return d, nil
			}
			d, err := encodeJPEG(sample, q)
			samples[q] = d
			return d, err
		}
		q1, s1, err := search(sampled, int(float64(target)*frac), lo, hi)
		if err != nil {
			return nil, 0, err
		}
		f1, err := full(q1)
		if err != nil {
			return nil, 0, err
		}
		// How the sample under- or over-estimates this page.
		scale := float64(len(f1)) * frac / float64(len(s1))
		guess, _, err = search(sampled, int(float64(target)*frac/scale), lo, hi)
		if err != nil {
			return nil, 0, err
		}
	}
	data, err := full(guess)
	if err != nil {
		return nil, 0, err
	}
	if len(data) <= target {
		for guess < hi {
			next, err := full(guess + 1)
			if err != nil {
				return nil, 0, err
			}
			if len(next) > target {
				break
			}
			data, guess = next, guess+1
		}
		return data, guess, nil
	}
	for guess > lo {
		guess--
		if data, err = full(guess); err != nil || len(data) <= target {
			return data, guess, err
		}
	}
	return data, lo, nil
}

// search binary-searches [lo, hi] for the highest quality whose encoding is at most target bytes,
// returning lo and its encoding when none fits.
func search(enc func(int) ([]byte, error), target, lo, hi int) (int, []byte, error) {
	bestQ, bestData := lo, []byte(nil)
	for lo <= hi {
		mid := (lo + hi + 1) / 2
		data, err := enc(mid)
		if err != nil {
			return 0, nil, err
		}
		if len(data) <= target {
			bestQ, bestData = mid, data
			lo = mid + 1
		} else {
			if mid == lo {
				break
			}
			hi = mid - 1
		}
	}
	if bestData == nil {
		data, err := enc(bestQ)
		return bestQ, data, err
	}
	return bestQ, bestData, nil
}

func encodeJPEG(img image.Image, q int) ([]byte, error) {
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: q}); err != nil {
		return nil, fmt.Errorf("encode page jpeg: %w", err)
	}
	return buf.Bytes(), nil
}

// sampleRows returns eight bands of rows spread over the page (a quarter of it, in 16-row steps so
// JPEG blocks line up) as one image, and the fraction of the page it holds; nil for small images or
// types it does not sample.
func sampleRows(img image.Image) (image.Image, float64) {
	h := img.Bounds().Dy()
	w := img.Bounds().Dx()
	band := h / 32 / 16 * 16
	if band < 16 || img.Bounds().Min != (image.Point{}) {
		return nil, 0
	}
	rows := 8 * band
	frac := float64(rows) / float64(h)
	switch m := img.(type) {
	case *image.Gray:
		out := image.NewGray(image.Rect(0, 0, w, rows))
		for i := 0; i < 8; i++ {
			src := (2*i + 1) * h / 16 / 16 * 16
			copy(out.Pix[i*band*out.Stride:(i+1)*band*out.Stride], m.Pix[src*m.Stride:(src+band)*m.Stride])
		}
		return out, frac
	case *image.YCbCr:
		if m.SubsampleRatio != image.YCbCrSubsampleRatio420 {
			return nil, 0
		}
		out := image.NewYCbCr(image.Rect(0, 0, w, rows), image.YCbCrSubsampleRatio420)
		for i := 0; i < 8; i++ {
			src := (2*i + 1) * h / 16 / 16 * 16
			copy(out.Y[i*band*out.YStride:(i+1)*band*out.YStride], m.Y[src*m.YStride:(src+band)*m.YStride])
			cb, cs, ch := i*band/2, src/2, band/2
			copy(out.Cb[cb*out.CStride:(cb+ch)*out.CStride], m.Cb[cs*m.CStride:(cs+ch)*m.CStride])
			copy(out.Cr[cb*out.CStride:(cb+ch)*out.CStride], m.Cr[cs*m.CStride:(cs+ch)*m.CStride])
		}
		return out, frac
	}
	return nil, 0
}
