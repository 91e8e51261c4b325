package uvc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/civic-station/station/devices"
)

// scripted is a V4L2 device played by the test: it offers formats, produces frames of the size set,
// and can be unplugged or go silent. It stands in for the hardware only; everything above the device
// interface is the real driver.
type scripted struct {
	mu        sync.Mutex
	formats   []Format
	unplugged bool
	silent    bool
	torn      int // the next n frames are garbage
	opens     int
	closes    int
	modes     []Mode // every mode set, in order
	cur       Mode
	started   bool
	frames    map[Mode]int // frames read per mode
	stripDHT  bool         // MJPEG frames come without Huffman tables, as many cameras send them
}

func (s *scripted) open(path string) (device, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.unplugged {
		return nil, fmt.Errorf("open camera %s: %w", path, notConnected(syscall.ENOENT))
	}
	s.opens++
	s.started = false
	return &scriptedHandle{s: s}, nil
}

type scriptedHandle struct {
	s      *scripted
	closed bool
}

func (h *scriptedHandle) Name() string { return "Scripted Document Camera" }

func (h *scriptedHandle) Formats() ([]Format, error) {
	h.s.mu.Lock()
	defer h.s.mu.Unlock()
	return h.s.formats, nil
}

func (h *scriptedHandle) SetMode(m Mode) (Mode, error) {
	h.s.mu.Lock()
	defer h.s.mu.Unlock()
	if h.s.started {
		return Mode{}, syscall.EBUSY
	}
	h.s.cur = m
	h.s.modes = append(h.s.modes, m)
	return m, nil
}

func (h *scriptedHandle) Start() error {
	h.s.mu.Lock()
	defer h.s.mu.Unlock()
	h.s.started = true
	return nil
}

func (h *scriptedHandle) Frame(timeout time.Duration) ([]byte, error) {
	h.s.mu.Lock()
	s := h.s
	if s.unplugged {
		s.mu.Unlock()
		return nil, notConnected(syscall.ENODEV)
	}
	if s.silent {
		s.mu.Unlock()
		time.Sleep(timeout)
		return nil, devices.ErrTimeout
	}
	if s.frames == nil {
		s.frames = map[Mode]int{}
	}
	s.frames[s.cur]++
	m, torn, strip := s.cur, s.torn > 0, s.stripDHT
	if torn {
		s.torn--
	}
	s.mu.Unlock()
	if torn {
		return []byte{0xFF, 0xD8, 0x00}, nil
	}
	return renderFrame(m, strip), nil
}

func (h *scriptedHandle) Close() error {
	h.s.mu.Lock()
	defer h.s.mu.Unlock()
	if !h.closed {
		h.closed = true
		h.s.closes++
	}
	return nil
}

// renderFrame makes a frame in mode m: a gradient, as MJPEG (optionally without Huffman tables) or as
// packed YUYV.
func renderFrame(m Mode, stripHuffman bool) []byte {
	if m.FourCC == FormatYUYV {
		buf := make([]byte, m.Width*m.Height*2)
		for i := 0; i < len(buf); i += 4 {
			buf[i], buf[i+1], buf[i+2], buf[i+3] = byte(16+i%200), 128, byte(16+i%200), 128
		}
		return buf
	}
	img := image.NewGray(image.Rect(0, 0, m.Width, m.Height))
	for y := 0; y < m.Height; y++ {
		for x := 0; x < m.Width; x++ {
			img.SetGray(x, y, color.Gray{uint8(x + y)})
		}
	}
	var b bytes.Buffer
	jpeg.Encode(&b, img, &jpeg.Options{Quality: 50})
	data := b.Bytes()
	if !stripHuffman {
		return data
	}
	out := append([]byte{}, data[:2]...)
	for i := 2; i+4 <= len(data); {
		n := int(data[i+2])<<8 | int(data[i+3])
		if data[i+1] == 0xDA {
			return append(out, data[i:]...)
		}
		if data[i+1] != 0xC4 {
			out = append(out, data[i:i+2+n]...)
		}
		i += 2 + n
	}
	return data
}

// smallCam is docCam scaled down so frames are cheap to render.
var smallCam = []Format{
	{FourCC: FormatYUYV, Sizes: discrete([2]int{640, 480}, [2]int{1296, 972})},
	{FourCC: FormatMJPEG, Sizes: discrete([2]int{320, 240}, [2]int{800, 600}, [2]int{1296, 972})},
}

func newScripted(t *testing.T, formats []Format) (*Camera, *scripted, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "video0")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	s := &scripted{formats: formats, stripDHT: true}
	cam := newCamera(path, s.open, Options{FrameTimeout: 400 * time.Millisecond, WarmupFrames: 2})
	return cam, s, path
}

