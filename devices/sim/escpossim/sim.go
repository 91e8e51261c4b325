// Package escpossim simulates an ESC/POS thermal ticket printer on TCP (like a network printer on
// port 9100) and on a pseudo-terminal (like a USB serial printer). It parses what it receives —
// initialise, Chinese mode with GB18030 text, bold, character size, alignment, feeds, QR codes,
// raster images, cuts — answers the real-time status requests (DLE EOT n) with the bytes a printer
// sends, can run out of paper or have its cover open, and keeps the last jobs it printed as plain
// text and as PNG images of the paper.
//
// It is written from the ESC/POS specification independently of package escpos, so tests that run
// the driver against it check one reading of the specification against another.
package escpossim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
)

// DefaultFontPath is the CJK font the simulator draws text with when Config.FontPaths is nil and
// the file exists.
const DefaultFontPath = "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf"

// Config configures a Sim. The zero value is an 80 mm printer with paper keeping 20 jobs.
type Config struct {
	Width     int      // paper width in dots: 384 (58 mm) or 576 (80 mm, the default)
	FontPaths []string // fonts to draw text with; nil means DefaultFontPath if present
	Keep      int      // how many printed jobs to keep; zero means 20
	// OnJob, if set, is called with each printed job, on the connection's goroutine, before the
	// simulator reads on; a slow OnJob slows the printer, as a slow print head would.
	OnJob func(*Job)
}

// Sim is a simulated ticket printer. It is safe for concurrent use.
type Sim struct {
	cfg      Config
	renderer *Renderer

	mu      sync.Mutex
	status  printerState
	mute    bool
	jobs    []*Job
	seq     int
	dropped int
}

// New returns a simulator with paper loaded. It fails if a font in cfg.FontPaths cannot be loaded.
func New(cfg Config) (*Sim, error) {
	if cfg.Width == 0 {
		cfg.Width = 576
	}
	if cfg.Width <= 0 || cfg.Width%8 != 0 {
		return nil, fmt.Errorf("escpossim: paper width %d dots", cfg.Width)
	}
	if cfg.Keep <= 0 {
		cfg.Keep = 20
	}
	paths := cfg.FontPaths
	if paths == nil {
		if _, err := os.Stat(DefaultFontPath); err == nil {
			paths = []string{DefaultFontPath}
		}
	}
	r, err := NewRenderer(cfg.Width, paths...)
	if err != nil {
		return nil, err
	}
	return &Sim{cfg: cfg, renderer: r}, nil
}

// SetPaper loads (true) or removes (false) the paper roll. Without paper the printer is offline,
// reports paper out, and jobs it receives are not printed.
func (s *Sim) SetPaper(ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.status.PaperOut = !ok
}

// SetPaperNearEnd sets the near-end sensor: the printer still prints but reports little paper.
func (s *Sim) SetPaperNearEnd(near bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.status.PaperNearEnd = near
}

// SetCoverOpen opens or closes the cover. With the cover open the printer is offline and jobs are
// not printed.
func (s *Sim) SetCoverOpen(open bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.status.CoverOpen = open
}

// SetMute makes the printer stop answering status requests (a hung printer) or answer again.
func (s *Sim) SetMute(mute bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mute = mute
}

// Jobs returns the printed jobs kept, oldest first.
func (s *Sim) Jobs() []*Job {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*Job(nil), s.jobs...)
}

// Last returns the last printed job, or nil.
func (s *Sim) Last() *Job {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.jobs) == 0 {
		return nil
	}
	return s.jobs[len(s.jobs)-1]
}

// Job returns the kept job with sequence number seq, or nil when it is not (or no longer) kept.
func (s *Sim) Job(seq int) *Job {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, j := range s.jobs {
		if j.Seq == seq {
			return j
		}
	}
	return nil
}

// Counts returns how many jobs were printed and how many were received but not printed (no paper,
// cover open).
func (s *Sim) Counts() (printed, dropped int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.seq, s.dropped
}

