package http

import (
	"io"
	nethttp "net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
)

func TestUI(t *testing.T) {
	ui := fstest.MapFS{
		"index.html":          {Data: []byte("<!doctype html><title>station</title>")},
		"assets/app-1a2b.js":  {Data: []byte("console.log(1)")},
		"assets/app-1a2b.css": {Data: []byte("body{}")},
		"secret.txt":          {Data: []byte("not an asset")},
	}
	built := NewServer(Config{UI: ui})
	bare := NewServer(Config{})
	tests := []struct {
		name        string
		srv         *Server
		path        string
		status      int
		cache       string
		contentType string
		body        string
	}{
		{"a hashed asset is cached for a year", built, "/assets/app-1a2b.js", 200, "public, max-age=31536000, immutable", "javascript", "console.log"},
		{"a stylesheet gets its content type", built, "/assets/app-1a2b.css", 200, "immutable", "text/css", "body{}"},
		{"a missing asset is not found", built, "/assets/nope.js", 404, "", "json", "ENOTFOUND"},
		{"an asset path cannot climb out of assets", built, "/assets/..%2fsecret.txt", 404, "", "", ""},
		{"the kiosk gets index.html, never cached", built, "/kiosk", 200, "no-cache", "text/html", "<title>station</title>"},
		{"a counter sub-path gets index.html", built, "/counter/applications/42", 200, "no-cache", "text/html", "<title>station</title>"},
		{"the setup page gets index.html", built, "/setup", 200, "no-cache", "text/html", "<title>station</title>"},
		{"without a built UI the kiosk explains how to build it", bare, "/kiosk", 200, "no-cache", "text/html", "make ui"},
		{"without a built UI there are no assets", bare, "/assets/app-1a2b.js", 404, "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := tt.srv.app.Test(httptest.NewRequest(nethttp.MethodGet, tt.path, nil))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, b)
			}
			if got := resp.Header.Get("Cache-Control"); !strings.Contains(got, tt.cache) {
				t.Errorf("Cache-Control %q, want %q", got, tt.cache)
			}
			if got := resp.Header.Get("Content-Type"); !strings.Contains(got, tt.contentType) {
				t.Errorf("Content-Type %q, want %q", got, tt.contentType)
			}
			if !strings.Contains(string(b), tt.body) {
				t.Errorf("body %q lacks %q", b, tt.body)
			}
		})
	}
}
