// Package ipptest is the conformance suite every devices.DocumentPrinter passes: the IPP driver
// against the in-process simulator (devices/sim/ippsim) on every test run, and against CUPS or a real
// printer when one is configured. Cases that need a fault injected run only when the rig can inject
// faults. The suite lives beside the only document printer driver; it moves to devices/ when a second
// one appears.
package ipptest

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/civic-station/station/devices"
	"github.com/civic-station/station/devices/ipp"
)

// Faults injects faults into the printer behind a rig. Real printers and CUPS have none.
type Faults interface {
	// SetPaperOut takes the paper out of the printer, or puts it back.
	SetPaperOut(out bool)
	// JamNextJob makes the next job jam halfway through.
	JamNextJob()
	// SetSlow makes jobs from now on take longer than the driver waits for them.
	SetSlow()
	// GoAway makes the printer stop answering for good.
	GoAway()
	// Received returns how many documents the printer has received.
	Received() int
}

// Rig is a printer under test.
type Rig struct {
	Printer devices.DocumentPrinter
	Faults  Faults // nil when faults cannot be injected
}

// Run runs the suite. newRig makes a fresh rig for each case; it should register its cleanup with t.
func Run(t *testing.T, newRig func(t *testing.T) Rig) {
	tests := []struct {
		name       string
		needFaults bool
		run        func(t *testing.T, r Rig)
	}{
		{"a ready printer reports itself connected and able to print", false, readyStatus},
		{"a PDF counts as printed when the printer completes it", false, printsPDF},
		{"a document that is not a PDF is refused", false, refusesNonPDF},
		{"a print whose context is already canceled is not counted as printed", false, canceledContext},
		{"a printer out of paper says so and nothing is sent to it", true, paperOut},
		{"a jam in the middle of the job is reported as not printed", true, jamMidJob},
		{"a job that never completes is reported as not printed", true, slowJob},
		{"a printer that went away is reported disconnected and prints nothing", true, goneAway},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t)
			if tt.needFaults && r.Faults == nil {
				t.Skip("this printer cannot have faults injected")
			}
			tt.run(t, r)
		})
	}
}

func ctx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func page(t *testing.T) []byte {
	return ipp.TestPage(time.Now(), "conformance: "+t.Name())
}

func readyStatus(t *testing.T, r Rig) {
	st := r.Printer.Status(ctx(t))
	if !st.Connected {
		t.Fatalf("Status().Connected = false; status %+v", st)
	}
	if !slices.Contains([]devices.State{devices.StateReady, devices.StateBusy, devices.StatePaperLow}, st.State) {
		t.Fatalf("Status().State = %q, want ready, busy or paper_low; status %+v", st.State, st)
	}
	if st.Kind != devices.KindDocumentPrinter {
		t.Errorf("Status().Kind = %q, want %q", st.Kind, devices.KindDocumentPrinter)
	}
	if st.UpdatedAt.IsZero() {
		t.Error("Status().UpdatedAt is zero")
	}
}

func printsPDF(t *testing.T, r Rig) {
	if err := r.Printer.PrintPDF(ctx(t), "conformance test page", page(t)); err != nil {
		t.Fatalf("PrintPDF: %v", err)
	}
	if r.Faults != nil {
		if n := r.Faults.Received(); n != 1 {
			t.Fatalf("printer received %d documents, want 1", n)
		}
	}
}

func refusesNonPDF(t *testing.T, r Rig) {
	if err := r.Printer.PrintPDF(ctx(t), "not a pdf", []byte("hello, printer")); err == nil {
		t.Fatal("PrintPDF of a non-PDF succeeded")
	}
	if r.Faults != nil {
		if n := r.Faults.Received(); n != 0 {
			t.Fatalf("printer received %d documents, want 0", n)
		}
	}
}

func canceledContext(t *testing.T, r Rig) {
	c, cancel := context.WithCancel(ctx(t))
	cancel()
	if err := r.Printer.PrintPDF(c, "canceled", page(t)); err == nil {
		t.Fatal("PrintPDF with a canceled context succeeded")
	}
}

func paperOut(t *testing.T, r Rig) {
	r.Faults.SetPaperOut(true)
	st := r.Printer.Status(ctx(t))
	if st.State != devices.StatePaperOut || !st.Connected {
		t.Fatalf("Status() = %q connected=%v, want paper_out and connected; status %+v", st.State, st.Connected, st)
	}
	if st.LastError == "" {
		t.Error("Status().LastError is empty, want a description for the technician")
	}
	err := r.Printer.PrintPDF(ctx(t), "paper out", page(t))
	if !errors.Is(err, devices.ErrPaperOut) {
		t.Fatalf("PrintPDF error = %v, want devices.ErrPaperOut", err)
	}
	if n := r.Faults.Received(); n != 0 {
		t.Fatalf("printer received %d documents, want 0", n)
	}
	r.Faults.SetPaperOut(false)
	if err := r.Printer.PrintPDF(ctx(t), "paper back", page(t)); err != nil {
		t.Fatalf("PrintPDF after paper was put back: %v", err)
	}
}

func jamMidJob(t *testing.T, r Rig) {
	r.Faults.JamNextJob()
	err := r.Printer.PrintPDF(ctx(t), "jam", page(t))
	if !errors.Is(err, devices.ErrNotConfirmed) {
		t.Fatalf("PrintPDF error = %v, want devices.ErrNotConfirmed", err)
	}
	if n := r.Faults.Received(); n != 1 {
		t.Fatalf("printer received %d documents, want the 1 that jammed", n)
	}
	if st := r.Printer.Status(ctx(t)); st.State != devices.StateError {
		t.Fatalf("Status().State after a jam = %q, want error; status %+v", st.State, st)
	}
	if err := r.Printer.PrintPDF(ctx(t), "after jam", page(t)); err == nil {
		t.Fatal("PrintPDF on a jammed printer succeeded")
	}
	if n := r.Faults.Received(); n != 1 {
		t.Fatalf("printer received %d documents, want nothing more after the jam", n)
	}
}

func slowJob(t *testing.T, r Rig) {
	r.Faults.SetSlow()
	err := r.Printer.PrintPDF(ctx(t), "slow", page(t))
	if !errors.Is(err, devices.ErrNotConfirmed) {
		t.Fatalf("PrintPDF error = %v, want devices.ErrNotConfirmed", err)
	}
}

func goneAway(t *testing.T, r Rig) {
	r.Faults.GoAway()
	st := r.Printer.Status(ctx(t))
	if st.Connected || st.State != devices.StateDisconnected {
		t.Fatalf("Status() = %q connected=%v, want disconnected; status %+v", st.State, st.Connected, st)
	}
	if st.LastError == "" {
		t.Error("Status().LastError is empty")
	}
	err := r.Printer.PrintPDF(ctx(t), "gone", page(t))
	if !errors.Is(err, devices.ErrNotConnected) {
		t.Fatalf("PrintPDF error = %v, want devices.ErrNotConnected", err)
	}
	if n := r.Faults.Received(); n != 0 {
		t.Fatalf("printer received %d documents, want 0", n)
	}
}
