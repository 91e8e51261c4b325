package http

import (
	"fmt"
	"testing"
	"time"
)

func TestGuessLimiterBoundsOneAddressAcrossNumbers(t *testing.T) {
	g := newGuessLimiter()
	now := time.Date(2026, 11, 24, 1, 0, 0, 0, time.UTC)
	for i := 0; i < guessPerClient; i++ {
		number := fmt.Sprintf("SQ20261124-%04d", i)
		if g.blocked("10.0.0.9", number, now) {
			t.Fatalf("guess %d blocked too early", i+1)
		}
		g.fail("10.0.0.9", number, now)
	}
	if !g.blocked("10.0.0.9", "SQ20261124-9999", now) {
		t.Fatal("an address past its bound may still sweep new numbers")
	}
	if g.blocked("10.0.0.10", "SQ20261124-9999", now) {
		t.Fatal("another address is blocked too")
	}
	if g.blocked("10.0.0.9", "SQ20261124-9999", now.Add(guessWindow)) {
		t.Fatal("the bound does not expire after the window")
	}
}
