package ipp_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/civic-station/station/devices"
	"github.com/civic-station/station/devices/ipp"
	"github.com/civic-station/station/devices/ipp/ipptest"
	"github.com/civic-station/station/devices/sim/ippsim"
)

// fastOptions poll quickly and give up on a job after a few seconds, so the fault cases end soon.
var fastOptions = ipp.Options{PollInterval: 5 * time.Millisecond, JobTimeout: 3 * time.Second, RequestTimeout: 5 * time.Second}

// simRig is a driver talking to an ippsim printer over real HTTP on 127.0.0.1.
type simRig struct {
	sim     *ippsim.Printer
	server  *ippsim.Server
	printer *ipp.Printer
	closed  bool
	goAway  func(r *simRig)
}

func startSim(t *testing.T, cfg ippsim.Config, opts ipp.Options) *simRig {
	t.Helper()
	sim := ippsim.New(cfg)
	srv, err := sim.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &simRig{sim: sim, server: srv}
	t.Cleanup(func() {
		if !r.closed {
			srv.Close()
		}
	})
	r.printer, err = ipp.New(srv.URI(), opts)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func (r *simRig) SetPaperOut(out bool) { r.sim.SetMediaEmpty(out) }
func (r *simRig) JamNextJob()          { r.sim.JamNextJob() }
func (r *simRig) SetSlow()             { r.sim.SetJobDelay(time.Hour) }
func (r *simRig) Received() int        { return len(r.sim.Documents()) }
func (r *simRig) GoAway()              { r.goAway(r) }

// closePort makes the printer's port refuse connections.
func closePort(r *simRig) {
	r.server.Close()
	r.closed = true
}

// answer503 makes the printer answer HTTP 503 to everything.
func answer503(r *simRig) { r.sim.SetOffline(true) }

func TestConformanceWithSimulator(t *testing.T) {
	for _, v := range []struct {
		name   string
		goAway func(*simRig)
	}{
		{"when a printer that goes away refuses connections", closePort},
		{"when a printer that goes away answers 503", answer503},
	} {
		t.Run(v.name, func(t *testing.T) {
			ipptest.Run(t, func(t *testing.T) ipptest.Rig {
				opts := fastOptions
				opts.JobTimeout = time.Second // the slow job case waits this long
				r := startSim(t, ippsim.Config{JobDelay: 20 * time.Millisecond}, opts)
				r.goAway = v.goAway
				return ipptest.Rig{Printer: r.printer, Faults: r}
			})
		})
	}
}

// TestConformanceWithHardware prints real pages on the printer at STATION_HW_IPP.
func TestConformanceWithHardware(t *testing.T) {
	uri := os.Getenv("STATION_HW_IPP")
	if uri == "" {
		t.Skip("set STATION_HW_IPP=ipp://host/path to run against a real printer (prints pages)")
	}
	runWithoutFaults(t, uri)
}

// TestConformanceWithCUPS runs against the CUPS queue that .ci/cups.sh sets up.
func TestConformanceWithCUPS(t *testing.T) {
	uri := os.Getenv("STATION_TEST_CUPS_URI")
	if uri == "" {
		t.Skip("set STATION_TEST_CUPS_URI (from .ci/cups.sh) to run against CUPS")
	}
	runWithoutFaults(t, uri)
}

func runWithoutFaults(t *testing.T, uri string) {
	ipptest.Run(t, func(t *testing.T) ipptest.Rig {
		p, err := ipp.New(uri, ipp.Options{PollInterval: 200 * time.Millisecond, JobTimeout: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		return ipptest.Rig{Printer: p}
	})
}

func TestStatusMapsPrinterStateReasons(t *testing.T) {
	tests := []struct {
		name      string
		reasons   []string
		state     devices.State
		connected bool
		lastError string // a substring of LastError; empty means LastError must be empty
	}{
		{"a printer with no reasons is ready", nil, devices.StateReady, true, ""},
		{"media-empty-error is paper out", []string{"media-empty-error"}, devices.StatePaperOut, true, "纸盒无纸"},
		{"media-needed-error is paper out", []string{"media-needed-error"}, devices.StatePaperOut, true, "需要装纸"},
		{"media-needed reported without stopping is still paper out", []string{"media-needed-report"}, devices.StatePaperOut, true, "需要装纸"},
		{"media-low-report is paper low", []string{"media-low-report"}, devices.StatePaperLow, true, "纸张即将用完"},
		{"media-jam-error is an error", []string{"media-jam-error"}, devices.StateError, true, "卡纸"},
		{"door-open-error is an error", []string{"door-open-error"}, devices.StateError, true, "舱门打开"},
		{"cover-open-error is an error", []string{"cover-open-error"}, devices.StateError, true, "盖板打开"},
		{"marker-supply-empty-error is an error", []string{"marker-supply-empty-error"}, devices.StateError, true, "墨粉或墨水已用完"},
		{"paused is an error even when the printer is not stopped", []string{"paused"}, devices.StateError, true, "已暂停"},
		{"toner-low-report leaves the printer ready but described", []string{"toner-low-report"}, devices.StateReady, true, "墨粉不足"},
		{"offline-report is disconnected", []string{"offline-report"}, devices.StateDisconnected, false, "离线"},
		{"shutdown is disconnected", []string{"shutdown"}, devices.StateDisconnected, false, "关机"},
		{"an unknown reason that stops the printer is an error naming it", []string{"other-error"}, devices.StateError, true, "打印机报告：other-error"},
		{"an unknown report leaves the printer ready", []string{"something-new-report"}, devices.StateReady, true, "something-new-report"},
		{"the worst of several reasons wins", []string{"media-low-warning", "media-jam-error"}, devices.StateError, true, "卡纸"},
		{"offline outranks paper out", []string{"media-empty-error", "offline-report"}, devices.StateDisconnected, false, "打印机离线"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := startSim(t, ippsim.Config{}, fastOptions)
			r.sim.SetReasons(tt.reasons...)
			st := r.printer.Status(t.Context())
			if st.State != tt.state || st.Connected != tt.connected {
				t.Errorf("State, Connected = %q, %v; want %q, %v", st.State, st.Connected, tt.state, tt.connected)
			}
			want := tt.reasons
			if len(want) == 0 {
				want = []string{"none"}
			}
			if !slices.Equal(st.Reasons, want) {
				t.Errorf("Reasons = %q, want %q", st.Reasons, want)
			}
			if tt.lastError == "" && st.LastError != "" || !strings.Contains(st.LastError, tt.lastError) {
				t.Errorf("LastError = %q, want it to contain %q", st.LastError, tt.lastError)
			}
			if st.LastError != "" && st.LastErrorAt.IsZero() {
				t.Error("LastErrorAt is zero while LastError is set")
			}
			if st.Kind != devices.KindDocumentPrinter || st.Detail != r.server.URI() {
				t.Errorf("Kind, Detail = %q, %q", st.Kind, st.Detail)
			}
		})
	}
}

// fakeClock is a clock the test moves by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// waitFor polls cond until it holds; the test's own deadline bounds it.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		select {
		case <-t.Context().Done():
			t.Fatalf("gave up waiting for %s", what)
		case <-time.After(2 * time.Millisecond):
		}
	}
}

