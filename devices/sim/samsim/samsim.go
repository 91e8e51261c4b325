// Package samsim simulates a GA 467 SAM ID card reader on a pseudo-terminal. It speaks exactly the
// protocol's bytes: it reads command frames from the pty and answers with response frames, paced
// to the configured baud rate (10 bits a byte: at 115200 baud the 1295-byte read reply takes about
// 0.11 s). The driver under test (devices/idcard) opens the pty's slave side like any serial port.
//
// The slave is exposed through a symlink at a stable path (Config.Link). Unplug closes the pty and
// removes the link, so a driver holding the port sees the line hang up and cannot reopen it;
// Replug makes a new pty and points the link at it, so a driver reopening the same path finds the
// device again. A command sent at a baud rate other than the simulator's is ignored, as a real
// reader would see only line noise, so the driver's baud probing is exercised too.
//
// Cards are placed with Place and taken away with Remove. Placing a card while another is on the
// reader swaps them as a hand would: the old card is lifted first, and the new one comes down only
// once the reader has found the reader empty (or Config.LiftTime has passed), so a polling driver
// sees the old card go and the new one come; the same holds for a Remove followed at once by a
// Place. Faults are injected with Inject: a bad checksum, garbage before a frame, silence, any SW3
// failure status, or the card removed in the middle of a read.
//
// # Control from another process
//
// Run starts a simulator and serves a control socket (a unix stream socket, default Link+".ctl").
// Each connection carries newline-delimited JSON requests, each answered by one JSON line:
//
//	{"op":"place","card":{"card_type":"resident","name":"张三",…}}   place this card
//	{"op":"place","index":2}                                       place the third loaded card
//	{"op":"remove"}                                                take the card away
//	{"op":"unplug"}  {"op":"replug"}                               pull or reinsert the cable
//	{"op":"fault","fault":{"kind":"status","on":"read-text-photo","status":65}}
//	{"op":"status"}                                                report the state
//
// and the reply is {"ok":true,"plugged":true,"card":true,"path":"/dev/pts/7"} or
// {"ok":false,"error":"…"}; a place that took another card away first says "swapped":true. Fault kinds: bad_checksum, garbage, silence, status, remove_mid_read;
// "on" is a command name (find-card, select-card, read-text-photo, …) or empty for any command.
// Send (used by `station simulate idreader --control PATH --place FILE|--remove`) is a client.
package samsim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/civic-station/station/devices"
	"github.com/civic-station/station/devices/idcard/sam"
)

// Card is a card the simulator can hold: the fields of devices.IDCard (same JSON keys) and the
// appended address some cards carry after a move.
type Card struct {
	devices.IDCard
	AppendedAddress string `json:"appended_address,omitempty"`
}

// FaultKind is a kind of injected fault.
type FaultKind string

// Fault kinds.
const (
	FaultBadChecksum   FaultKind = "bad_checksum"    // the reply's checksum byte is wrong
	FaultGarbage       FaultKind = "garbage"         // noise bytes come before the reply frame
	FaultSilence       FaultKind = "silence"         // no reply at all
	FaultStatus        FaultKind = "status"          // the reply carries Fault.Status and no data
	FaultRemoveMidRead FaultKind = "remove_mid_read" // half the read reply, then the card is gone
)

// Fault changes the simulator's next replies.
type Fault struct {
	Kind FaultKind `json:"kind"`
	// On is the command whose replies it affects ("" or the zero Command: any command).
	On string `json:"on,omitempty"`
	// Status is the SW3 code sent by a FaultStatus.
	Status sam.Code `json:"status,omitempty"`
	// Count is how many replies it affects (0 means 1).
	Count int `json:"count,omitempty"`
}

// Config configures a Sim.
type Config struct {
	// Link is the path of the symlink to the pty's slave side (required).
	Link string
	// Baud is the simulated line speed (default 115200).
	Baud int
	// LiftTime is the longest a swap waits for the reader to find the reader empty between the old
	// card and the new one (default DefaultLiftTime): how long a hand takes to lift one card and put
	// down the next, and the bound when no driver is polling.
	LiftTime time.Duration
	// Logger gets the simulator's log (default: discard).
	Logger *slog.Logger
}

