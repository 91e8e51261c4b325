package escpos_test

import (
	"context"
	"flag"
	"net"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/civic-station/station/devices"
	"github.com/civic-station/station/devices/escpos"
	"github.com/civic-station/station/devices/sim/escpossim"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// needFont returns the CJK font path, failing under CI (where it must be installed) and skipping
// elsewhere when it is missing.
func needFont(t testing.TB) string {
	t.Helper()
	if _, err := os.Stat(escpos.DefaultFontPath); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("font missing under CI: %v (apt-get install -y fonts-droid-fallback)", err)
		}
		t.Skipf("font %s missing: apt-get install -y fonts-droid-fallback to run this test", escpos.DefaultFontPath)
	}
	return escpos.DefaultFontPath
}

// startSim runs a simulator on a real TCP socket until the test ends and returns it with its URI.
func startSim(t testing.TB, cfg escpossim.Config) (*escpossim.Sim, string) {
	t.Helper()
	sim, err := escpossim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := sim.Serve(ctx, ln); err != nil {
			t.Errorf("Serve: %v", err)
		}
	}()
	t.Cleanup(func() { cancel(); wg.Wait() })
	return sim, "tcp://" + ln.Addr().String()
}

// wantText is the plain text the simulator should read back from a ticket: a line's text, or
// "[图像]" for a line the printer's font lacks, "[二维码] …" for a QR code, blank lines for feeds,
// and the two feed lines before the cut.
func wantText(tk devices.Ticket) string {
	var lines []string
	for _, l := range tk.Lines {
		switch {
		case l.QR != "":
			lines = append(lines, "[二维码] "+l.QR)
		case escpos.PrinterHasAll(l.Text):
			lines = append(lines, l.Text)
		default:
			lines = append(lines, "[图像]")
		}
		for range l.Feed {
			lines = append(lines, "")
		}
	}
	lines = append(lines, "", "")
	return strings.Join(lines, "\n") + "\n"
}

func printedTexts(sim *escpossim.Sim) []string {
	var out []string
	for _, j := range sim.Jobs() {
		out = append(out, j.Text())
	}
	return out
}
