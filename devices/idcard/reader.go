// Package idcard drives a resident ID card reader that speaks the GA 467 SAM protocol over a serial
// line (a USB-serial chip or an RS-232 port), using github.com/tarm/serial. The frame and text-block
// codec is in the sub-package sam; this package adds the port, the baud and port probing, polling
// for cards, reconnecting after an unplug, and the optional external photo decoder.
//
// Reader implements devices.IDReader. Errors it returns or sends in CardFailed events:
// devices.ErrNotConnected (no reader answers), devices.ErrTimeout (a reply did not come in time),
// devices.ErrNoCard (no card), a *sam.StatusError for every failure status the reader reports,
// sam.ErrChecksum / sam.ErrLength / sam.ErrMalformed for bad bytes. Message turns any of them into
// a sentence for the person at the reader.
//
// The reader never logs card contents: names and ID numbers are personal data.
package idcard

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/tarm/serial"

	"github.com/civic-station/station/devices"
	"github.com/civic-station/station/devices/idcard/sam"
)

var _ devices.IDReader = (*Reader)(nil)

// Protocol timing.
const (
	// DefaultPollInterval is how often an empty reader is asked for a card: a find-card command
	// (10 bytes) and its reply (15 bytes) take 2 ms on the wire at 115200 baud, and the next one is
	// sent only after the reply came (or timed out). Placed at a random moment, a card waits on
	// average 50 ms, at most 100 ms, for the poll that finds it; its read then takes about 117 ms.
	DefaultPollInterval = 100 * time.Millisecond
	// MinPollInterval is the fastest an empty reader may be polled: the reference's timeout for a
	// find-card reply, so a poll never comes sooner than a slow reader may take to answer one.
	MinPollInterval = 100 * time.Millisecond
	// PresentPollInterval is how often a reader holding a card (read, or given up on) is asked
	// whether it is still there: the reference's "no faster than every 300 ms" is kept there, where
	// a removal need not be noticed faster. (For an empty reader the driver departs from it; see
	// docs/BENCHMARKS.md.)
	PresentPollInterval = 300 * time.Millisecond
	// DefaultReadTimeout bounds a card read reply (reference: 2 s), on top of its time on the wire.
	DefaultReadTimeout = 2 * time.Second
	// shortTimeout bounds the replies to find, select and SAM status (reference: 100 ms; USB-serial
	// adapters and a busy box need headroom), on top of their time on the wire.
	shortTimeout = 500 * time.Millisecond
	// maxReconnectInterval is the longest wait between attempts to reopen a port that went away.
	maxReconnectInterval = time.Second
	// readAttempts is how many times a card that failed to read is read again before waiting for it
	// to be removed.
	readAttempts = 3
	// timeoutsBeforeReopen is how many polls in a row may time out before the port is closed and
	// opened (and probed) again.
	timeoutsBeforeReopen = 3
	// vtime is the serial driver's inter-read timeout; a zero-byte read that returns much faster
	// than this means the line hung up.
	vtime = 100 * time.Millisecond
)

// DefaultCandidates are the ports probed when Config.Port is empty.
var DefaultCandidates = []string{
	"/dev/ttyUSB0", "/dev/ttyUSB1", "/dev/ttyUSB2", "/dev/ttyUSB3",
	"/dev/ttyACM0", "/dev/ttyACM1", "/dev/ttyS0", "/dev/ttyS1",
}

// ProbeBauds are the baud rates tried, in order, when Config.Baud is 0.
var ProbeBauds = []int{115200, 9600}

