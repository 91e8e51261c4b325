package escpos

import (
	"errors"
	"fmt"
	"strings"
)

// StatusQuery is the four real-time status requests, DLE EOT n for n = 1 (printer), 2 (offline
// cause), 3 (error cause) and 4 (roll paper sensor). The printer answers each with one byte, in
// order, as soon as it receives it, even while it is busy or offline.
var StatusQuery = []byte{dle, eot, 1, dle, eot, 2, dle, eot, 3, dle, eot, 4}

// ErrBadStatus means a reply byte is not a DLE EOT status byte (its fixed bits are wrong): the
// device on the line is not an ESC/POS printer, or the stream is out of step.
var ErrBadStatus = errors.New("escpos: not a status byte")

// Bits of the DLE EOT replies. Every reply has bit 1 and bit 4 set and bits 0 and 7 clear.
const (
	statusFixedMask = 0x93 // bits 7, 4, 1, 0
	statusFixed     = 0x12 // bit 4 and bit 1 set

	// n = 1, printer status
	// bit 2: drawer kick-out connector pin 3 is high
	stOffline = 0x08 // bit 3: offline
	// bit 5: waiting for online recovery; bit 6: paper feed button pressed

	// n = 2, offline cause
	offCoverOpen = 0x04 // bit 2: cover open
	// bit 3: paper being fed by the feed button
	offPaperStop  = 0x20 // bit 5: printing stopped because the paper ran out
	offErrorFound = 0x40 // bit 6: an error occurred

	// n = 3, error cause
	errRecoverable     = 0x04 // bit 2: recoverable error (mechanical error on some models)
	errAutocutter      = 0x08 // bit 3: autocutter error
	errUnrecoverable   = 0x20 // bit 5: unrecoverable error
	errAutoRecoverable = 0x40 // bit 6: automatically recoverable error (e.g. print head too hot)

	// n = 4, roll paper sensor
	paperNearEnd = 0x0C // bits 2 and 3: roll paper near-end sensor says little paper left
	paperEnd     = 0x60 // bits 5 and 6: roll paper end sensor says no paper
)

// Status is a printer's state as its four DLE EOT replies describe it.
type Status struct {
	Raw [4]byte // the replies to n = 1, 2, 3, 4

	Online        bool // n=1 bit 3 clear
	CoverOpen     bool // n=2 bit 2
	PaperNearEnd  bool // n=4 bits 2–3
	PaperOut      bool // n=4 bits 5–6, or n=2 bit 5
	Error         bool // n=2 bit 6, or any error cause of n=3
	Autocutter    bool // n=3 bit 3
	Unrecoverable bool // n=3 bit 5
}

// ParseStatus decodes the four replies to StatusQuery. It fails with ErrBadStatus when a byte's fixed
// bits are wrong.
func ParseStatus(raw [4]byte) (Status, error) {
	for i, b := range raw {
		if b&statusFixedMask != statusFixed {
			return Status{}, fmt.Errorf("%w: reply %d to DLE EOT %d is %#02x", ErrBadStatus, i, i+1, b)
		}
	}
	p, off, er, paper := raw[0], raw[1], raw[2], raw[3]
	return Status{
		Raw:           raw,
		Online:        p&stOffline == 0,
		CoverOpen:     off&offCoverOpen != 0,
		PaperNearEnd:  paper&paperNearEnd != 0,
		PaperOut:      paper&paperEnd != 0 || off&offPaperStop != 0,
		Error:         off&offErrorFound != 0 || er&(errRecoverable|errAutocutter|errUnrecoverable|errAutoRecoverable) != 0,
		Autocutter:    er&errAutocutter != 0,
		Unrecoverable: er&errUnrecoverable != 0,
	}, nil
}

// Ready reports whether the printer can print: online, with paper, cover closed, no error.
func (s Status) Ready() bool {
	return s.Online && !s.PaperOut && !s.CoverOpen && !s.Error
}

// Reasons lists what is wrong (or nearly so), as short machine-readable words for devices.Status.
func (s Status) Reasons() []string {
	var r []string
	add := func(cond bool, word string) {
		if cond {
			r = append(r, word)
		}
	}
	add(!s.Online, "offline")
	add(s.CoverOpen, "cover-open")
	add(s.PaperOut, "paper-out")
	add(s.PaperNearEnd && !s.PaperOut, "paper-near-end")
	add(s.Autocutter, "autocutter-error")
	add(s.Unrecoverable, "unrecoverable-error")
	add(s.Error && !s.Autocutter && !s.Unrecoverable, "error")
	return r
}

// String describes the status for logs and error messages.
func (s Status) String() string {
	if r := s.Reasons(); len(r) > 0 {
		return strings.Join(r, ", ")
	}
	return "ready"
}
