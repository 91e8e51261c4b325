package escpos

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/civic-station/station/devices"
	"github.com/tarm/serial"
)

var _ devices.TicketPrinter = (*Printer)(nil)

// Options configures a Printer. The zero value is usable.
type Options struct {
	// Width is the paper width in dots (Width58 or Width80). Zero takes the URI's paper=58|80, or 80 mm.
	Width int
	// FontPaths are the fonts that draw lines the printer's font lacks; nil means DefaultFontPath.
	// When no font loads, tickets without such lines still print and the others fail with ErrNoFont.
	FontPaths []string
	// Timeout bounds each exchange with the printer when the context has no earlier deadline; zero
	// means 5 seconds.
	Timeout time.Duration
	// Now is the clock for Status.UpdatedAt; nil means time.Now.
	Now func() time.Time
}

// Printer is a ticket printer reached through a URI:
//
//	tcp://HOST[:PORT]                    raw TCP, port 9100 by default
//	serial:///dev/ttyUSB0?baud=19200     a serial port (19200 baud by default)
//
// Both accept paper=58 or paper=80 (the default). Each Print or Status opens the connection, talks,
// and closes it, so a printer that was unplugged and plugged back in needs no restart. Jobs are
// serialized. A Printer is safe for concurrent use.
type Printer struct {
	uri     string
	network string // "tcp" or "serial"
	addr    string // host:port or device path
	baud    int
	width   int
	timeout time.Duration
	now     func() time.Time

	fontOnce  sync.Once
	fontPaths []string
	font      *Font
	fontErr   error

	mu      sync.Mutex // one exchange at a time; guards the fields below
	lastErr error
	lastAt  time.Time
}

// Open parses uri and returns a Printer for it. It does not talk to the printer.
func Open(uri string, opt Options) (*Printer, error) {
	u, err := url.Parse(uri)
	if err != nil {
		return nil, fmt.Errorf("escpos: printer URI %q: %w", uri, err)
	}
	p := &Printer{uri: uri, width: opt.Width, timeout: opt.Timeout, now: opt.Now, fontPaths: opt.FontPaths}
	q := u.Query()
	switch u.Scheme {
	case "tcp":
		if u.Host == "" {
			return nil, fmt.Errorf("escpos: printer URI %q has no host", uri)
		}
		p.network, p.addr = "tcp", u.Host
		if u.Port() == "" {
			p.addr = net.JoinHostPort(u.Hostname(), "9100")
		}
	case "serial":
		if u.Path == "" {
			return nil, fmt.Errorf("escpos: printer URI %q has no device path", uri)
		}
		p.network, p.addr, p.baud = "serial", u.Path, 19200
		if b := q.Get("baud"); b != "" {
			if p.baud, err = strconv.Atoi(b); err != nil || p.baud <= 0 {
				return nil, fmt.Errorf("escpos: printer URI %q: bad baud %q", uri, b)
			}
		}
	default:
		return nil, fmt.Errorf("escpos: printer URI %q: scheme must be tcp or serial", uri)
	}
	if p.width == 0 {
		switch q.Get("paper") {
		case "", "80":
			p.width = Width80
		case "58":
			p.width = Width58
		default:
			return nil, fmt.Errorf("escpos: printer URI %q: paper must be 58 or 80", uri)
		}
	}
	if p.timeout <= 0 {
		p.timeout = 5 * time.Second
	}
	if p.now == nil {
		p.now = time.Now
	}
	if p.fontPaths == nil {
		p.fontPaths = []string{DefaultFontPath}
	}
	return p, nil
}

// Width is the paper width in dots.
func (p *Printer) Width() int { return p.width }

// Print sends t and confirms it. Before the job it asks the printer's status and does not send the
// job if the printer cannot print it (so it cannot come out later, unconfirmed); after the job it
// asks again. It returns nil only when that second status says online, paper present, cover closed
// and no error. Errors wrap devices.ErrPaperOut (no paper), devices.ErrNotConfirmed (offline, cover
// open, error, a broken reply), devices.ErrNotConnected (no connection) or devices.ErrTimeout (no
// answer in time).
//
// The status is real-time (DLE EOT): a printer answers it on receipt, so with a large receive buffer
// it speaks for the moment the job was received rather than the moment it was cut.
func (p *Printer) Print(ctx context.Context, t devices.Ticket) error {
	var job bytes.Buffer
	enc := NewEncoder(&job, p.loadFont())
	if err := enc.Encode(t, p.width); err != nil {
		if errors.Is(err, ErrNoFont) && p.fontErr != nil {
			return fmt.Errorf("escpos: encode ticket: %w (%v)", err, p.fontErr)
		}
		return fmt.Errorf("escpos: encode ticket: %w", err)
	}
	if err := enc.Flush(); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	err := p.exchange(ctx, func(c conn) error {
		st, err := queryStatus(c)
		if err != nil {
			return err
		}
		if err := notReady(st, "before the job"); err != nil {
			return err
		}
		if _, err := c.Write(job.Bytes()); err != nil {
			return fmt.Errorf("escpos: send job: %w", err)
		}
		if st, err = queryStatus(c); err != nil {
			return fmt.Errorf("%w: no status after the job: %w", devices.ErrNotConfirmed, err)
		}
		return notReady(st, "after the job")
	})
	p.record(err)
	return err
}

// notReady maps a status to the error Print returns, nil when the printer can print.
func notReady(st Status, when string) error {
	switch {
	case st.Ready():
		return nil
	case st.PaperOut:
		return fmt.Errorf("escpos: %s: %s: %w", when, st, devices.ErrPaperOut)
	}
	return fmt.Errorf("escpos: %s: %s: %w", when, st, devices.ErrNotConfirmed)
}

