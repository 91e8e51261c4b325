// Package printertest is the conformance suite for devices.TicketPrinter: the behaviour every ticket
// printer driver must show, run against the simulator always and against real hardware when a
// technician points a test at one.
package printertest

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/civic-station/station/devices"
)

// Harness is a printer under test and, for a simulator, the controls a test needs. The controls are
// nil for real hardware, and the cases needing them are skipped.
type Harness struct {
	Printer devices.TicketPrinter
	// SetPaper loads or removes the paper.
	SetPaper func(ok bool)
	// SetCoverOpen opens or closes the cover.
	SetCoverOpen func(open bool)
	// Printed returns the plain text of the jobs printed so far, oldest first.
	Printed func() []string
}

// Run runs the suite. Each case leaves the printer with paper and the cover closed.
func Run(t *testing.T, h Harness) {
	t.Helper()
	ctx := t.Context()
	ticket := devices.Ticket{Lines: []devices.TicketLine{
		{Text: "一致性测试", Bold: true, Double: true, Align: devices.AlignCenter},
		{Text: "Conformance 123", Feed: 1},
		{QR: "https://station.example/t/1", Align: devices.AlignCenter},
	}}
	needSim := func(t *testing.T) {
		if h.SetPaper == nil || h.Printed == nil {
			t.Skip("needs a simulator: this printer cannot be told to run out of paper")
		}
	}

	t.Run("a ready printer reports itself connected and ready", func(t *testing.T) {
		st := h.Printer.Status(ctx)
		if !st.Connected || (st.State != devices.StateReady && st.State != devices.StatePaperLow) {
			t.Fatalf("status = %+v, want connected and ready", st)
		}
		if st.Kind != devices.KindTicketPrinter || st.UpdatedAt.IsZero() {
			t.Errorf("status = %+v, want kind %q and a time", st, devices.KindTicketPrinter)
		}
	})

	t.Run("a ticket prints and the printer confirms it", func(t *testing.T) {
		before := printed(h)
		if err := h.Printer.Print(ctx, ticket); err != nil {
			t.Fatalf("Print: %v", err)
		}
		if h.Printed == nil {
			return
		}
		after := printed(h)
		if len(after) != len(before)+1 {
			t.Fatalf("printed %d jobs, want %d", len(after), len(before)+1)
		}
		if got := after[len(after)-1]; !strings.Contains(got, "一致性测试") || !strings.Contains(got, "https://station.example/t/1") {
			t.Errorf("printed text %q lacks the ticket's text or QR", got)
		}
	})

	t.Run("a ticket with a rare character in a name prints", func(t *testing.T) {
		rare := devices.Ticket{Lines: []devices.TicketLine{{Text: "申请人：王䶮", Align: devices.AlignCenter}}}
		if err := h.Printer.Print(ctx, rare); err != nil {
			t.Fatalf("Print: %v", err)
		}
	})

	t.Run("a canceled print is not confirmed", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if err := h.Printer.Print(cctx, ticket); err == nil {
			t.Fatal("Print with a canceled context returned nil")
		}
	})

	t.Run("a printer without paper refuses the job with ErrPaperOut", func(t *testing.T) {
		needSim(t)
		h.SetPaper(false)
		defer h.SetPaper(true)
		before := len(printed(h))
		err := h.Printer.Print(ctx, ticket)
		if !errors.Is(err, devices.ErrPaperOut) {
			t.Fatalf("Print = %v, want ErrPaperOut", err)
		}
		if n := len(printed(h)); n != before {
			t.Errorf("%d jobs printed without paper", n-before)
		}
		if st := h.Printer.Status(ctx); st.State != devices.StatePaperOut || !st.Connected {
			t.Errorf("status = %+v, want connected and paper out", st)
		}
	})

	t.Run("a printer with its cover open does not confirm the job", func(t *testing.T) {
		if h.SetCoverOpen == nil {
			t.Skip("needs a simulator")
		}
		h.SetCoverOpen(true)
		defer h.SetCoverOpen(false)
		err := h.Printer.Print(ctx, ticket)
		if !errors.Is(err, devices.ErrNotConfirmed) {
			t.Fatalf("Print = %v, want ErrNotConfirmed", err)
		}
		if st := h.Printer.Status(ctx); st.State != devices.StateError {
			t.Errorf("status = %+v, want error", st)
		}
	})

	t.Run("a printer given paper again prints again", func(t *testing.T) {
		needSim(t)
		h.SetPaper(false)
		h.SetPaper(true)
		if err := h.Printer.Print(ctx, ticket); err != nil {
			t.Fatalf("Print: %v", err)
		}
	})

	t.Run("the last error and its time are reported after a failure", func(t *testing.T) {
		needSim(t)
		h.SetPaper(false)
		h.Printer.Print(ctx, ticket)
		h.SetPaper(true)
		st := h.Printer.Status(ctx)
		if st.LastError == "" || st.LastErrorAt.IsZero() {
			t.Errorf("status = %+v, want the paper-out error", st)
		}
	})
}

func printed(h Harness) []string {
	if h.Printed == nil {
		return nil
	}
	return h.Printed()
}
