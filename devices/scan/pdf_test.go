package scan_test

import (
	"bytes"
	"errors"
	"flag"
	"image"
	"image/color"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/civic-station/station/devices/scan"
	"github.com/civic-station/station/devices/scan/scantest"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

// smallPage draws a tiny page image: a frame and a diagonal, in colour or grey.
func smallPage(w, h int, gray bool) image.Image {
	var img interface {
		image.Image
		Set(x, y int, c color.Color)
	}
	if gray {
		img = image.NewGray(image.Rect(0, 0, w, h))
	} else {
		img = image.NewRGBA(image.Rect(0, 0, w, h))
	}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			c := color.RGBA{250, 250, 245, 255}
			if x < 2 || y < 2 || x >= w-2 || y >= h-2 || x*h/w == y {
				c = color.RGBA{200, 30, 30, 255}
			}
			img.Set(x, y, c)
		}
	}
	return img
}

// TestPDFMatchesGolden pins the PDF's bytes: a colour portrait page, a grey landscape page and a
// square image fitted onto a portrait page. Run with -update to rewrite the fixtures.
func TestPDFMatchesGolden(t *testing.T) {
	dir := filepath.Join("testdata", "pdf")
	names := []string{"colour-portrait.jpg", "grey-landscape.jpg", "square.jpg"}
	if *update {
		imgs := []image.Image{smallPage(42, 59, false), smallPage(59, 42, true), smallPage(40, 40, false)}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for i, n := range names {
			if err := os.WriteFile(filepath.Join(dir, n), encodeJPEG(t, imgs[i], 75), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	var pages [][]byte
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			t.Fatal(err)
		}
		pages = append(pages, b)
	}
	got, err := scan.PDF(pages)
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join(dir, "three-pages.pdf")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("PDF differs from %s (%d bytes, want %d); run with -update if the change is intended", golden, len(got), len(want))
	}
	checkXref(t, got)
}

// checkXref checks that every cross-reference entry points at its object's header, and startxref at
// the table.
func checkXref(t *testing.T, pdf []byte) {
	t.Helper()
	m := regexp.MustCompile(`startxref\n(\d+)\n%%EOF\n$`).FindSubmatch(pdf)
	if m == nil {
		t.Fatal("no startxref at the end")
	}
	xref, _ := strconv.Atoi(string(m[1]))
	if !bytes.HasPrefix(pdf[xref:], []byte("xref\n")) {
		t.Fatalf("startxref %d does not point at the xref table", xref)
	}
	lines := strings.Split(string(pdf[xref:]), "\n")
	count, err := parseXrefHeader(lines[1])
	if err != nil {
		t.Fatalf("xref header %q: %v", lines[1], err)
	}
	for n := 1; n < count; n++ {
		entry := lines[2+n]
		if len(entry) != 19 { // 20 bytes with the newline
			t.Fatalf("xref entry %d is %q", n, entry)
		}
		off, _ := strconv.Atoi(entry[:10])
		if !bytes.HasPrefix(pdf[off:], []byte(strconv.Itoa(n)+" 0 obj\n")) {
			t.Errorf("xref entry %d points at %q", n, pdf[off:min(off+12, len(pdf))])
		}
	}
}

// parseXrefHeader reads the "0 N" line of a single-section xref table.
func parseXrefHeader(s string) (int, error) {
	f := strings.Fields(s)
	if len(f) != 2 || f[0] != "0" {
		return 0, errors.New(`want "0 N"`)
	}
	return strconv.Atoi(f[1])
}

func TestPDFRefusesWhatItCannotEmbed(t *testing.T) {
	good := encodeJPEG(t, smallPage(20, 28, false), 75)
	cmyk := encodeJPEG(t, image.NewCMYK(image.Rect(0, 0, 20, 28)), 75) // Go writes CMYK as YCbCr: embeddable
	tests := []struct {
		name  string
		pages [][]byte
		ok    bool
	}{
		{"no pages at all is an error", nil, false},
		{"a PNG page is refused", [][]byte{good, []byte("\x89PNG\r\n\x1a\n")}, false},
		{"a truncated JPEG page is refused", [][]byte{good[:10]}, false},
		{"a JPEG re-encoded from CMYK pixels is embedded", [][]byte{cmyk}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := scan.PDF(tt.pages)
			if (err == nil) != tt.ok {
				t.Fatalf("PDF error = %v, want ok=%v", err, tt.ok)
			}
			if err != nil && tt.pages != nil && !errors.Is(err, scan.ErrBadPage) {
				t.Errorf("error %v is not ErrBadPage", err)
			}
		})
	}
}

// TestPDFOfScannedPagesOpensInPoppler assembles real processed pages and has poppler read them back:
// pdfinfo must see every page at A4, and pdftoppm must render the first page.
func TestPDFOfScannedPagesOpensInPoppler(t *testing.T) {
	if _, err := exec.LookPath("pdfinfo"); err != nil {
		t.Skip("pdfinfo (poppler-utils) not installed")
	}
	var pages [][]byte
	for i, gray := range []bool{false, true, false} {
		photo, _ := scantest.Photo(scantest.Spec{Width: 1280, Height: 960, Angle: float64(4*i - 4), Tilt: 5, Seed: uint64(20 + i)})
		page, err := scan.ProcessImage(photo, scan.Options{Gray: gray})
		if err != nil {
			t.Fatal(err)
		}
		pages = append(pages, page.JPEG)
	}
	pdf, err := scan.PDF(pages)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "scan.pdf")
	if err := os.WriteFile(path, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("pdfinfo", path).CombinedOutput()
	if err != nil {
		t.Fatalf("pdfinfo: %v\n%s", err, out)
	}
	if !regexp.MustCompile(`(?m)^Pages:\s+3$`).Match(out) || !strings.Contains(string(out), "(A4)") {
		t.Errorf("pdfinfo does not see 3 A4 pages:\n%s", out)
	}
	if strings.Contains(string(out), "Syntax Error") {
		t.Errorf("pdfinfo reports syntax errors:\n%s", out)
	}
	if _, err := exec.LookPath("pdftoppm"); err != nil {
		return
	}
	out, err = exec.Command("pdftoppm", "-r", "20", "-f", "1", "-l", "1", "-png", path, filepath.Join(dir, "p")).CombinedOutput()
	if err != nil || len(out) > 0 {
		t.Fatalf("pdftoppm: %v\n%s", err, out)
	}
	if m, _ := filepath.Glob(filepath.Join(dir, "p*.png")); len(m) != 1 {
		t.Errorf("pdftoppm rendered %v", m)
	}
}
