package syncer_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
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
)

// The catch-up benchmark's knobs, read from the environment so that `make bench-sync` and a quick run
// use the same code.
const (
	benchChildDirEnv = "STATION_BENCH_CHILD_DIR" // set only in the child: the station's data directory
	benchChildHubEnv = "STATION_BENCH_CHILD_HUB" // set only in the child: the hub URL (the proxy)
	benchBlobSize    = 2_000_000                 // bytes of random content per attachment
)

// envInt reads a positive integer knob from the environment, or returns def.
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

// catchUpResult is what the child syncer reports on its last line of output.
type catchUpResult struct {
	Elapsed      time.Duration `json:"elapsed"`
	Rounds       int           `json:"rounds"`
	BytesSent    int64         `json:"bytes_sent"` // compressed record batches and blob chunks, as the syncer counts them
	RecordsAcked int64         `json:"records_acked"`
	VmHWMKiB     int64         `json:"vm_hwm_kib"` // peak resident set, from /proc/self/status
	HeapSysMiB   float64       `json:"heap_sys_mib"`
	NumGC        uint32        `json:"num_gc"`
	Err          string        `json:"err,omitempty"`
}

// TestBenchCatchUpChild is the station side of BenchmarkCatchUpSlowLink: a process of its own, so that
// its peak RSS is the station's alone. It syncs the data directory it is given with the default
// syncer configuration (STATION_BENCH_CHUNK_KIB may change the chunk size) until the outbox is empty,
// then prints a catchUpResult.
func TestBenchCatchUpChild(t *testing.T) {
	dir := os.Getenv(benchChildDirEnv)
	if dir == "" {
		t.Skip("run only as the child of BenchmarkCatchUpSlowLink")
	}
	res := runCatchUpChild(dir, os.Getenv(benchChildHubEnv))
	b, _ := json.Marshal(res)
	fmt.Println("RESULT " + string(b))
	os.Exit(0)
}

func runCatchUpChild(dir, hubURL string) catchUpResult {
	ctx := context.Background()
	fail := func(err error) catchUpResult { return catchUpResult{Err: err.Error()} }
	db, err := sqlite.Open(ctx, filepath.Join(dir, "station.db"))
	if err != nil {
		return fail(err)
	}
	defer db.Close()
	blobs, err := blob.Open(dir, blob.Options{})
	if err != nil {
		return fail(err)
	}
	id, err := syncer.LoadIdentity(dir)
	if err != nil {
		return fail(err)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	cfg := syncer.Config{Store: db, Blobs: blobs, Identity: id, HubURL: hubURL, Version: "bench", Logger: logger}
	if kib, err := strconv.Atoi(os.Getenv("STATION_BENCH_CHUNK_KIB")); err == nil && kib > 0 {
		cfg.ChunkSize = kib << 10
	}
	sy, err := syncer.New(cfg)
	if err != nil {
		return fail(err)
	}
	defer sy.Close()
	var res catchUpResult
	start := time.Now()
	for {
		res.Rounds++
		err := sy.SyncOnce(ctx)
		st, serr := sy.Status(ctx)
		if serr != nil {
			return fail(serr)
		}
		if err == nil && st.Pending == 0 {
			res.Elapsed = time.Since(start)
			res.BytesSent, res.RecordsAcked = st.BytesSent, st.RecordsAcked
			break
		}
		if res.Rounds > 20 {
			return fail(fmt.Errorf("outbox not drained after %d rounds (pending %d): %v", res.Rounds, st.Pending, err))
		}
		logger.Warn("round did not drain the outbox", "pending", st.Pending, "err", err)
		time.Sleep(time.Second)
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	res.HeapSysMiB, res.NumGC = float64(ms.HeapSys)/(1<<20), ms.NumGC
	res.VmHWMKiB = procStatusKiB("self", "VmHWM")
	return res
}

// procStatusKiB returns a "kB" field of /proc/PID/status (pid "self" for this process), or -1.
func procStatusKiB(pid, field string) int64 {
	f, err := os.Open("/proc/" + pid + "/status")
	if err != nil {
		return -1
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				return -1
			}
			return n
		}
	}
	return -1
}

// countingListener counts the raw bytes (TLS records, HTTP framing and all) that cross its connections.
type countingListener struct {
	net.Listener
	in, out *atomic.Int64
}

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &countingConn{Conn: c, in: l.in, out: l.out}, nil
}

type countingConn struct {
	net.Conn
	in, out *atomic.Int64
}

func (c *countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.in.Add(int64(n))
	return n, err
}

