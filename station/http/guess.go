package http

import (
	"sync"
	"time"
)

// guessLimiter bounds failed guesses at the public progress lookup, where the secret is only the last 4
// characters of a document number. Failures are counted per application number (so no one can try the
// 11×10³ combinations for one application) and per client address (so no one can sweep numbers); a
// kiosk shares one address among all residents, so that bound is generous. Counts live in memory.
type guessLimiter struct {
	mu        sync.Mutex
	window    time.Duration
	perKey    int
	perClient int
	failures  map[string][]time.Time // key -> failure times within the window
}

// Progress lookup bounds: 5 wrong answers for one application, or 30 from one address, per hour.
const (
	guessWindow    = time.Hour
	guessPerNumber = 5
	guessPerClient = 30
)

func newGuessLimiter() *guessLimiter {
	return &guessLimiter{window: guessWindow, perKey: guessPerNumber, perClient: guessPerClient, failures: map[string][]time.Time{}}
}

// recent returns the failures of key still inside the window at now, dropping older ones.
func (g *guessLimiter) recent(key string, now time.Time) []time.Time {
	ts := g.failures[key]
	i := 0
	for i < len(ts) && now.Sub(ts[i]) >= g.window {
		i++
	}
	ts = ts[i:]
	if len(ts) == 0 {
		delete(g.failures, key)
		return nil
	}
	g.failures[key] = ts
	return ts
}

// blocked reports whether another guess for number from client must be refused at now.
func (g *guessLimiter) blocked(client, number string, now time.Time) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.recent("n:"+number, now)) >= g.perKey || len(g.recent("c:"+client, now)) >= g.perClient
}

// fail records a wrong guess for number from client at now.
func (g *guessLimiter) fail(client, number string, now time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, k := range []string{"n:" + number, "c:" + client} {
		g.failures[k] = append(g.recent(k, now), now)
	}
	if len(g.failures) > 10000 { // bound memory under a sweep: forget keys whose failures expired
		for k := range g.failures {
			g.recent(k, now)
		}
	}
}
