package uvc

import (
	"os"
	"testing"

	"github.com/civic-station/station/devices/sim/camsim/camtest"
)

// TestDriverOverAScriptedDeviceConforms runs the devices.Camera conformance suite against the real
// driver logic with a scripted V4L2 device underneath.
func TestDriverOverAScriptedDeviceConforms(t *testing.T) {
	cam, s, path := newScripted(t, smallCam)
	camtest.Run(t, camtest.Target{
		Camera: cam,
		Unplug: func() {
			s.mu.Lock()
			s.unplugged = true
			s.mu.Unlock()
			os.Remove(path)
		},
		Plug: func() {
			s.mu.Lock()
			s.unplugged = false
			s.mu.Unlock()
			os.WriteFile(path, nil, 0o600)
		},
	})
}

// TestHardwareCameraConforms runs the suite against a real camera:
//
//	STATION_HW_CAMERA=/dev/video0 go test ./devices/uvc -run Hardware -v
func TestHardwareCameraConforms(t *testing.T) {
	path := os.Getenv("STATION_HW_CAMERA")
	if path == "" {
		t.Skip("set STATION_HW_CAMERA=/dev/video0 to test a real camera")
	}
	infos, err := List()
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range infos {
		t.Logf("%s: %q bus %q err %q", in.Path, in.Name, in.Bus, in.Err)
		for _, f := range in.Formats {
			t.Logf("  %s %q %v", FourCCString(f.FourCC), f.Description, f.Sizes)
		}
	}
	camtest.Run(t, camtest.Target{Camera: New(path, Options{})})
}
