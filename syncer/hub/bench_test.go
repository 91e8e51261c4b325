package hub_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	crand "crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/civic-station/station/syncer"
	"github.com/civic-station/station/syncer/hub"
	"github.com/civic-station/station/syncer/hub/postgres"
	hubsqlite "github.com/civic-station/station/syncer/hub/sqlite"
	"github.com/civic-station/station/syncer/protocol"
)

// envInt reads a non-negative integer knob from the environment, or returns def.
func envInt(tb testing.TB, name string, def int) int {
	tb.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		tb.Fatalf("%s=%q: want a non-negative integer", name, v)
	}
	return n
}

// benchHub is a hub on 127.0.0.1 in a data directory laid out as TestBenchHubChild expects: the CA in
// dir, blobs in dir/blobs.
type benchHub struct {
	srv   *hub.Server
	store hub.Store
	dir   string
}

func startBenchHub(tb testing.TB, store hub.Store, dir string, maxActive int) *benchHub {
	tb.Helper()
	ca, err := hub.LoadOrCreateCA(dir, time.Now())
	if err != nil {
		tb.Fatal(err)
	}
	blobs, err := hub.OpenBlobStore(filepath.Join(dir, "blobs"))
	if err != nil {
		tb.Fatal(err)
	}
	srv := hub.New(hub.Config{Store: store, Blobs: blobs, CA: ca, MaxActive: maxActive})
	if err := srv.Open("127.0.0.1:0"); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { srv.Close() })
	return &benchHub{srv: srv, store: store, dir: dir}
}

// enroll enrolls n stations through the protocol, each with its own key and client certificate in a
// data directory of its own, and returns their identities. The enrollments go to a listener of their
// own without keep-alive: syncer.Enroll leaves its idle connection open, and ten thousand of them
// would exhaust the file descriptors.
func (h *benchHub) enroll(tb testing.TB, n int) []*syncer.Identity {
	tb.Helper()
	ctx := context.Background()
	tlsCfg, err := h.srv.TLSConfig()
	if err != nil {
		tb.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	srv := &http.Server{Handler: h.srv.Handler(), TLSConfig: tlsCfg, ReadHeaderTimeout: 10 * time.Second}
	srv.SetKeepAlivesEnabled(false)
	go func() { _ = srv.Serve(tls.NewListener(ln, tlsCfg)) }()
	defer srv.Close()
	url := "https://" + ln.Addr().String()
	root := tb.TempDir()
	ids := make([]*syncer.Identity, n)
	var next atomic.Int64
	var failed atomic.Value
	var wg sync.WaitGroup
	for range 8 { // the enrollments wait on fsyncs, mostly: a few at once
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < n && failed.Load() == nil; i = int(next.Add(1)) - 1 {
				tok, err := h.srv.CreateToken(ctx, fmt.Sprintf("压测站点%05d", i), time.Hour)
				if err == nil {
					ids[i], err = syncer.Enroll(ctx, url, tok, filepath.Join(root, strconv.Itoa(i)), "bench")
				}
				if err != nil {
					failed.CompareAndSwap(nil, fmt.Sprintf("enroll station %d: %v", i, err))
				}
			}
		})
	}
	wg.Wait()
	if f := failed.Load(); f != nil {
		tb.Fatal(f)
	}
	return ids
}

// stationClient is a station's HTTP client as the syncer builds it: mutual TLS with its identity, one
// connection to the hub.
func stationClient(id *syncer.Identity) *http.Client {
	return &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{TLSClientConfig: id.TLSConfig(), ForceAttemptHTTP2: true,
		MaxIdleConnsPerHost: 1, MaxConnsPerHost: 1, IdleConnTimeout: 5 * time.Minute}}
}

