package syncer_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/civic-station/station/station/blob"
	"github.com/civic-station/station/station/sqlite"
	"github.com/civic-station/station/syncer"
	"github.com/civic-station/station/syncer/hub"
	"github.com/civic-station/station/syncer/protocol"
)

const (
	faultChildDirEnv = "STATION_SYNC_FAULTS_CHILD_DIR"
	faultChildHubEnv = "STATION_SYNC_FAULTS_CHILD_HUB"
	faultChunk       = 64 << 10
)

// TestFaultsChild is the child side of TestFaultsKilledSyncerBehindToxicNetwork: it runs the station's
// syncer on the data directory it is given, against the hub URL it is given, until it is killed.
func TestFaultsChild(t *testing.T) {
	dir := os.Getenv(faultChildDirEnv)
	if dir == "" {
		t.Skip("run only as the child of the fault test")
	}
	ctx := context.Background()
	fail := func(err error) {
		fmt.Println("ERR", err)
		os.Exit(2)
	}
	db, err := sqlite.Open(ctx, filepath.Join(dir, "station.db"))
	if err != nil {
		fail(err)
	}
	blobs, err := blob.Open(dir, blob.Options{})
	if err != nil {
		fail(err)
	}
	id, err := syncer.LoadIdentity(dir)
	if err != nil {
		fail(err)
	}
	sy, err := syncer.New(syncer.Config{Store: db, Blobs: blobs, Identity: id, HubURL: os.Getenv(faultChildHubEnv),
		Version: "test", Logger: slog.New(slog.DiscardHandler),
		Interval: 100 * time.Millisecond, BackoffBase: 50 * time.Millisecond, BackoffMax: 400 * time.Millisecond,
		RequestTimeout: 2 * time.Second, ChunkSize: faultChunk, MaxBatchRecords: 40, Retention: -1})
	if err != nil {
		fail(err)
	}
	fmt.Println("RUNNING")
	_ = sy.Run(ctx) // until SIGKILL
	fail(errors.New("Run returned"))
}

// blobMeter wraps the hub's handler and counts, per blob, the chunk bytes the hub read, the bytes of
// the chunks it accepted (204) for the first time, and the PATCH requests that were interrupted: not
// accepted (cut, timed out, wrong offset), or accepted again after the answer to the first was lost.
type blobMeter struct {
	mu       sync.Mutex
	received map[string]int64
	stored   map[string]int64
	failed   map[string]int
}

type countingBody struct {
	io.ReadCloser
	n int64
}

func (c *countingBody) Read(p []byte) (int, error) {
	n, err := c.ReadCloser.Read(p)
	c.n += int64(n)
	return n, err
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(p)
}

func (m *blobMeter) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPatch || !strings.HasPrefix(r.URL.Path, protocol.PathBlobs) {
			next.ServeHTTP(w, r)
			return
		}
		sha := strings.TrimPrefix(r.URL.Path, protocol.PathBlobs)
		body := &countingBody{ReadCloser: r.Body}
		r.Body = body
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		m.mu.Lock()
		defer m.mu.Unlock()
		m.received[sha] += body.n
		off, _ := strconv.ParseInt(r.Header.Get(protocol.HeaderUploadOffset), 10, 64)
		switch {
		case sw.status == http.StatusNoContent && off >= m.stored[sha]:
			m.stored[sha] += body.n
		default:
			// Refused, or accepted again: a chunk the hub already held, resent because the station was
			// killed after the hub stored it and before the answer arrived. Either is one interruption.
			m.failed[sha]++
		}
	})
}

// serveMetered serves the hub's handler, metered, with the hub's TLS configuration on 127.0.0.1.
func serveMetered(t *testing.T, h *testHub, m *blobMeter) string {
	t.Helper()
	tlsCfg, err := h.TLSConfig()
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: m.wrap(h.Handler()), TLSConfig: tlsCfg, ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: slog.NewLogLogger(slog.DiscardHandler, slog.LevelDebug)}
	go func() { _ = srv.Serve(tls.NewListener(ln, tlsCfg)) }()
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

type faultPhase struct {
	name   string
	toxics []string
}

var faultPhases = []faultPhase{
	{"latency+jitter", []string{
		`{"name":"lat_up","type":"latency","stream":"upstream","attributes":{"latency":30,"jitter":25}}`,
		`{"name":"lat_down","type":"latency","stream":"downstream","attributes":{"latency":30,"jitter":25}}`}},
	{"bandwidth", []string{
		`{"name":"bw_up","type":"bandwidth","stream":"upstream","attributes":{"rate":1500}}`,
		`{"name":"lat_down","type":"latency","stream":"downstream","attributes":{"latency":20,"jitter":10}}`}},
	{"limit_data", []string{
		`{"name":"cut_up","type":"limit_data","stream":"upstream","attributes":{"bytes":180000}}`}},
	{"reset_peer", []string{
		`{"name":"reset_up","type":"reset_peer","stream":"upstream","attributes":{"timeout":300}}`}},
	{"timeout", []string{
		`{"name":"timeout_up","type":"timeout","stream":"upstream","attributes":{"timeout":500}}`}},
	{"clean", nil},
}

