// Package camsim is a simulated document camera (高拍仪) for `station run --demo`, tests and
// benchmarks. It implements devices.Camera with frames of synthetic paper pages lying turned on a
// desk (devices/scan/scantest): Preview streams downscaled JPEG frames of the current page at about
// 10 fps, Still returns the current page at full camera resolution, NextPage lays the next sheet under
// the camera so a multi-page scan makes sense, and Unplug makes it behave like a camera pulled out of
// its USB port.
package camsim

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/jpeg"
	"sync"
	"time"

	"golang.org/x/image/draw"

	"github.com/civic-station/station/devices"
	"github.com/civic-station/station/devices/scan/scantest"
)

// Options configures a Camera. The zero value is a 5 MP camera with three pages.
type Options struct {
	// Pages are the sheets the camera sees, in order. Nil means DefaultPages(3). Each page's Width and
	// Height, when zero, take the camera's.
	Pages []scantest.Spec
	// Width and Height are the still resolution; zero means 2592×1944.
	Width, Height int
	// PreviewWidth is the preview frame width (height keeps the proportions); zero means 960.
	PreviewWidth int
	// FPS is the preview frame rate; zero means 10.
	FPS float64
	// StillQuality is the JPEG quality of stills; zero means 90.
	StillQuality int
	// Now is the clock for frame and status times; nil means time.Now.
	Now func() time.Time
}

// DefaultPages returns n page specs turned and tilted differently, as pages placed by hand are.
func DefaultPages(n int) []scantest.Spec {
	angles := []float64{7, -11, 15, -4, 19, -16, 2, 12}
	tilts := []float64{5, -4, 8, 3, -7, 6, 0, -5}
	out := make([]scantest.Spec, n)
	for i := range out {
		k := i % len(angles)
		out[i] = scantest.Spec{Angle: angles[k], Tilt: tilts[k], OffsetX: 0.02 * float64(k%3-1), Seed: uint64(100 + i)}
	}
	return out
}

// Camera is a simulated document camera. It is safe for concurrent use.
type Camera struct {
	opts  Options
	pages []*page

	mu        sync.Mutex
	current   int
	unplugged bool
	lastErr   string
	lastErrAt time.Time
}

// page is one sheet's frames, rendered on first use.
type page struct {
	spec    scantest.Spec
	once    sync.Once
	still   devices.Frame
	preview devices.Frame
	truth   scantest.Truth
	err     error
}

var _ devices.Camera = (*Camera)(nil)

// New returns a simulated camera.
func New(opts Options) *Camera {
	if opts.Width <= 0 || opts.Height <= 0 {
		opts.Width, opts.Height = 2592, 1944
	}
	if opts.PreviewWidth <= 0 {
		opts.PreviewWidth = 960
	}
	if opts.FPS <= 0 {
		opts.FPS = 10
	}
	if opts.StillQuality <= 0 {
		opts.StillQuality = 90
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Pages == nil {
		opts.Pages = DefaultPages(3)
	}
	c := &Camera{opts: opts}
	for _, s := range opts.Pages {
		if s.Width == 0 || s.Height == 0 {
			s.Width, s.Height = opts.Width, opts.Height
		}
		c.pages = append(c.pages, &page{spec: s})
	}
	return c
}

// render draws the page and encodes its still and preview frames, once.
func (c *Camera) render(p *page) error {
	p.once.Do(func() {
		img, truth := scantest.Photo(p.spec)
		p.truth = truth
		var b bytes.Buffer
		if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: c.opts.StillQuality}); err != nil {
			p.err = fmt.Errorf("camsim: encode still: %w", err)
			return
		}
		p.still = devices.Frame{JPEG: bytes.Clone(b.Bytes()), Width: img.Rect.Dx(), Height: img.Rect.Dy()}
		pw := min(c.opts.PreviewWidth, img.Rect.Dx())
		ph := pw * img.Rect.Dy() / img.Rect.Dx()
		small := image.NewRGBA(image.Rect(0, 0, pw, ph))
		draw.BiLinear.Scale(small, small.Rect, img, img.Rect, draw.Src, nil)
		b.Reset()
		if err := jpeg.Encode(&b, small, &jpeg.Options{Quality: 75}); err != nil {
			p.err = fmt.Errorf("camsim: encode preview: %w", err)
			return
		}
		p.preview = devices.Frame{JPEG: bytes.Clone(b.Bytes()), Width: pw, Height: ph}
	})
	return p.err
}

