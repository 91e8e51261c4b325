package idcard_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/civic-station/station/devices"
	"github.com/civic-station/station/devices/idcard"
	"github.com/civic-station/station/devices/idcard/idcardtest"
	"github.com/civic-station/station/devices/idcard/sam"
	"github.com/civic-station/station/devices/sim/samsim"
)

// These tests run the real Reader against the simulator over a real pty.

func newSim(t testing.TB, baud int) *samsim.Sim {
	t.Helper()
	sim, err := samsim.New(samsim.Config{Link: filepath.Join(t.TempDir(), "ttySAM"), Baud: baud})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	return sim
}

func newReader(t testing.TB, cfg idcard.Config) *idcard.Reader {
	r := idcard.New(cfg)
	t.Cleanup(func() { r.Close() })
	return r
}

type simHand struct{ sim *samsim.Sim }

func (h simHand) Place(c devices.IDCard) error { return h.sim.Place(samsim.Card{IDCard: c}) }
func (h simHand) Remove() error                { h.sim.Remove(); return nil }

func sampleIDCards() []devices.IDCard {
	var out []devices.IDCard
	for _, c := range samsim.SampleCards() {
		out = append(out, c.IDCard)
	}
	return out
}

func TestConformanceWithTheSimulator(t *testing.T) {
	idcardtest.TestIDReader(t, func(t *testing.T) idcardtest.Harness {
		sim := newSim(t, 115200)
		return idcardtest.Harness{
			Reader: newReader(t, idcard.Config{Port: sim.Link(), Baud: 115200}),
			Hand:   simHand{sim},
			Cards:  sampleIDCards(),
		}
	})
}

// TestConformanceWithHardware runs the suite on a real reader: STATION_HW_IDREADER=/dev/ttyUSB0
// (and optionally STATION_HW_IDREADER_BAUD). Nobody places cards, so those tests are skipped.
func TestConformanceWithHardware(t *testing.T) {
	port := os.Getenv("STATION_HW_IDREADER")
	if port == "" {
		t.Skip("set STATION_HW_IDREADER=/dev/ttyUSB0 to test a real reader")
	}
	var baud int
	fmt.Sscan(os.Getenv("STATION_HW_IDREADER_BAUD"), &baud)
	idcardtest.TestIDReader(t, func(t *testing.T) idcardtest.Harness {
		return idcardtest.Harness{Reader: newReader(t, idcard.Config{Port: port, Baud: baud})}
	})
}

// watch starts r.Watch and returns its events; it stops at the end of the test.
func watch(t *testing.T, r *idcard.Reader) <-chan devices.CardEvent {
	ctx, cancel := context.WithCancel(context.Background())
	events := make(chan devices.CardEvent, 32)
	done := make(chan error, 1)
	go func() { done <- r.Watch(ctx, events) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Watch: %v", err)
		}
	})
	return events
}

func expect(t *testing.T, events <-chan devices.CardEvent, kind devices.CardEventKind) devices.CardEvent {
	t.Helper()
	ev := idcardtest.NextEvent(t, events)
	if ev.Kind != kind {
		t.Fatalf("got event %s (err %v), want %s", ev.Kind, ev.Err, kind)
	}
	return ev
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), idcardtest.Bound)
	t.Cleanup(cancel)
	return ctx
}

func TestWatchReportsPlacedAndRemovedCards(t *testing.T) {
	sim := newSim(t, 115200)
	r := newReader(t, idcard.Config{Port: sim.Link(), Baud: 115200})
	events := watch(t, r)
	for _, c := range samsim.SampleCards() {
		if err := sim.Place(c); err != nil {
			t.Fatal(err)
		}
		ev := expect(t, events, devices.CardPlaced)
		idcardtest.SameCard(t, ev.Card, &c.IDCard)
		if len(ev.Card.Photo) != sam.PhotoLen || ev.Card.PhotoBMP != nil {
			t.Errorf("photo: %d WLT bytes, %d BMP bytes; want 1024 and none", len(ev.Card.Photo), len(ev.Card.PhotoBMP))
		}
		sim.Remove()
		expect(t, events, devices.CardRemoved)
	}
	if st := r.Status(); st.State != devices.StateReady || st.Detail != "115200 baud" {
		t.Errorf("status %+v", st)
	}
}

