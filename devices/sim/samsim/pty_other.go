//go:build !linux

package samsim

import (
	"errors"
	"os"
)

// errNoPTY is what the simulator answers where it cannot run: it needs a Linux pseudo-terminal. The
// demo station on such a box runs without a simulated ID card reader; real readers work.
var errNoPTY = errors.New("samsim: the simulated ID card reader needs a Linux pseudo-terminal")

var speeds = map[int]uint32{1200: 1200, 2400: 2400, 4800: 4800, 9600: 9600, 19200: 19200, 38400: 38400,
	57600: 57600, 115200: 115200, 230400: 230400}

func openPTY() (master, slave *os.File, err error) { return nil, nil, errNoPTY }

func (s *Sim) rawMode(*os.File) error { return errNoPTY }

func (s *Sim) lineSpeed(*os.File) bool { return false }
