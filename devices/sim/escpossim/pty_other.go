//go:build !linux

package escpossim

import (
	"errors"
	"os"
)

// openRawPTY reports that the serial side of the simulator needs Linux; its TCP side (Serve) works
// everywhere.
func openRawPTY() (ptmx, tty *os.File, err error) {
	return nil, nil, errors.New("escpossim: the serial printer simulator needs a Linux pseudo-terminal (use the TCP side)")
}
