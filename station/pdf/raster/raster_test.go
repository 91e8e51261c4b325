//go:build !nomupdf

package raster_test

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"testing"

	"github.com/civic-station/station/devices/scan"
	"github.com/civic-station/station/station/pdf/raster"
)

// page is a JPEG, 1654×2339 (A4 at 200 dpi): white with a black square in the top-left quarter.
func page(t *testing.T) []byte {
	t.Helper()
	img := image.NewGray(image.Rect(0, 0, 1654, 2339))
	for i := range img.Pix {
		img.Pix[i] = 0xff
	}
	for y := 200; y < 600; y++ {
		for x := 200; x < 600; x++ {
			img.SetGray(x, y, color.Gray{})
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 80}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestRenderScannedPages(t *testing.T) {
	pdf, err := scan.PDF([][]byte{page(t), page(t)})
	if err != nil {
		t.Fatal(err)
	}
	d, err := raster.Open(pdf)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if d.Pages() != 2 {
		t.Fatalf("pages = %d, want 2", d.Pages())
	}
	img, err := d.Image(1, 72)
	if err != nil {
		t.Fatal(err)
	}
	// A4 is 595×842 points; at 72 dpi one pixel per point.
	if w, h := img.Bounds().Dx(), img.Bounds().Dy(); w < 594 || w > 596 || h < 841 || h > 843 {
		t.Fatalf("page 2 at 72 dpi is %d×%d, want about 595×842", w, h)
	}
	// The square spans 200..600 of 1654 px across: 72..259 pt. Its middle is dark, the far corner white.
	if r, _, _, _ := img.At(160, 160).RGBA(); r > 0x4000 {
		t.Errorf("inside the square: red %#x, want dark", r)
	}
	if r, _, _, _ := img.At(500, 750).RGBA(); r < 0xc000 {
		t.Errorf("blank part of the page: red %#x, want light", r)
	}

	b, err := raster.PagePNG(pdf, 0, 50)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := png.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Width < 410 || cfg.Width > 415 {
		t.Errorf("PNG width at 50 dpi = %d, want about 413", cfg.Width)
	}
}

func TestRefusesBadInput(t *testing.T) {
	for name, in := range map[string][]byte{
		"empty":     nil,
		"not a PDF": []byte("GIF89a........"),
		"truncated": []byte("%PDF-1.4\n1 0 obj\n<<"),
	} {
		t.Run(name, func(t *testing.T) {
			d, err := raster.Open(in)
			if err == nil {
				// MuPDF repairs some broken files; a repaired file without pages still renders nothing.
				defer d.Close()
				if _, err := d.PNG(0, 72); err == nil {
					t.Fatal("rendered a page from a broken file")
				}
				return
			}
			if !errors.Is(err, raster.ErrNotPDF) {
				t.Fatalf("error %v, want ErrNotPDF", err)
			}
		})
	}
	pdf, err := scan.PDF([][]byte{page(t)})
	if err != nil {
		t.Fatal(err)
	}
	d, err := raster.Open(pdf)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := d.PNG(1, 72); err == nil {
		t.Error("rendered page 2 of a one-page document")
	}
	if _, err := d.PNG(0, 5000); err == nil {
		t.Error("rendered at 5000 dpi")
	}
}

func TestPagesJPEGRendersEveryPageInOrder(t *testing.T) {
	pdf, err := scan.PDF([][]byte{page(t), page(t)})
	if err != nil {
		t.Fatal(err)
	}
	pages, err := raster.PagesJPEG(pdf, 72)
	if err != nil {
		t.Fatal(err)
	}
	if len(pages) != 2 {
		t.Fatalf("got %d JPEGs, want one per page, 2", len(pages))
	}
	for i, p := range pages {
		cfg, err := jpeg.DecodeConfig(bytes.NewReader(p))
		if err != nil {
			t.Fatalf("page %d: %v", i+1, err)
		}
		if cfg.Width < 594 || cfg.Width > 596 || cfg.Height < 841 || cfg.Height > 843 {
			t.Errorf("page %d at 72 dpi is %d×%d, want about 595×842", i+1, cfg.Width, cfg.Height)
		}
	}
	if _, err := raster.PagesJPEG([]byte("not a pdf"), 300); !errors.Is(err, raster.ErrNotPDF) {
		t.Errorf("PagesJPEG of a non-PDF = %v, want ErrNotPDF", err)
	}
}
