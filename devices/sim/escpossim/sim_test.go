package escpossim_test

import (
	"bytes"
	"context"
	"image/png"
	"io"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/civic-station/station/devices/sim/escpossim"
)

// gb is "中文" in GB18030.
var gb = []byte{0xD6, 0xD0, 0xCE, 0xC4}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func TestDecodeReadsEveryCommand(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		text string
		jobs int
	}{
		{"GB18030 text in Chinese mode prints as Chinese", cat([]byte{0x1B, 0x40, 0x1C, 0x26}, gb, []byte{0x0A, 0x1D, 0x56, 0x42, 0x00}), "中文\n", 1},
		{"bold, double size and alignment do not change the text", cat([]byte{0x1C, 0x26, 0x1B, 0x45, 0x01, 0x1D, 0x21, 0x11, 0x1B, 0x61, 0x01}, gb, []byte{0x1B, 0x45, 0x00, 'A', 0x0A, 0x1D, 0x56, 0x01}), "中文A\n", 1},
		{"a feed of two lines gives two blank lines", []byte{'a', 0x0A, 0x1B, 0x64, 0x02, 'b', 0x0A, 0x1D, 0x56, 0x00}, "a\n\n\nb\n", 1},
		{"a QR code reads as its data", []byte{
			0x1D, 0x28, 0x6B, 0x04, 0x00, 0x31, 0x41, 0x32, 0x00,
			0x1D, 0x28, 0x6B, 0x03, 0x00, 0x31, 0x43, 0x06,
			0x1D, 0x28, 0x6B, 0x03, 0x00, 0x31, 0x45, 0x31,
			0x1D, 0x28, 0x6B, 0x05, 0x00, 0x31, 0x50, 0x30, 'h', 'i',
			0x1D, 0x28, 0x6B, 0x03, 0x00, 0x31, 0x51, 0x30,
			0x1D, 0x56, 0x42, 0x10}, "[二维码] hi\n", 1},
		{"a raster image reads as an image", []byte{0x1D, 0x76, 0x30, 0x00, 0x01, 0x00, 0x02, 0x00, 0xFF, 0x81, 0x1D, 0x56, 0x42, 0x00}, "[图像]\n", 1},
		{"status requests in the stream print nothing", []byte{0x10, 0x04, 0x01, 0x10, 0x04, 0x04, 'x', 0x0A, 0x1D, 0x56, 0x42, 0x00}, "x\n", 1},
		{"two cuts make two jobs", []byte{'a', 0x0A, 0x1D, 0x56, 0x42, 0x00, 'b', 0x0A, 0x1D, 0x56, 0x42, 0x00}, "b\n", 2},
		{"text without a cut is still printed at the end", []byte{'a', 0x0A, 'b'}, "a\nb\n", 1},
		{"unknown and skipped commands do not leak into the text", []byte{0x1B, 0x2D, 0x01, 0x1B, 0x74, 0x0F, 0x1C, 0x21, 0x00, 0x1D, 0x42, 0x01, 'o', 'k', 0x0A}, "ok\n", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			jobs, err := escpossim.Decode(tt.in, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(jobs) != tt.jobs {
				t.Fatalf("%d jobs, want %d", len(jobs), tt.jobs)
			}
			if got := jobs[len(jobs)-1].Text(); got != tt.text {
				t.Errorf("text %q, want %q", got, tt.text)
			}
		})
	}
}

func TestDecodeKeepsStylesAndImages(t *testing.T) {
	in := cat([]byte{0x1C, 0x26, 0x1B, 0x61, 0x02, 0x1D, 0x21, 0x11, 0x1B, 0x45, 0x01}, gb, []byte{0x0A,
		0x1D, 0x76, 0x30, 0x00, 0x01, 0x00, 0x01, 0x00, 0x80, 0x1D, 0x56, 0x42, 0x00})
	jobs, err := escpossim.Decode(in, nil)
	if err != nil || len(jobs) != 1 {
		t.Fatalf("Decode = %d jobs, %v", len(jobs), err)
	}
	b := jobs[0].Blocks
	if len(b) != 2 || b[0].Align != 2 || len(b[0].Spans) != 1 || b[0].Spans[0] != (escpossim.Span{Text: "中文", Bold: true, W: 2, H: 2}) {
		t.Fatalf("text block = %+v, want right-aligned bold double 中文", b)
	}
	if r := b[1].Raster; r == nil || r.Width != 8 || r.Height != 1 || !r.At(0, 0) || r.At(1, 0) {
		t.Errorf("raster = %+v, want 8×1 with the first dot black", r)
	}
}

// serve runs sim on a real TCP socket until the test ends.
func serve(t *testing.T, sim *escpossim.Sim) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := sim.Serve(ctx, ln); err != nil {
			t.Errorf("Serve: %v", err)
		}
	}()
	t.Cleanup(func() { cancel(); wg.Wait() })
	return ln.Addr().String()
}

