//go:build nomupdf

package raster

import (
	"errors"
	"testing"
)

func TestABuildWithoutMuPDFSaysSo(t *testing.T) {
	if Available {
		t.Fatal("Available in a nomupdf build")
	}
	if _, err := PagePNG([]byte("%PDF-1.4\n"), 0, 100); !errors.Is(err, ErrUnavailable) {
		t.Errorf("PagePNG = %v, want ErrUnavailable", err)
	}
	if _, err := Open([]byte("not a pdf")); !errors.Is(err, ErrNotPDF) {
		t.Errorf("Open of garbage = %v, want ErrNotPDF before ErrUnavailable", err)
	}
}
