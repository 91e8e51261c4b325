// Package rig runs the devices attached to one station box: it watches the ID card reader, keeps every
// device's status fresh, remembers the card on the reader, and fans device events out to subscribers
// (the HTTP layer streams them to browsers as Server-Sent Events). Any device may be absent; the rig
// then reports it as not configured and its operations fail with devices.ErrNotConnected.
package rig

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/civic-station/station/devices"
)

// Config lists the box's devices; nil ones are absent.
type Config struct {
	IDReader        devices.IDReader
	TicketPrinter   devices.TicketPrinter
	DocumentPrinter devices.DocumentPrinter
	Camera          devices.Camera
	StatusInterval  time.Duration // how often printer status is polled; default 15 s
	Logger          *slog.Logger
	Now             func() time.Time
}

// Rig is the running set of devices.
type Rig struct {
	cfg Config

	mu       sync.Mutex
	subs     map[chan devices.Event]struct{}
	card     *devices.IDCard // on the reader now, nil when none
	statuses map[devices.Kind]devices.Status
}

// New returns a rig for the configured devices. It does nothing until Run.
func New(cfg Config) *Rig {
	if cfg.StatusInterval <= 0 {
		cfg.StatusInterval = 15 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Rig{cfg: cfg, subs: map[chan devices.Event]struct{}{}, statuses: map[devices.Kind]devices.Status{}}
}

// Run watches the reader and polls the printers' and camera's status until ctx ends.
func (r *Rig) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	if r.cfg.IDReader != nil {
		events := make(chan devices.CardEvent, 8)
		wg.Add(2)
		go func() {
			defer wg.Done()
			defer close(events)
			if err := r.cfg.IDReader.Watch(ctx, events); err != nil && !errors.Is(err, context.Canceled) {
				r.cfg.Logger.Error("id reader stopped", "err", err)
			}
		}()
		go func() {
			defer wg.Done()
			for ev := range events {
				r.onCard(ev)
			}
		}()
	}
	r.refresh(ctx)
	t := time.NewTicker(r.cfg.StatusInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			wg.Wait()
			return nil
		case <-t.C:
			r.refresh(ctx)
		}
	}
}

func (r *Rig) onCard(ev devices.CardEvent) {
	out := devices.Event{At: ev.At}
	if out.At.IsZero() {
		out.At = r.cfg.Now()
	}
	r.mu.Lock()
	switch ev.Kind {
	case devices.CardPlaced:
		r.card = ev.Card
		out.Type, out.Card = devices.EventCardPlaced, ev.Card
	case devices.CardRemoved:
		r.card = nil
		out.Type = devices.EventCardRemoved
	case devices.CardFailed:
		r.card = nil
		out.Type = devices.EventCardFailed
		if ev.Err != nil {
			out.Error = ev.Err.Error()
		}
	}
	r.mu.Unlock()
	r.publish(out)
	r.setStatus(r.cfg.IDReader.Status())
}

// refresh asks every device for its status and publishes the ones that changed.
func (r *Rig) refresh(ctx context.Context) {
	if r.cfg.IDReader != nil {
		r.setStatus(r.cfg.IDReader.Status())
	}
	if r.cfg.Camera != nil {
		r.setStatus(r.cfg.Camera.Status())
	}
	qctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if r.cfg.TicketPrinter != nil {
		r.setStatus(r.cfg.TicketPrinter.Status(qctx))
	}
	if r.cfg.DocumentPrinter != nil {
		r.setStatus(r.cfg.DocumentPrinter.Status(qctx))
	}
}

func (r *Rig) setStatus(s devices.Status) {
	r.mu.Lock()
	old, had := r.statuses[s.Kind]
	r.statuses[s.Kind] = s
	r.mu.Unlock()
	if !had || old.State != s.State || old.Connected != s.Connected || old.LastError != s.LastError {
		st := s
		r.publish(devices.Event{Type: devices.EventStatus, At: r.cfg.Now(), Status: &st})
	}
}

// Subscribe returns a channel of events and a function that ends the subscription. A subscriber that
// does not keep up misses events (it can re-read the state with Card and Statuses).
func (r *Rig) Subscribe() (<-chan devices.Event, func()) {
	ch := make(chan devices.Event, 32)
	r.mu.Lock()
	r.subs[ch] = struct{}{}
	r.mu.Unlock()
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			r.mu.Lock()
			delete(r.subs, ch)
			r.mu.Unlock()
		})
	}
}

func (r *Rig) publish(ev devices.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for ch := range r.subs {
		select {
		case ch <- ev:
		default:
			r.cfg.Logger.Warn("device event dropped for a slow subscriber", "type", ev.Type)
		}
	}
}

// Card returns the card on the reader now, or nil.
func (r *Rig) Card() *devices.IDCard {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.card
}

// Statuses returns the last known status of every configured device, and a not-configured entry for
// each absent one, in a fixed order.
func (r *Rig) Statuses() []devices.Status {
	r.mu.Lock()
	defer r.mu.Unlock()
	kinds := []struct {
		kind    devices.Kind
		present bool
	}{
		{devices.KindIDReader, r.cfg.IDReader != nil},
		{devices.KindTicketPrinter, r.cfg.TicketPrinter != nil},
		{devices.KindDocumentPrinter, r.cfg.DocumentPrinter != nil},
		{devices.KindCamera, r.cfg.Camera != nil},
	}
	out := make([]devices.Status, 0, len(kinds))
	for _, k := range kinds {
		s, ok := r.statuses[k.kind]
		switch {
		case !k.present:
			s = devices.Status{Kind: k.kind, State: devices.StateDisconnected, LastError: "未配置该设备"}
		case !ok:
			s = devices.Status{Kind: k.kind, State: devices.StateDisconnected}
		}
		s.Configured = k.present
		out = append(out, s)
	}
	return out
}

// ReadCard reads the card on the reader now.
func (r *Rig) ReadCard(ctx context.Context) (*devices.IDCard, error) {
	if r.cfg.IDReader == nil {
		return nil, devices.ErrNotConnected
	}
	c, err := r.cfg.IDReader.ReadCard(ctx)
	r.setStatus(r.cfg.IDReader.Status())
	return c, err
}

// PrintTicket prints a ticket and returns nil only when the printer confirmed it.
func (r *Rig) PrintTicket(ctx context.Context, t devices.Ticket) error {
	if r.cfg.TicketPrinter == nil {
		return devices.ErrNotConnected
	}
	err := r.cfg.TicketPrinter.Print(ctx, t)
	r.setStatus(r.cfg.TicketPrinter.Status(ctx))
	return err
}

// PrintPDF prints a document and returns nil only when the printer completed the job.
func (r *Rig) PrintPDF(ctx context.Context, name string, pdf []byte) error {
	if r.cfg.DocumentPrinter == nil {
		return devices.ErrNotConnected
	}
	err := r.cfg.DocumentPrinter.PrintPDF(ctx, name, pdf)
	r.setStatus(r.cfg.DocumentPrinter.Status(ctx))
	return err
}

// Still captures a full-resolution frame.
func (r *Rig) Still(ctx context.Context) (devices.Frame, error) {
	if r.cfg.Camera == nil {
		return devices.Frame{}, devices.ErrNotConnected
	}
	return r.cfg.Camera.Still(ctx)
}

// Preview streams preview frames until ctx ends.
func (r *Rig) Preview(ctx context.Context, frames chan<- devices.Frame) error {
	if r.cfg.Camera == nil {
		return devices.ErrNotConnected
	}
	return r.cfg.Camera.Preview(ctx, frames)
}