// TestFaultsKilledSyncerBehindToxicNetwork runs the station's syncer in a child process that is killed
// with SIGKILL again and again, behind a toxiproxy proxy whose toxics change over the run (latency and
// jitter, a bandwidth limit, reset_peer, limit_data, timeout), against a real hub on 127.0.0.1. Once the
// faults stop, the outbox must drain; the hub must hold every acknowledged record exactly once with the
// station's payload hash, every blob byte for byte, and no blob upload may have started over.
func TestFaultsKilledSyncerBehindToxicNetwork(t *testing.T) {
	if testing.Short() {
		t.Skip("fault run skipped in -short mode")
	}
	ctx := context.Background()
	clk := newClock()
	h := startHub(t, clk, nil)
	meter := &blobMeter{received: map[string]int64{}, stored: map[string]int64{}, failed: map[string]int{}}
	upstream := serveMetered(t, h, meter)

	s := newStation(t, h, "幸福里服务站")
	const applications, everyBlob = 2000, 40
	sizes := map[string]int64{}
	for i := range applications {
		sha := ""
		if i%everyBlob == 0 {
			n := 100<<10 + rand.IntN(500<<10)
			sha = s.putBlob(n)
			sizes[sha] = int64(n)
		}
		s.intake(sha)
	}
	t.Logf("%d outbox records, %d blobs before the faults", s.stats().Pending, len(sizes))
	// More applications arrive while the syncer is being killed: one every 100 ms or so.
	const moreApplications = 100
	added := 0
	addOne := func() {
		if added >= moreApplications {
			return
		}
		sha := ""
		if added%everyBlob == 0 {
			n := 100<<10 + rand.IntN(500<<10)
			sha = s.putBlob(n)
			sizes[sha] = int64(n)
		}
		s.intake(sha)
		added++
	}

	zerolog.SetGlobalLevel(zerolog.Disabled) // the toxics log through zerolog's global logger
	tp := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(prometheus.NewRegistry()), zerolog.Nop())
	proxy := toxiproxy.NewProxy(tp, "hub", "127.0.0.1:0", upstream)
	if err := proxy.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(proxy.Stop)
	proxyURL := "https://" + proxy.Listen
	setPhase := func(p faultPhase) {
		proxy.Toxics.ResetToxics(ctx)
		for _, js := range p.toxics {
			if _, err := proxy.Toxics.AddToxicJson(strings.NewReader(js)); err != nil {
				t.Fatalf("toxic %s: %v", js, err)
			}
		}
	}

	startChild := func() (*exec.Cmd, *bytes.Buffer) {
		cmd := exec.Command(os.Args[0], "-test.run=^TestFaultsChild$", "-test.v=false")
		cmd.Env = append(os.Environ(), faultChildDirEnv+"="+s.dir, faultChildHubEnv+"="+proxyURL)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd, &out
	}
	kill := func(cmd *exec.Cmd, out *bytes.Buffer) {
		_ = cmd.Process.Signal(syscall.SIGKILL)
		err := cmd.Wait()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
			t.Fatalf("child ended by itself before the kill (%v):\n%s", err, out.String())
		}
	}

	// Faults: the toxics change every 1.2 s; the syncer is killed every 0.3–1.5 s.
	const faultFor = 12 * time.Second
	kills := 0
	start := time.Now()
	phase := 0
	setPhase(faultPhases[0])
	nextPhase := start.Add(1200 * time.Millisecond)
	for time.Since(start) < faultFor {
		cmd, out := startChild()
		deadline := time.Now().Add(300*time.Millisecond + rand.N(1200*time.Millisecond))
		for time.Now().Before(deadline) {
			if time.Now().After(nextPhase) {
				phase = (phase + 1) % len(faultPhases)
				setPhase(faultPhases[phase])
				nextPhase = time.Now().Add(1200 * time.Millisecond)
			}
			addOne()
			time.Sleep(100 * time.Millisecond)
		}
		kill(cmd, out)
		kills++
	}
	st := s.stats()
	t.Logf("after %v of faults and %d kills (%d applications added meanwhile): outbox %+v", time.Since(start).Round(time.Millisecond), kills, added, st)

	// The faults stop: one last syncer must drain the outbox.
	setPhase(faultPhase{name: "none"})
	cmd, out := startChild()
	drainDeadline := time.Now().Add(120 * time.Second)
	for {
		st = s.stats()
		if st.Pending == 0 {
			break
		}
		if time.Now().After(drainDeadline) {
			kill(cmd, out)
			t.Fatalf("outbox not drained once the faults stopped: %+v\nchild output:\n%s", st, out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	kill(cmd, out)
	kills++
	raw, err := sql.Open("sqlite", filepath.Join(s.dir, "station.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var total int
	if err := raw.QueryRow(`SELECT COUNT(*) FROM outbox`).Scan(&total); err != nil {
		t.Fatal(err)
	}
	if st.DeadLetters != 0 || st.Acked != total {
		t.Fatalf("outbox after the drain = %+v, want all %d acknowledged and no dead letters", st, total)
	}

	// Every acknowledged record is held by the hub exactly once, with the station's payload.
	rows, err := raw.Query(`SELECT seq, id, kind, payload FROM outbox WHERE acked_at IS NOT NULL ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	type want struct {
		seq        int64
		kind, hash string
	}
	acked := map[string]want{}
	for rows.Next() {
		var w want
		var id, payload string
		if err := rows.Scan(&w.seq, &id, &w.kind, &payload); err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		if err := json.Compact(&b, []byte(payload)); err != nil {
			t.Fatalf("outbox %s: %v", id, err)
		}
		w.hash = protocol.PayloadHash(b.Bytes())
		acked[id] = w
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	if len(acked) != total {
		t.Fatalf("%d acknowledged records in the outbox, want %d", len(acked), total)
	}
	held, err := h.store.Records(ctx, hub.RecordFilter{StationID: s.id.StationID})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, r := range held {
		seen[r.ID]++
		w, ok := acked[r.ID]
		switch {
		case !ok:
			t.Errorf("hub holds record %s (seq %d) that the station did not have acknowledged", r.ID, r.Seq)
		case r.Seq != w.seq || r.Kind != w.kind || r.PayloadSHA256 != w.hash || protocol.PayloadHash(r.Payload) != w.hash:
			t.Errorf("hub's record %s = seq %d %s hash %s (payload %s), station's = seq %d %s hash %s",
				r.ID, r.Seq, r.Kind, r.PayloadSHA256, protocol.PayloadHash(r.Payload), w.seq, w.kind, w.hash)
		}
	}
	for id := range acked {
		if seen[id] != 1 {
			t.Errorf("hub holds acknowledged record %s %d times, want exactly once", id, seen[id])
		}
	}
	if conf, err := h.store.Conflicts(ctx, s.id.StationID); err != nil || len(conf) != 0 {
		t.Errorf("hub conflicts = %d, %v", len(conf), err)
	}

	// Every blob is on the hub byte for byte, and no upload started over.
	meter.mu.Lock()
	defer meter.mu.Unlock()
	interruptions := 0
	for sha, size := range sizes {
		if !h.blobs.Has(sha) {
			t.Errorf("hub lacks blob %s", sha)
			continue
		}
		f, err := h.blobs.Open(sha)
		if err != nil {
			t.Fatal(err)
		}
		hh := sha256.New()
		n, err := io.Copy(hh, f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		sf, _, err := s.blobs.OpenBlob(sha)
		if err != nil {
			t.Fatal(err)
		}
		sh := sha256.New()
		_, err = io.Copy(sh, sf)
		sf.Close()
		if err != nil {
			t.Fatal(err)
		}
		if got, local := hex.EncodeToString(hh.Sum(nil)), hex.EncodeToString(sh.Sum(nil)); n != size || got != sha || got != local {
			t.Errorf("hub blob %s: %d bytes, SHA-256 %s; station's %d bytes, %s", sha, n, got, size, local)
		}
		// Accepted chunks add up to the blob exactly: no byte was appended twice, nothing restarted
		// from zero. Everything else the hub read belongs to a chunk it refused (at most one chunk each).
		if meter.stored[sha] != size {
			t.Errorf("blob %s: hub accepted %d bytes of chunks for a %d-byte blob", sha, meter.stored[sha], size)
		}
		if limit := size + int64(meter.failed[sha])*faultChunk; meter.received[sha] > limit {
			t.Errorf("blob %s: hub received %d bytes for %d bytes with %d interruptions (limit %d)",
				sha, meter.received[sha], size, meter.failed[sha], limit)
		}
		interruptions += meter.failed[sha]
	}
	if len(meter.received) != len(sizes) {
		t.Errorf("hub received chunks for %d blobs, want %d", len(meter.received), len(sizes))
	}
	t.Logf("%d kills, %d interrupted chunk uploads, %d records each held once, %d blobs identical", kills, interruptions, len(held), len(sizes))
	if kills < 5 {
		t.Errorf("only %d kills: the test did not restart the syncer enough", kills)
	}
}