// TestSwappingCardsIsReportedAsTheOldCardRemovedAndTheNewOnePlaced: a card placed while another
// is on the reader, or placed right after the other was removed, must reach the driver as the old
// card gone and the new one read, never as the old resident still there.
func TestSwappingCardsIsReportedAsTheOldCardRemovedAndTheNewOnePlaced(t *testing.T) {
	cards := samsim.SampleCards()
	tests := []struct {
		name       string
		removeLast bool
	}{
		{"placing a card on top of another swaps them", false},
		{"removing a card and placing another at once swaps them", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim := newSim(t, 115200)
			r := newReader(t, idcard.Config{Port: sim.Link(), Baud: 115200})
			events := watch(t, r)
			if err := sim.Place(cards[0]); err != nil {
				t.Fatal(err)
			}
			idcardtest.SameCard(t, expect(t, events, devices.CardPlaced).Card, &cards[0].IDCard)
			if tt.removeLast {
				sim.Remove()
			}
			swapped, err := sim.Swap(cards[1])
			if err != nil {
				t.Fatal(err)
			}
			if swapped == tt.removeLast {
				t.Errorf("Swap reported swapped = %v", swapped)
			}
			expect(t, events, devices.CardRemoved)
			idcardtest.SameCard(t, expect(t, events, devices.CardPlaced).Card, &cards[1].IDCard)
		})
	}
}

func TestFaultsDuringWatch(t *testing.T) {
	tests := []struct {
		name  string
		fault samsim.Fault
		want  []devices.CardEventKind
		err   error // the CardFailed event's error
	}{
		{"a bad checksum on the read reply fails that read and the next read succeeds",
			samsim.Fault{Kind: samsim.FaultBadChecksum, On: "read-text-photo"},
			[]devices.CardEventKind{devices.CardFailed, devices.CardPlaced}, sam.ErrChecksum},
		{"garbage before the read reply is skipped and the card is read at once",
			samsim.Fault{Kind: samsim.FaultGarbage, On: "read-text-photo"},
			[]devices.CardEventKind{devices.CardPlaced}, nil},
		{"garbage before the find reply is skipped and the card is read at once",
			samsim.Fault{Kind: samsim.FaultGarbage, On: "find-card"},
			[]devices.CardEventKind{devices.CardPlaced}, nil},
		{"silence instead of the read reply times out and the next read succeeds",
			samsim.Fault{Kind: samsim.FaultSilence, On: "read-text-photo"},
			[]devices.CardEventKind{devices.CardFailed, devices.CardPlaced}, devices.ErrTimeout},
		{"a card removed in the middle of a read times out and is then reported removed",
			samsim.Fault{Kind: samsim.FaultRemoveMidRead, On: "read-text-photo"},
			[]devices.CardEventKind{devices.CardFailed, devices.CardRemoved}, devices.ErrTimeout},
		{"a select failure fails that read and the next read succeeds",
			samsim.Fault{Kind: samsim.FaultStatus, On: "select-card", Status: sam.SelectFailed},
			[]devices.CardEventKind{devices.CardFailed, devices.CardPlaced}, &sam.StatusError{Code: sam.SelectFailed}},
		{"a card the SAM cannot authenticate fails and the next read succeeds",
			samsim.Fault{Kind: samsim.FaultStatus, On: "read-text-photo", Status: sam.SAMAuthCardFailed},
			[]devices.CardEventKind{devices.CardFailed, devices.CardPlaced}, &sam.StatusError{Code: sam.SAMAuthCardFailed}},
		{"a card that keeps failing is tried three times and then left until removed",
			samsim.Fault{Kind: samsim.FaultStatus, On: "read-text-photo", Status: sam.ReadFailed, Count: 3},
			[]devices.CardEventKind{devices.CardFailed, devices.CardFailed, devices.CardFailed}, &sam.StatusError{Code: sam.ReadFailed}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim := newSim(t, 115200)
			r := newReader(t, idcard.Config{Port: sim.Link(), Baud: 115200})
			if _, err := r.ReadCard(ctxT(t)); !errors.Is(err, devices.ErrNoCard) {
				t.Fatalf("first contact: %v", err)
			}
			if err := sim.Inject(tt.fault); err != nil {
				t.Fatal(err)
			}
			events := watch(t, r)
			card := samsim.SampleCards()[0]
			if err := sim.Place(card); err != nil {
				t.Fatal(err)
			}
			for i, kind := range tt.want {
				ev := expect(t, events, kind)
				switch kind {
				case devices.CardFailed:
					var se *sam.StatusError
					if want, ok := tt.err.(*sam.StatusError); ok {
						if !errors.As(ev.Err, &se) || se.Code != want.Code {
							t.Fatalf("event %d error %v, want status %v", i, ev.Err, want.Code)
						}
					} else if !errors.Is(ev.Err, tt.err) {
						t.Fatalf("event %d error %v, want %v", i, ev.Err, tt.err)
					}
					if idcard.Message(ev.Err) == "" {
						t.Error("no message for the error")
					}
				case devices.CardPlaced:
					idcardtest.SameCard(t, ev.Card, &card.IDCard)
				}
			}
			if sim.PendingFaults() != 0 {
				t.Errorf("%d faults never fired", sim.PendingFaults())
			}
			if st := r.Status(); tt.err != nil && st.LastError == "" {
				t.Errorf("status has no last error: %+v", st)
			}
			// Whatever happened, the reader still works: take the card away and place it again.
			if tt.want[len(tt.want)-1] != devices.CardRemoved {
				sim.Remove()
				for idcardtest.NextEvent(t, events).Kind != devices.CardRemoved {
				}
			}
			if err := sim.Place(card); err != nil {
				t.Fatal(err)
			}
			ev := expect(t, events, devices.CardPlaced)
			idcardtest.SameCard(t, ev.Card, &card.IDCard)
		})
	}
}

