package sdnotify

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// listen opens a notification socket as systemd does and returns its path and a reader of datagrams.
func listen(t *testing.T) (string, func() string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return path, func() string {
		buf := make([]byte, 4096)
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, err := conn.Read(buf)
		if err != nil {
			t.Fatalf("no notification: %v", err)
		}
		return string(buf[:n])
	}
}

func env(vars map[string]string) func(string) string { return func(k string) string { return vars[k] } }

func TestNotifySendsTheStatesAsOneDatagram(t *testing.T) {
	path, read := listen(t)
	n := newFrom(env(map[string]string{"NOTIFY_SOCKET": path}))
	if !n.Enabled() {
		t.Fatal("not enabled with NOTIFY_SOCKET set")
	}
	if err := n.Notify(Ready, "STATUS=正在服务"); err != nil {
		t.Fatal(err)
	}
	if got := read(); got != "READY=1\nSTATUS=正在服务" {
		t.Errorf("datagram = %q", got)
	}
}

func TestOutsideSystemdNothingIsSent(t *testing.T) {
	n := newFrom(env(nil))
	if n.Enabled() || n.Notify(Ready) != nil {
		t.Error("a notifier without NOTIFY_SOCKET should do nothing")
	}
	if d, err := n.WatchdogInterval(); d != 0 || err != nil {
		t.Errorf("WatchdogInterval = %v, %v", d, err)
	}
}

func TestAMissingSocketIsAnError(t *testing.T) {
	n := newFrom(env(map[string]string{"NOTIFY_SOCKET": filepath.Join(t.TempDir(), "gone")}))
	if err := n.Notify(Ready); err == nil {
		t.Error("notifying a socket that does not exist succeeded")
	}
}

func TestWatchdogIntervalIsHalfOfWatchdogUsecForThisProcess(t *testing.T) {
	pid := strconv.Itoa(os.Getpid())
	cases := []struct {
		name string
		vars map[string]string
		want time.Duration
		bad  bool
	}{
		{"30 s watchdog", map[string]string{"WATCHDOG_USEC": "30000000"}, 15 * time.Second, false},
		{"for this pid", map[string]string{"WATCHDOG_USEC": "2000000", "WATCHDOG_PID": pid}, time.Second, false},
		{"for another pid", map[string]string{"WATCHDOG_USEC": "2000000", "WATCHDOG_PID": "1"}, 0, false},
		{"no watchdog", map[string]string{}, 0, false},
		{"garbage", map[string]string{"WATCHDOG_USEC": "soon"}, 0, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.vars["NOTIFY_SOCKET"] = "/run/systemd/notify"
			d, err := newFrom(env(c.vars)).WatchdogInterval()
			if d != c.want || (err != nil) != c.bad {
				t.Errorf("WatchdogInterval = %v, %v; want %v (error %v)", d, err, c.want, c.bad)
			}
		})
	}
}