// Status asks the printer for its state. It never fails: a printer that cannot be reached is
// reported as disconnected with the error in LastError.
func (p *Printer) Status(ctx context.Context) devices.Status {
	p.mu.Lock()
	defer p.mu.Unlock()
	var st Status
	err := p.exchange(ctx, func(c conn) error {
		var err error
		st, err = queryStatus(c)
		return err
	})
	ds := devices.Status{
		Kind:      devices.KindTicketPrinter,
		Name:      "ESC/POS " + p.network + " " + p.addr,
		Detail:    fmt.Sprintf("%s, %d mm", p.uri, map[int]int{Width58: 58, Width80: 80}[p.width]),
		Link:      devices.Link(p.network),
		Port:      p.addr,
		Baud:      p.baud,
		UpdatedAt: p.now(),
	}
	if err != nil {
		p.record(err)
		ds.State = devices.StateDisconnected
		if errors.Is(err, ErrBadStatus) {
			ds.Connected, ds.State = true, devices.StateError
		}
	} else {
		ds.Connected = true
		ds.Reasons = st.Reasons()
		switch {
		case st.PaperOut:
			ds.State = devices.StatePaperOut
		case !st.Ready():
			ds.State = devices.StateError
		case st.PaperNearEnd:
			ds.State = devices.StatePaperLow
		default:
			ds.State = devices.StateReady
		}
	}
	if p.lastErr != nil {
		ds.LastError, ds.LastErrorAt = p.lastErr.Error(), p.lastAt
	}
	return ds
}

func (p *Printer) record(err error) {
	if err != nil {
		p.lastErr, p.lastAt = err, p.now()
	}
}

func (p *Printer) loadFont() *Font {
	p.fontOnce.Do(func() {
		p.font, p.fontErr = LoadFont(p.fontPaths...)
	})
	return p.font
}

// queryStatus sends the four DLE EOT requests and parses the four replies.
func queryStatus(c conn) (Status, error) {
	if _, err := c.Write(StatusQuery); err != nil {
		return Status{}, fmt.Errorf("escpos: send status query: %w", err)
	}
	var raw [4]byte
	if _, err := io.ReadFull(c, raw[:]); err != nil {
		return Status{}, fmt.Errorf("escpos: read status: %w", err)
	}
	return ParseStatus(raw)
}

// conn is one open connection to the printer.
type conn interface {
	io.ReadWriter
}

// exchange opens a connection, runs fn on it within the context's deadline (or p.timeout), and
// closes it, translating transport failures into the devices errors.
func (p *Printer) exchange(ctx context.Context, fn func(conn) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("escpos: %w", err)
	}
	deadline := time.Now().Add(p.timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	var err error
	switch p.network {
	case "tcp":
		err = p.exchangeTCP(ctx, deadline, fn)
	default:
		err = p.exchangeSerial(ctx, deadline, fn)
	}
	if err == nil {
		return nil
	}
	var ne net.Error
	switch {
	case errors.Is(err, devices.ErrPaperOut), errors.Is(err, devices.ErrNotConfirmed) && !isTimeout(err):
		return err
	case errors.Is(err, context.Canceled):
		return fmt.Errorf("%w: %w", devices.ErrNotConfirmed, err)
	case isTimeout(err), errors.As(err, &ne) && ne.Timeout():
		return fmt.Errorf("escpos %s: %w: %w", p.addr, devices.ErrTimeout, err)
	case errors.Is(err, ErrBadStatus):
		return fmt.Errorf("%w: %w", devices.ErrNotConfirmed, err)
	}
	return fmt.Errorf("escpos %s: %w: %w", p.addr, devices.ErrNotConnected, err)
}

func isTimeout(err error) bool {
	return errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, errSerialTimeout)
}

func (p *Printer) exchangeTCP(ctx context.Context, deadline time.Time, fn func(conn) error) error {
	d := net.Dialer{Deadline: deadline}
	c, err := d.DialContext(ctx, "tcp", p.addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.SetDeadline(deadline); err != nil {
		return err
	}
	// A canceled context interrupts whatever read or write is under way.
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	err = fn(c)
	if err != nil && ctx.Err() != nil {
		return fmt.Errorf("%w: %w", ctx.Err(), err)
	}
	return err
}

var errSerialTimeout = errors.New("serial read timed out")

// serialConn reads from a serial port until a deadline or the context ends. The port is opened with
// a short read timeout, so each Read returns at least every 100 ms to check both.
type serialConn struct {
	ctx      context.Context
	port     *serial.Port
	deadline time.Time
	now      func() time.Time
}

func (s *serialConn) Write(b []byte) (int, error) { return s.port.Write(b) }

func (s *serialConn) Read(b []byte) (int, error) {
	for {
		n, err := s.port.Read(b)
		if n > 0 {
			return n, nil
		}
		if err != nil && err != io.EOF {
			return 0, err
		}
		if err := s.ctx.Err(); err != nil {
			return 0, err
		}
		if !s.now().Before(s.deadline) {
			return 0, errSerialTimeout
		}
	}
}

func (p *Printer) exchangeSerial(ctx context.Context, deadline time.Time, fn func(conn) error) error {
	port, err := serial.OpenPort(&serial.Config{Name: p.addr, Baud: p.baud, ReadTimeout: 100 * time.Millisecond})
	if err != nil {
		return err
	}
	defer port.Close()
	// Drop bytes left from an earlier exchange (a late status reply) so replies stay in step.
	port.Flush()
	return fn(&serialConn{ctx: ctx, port: port, deadline: deadline, now: time.Now})
}