func (c *countingConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.out.Add(int64(n))
	return n, err
}

// serveCounted serves the hub's handler with its TLS configuration on 127.0.0.1, counting the bytes
// that arrive (station → hub) and leave (hub → station) below TLS. It returns the address and the
// protocol of the first request (HTTP/1.1 or HTTP/2.0) as seen by the hub.
func serveCounted(tb testing.TB, h *testHub, in, out *atomic.Int64, proto *atomic.Value) string {
	tb.Helper()
	tlsCfg, err := h.TLSConfig()
	if err != nil {
		tb.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	handler := h.Handler()
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		proto.CompareAndSwap(nil, r.Proto)
		handler.ServeHTTP(w, r)
	}), TLSConfig: tlsCfg, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(slog.DiscardHandler, slog.LevelDebug)}
	go func() { _ = srv.Serve(tls.NewListener(countingListener{Listener: ln, in: in, out: out}, tlsCfg)) }()
	tb.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// BenchmarkCatchUpSlowLink measures a station catching up after a week offline: 10,000 outbox records
// and 500 MB of attachments (250 blobs of 2 MB of random bytes, each referenced by one application)
// sent through a toxiproxy bandwidth limit of 10 Mbit/s in each direction to a real hub on 127.0.0.1.
// The station's syncer runs with its default configuration in a child process; one op is one whole
// catch-up. It reports the catch-up time, the ratio of that time to the physical minimum (the bytes
// that crossed the link towards the hub ÷ the bandwidth), the same for the payload alone, and the
// child's peak RSS.
//
// Knobs: STATION_BENCH_MB (attachment megabytes, default 500; 50 under -short), STATION_BENCH_RECORDS
// (default 10000), STATION_BENCH_KBPS (toxiproxy KB/s, default 1250 = 10 Mbit/s) and
// STATION_BENCH_LATENCY_MS (one-way latency added in each direction, default 0); STATION_BENCH_CHUNK_KIB
// sets the syncer's blob chunk size (default: the syncer's own, 256 KiB).
func BenchmarkCatchUpSlowLink(b *testing.B) {
	mb := envInt(b, "STATION_BENCH_MB", 500)
	if testing.Short() && os.Getenv("STATION_BENCH_MB") == "" {
		mb = 50
	}
	records := envInt(b, "STATION_BENCH_RECORDS", 10_000)
	kbps := envInt(b, "STATION_BENCH_KBPS", 1250)
	latency := envInt(b, "STATION_BENCH_LATENCY_MS", 0)
	blobs := mb * 1_000_000 / benchBlobSize
	if records < blobs || kbps == 0 {
		b.Fatalf("need at least as many records (%d) as blobs (%d) and a bandwidth", records, blobs)
	}
	rate := float64(kbps) * 1000 // bytes per second
	b.Logf("catch-up: %d records, %d blobs of %d bytes, %d KB/s (%.1f Mbit/s), %d ms latency each way",
		records, blobs, benchBlobSize, kbps, rate*8/1e6, latency)
	var sumTime, sumRatio, sumPayloadRatio, maxRSS float64
	b.StopTimer() // only the child's run is timed: catchUpOnce starts and stops the timer around it
	for range b.N {
		res, wire, payload, rss := catchUpOnce(b, records, blobs, kbps, latency)
		secs := res.Elapsed.Seconds()
		ratio, payloadRatio := secs/(float64(wire)/rate), secs/(float64(payload)/rate)
		b.Logf("catch-up %.1f s; %d bytes station→hub on the wire (ideal %.1f s, ratio %.3f); payload %d bytes (floor %.1f s, ratio %.3f); "+
			"syncer counted %d bytes sent; %d rounds; child peak RSS (VmHWM) %.1f MiB, Go heap %.1f MiB, %d GCs",
			secs, wire, float64(wire)/rate, ratio, payload, float64(payload)/rate, payloadRatio,
			res.BytesSent, res.Rounds, rss, res.HeapSysMiB, res.NumGC)
		sumTime += secs
		sumRatio += ratio
		sumPayloadRatio += payloadRatio
		maxRSS = max(maxRSS, rss)
	}
	n := float64(b.N)
	b.ReportMetric(sumTime/n, "s/catchup")
	b.ReportMetric(sumRatio/n, "wire-ratio")
	b.ReportMetric(sumPayloadRatio/n, "payload-ratio")
	b.ReportMetric(maxRSS, "MiB-peak-RSS")
}

