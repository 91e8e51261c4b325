//go:build nomupdf

package raster

import "image"

// Available says whether this build renders PDFs; built with nomupdf it does not.
const Available = false

// Document is an open PDF; built without MuPDF there is none.
type Document struct{}

// Open checks the input's limits and then reports ErrUnavailable: this build cannot render.
func Open(pdf []byte) (*Document, error) {
	if err := checkInput(pdf); err != nil {
		return nil, err
	}
	return nil, ErrUnavailable
}

// Pages returns 0: nothing is open.
func (d *Document) Pages() int { return 0 }

// Image returns ErrUnavailable.
func (d *Document) Image(n int, dpi float64) (*image.RGBA, error) { return nil, ErrUnavailable }

// Close does nothing.
func (d *Document) Close() error { return nil }
