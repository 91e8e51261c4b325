package http

import (
	"net"
	"testing"
	"time"
)

// TestCloseWithAConnectionThatSentNothing: a client connection that has not sent its first request
// (a browser's preconnect, an HTTP client's dial race) holds fasthttp's Shutdown for 5 s; Close still
// stops cleanly instead of failing with a deadline.
func TestCloseWithAConnectionThatSentNothing(t *testing.T) {
	s := NewServer(Config{Version: "test"})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.Start(ln)
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// Let the server accept it, so it is tracked as a new connection.
	if _, err := conn.Write(nil); err != nil {
		t.Fatal(err)
	}
	for range 100 {
		if s.app.Server().GetOpenConnectionsCount() > 0 {
			break
		}
		waitABit()
	}
	if n := s.app.Server().GetOpenConnectionsCount(); n != 1 {
		t.Fatalf("open connections: %d", n)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("close with a silent connection: %v", err)
	}
}

func waitABit() { <-time.After(10 * time.Millisecond) }