// Renderer is the simulator's paper renderer.
func (s *Sim) Renderer() *Renderer { return s.renderer }

func (s *Sim) state() (printerState, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.status, !s.mute
}

func (s *Sim) finish(blocks []Block) {
	s.mu.Lock()
	if s.status.PaperOut || s.status.CoverOpen {
		s.dropped++
		s.mu.Unlock()
		return
	}
	s.seq++
	j := &Job{Seq: s.seq, Blocks: blocks, renderer: s.renderer}
	s.jobs = append(s.jobs, j)
	if len(s.jobs) > s.cfg.Keep {
		s.jobs = append(s.jobs[:0], s.jobs[len(s.jobs)-s.cfg.Keep:]...)
	}
	s.mu.Unlock()
	if s.cfg.OnJob != nil {
		s.cfg.OnJob(j)
	}
}

// serveStream decodes one connection or port until it ends.
func (s *Sim) serveStream(rw io.ReadWriter) error {
	return newDecoder(rw, rw, s.state, s.finish).run()
}

// Serve accepts connections on ln, one printer stream each, until ctx ends; then it closes ln and
// the open connections and returns nil after every connection's goroutine has ended.
func (s *Sim) Serve(ctx context.Context, ln net.Listener) error {
	var wg sync.WaitGroup
	var mu sync.Mutex
	conns := map[net.Conn]struct{}{}
	stop := context.AfterFunc(ctx, func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for c := range conns {
			c.Close()
		}
	})
	defer stop()
	defer wg.Wait()
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("escpossim: accept: %w", err)
		}
		mu.Lock()
		if ctx.Err() != nil {
			mu.Unlock()
			c.Close()
			return nil
		}
		conns[c] = struct{}{}
		mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.serveStream(c) // a broken stream ends only that connection
			c.Close()
			mu.Lock()
			delete(conns, c)
			mu.Unlock()
		}()
	}
}

// PTY is the simulator's serial side: a pseudo-terminal whose other end a driver opens as a serial
// port.
type PTY struct {
	sim  *Sim
	ptmx *os.File
	tty  *os.File
	link string
}

// OpenPTY opens a pseudo-terminal in raw mode and, if link is not empty, points a symbolic link at
// its device (replacing an existing link), like udev's /dev/ttyUSB-printer names.
func (s *Sim) OpenPTY(link string) (*PTY, error) {
	ptmx, tty, err := openRawPTY()
	if err != nil {
		return nil, err
	}
	p := &PTY{sim: s, ptmx: ptmx, tty: tty}
	if link != "" {
		if fi, err := os.Lstat(link); err == nil && fi.Mode()&os.ModeSymlink != 0 {
			os.Remove(link)
		}
		if err := os.Symlink(tty.Name(), link); err != nil {
			p.Close()
			return nil, fmt.Errorf("escpossim: link %s: %w", link, err)
		}
		p.link = link
	}
	return p, nil
}

// Path is the terminal device a driver opens (the link if one was made).
func (p *PTY) Path() string {
	if p.link != "" {
		return p.link
	}
	return p.tty.Name()
}

// Serve runs the printer on the pseudo-terminal until ctx ends, then closes it.
func (p *PTY) Serve(ctx context.Context) error {
	stop := context.AfterFunc(ctx, func() { p.Close() })
	defer stop()
	err := p.sim.serveStream(p.ptmx)
	if ctx.Err() != nil {
		return nil
	}
	if err == nil {
		err = errClosed
	}
	return fmt.Errorf("escpossim: pty: %w", err)
}

// errClosed reports that the pseudo-terminal closed under the simulator.
var errClosed = errors.New("escpossim: closed")

// Close closes the pseudo-terminal and removes the link.
func (p *PTY) Close() error {
	if p.link != "" {
		if fi, err := os.Lstat(p.link); err == nil && fi.Mode()&os.ModeSymlink != 0 {
			os.Remove(p.link)
		}
	}
	p.tty.Close()
	return p.ptmx.Close()
}
