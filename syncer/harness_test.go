package syncer_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/civic-station/station/station"
	"github.com/civic-station/station/station/blob"
	"github.com/civic-station/station/station/datakey"
	"github.com/civic-station/station/station/sqlite"
	"github.com/civic-station/station/syncer"
	"github.com/civic-station/station/syncer/hub"
	hubsqlite "github.com/civic-station/station/syncer/hub/sqlite"
)

// clock is a clock the tests move by hand. It starts at the real time, because TLS checks certificate
// validity against the real clock; the tests only ever compare it with itself.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Now().UTC().Truncate(time.Second)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// testHub is a real hub on 127.0.0.1 with an SQLite store in a temporary directory.
type testHub struct {
	*hub.Server
	store *hubsqlite.Store
	blobs *hub.BlobStore
	ca    *hub.CA
	clock *clock
	dir   string
}

func startHub(t testing.TB, clk *clock, tweak func(*hub.Config)) *testHub {
	t.Helper()
	dir := t.TempDir()
	ctx := context.Background()
	store, err := hubsqlite.Open(ctx, filepath.Join(dir, "hub.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	ca, err := hub.LoadOrCreateCA(dir, clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	blobs, err := hub.OpenBlobStore(filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := hub.Config{Store: store, Blobs: blobs, CA: ca, Now: clk.Now, Logger: testLogger(t)}
	if tweak != nil {
		tweak(&cfg)
	}
	srv := hub.New(cfg)
	if err := srv.Open("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return &testHub{Server: srv, store: store, blobs: blobs, ca: ca, clock: clk, dir: dir}
}

func (h *testHub) token(t testing.TB, name string, ttl time.Duration) string {
	t.Helper()
	tok, err := h.CreateToken(context.Background(), name, ttl)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// testStation is a real station store in a temporary data directory, enrolled with a hub.
type testStation struct {
	t     testing.TB
	dir   string
	db    *sqlite.DB
	key   *datakey.Key
	id    *syncer.Identity
	clock *clock
	n     atomic.Int64
	blobs *blob.Store
}

var (
	systemActor   = station.Actor{Username: "system", Role: station.RoleSystem}
	staffActor    = station.Actor{Username: "counter1", Role: station.RoleStaff}
	reviewerActor = station.Actor{Username: "review1", Role: station.RoleReviewer}
)

func newStation(t testing.TB, h *testHub, name string) *testStation {
	t.Helper()
	dir := t.TempDir()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(dir, "station.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	key, err := datakey.Load(filepath.Join(dir, "datakey"))
	if err != nil {
		t.Fatal(err)
	}
	s := &testStation{t: t, dir: dir, db: db, key: key, clock: h.clock, blobs: openBlobs(t, dir)}
	s.submit(station.CmdCatalogImport, systemActor, station.CatalogImport{Matters: []station.Matter{{
		Code: "MZ-001", Name: "最低生活保障申请", Department: "区民政局", Category: "社会救助", Kind: station.KindCommitment,
		TimeLimitDays: 20, FeeNote: "不收费", Location: "一号窗口",
		Materials: []station.Material{{Code: "M1", Name: "居民身份证", Required: true}, {Code: "M2", Name: "收入证明", Required: true}},
		Status:    station.MatterActive, Version: 1,
	}}})
	if h.Server != nil { // a hub without a server is only a clock: the test enrolls by itself
		s.id, err = syncer.Enroll(ctx, h.URL(), h.token(t, name, time.Hour), dir, "test")
		if err != nil {
			t.Fatalf("enroll: %v", err)
		}
	}
	return s
}

func (s *testStation) submit(kind station.CommandKind, actor station.Actor, payload any) station.Result {
	s.t.Helper()
	cmd, err := station.NewCommand(fmt.Sprintf("%s-cmd-%06d", filepath.Base(s.dir), s.n.Add(1)), kind, s.clock.Now(), actor, payload)
	if err != nil {
		s.t.Fatal(err)
	}
	res, err := s.db.Submit(context.Background(), cmd)
	if err != nil {
		s.t.Fatalf("%s: %v", kind, err)
	}
	return res
}

// intake takes an application; blob, when not "", is the scanned copy of the first material.
func (s *testStation) intake(blob string) string {
	s.t.Helper()
	number := "110101199003070018"
	sealed, err := station.SealApplicant(s.key, station.IDResident, number)
	if err != nil {
		s.t.Fatal(err)
	}
	id := fmt.Sprintf("app-%06d", s.n.Add(1))
	s.submit(station.CmdApplicationIntake, staffActor, station.ApplicationIntake{
		ApplicationID: id, MatterCode: "MZ-001",
		Applicant: station.Applicant{IDNumber: sealed, IDLast4: station.IDLast4(number), Name: "王小明", Phone: "13800001111"},
		Materials: []station.MaterialCheck{{Code: "M1", Provided: true, BlobSHA: blob}, {Code: "M2", Provided: true}},
	})
	return id
}

// putBlob writes a blob of n random bytes into the station's blob directory and returns its SHA-256.
func (s *testStation) putBlob(n int) string {
	s.t.Helper()
	b := make([]byte, n)
	_, _ = rand.Read(b)
	sum := sha256.Sum256(b)
	sha := hex.EncodeToString(sum[:])
	got, _, err := s.blobs.Put(bytes.NewReader(b))
	if err != nil || got != sha {
		s.t.Fatalf("put blob: %s %v", got, err)
	}
	return sha
}

func (s *testStation) syncer(tweak func(*syncer.Config)) *syncer.Syncer {
	s.t.Helper()
	cfg := syncer.Config{Store: s.db, Identity: s.id, Blobs: s.blobs, Now: s.clock.Now, Logger: testLogger(s.t),
		Version: "test", Jitter: func(max time.Duration) time.Duration { return max / 2 }}
	if tweak != nil {
		tweak(&cfg)
	}
	sy, err := syncer.New(cfg)
	if err != nil {
		s.t.Fatal(err)
	}
	return sy
}

func (s *testStation) stats() station.OutboxStats {
	s.t.Helper()
	st, err := s.db.OutboxStats(context.Background())
	if err != nil {
		s.t.Fatal(err)
	}
	return st
}

// cutProxy forwards TCP connections to a target and cuts each one after budget bytes from the client
// (0: never), to interrupt uploads in the middle.
type cutProxy struct {
	ln      net.Listener
	target  string
	budget  atomic.Int64
	cuts    atomic.Int64
	forward atomic.Int64 // client bytes forwarded
	wg      sync.WaitGroup
	mu      sync.Mutex
	conns   []net.Conn
}

func startCutProxy(t *testing.T, target string) *cutProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln, target: target}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.mu.Lock()
			p.conns = append(p.conns, c)
			p.mu.Unlock()
			p.wg.Add(1)
			go func() {
				defer p.wg.Done()
				p.serve(c)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		p.mu.Lock()
		for _, c := range p.conns {
			c.Close()
		}
		p.mu.Unlock()
		p.wg.Wait()
	})
	return p
}

func (p *cutProxy) URL() string { return "https://" + p.ln.Addr().String() }

func (p *cutProxy) serve(c net.Conn) {
	defer c.Close()
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		return
	}
	defer up.Close()
	go func() {
		_, _ = io.Copy(c, up)
		c.Close()
	}()
	budget := p.budget.Load()
	buf := make([]byte, 16<<10)
	var sent int64
	for {
		n, err := c.Read(buf)
		if n > 0 {
			if budget > 0 && sent+int64(n) > budget {
				n = int(budget - sent)
				_, _ = up.Write(buf[:n])
				p.forward.Add(int64(n))
				p.cuts.Add(1)
				return
			}
			if _, werr := up.Write(buf[:n]); werr != nil {
				return
			}
			sent += int64(n)
			p.forward.Add(int64(n))
		}
		if err != nil {
			return
		}
	}
}

// openBlobs opens the station's blob store in dir, as the station does.
func openBlobs(t testing.TB, dir string) *blob.Store {
	t.Helper()
	b, err := blob.Open(dir, blob.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return b
}
