// Package camtest is the conformance suite for devices.Camera: the same checks run against the
// simulated camera (always), the V4L2 driver over a scripted device (always) and a real camera (when
// STATION_HW_CAMERA names one), so the simulator cannot drift from what drivers do.
//
// It lives beside the simulator because packages under devices/ other than the drivers are owned
// elsewhere; it depends only on the devices package and the standard library, and could move to
// devices/devicetest unchanged.
package camtest

import (
	"bytes"
	"context"
	"errors"
	"image/jpeg"
	"testing"
	"time"

	"github.com/civic-station/station/devices"
)

// Target is a camera under test.
type Target struct {
	Camera devices.Camera
	// Unplug and Plug simulate pulling the camera out and putting it back; nil skips those checks
	// (real hardware).
	Unplug, Plug func()
	// Patience bounds how long any one call may take before the suite calls it hung; 0 means 20 s.
	// It is a guard against hangs, not a performance assertion.
	Patience time.Duration
}

// Modest preview bounds the suite accepts.
const (
	MinPreviewWidth = 320
	MaxPreviewWidth = 1600
)

// Run runs the conformance checks against tg as subtests.
func Run(t *testing.T, tg Target) {
	if tg.Patience <= 0 {
		tg.Patience = 20 * time.Second
	}
	cam := tg.Camera
	t.Run("a connected camera reports itself ready", func(t *testing.T) {
		st := cam.Status()
		if st.Kind != devices.KindCamera || !st.Connected || st.State != devices.StateReady || st.Name == "" {
			t.Errorf("status %+v", st)
		}
	})
	var still devices.Frame
	t.Run("a still is a JPEG of the size it claims", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), tg.Patience)
		defer cancel()
		f, err := cam.Still(ctx)
		if err != nil {
			t.Fatalf("Still: %v", err)
		}
		checkFrame(t, f)
		still = f
	})
	t.Run("preview sends modest JPEG frames until its context ends", func(t *testing.T) {
		frames := collectPreview(t, cam, tg.Patience, 3, nil)
		for _, f := range frames {
			checkFrame(t, f)
			if f.Width < MinPreviewWidth || f.Width > MaxPreviewWidth {
				t.Errorf("preview frame %d wide, want %d–%d", f.Width, MinPreviewWidth, MaxPreviewWidth)
			}
			if still.Width > 0 && f.Width*f.Height > still.Width*still.Height {
				t.Errorf("preview frame %d×%d larger than the still %d×%d", f.Width, f.Height, still.Width, still.Height)
			}
		}
	})
	t.Run("preview ends when its context ends even if nobody reads the frames", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- cam.Preview(ctx, make(chan devices.Frame)) }()
		cancel()
		select {
		case err := <-done:
			if err != nil && !errors.Is(err, context.Canceled) {
				t.Errorf("Preview returned %v, want context.Canceled or nil", err)
			}
		case <-time.After(tg.Patience):
			t.Fatal("Preview did not return after its context ended")
		}
	})
	t.Run("a still taken during preview is full size and preview goes on", func(t *testing.T) {
		var during devices.Frame
		var stillErr error
		collectPreview(t, cam, tg.Patience, 4, func(i int) {
			if i == 1 {
				ctx, cancel := context.WithTimeout(context.Background(), tg.Patience)
				defer cancel()
				during, stillErr = cam.Still(ctx)
			}
		})
		if stillErr != nil {
			t.Fatalf("Still during preview: %v", stillErr)
		}
		checkFrame(t, during)
		if still.Width > 0 && (during.Width != still.Width || during.Height != still.Height) {
			t.Errorf("still during preview %d×%d, alone %d×%d", during.Width, during.Height, still.Width, still.Height)
		}
	})
	if tg.Unplug == nil {
		return
	}
	t.Run("an unplugged camera reports disconnected and refuses stills", func(t *testing.T) {
		tg.Unplug()
		defer tg.Plug()
		st := cam.Status()
		if st.Connected || st.State != devices.StateDisconnected {
			t.Errorf("status after unplug %+v", st)
		}
		ctx, cancel := context.WithTimeout(context.Background(), tg.Patience)
		defer cancel()
		if _, err := cam.Still(ctx); !errors.Is(err, devices.ErrNotConnected) {
			t.Errorf("Still after unplug: %v, want ErrNotConnected", err)
		}
	})
	t.Run("unplugging ends a running preview with ErrNotConnected", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), tg.Patience)
		defer cancel()
		frames := make(chan devices.Frame)
		done := make(chan error, 1)
		go func() { done <- cam.Preview(ctx, frames) }()
		<-frames
		tg.Unplug()
		defer tg.Plug()
		for {
			select {
			case <-frames:
				continue
			case err := <-done:
				if !errors.Is(err, devices.ErrNotConnected) {
					t.Errorf("Preview ended with %v, want ErrNotConnected", err)
				}
			}
			break
		}
	})
	t.Run("a camera plugged back in works again", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), tg.Patience)
		defer cancel()
		f, err := cam.Still(ctx)
		if err != nil {
			t.Fatalf("Still after replug: %v", err)
		}
		checkFrame(t, f)
		if st := cam.Status(); !st.Connected || st.State != devices.StateReady {
			t.Errorf("status after replug %+v", st)
		}
	})
}

// collectPreview runs Preview until n frames arrived, calling each(i) after frame i, then cancels it
// and checks it returns.
func collectPreview(t *testing.T, cam devices.Camera, patience time.Duration, n int, each func(int)) []devices.Frame {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	frames := make(chan devices.Frame)
	done := make(chan error, 1)
	go func() { done <- cam.Preview(ctx, frames) }()
	var got []devices.Frame
	for len(got) < n {
		select {
		case f := <-frames:
			got = append(got, f)
			if each != nil {
				each(len(got) - 1)
			}
		case err := <-done:
			t.Fatalf("Preview ended early: %v", err)
		case <-time.After(patience):
			t.Fatalf("no preview frame within %v", patience)
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("Preview returned %v after cancel", err)
		}
	case <-time.After(patience):
		t.Fatal("Preview did not return after cancel")
	}
	return got
}

func checkFrame(t *testing.T, f devices.Frame) {
	t.Helper()
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(f.JPEG))
	if err != nil {
		t.Fatalf("frame is not a JPEG: %v", err)
	}
	if cfg.Width != f.Width || cfg.Height != f.Height {
		t.Errorf("frame says %d×%d, JPEG is %d×%d", f.Width, f.Height, cfg.Width, cfg.Height)
	}
	if f.At.IsZero() {
		t.Error("frame has no time")
	}
	if _, err := jpeg.Decode(bytes.NewReader(f.JPEG)); err != nil {
		t.Errorf("frame does not decode: %v", err)
	}
}