// batchBody encodes a gzip batch of n application records of a station, seqs first..first+n-1, the way
// the syncer encodes one. The payloads are shaped like application.intake commands: an encrypted ID
// number (random, so incompressible), a masked name, a phone number, a materials checklist.
func batchBody(tb testing.TB, station, first, n int) []byte {
	tb.Helper()
	req := protocol.RecordsRequest{Station: protocol.StationReport{Backlog: n, Version: "bench"}}
	sealed := make([]byte, 64)
	for i := range n {
		seq := first + i
		_, _ = crand.Read(sealed)
		app := fmt.Sprintf("app-%05d-%08d", station, seq)
		payload, err := json.Marshal(map[string]any{
			"application_id": app, "matter_code": "MZ-001",
			"applicant": map[string]any{"id_number": base64.StdEncoding.EncodeToString(sealed), "id_last4": "0018", "name": "王**", "phone": "138****1111"},
			"materials": []map[string]any{{"code": "M1", "provided": true}, {"code": "M2", "provided": true}},
			"note":      "居民到站办理，材料齐全，已初审。",
		})
		if err != nil {
			tb.Fatal(err)
		}
		req.Records = append(req.Records, protocol.Record{Seq: int64(seq), ID: fmt.Sprintf("cmd-%05d-%08d", station, seq), Kind: "application.intake",
			OccurredAt: time.Now().UTC(), Payload: payload, PayloadSHA256: protocol.PayloadHash(payload), Blobs: []string{}})
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	enc := json.NewEncoder(zw)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(req); err != nil {
		tb.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// postBatch sends a record batch and returns the status, the Retry-After of a 503 and the hub's answer.
func postBatch(ctx context.Context, c *http.Client, base string, body []byte) (int, time.Duration, protocol.RecordsResponse, error) {
	var out protocol.RecordsResponse
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+protocol.PathRecords, bytes.NewReader(body))
	if err != nil {
		return 0, 0, out, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Content-Encoding", "gzip")
	req.Header.Set(protocol.HeaderStationTime, time.Now().UTC().Format(time.RFC3339Nano))
	resp, err := c.Do(req)
	if err != nil {
		return 0, 0, out, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, 0, out, err
	}
	var ra time.Duration
	if secs, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil {
		ra = time.Duration(secs) * time.Second
	}
	if resp.StatusCode == http.StatusOK {
		err = json.Unmarshal(raw, &out)
	}
	return resp.StatusCode, ra, out, err
}

// hubMetrics reads the hub's /metrics into a map of name to value.
func hubMetrics(c *http.Client, base string) (map[string]float64, error) {
	resp, err := c.Get(base + protocol.PathMetrics)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	m := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		name, v, ok := strings.Cut(sc.Text(), " ")
		if !ok || strings.HasPrefix(name, "#") {
			continue
		}
		if f, err := strconv.ParseFloat(v, 64); err == nil {
			m[name] = f
		}
	}
	return m, sc.Err()
}

// percentile returns the p-th percentile (0–100) of sorted durations.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(float64(len(sorted))*p/100))]
}

// benchStore names a hub store the ingest benchmark runs against.
type benchStore struct {
	name string
	open func(b *testing.B) hub.Store
}

var pgBenchN atomic.Int64

// benchStores returns the SQLite store, and the PostgreSQL one when STATION_TEST_POSTGRES_URL names a
// server (a fresh database per benchmark, dropped afterwards).
func benchStores(b *testing.B) []benchStore {
	stores := []benchStore{{"sqlite", func(b *testing.B) hub.Store {
		s, err := hubsqlite.Open(context.Background(), filepath.Join(b.TempDir(), "hub.db"))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { s.Close() })
		return s
	}}}
	base := os.Getenv("STATION_TEST_POSTGRES_URL")
	if base == "" {
		b.Log("STATION_TEST_POSTGRES_URL not set: PostgreSQL not measured (.ci/postgres.sh starts a server)")
		return stores
	}
	return append(stores, benchStore{"postgres", func(b *testing.B) hub.Store {
		ctx := context.Background()
		admin, err := pgx.Connect(ctx, base)
		if err != nil {
			b.Fatal(err)
		}
		name := fmt.Sprintf("hubbench_%d_%d", os.Getpid(), pgBenchN.Add(1))
		if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
			b.Fatal(err)
		}
		cfg, err := pgx.ParseConfig(base)
		if err != nil {
			b.Fatal(err)
		}
		// As `station hub --db` opens it: 16 connections.
		s, err := postgres.Open(ctx, fmt.Sprintf("postgres://%s@%s:%d/%s?sslmode=disable", cfg.User, cfg.Host, cfg.Port, name), 16)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() {
			s.Close()
			_, _ = admin.Exec(ctx, "DROP DATABASE "+name+" WITH (FORCE)")
			admin.Close(ctx)
		})
		return s
	}})
}