func TestStillDuringPreviewCapturesAtFullSizeAndPreviewResumes(t *testing.T) {
	cam, s, _ := newScripted(t, smallCam)
	ctx, cancel := context.WithCancel(context.Background())
	frames := make(chan devices.Frame)
	done := make(chan error, 1)
	go func() { done <- cam.Preview(ctx, frames) }()
	for i := 0; i < 2; i++ {
		f := <-frames
		if f.Width != 800 || f.Height != 600 {
			t.Fatalf("preview frame %d×%d, want 800×600", f.Width, f.Height)
		}
		if _, err := jpeg.Decode(bytes.NewReader(f.JPEG)); err != nil {
			t.Fatalf("preview frame does not decode: %v", err)
		}
	}
	still, err := cam.Still(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if still.Width != 1296 || still.Height != 972 {
		t.Errorf("still %d×%d, want 1296×972", still.Width, still.Height)
	}
	if cfg, err := jpeg.DecodeConfig(bytes.NewReader(still.JPEG)); err != nil || cfg.Width != 1296 {
		t.Errorf("still JPEG: %v, %v", cfg, err)
	}
	if f := <-frames; f.Width != 800 {
		t.Errorf("after the still, preview frame %d wide, want 800", f.Width)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Preview returned %v, want context.Canceled", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if got := s.frames[Mode{FormatMJPEG, 1296, 972}]; got != 3 {
		t.Errorf("%d frames read in still mode, want 2 warm-up + 1", got)
	}
	if s.opens != s.closes {
		t.Errorf("device opened %d times, closed %d", s.opens, s.closes)
	}
	want := []Mode{{FormatMJPEG, 800, 600}, {FormatMJPEG, 1296, 972}, {FormatMJPEG, 800, 600}}
	if fmt.Sprint(s.modes) != fmt.Sprint(want) {
		t.Errorf("modes set %v, want %v", s.modes, want)
	}
}

func TestCameraFailures(t *testing.T) {
	tests := []struct {
		name      string
		formats   []Format
		setup     func(s *scripted, path string)
		want      error
		wantState devices.State
	}{
		{"a YUYV-only camera's still is converted to JPEG", []Format{smallCam[0]}, nil, nil, devices.StateReady},
		{"an absent device is not connected", smallCam, func(s *scripted, path string) { s.unplugged = true; os.Remove(path) }, devices.ErrNotConnected, devices.StateDisconnected},
		{"a camera that sends no frames times out", smallCam, func(s *scripted, _ string) { s.silent = true }, devices.ErrTimeout, devices.StateError},
		{"a camera offering only H.264 cannot be used", []Format{{FourCC: 0x34363248, Sizes: discrete([2]int{1920, 1080})}}, nil, ErrNoUsableFormat, devices.StateError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cam, s, path := newScripted(t, tt.formats)
			if tt.setup != nil {
				tt.setup(s, path)
			}
			f, err := cam.Still(context.Background())
			if !errors.Is(err, tt.want) {
				t.Fatalf("Still error %v, want %v", err, tt.want)
			}
			if err == nil {
				if _, err := jpeg.Decode(bytes.NewReader(f.JPEG)); err != nil {
					t.Errorf("still does not decode: %v", err)
				}
			}
			st := cam.Status()
			if st.State != tt.wantState || st.Kind != devices.KindCamera {
				t.Errorf("status %+v, want state %s", st, tt.wantState)
			}
			if (tt.want == nil) != (st.LastError == "") {
				t.Errorf("last error %q", st.LastError)
			}
			if s.opens != s.closes {
				t.Errorf("device opened %d times, closed %d", s.opens, s.closes)
			}
		})
	}
}

func TestPreviewSkipsTornFramesAndEndsWhenUnplugged(t *testing.T) {
	cam, s, path := newScripted(t, smallCam)
	s.torn = 3
	frames := make(chan devices.Frame)
	done := make(chan error, 1)
	go func() { done <- cam.Preview(context.Background(), frames) }()
	<-frames // three torn frames were skipped to get here
	s.mu.Lock()
	s.unplugged = true
	s.mu.Unlock()
	os.Remove(path)
	var err error
	for err == nil {
		select {
		case <-frames:
		case err = <-done:
		}
	}
	if !errors.Is(err, devices.ErrNotConnected) {
		t.Errorf("Preview ended with %v, want ErrNotConnected", err)
	}
	if st := cam.Status(); st.Connected || st.State != devices.StateDisconnected {
		t.Errorf("status after unplug: %+v", st)
	}
}