func TestPrintPDFFollowsTheJobUntilItCompletes(t *testing.T) {
	clock := &fakeClock{now: time.Date(2026, 11, 24, 9, 30, 0, 0, time.UTC)}
	r := startSim(t, ippsim.Config{JobDelay: 10 * time.Second, Now: clock.Now}, ipp.Options{PollInterval: 2 * time.Millisecond, JobTimeout: time.Minute})
	pdf := ipp.TestPage(clock.Now())
	done := make(chan error, 1)
	go func() { done <- r.printer.PrintPDF(t.Context(), "证明-0001", pdf) }()

	waitFor(t, "the job to arrive", func() bool { return len(r.sim.Jobs()) == 1 })
	if st := r.printer.Status(t.Context()); st.State != devices.StateReady {
		t.Errorf("Status().State with a pending job = %q, want ready", st.State)
	}
	clock.Advance(6 * time.Second)
	if st := r.printer.Status(t.Context()); st.State != devices.StateBusy {
		t.Errorf("Status().State while the job prints = %q, want busy", st.State)
	}
	select {
	case err := <-done:
		t.Fatalf("PrintPDF returned %v before the job completed", err)
	default:
	}
	clock.Advance(5 * time.Second)
	if err := <-done; err != nil {
		t.Fatalf("PrintPDF: %v", err)
	}
	docs := r.sim.Documents()
	if len(docs) != 1 {
		t.Fatalf("printer received %d documents, want 1", len(docs))
	}
	d := docs[0]
	if !bytes.Equal(d.Data, pdf) || d.Format != "application/pdf" || d.Name != "证明-0001" || d.User != "station" {
		t.Errorf("document = name %q user %q format %q, %d bytes; want the PDF as sent", d.Name, d.User, d.Format, len(d.Data))
	}
}

