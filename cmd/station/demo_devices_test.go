package main

import (
	"strings"
	"testing"
)

// TestDemoCardPlacedOnAnotherSwapsTheResident: the simulator panel's 放卡 on a reader that holds a
// card, or right after 取卡, must end with the new resident on the kiosk and say what happened,
// never answer "ok" and leave the old resident there.
func TestDemoCardPlacedOnAnotherSwapsTheResident(t *testing.T) {
	s := startStation(t)
	cards := s.demoDev.DemoCards()
	if len(cards) < 3 {
		t.Fatalf("%d demo cards", len(cards))
	}
	place := func(i int) string {
		t.Helper()
		r := s.do(t, "POST", "/api/v1/demo/idreader/place", "", map[string]int{"index": i})
		var v struct{ Message string }
		r.json(t, &v)
		if r.status != 200 {
			t.Fatalf("place %d: %d %s", i, r.status, r.body)
		}
		eventually(t, "card "+cards[i].Name+" is read", func() bool { c := s.Rig.Card(); return c != nil && c.Name == cards[i].Name })
		return v.Message
	}
	if msg := place(0); strings.Contains(msg, "换上") {
		t.Errorf("placing on an empty reader says %q", msg)
	}
	if msg := place(1); !strings.Contains(msg, "取走读卡区原有的证件") {
		t.Errorf("placing on an occupied reader says %q; want that the old card was taken away", msg)
	}
	s.do(t, "POST", "/api/v1/demo/idreader/remove", "", nil)
	place(2) // at once: the reader must still see the gap
}
