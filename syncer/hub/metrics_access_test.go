package hub

import (
	"net/http/httptest"
	"testing"
)

func TestMetricsAreForLoopbackOrTheTokenHolder(t *testing.T) {
	cases := []struct {
		name, token, remote, header string
		ok                          bool
	}{
		{"loopback", "", "127.0.0.1:5555", "", true},
		{"loopback over IPv6", "", "[::1]:5555", "", true},
		{"a station's address without a token configured", "", "192.0.2.7:5555", "Bearer x", false},
		{"a scraper with the token", "scrape-token-1", "192.0.2.7:5555", "Bearer scrape-token-1", true},
		{"a scraper with another token", "scrape-token-1", "192.0.2.7:5555", "Bearer scrape-token-2", false},
		{"a scraper without a token", "scrape-token-1", "192.0.2.7:5555", "", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := &Server{cfg: Config{MetricsToken: c.token}}
			r := httptest.NewRequest("GET", "/metrics", nil)
			r.RemoteAddr = c.remote
			if c.header != "" {
				r.Header.Set("Authorization", c.header)
			}
			if got := s.metricsAllowed(r); got != c.ok {
				t.Errorf("metricsAllowed = %v, want %v", got, c.ok)
			}
		})
	}
}