// DefaultLiftTime is the default Config.LiftTime: two polls of a driver polling a reader that holds
// a card every 300 ms (devices/idcard), with room for a late one.
const DefaultLiftTime = 700 * time.Millisecond

// samID is the simulated SAM's ID.
var samID = []byte{0x05, 0x00, 0x01, 0x00, 0x20, 0x21, 0x06, 0x15, 0x00, 0x00, 0x12, 0x34, 0x56, 0x78, 0x9A, 0xBC}

// Sim is a simulated reader. Its methods are safe for concurrent use.
type Sim struct {
	cfg   Config
	log   *slog.Logger
	speed uint32 // termios speed constant of cfg.Baud

	mu      sync.Mutex
	card    *Card
	text    []byte // the placed card's text block
	photo   []byte
	faults  []Fault
	master  *os.File
	slave   *os.File
	path    string // slave path
	serving sync.WaitGroup
	finds   []time.Time
	closed  bool
	// lifted is when the last card left the reader and the reader has not been found empty since
	// (zero: nothing to wait for); seenEmpty is closed when a find-card is answered "no card".
	lifted    time.Time
	seenEmpty chan struct{}
}

// New creates the pty, points cfg.Link at it and starts answering. Close stops it.
func New(cfg Config) (*Sim, error) {
	if cfg.Link == "" {
		return nil, errors.New("samsim: Config.Link is required")
	}
	if cfg.Baud == 0 {
		cfg.Baud = 115200
	}
	if cfg.LiftTime <= 0 {
		cfg.LiftTime = DefaultLiftTime
	}
	speed, ok := speeds[cfg.Baud]
	if !ok {
		return nil, fmt.Errorf("samsim: unsupported baud rate %d", cfg.Baud)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Sim{cfg: cfg, log: log.With("sim", "samsim"), speed: speed}
	if err := s.Replug(); err != nil {
		return nil, err
	}
	return s, nil
}

// Link returns the stable path of the simulated port.
func (s *Sim) Link() string { return s.cfg.Link }

// Baud returns the simulated line speed.
func (s *Sim) Baud() int { return s.cfg.Baud }

// SlavePath returns the pty slave the link points at now ("" while unplugged).
func (s *Sim) SlavePath() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.path
}

// Plugged reports whether the device is plugged in.
func (s *Sim) Plugged() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.master != nil
}

// Place puts a card on the reader. It fails when the card's fields do not fit the text block. A
// card already on the reader is taken away first: Place returns once the reader has found the
// reader empty, or LiftTime after the old card left, whichever comes first, with the new card down
// (so a driver polling every few hundred milliseconds reports the old card removed and the new one
// placed, never the old resident with the new card). A card removed just before is waited for the
// same way.
func (s *Sim) Place(c Card) error {
	_, err := s.Swap(c)
	return err
}

// Swap is Place, reporting whether a card was on the reader and was taken away first.
func (s *Sim) Swap(c Card) (swapped bool, err error) {
	text, err := sam.EncodeText(&c.IDCard)
	if err != nil {
		return false, fmt.Errorf("samsim: place card: %w", err)
	}
	if c.AppendedAddress != "" {
		if _, err := sam.EncodeAddress(c.AppendedAddress); err != nil {
			return false, fmt.Errorf("samsim: place card: appended address: %w", err)
		}
	}
	photo := c.Photo
	if len(photo) != sam.PhotoLen {
		photo = FakeWLT(c.IDNumber)
	}
	s.mu.Lock()
	swapped = s.card != nil
	s.liftLocked()
	lifted, seen := s.lifted, s.seenEmpty
	s.mu.Unlock()
	if !lifted.IsZero() {
		t := time.NewTimer(time.Until(lifted.Add(s.cfg.LiftTime)))
		select {
		case <-seen:
		case <-t.C:
		}
		t.Stop()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.liftLocked() // another Place may have come down meanwhile: it is lifted in turn
	s.card, s.text, s.photo = &c, text, photo
	s.lifted = time.Time{}
	return swapped, nil
}

// Remove takes the card away.
func (s *Sim) Remove() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.liftLocked()
}