// Config configures a Reader.
type Config struct {
	// Port is the serial device, e.g. /dev/ttyUSB0. Empty: probe Candidates.
	Port string
	// Candidates are the ports probed when Port is empty (default DefaultCandidates).
	Candidates []string
	// Baud is the line speed; 0 probes ProbeBauds by asking for the SAM status.
	Baud int
	// PollInterval is how often to look for a card while none is on the reader (default
	// DefaultPollInterval, never less than MinPollInterval). While a card is on it, the reader is
	// polled every PresentPollInterval, or PollInterval when that is longer.
	PollInterval time.Duration
	// ReadTimeout bounds a card read's reply beyond its time on the wire (default 2 s).
	ReadTimeout time.Duration
	// PhotoDecoder is an optional command line (split on spaces, no shell) that reads a WLT photo on
	// stdin and writes a BMP on stdout. Without one, cards have no decoded photo and nothing fails.
	PhotoDecoder string
	// PhotoDecoderTimeout bounds the photo decoder (default 3 s).
	PhotoDecoderTimeout time.Duration
	// Logger receives connection changes and errors, never card contents (default: discard).
	Logger *slog.Logger
}

// Reader is a GA 467 SAM reader on a serial port. Its methods are safe for concurrent use; the
// exchanges with the device are serialised.
type Reader struct {
	cfg    Config
	log    *slog.Logger
	poll   time.Duration // between polls of an empty reader
	rest   time.Duration // between polls of a reader holding a card
	retry  time.Duration
	txMu   sync.Mutex // one exchange at a time; guards port, portName, baud, timeouts
	port   *serial.Port
	name   string
	baud   int
	tmouts int

	mu     sync.Mutex // guards status
	status devices.Status
}

// New returns a Reader for cfg. It does not open the port: Watch and ReadCard do, and reopen it
// after it goes away.
func New(cfg Config) *Reader {
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = DefaultPollInterval
	}
	cfg.PollInterval = max(cfg.PollInterval, MinPollInterval)
	if cfg.ReadTimeout <= 0 {
		cfg.ReadTimeout = DefaultReadTimeout
	}
	if cfg.PhotoDecoderTimeout <= 0 {
		cfg.PhotoDecoderTimeout = 3 * time.Second
	}
	if cfg.Candidates == nil {
		cfg.Candidates = DefaultCandidates
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	rest := max(cfg.PollInterval, PresentPollInterval)
	r := &Reader{cfg: cfg, log: log.With("device", "idreader"), poll: cfg.PollInterval, rest: rest,
		retry: min(rest, maxReconnectInterval)}
	r.status = devices.Status{Kind: devices.KindIDReader, Name: r.displayName(""), Link: devices.LinkSerial,
		Port: cfg.Port, State: devices.StateDisconnected, UpdatedAt: time.Now()}
	return r
}

func (r *Reader) displayName(port string) string {
	if port == "" {
		port = r.cfg.Port
	}
	if port == "" {
		return "SAM 读卡器（自动查找串口）"
	}
	return "SAM on " + port
}

// Status reports the reader's state: disconnected until a reader answered, ready, busy while
// reading a card, error when the SAM reports a fault; LastError is the last failure.
func (r *Reader) Status() devices.Status {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.status
	s.Reasons = append([]string(nil), s.Reasons...)
	return s
}

func (r *Reader) setState(state devices.State, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := time.Now()
	r.status.State = state
	r.status.Connected = state != devices.StateDisconnected
	r.status.UpdatedAt = now
	r.status.Reasons = nil
	r.status.Message = ""
	var se *sam.StatusError
	if state == devices.StateError && errors.As(err, &se) {
		r.status.Reasons = []string{se.Code.Description()}
		r.status.Message = se.Message()
	}
	if err != nil {
		r.status.LastError = err.Error()
		r.status.LastErrorAt = now
	}
}