func TestTheSimulatorAnswersStatusWithThePrintersBytes(t *testing.T) {
	tests := []struct {
		name    string
		arrange func(*escpossim.Sim)
		want    []byte
	}{
		{"a printer with paper answers the fixed bits", func(*escpossim.Sim) {}, []byte{0x12, 0x12, 0x12, 0x12}},
		{"a printer out of paper is offline, stopped by paper end, and its sensor says end", func(s *escpossim.Sim) { s.SetPaper(false) }, []byte{0x1A, 0x32, 0x12, 0x7E}},
		{"a printer near the end of its roll says near end", func(s *escpossim.Sim) { s.SetPaperNearEnd(true) }, []byte{0x12, 0x12, 0x12, 0x1E}},
		{"a printer with its cover open is offline with the cover bit", func(s *escpossim.Sim) { s.SetCoverOpen(true) }, []byte{0x1A, 0x16, 0x12, 0x12}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim, err := escpossim.New(escpossim.Config{FontPaths: []string{}})
			if err != nil {
				t.Fatal(err)
			}
			tt.arrange(sim)
			c, err := net.Dial("tcp", serve(t, sim))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(5 * time.Second))
			if _, err := c.Write([]byte{0x10, 0x04, 1, 0x10, 0x04, 2, 0x10, 0x04, 3, 0x10, 0x04, 4}); err != nil {
				t.Fatal(err)
			}
			got := make([]byte, 4)
			if _, err := io.ReadFull(c, got); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tt.want) {
				t.Errorf("replies % x, want % x", got, tt.want)
			}
		})
	}
}

func TestAJobWithoutPaperIsNotPrinted(t *testing.T) {
	sim, err := escpossim.New(escpossim.Config{Keep: 2, FontPaths: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	addr := serve(t, sim)
	send := func(b []byte) {
		t.Helper()
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		// A status query after the job returns once the job before it was read.
		if _, err := c.Write(append(b, 0x10, 0x04, 0x01)); err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.ReadFull(c, make([]byte, 1)); err != nil {
			t.Fatal(err)
		}
	}
	job := []byte{'j', 0x0A, 0x1D, 0x56, 0x42, 0x00}
	sim.SetPaper(false)
	send(job)
	sim.SetPaper(true)
	send(job)
	send(job)
	send(job)
	if printed, dropped := sim.Counts(); printed != 3 || dropped != 1 {
		t.Errorf("printed %d, dropped %d; want 3 and 1", printed, dropped)
	}
	if jobs := sim.Jobs(); len(jobs) != 2 || jobs[0].Seq != 2 || jobs[1].Seq != 3 {
		t.Errorf("kept %d jobs, want the last 2 (seq 2, 3)", len(jobs))
	}
}

func TestAJobRendersAsAPNGThePapersWidth(t *testing.T) {
	path := "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf"
	if _, err := os.Stat(path); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("font missing under CI: %v", err)
		}
		t.Skipf("font missing (apt-get install -y fonts-droid-fallback): %v", err)
	}
	for _, width := range []int{384, 576} {
		r, err := escpossim.NewRenderer(width, path)
		if err != nil {
			t.Fatal(err)
		}
		in := cat([]byte{0x1C, 0x26, 0x1D, 0x21, 0x11}, gb, []byte{0x0A, 0x1D, 0x21, 0x00,
			0x1D, 0x28, 0x6B, 0x04, 0x00, 0x31, 0x50, 0x30, 'q',
			0x1D, 0x28, 0x6B, 0x03, 0x00, 0x31, 0x51, 0x30, 0x1D, 0x56, 0x42, 0x00})
		jobs, err := escpossim.Decode(in, r)
		if err != nil {
			t.Fatal(err)
		}
		b, err := jobs[0].PNG()
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		if img.Bounds().Dx() != width {
			t.Errorf("image %d dots wide, want %d", img.Bounds().Dx(), width)
		}
		dark := 0
		for y := img.Bounds().Min.Y; y < img.Bounds().Max.Y; y++ {
			for x := 0; x < width; x++ {
				if r, _, _, _ := img.At(x, y).RGBA(); r < 0x8000 {
					dark++
				}
			}
		}
		if dark < 500 {
			t.Errorf("%d dark dots: text and QR code were not drawn", dark)
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte{0x1B, 0x40, 0x1C, 0x26, 0xD6, 0xD0, 0x0A, 0x1D, 0x56, 0x42, 0x00})
	f.Add([]byte{0x1D, 0x76, 0x30, 0x00, 0x01, 0x00, 0x02, 0x00, 0xFF, 0x81})
	f.Add([]byte{0x1D, 0x28, 0x6B, 0x05, 0x00, 0x31, 0x50, 0x30, 'h', 'i', 0x1D, 0x28, 0x6B, 0x03, 0x00, 0x31, 0x51, 0x30})
	f.Add([]byte{0x10, 0x04, 0x04, 0x1D, 0x72, 0x01, 0x1B, 0x21, 0x38})
	f.Fuzz(func(t *testing.T, data []byte) {
		jobs, _ := escpossim.Decode(data, nil)
		for _, j := range jobs {
			_ = j.Text()
			if _, err := j.PNG(); err != nil {
				t.Fatal(err)
			}
		}
	})
}
