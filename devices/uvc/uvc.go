// Package uvc drives a document camera (高拍仪) that shows up as a V4L2 video device (/dev/video*), as
// USB Video Class cameras do on Linux, through github.com/blackjack/webcam (pure Go, no cgo). Camera
// implements devices.Camera: Preview streams modest frames (640–1280 pixels wide, MJPEG when offered,
// else YUYV converted to JPEG), Still switches to the largest size offered and returns one frame, and
// Status reports whether the device is there. List enumerates the devices with their formats and
// sizes, for `station devices list`.
//
// # What is tested where
//
// The format and size choice (ChoosePreview, ChooseStill), the YUYV conversion, the MJPEG Huffman
// table repair and the Camera's own logic (mode switches between preview and still, warm-up frames,
// timeouts, unplugging) are unit-tested against a scripted device. The V4L2 calls themselves (v4l2.go)
// run only against hardware: set STATION_HW_CAMERA=/dev/video0 to run the devices.Camera conformance
// suite against a real camera.
//
// # Vendor cameras that are not V4L2
//
// Some document cameras sold in China ship a vendor service that owns the USB device and exposes the
// camera on a loopback WebSocket or HTTP port (for browser plug-ins) instead of, or besides, V4L2. Such
// a camera gets its own package, devices/wscam, with a constructor returning a concrete type that
// implements devices.Camera (Preview, Still, Status with the same meanings and the shared errors:
// devices.ErrNotConnected when the service or the camera is absent, devices.ErrTimeout when it does
// not answer). Nothing else changes: callers hold a devices.Camera, cmd/station chooses the driver
// from the configured address ("/dev/video0" → uvc.New, "ws://127.0.0.1:…" → wscam.New) in its table
// of camera drivers, and the conformance suite in devices/sim/camsim/camtest runs against the adapter
// as it does against this package. Frames must be JPEG; a vendor service that sends base64 JPEG is
// decoded in the adapter.
package uvc

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/civic-station/station/devices"
)

// device is what the Camera needs from a V4L2 node. The real one wraps github.com/blackjack/webcam;
// tests script one. A device is opened, configured once, started, read, and closed; changing the
// mode means closing and opening again (drivers refuse format changes while buffers are mapped).
type device interface {
	Name() string
	Formats() ([]Format, error)
	// SetMode configures the pixel format and size before Start; the driver may adjust them and
	// returns what it set.
	SetMode(m Mode) (Mode, error)
	Start() error
	// Frame waits up to timeout for the next frame and returns a copy of it. It returns
	// devices.ErrTimeout when no frame came in time.
	Frame(timeout time.Duration) ([]byte, error)
	Close() error
}

// Options configures a Camera. The zero value is usable.
type Options struct {
	// Logger receives driver diagnostics; nil discards them.
	Logger *slog.Logger
	// Now is the clock for frame and status times; nil means time.Now.
	Now func() time.Time
	// FrameTimeout is how long to wait for one frame before giving up; 0 means 3 seconds (a camera
	// switching to 5 MP can take a while for its first frame).
	FrameTimeout time.Duration
	// WarmupFrames are frames read and dropped after switching to still mode, so auto exposure and
	// white balance settle; 0 means 3.
	WarmupFrames int
	// PreviewQuality and StillQuality are the JPEG qualities for YUYV frames; 0 means 80 and 92.
	PreviewQuality, StillQuality int
}

// Camera is a V4L2 document camera at a device path. It is safe for concurrent use: a Still taken
// while a Preview runs pauses the preview, captures at full size, and the preview resumes.
type Camera struct {
	path   string
	open   func(path string) (device, error)
	log    *slog.Logger
	now    func() time.Time
	opts   Options
	pollMu sync.Mutex // serialises use of the device

	// Guarded by pollMu.
	dev     device
	devWant Mode // the mode chosen for the device
	devMode Mode // the mode the driver set (frames come in this one)
	formats []Format

	stMu   sync.Mutex // guards st; never held while waiting on the device
	st     devices.Status
	active int // Preview or Still calls in progress
}

var _ devices.Camera = (*Camera)(nil)