// catchUpOnce builds a station with the outbox and attachments, runs the child syncer through the
// limited proxy and checks that the hub holds everything. It returns the child's report, the bytes that
// crossed the proxy towards the hub, the payload bytes (attachments plus the gzip record batches, as the
// syncer counts them) and the child's peak RSS (VmHWM) in MiB.
func catchUpOnce(b *testing.B, records, blobs, kbps, latency int) (catchUpResult, int64, int64, float64) {
	ctx := context.Background()
	h := startHub(b, newClock(), nil)
	var in, out atomic.Int64
	var proto atomic.Value
	upstream := serveCounted(b, h, &in, &out, &proto)

	s := newStation(b, h, "幸福里服务站")
	every := records / blobs
	shas := make([]string, 0, blobs)
	madeStart := time.Now()
	for i := range records {
		sha := ""
		if i%every == 0 && len(shas) < blobs {
			sha = s.putBlob(benchBlobSize)
			shas = append(shas, sha)
		}
		s.intake(sha)
	}
	before := s.stats()
	b.Logf("station ready in %v: outbox %d pending, %d blobs", time.Since(madeStart).Round(time.Millisecond), before.Pending, len(shas))
	// Enrollment went to the hub directly; from here on only the catch-up crosses the proxy.
	in.Store(0)
	out.Store(0)

	zerolog.SetGlobalLevel(zerolog.Disabled) // the toxics log through zerolog's global logger
	tp := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(prometheus.NewRegistry()), zerolog.Nop())
	proxy := toxiproxy.NewProxy(tp, "hub", "127.0.0.1:0", upstream)
	if err := proxy.Start(); err != nil {
		b.Fatal(err)
	}
	defer proxy.Stop()
	for _, stream := range []string{"upstream", "downstream"} {
		js := fmt.Sprintf(`{"name":"bw_%s","type":"bandwidth","stream":%q,"attributes":{"rate":%d}}`, stream, stream, kbps)
		if _, err := proxy.Toxics.AddToxicJson(strings.NewReader(js)); err != nil {
			b.Fatal(err)
		}
		if latency > 0 {
			js := fmt.Sprintf(`{"name":"lat_%s","type":"latency","stream":%q,"attributes":{"latency":%d}}`, stream, stream, latency)
			if _, err := proxy.Toxics.AddToxicJson(strings.NewReader(js)); err != nil {
				b.Fatal(err)
			}
		}
	}

	cmd := exec.Command(os.Args[0], "-test.run=^TestBenchCatchUpChild$", "-test.v=false")
	cmd.Env = append(os.Environ(), benchChildDirEnv+"="+s.dir, benchChildHubEnv+"=https://"+proxy.Listen)
	cmd.Stderr = os.Stderr
	b.StartTimer()
	outText, err := cmd.Output()
	b.StopTimer()
	if err != nil {
		b.Fatalf("child syncer: %v\n%s", err, outText)
	}
	var res catchUpResult
	for _, line := range strings.Split(string(outText), "\n") {
		if js, ok := strings.CutPrefix(line, "RESULT "); ok {
			if err := json.Unmarshal([]byte(js), &res); err != nil {
				b.Fatalf("child result %q: %v", js, err)
			}
		}
	}
	if res.Err != "" || res.Elapsed == 0 {
		b.Fatalf("child syncer failed: %q\n%s", res.Err, outText)
	}
	// The child's own VmHWM is the figure. getrusage's ru_maxrss for the child is not: Go starts it
	// with vfork (CLONE_VM), and Linux folds the high-water mark of the mm it leaves at exec, the
	// parent's, into the child's maxrss; it is logged for comparison only.
	rss := float64(res.VmHWMKiB) / 1024
	b.Logf("child ru_maxrss %.1f MiB (includes this process's RSS at the fork)", float64(cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss)/1024)

	// The hub holds every record once and every blob whole.
	after := s.stats()
	if after.Pending != 0 || after.DeadLetters != 0 || after.Acked != before.Pending {
		b.Fatalf("station outbox after the catch-up = %+v, want all %d acknowledged", after, before.Pending)
	}
	held, err := h.store.Records(ctx, hub.RecordFilter{StationID: s.id.StationID})
	if err != nil {
		b.Fatal(err)
	}
	if len(held) != before.Pending {
		b.Fatalf("hub holds %d records, want %d", len(held), before.Pending)
	}
	for _, sha := range shas {
		if !h.blobs.Has(sha) {
			b.Fatalf("hub lacks blob %s", sha)
		}
	}
	b.Logf("hub saw %v; %d bytes station→hub, %d bytes hub→station through the proxy", proto.Load(), in.Load(), out.Load())
	return res, in.Load(), res.BytesSent, rss
}
