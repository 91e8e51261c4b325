// Package raster turns PDF pages into pixels with MuPDF (github.com/gen2brain/go-fitz, cgo with the
// bundled static MuPDF; MuPDF is AGPL-3.0, see the README's licence section). It is the one place the
// program renders PDFs: certificate previews on screen, 300-dpi rasters for printers that need pixels,
// and the department console's preview of scanned materials.
//
// Built with the nomupdf tag (targets go-fitz has no MuPDF for, such as linux/loong64) it renders
// nothing: Available is false and Open returns ErrUnavailable, so callers fall back or say so.
package raster

import (
	"bytes"
	"errors"
	"fmt"
	"image/jpeg"
	"image/png"
)

// Limits on what Render accepts, so that a hostile or broken file cannot take the memory of the box.
const (
	MaxInput = 64 << 20 // bytes of PDF
	MaxDPI   = 600
	// MaxPixels bounds one rendered page: an A4 page at 600 dpi is about 35 million pixels.
	MaxPixels = 40_000_000
)

// ErrNotPDF reports input that MuPDF cannot open as a document.
var ErrNotPDF = errors.New("raster: not a readable PDF")

// ErrUnavailable reports a binary built without MuPDF (the nomupdf tag, for targets go-fitz has no
// build of, such as linux/loong64): it cannot render PDFs.
var ErrUnavailable = errors.New("raster: this build has no PDF renderer (built without MuPDF)")

// checkInput applies the limits every renderer shares.
func checkInput(pdf []byte) error {
	if len(pdf) == 0 || len(pdf) > MaxInput {
		return fmt.Errorf("%w: %d bytes (1 to %d allowed)", ErrNotPDF, len(pdf), MaxInput)
	}
	if !bytes.HasPrefix(pdf, []byte("%PDF-")) {
		return fmt.Errorf("%w: no %%PDF- header", ErrNotPDF)
	}
	return nil
}

// PNG renders page n (0-based) at dpi as a PNG file.
func (d *Document) PNG(n int, dpi float64) ([]byte, error) {
	img, err := d.Image(n, dpi)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	if err := enc.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("raster: encode PNG: %w", err)
	}
	return buf.Bytes(), nil
}

// PagePNG opens pdf, renders page n (0-based) at dpi as PNG, and closes it.
func PagePNG(pdf []byte, n int, dpi float64) ([]byte, error) {
	d, err := Open(pdf)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	return d.PNG(n, dpi)
}

// PagesJPEG renders every page of pdf at dpi and encodes each as a JPEG (quality 90), in page order:
// what a printer that accepts image/jpeg but not PDF is sent. Pages are rendered one at a time, so
// only one page's pixels are held at once. Errors are those of Open and Image, or of the encoder.
func PagesJPEG(pdf []byte, dpi float64) ([][]byte, error) {
	d, err := Open(pdf)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	out := make([][]byte, 0, d.Pages())
	for n := range d.Pages() {
		img, err := d.Image(n, dpi)
		if err != nil {
			return nil, err
		}
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90}); err != nil {
			return nil, fmt.Errorf("raster: encode page %d as JPEG: %w", n+1, err)
		}
		out = append(out, buf.Bytes())
	}
	return out, nil
}