// ingestStations is how many simulated stations push at once in BenchmarkHubIngest.
const ingestStations = 100

// BenchmarkHubIngest measures the hub ingesting record batches from 100 enrolled stations at once,
// each with its own client certificate and connection, each sending its batches one after another as
// the syncer does. One op is one batch; the batches are encoded before the timer starts. Admission is
// set above the number of stations so that nothing is shed: this is the ingest path alone. It reports
// records/s, batches/s and the p50/p99 latency of a batch as the station sees it.
func BenchmarkHubIngest(b *testing.B) {
	for _, st := range benchStores(b) {
		for _, n := range []int{10, 500} {
			b.Run(fmt.Sprintf("store=%s/records=%d", st.name, n), func(b *testing.B) { benchIngest(b, st, n) })
		}
	}
}

func benchIngest(b *testing.B, st benchStore, perBatch int) {
	ctx := context.Background()
	h := startBenchHub(b, st.open(b), b.TempDir(), 2*ingestStations)
	ids := h.enroll(b, ingestStations)
	clients := make([]*http.Client, len(ids))
	for i, id := range ids {
		clients[i] = stationClient(id)
	}
	base := h.srv.URL()
	// Every station connects (TLS handshake with its certificate) before the clock starts.
	var warm sync.WaitGroup
	for _, c := range clients {
		warm.Go(func() {
			if _, err := hubMetrics(c, base); err != nil {
				b.Error(err)
			}
		})
	}
	warm.Wait()
	// Batch i belongs to station i % 100; each station's batches carry consecutive seqs.
	bodies := make([][]byte, b.N)
	for i := range bodies {
		bodies[i] = batchBody(b, i%ingestStations, i/ingestStations*perBatch+1, perBatch)
	}
	lat := make([][]time.Duration, ingestStations)
	var failed atomic.Value
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for s := range ingestStations {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := s; i < len(bodies); i += ingestStations {
				t0 := time.Now()
				status, _, resp, err := postBatch(ctx, clients[s], base, bodies[i])
				lat[s] = append(lat[s], time.Since(t0))
				want := int64(i/ingestStations*perBatch + perBatch)
				if err != nil || status != http.StatusOK || resp.AckedThrough != want {
					failed.CompareAndSwap(nil, fmt.Sprintf("station %d batch %d: status %d, acked %d (want %d), %v", s, i, status, resp.AckedThrough, want, err))
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if f := failed.Load(); f != nil {
		b.Fatal(f)
	}
	m, err := hubMetrics(clients[0], base)
	if err != nil {
		b.Fatal(err)
	}
	if got, want := m["station_hub_records_ingested_total"], float64(b.N*perBatch); got != want {
		b.Fatalf("hub ingested %.0f records, want %.0f", got, want)
	}
	all := slices.Concat(lat...)
	slices.Sort(all)
	b.ReportMetric(float64(b.N*perBatch)/elapsed.Seconds(), "records/s")
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "batches/s")
	b.ReportMetric(float64(percentile(all, 50).Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(percentile(all, 99).Microseconds())/1000, "p99-ms")
	for _, c := range clients {
		c.CloseIdleConnections()
	}
}

// The admission benchmark runs the hub in a child process of its own, so that its memory is measured
// apart from the thousands of simulated stations.
const (
	hubChildDirEnv       = "STATION_BENCH_HUB_DIR"        // set only in the child: the hub's data directory
	hubChildMaxActiveEnv = "STATION_BENCH_HUB_MAX_ACTIVE" // the child's admission bound
)

// hubChildStats is what the child hub reports when its standard input closes.
type hubChildStats struct {
	MaxHeapInuseMiB float64 `json:"max_heap_inuse_mib"`
	MaxSysMiB       float64 `json:"max_sys_mib"` // memory the Go runtime obtained from the OS
	MaxGoroutines   int     `json:"max_goroutines"`
	NumGC           uint32  `json:"num_gc"`
	VmHWMKiB        int64   `json:"vm_hwm_kib"`
	LiveHeapMiB     float64 `json:"live_heap_mib"` // after a GC at the end, before the stations close their connections
}

// TestBenchHubChild is the hub side of BenchmarkHubAdmission: it serves the hub in the data directory it
// is given (SQLite store, CA, blobs) on 127.0.0.1, prints "LISTEN URL", samples its Go memory every
// 100 ms, and when its standard input closes prints "STATS {json}" and exits (after a GC, and writing a
// heap profile to STATION_BENCH_HUB_HEAP_PROFILE when that is set).
func TestBenchHubChild(t *testing.T) {
	dir := os.Getenv(hubChildDirEnv)
	if dir == "" {
		t.Skip("run only as the child of BenchmarkHubAdmission")
	}
	store, err := hubsqlite.Open(context.Background(), filepath.Join(dir, "hub.db"))
	if err != nil {
		fmt.Println("ERR", err)
		os.Exit(2)
	}
	h := startBenchHub(t, store, dir, envInt(t, hubChildMaxActiveEnv, 0))
	fmt.Println("LISTEN", h.srv.URL())
	var mu sync.Mutex
	var st hubChildStats
	go func() {
		var ms runtime.MemStats
		for range time.Tick(100 * time.Millisecond) {
			runtime.ReadMemStats(&ms)
			g := runtime.NumGoroutine()
			mu.Lock()
			st.MaxHeapInuseMiB = max(st.MaxHeapInuseMiB, float64(ms.HeapInuse)/(1<<20))
			st.MaxSysMiB = max(st.MaxSysMiB, float64(ms.Sys)/(1<<20))
			st.MaxGoroutines = max(st.MaxGoroutines, g)
			st.NumGC = ms.NumGC
			mu.Unlock()
		}
	}()
	_, _ = io.Copy(io.Discard, os.Stdin)
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	if path := os.Getenv("STATION_BENCH_HUB_HEAP_PROFILE"); path != "" {
		if f, err := os.Create(path); err == nil {
			_ = pprof.Lookup("heap").WriteTo(f, 0)
			f.Close()
		}
	}
	mu.Lock()
	st.VmHWMKiB = procStatusKiB(strconv.Itoa(os.Getpid()), "VmHWM")
	st.LiveHeapMiB = float64(ms.HeapAlloc) / (1 << 20)
	out, _ := json.Marshal(st)
	mu.Unlock()
	fmt.Println("STATS " + string(out))
	os.Exit(0)
}

// procStatusKiB returns a "kB" field of /proc/PID/status, or -1.
func procStatusKiB(pid, field string) int64 {
	raw, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		return -1
	}
	for line := range strings.Lines(string(raw)) {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				return -1
			}
			return n
		}
	}
	return -1
}

