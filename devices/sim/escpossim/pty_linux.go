//go:build linux

package escpossim

import (
	"fmt"
	"os"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

// openRawPTY opens a pseudo-terminal in raw mode (Linux termios). It keeps the terminal side open so
// the master never sees EIO between a driver's opens, and makes it raw so no byte is translated or
// echoed.
func openRawPTY() (ptmx, tty *os.File, err error) {
	ptmx, tty, err = pty.Open()
	if err != nil {
		return nil, nil, fmt.Errorf("escpossim: open pty: %w", err)
	}
	t, err := unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS)
	if err == nil {
		t.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
		t.Oflag &^= unix.OPOST
		t.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
		t.Cflag &^= unix.CSIZE | unix.PARENB
		t.Cflag |= unix.CS8
		err = unix.IoctlSetTermios(int(tty.Fd()), unix.TCSETS, t)
	}
	if err != nil {
		ptmx.Close()
		tty.Close()
		return nil, nil, fmt.Errorf("escpossim: raw mode: %w", err)
	}
	return ptmx, tty, nil
}
