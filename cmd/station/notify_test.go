package main

import (
	"context"
	"io"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRunNotifiesSystemd runs `station run` as systemd would start it with Type=notify and
// WatchdogSec: READY=1 once it serves, WATCHDOG=1 pings while the store answers, STOPPING=1 on stop.
func TestRunNotifiesSystemd(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	t.Setenv("NOTIFY_SOCKET", sock)
	t.Setenv("WATCHDOG_USEC", "300000") // pings every 150 ms
	t.Setenv("STATION_CONFIG", writeConfig(t, "# empty: defaults and flags only\n"))
	ctx, cancel := context.WithCancel(context.Background())
	exited := make(chan int, 1)
	go func() {
		exited <- run(ctx, []string{"run", "--data", t.TempDir(), "--listen", "127.0.0.1:0", "--listen-https", "127.0.0.1:0", "--hub-console", "127.0.0.1:0"}, strings.NewReader(""), io.Discard, io.Discard)
	}()
	read := func() string {
		buf := make([]byte, 1024)
		_ = conn.SetReadDeadline(time.Now().Add(20 * time.Second))
		n, err := conn.Read(buf)
		if err != nil {
			t.Fatalf("no notification: %v", err)
		}
		return string(buf[:n])
	}
	if got := read(); !strings.HasPrefix(got, "READY=1\n") {
		t.Fatalf("first notification %q, want READY=1", got)
	}
	for i := 0; i < 2; i++ {
		if got := read(); got != "WATCHDOG=1" {
			t.Fatalf("notification %q, want a watchdog ping", got)
		}
	}
	cancel()
	for {
		if got := read(); got == "STOPPING=1" {
			break
		}
	}
	if code := <-exited; code != 0 {
		t.Errorf("station run exited %d", code)
	}
}
