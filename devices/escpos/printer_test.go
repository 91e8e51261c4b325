package escpos_test

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/civic-station/station/devices"
	"github.com/civic-station/station/devices/escpos"
	"github.com/civic-station/station/devices/sim/escpossim"
)

func openPrinter(t testing.TB, uri string, opt escpos.Options) *escpos.Printer {
	t.Helper()
	p, err := escpos.Open(uri, opt)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestATicketRoundTripsThroughTheSimulator(t *testing.T) {
	font := needFont(t)
	tests := []struct {
		name   string
		ticket devices.Ticket
		paper  string
		width  int
	}{
		{"a queue ticket on 80 mm paper reads back as its text", queueTicket(), "80", escpos.Width80},
		{"a queue ticket on 58 mm paper reads back as its text", queueTicket(), "58", escpos.Width58},
		{"a receipt with a rare name reads back with the name line as an image", receiptSlip(), "80", escpos.Width80},
		{"the test ticket reads back as its text", testTicket(escpos.Width58), "58", escpos.Width58},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim, uri := startSim(t, escpossim.Config{Width: tt.width, FontPaths: []string{font}})
			p := openPrinter(t, uri+"?paper="+tt.paper, escpos.Options{FontPaths: []string{font}})
			if err := p.Print(t.Context(), tt.ticket); err != nil {
				t.Fatalf("Print: %v", err)
			}
			job := sim.Last()
			if job == nil {
				t.Fatal("the simulator printed nothing")
			}
			if got, want := job.Text(), wantText(tt.ticket); got != want {
				t.Errorf("printed text:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

func TestPrintReportsWhyATicketDidNotPrint(t *testing.T) {
	tests := []struct {
		name    string
		arrange func(sim *escpossim.Sim)
		want    error
	}{
		{"a printer out of paper gives ErrPaperOut", func(s *escpossim.Sim) { s.SetPaper(false) }, devices.ErrPaperOut},
		{"a printer with its cover open gives ErrNotConfirmed", func(s *escpossim.Sim) { s.SetCoverOpen(true) }, devices.ErrNotConfirmed},
		{"a printer that stopped answering status gives ErrTimeout", func(s *escpossim.Sim) { s.SetMute(true) }, devices.ErrTimeout},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim, uri := startSim(t, escpossim.Config{})
			tt.arrange(sim)
			p := openPrinter(t, uri, escpos.Options{Timeout: 300 * time.Millisecond})
			err := p.Print(t.Context(), queueTicket())
			if !errors.Is(err, tt.want) {
				t.Fatalf("Print = %v, want %v", err, tt.want)
			}
			if printed, _ := sim.Counts(); printed != 0 {
				t.Errorf("the simulator printed %d jobs", printed)
			}
		})
	}
}

func TestADeadPeerIsNotConnectedOrTimedOut(t *testing.T) {
	t.Run("a closed port gives ErrNotConnected", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		p := openPrinter(t, "tcp://"+addr, escpos.Options{Timeout: time.Second})
		if err := p.Print(t.Context(), queueTicket()); !errors.Is(err, devices.ErrNotConnected) {
			t.Fatalf("Print = %v, want ErrNotConnected", err)
		}
		st := p.Status(t.Context())
		if st.Connected || st.State != devices.StateDisconnected || st.LastError == "" {
			t.Errorf("status = %+v, want disconnected with the error", st)
		}
		if st.Link != devices.LinkTCP || st.Port != addr || st.Baud != 0 {
			t.Errorf("link, port, baud = %q, %q, %d; want tcp, %q, 0", st.Link, st.Port, st.Baud, addr)
		}
	})
	t.Run("a peer that accepts and never answers gives ErrTimeout", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		var conns []net.Conn
		wg.Add(1)
		go func() { // accept, hold and never read or answer
			defer wg.Done()
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				conns = append(conns, c)
			}
		}()
		t.Cleanup(func() {
			ln.Close()
			wg.Wait()
			for _, c := range conns {
				c.Close()
			}
		})
		p := openPrinter(t, "tcp://"+ln.Addr().String(), escpos.Options{Timeout: 200 * time.Millisecond})
		if err := p.Print(t.Context(), queueTicket()); !errors.Is(err, devices.ErrTimeout) {
			t.Fatalf("Print = %v, want ErrTimeout", err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
		defer cancel()
		if err := p.Print(ctx, queueTicket()); !errors.Is(err, devices.ErrTimeout) {
			t.Fatalf("Print with a context deadline = %v, want ErrTimeout", err)
		}
	})
	t.Run("a peer that hangs up instead of answering gives ErrNotConnected", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				c.Close()
			}
		}()
		t.Cleanup(func() { ln.Close(); wg.Wait() })
		p := openPrinter(t, "tcp://"+ln.Addr().String(), escpos.Options{Timeout: time.Second})
		if err := p.Print(t.Context(), queueTicket()); !errors.Is(err, devices.ErrNotConnected) {
			t.Fatalf("Print = %v, want ErrNotConnected", err)
		}
	})
}

