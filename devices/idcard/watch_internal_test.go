package idcard

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/civic-station/station/devices"
	"github.com/civic-station/station/devices/sim/samsim"
)

// kioskBudget is the kiosk's bound, at the 95th percentile, from placing a card to its name on the
// screen.
const kioskBudget = 250 * time.Millisecond

// wireTime is how long n bytes take on the line at baud (8N1: 10 bits a byte).
func wireTime(n, baud int) time.Duration {
	return time.Duration(n) * 10 * time.Second / time.Duration(baud)
}

// TestAnEmptyReaderIsPolledFastAndAHeldCardSlowly checks the watcher's intervals against the
// simulator: an empty reader is polled every DefaultPollInterval, short enough that the longest
// wait for the poll plus the exchanges' time on the wire stays inside the kiosk's budget; a
// reader holding a card every PresentPollInterval; an empty one again at the fast interval.
func TestAnEmptyReaderIsPolledFastAndAHeldCardSlowly(t *testing.T) {
	// find 10+15, select 10+19, read 10+1295 bytes at 115200 baud: 118 ms.
	exchanges := wireTime(10+15+10+19+10+1295, 115200)
	if worst := DefaultPollInterval + exchanges; worst > kioskBudget {
		t.Errorf("a card placed just after a poll waits %v + %v on the wire = %v, over the kiosk's %v", DefaultPollInterval, exchanges, worst, kioskBudget)
	}
	sim, err := samsim.New(samsim.Config{Link: filepath.Join(t.TempDir(), "ttySAM")})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	r := New(Config{Port: sim.Link(), Baud: 115200})
	defer r.Close()
	events := make(chan devices.CardEvent, 8)
	w := watcher{r: r, events: events}
	ctx := context.Background()
	if got := w.poll(ctx); got != DefaultPollInterval {
		t.Errorf("empty reader: next poll in %v, want %v", got, DefaultPollInterval)
	}
	if err := sim.Place(samsim.SampleCards()[0]); err != nil {
		t.Fatal(err)
	}
	if got := w.poll(ctx); got != PresentPollInterval {
		t.Errorf("after reading a card: next poll in %v, want %v", got, PresentPollInterval)
	}
	if ev := <-events; ev.Kind != devices.CardPlaced {
		t.Fatalf("got %s (%v), want placed", ev.Kind, ev.Err)
	}
	if got := w.poll(ctx); got != PresentPollInterval {
		t.Errorf("card still there: next poll in %v, want %v", got, PresentPollInterval)
	}
	sim.Remove()
	if got := w.poll(ctx); got != DefaultPollInterval {
		t.Errorf("card removed: next poll in %v, want %v", got, DefaultPollInterval)
	}
	if ev := <-events; ev.Kind != devices.CardRemoved {
		t.Fatalf("got %s (%v), want removed", ev.Kind, ev.Err)
	}
}
