// Package http serves the station's JSON API under /api/v1 (docs/api.md), the operational endpoints
// (/healthz, /readyz, /metrics) and the embedded web UIs, with Fiber.
//
// The package turns requests into domain Commands submitted to a station.Log and answers reads from a
// Store; it owns sessions and role checks, the mapping from domain error codes to HTTP statuses, the
// masking of personal data in responses and the audit of staff reads. Its dependencies are small
// interfaces declared here, so the same server runs on a single box or a cluster.
package http

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/civic-station/station/station"
)

// Store is the read side the HTTP layer needs. Methods return *station.Error with ENOTFOUND when the
// object does not exist.
type Store interface {
	Ready(ctx context.Context) error
	Matters(ctx context.Context, f station.MatterFilter) ([]station.Matter, error)
	Matter(ctx context.Context, code string) (*station.Matter, error)
	Categories(ctx context.Context) ([]station.CategoryCount, error)
	Calendar(ctx context.Context) (*station.Calendar, error)
	Resident(ctx context.Context, id string) (*station.Resident, error)
	ResidentByIndex(ctx context.Context, index string) (*station.Resident, error)
	Application(ctx context.Context, id string) (*station.Application, error)
	ApplicationByNumber(ctx context.Context, number string) (*station.Application, error)
	Applications(ctx context.Context, f station.ApplicationFilter) ([]station.Application, int, error)
	Stats(ctx context.Context, today station.Date) (station.Stats, error)
	User(ctx context.Context, username string) (*station.User, error)
	// LoginAttempts returns the failed logins of an account from one client address.
	LoginAttempts(ctx context.Context, username, address string) (station.LoginAttempts, error)
	Users(ctx context.Context) ([]station.User, error)
	Session(ctx context.Context, tokenHash string) (*station.Session, error)
	AuditEntries(ctx context.Context, f station.AuditFilter) ([]station.AuditEntry, int, error)
	VerifyAudit(ctx context.Context) (station.AuditReport, error)

	// The queue (docs/queue.md): lines by code; waiting tickets in calling order (every line when
	// lines is empty); the day's tickets in the order they joined their lines.
	QueueLines(ctx context.Context) ([]station.QueueLine, error)
	Ticket(ctx context.Context, id string) (*station.Ticket, error)
	WaitingTickets(ctx context.Context, day station.Date, lines []string) ([]station.Ticket, error)
	TicketsOfDay(ctx context.Context, day station.Date) ([]station.Ticket, error)
	QueueFigures(ctx context.Context, day station.Date) (station.QueueFigures, error)
}

// PasswordHasher hashes new passwords and verifies presented ones against stored hashes.
type PasswordHasher interface {
	Hash(password string) (string, error)
	// Verify reports whether password matches encoded; an error means encoded is unusable.
	Verify(password, encoded string) (bool, error)
}

// Config carries the server's dependencies. Store, Log, Sealer and Hasher are required.
type Config struct {
	Store   Store
	Log     station.Log
	Sealer  station.Sealer
	Hasher  PasswordHasher
	Now     func() time.Time // defaults to time.Now
	NewID   func() string    // UUIDv7 strings; defaults to uuid.NewV7
	Logger  *slog.Logger     // defaults to a logger that discards
	UI      fs.FS            // the built UI (index.html, assets/); nil serves a placeholder page
	Devices Devices          // the box's hardware; nil when it has none (device routes answer EUNAVAILABLE)
	Demo    DemoDevices      // the demo's simulators; nil outside demo mode
	Scanner Scanner          // page processing for the document camera; nil without one
	Blobs   Blobs            // scanned pages and materials
	// TestPage makes the one-page PDF the setup page's A4 test prints; nil without a document printer.
	TestPage func(time.Time) []byte
	Version  string
	// SyncStore, Sync and Disk serve the sync routes, the notices and the sync and disk figures in
	// /metrics; each may be nil (the sync routes then answer EUNAVAILABLE).
	SyncStore SyncStore
	Sync      SyncMonitor
	Disk      DiskMonitor
	Backups   BackupMonitor // the scheduled backups, shown with the sync status (may be nil)
	// Certificates issues, prints and verifies certificates; nil answers the certificate routes with
	// EUNAVAILABLE.
	Certificates Certificates
	// TLS describes the HTTPS listener's certificate for the setup page; nil when HTTPS is off.
	TLS TLSInfo
	// MetricsToken lets a scraper on the LAN read /metrics with "Authorization: Bearer TOKEN"; without
	// it /metrics answers only the box itself (loopback).
	MetricsToken string
	// FirstRun serves the first-run setup of a real station (setup.go); nil (the demo) answers the
	// first-run routes with ECONFLICT.
	FirstRun FirstRun
	// Cluster is the station's cluster for the setup page; nil without a cluster port.
	Cluster Cluster
	// Kiosk lays out the queue tickets the kiosk prints; nil prints none (the kiosk's answer says so).
	Kiosk KioskInfo
}

// BodyLimit is the largest request body the API accepts.
const BodyLimit = 64 << 10