// openFiles counts the open file descriptors of a process (sockets included), or -1.
func openFiles(pid int) int {
	ents, err := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/fd")
	if err != nil {
		return -1
	}
	return len(ents)
}

// admissionResult is one storm's figures.
type admissionResult struct {
	conns, first200, busy, connErrors int
	allIn, p50, p99                   time.Duration
	maxAttempts                       int
	peakRSSMiB, heldRSSMiB            float64
	peakFiles, heldFiles              int
	maxActive                         float64
	maxMetricsLatency                 time.Duration
	child                             hubChildStats
}

// BenchmarkHubAdmission measures admission control under a reconnection storm: STATION_BENCH_CONNS
// (default 10,000, capped by the file-descriptor limit) simulated stations open a connection each to
// one hub process (SQLite store, admission bound STATION_BENCH_MAX_ACTIVE, default 64, Retry-After
// default 5 s) at the same instant and send a batch of 5 records. A station refused with 503 waits
// Retry-After plus a uniform random part of up to as much again and sends again on the same
// connection, as the syncer does (with STATION_BENCH_RETRY_JITTER=0 it waits exactly Retry-After, as the
// syncer did before, to compare); after a connection error it backs off with full jitter. Each keeps its connection open once it is through. The
// stations use STATION_BENCH_STATIONS enrolled certificates round-robin (default: one each); each sends
// records of its own. It checks that every station got through and the hub holds every record, and
// reports how long that took, how many requests were shed, the hub's peak RSS and Go heap, the
// connections it held (its open descriptors beyond those it had before the storm), and how fast
// /metrics answered during the storm.
func BenchmarkHubAdmission(b *testing.B) {
	conns := envInt(b, "STATION_BENCH_CONNS", 10_000)
	stations := envInt(b, "STATION_BENCH_STATIONS", conns)
	maxActive := envInt(b, "STATION_BENCH_MAX_ACTIVE", 64)
	jitter := envInt(b, "STATION_BENCH_RETRY_JITTER", 1) == 1
	// Each connection is a descriptor here and one in the hub's process; Go raises the soft limit to
	// the hard one at start, this makes it explicit.
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		b.Fatal(err)
	}
	lim.Cur = lim.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		b.Fatal(err)
	}
	if limit := int(lim.Cur) - 1000; conns > limit {
		b.Logf("RLIMIT_NOFILE is %d: %d connections instead of %d", lim.Cur, limit, conns)
		conns = limit
	}
	stations = min(stations, conns)
	b.StopTimer() // admissionOnce times the storm alone
	var r admissionResult
	for range b.N {
		r = admissionOnce(b, conns, stations, maxActive, jitter)
		wait := "exactly Retry-After"
		if jitter {
			wait = "Retry-After plus up to as much again"
		}
		b.Logf("%d stations (%d certificates) waiting %s, admission bound %d: %d through at the first try, all through in %v "+
			"(time to success p50 %v, p99 %v; at most %d tries), %d answered 503, %d connection errors; "+
			"peak active syncs %.0f; /metrics answered within %v throughout",
			r.conns, stations, wait, maxActive, r.first200, r.allIn.Round(time.Millisecond), r.p50.Round(time.Millisecond),
			r.p99.Round(time.Millisecond), r.maxAttempts, r.busy, r.connErrors, r.maxActive, r.maxMetricsLatency.Round(time.Millisecond))
		b.Logf("hub process: peak RSS %.1f MiB (VmHWM %.1f MiB); at the end %.1f MiB with %d connections open (peak %d; the hub "+
			"closes a connection idle for 2 min); Go heap in use at most %.1f MiB, live heap %.1f MiB after a GC at the end, "+
			"runtime memory %.1f MiB, %d goroutines at most, %d GCs",
			r.peakRSSMiB, float64(r.child.VmHWMKiB)/1024, r.heldRSSMiB, r.heldFiles, r.peakFiles,
			r.child.MaxHeapInuseMiB, r.child.LiveHeapMiB, r.child.MaxSysMiB, r.child.MaxGoroutines, r.child.NumGC)
	}
	b.ReportMetric(r.allIn.Seconds(), "s-all-through")
	b.ReportMetric(float64(r.busy), "503s")
	b.ReportMetric(r.peakRSSMiB, "MiB-hub-peak-RSS")
	b.ReportMetric(r.child.MaxHeapInuseMiB, "MiB-hub-heap")
	b.ReportMetric(float64(r.peakFiles), "hub-conns-peak")
}

