package camsim_test

import (
	"context"
	"testing"

	"github.com/civic-station/station/devices/scan"
	"github.com/civic-station/station/devices/sim/camsim"
)

// BenchmarkStillToPage takes a 5 MP still from the simulated camera and processes it into an A4 page
// JPEG: decode, find the page, warp, quality search, encode.
//
//	go test ./devices/sim/camsim -run '^$' -bench . -benchtime 10x
func BenchmarkStillToPage(b *testing.B) {
	for _, bc := range []struct {
		name string
		gray bool
	}{{"colour", false}, {"grey", true}} {
		b.Run(bc.name, func(b *testing.B) {
			cam := camsim.New(camsim.Options{Pages: camsim.DefaultPages(1)})
			ctx := context.Background()
			if _, err := cam.Still(ctx); err != nil { // render the sheet outside the timing
				b.Fatal(err)
			}
			var size, q int
			b.ResetTimer()
			for b.Loop() {
				f, err := cam.Still(ctx)
				if err != nil {
					b.Fatal(err)
				}
				page, err := scan.Process(f.JPEG, scan.Options{Gray: bc.gray})
				if err != nil {
					b.Fatal(err)
				}
				size, q = len(page.JPEG), page.Quality
			}
			b.ReportMetric(float64(size)/1000, "KB/page")
			b.ReportMetric(float64(q), "quality")
		})
	}
}

// BenchmarkFivePagesToPDF assembles five processed A4 pages into one PDF.
func BenchmarkFivePagesToPDF(b *testing.B) {
	cam := camsim.New(camsim.Options{Pages: camsim.DefaultPages(5)})
	ctx := context.Background()
	var pages [][]byte
	for i := 0; i < 5; i++ {
		f, err := cam.Still(ctx)
		if err != nil {
			b.Fatal(err)
		}
		page, err := scan.Process(f.JPEG, scan.Options{})
		if err != nil {
			b.Fatal(err)
		}
		pages = append(pages, page.JPEG)
		cam.NextPage()
	}
	var size int
	b.ResetTimer()
	for b.Loop() {
		pdf, err := scan.PDF(pages)
		if err != nil {
			b.Fatal(err)
		}
		size = len(pdf)
	}
	b.ReportMetric(float64(size)/1000, "KB/pdf")
}
