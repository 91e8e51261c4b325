package http

import (
	nethttp "net/http"
	"net/http/httptest"
	"testing"
)

// TestMetricsAnswerTheBoxOrATokenHolder: fiber's in-memory test connection comes from 0.0.0.0, not
// loopback, so it stands for a client on the LAN.
func TestMetricsAnswerTheBoxOrATokenHolder(t *testing.T) {
	cases := []struct {
		name   string
		token  string // configured
		header string // sent
		status int
	}{
		{"a LAN client without a configured token is refused", "", "", 403},
		{"a LAN client with no token is refused", "s3cret-scrape-token", "", 403},
		{"a LAN client with a wrong token is refused", "s3cret-scrape-token", "Bearer s3cret-scrape-tokeN", 403},
		{"a LAN client with the token is served", "s3cret-scrape-token", "Bearer s3cret-scrape-token", 200},
		{"a token sent without Bearer is refused", "s3cret-scrape-token", "s3cret-scrape-token", 403},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := NewServer(Config{MetricsToken: c.token})
			req := httptest.NewRequest(nethttp.MethodGet, "/metrics", nil)
			if c.header != "" {
				req.Header.Set("Authorization", c.header)
			}
			resp, err := srv.app.Test(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != c.status {
				t.Errorf("status %d, want %d", resp.StatusCode, c.status)
			}
		})
	}
}