// Pages is the number of sheets the camera has.
func (c *Camera) Pages() int { return len(c.pages) }

// Page is the index of the sheet under the camera.
func (c *Camera) Page() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.current
}

// NextPage lays the next sheet under the camera (after the last, the first again) and returns its
// index.
func (c *Camera) NextPage() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.pages) > 0 {
		c.current = (c.current + 1) % len(c.pages)
	}
	return c.current
}

// SetPage lays sheet i under the camera; out-of-range indexes are ignored.
func (c *Camera) SetPage(i int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if i >= 0 && i < len(c.pages) {
		c.current = i
	}
}

// Truth is where sheet i's corners are in its still frame.
func (c *Camera) Truth(i int) (scantest.Truth, error) {
	if i < 0 || i >= len(c.pages) {
		return scantest.Truth{}, fmt.Errorf("camsim: no page %d", i)
	}
	err := c.render(c.pages[i])
	return c.pages[i].truth, err
}

// Unplug makes the camera behave as if pulled out: Status is disconnected, Still and Preview return
// devices.ErrNotConnected.
func (c *Camera) Unplug() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.unplugged = true
	c.lastErr, c.lastErrAt = devices.ErrNotConnected.Error(), c.opts.Now()
}

// Plug connects the camera again.
func (c *Camera) Plug() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.unplugged = false
}

// Status reports the simulated camera's state.
func (c *Camera) Status() devices.Status {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := devices.Status{
		Kind:        devices.KindCamera,
		Name:        "模拟高拍仪",
		Link:        devices.LinkSim,
		Detail:      fmt.Sprintf("%d×%d, %d 页, 第 %d 页", c.opts.Width, c.opts.Height, len(c.pages), c.current+1),
		Connected:   !c.unplugged,
		State:       devices.StateReady,
		LastError:   c.lastErr,
		LastErrorAt: c.lastErrAt,
		UpdatedAt:   c.opts.Now(),
	}
	if c.unplugged {
		st.State = devices.StateDisconnected
	}
	return st
}

// currentPage returns the sheet under the camera, or devices.ErrNotConnected.
func (c *Camera) currentPage() (*page, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.unplugged {
		return nil, devices.ErrNotConnected
	}
	if len(c.pages) == 0 {
		return nil, fmt.Errorf("camsim: no pages configured")
	}
	return c.pages[c.current], nil
}

// Still returns the sheet under the camera at full resolution.
func (c *Camera) Still(ctx context.Context) (devices.Frame, error) {
	if err := ctx.Err(); err != nil {
		return devices.Frame{}, err
	}
	p, err := c.currentPage()
	if err != nil {
		return devices.Frame{}, err
	}
	if err := c.render(p); err != nil {
		return devices.Frame{}, err
	}
	f := p.still
	f.At = c.opts.Now()
	return f, nil
}

// Preview sends preview frames of the sheet under the camera at Options.FPS until ctx ends (it then
// returns ctx.Err()) or the camera is unplugged (devices.ErrNotConnected).
func (c *Camera) Preview(ctx context.Context, frames chan<- devices.Frame) error {
	tick := time.NewTicker(time.Duration(float64(time.Second) / c.opts.FPS))
	defer tick.Stop()
	for {
		p, err := c.currentPage()
		if err != nil {
			return err
		}
		if err := c.render(p); err != nil {
			return err
		}
		f := p.preview
		f.At = c.opts.Now()
		select {
		case frames <- f:
		case <-ctx.Done():
			return ctx.Err()
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
