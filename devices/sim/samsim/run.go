package samsim

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync"
	"time"

	"github.com/civic-station/station/devices/idcard/sam"
	"github.com/civic-station/station/station"
)

// RunConfig configures Run.
type RunConfig struct {
	Link    string // path of the port symlink (required)
	Control string // path of the control socket (default Link+".ctl")
	Baud    int    // default 115200
	// CardsFile holds the cards to place by index (JSON: one card or an array). Empty: the sample
	// cards of each type and a few generated resident cards.
	CardsFile string
	Logger    *slog.Logger
	// Ready, if set, is called once the port and the control socket exist.
	Ready func(link, control string)
}

// DefaultControl returns the control socket path used for a link when none is given.
func DefaultControl(link string) string { return link + ".ctl" }

// Run runs a simulator on cfg.Link and serves the control socket until ctx ends, then unplugs it
// and removes the socket.
func Run(ctx context.Context, cfg RunConfig) error {
	if cfg.Control == "" {
		cfg.Control = DefaultControl(cfg.Link)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var cards []Card
	if cfg.CardsFile != "" {
		var err error
		if cards, err = LoadCards(cfg.CardsFile); err != nil {
			return err
		}
	} else {
		cards = SampleCards()
		today := station.DateOf(time.Now())
		for i := uint64(1); i <= 4; i++ {
			cards = append(cards, GenerateCard(i, today))
		}
	}
	sim, err := New(Config{Link: cfg.Link, Baud: cfg.Baud, Logger: log})
	if err != nil {
		return err
	}
	defer sim.Close()

	if fi, err := os.Lstat(cfg.Control); err == nil && fi.Mode()&os.ModeSocket != 0 {
		_ = os.Remove(cfg.Control) // a stale socket of an earlier run
	}
	ln, err := net.Listen("unix", cfg.Control)
	if err != nil {
		return fmt.Errorf("samsim: control socket: %w", err)
	}
	defer os.Remove(cfg.Control)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer ln.Close()
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	if cfg.Ready != nil {
		cfg.Ready(cfg.Link, cfg.Control)
	}
	log.Info("simulated ID card reader running", "link", cfg.Link, "control", cfg.Control, "cards", len(cards))
	for {
		conn, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("samsim: accept: %w", err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			serveControl(ctx, conn, sim, cards)
		}()
	}
}

// serveControl answers the newline-delimited JSON requests of one connection.
func serveControl(ctx context.Context, conn net.Conn, sim *Sim, cards []Card) {
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	sc := bufio.NewScanner(conn)
	sc.Buffer(make([]byte, 0, 4096), 64<<10)
	enc := json.NewEncoder(conn)
	for sc.Scan() {
		var req Request
		var rep Reply
		if err := json.Unmarshal(sc.Bytes(), &req); err != nil {
			rep = Reply{Error: "bad request: " + err.Error()}
		} else {
			rep = sim.Handle(req, cards)
		}
		if err := enc.Encode(rep); err != nil {
			return
		}
	}
}

// Send sends one request to a simulator's control socket and returns its reply. A reply that
// reports a failure is returned with an error too.
func Send(ctx context.Context, control string, req Request) (Reply, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", control)
	if err != nil {
		return Reply{}, fmt.Errorf("samsim: control %s: %w", control, err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	} else {
		_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	}
	if err := json.NewEncoder(conn).Encode(req); err != nil {
		return Reply{}, fmt.Errorf("samsim: control: %w", err)
	}
	var rep Reply
	if err := json.NewDecoder(conn).Decode(&rep); err != nil {
		return Reply{}, fmt.Errorf("samsim: control reply: %w", err)
	}
	if !rep.OK {
		return rep, errors.New("samsim: " + rep.Error)
	}
	return rep, nil
}

func ethnicityName(code string) (string, bool) { return sam.Ethnicity(code) }
