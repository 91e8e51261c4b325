//go:build !nomupdf

package raster

import (
	"fmt"
	"image"

	fitz "github.com/gen2brain/go-fitz"
)

// Available says whether this build renders PDFs (with MuPDF).
const Available = true

// Document is an open PDF. It is not safe for concurrent use.
type Document struct {
	doc *fitz.Document
}

// Open parses a PDF held in memory.
func Open(pdf []byte) (*Document, error) {
	if err := checkInput(pdf); err != nil {
		return nil, err
	}
	doc, err := fitz.NewFromMemory(pdf)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotPDF, err)
	}
	return &Document{doc: doc}, nil
}

// Pages returns the number of pages.
func (d *Document) Pages() int { return d.doc.NumPage() }

// Image renders page n (0-based) at dpi dots per inch.
func (d *Document) Image(n int, dpi float64) (*image.RGBA, error) {
	if n < 0 || n >= d.doc.NumPage() {
		return nil, fmt.Errorf("raster: page %d of %d", n+1, d.doc.NumPage())
	}
	if dpi <= 0 || dpi > MaxDPI {
		return nil, fmt.Errorf("raster: %v dpi (1 to %d allowed)", dpi, MaxDPI)
	}
	b, err := d.doc.Bound(n)
	if err != nil {
		return nil, fmt.Errorf("raster: page %d: %w", n+1, err)
	}
	// Bound is in points (1/72 inch).
	w, h := float64(b.Dx())*dpi/72, float64(b.Dy())*dpi/72
	if w*h > MaxPixels {
		return nil, fmt.Errorf("raster: page %d at %v dpi is %.0f×%.0f pixels, over the limit", n+1, dpi, w, h)
	}
	img, err := d.doc.ImageDPI(n, dpi)
	if err != nil {
		return nil, fmt.Errorf("raster: page %d: %w", n+1, err)
	}
	return img, nil
}

// Close releases MuPDF's memory for the document.
func (d *Document) Close() error { return d.doc.Close() }