// Server is the station's HTTP server.
type Server struct {
	store   Store
	log     station.Log
	sealer  station.Sealer
	hasher  PasswordHasher
	now     func() time.Time
	newID   func() string
	logger  *slog.Logger
	ui      fs.FS
	devices Devices
	demo    DemoDevices
	scanner Scanner
	blobs   Blobs
	// testPage makes the A4 test page.
	testPage func(time.Time) []byte
	// the sync with the data center and the disk reserve (each may be nil)
	syncStore SyncStore
	syncMon   SyncMonitor
	disk      DiskMonitor
	backups   BackupMonitor
	certs     Certificates // nil without the certificate service
	tls       TLSInfo      // nil without HTTPS
	// metricsToken admits a remote scraper to /metrics ("" admits none)
	metricsToken string
	cluster      Cluster        // nil: no cluster port
	kioskInfo    KioskInfo      // nil: the kiosk prints no queue tickets
	firstRun     FirstRun       // nil: no first-run setup
	setup        *firstRunState // the first-run setup's tokens and tries

	closing   chan struct{} // closed by Close: long-lived streams end
	silent    silentConns   // accepted connections, to end those without a request at Close
	closeOnce sync.Once
	version   string

	app            *fiber.App
	metrics        *metrics
	metricsHandler fiber.Handler
	idle           *idleTracker
	unknownLogins  unknownLogins // failed logins into accounts that do not exist
	guesses        *guessLimiter
	dummyOnce      sync.Once
	dummy          string // a password hash verified when a login names no account, to keep timing flat

	mu   sync.Mutex
	ln   net.Listener
	lns  []net.Listener // what Start was given
	done chan error
}

// NewServer builds a server and registers its routes. It does not touch the store.
func NewServer(cfg Config) *Server {
	s := &Server{
		store:    cfg.Store,
		log:      cfg.Log,
		sealer:   cfg.Sealer,
		hasher:   cfg.Hasher,
		now:      cfg.Now,
		newID:    cfg.NewID,
		logger:   cfg.Logger,
		ui:       cfg.UI,
		devices:  cfg.Devices,
		demo:     cfg.Demo,
		scanner:  cfg.Scanner,
		blobs:    cfg.Blobs,
		testPage: cfg.TestPage,
		closing:  make(chan struct{}),
		version:  cfg.Version,
		idle:     newIdleTracker(),
		guesses:  newGuessLimiter(),

		syncStore:    cfg.SyncStore,
		syncMon:      cfg.Sync,
		disk:         cfg.Disk,
		backups:      cfg.Backups,
		certs:        cfg.Certificates,
		tls:          cfg.TLS,
		metricsToken: cfg.MetricsToken,
		firstRun:     cfg.FirstRun,
		cluster:      cfg.Cluster,
		kioskInfo:    cfg.Kiosk,
		setup:        newFirstRunState(),
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.newID == nil {
		s.newID = newUUIDv7
	}
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	s.metrics = newMetrics()
	if s.syncMon != nil || s.disk != nil {
		s.metrics.registry.MustRegister(syncCollector{sync: s.syncMon, disk: s.disk, log: s.logger.Warn})
	}
	s.metricsHandler = adaptor.HTTPHandler(promhttp.HandlerFor(s.metrics.registry, promhttp.HandlerOpts{}))
	s.app = fiber.New(fiber.Config{
		AppName:               "station",
		DisableStartupMessage: true,
		Immutable:             true,
		BodyLimit:             16 * BodyLimit, // hard limit in fasthttp; the API limit is enforced per request
		ReadBufferSize:        16 << 10,       // request line and headers: a forged QR's long /verify URL still gets its answer
		ReadTimeout:           30 * time.Second,
		WriteTimeout:          30 * time.Second,
		IdleTimeout:           2 * time.Minute,
		ErrorHandler:          s.handleFiberError,
	})
	s.register()
	return s
}

// shutdownTimeout bounds Close's wait for requests in progress.
const shutdownTimeout = 10 * time.Second

// Open listens on addr (host:port; port 0 picks a free port) and serves in the background until Close.
func (s *Server) Open(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", addr, err)
	}
	s.Start(ln)
	return nil
}

// Start serves on ln and on more, which the caller has bound, in the background until Close. A
// listener made by tls.NewListener serves HTTPS: its answers carry HSTS. Addr is ln's address;
// Addrs lists them all.
func (s *Server) Start(ln net.Listener, more ...net.Listener) {
	done := make(chan error, 1)
	s.mu.Lock()
	s.lns = append([]net.Listener{ln}, more...)
	if len(more) > 0 {
		ln = newMultiListener(s.lns)
	}
	s.ln, s.done = ln, done
	s.mu.Unlock()
	go func() { done <- s.serve(ln) }()
}

// Serve serves on ln and blocks until Close is called or the listener fails.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	s.ln = ln
	s.mu.Unlock()
	return s.serve(ln)
}

func (s *Server) serve(ln net.Listener) error {
	if err := s.app.Listener(s.silent.listener(ln)); err != nil && !errors.Is(err, net.ErrClosed) {
		return err
	}
	return nil
}

// Addr returns the address the server listens on, or nil before Open or Serve.
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return nil
	}
	return s.ln.Addr()
}

// Addrs returns the addresses of the listeners Start was given, in its order; nil before Start.
func (s *Server) Addrs() []net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []net.Addr
	for _, ln := range s.lns {
		out = append(out, ln.Addr())
	}
	return out
}

// Close stops accepting connections and waits up to 5 seconds for requests in flight.
func (s *Server) Close() error {
	s.closeOnce.Do(func() { close(s.closing) }) // ends event streams, which would hold Shutdown up
	// A connection that has not sent its first request (a browser's preconnect, a client's dial race)
	// would hold fasthttp's Shutdown until the read timeout; it carries nothing, so it is closed first.
	s.silent.closeSilent()
	err := s.app.ShutdownWithTimeout(shutdownTimeout)
	s.mu.Lock()
	done, ln := s.done, s.ln
	s.done = nil
	s.mu.Unlock()
	if ln != nil {
		// Shutdown misses a listener that Serve has not started accepting on yet; closing it ends Serve.
		if cerr := ln.Close(); cerr != nil && !errors.Is(cerr, net.ErrClosed) && err == nil {
			err = cerr
		}
	}
	if done != nil {
		if serveErr := <-done; err == nil {
			err = serveErr
		}
	}
	return err
}
