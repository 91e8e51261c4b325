package pdf_test

import (
	"slices"
	"testing"
	"time"

	"github.com/civic-station/station/station/pdf"
)

// BenchmarkCertificate renders the sample certificate and its 100-dpi preview, as the kiosk does
// before printing, and reports the p50 and p95 time of one certificate and the PDF's size. The seal
// is a configured image (generated once), as on a real station.
func BenchmarkCertificate(b *testing.B) {
	c := sample()
	seal, err := pdf.Seal("幸福社区居民委员会")
	if err != nil {
		b.Fatal(err)
	}
	c.Seal = seal
	var size int
	durations := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		doc, err := pdf.Render(c)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := pdf.Preview(doc, 100); err != nil {
			b.Fatal(err)
		}
		durations = append(durations, time.Since(start))
		size = len(doc)
	}
	slices.Sort(durations)
	pct := func(p float64) float64 {
		return float64(durations[int(p*float64(len(durations)-1))]) / float64(time.Millisecond)
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.95), "p95-ms")
	b.ReportMetric(float64(size), "pdf-bytes")
}

// BenchmarkSeal generates the demo seal, which Render does when no seal image is configured.
func BenchmarkSeal(b *testing.B) {
	for b.Loop() {
		if _, err := pdf.Seal("幸福社区居民委员会"); err != nil {
			b.Fatal(err)
		}
	}
}
