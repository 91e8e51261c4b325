package ipp_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/civic-station/station/devices/ipp"
)

func TestTestPageIsAWellFormedPDF(t *testing.T) {
	at := time.Date(2026, 11, 24, 9, 30, 0, 0, time.FixedZone("CST", 8*3600))
	pdf := ipp.TestPage(at, "Printer: (ipp://10.0.0.5/ipp/print)", "居民 stays ASCII")

	t.Run("every xref entry points at its object", func(t *testing.T) {
		m := regexp.MustCompile(`startxref\n(\d+)\n%%EOF\n$`).FindSubmatch(pdf)
		if m == nil {
			t.Fatal("no startxref at the end")
		}
		xref, _ := strconv.Atoi(string(m[1]))
		if !bytes.HasPrefix(pdf[xref:], []byte("xref\n0 6\n")) {
			t.Fatalf("startxref %d does not point at the xref table", xref)
		}
		entries := regexp.MustCompile(`(\d{10}) 00000 n `).FindAllSubmatch(pdf[xref:], -1)
		if len(entries) != 5 {
			t.Fatalf("%d xref entries, want 5", len(entries))
		}
		for i, e := range entries {
			off, _ := strconv.Atoi(string(e[1]))
			if want := fmt.Sprintf("%d 0 obj\n", i+1); !bytes.HasPrefix(pdf[off:], []byte(want)) {
				t.Errorf("xref entry %d points at %q, want %q", i+1, pdf[off:off+10], want)
			}
		}
	})
	t.Run("the text says what it is, when, and escapes what it must", func(t *testing.T) {
		for _, want := range []string{"(Station test page) Tj", "(2026-11-24 09:30:00 +0800) Tj", `(Printer: \(ipp://10.0.0.5/ipp/print\)) Tj`, "(?? stays ASCII) Tj"} {
			if !bytes.Contains(pdf, []byte(want)) {
				t.Errorf("PDF lacks %q", want)
			}
		}
	})
	t.Run("pdftotext reads it when poppler is installed", func(t *testing.T) {
		tool, err := exec.LookPath("pdftotext")
		if err != nil {
			t.Skip("pdftotext not installed")
		}
		path := filepath.Join(t.TempDir(), "page.pdf")
		if err := os.WriteFile(path, pdf, 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.CommandContext(t.Context(), tool, path, "-").CombinedOutput()
		if err != nil || !strings.Contains(string(out), "Station test page") || strings.Contains(string(out), "Error") {
			t.Fatalf("pdftotext: %v\n%s", err, out)
		}
	})
}