func TestStatusReportsThePrintersState(t *testing.T) {
	tests := []struct {
		name    string
		arrange func(sim *escpossim.Sim)
		state   devices.State
		reasons []string
	}{
		{"a printer with paper is ready", func(*escpossim.Sim) {}, devices.StateReady, nil},
		{"a printer near the end of its roll is low on paper", func(s *escpossim.Sim) { s.SetPaperNearEnd(true) }, devices.StatePaperLow, []string{"paper-near-end"}},
		{"a printer without paper is out of paper", func(s *escpossim.Sim) { s.SetPaper(false) }, devices.StatePaperOut, []string{"offline", "paper-out"}},
		{"a printer with its cover open is in error", func(s *escpossim.Sim) { s.SetCoverOpen(true) }, devices.StateError, []string{"offline", "cover-open"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim, uri := startSim(t, escpossim.Config{})
			tt.arrange(sim)
			now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
			p := openPrinter(t, uri, escpos.Options{Now: func() time.Time { return now }})
			st := p.Status(t.Context())
			if !st.Connected || st.State != tt.state || !equal(st.Reasons, tt.reasons) || !st.UpdatedAt.Equal(now) {
				t.Errorf("status = %+v, want connected, %s, reasons %v", st, tt.state, tt.reasons)
			}
		})
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestParseStatusReadsTheBits(t *testing.T) {
	tests := []struct {
		name string
		raw  [4]byte
		want string
		err  bool
	}{
		{"fixed bits only mean ready", [4]byte{0x12, 0x12, 0x12, 0x12}, "ready", false},
		{"paper end bits mean paper out", [4]byte{0x1A, 0x32, 0x12, 0x7E}, "offline, paper-out", false},
		{"near-end bits mean paper near end", [4]byte{0x12, 0x12, 0x12, 0x1E}, "paper-near-end", false},
		{"a cover open bit with offline means cover open", [4]byte{0x1A, 0x16, 0x12, 0x12}, "offline, cover-open", false},
		{"an autocutter error is an error", [4]byte{0x1A, 0x52, 0x1A, 0x12}, "offline, autocutter-error", false},
		{"an unrecoverable error is an error", [4]byte{0x1A, 0x52, 0x32, 0x12}, "offline, unrecoverable-error", false},
		{"a byte without the fixed bits is not a status", [4]byte{0x00, 0x12, 0x12, 0x12}, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, err := escpos.ParseStatus(tt.raw)
			if (err != nil) != tt.err {
				t.Fatalf("err = %v, want error %v", err, tt.err)
			}
			if err == nil && st.String() != tt.want {
				t.Errorf("status = %q, want %q", st, tt.want)
			}
		})
	}
}

func TestOpenParsesThePrinterURI(t *testing.T) {
	tests := []struct {
		name  string
		uri   string
		width int
		err   bool
	}{
		{"a TCP printer defaults to 80 mm paper", "tcp://10.0.0.5:9100", escpos.Width80, false},
		{"a TCP printer without a port uses 9100", "tcp://10.0.0.5?paper=58", escpos.Width58, false},
		{"a serial printer takes a baud rate", "serial:///dev/ttyUSB0?baud=9600&paper=80", escpos.Width80, false},
		{"an unknown scheme is refused", "usb://printer", 0, true},
		{"a bad baud rate is refused", "serial:///dev/ttyUSB0?baud=fast", 0, true},
		{"a paper width other than 58 or 80 is refused", "tcp://h?paper=110", 0, true},
		{"a TCP URI without a host is refused", "tcp:///x", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := escpos.Open(tt.uri, escpos.Options{})
			if (err != nil) != tt.err {
				t.Fatalf("Open(%q) err = %v, want error %v", tt.uri, err, tt.err)
			}
			if err == nil && p.Width() != tt.width {
				t.Errorf("width = %d, want %d", p.Width(), tt.width)
			}
		})
	}
}

func TestASerialPrinterPrintsThroughAPTY(t *testing.T) {
	font := needFont(t)
	sim, err := escpossim.New(escpossim.Config{FontPaths: []string{font}})
	if err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(t.TempDir(), "ttyPRINTER")
	pty, err := sim.OpenPTY(link)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := pty.Serve(ctx); err != nil {
			t.Errorf("Serve: %v", err)
		}
	}()
	t.Cleanup(func() { cancel(); wg.Wait() })

	p := openPrinter(t, "serial://"+link+"?baud=115200", escpos.Options{FontPaths: []string{font}, Timeout: 5 * time.Second})
	for i, tk := range []devices.Ticket{queueTicket(), receiptSlip()} {
		if err := p.Print(t.Context(), tk); err != nil {
			t.Fatalf("Print %d: %v", i, err)
		}
		if got, want := sim.Last().Text(), wantText(tk); got != want {
			t.Errorf("printed text:\n%s\nwant:\n%s", got, want)
		}
	}
	sim.SetPaper(false)
	if err := p.Print(t.Context(), queueTicket()); !errors.Is(err, devices.ErrPaperOut) {
		t.Errorf("Print without paper = %v, want ErrPaperOut", err)
	}
	if st := p.Status(t.Context()); st.State != devices.StatePaperOut {
		t.Errorf("status = %+v, want paper out", st)
	}
}

func TestASerialPortThatDoesNotExistIsNotConnected(t *testing.T) {
	p := openPrinter(t, "serial://"+filepath.Join(t.TempDir(), "nothing"), escpos.Options{})
	if err := p.Print(t.Context(), queueTicket()); !errors.Is(err, devices.ErrNotConnected) {
		t.Fatalf("Print = %v, want ErrNotConnected", err)
	}
}