// liftLocked takes the card off the reader, noting when, so that the next card waits for the
// reader to see it empty; the caller holds mu.
func (s *Sim) liftLocked() {
	if s.card == nil {
		return
	}
	s.card, s.text, s.photo = nil, nil, nil
	s.lifted = time.Now()
	if s.seenEmpty == nil {
		s.seenEmpty = make(chan struct{})
	}
}

// HasCard reports whether a card is on the reader.
func (s *Sim) HasCard() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.card != nil
}

// Inject queues a fault. Faults apply in the order injected, each to the next replies to its
// command.
func (s *Sim) Inject(f Fault) error {
	switch f.Kind {
	case FaultBadChecksum, FaultGarbage, FaultSilence, FaultRemoveMidRead:
	case FaultStatus:
		if f.Status.OK() {
			return fmt.Errorf("samsim: fault status %v is not a failure", f.Status)
		}
	default:
		return fmt.Errorf("samsim: unknown fault kind %q", f.Kind)
	}
	if f.On != "" {
		if _, ok := CommandByName(f.On); !ok {
			return fmt.Errorf("samsim: unknown command %q", f.On)
		}
	}
	if f.Count <= 0 {
		f.Count = 1
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, f)
	return nil
}

// PendingFaults returns how many injected faults have not fired yet.
func (s *Sim) PendingFaults() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.faults)
}

// FindTimes returns when each find-card command arrived.
func (s *Sim) FindTimes() []time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Time(nil), s.finds...)
}

// CommandByName returns the command a name from sam.Command.String stands for.
func CommandByName(name string) (sam.Command, bool) {
	for _, c := range sam.Commands {
		if c.String() == name {
			return c, true
		}
	}
	return sam.Command{}, false
}

// Unplug closes the pty and removes the link, as if the cable were pulled.
func (s *Sim) Unplug() error {
	s.mu.Lock()
	master, slave := s.master, s.slave
	s.master, s.slave, s.path = nil, nil, ""
	s.mu.Unlock()
	if master == nil {
		return nil
	}
	err := os.Remove(s.cfg.Link)
	if errors.Is(err, os.ErrNotExist) {
		err = nil
	}
	master.Close()
	slave.Close()
	s.serving.Wait()
	return err
}

// Replug makes a new pty and points the link at it, as if the cable were plugged in again. It does
// nothing when the device is plugged in.
func (s *Sim) Replug() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errors.New("samsim: closed")
	}
	if s.master != nil {
		return nil
	}
	master, slave, err := openPTY()
	if err != nil {
		return err
	}
	if err := s.rawMode(slave); err != nil {
		master.Close()
		slave.Close()
		return err
	}
	if err := replaceLink(slave.Name(), s.cfg.Link); err != nil {
		master.Close()
		slave.Close()
		return err
	}
	s.master, s.slave, s.path = master, slave, slave.Name()
	s.serving.Add(1)
	go s.serve(master, slave)
	s.log.Info("plugged in", "link", s.cfg.Link, "pty", slave.Name(), "baud", s.cfg.Baud)
	return nil
}

// replaceLink points link at target, replacing a stale symlink but never another kind of file.
func replaceLink(target, link string) error {
	if fi, err := os.Lstat(link); err == nil {
		if fi.Mode()&os.ModeSymlink == 0 {
			return fmt.Errorf("samsim: %s exists and is not a symlink", link)
		}
		if err := os.Remove(link); err != nil {
			return fmt.Errorf("samsim: %w", err)
		}
	}
	if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
		return fmt.Errorf("samsim: %w", err)
	}
	if err := os.Symlink(target, link); err != nil {
		return fmt.Errorf("samsim: link %s: %w", link, err)
	}
	return nil
}

// Close unplugs the device for good.
func (s *Sim) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	return s.Unplug()
}