// New returns a camera for the V4L2 device at path (e.g. /dev/video0). It does not open the device
// until a frame is asked for.
func New(path string, opts Options) *Camera {
	return newCamera(path, openWebcam, opts)
}

func newCamera(path string, open func(string) (device, error), opts Options) *Camera {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.FrameTimeout <= 0 {
		opts.FrameTimeout = 3 * time.Second
	}
	if opts.WarmupFrames <= 0 {
		opts.WarmupFrames = 3
	}
	if opts.PreviewQuality <= 0 {
		opts.PreviewQuality = 80
	}
	if opts.StillQuality <= 0 {
		opts.StillQuality = 92
	}
	c := &Camera{path: path, open: open, log: opts.Logger, now: opts.Now, opts: opts}
	c.st = devices.Status{Kind: devices.KindCamera, Name: "V4L2 " + path, Detail: path, Link: devices.LinkV4L2, Port: path,
		State: devices.StateReady, Connected: true}
	return c
}

// Path is the device path the camera was made for.
func (c *Camera) Path() string { return c.path }

// Status reports the camera's state: disconnected when the device node is gone or the last use failed
// with devices.ErrNotConnected, busy while a frame is being taken, otherwise ready (or error after a
// failure of another kind). It does not wait on the device.
func (c *Camera) Status() devices.Status {
	c.stMu.Lock()
	st := c.st
	active := c.active
	c.stMu.Unlock()
	st.Reasons = append([]string(nil), st.Reasons...)
	if _, err := os.Stat(c.path); err != nil {
		st.Connected, st.State = false, devices.StateDisconnected
	} else if st.Connected && active > 0 && st.State == devices.StateReady {
		st.State = devices.StateBusy
	}
	st.UpdatedAt = c.now()
	return st
}

// record updates the status after an attempt to use the device.
func (c *Camera) record(err error) {
	c.stMu.Lock()
	defer c.stMu.Unlock()
	if err == nil {
		c.st.Connected, c.st.State = true, devices.StateReady
		return
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return
	}
	c.st.LastError, c.st.LastErrorAt = err.Error(), c.now()
	if errors.Is(err, devices.ErrNotConnected) {
		c.st.Connected, c.st.State = false, devices.StateDisconnected
	} else {
		c.st.State = devices.StateError
	}
}

func (c *Camera) begin() {
	c.stMu.Lock()
	c.active++
	c.stMu.Unlock()
}

func (c *Camera) end() {
	c.stMu.Lock()
	c.active--
	c.stMu.Unlock()
}

// ensure opens the device in still or preview mode unless it already streams in that mode.
// Called with pollMu held.
func (c *Camera) ensure(still bool) error {
	if c.dev != nil {
		if m, err := c.choose(c.formats, still); err == nil && m == c.devWant {
			return nil
		}
		c.closeDevice()
	}
	dev, err := c.open(c.path)
	if err != nil {
		return err
	}
	formats, err := dev.Formats()
	if err != nil {
		dev.Close()
		return fmt.Errorf("list formats of %s: %w", c.path, err)
	}
	m, err := c.choose(formats, still)
	if err != nil {
		dev.Close()
		return fmt.Errorf("%s: %w", c.path, err)
	}
	set, err := dev.SetMode(m)
	if err != nil {
		dev.Close()
		return fmt.Errorf("set %s on %s: %w", m, c.path, err)
	}
	if err := dev.Start(); err != nil {
		dev.Close()
		return fmt.Errorf("start streaming %s on %s: %w", set, c.path, err)
	}
	c.log.Debug("camera streaming", "path", c.path, "mode", set.String(), "still", still)
	c.dev, c.devWant, c.devMode, c.formats = dev, m, set, formats
	c.stMu.Lock()
	c.st.Name = dev.Name()
	c.st.Detail = fmt.Sprintf("%s, %s", c.path, set)
	c.stMu.Unlock()
	return nil
}

func (c *Camera) choose(formats []Format, still bool) (Mode, error) {
	if still {
		return ChooseStill(formats)
	}
	return ChoosePreview(formats, PreviewMinWidth, PreviewMaxWidth)
}

