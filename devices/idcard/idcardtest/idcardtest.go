// Package idcardtest is the conformance suite for devices.IDReader: the same tests run against the
// simulator (always) and against a real reader (when a technician points STATION_HW_IDREADER at
// its port), so the simulator cannot drift from what the hardware does.
package idcardtest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/civic-station/station/devices"
)

// Hand puts cards on a reader and takes them away: the simulator's controls, or nil for hardware
// nobody tends (the tests that need a card placed are then skipped).
type Hand interface {
	Place(card devices.IDCard) error
	Remove() error
}

// Harness is one reader under test.
type Harness struct {
	Reader devices.IDReader
	Hand   Hand
	// Cards are the cards the tests place (with Hand), one of each type the reader should read.
	Cards []devices.IDCard
}

// Bound is how long the suite waits for anything to happen; it is a bound on correctness (an event
// that never comes), not a performance figure.
const Bound = 10 * time.Second

// TestIDReader runs the conformance suite. newHarness is called once per subtest and must clean up
// with t.Cleanup.
func TestIDReader(t *testing.T, newHarness func(t *testing.T) Harness) {
	t.Run("ReadCard answers with a card or ErrNoCard", func(t *testing.T) {
		h := newHarness(t)
		ctx, cancel := context.WithTimeout(context.Background(), Bound)
		defer cancel()
		card, err := h.Reader.ReadCard(ctx)
		if err != nil && !errors.Is(err, devices.ErrNoCard) {
			t.Fatalf("ReadCard: %v", err)
		}
		if err == nil && (card == nil || card.IDNumber == "") {
			t.Fatalf("ReadCard returned no error but card %+v", card)
		}
		st := h.Reader.Status()
		if st.Kind != devices.KindIDReader || !st.Connected || st.State != devices.StateReady {
			t.Errorf("after answering, status is %+v", st)
		}
	})

	t.Run("Watch returns when its context ends", func(t *testing.T) {
		h := newHarness(t)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- h.Reader.Watch(ctx, make(chan devices.CardEvent, 16)) }()
		time.Sleep(500 * time.Millisecond)
		cancel()
		select {
		case <-done:
		case <-time.After(Bound):
			t.Fatal("Watch did not return after its context ended")
		}
	})

	t.Run("ReadCard with no card on the reader is ErrNoCard", func(t *testing.T) {
		h := needHand(t, newHarness)
		if err := h.Hand.Remove(); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), Bound)
		defer cancel()
		if _, err := h.Reader.ReadCard(ctx); !errors.Is(err, devices.ErrNoCard) {
			t.Fatalf("got %v, want ErrNoCard", err)
		}
	})

	t.Run("ReadCard reads every type of card", func(t *testing.T) {
		h := needHand(t, newHarness)
		for _, want := range h.Cards {
			t.Run(string(want.Type), func(t *testing.T) {
				if err := h.Hand.Place(want); err != nil {
					t.Fatal(err)
				}
				ctx, cancel := context.WithTimeout(context.Background(), Bound)
				defer cancel()
				got, err := h.Reader.ReadCard(ctx)
				if err != nil {
					t.Fatal(err)
				}
				SameCard(t, got, &want)
			})
		}
	})

	t.Run("placing and removing a card are reported by Watch", func(t *testing.T) {
		h := needHand(t, newHarness)
		if err := h.Hand.Remove(); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		events := make(chan devices.CardEvent, 16)
		done := make(chan error, 1)
		go func() { done <- h.Reader.Watch(ctx, events) }()
		defer func() { cancel(); <-done }()
		for _, want := range h.Cards[:min(2, len(h.Cards))] {
			if err := h.Hand.Place(want); err != nil {
				t.Fatal(err)
			}
			ev := NextEvent(t, events)
			if ev.Kind != devices.CardPlaced {
				t.Fatalf("after placing, got %s (%v), want placed", ev.Kind, ev.Err)
			}
			SameCard(t, ev.Card, &want)
			if ev.At.IsZero() {
				t.Error("event has no time")
			}
			if err := h.Hand.Remove(); err != nil {
				t.Fatal(err)
			}
			if ev := NextEvent(t, events); ev.Kind != devices.CardRemoved {
				t.Fatalf("after removing, got %s (%v), want removed", ev.Kind, ev.Err)
			}
		}
	})

	t.Run("a card already on the reader when Watch starts is reported", func(t *testing.T) {
		h := needHand(t, newHarness)
		if err := h.Hand.Place(h.Cards[0]); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		events := make(chan devices.CardEvent, 16)
		done := make(chan error, 1)
		go func() { done <- h.Reader.Watch(ctx, events) }()
		defer func() { cancel(); <-done }()
		ev := NextEvent(t, events)
		if ev.Kind != devices.CardPlaced {
			t.Fatalf("got %s (%v), want placed", ev.Kind, ev.Err)
		}
		SameCard(t, ev.Card, &h.Cards[0])
	})
}

func needHand(t *testing.T, newHarness func(t *testing.T) Harness) Harness {
	h := newHarness(t)
	if h.Hand == nil || len(h.Cards) == 0 {
		t.Skip("nobody to place cards on this reader")
	}
	return h
}

// NextEvent waits up to Bound for the next event.
func NextEvent(t testing.TB, events <-chan devices.CardEvent) devices.CardEvent {
	t.Helper()
	select {
	case ev := <-events:
		return ev
	case <-time.After(Bound):
		t.Fatalf("no reader event within %v", Bound)
		return devices.CardEvent{}
	}
}

// SameCard fails the test unless got carries want's text fields (photos are not compared). It
// never prints the values: they are personal data on a real card.
func SameCard(t testing.TB, got, want *devices.IDCard) {
	t.Helper()
	if got == nil {
		t.Fatal("no card")
	}
	g, w := *got, *want
	g.Photo, g.PhotoBMP, w.Photo, w.PhotoBMP = nil, nil, nil, nil
	type field struct {
		name     string
		got, exp any
	}
	for _, f := range []field{
		{"card_type", g.Type, w.Type}, {"name", g.Name, w.Name}, {"name_en", g.NameEN, w.NameEN},
		{"sex", g.Sex, w.Sex}, {"ethnicity_code", g.EthnicityCode, w.EthnicityCode}, {"ethnicity", g.Ethnicity, w.Ethnicity},
		{"birth_date", g.BirthDate, w.BirthDate}, {"address", g.Address, w.Address}, {"id_number", g.IDNumber, w.IDNumber},
		{"authority", g.Authority, w.Authority}, {"valid_from", g.ValidFrom, w.ValidFrom}, {"valid_to", g.ValidTo, w.ValidTo},
		{"nationality", g.Nationality, w.Nationality}, {"pass_number", g.PassNumber, w.PassNumber},
		{"issue_count", g.IssueCount, w.IssueCount}, {"previous_card", g.PreviousCard, w.PreviousCard},
	} {
		if f.got != f.exp {
			t.Errorf("field %s differs from the card placed", f.name)
		}
	}
}