func admissionOnce(b *testing.B, conns, stations, maxActive int, jitter bool) admissionResult {
	ctx := context.Background()
	dir := b.TempDir()
	// Enroll through an in-process hub, then hand the data directory to the hub process.
	store, err := hubsqlite.Open(ctx, filepath.Join(dir, "hub.db"))
	if err != nil {
		b.Fatal(err)
	}
	setup := startBenchHub(b, store, dir, 0)
	t0 := time.Now()
	ids := setup.enroll(b, stations)
	b.Logf("%d stations enrolled in %v", stations, time.Since(t0).Round(time.Millisecond))
	setup.srv.Close()
	store.Close()

	cmd := exec.Command(os.Args[0], "-test.run=^TestBenchHubChild$", "-test.v=false")
	cmd.Env = append(os.Environ(), hubChildDirEnv+"="+dir, hubChildMaxActiveEnv+"="+strconv.Itoa(maxActive))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	lines := bufio.NewScanner(stdout)
	var base string
	for base == "" && lines.Scan() {
		base, _ = strings.CutPrefix(lines.Text(), "LISTEN ")
	}
	if base == "" {
		b.Fatalf("hub process did not start: %v", lines.Err())
	}
	pid := cmd.Process.Pid
	baseFiles := openFiles(pid)

	const perBatch = 5
	bodies := make([][]byte, conns)
	clients := make([]*http.Client, conns)
	for i := range conns {
		bodies[i] = batchBody(b, i, i/stations*perBatch+1, perBatch)
		clients[i] = stationClient(ids[i%stations])
	}
	monitor := stationClient(ids[0])

	var r admissionResult
	r.conns = conns
	var busy, connErrors, first200 atomic.Int64
	took := make([]time.Duration, conns)
	attempts := make([]int, conns)
	var failed atomic.Value
	var wg sync.WaitGroup
	gate := make(chan struct{})
	for i := range conns {
		wg.Go(func() {
			<-gate
			start := time.Now()
			errs := 0
			for {
				attempts[i]++
				status, retryAfter, resp, err := postBatch(ctx, clients[i], base, bodies[i])
				switch {
				case err != nil:
					// As the syncer does without a Retry-After: full jitter, doubling from 1 s.
					connErrors.Add(1)
					errs++
					time.Sleep(rand.N(time.Second << min(errs-1, 8)))
				case status == http.StatusServiceUnavailable && retryAfter > 0:
					busy.Add(1)
					if jitter {
						retryAfter += rand.N(retryAfter)
					}
					time.Sleep(retryAfter)
				case status == http.StatusOK && resp.AckedThrough == int64(i/stations*perBatch+perBatch):
					if attempts[i] == 1 {
						first200.Add(1)
					}
					took[i] = time.Since(start)
					return
				default:
					failed.CompareAndSwap(nil, fmt.Sprintf("station %d: status %d, acked %d, %v", i, status, resp.AckedThrough, err))
					return
				}
			}
		})
	}
	done := make(chan struct{})
	var mon sync.WaitGroup
	mon.Go(func() {
		tick := time.NewTicker(250 * time.Millisecond)
		defer tick.Stop()
		for n := 0; ; n++ {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			r.peakRSSMiB = max(r.peakRSSMiB, float64(procStatusKiB(strconv.Itoa(pid), "VmRSS"))/1024)
			r.peakFiles = max(r.peakFiles, openFiles(pid)-baseFiles)
			if n%4 == 0 {
				t := time.Now()
				m, err := hubMetrics(monitor, base)
				if err != nil {
					failed.CompareAndSwap(nil, fmt.Sprintf("hub /metrics during the storm: %v", err))
					continue
				}
				r.maxMetricsLatency = max(r.maxMetricsLatency, time.Since(t))
				r.maxActive = max(r.maxActive, m["station_hub_active_syncs"])
			}
		}
	})

	b.StartTimer()
	start := time.Now()
	close(gate)
	wg.Wait()
	r.allIn = time.Since(start)
	b.StopTimer()
	close(done)
	mon.Wait()
	if f := failed.Load(); f != nil {
		b.Fatal(f)
	}
	// Every station is through; each keeps its connection open until the hub closes it as idle.
	r.heldRSSMiB = float64(procStatusKiB(strconv.Itoa(pid), "VmRSS")) / 1024
	r.heldFiles = openFiles(pid) - baseFiles
	r.peakRSSMiB = max(r.peakRSSMiB, r.heldRSSMiB)
	r.peakFiles = max(r.peakFiles, r.heldFiles)
	m, err := hubMetrics(monitor, base)
	if err != nil {
		b.Fatal(err)
	}
	if got, want := m["station_hub_records_ingested_total"], float64(conns*perBatch); got != want {
		b.Fatalf("hub ingested %.0f records, want %.0f", got, want)
	}
	r.busy, r.connErrors, r.first200 = int(busy.Load()), int(connErrors.Load()), int(first200.Load())
	if int(m["station_hub_busy_total"]) != r.busy {
		b.Errorf("hub counted %.0f 503s, the stations %d", m["station_hub_busy_total"], r.busy)
	}
	slices.Sort(took)
	r.p50, r.p99 = percentile(took, 50), percentile(took, 99)
	r.maxAttempts = slices.Max(attempts)

	stdin.Close() // while the connections are still open
	for lines.Scan() {
		if js, ok := strings.CutPrefix(lines.Text(), "STATS "); ok {
			if err := json.Unmarshal([]byte(js), &r.child); err != nil {
				b.Fatal(err)
			}
		}
	}
	for _, c := range clients {
		c.CloseIdleConnections()
	}
	return r
}