func (c *Camera) closeDevice() {
	if c.dev != nil {
		if err := c.dev.Close(); err != nil {
			c.log.Debug("close camera", "path", c.path, "err", err)
		}
		c.dev = nil
	}
}

// frame reads one frame within the timeout, checking ctx between short waits. Called with pollMu held.
func (c *Camera) frame(ctx context.Context) ([]byte, error) {
	deadline := c.opts.FrameTimeout
	const slice = 200 * time.Millisecond
	for waited := time.Duration(0); ; waited += slice {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		raw, err := c.dev.Frame(min(slice, deadline-waited))
		if errors.Is(err, devices.ErrTimeout) && waited+slice < deadline {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read frame from %s: %w", c.path, err)
		}
		return raw, nil
	}
}

// grab takes one frame in preview or still mode and returns it as JPEG.
func (c *Camera) grab(ctx context.Context, still bool) (devices.Frame, error) {
	c.pollMu.Lock()
	defer c.pollMu.Unlock()
	if err := c.ensure(still); err != nil {
		return devices.Frame{}, err
	}
	if still {
		// Still mode is left as soon as the frame is taken: a 5 MP stream is heavy on USB and CPU.
		defer c.closeDevice()
		for i := 0; i < c.opts.WarmupFrames; i++ {
			if _, err := c.frame(ctx); err != nil {
				c.closeDevice()
				return devices.Frame{}, err
			}
		}
	}
	raw, err := c.frame(ctx)
	if err != nil {
		c.closeDevice()
		return devices.Frame{}, err
	}
	q := c.opts.PreviewQuality
	if still {
		q = c.opts.StillQuality
	}
	data, w, h, err := frameJPEG(raw, c.devMode, q)
	if err != nil {
		return devices.Frame{}, fmt.Errorf("frame from %s: %w", c.path, err)
	}
	return devices.Frame{JPEG: data, Width: w, Height: h, At: c.now()}, nil
}

// Still captures one frame at the largest size the camera offers. It returns devices.ErrNotConnected
// when the device is absent or unplugged, devices.ErrTimeout when no frame comes in time.
func (c *Camera) Still(ctx context.Context) (devices.Frame, error) {
	c.begin()
	defer c.end()
	f, err := c.grab(ctx, true)
	c.record(err)
	return f, err
}

// maxBadFrames is how many frames in a row Preview skips (torn MJPEG frames happen) before failing.
const maxBadFrames = 10

// Preview streams preview frames to frames until ctx ends, then closes the device and returns
// ctx.Err(). It returns devices.ErrNotConnected when the camera is or goes away, devices.ErrTimeout
// when it stops sending frames. A slow receiver makes it skip frames, not queue them.
func (c *Camera) Preview(ctx context.Context, frames chan<- devices.Frame) error {
	c.begin()
	defer c.end()
	defer func() {
		// Only a preview leaves the device open between frames; release it.
		c.pollMu.Lock()
		c.closeDevice()
		c.pollMu.Unlock()
	}()
	bad := 0
	for {
		f, err := c.grab(ctx, false)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if errors.Is(err, errNotJPEG) && bad < maxBadFrames {
				bad++
				continue
			}
			c.record(err)
			return err
		}
		bad = 0
		c.record(nil)
		select {
		case frames <- f:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// notConnected translates the errors of a device that is absent or gone to devices.ErrNotConnected.
func notConnected(err error) error {
	if err == nil {
		return nil
	}
	for _, e := range []error{syscall.ENOENT, syscall.ENODEV, syscall.ENXIO, fs.ErrNotExist} {
		if errors.Is(err, e) {
			return fmt.Errorf("%w: %v", devices.ErrNotConnected, err)
		}
	}
	return err
}

// Info describes a video device found by List.
type Info struct {
	Path    string
	Name    string
	Bus     string
	Formats []Format
	// Err is set when the node exists but could not be opened or queried (busy, no permission).
	Err string
}

// Usable reports whether the device offers a format the driver can use.
func (i Info) Usable() bool { return i.Err == "" && len(usable(i.Formats)) > 0 }