func TestPrintPDFCancelsAJobThatDoesNotCompleteInTime(t *testing.T) {
	r := startSim(t, ippsim.Config{JobDelay: time.Hour}, ipp.Options{PollInterval: 5 * time.Millisecond, JobTimeout: 100 * time.Millisecond})
	err := r.printer.PrintPDF(t.Context(), "slow", ipp.TestPage(time.Now()))
	if !errors.Is(err, devices.ErrNotConfirmed) || !errors.Is(err, devices.ErrTimeout) {
		t.Fatalf("PrintPDF error = %v, want ErrNotConfirmed and ErrTimeout", err)
	}
	jobs := r.sim.Jobs()
	if len(jobs) != 1 || jobs[0].State != 7 {
		t.Fatalf("jobs = %+v, want one canceled (7) job", jobs)
	}
}

func TestPrintPDFReportsAJammedJobWithItsState(t *testing.T) {
	r := startSim(t, ippsim.Config{JobDelay: 20 * time.Millisecond}, fastOptions)
	r.sim.JamNextJob()
	err := r.printer.PrintPDF(t.Context(), "jam", ipp.TestPage(time.Now()))
	if !errors.Is(err, devices.ErrNotConfirmed) || !strings.Contains(err.Error(), "aborted") {
		t.Fatalf("PrintPDF error = %v, want ErrNotConfirmed naming the aborted job", err)
	}
	st := r.printer.Status(t.Context())
	if st.State != devices.StateError || !slices.Contains(st.Reasons, "media-jam-error") {
		t.Fatalf("status after the jam = %+v, want error with media-jam-error", st)
	}
	if !strings.Contains(st.LastError, "卡纸") {
		t.Errorf("LastError = %q, want it to mention the jam", st.LastError)
	}
	if err := r.printer.PrintPDF(t.Context(), "after jam", ipp.TestPage(time.Now())); !errors.Is(err, ipp.ErrStopped) {
		t.Errorf("PrintPDF on the jammed printer = %v, want ErrStopped", err)
	}
	r.sim.ClearFaults()
	if err := r.printer.PrintPDF(t.Context(), "cleared", ipp.TestPage(time.Now())); err != nil {
		t.Errorf("PrintPDF after the jam was cleared: %v", err)
	}
}

func TestPrintPDFReportsAPrinterThatGoesAwayMidJob(t *testing.T) {
	r := startSim(t, ippsim.Config{JobDelay: time.Hour}, fastOptions)
	done := make(chan error, 1)
	go func() { done <- r.printer.PrintPDF(t.Context(), "gone", ipp.TestPage(time.Now())) }()
	waitFor(t, "the job to arrive", func() bool { return len(r.sim.Jobs()) == 1 })
	closePort(r)
	err := <-done
	if !errors.Is(err, devices.ErrNotConfirmed) || !errors.Is(err, devices.ErrNotConnected) {
		t.Fatalf("PrintPDF error = %v, want ErrNotConfirmed and ErrNotConnected", err)
	}
}

// A printer that takes the whole job and drops the connection before it answers may print it: the
// print is not confirmed (and the printer is gone), never "not printed".
func TestAJobWithoutAnAnswerIsNotConfirmed(t *testing.T) {
	charset := []byte{0x47, 0, 18, 'a', 't', 't', 'r', 'i', 'b', 'u', 't', 'e', 's', '-', 'c', 'h', 'a', 'r', 's', 'e', 't', 0, 5, 'u', 't', 'f', '-', '8'}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, _ := io.ReadAll(r.Body)
		if len(req) > 3 && req[3] == 0x0b { // Get-Printer-Attributes: idle
			w.Header().Set("Content-Type", "application/ipp")
			body := append([]byte{1, 1, 0, 0, 0, 0, 0, 1, 0x01}, charset...)
			body = append(body, 0x04, 0x23, 0, 13)
			body = append(body, "printer-state"...)
			body = append(body, 0, 4, 0, 0, 0, 3, 0x03)
			w.Write(body)
			return
		}
		conn, _, err := w.(http.Hijacker).Hijack() // the job is in; the printer goes away
		if err == nil {
			conn.Close()
		}
	}))
	defer srv.Close()
	p, err := ipp.New(strings.Replace(srv.URL, "http://", "ipp://", 1)+"/ipp/print", fastOptions)
	if err != nil {
		t.Fatal(err)
	}
	err = p.PrintPDF(t.Context(), "x", ipp.TestPage(time.Now()))
	if !errors.Is(err, devices.ErrNotConfirmed) || !errors.Is(err, devices.ErrNotConnected) {
		t.Fatalf("PrintPDF error = %v, want ErrNotConfirmed and ErrNotConnected", err)
	}
}

