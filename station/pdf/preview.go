package pdf

import "github.com/civic-station/station/station/pdf/raster"

// Preview renders page 1 of pdf as a PNG at dpi dots per inch: about 100 for a screen preview, 300 for
// a printer that needs pixels. Errors are those of raster.PagePNG (raster.ErrNotPDF for input that is
// not a readable PDF, or a dpi out of range).
func Preview(pdf []byte, dpi float64) ([]byte, error) {
	return raster.PagePNG(pdf, 0, dpi)
}
