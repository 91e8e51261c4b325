package escpos_test

import (
	"testing"

	"github.com/civic-station/station/devices/escpos"
	"github.com/civic-station/station/devices/sim/escpossim"
)

// BenchmarkPrintQueueTicket encodes a queue ticket and prints it on the simulator over TCP,
// including the status queries before and after the job that confirm it.
func BenchmarkPrintQueueTicket(b *testing.B) {
	_, uri := startSim(b, escpossim.Config{Keep: 1})
	p := openPrinter(b, uri, escpos.Options{})
	tk := queueTicket()
	ctx := b.Context()
	b.ReportAllocs()
	for b.Loop() {
		if err := p.Print(ctx, tk); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N), "µs/op")
}