func TestPrintPDFTreatsARefusedJobAsNotPrinted(t *testing.T) {
	// A printer that answers Get-Printer-Attributes with an idle state and refuses Print-Job with
	// server-error-not-accepting-jobs (0x0506).
	charset := []byte{0x47, 0, 18, 'a', 't', 't', 'r', 'i', 'b', 'u', 't', 'e', 's', '-', 'c', 'h', 'a', 'r', 's', 'e', 't', 0, 5, 'u', 't', 'f', '-', '8'}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req := make([]byte, 4)
		r.Body.Read(req)
		w.Header().Set("Content-Type", "application/ipp")
		body := []byte{1, 1, 0x05, 0x06, 0, 0, 0, 1, 0x01}
		if req[3] == 0x0b { // Get-Printer-Attributes
			body = []byte{1, 1, 0, 0, 0, 0, 0, 1, 0x01}
			body = append(body, charset...)
			body = append(body, 0x04, 0x23, 0, 13)
			body = append(body, "printer-state"...)
			body = append(body, 0, 4, 0, 0, 0, 3)
		} else {
			body = append(body, charset...)
		}
		w.Write(append(body, 0x03))
	}))
	defer srv.Close()
	p, err := ipp.New(strings.Replace(srv.URL, "http://", "ipp://", 1)+"/ipp/print", fastOptions)
	if err != nil {
		t.Fatal(err)
	}
	if st := p.Status(t.Context()); st.State != devices.StateReady {
		t.Fatalf("Status() = %+v, want ready", st)
	}
	err = p.PrintPDF(t.Context(), "x", ipp.TestPage(time.Now()))
	if !errors.Is(err, devices.ErrNotConfirmed) || !strings.Contains(err.Error(), "0x0506") {
		t.Fatalf("PrintPDF error = %v, want ErrNotConfirmed with the IPP status", err)
	}
}

func TestMalformedResponsesAreErrorsNotPanics(t *testing.T) {
	tests := []struct {
		name string
		body []byte
	}{
		{"an empty body", nil},
		{"a truncated header", []byte{1, 1, 0}},
		{"a negative value length", []byte{1, 1, 0, 0, 0, 0, 0, 1, 0x01, 0x31, 0, 1, 'd', 0xff, 0xff}},
		{"a name longer than the body", []byte{1, 1, 0, 0, 0, 0, 0, 1, 0x01, 0x44, 0x7f, 0xff, 'a'}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/ipp")
				w.Write(tt.body)
			}))
			defer srv.Close()
			p, err := ipp.New(strings.Replace(srv.URL, "http://", "ipp://", 1)+"/ipp/print", fastOptions)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			if err := p.PrintPDF(ctx, "x", ipp.TestPage(time.Now())); err == nil {
				t.Fatal("PrintPDF succeeded against a printer answering garbage")
			}
		})
	}
}

func TestNewAcceptsIPPURIs(t *testing.T) {
	tests := []struct {
		name string
		uri  string
		ok   bool
	}{
		{"an ipp URI with a port is accepted", "ipp://10.0.0.5:631/ipp/print", true},
		{"an ipp URI without a port is accepted", "ipp://printer.local/ipp/print", true},
		{"an ipps URI is accepted", "ipps://10.0.0.5/ipp/print", true},
		{"a CUPS queue URI is accepted", "ipp://localhost:631/printers/PDF", true},
		{"a socket URI is refused", "socket://10.0.0.5:9100", false},
		{"a URI without a host is refused", "ipp:///ipp/print", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ipp.New(tt.uri, ipp.Options{})
			if (err == nil) != tt.ok {
				t.Fatalf("New(%q) error = %v, want ok=%v", tt.uri, err, tt.ok)
			}
		})
	}
}