// TestEveryFailureStatus injects each SW3 failure the reference lists into the read and checks the
// typed error, then that the reader reads the card right after.
func TestEveryFailureStatus(t *testing.T) {
	sim := newSim(t, 115200)
	r := newReader(t, idcard.Config{Port: sim.Link(), Baud: 115200})
	card := samsim.SampleCards()[0]
	if err := sim.Place(card); err != nil {
		t.Fatal(err)
	}
	for _, code := range sam.Codes {
		if code.OK() {
			continue
		}
		t.Run(fmt.Sprintf("status %02X (%s) is a typed error and the next read works", byte(code), code.Description()), func(t *testing.T) {
			on := "read-text-photo"
			if code == sam.FindFailed {
				on = "find-card"
			}
			if err := sim.Inject(samsim.Fault{Kind: samsim.FaultStatus, On: on, Status: code}); err != nil {
				t.Fatal(err)
			}
			_, err := r.ReadCard(ctxT(t))
			var se *sam.StatusError
			if !errors.As(err, &se) || se.Code != code {
				t.Fatalf("got %v, want status %v", err, code)
			}
			if errors.Is(err, devices.ErrNoCard) != (code == sam.FindFailed) {
				t.Errorf("errors.Is(ErrNoCard) wrong for %v", code)
			}
			if msg := idcard.Message(err); msg != code.Message() {
				t.Errorf("message %q, want %q", msg, code.Message())
			}
			wantState := devices.StateReady
			if code.DeviceFault() {
				wantState = devices.StateError
			}
			if st := r.Status(); st.State != wantState || (code != sam.FindFailed && !strings.Contains(st.LastError, code.Description())) {
				t.Errorf("status %s %q, want %s with the error", st.State, st.LastError, wantState)
			}
			if st := r.Status(); code.DeviceFault() && st.Message != code.Message() {
				t.Errorf("status message %q, want the SAM's Chinese message %q", st.Message, code.Message())
			}
			got, err := r.ReadCard(ctxT(t))
			if err != nil {
				t.Fatalf("the read after: %v", err)
			}
			idcardtest.SameCard(t, got, &card.IDCard)
		})
	}
}

func TestReadCardFaults(t *testing.T) {
	tests := []struct {
		name  string
		fault samsim.Fault
		want  error
	}{
		{"a bad checksum is sam.ErrChecksum", samsim.Fault{Kind: samsim.FaultBadChecksum, On: "select-card"}, sam.ErrChecksum},
		{"silence is devices.ErrTimeout", samsim.Fault{Kind: samsim.FaultSilence, On: "find-card"}, devices.ErrTimeout},
		{"garbage before the frame is no error", samsim.Fault{Kind: samsim.FaultGarbage}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim := newSim(t, 115200)
			r := newReader(t, idcard.Config{Port: sim.Link(), Baud: 115200})
			card := samsim.SampleCards()[1]
			if err := sim.Place(card); err != nil {
				t.Fatal(err)
			}
			if _, err := r.ReadCard(ctxT(t)); err != nil {
				t.Fatal(err)
			}
			if err := sim.Inject(tt.fault); err != nil {
				t.Fatal(err)
			}
			if _, err := r.ReadCard(ctxT(t)); !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
			got, err := r.ReadCard(ctxT(t))
			if err != nil {
				t.Fatalf("the read after: %v", err)
			}
			idcardtest.SameCard(t, got, &card.IDCard)
		})
	}
}

