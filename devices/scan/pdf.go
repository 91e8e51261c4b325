package scan

import (
	"bytes"
	"errors"
	"fmt"
	"image/color"
	"image/jpeg"
	"math"
	"strconv"
)

// A4 in PDF points (1/72 inch).
const (
	a4WidthPt  = 595.276
	a4HeightPt = 841.89
)

// ErrBadPage means a page given to PDF is not a JPEG it can embed (greyscale or YCbCr/RGB).
var ErrBadPage = errors.New("scan: page is not an embeddable JPEG")

// PDF assembles page JPEGs into one PDF of A4 pages, one page per image, in order. The JPEG data is
// embedded as it is (DCTDecode), so nothing is re-encoded. A page image wider than tall gets a
// landscape page; an image whose proportions are not A4's is scaled to fit and centred. It returns
// ErrBadPage (wrapped, with the page number) for data that is not a greyscale or colour JPEG, and an
// error for an empty list.
func PDF(pages [][]byte) ([]byte, error) {
	if len(pages) == 0 {
		return nil, errors.New("scan: no pages for the PDF")
	}
	type info struct {
		w, h  int
		space string
	}
	infos := make([]info, len(pages))
	for i, p := range pages {
		if len(p) < 4 || p[0] != 0xFF || p[1] != 0xD8 {
			return nil, fmt.Errorf("page %d: %w: no JPEG start marker", i+1, ErrBadPage)
		}
		cfg, err := jpeg.DecodeConfig(bytes.NewReader(p))
		if err != nil {
			return nil, fmt.Errorf("page %d: %w: %v", i+1, ErrBadPage, err)
		}
		switch cfg.ColorModel {
		case color.GrayModel:
			infos[i] = info{cfg.Width, cfg.Height, "/DeviceGray"}
		case color.YCbCrModel:
			infos[i] = info{cfg.Width, cfg.Height, "/DeviceRGB"}
		default:
			return nil, fmt.Errorf("page %d: %w: unsupported colour model (CMYK?)", i+1, ErrBadPage)
		}
	}

	var b bytes.Buffer
	// Object numbers: 1 catalog, 2 page tree, then per page: page, contents, image.
	offsets := make([]int, 3+3*len(pages))
	obj := func(n int, body string) {
		offsets[n] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", n, body)
	}
	b.WriteString("%PDF-1.4\n%\xE2\xE3\xCF\xD3\n")
	obj(1, "<< /Type /Catalog /Pages 2 0 R >>")
	kids := make([]byte, 0, 16*len(pages))
	for i := range pages {
		kids = fmt.Appendf(kids, "%d 0 R ", 3+3*i)
	}
	obj(2, fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", bytes.TrimSpace(kids), len(pages)))
	for i, p := range pages {
		n := 3 + 3*i
		in := infos[i]
		pw, ph := a4WidthPt, a4HeightPt
		if in.w > in.h {
			pw, ph = ph, pw
		}
		s := min(pw/float64(in.w), ph/float64(in.h))
		dw, dh := float64(in.w)*s, float64(in.h)*s
		obj(n, fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %s %s] /Resources << /XObject << /Im0 %d 0 R >> >> /Contents %d 0 R >>",
			num(pw), num(ph), n+2, n+1))
		content := fmt.Sprintf("q %s 0 0 %s %s %s cm /Im0 Do Q", num(dw), num(dh), num((pw-dw)/2), num((ph-dh)/2))
		obj(n+1, fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(content), content))
		offsets[n+2] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace %s /BitsPerComponent 8 /Filter /DCTDecode /Length %d >>\nstream\n",
			n+2, in.w, in.h, in.space, len(p))
		b.Write(p)
		b.WriteString("\nendstream\nendobj\n")
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(offsets))
	for _, off := range offsets[1:] {
		fmt.Fprintf(&b, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(offsets), xref)
	return b.Bytes(), nil
}

// num formats a PDF real with at most three decimals.
func num(v float64) string {
	return strconv.FormatFloat(math.Round(v*1000)/1000, 'f', -1, 64)
}