// note records err as the last error, unless it is no error at all: no card, or the caller gave up.
func (r *Reader) note(err error) {
	if err == nil || errors.Is(err, devices.ErrNoCard) || errors.Is(err, context.Canceled) ||
		errors.Is(err, context.DeadlineExceeded) {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.status.LastError = err.Error()
	r.status.LastErrorAt = time.Now()
}

func (r *Reader) setPort(name string, baud int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.status.Name = r.displayName(name)
	r.status.Port, r.status.Baud = name, baud
	if name == "" {
		r.status.Port = r.cfg.Port
	}
	r.status.Detail = ""
	if baud > 0 {
		r.status.Detail = fmt.Sprintf("%d baud", baud)
	}
}

// Close closes the port. A later call to Watch or ReadCard opens it again.
func (r *Reader) Close() error {
	r.txMu.Lock()
	defer r.txMu.Unlock()
	r.closePort()
	r.setState(devices.StateDisconnected, nil)
	return nil
}

// closePort closes the port; the caller holds txMu.
func (r *Reader) closePort() {
	if r.port != nil {
		_ = r.port.Close()
		r.port = nil
	}
}

// gone records that the port stopped working; the caller holds txMu.
func (r *Reader) gone(err error) {
	if r.port != nil {
		r.log.Warn("reader went away", "port", r.name, "err", err)
	}
	r.closePort()
	r.setState(devices.StateDisconnected, err)
}

// open makes sure a port is open and a reader answers on it; the caller holds txMu. It returns an
// error wrapping devices.ErrNotConnected when no reader answers.
func (r *Reader) open(ctx context.Context) error {
	if r.port != nil {
		return nil
	}
	ports := []string{r.cfg.Port}
	if r.cfg.Port == "" {
		ports = r.cfg.Candidates
	}
	bauds := []int{r.cfg.Baud}
	if r.cfg.Baud == 0 {
		bauds = ProbeBauds
	}
	var lastErr error
	for _, name := range ports {
		if _, err := os.Stat(name); err != nil {
			lastErr = err
			continue
		}
		for _, baud := range bauds {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			p, err := serial.OpenPort(&serial.Config{Name: name, Baud: baud, ReadTimeout: vtime})
			if err != nil {
				lastErr = err
				break // the port itself cannot be opened: no use trying other speeds
			}
			r.port, r.name, r.baud = p, name, baud
			resp, err := r.exchange(ctx, sam.CmdSAMStatus, shortTimeout, 16)
			if err == nil || errors.As(err, new(*sam.StatusError)) {
				r.tmouts = 0
				r.setPort(name, baud)
				if err != nil && resp.SW3.DeviceFault() {
					r.setState(devices.StateError, err)
				} else {
					r.setState(devices.StateReady, nil)
				}
				r.log.Info("reader connected", "port", name, "baud", baud, "sam_status", resp.SW3.String())
				return nil
			}
			lastErr = fmt.Errorf("%s at %d baud: %w", name, baud, err)
			r.closePort()
		}
	}
	if lastErr == nil {
		lastErr = errors.New("no candidate port")
	}
	err := fmt.Errorf("%w: %v", devices.ErrNotConnected, lastErr)
	r.setState(devices.StateDisconnected, err)
	return err
}

// exchange sends a command and returns the reply; the caller holds txMu and r.port is open.
// maxReply is the longest reply expected, which with the baud rate sets the time on the wire added
// to base. A failure status is returned as a *sam.StatusError along with the reply. When the port
// fails (not a timeout) it is closed and the error wraps devices.ErrNotConnected.
func (r *Reader) exchange(ctx context.Context, cmd sam.Command, base time.Duration, maxReply int) (sam.Response, error) {
	if r.port == nil {
		return sam.Response{}, devices.ErrNotConnected
	}
	if err := r.port.Flush(); err != nil {
		err = fmt.Errorf("%w: flush %s: %v", devices.ErrNotConnected, r.name, err)
		r.gone(err)
		return sam.Response{}, err
	}
	if _, err := r.port.Write(sam.EncodeCommand(cmd)); err != nil {
		err = fmt.Errorf("%w: write %s: %v", devices.ErrNotConnected, r.name, err)
		r.gone(err)
		return sam.Response{}, err
	}
	wire := time.Duration(maxReply) * 10 * time.Second / time.Duration(r.baud)
	dr := &deadlineReader{ctx: ctx, p: r.port, deadline: time.Now().Add(base + wire)}
	body, err := sam.NewDecoder(dr).Next()
	if err != nil {
		switch {
		case errors.Is(err, errHangup):
			err = fmt.Errorf("%w: %s hung up", devices.ErrNotConnected, r.name)
			r.gone(err)
		case errors.Is(err, devices.ErrTimeout), errors.Is(err, sam.ErrChecksum), errors.Is(err, sam.ErrLength),
			errors.Is(err, sam.ErrNoPreamble), ctx.Err() != nil:
		default:
			err = fmt.Errorf("%w: read %s: %v", devices.ErrNotConnected, r.name, err)
			r.gone(err)
		}
		return sam.Response{}, fmt.Errorf("%s: %w", cmd, err)
	}
	resp, err := sam.ParseResponse(body)
	if err != nil {
		return resp, fmt.Errorf("%s: %w", cmd, err)
	}
	return resp, resp.Err()
}

var errHangup = errors.New("line hung up")

// deadlineReader reads from a serial port whose reads return (0, io.EOF) after the inter-read
// timeout: that is a timeout, not the end of the stream. It gives up at the deadline with
// devices.ErrTimeout, when ctx ends, or with errHangup when zero-byte reads come back at once (the
// line hung up: the device was unplugged).
type deadlineReader struct {
	ctx      context.Context
	p        io.Reader
	deadline time.Time
	fast     int
}

func (d *deadlineReader) Read(b []byte) (int, error) {
	for {
		if err := d.ctx.Err(); err != nil {
			return 0, err
		}
		if !time.Now().Before(d.deadline) {
			return 0, devices.ErrTimeout
		}
		start := time.Now()
		n, err := d.p.Read(b)
		if n > 0 {
			d.fast = 0
			return n, nil
		}
		if err != nil && err != io.EOF {
			return 0, err
		}
		if time.Since(start) < vtime/5 {
			d.fast++
			if d.fast >= 3 {
				return 0, errHangup
			}
			time.Sleep(vtime / 10)
		} else {
			d.fast = 0
		}
	}
}

// ReadCard reads the card on the reader now. Errors: devices.ErrNotConnected, devices.ErrNoCard,
// devices.ErrTimeout, *sam.StatusError, sam.ErrChecksum, sam.ErrLength, sam.ErrMalformed.
func (r *Reader) ReadCard(ctx context.Context) (*devices.IDCard, error) {
	r.txMu.Lock()
	defer r.txMu.Unlock()
	if err := r.open(ctx); err != nil {
		return nil, err
	}
	if _, err := r.exchange(ctx, sam.CmdFindCard, shortTimeout, 16); err != nil {
		r.note(err)
		return nil, err
	}
	return r.readPresent(ctx)
}

// readPresent selects and reads the card that find-card found; the caller holds txMu.
func (r *Reader) readPresent(ctx context.Context) (*devices.IDCard, error) {
	r.setState(devices.StateBusy, nil)
	card, err := r.selectAndRead(ctx)
	r.note(err)
	switch {
	case r.port == nil: // gone() already set the state
	case err != nil && isDeviceFault(err):
		r.setState(devices.StateError, err)
	default:
		r.setState(devices.StateReady, nil)
	}
	return card, err
}

func (r *Reader) selectAndRead(ctx context.Context) (*devices.IDCard, error) {
	if _, err := r.exchange(ctx, sam.CmdSelectCard, shortTimeout, 32); err != nil {
		return nil, err
	}
	resp, err := r.exchange(ctx, sam.CmdReadText, r.cfg.ReadTimeout, 7+1288)
	if err != nil {
		return nil, err
	}
	data, err := sam.ParseCardData(resp.Data, false)
	if err != nil {
		return nil, err
	}
	card, err := sam.DecodeText(data.Text)
	if err != nil {
		return nil, err
	}
	card.Photo = bytes.Clone(data.Photo)
	card.PhotoBMP = r.decodePhoto(ctx, card.Photo)
	return card, nil
}

func isDeviceFault(err error) bool {
	var se *sam.StatusError
	return errors.As(err, &se) && se.Code.DeviceFault()
}

// ReadAppendedAddress reads the address added to the card after a move (the card must have been
// found and read). A card without one gives a *sam.StatusError with code sam.FieldEmpty.
func (r *Reader) ReadAppendedAddress(ctx context.Context) (string, error) {
	r.txMu.Lock()
	defer r.txMu.Unlock()
	if err := r.open(ctx); err != nil {
		return "", err
	}
	resp, err := r.exchange(ctx, sam.CmdReadAppendAddress, r.cfg.ReadTimeout, 7+3+sam.AddressLen)
	if err != nil {
		return "", err
	}
	return sam.DecodeAddress(resp.Data)
}

// SAMID reads the reader's 16-byte SAM ID, formatted as hex, for the setup page.
func (r *Reader) SAMID(ctx context.Context) (string, error) {
	r.txMu.Lock()
	defer r.txMu.Unlock()
	if err := r.open(ctx); err != nil {
		return "", err
	}
	resp, err := r.exchange(ctx, sam.CmdReadSAMID, shortTimeout, 7+3+sam.SAMIDLen)
	if err != nil {
		return "", err
	}
	if len(resp.Data) != sam.SAMIDLen {
		return "", fmt.Errorf("%w: SAM ID of %d bytes", sam.ErrLength, len(resp.Data))
	}
	return fmt.Sprintf("%X", resp.Data), nil
}

// maxBMP bounds the photo decoder's output (a 102×126 24-bit BMP is 38862 bytes).
const maxBMP = 256 << 10

// decodePhoto runs the configured photo decoder; it returns nil (and logs why) when there is none
// or it fails.
func (r *Reader) decodePhoto(ctx context.Context, wlt []byte) []byte {
	args := strings.Fields(r.cfg.PhotoDecoder)
	if len(args) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, r.cfg.PhotoDecoderTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Stdin = bytes.NewReader(wlt)
	var out limitedBuffer
	out.max = maxBMP
	cmd.Stdout = &out
	if err := cmd.Run(); err != nil {
		r.log.Warn("photo decoder failed", "cmd", args[0], "err", err)
		return nil
	}
	if out.over || out.Len() < 2 || !bytes.HasPrefix(out.Bytes(), []byte("BM")) {
		r.log.Warn("photo decoder did not write a BMP", "cmd", args[0], "bytes", out.Len())
		return nil
	}
	return out.Bytes()
}

type limitedBuffer struct {
	bytes.Buffer
	max  int
	over bool
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if b.Len()+len(p) > b.max {
		b.over = true
		return 0, errors.New("photo decoder output too large")
	}
	return b.Buffer.Write(p)
}

// Watch polls the reader until ctx ends, sending CardPlaced when a card was read, CardFailed (with
// the error) when a card is there but could not be read, and CardRemoved when a card that was there
// is gone. An empty reader is polled every PollInterval (100 ms by default), one holding a card
// every PresentPollInterval, each interval counted from the end of the previous poll.
// A card that failed is read again on the next polls, up to three times. When the port goes away
// the reader is marked disconnected and reopened about every 300 ms until it answers again. Watch
// returns nil when ctx ends.
func (r *Reader) Watch(ctx context.Context, events chan<- devices.CardEvent) error {
	w := watcher{r: r, events: events}
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		wait := w.poll(ctx)
		if ctx.Err() != nil {
			return nil
		}
		t.Reset(wait)
	}
}