func TestUnplugAndReplug(t *testing.T) {
	sim := newSim(t, 115200)
	r := newReader(t, idcard.Config{Port: sim.Link(), Baud: 115200})
	events := watch(t, r)
	card := samsim.SampleCards()[0]
	if err := sim.Place(card); err != nil {
		t.Fatal(err)
	}
	expect(t, events, devices.CardPlaced)

	if err := sim.Unplug(); err != nil {
		t.Fatal(err)
	}
	expect(t, events, devices.CardRemoved)
	waitFor(t, "status disconnected", func() bool {
		st := r.Status()
		return !st.Connected && st.State == devices.StateDisconnected && st.LastError != ""
	})

	if err := sim.Replug(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	expect(t, events, devices.CardPlaced)
	// The requirement: back by itself within 5 s after replug.
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("reader came back %v after replug, want within 5 s", d)
	}
	if st := r.Status(); !st.Connected || st.State != devices.StateReady {
		t.Errorf("after replug, status %+v", st)
	}
}

func TestPullingTheCableWhileIdleAndReadingAfterReplug(t *testing.T) {
	sim := newSim(t, 115200)
	r := newReader(t, idcard.Config{Port: sim.Link(), Baud: 115200})
	if _, err := r.ReadCard(ctxT(t)); !errors.Is(err, devices.ErrNoCard) {
		t.Fatal(err)
	}
	if err := sim.Unplug(); err != nil {
		t.Fatal(err)
	}
	if _, err := r.ReadCard(ctxT(t)); !errors.Is(err, devices.ErrNotConnected) {
		t.Fatalf("unplugged: got %v, want ErrNotConnected", err)
	}
	if _, err := r.ReadCard(ctxT(t)); !errors.Is(err, devices.ErrNotConnected) {
		t.Fatalf("still unplugged: got %v, want ErrNotConnected", err)
	}
	if err := sim.Replug(); err != nil {
		t.Fatal(err)
	}
	if err := sim.Place(samsim.SampleCards()[2]); err != nil {
		t.Fatal(err)
	}
	if _, err := r.ReadCard(ctxT(t)); err != nil {
		t.Fatalf("after replug: %v", err)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(idcardtest.Bound)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within %v", what, idcardtest.Bound)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestProbing(t *testing.T) {
	tests := []struct {
		name string
		baud int
	}{
		{"a reader at 9600 baud is found after 115200 gets no answer", 9600},
		{"a reader at 115200 baud is found first", 115200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim := newSim(t, tt.baud)
			r := newReader(t, idcard.Config{Port: sim.Link()})
			if err := sim.Place(samsim.SampleCards()[3]); err != nil {
				t.Fatal(err)
			}
			if _, err := r.ReadCard(ctxT(t)); err != nil {
				t.Fatal(err)
			}
			if st := r.Status(); st.Detail != fmt.Sprintf("%d baud", tt.baud) {
				t.Errorf("detail %q", st.Detail)
			}
			// The setup page labels the link itself from the codes, not from Name and Detail.
			if st := r.Status(); st.Link != devices.LinkSerial || st.Port != sim.Link() || st.Baud != tt.baud {
				t.Errorf("link, port, baud = %q, %q, %d; want serial, %q, %d", st.Link, st.Port, st.Baud, sim.Link(), tt.baud)
			}
		})
	}
	t.Run("a reader on the second candidate port is found", func(t *testing.T) {
		sim := newSim(t, 115200)
		missing := filepath.Join(t.TempDir(), "ttyUSB9")
		r := newReader(t, idcard.Config{Candidates: []string{missing, sim.Link()}, Baud: 115200})
		if _, err := r.ReadCard(ctxT(t)); !errors.Is(err, devices.ErrNoCard) {
			t.Fatal(err)
		}
		if st := r.Status(); st.Name != "SAM on "+sim.Link() {
			t.Errorf("name %q", st.Name)
		}
	})
	t.Run("at a fixed wrong baud rate nothing answers", func(t *testing.T) {
		sim := newSim(t, 9600)
		r := newReader(t, idcard.Config{Port: sim.Link(), Baud: 115200})
		if _, err := r.ReadCard(ctxT(t)); !errors.Is(err, devices.ErrNotConnected) {
			t.Fatalf("got %v, want ErrNotConnected", err)
		}
	})
	t.Run("a port that does not exist is not connected", func(t *testing.T) {
		r := newReader(t, idcard.Config{Port: filepath.Join(t.TempDir(), "nothing")})
		_, err := r.ReadCard(ctxT(t))
		if !errors.Is(err, devices.ErrNotConnected) {
			t.Fatalf("got %v", err)
		}
		if st := r.Status(); st.Connected || st.State != devices.StateDisconnected || st.LastError == "" {
			t.Errorf("status %+v", st)
		}
		if !strings.Contains(idcard.Message(err), "未连接") {
			t.Errorf("message %q", idcard.Message(err))
		}
	})
}