// serve answers commands on one pty until it is closed.
func (s *Sim) serve(master, slave *os.File) {
	defer s.serving.Done()
	dec := sam.NewDecoder(master)
	for {
		body, err := dec.Next()
		var reply []byte
		switch {
		case errors.Is(err, sam.ErrChecksum):
			reply = sam.EncodeResponse(sam.BadChecksum, nil)
		case errors.Is(err, sam.ErrLength):
			reply = sam.EncodeResponse(sam.BadLength, nil)
		case errors.Is(err, sam.ErrNoPreamble):
			continue
		case err != nil:
			if !errors.Is(err, os.ErrClosed) && !errors.Is(err, syscall.EIO) && err != io.EOF {
				s.log.Warn("pty read failed", "err", err)
			}
			return
		default:
			if !s.lineSpeed(slave) {
				s.log.Debug("command at another baud rate ignored")
				continue
			}
			reply = s.answer(body, master)
		}
		if reply != nil {
			if err := s.send(master, reply); err != nil {
				return
			}
		}
	}
}

// answer builds the reply to a command, applying any fault. A nil reply means silence; for a card
// removed mid-read, answer writes the partial reply itself.
func (s *Sim) answer(body []byte, master *os.File) []byte {
	cmd, _, err := sam.ParseCommand(body)
	if err != nil {
		return sam.EncodeResponse(sam.BadLength, nil)
	}
	s.mu.Lock()
	if cmd == sam.CmdFindCard {
		s.finds = append(s.finds, time.Now())
	}
	fault, faulted := s.takeFault(cmd)
	if faulted && fault.Kind == FaultStatus {
		s.mu.Unlock()
		return sam.EncodeResponse(fault.Status, nil)
	}
	reply := s.reply(cmd)
	if faulted && fault.Kind == FaultRemoveMidRead {
		s.liftLocked()
	}
	s.mu.Unlock()
	if !faulted {
		return reply
	}
	switch fault.Kind {
	case FaultBadChecksum:
		reply[len(reply)-1] ^= 0x5A
	case FaultGarbage:
		reply = append([]byte{0x00, 0xFF, 0xAA, 0x96, 0x13, 0xAA, 0xAA, 0x69, 0x00}, reply...)
	case FaultSilence:
		return nil
	case FaultRemoveMidRead:
		_ = s.send(master, reply[:len(reply)/2])
		return nil
	}
	return reply
}

// takeFault pops the first fault for cmd; the caller holds mu.
func (s *Sim) takeFault(cmd sam.Command) (Fault, bool) {
	for i, f := range s.faults {
		if f.On != "" {
			if c, _ := CommandByName(f.On); c != cmd {
				continue
			}
		}
		s.faults[i].Count--
		if s.faults[i].Count <= 0 {
			s.faults = append(s.faults[:i], s.faults[i+1:]...)
		}
		return f, true
	}
	return Fault{}, false
}

// reply is the fault-free reply to cmd; the caller holds mu.
func (s *Sim) reply(cmd sam.Command) []byte {
	ok := func(data []byte) []byte { return sam.EncodeResponse(sam.OK, data) }
	switch cmd {
	case sam.CmdResetSAM, sam.CmdSAMStatus:
		return ok(nil)
	case sam.CmdReadSAMID:
		return ok(samID)
	case sam.CmdFindCard:
		if s.card == nil {
			if s.seenEmpty != nil {
				close(s.seenEmpty)
				s.seenEmpty, s.lifted = nil, time.Time{}
			}
			return sam.EncodeResponse(sam.FindFailed, nil)
		}
		return sam.EncodeResponse(sam.CardFound, []byte{0, 0, 0, 0})
	case sam.CmdSelectCard:
		if s.card == nil {
			return sam.EncodeResponse(sam.SelectFailed, nil)
		}
		return ok(make([]byte, 8))
	case sam.CmdReadText, sam.CmdReadTextFinger:
		if s.card == nil {
			return sam.EncodeResponse(sam.ReadFailed, nil)
		}
		return ok(sam.EncodeCardData(s.text, s.photo, nil, cmd == sam.CmdReadTextFinger))
	case sam.CmdReadAppendAddress:
		if s.card == nil {
			return sam.EncodeResponse(sam.ReadFailed, nil)
		}
		if s.card.AppendedAddress == "" {
			return sam.EncodeResponse(sam.FieldEmpty, nil)
		}
		addr, _ := sam.EncodeAddress(s.card.AppendedAddress)
		return ok(addr)
	}
	return sam.EncodeResponse(sam.BadCommand, nil)
}