type watcher struct {
	r        *Reader
	events   chan<- devices.CardEvent
	present  bool // a card was found on the last poll
	read     bool // and it was read
	attempts int  // reads tried on the present card
}

// poll does one round and returns how long to wait before the next. The wait runs from the end of
// the round, so the reader never gets a find-card sooner than that after it answered the last.
func (w *watcher) poll(ctx context.Context) time.Duration {
	r := w.r
	r.txMu.Lock()
	defer r.txMu.Unlock()
	if err := r.open(ctx); err != nil {
		w.removed(ctx)
		return r.retry
	}
	return w.find(ctx)
}

// find asks for a card and reads one that is there; the caller holds txMu. It returns the interval
// to the next poll.
func (w *watcher) find(ctx context.Context) time.Duration {
	r := w.r
	_, err := r.exchange(ctx, sam.CmdFindCard, shortTimeout, 16)
	switch {
	case ctx.Err() != nil:
		return 0
	case err == nil:
		r.tmouts = 0
		if !w.present {
			w.present, w.read, w.attempts = true, false, 0
		}
		if w.read || w.attempts >= readAttempts {
			return r.rest
		}
		w.attempts++
		card, err := r.readPresent(ctx)
		if ctx.Err() != nil {
			return 0
		}
		if err != nil {
			r.log.Warn("card read failed", "attempt", w.attempts, "err", err)
			w.send(ctx, devices.CardEvent{Kind: devices.CardFailed, Err: err})
			if r.port == nil {
				w.removed(ctx)
				return r.retry
			}
			return r.poll
		}
		w.read = true
		r.log.Info("card read", "card_type", card.Type)
		w.send(ctx, devices.CardEvent{Kind: devices.CardPlaced, Card: card})
		return r.rest
	case errors.Is(err, devices.ErrNoCard):
		r.tmouts = 0
		w.removed(ctx)
	case errors.Is(err, devices.ErrNotConnected):
		w.removed(ctx)
		return r.retry
	default:
		r.log.Warn("find card failed", "err", err)
		r.note(err)
		if isDeviceFault(err) {
			r.setState(devices.StateError, err)
		}
		if errors.Is(err, devices.ErrTimeout) {
			r.tmouts++
			if r.tmouts >= timeoutsBeforeReopen {
				r.tmouts = 0
				r.gone(fmt.Errorf("%w: %d polls without a reply", devices.ErrNotConnected, timeoutsBeforeReopen))
				w.removed(ctx)
				return r.retry
			}
		}
	}
	return r.poll
}

