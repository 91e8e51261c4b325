package main

import (
	"bytes"
	"context"
	"image/jpeg"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/civic-station/station/devices/sim/ippsim"
)

// lockedBuffer is a bytes.Buffer that a command writes to while the test reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

var simURI = regexp.MustCompile(`ipp://\S+`)

// simulation is `station simulate ipp` running in the test.
type simulation struct {
	uri            string
	cancel         context.CancelFunc
	exit           chan int
	stdout, stderr lockedBuffer
}

// startSimulateIPP runs simulateIPP with args until the test ends and waits for its URI.
func startSimulateIPP(t *testing.T, args ...string) *simulation {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	t.Cleanup(cancel)
	s := &simulation{cancel: cancel, exit: make(chan int, 1)}
	go func() {
		s.exit <- simulateIPP(ctx, append([]string{"--listen", "127.0.0.1:0", "--delay", "20ms"}, args...), &s.stdout, &s.stderr)
	}()
	for s.uri == "" {
		select {
		case code := <-s.exit:
			t.Fatalf("simulateIPP exited with %d: %s", code, s.stderr.String())
		case <-time.After(5 * time.Millisecond):
		}
		s.uri = simURI.FindString(s.stdout.String())
	}
	return s
}

func TestSimulateIPPPrintsTheTestPageIntoTheOutputDirectory(t *testing.T) {
	out := filepath.Join(t.TempDir(), "printed")
	sim := startSimulateIPP(t, "--out", out)

	var stdout, stderr bytes.Buffer
	if code := devicesTestPage(t.Context(), sim.uri, &stdout, &stderr); code != 0 {
		t.Fatalf("devicesTestPage = %d; stdout %q stderr %q", code, stdout.String(), stderr.String())
	}
	if !strings.Contains(stdout.String(), "测试页已打印完成") || !strings.Contains(stdout.String(), "就绪") {
		t.Errorf("stdout = %q, want the ready state and the completion message", stdout.String())
	}
	pdf, err := os.ReadFile(filepath.Join(out, "job-1.pdf"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(pdf, []byte("%PDF-")) || !bytes.Contains(pdf, []byte("(Station test page) Tj")) {
		t.Errorf("job-1.pdf is not the test page: %.80q", pdf)
	}

	sim.cancel()
	if code := <-sim.exit; code != 0 {
		t.Fatalf("simulateIPP = %d after ctx ended; stderr %q", code, sim.stderr.String())
	}
	if !strings.Contains(sim.stdout.String(), "共收到 1 份文件") {
		t.Errorf("simulator stdout = %q, want the count of documents", sim.stdout.String())
	}
}

func TestDevicesTestPageRasterizesForAPrinterThatTakesOnlyJPEG(t *testing.T) {
	out := t.TempDir()
	sim := startSimulateIPP(t, "--out", out, "--formats", "image/jpeg")
	var stdout, stderr bytes.Buffer
	if code := devicesTestPage(t.Context(), sim.uri, &stdout, &stderr); code != 0 {
		t.Fatalf("devicesTestPage = %d; stdout %q stderr %q", code, stdout.String(), stderr.String())
	}
	f, err := os.Open(filepath.Join(out, "job-1.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cfg, err := jpeg.DecodeConfig(f)
	if err != nil {
		t.Fatalf("job-1.jpg: %v", err)
	}
	if cfg.Width < 2478 || cfg.Width > 2482 || cfg.Height < 3506 || cfg.Height > 3510 {
		t.Errorf("job-1.jpg is %d×%d, want A4 at 300 dpi, about 2480×3508", cfg.Width, cfg.Height)
	}
}

func TestDevicesTestPageReportsFailures(t *testing.T) {
	tests := []struct {
		name    string
		printer func(t *testing.T) string // returns the URI to print to
		code    int
		stderr  string
	}{
		{"a printer out of paper is reported and exits 1", func(t *testing.T) string {
			sim := ippsim.New(ippsim.Config{})
			sim.SetMediaEmpty(true)
			return listen(t, sim, true)
		}, 1, "缺纸"},
		{"a printer that does not answer is reported and exits 1", func(t *testing.T) string {
			return listen(t, ippsim.New(ippsim.Config{}), false)
		}, 1, "无法连接打印机"},
		{"a jam during the job is reported as not printed and exits 1", func(t *testing.T) string {
			sim := ippsim.New(ippsim.Config{})
			sim.JamNextJob()
			return listen(t, sim, true)
		}, 1, "未确认打印完成"},
		{"an address that is not IPP exits 2", func(t *testing.T) string {
			return "socket://127.0.0.1:9100"
		}, 2, "打印机地址无效"},
		{"an empty address exits 2", func(t *testing.T) string { return "" }, 2, "请指定打印机地址"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := devicesTestPage(t.Context(), tt.printer(t), &stdout, &stderr)
			if code != tt.code || !strings.Contains(stderr.String(), tt.stderr) {
				t.Fatalf("devicesTestPage = %d, stderr %q; want %d and %q", code, stderr.String(), tt.code, tt.stderr)
			}
		})
	}
}

// listen serves sim on a free port and returns its URI; when keep is false the port is closed again
// at once, so it refuses connections.
func listen(t *testing.T, sim *ippsim.Printer, keep bool) string {
	t.Helper()
	srv, err := sim.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if !keep {
		srv.Close()
		return srv.URI()
	}
	t.Cleanup(func() { srv.Close() })
	return srv.URI()
}

func TestSimulateIPPRejectsBadArguments(t *testing.T) {
	tests := []struct {
		name string
		args []string
	}{
		{"an unknown flag is a usage error", []string{"--bogus"}},
		{"a stray argument is a usage error", []string{"extra"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := simulateIPP(t.Context(), tt.args, &stdout, &stderr); code != 2 {
				t.Fatalf("simulateIPP(%q) = %d, want 2", tt.args, code)
			}
		})
	}
}
