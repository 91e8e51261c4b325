//go:build linux

package samsim

import (
	"fmt"
	"os"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

// The pseudo-terminal and its line settings: Linux termios (TCGETS, CBAUD). Other systems build
// pty_other.go, where New reports that the simulator needs Linux.

var speeds = map[int]uint32{1200: unix.B1200, 2400: unix.B2400, 4800: unix.B4800, 9600: unix.B9600,
	19200: unix.B19200, 38400: unix.B38400, 57600: unix.B57600, 115200: unix.B115200, 230400: unix.B230400}

// openPTY opens a pty whose master side is in the runtime's poller, so that closing it (Unplug)
// ends a pending read. pty.Open leaves the master in blocking mode (it calls Fd), where Close would
// wait for the read to return, so the master is reopened from a non-blocking duplicate.
func openPTY() (master, slave *os.File, err error) {
	m, slave, err := pty.Open()
	if err != nil {
		return nil, nil, fmt.Errorf("samsim: open pty: %w", err)
	}
	defer m.Close()
	fd, err := unix.Dup(int(m.Fd()))
	if err == nil {
		err = unix.SetNonblock(fd, true)
		if err != nil {
			unix.Close(fd)
		}
	}
	if err != nil {
		slave.Close()
		return nil, nil, fmt.Errorf("samsim: pty master: %w", err)
	}
	return os.NewFile(uintptr(fd), "/dev/ptmx"), slave, nil
}

// rawMode puts the line in raw 8N1 at the simulator's speed, so nothing is echoed or translated
// before a driver sets its own mode.
func (s *Sim) rawMode(slave *os.File) error {
	return control(slave, func(fd int) error {
		t, err := unix.IoctlGetTermios(fd, unix.TCGETS)
		if err != nil {
			return err
		}
		t.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
		t.Oflag &^= unix.OPOST
		t.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
		t.Cflag &^= unix.CSIZE | unix.PARENB | unix.CBAUD
		t.Cflag |= unix.CS8 | s.speed
		t.Cc[unix.VMIN], t.Cc[unix.VTIME] = 1, 0
		return unix.IoctlSetTermios(fd, unix.TCSETS, t)
	})
}

func control(f *os.File, fn func(fd int) error) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	if err := rc.Control(func(fd uintptr) { ferr = fn(int(fd)) }); err != nil {
		return err
	}
	return ferr
}

// lineSpeed reports whether the driver set the line to the simulator's speed.
func (s *Sim) lineSpeed(slave *os.File) bool {
	ok := true
	_ = control(slave, func(fd int) error {
		t, err := unix.IoctlGetTermios(fd, unix.TCGETS)
		if err == nil {
			ok = t.Cflag&unix.CBAUD == s.speed
		}
		return err
	})
	return ok
}
