// Package sdnotify tells systemd how a service started with Type=notify is doing: READY=1 once it
// serves, WATCHDOG=1 while it is healthy, STOPPING=1 as it stops, and a STATUS= line for
// `systemctl status`. It speaks the datagram protocol of sd_notify(3) on $NOTIFY_SOCKET itself, so it
// needs no libsystemd; outside systemd (no $NOTIFY_SOCKET) every call does nothing.
package sdnotify

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"
)

// The states a service reports.
const (
	Ready    = "READY=1"
	Stopping = "STOPPING=1"
	Watchdog = "WATCHDOG=1"
)

// Notifier sends state lines to systemd's notification socket.
type Notifier struct {
	socket string // "" when not started by systemd with Type=notify
	pid    int    // this process, for the watchdog's $WATCHDOG_PID check
	getenv func(string) string
}

// New returns a Notifier for the socket $NOTIFY_SOCKET names (none outside systemd).
func New() *Notifier { return newFrom(os.Getenv) }

func newFrom(getenv func(string) string) *Notifier {
	return &Notifier{socket: getenv("NOTIFY_SOCKET"), pid: os.Getpid(), getenv: getenv}
}

// Enabled reports whether systemd listens for notifications.
func (n *Notifier) Enabled() bool { return n.socket != "" }

// Notify sends the state lines (Ready, "STATUS=…", …) as one datagram. Without a socket it does
// nothing and returns nil.
func (n *Notifier) Notify(states ...string) error {
	if n.socket == "" {
		return nil
	}
	addr := n.socket
	if strings.HasPrefix(addr, "@") { // an abstract socket
		addr = "\x00" + addr[1:]
	}
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: addr, Net: "unixgram"})
	if err != nil {
		return fmt.Errorf("sd_notify %s: %w", n.socket, err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte(strings.Join(states, "\n"))); err != nil {
		return fmt.Errorf("sd_notify %s: %w", n.socket, err)
	}
	return nil
}

// WatchdogInterval is how often the service must send Watchdog: half of $WATCHDOG_USEC, the margin
// sd_watchdog_enabled(3) recommends. It is 0 when systemd expects no pings (no WatchdogSec=, or the
// watchdog is meant for another process).
func (n *Notifier) WatchdogInterval() (time.Duration, error) {
	usec := n.getenv("WATCHDOG_USEC")
	if usec == "" || n.socket == "" {
		return 0, nil
	}
	if p := n.getenv("WATCHDOG_PID"); p != "" {
		pid, err := strconv.Atoi(p)
		if err != nil {
			return 0, fmt.Errorf("WATCHDOG_PID %q: %w", p, err)
		}
		if pid != n.pid {
			return 0, nil
		}
	}
	us, err := strconv.ParseInt(usec, 10, 64)
	if err != nil || us <= 0 {
		return 0, errors.New("WATCHDOG_USEC " + strconv.Quote(usec) + " is not a positive number")
	}
	return time.Duration(us) * time.Microsecond / 2, nil
}
