package escpos_test

import (
	"os"
	"testing"

	"github.com/civic-station/station/devices/escpos"
	"github.com/civic-station/station/devices/escpos/printertest"
	"github.com/civic-station/station/devices/sim/escpossim"
)

func TestConformanceWithTheSimulator(t *testing.T) {
	font := needFont(t)
	sim, uri := startSim(t, escpossim.Config{FontPaths: []string{font}})
	printertest.Run(t, printertest.Harness{
		Printer:      openPrinter(t, uri, escpos.Options{FontPaths: []string{font}}),
		SetPaper:     sim.SetPaper,
		SetCoverOpen: sim.SetCoverOpen,
		Printed:      func() []string { return printedTexts(sim) },
	})
}

// TestConformanceWithHardware runs the suite against a real printer:
//
//	STATION_HW_TICKET=tcp://10.0.0.9:9100 go test ./devices/escpos -run Hardware
//
// It prints a few tickets.
func TestConformanceWithHardware(t *testing.T) {
	uri := os.Getenv("STATION_HW_TICKET")
	if uri == "" {
		t.Skip("set STATION_HW_TICKET=tcp://HOST:9100 or serial:///dev/ttyUSB0?baud=… to test a real printer")
	}
	printertest.Run(t, printertest.Harness{Printer: openPrinter(t, uri, escpos.Options{})})
}