// send writes b paced to the baud rate: 10 bits a byte (8N1).
func (s *Sim) send(w io.Writer, b []byte) error {
	perByte := 10 * time.Second / time.Duration(s.cfg.Baud)
	chunk := max(1, int(10*time.Millisecond/perByte))
	start := time.Now()
	for sent := 0; sent < len(b); {
		n := min(chunk, len(b)-sent)
		if _, err := w.Write(b[sent : sent+n]); err != nil {
			return err
		}
		sent += n
		if wait := time.Until(start.Add(time.Duration(sent) * perByte)); wait > 0 {
			time.Sleep(wait)
		}
	}
	return nil
}

// FakeWLT returns a stand-in for a card's 1024-byte WLT photo, derived from seed. Real WLT data is
// vendor-compressed; the simulator's is a recognisable pattern.
func FakeWLT(seed string) []byte {
	p := make([]byte, sam.PhotoLen)
	copy(p, "WLf")
	h := uint32(2166136261)
	for i := 0; i < len(seed); i++ {
		h = (h ^ uint32(seed[i])) * 16777619
	}
	for i := 3; i < len(p); i++ {
		h = h*1103515245 + 12345
		p[i] = byte(h >> 16)
	}
	return p
}

// Request is one control request (see the package doc).
type Request struct {
	Op    string `json:"op"`
	Card  *Card  `json:"card,omitempty"`
	Index *int   `json:"index,omitempty"`
	Fault *Fault `json:"fault,omitempty"`
}

// Reply answers a control request.
type Reply struct {
	OK      bool   `json:"ok"`
	Error   string `json:"error,omitempty"`
	Plugged bool   `json:"plugged"`
	Card    bool   `json:"card"`
	Path    string `json:"path,omitempty"`
	Cards   int    `json:"cards"` // cards loaded for place-by-index
	// Swapped says that a place took the card that was on the reader away first.
	Swapped bool `json:"swapped,omitempty"`
}

// Handle carries out one control request. cards are the loaded cards for place-by-index.
func (s *Sim) Handle(req Request, cards []Card) Reply {
	var err error
	var swapped bool
	switch req.Op {
	case "place":
		switch {
		case req.Card != nil:
			swapped, err = s.Swap(*req.Card)
		case req.Index != nil && *req.Index >= 0 && *req.Index < len(cards):
			swapped, err = s.Swap(cards[*req.Index])
		default:
			err = fmt.Errorf("place needs a card or an index below %d", len(cards))
		}
	case "remove":
		s.Remove()
	case "unplug":
		err = s.Unplug()
	case "replug":
		err = s.Replug()
	case "fault":
		if req.Fault == nil {
			err = errors.New("fault needs a fault")
		} else {
			err = s.Inject(*req.Fault)
		}
	case "status":
	default:
		err = fmt.Errorf("unknown op %q", req.Op)
	}
	r := Reply{OK: err == nil, Plugged: s.Plugged(), Card: s.HasCard(), Path: s.SlavePath(), Cards: len(cards), Swapped: swapped}
	if err != nil {
		r.Error = err.Error()
	}
	return r
}

// LoadCards reads cards from a JSON file holding one card or an array of cards.
func LoadCards(path string) ([]Card, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("samsim: %w", err)
	}
	b = bytes.TrimSpace(b)
	var cards []Card
	if len(b) > 0 && b[0] == '{' {
		var c Card
		err = json.Unmarshal(b, &c)
		cards = []Card{c}
	} else {
		err = json.Unmarshal(b, &cards)
	}
	if err != nil {
		return nil, fmt.Errorf("samsim: cards in %s: %w", path, err)
	}
	for i := range cards {
		if _, err := sam.EncodeText(&cards[i].IDCard); err != nil {
			return nil, fmt.Errorf("samsim: card %d in %s: %w", i+1, path, err)
		}
	}
	return cards, nil
}
