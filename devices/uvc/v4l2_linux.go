//go:build linux

package uvc

import (
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/blackjack/webcam"

	"github.com/civic-station/station/devices"
)

// This file is the only one that talks to V4L2. It is not covered by unit tests (there is no camera
// on the build machine); the hardware conformance run (STATION_HW_CAMERA) exercises it.

// webcamDevice adapts *webcam.Webcam to device.
type webcamDevice struct {
	cam  *webcam.Webcam
	name string
}

func openWebcam(path string) (device, error) {
	cam, err := webcam.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open camera %s: %w", path, notConnected(err))
	}
	name, err := cam.GetName()
	if err != nil || name == "" {
		name = path
	}
	return &webcamDevice{cam: cam, name: name}, nil
}

func (d *webcamDevice) Name() string { return d.name }

func (d *webcamDevice) Formats() ([]Format, error) {
	var out []Format
	for code, desc := range d.cam.GetSupportedFormats() {
		f := Format{FourCC: uint32(code), Description: desc}
		for _, s := range d.cam.GetSupportedFrameSizes(code) {
			f.Sizes = append(f.Sizes, SizeRange{
				MinWidth: int(s.MinWidth), MaxWidth: int(s.MaxWidth), StepWidth: int(s.StepWidth),
				MinHeight: int(s.MinHeight), MaxHeight: int(s.MaxHeight), StepHeight: int(s.StepHeight),
			})
		}
		out = append(out, f)
	}
	if len(out) == 0 {
		return nil, errors.New("device lists no pixel formats")
	}
	sort.Slice(out, func(i, j int) bool { return out[i].FourCC < out[j].FourCC })
	return out, nil
}

func (d *webcamDevice) SetMode(m Mode) (Mode, error) {
	// webcam v0.6.1's SetImageFormat returns the requested size, not the one the driver set; the
	// format code it returns is the driver's. The frame itself tells the real size (JPEG header, or
	// the YUYV length checked in YUYVToRGBA).
	code, w, h, err := d.cam.SetImageFormat(webcam.PixelFormat(m.FourCC), uint32(m.Width), uint32(m.Height))
	if err != nil {
		return Mode{}, notConnected(err)
	}
	if err := d.cam.SetBufferCount(4); err != nil {
		return Mode{}, err
	}
	return Mode{FourCC: uint32(code), Width: int(w), Height: int(h)}, nil
}

func (d *webcamDevice) Start() error { return notConnected(d.cam.StartStreaming()) }

func (d *webcamDevice) Frame(timeout time.Duration) ([]byte, error) {
	ms := max(uint32(timeout/time.Millisecond), 1)
	if err := d.cam.WaitForFrame(ms); err != nil {
		var t *webcam.Timeout
		if errors.As(err, &t) {
			return nil, devices.ErrTimeout
		}
		return nil, notConnected(err)
	}
	buf, index, err := d.cam.GetFrame()
	if err != nil {
		return nil, notConnected(err)
	}
	// The buffer is the driver's mmap: copy before handing it back.
	out := append([]byte(nil), buf...)
	if err := d.cam.ReleaseFrame(index); err != nil {
		return nil, notConnected(err)
	}
	if len(out) == 0 {
		return nil, errNotJPEG
	}
	return out, nil
}

func (d *webcamDevice) Close() error { return d.cam.Close() }

// List finds the V4L2 capture devices under /dev (video0, video1 …, in numeric order). Nodes that are
// not capture devices (UVC metadata nodes) are left out; nodes that exist but cannot be opened are
// listed with Err set.
func List() ([]Info, error) {
	paths, err := filepath.Glob("/dev/video*")
	if err != nil {
		return nil, err
	}
	sort.Slice(paths, func(i, j int) bool { return videoIndex(paths[i]) < videoIndex(paths[j]) })
	var out []Info
	for _, p := range paths {
		cam, err := webcam.Open(p)
		if err != nil {
			if strings.Contains(err.Error(), "Not a video capture device") {
				continue
			}
			out = append(out, Info{Path: p, Err: err.Error()})
			continue
		}
		d := &webcamDevice{cam: cam}
		info := Info{Path: p}
		info.Name, _ = cam.GetName()
		info.Bus, _ = cam.GetBusInfo()
		info.Formats, err = d.Formats()
		if err != nil {
			info.Err = err.Error()
		}
		cam.Close()
		out = append(out, info)
	}
	return out, nil
}

func videoIndex(path string) int {
	n, err := strconv.Atoi(strings.TrimPrefix(filepath.Base(path), "video"))
	if err != nil {
		return 1 << 30
	}
	return n
}