func TestPollingIsNeverFasterThanTheReaderMayAnswer(t *testing.T) {
	sim := newSim(t, 115200)
	r := newReader(t, idcard.Config{Port: sim.Link(), Baud: 115200, PollInterval: 10 * time.Millisecond})
	watch(t, r)
	waitFor(t, "five polls", func() bool { return len(sim.FindTimes()) >= 5 })
	gaps := func(times []time.Time, min time.Duration, what string) {
		t.Helper()
		for i := 1; i < len(times); i++ {
			if gap := times[i].Sub(times[i-1]); gap < min {
				t.Errorf("%s: polls %d and %d came %v apart, under %v", what, i-1, i, gap, min)
			}
		}
	}
	gaps(sim.FindTimes(), idcard.MinPollInterval, "an empty reader")
	if err := sim.Place(samsim.SampleCards()[0]); err != nil {
		t.Fatal(err)
	}
	n := len(sim.FindTimes())
	waitFor(t, "four polls of a reader holding a card", func() bool { return len(sim.FindTimes()) >= n+5 })
	gaps(sim.FindTimes()[n+1:], idcard.PresentPollInterval, "a reader holding a read card")
}

func TestPhotoDecoder(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "wlt2bmp")
	if err := os.WriteFile(good, []byte("#!/bin/sh\nprintf BM\ncat\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "broken")
	if err := os.WriteFile(bad, []byte("#!/bin/sh\necho licence missing >&2\nexit 3\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		decoder string
		wantBMP bool
	}{
		{"a decoder's BMP is attached to the card", good, true},
		{"a failing decoder leaves the card without a photo but read", bad, false},
		{"a decoder that does not exist leaves the card without a photo but read", filepath.Join(dir, "missing"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim := newSim(t, 115200)
			r := newReader(t, idcard.Config{Port: sim.Link(), Baud: 115200, PhotoDecoder: tt.decoder})
			c := samsim.SampleCards()[0]
			if err := sim.Place(c); err != nil {
				t.Fatal(err)
			}
			got, err := r.ReadCard(ctxT(t))
			if err != nil {
				t.Fatal(err)
			}
			if tt.wantBMP != (len(got.PhotoBMP) == 2+sam.PhotoLen) {
				t.Errorf("BMP of %d bytes", len(got.PhotoBMP))
			}
			if string(got.Photo) != string(samsim.FakeWLT(c.IDNumber)) {
				t.Error("WLT photo differs")
			}
		})
	}
}

func TestAppendedAddressAndSAMID(t *testing.T) {
	sim := newSim(t, 115200)
	r := newReader(t, idcard.Config{Port: sim.Link(), Baud: 115200})
	cards := samsim.SampleCards()
	if err := sim.Place(cards[0]); err != nil {
		t.Fatal(err)
	}
	if _, err := r.ReadCard(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if addr, err := r.ReadAppendedAddress(ctxT(t)); err != nil || addr != cards[0].AppendedAddress {
		t.Errorf("appended address %q, %v", addr, err)
	}
	if err := sim.Place(cards[1]); err != nil {
		t.Fatal(err)
	}
	var se *sam.StatusError
	if _, err := r.ReadAppendedAddress(ctxT(t)); !errors.As(err, &se) || se.Code != sam.FieldEmpty {
		t.Errorf("card without appended address: %v", err)
	}
	if id, err := r.SAMID(ctxT(t)); err != nil || len(id) != 32 {
		t.Errorf("SAM ID %q, %v", id, err)
	}
}

// BenchmarkReadCard measures ReadCard (find, select, read text + photo) at 115200 baud through the
// pty: the read reply alone is 1295 bytes, about 0.11 s on the wire.
func BenchmarkReadCard(b *testing.B) {
	sim := newSim(b, 115200)
	r := newReader(b, idcard.Config{Port: sim.Link(), Baud: 115200})
	if err := sim.Place(samsim.SampleCards()[0]); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if _, err := r.ReadCard(ctx); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := r.ReadCard(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/op")
}

// BenchmarkPlacedToEvent measures from placing a card on the simulated reader to the CardPlaced
// event at 115200 baud: the wait for the poll that finds the card, then the find/select/read
// exchanges. Each card is placed at a random moment of the poll cycle (uniform over the interval
// after the poll that saw the reader empty), so the percentiles cover every phase. The sub-benchmark
// poll=300ms is the interval before it became 100 ms, measured in the same run.
func BenchmarkPlacedToEvent(b *testing.B) {
	for _, interval := range []time.Duration{0, 300 * time.Millisecond} {
		name := "poll=default"
		if interval > 0 {
			name = fmt.Sprintf("poll=%v", interval)
		}
		b.Run(name, func(b *testing.B) { benchmarkPlacedToEvent(b, interval) })
	}
}

func benchmarkPlacedToEvent(b *testing.B, interval time.Duration) {
	sim := newSim(b, 115200)
	r := newReader(b, idcard.Config{Port: sim.Link(), Baud: 115200, PollInterval: interval})
	if interval == 0 {
		interval = idcard.DefaultPollInterval
	}
	ctx, cancel := context.WithCancel(context.Background())
	events := make(chan devices.CardEvent, 8)
	done := make(chan error, 1)
	go func() { done <- r.Watch(ctx, events) }()
	defer func() { cancel(); <-done }()
	card := samsim.SampleCards()[0]
	var lat []time.Duration
	for b.Loop() {
		b.StopTimer()
		time.Sleep(rand.N(interval)) // a random phase of the poll cycle
		b.StartTimer()
		start := time.Now()
		if err := sim.Place(card); err != nil {
			b.Fatal(err)
		}
		if ev := idcardtest.NextEvent(b, events); ev.Kind != devices.CardPlaced {
			b.Fatalf("got %s: %v", ev.Kind, ev.Err)
		}
		lat = append(lat, time.Since(start))
		b.StopTimer()
		sim.Remove()
		if ev := idcardtest.NextEvent(b, events); ev.Kind != devices.CardRemoved {
			b.Fatalf("got %s: %v", ev.Kind, ev.Err)
		}
		b.StartTimer()
	}
	reportPercentiles(b, lat)
}

// reportPercentiles reports the mean, p50, p95 and max of lat in milliseconds.
func reportPercentiles(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	var sum time.Duration
	for _, d := range lat {
		sum += d
	}
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1e3 }
	b.ReportMetric(ms(sum/time.Duration(len(lat))), "ms/op")
	b.ReportMetric(ms(lat[len(lat)/2]), "p50-ms")
	b.ReportMetric(ms(lat[(len(lat)*95+99)/100-1]), "p95-ms")
	b.ReportMetric(ms(lat[len(lat)-1]), "max-ms")
}

// BenchmarkIdlePolling measures what watching an empty reader costs: find-card frames a second
// and the process's CPU time (user + system, getrusage) per second of watching, against the
// simulator on a pty in the same process (its side of each exchange included). One op is 250 ms
// of idle watching. Sub-benchmarks: none (the simulator alone, nobody polling: the floor),
// poll=300ms (the interval before) and poll=default, all in the same run.
func BenchmarkIdlePolling(b *testing.B) {
	for _, tc := range []struct {
		name     string
		watch    bool
		interval time.Duration
	}{{"none", false, 0}, {"poll=300ms", true, 300 * time.Millisecond}, {"poll=default", true, 0}} {
		b.Run(tc.name, func(b *testing.B) {
			sim := newSim(b, 115200)
			if tc.watch {
				r := newReader(b, idcard.Config{Port: sim.Link(), Baud: 115200, PollInterval: tc.interval})
				ctx, cancel := context.WithCancel(context.Background())
				done := make(chan error, 1)
				go func() { done <- r.Watch(ctx, make(chan devices.CardEvent, 8)) }()
				defer func() { cancel(); <-done }()
				time.Sleep(500 * time.Millisecond) // opened and polling
			}
			finds0, cpu0, start := len(sim.FindTimes()), cpuTime(b), time.Now()
			for b.Loop() {
				time.Sleep(250 * time.Millisecond)
			}
			secs := time.Since(start).Seconds()
			b.ReportMetric(float64(len(sim.FindTimes())-finds0)/secs, "frames/s")
			b.ReportMetric(float64((cpuTime(b)-cpu0).Microseconds())/1e3/secs, "cpu-ms/s")
		})
	}
}

// cpuTime is the process's user + system CPU time so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