func (w *watcher) removed(ctx context.Context) {
	if w.present {
		w.present, w.read, w.attempts = false, false, 0
		w.send(ctx, devices.CardEvent{Kind: devices.CardRemoved})
	}
}

func (w *watcher) send(ctx context.Context, ev devices.CardEvent) {
	ev.At = time.Now()
	select {
	case w.events <- ev:
	case <-ctx.Done():
	}
}

// Message returns what to tell the person at the reader about an error from a Reader, in Chinese.
func Message(err error) string {
	var se *sam.StatusError
	switch {
	case err == nil:
		return ""
	case errors.As(err, &se):
		return se.Message()
	case errors.Is(err, devices.ErrNoCard):
		return sam.FindFailed.Message()
	case errors.Is(err, devices.ErrNotConnected):
		return "未连接身份证读卡器，或读卡器没有响应，请检查连接线和电源"
	case errors.Is(err, devices.ErrTimeout):
		return "读卡器响应超时，请将证件平放在读卡区后重试"
	case errors.Is(err, sam.ErrChecksum), errors.Is(err, sam.ErrLength), errors.Is(err, sam.ErrNoPreamble):
		return "与读卡器通信出错，请重新放置证件"
	case errors.Is(err, sam.ErrMalformed):
		return "证件信息无法识别，请重新放置证件或联系工作人员"
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return "读卡已取消"
	}
	return "读卡失败，请重试或联系工作人员"
}
