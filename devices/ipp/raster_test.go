package ipp_test

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/civic-station/station/devices"
	"github.com/civic-station/station/devices/ipp"
	"github.com/civic-station/station/devices/ipp/ipptest"
	"github.com/civic-station/station/devices/scan"
	"github.com/civic-station/station/devices/sim/ippsim"
	"github.com/civic-station/station/station/pdf/raster"
)

// jpegOnly is a printer without a PDF interpreter.
var jpegOnly = ippsim.Config{DocumentFormats: []string{"image/jpeg"}}

// rasterOptions are fastOptions with the MuPDF rasterizer cmd/station wires in.
func rasterOptions() ipp.Options {
	opts := fastOptions
	opts.Rasterize = raster.PagesJPEG
	return opts
}

// twoPagePDF is an A4 PDF of two scanned pages, each a 200-dpi JPEG with a dark square.
func twoPagePDF(t *testing.T) []byte {
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
	pdf, err := scan.PDF([][]byte{buf.Bytes(), buf.Bytes()})
	if err != nil {
		t.Fatal(err)
	}
	return pdf
}

func TestConformanceWithAJPEGOnlySimulator(t *testing.T) {
	ipptest.Run(t, func(t *testing.T) ipptest.Rig {
		opts := rasterOptions()
		opts.JobTimeout = time.Second
		cfg := jpegOnly
		cfg.JobDelay = 20 * time.Millisecond
		r := startSim(t, cfg, opts)
		r.goAway = closePort
		return ipptest.Rig{Printer: r.printer, Faults: r}
	})
}

func TestPrintPDFSendsA300DPIJPEGPerPageToAJPEGOnlyPrinter(t *testing.T) {
	r := startSim(t, jpegOnly, rasterOptions())
	if err := r.printer.PrintPDF(t.Context(), "证明-0002", twoPagePDF(t)); err != nil {
		t.Fatalf("PrintPDF: %v", err)
	}
	docs := r.sim.Documents()
	if len(docs) != 2 {
		t.Fatalf("printer received %d documents, want one per page, 2", len(docs))
	}
	for i, d := range docs {
		// A4 is 8.27×11.69 in: 2480×3508 pixels at 300 dpi.
		if d.Format != "image/jpeg" || d.Width < 2478 || d.Width > 2482 || d.Height < 3506 || d.Height > 3510 {
			t.Errorf("page %d = %s %d×%d, want image/jpeg of about 2480×3508", i+1, d.Format, d.Width, d.Height)
		}
		if want := []string{"证明-0002 (1/2)", "证明-0002 (2/2)"}[i]; d.Name != want {
			t.Errorf("page %d job-name = %q, want %q", i+1, d.Name, want)
		}
	}
	for _, j := range r.sim.Jobs() {
		if j.State != 9 {
			t.Errorf("job %d state = %d, want completed (9)", j.ID, j.State)
		}
	}
}

func TestPrintPDFSendsPDFToAPrinterThatTakesBoth(t *testing.T) {
	opts := fastOptions
	opts.Rasterize = func([]byte, float64) ([][]byte, error) {
		t.Error("Rasterize was called for a printer that takes PDF")
		return nil, errors.New("not wanted")
	}
	r := startSim(t, ippsim.Config{DocumentFormats: []string{"application/pdf", "image/jpeg"}}, opts)
	pdf := twoPagePDF(t)
	if err := r.printer.PrintPDF(t.Context(), "both", pdf); err != nil {
		t.Fatalf("PrintPDF: %v", err)
	}
	if docs := r.sim.Documents(); len(docs) != 1 || docs[0].Format != "application/pdf" || !bytes.Equal(docs[0].Data, pdf) {
		t.Fatalf("printer received %d documents, want the PDF as it was", len(docs))
	}
}

func TestPrintPDFRefusesAPrinterWithoutAFormatItCanSend(t *testing.T) {
	tests := []struct {
		name string
		cfg  ippsim.Config
		opts ipp.Options
	}{
		{"a printer that takes neither PDF nor JPEG", ippsim.Config{DocumentFormats: []string{"image/pwg-raster", "image/urf"}}, rasterOptions()},
		{"a JPEG-only printer when the driver has no rasterizer", jpegOnly, fastOptions},
	}
	for _, tt := range tests {
		t.Run("refuses "+tt.name, func(t *testing.T) {
			r := startSim(t, tt.cfg, tt.opts)
			st := r.printer.Status(t.Context())
			if !st.Connected || !strings.Contains(st.LastError, "不支持PDF或JPEG") {
				t.Errorf("Status() = %+v, want connected with a LastError about the formats", st)
			}
			err := r.printer.PrintPDF(t.Context(), "x", twoPagePDF(t))
			if !errors.Is(err, ipp.ErrFormatUnsupported) {
				t.Fatalf("PrintPDF error = %v, want ErrFormatUnsupported", err)
			}
			if got := ipp.Explain(err); got != "打印机不支持PDF或JPEG文件格式，无法打印" {
				t.Errorf("Explain = %q", got)
			}
			if n := len(r.sim.Documents()); n != 0 {
				t.Fatalf("printer received %d documents, want 0", n)
			}
		})
	}
}

func TestPrintPDFStopsAtThePageWherePaperRunsOut(t *testing.T) {
	sim := ippsim.New(jpegOnly)
	// The paper runs out as the first page's job is accepted.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(body))
		sim.ServeHTTP(w, req)
		if len(body) > 4 && body[3] == 0x02 { // Print-Job
			sim.SetMediaEmpty(true)
		}
	}))
	defer srv.Close()
	p, err := ipp.New(strings.Replace(srv.URL, "http://", "ipp://", 1)+"/ipp/print", rasterOptions())
	if err != nil {
		t.Fatal(err)
	}
	err = p.PrintPDF(t.Context(), "two pages", twoPagePDF(t))
	if !errors.Is(err, devices.ErrPaperOut) || !strings.Contains(err.Error(), "page 2 of 2") {
		t.Fatalf("PrintPDF error = %v, want ErrPaperOut at page 2 of 2", err)
	}
	if n := len(sim.Documents()); n != 1 {
		t.Fatalf("printer received %d documents, want only page 1", n)
	}
}
