package camsim_test

import (
	"bytes"
	"context"
	"math"
	"testing"

	"github.com/civic-station/station/devices/scan"
	"github.com/civic-station/station/devices/sim/camsim"
	"github.com/civic-station/station/devices/sim/camsim/camtest"
)

func TestSimulatedCameraConforms(t *testing.T) {
	cam := camsim.New(camsim.Options{Width: 1296, Height: 972, PreviewWidth: 640, FPS: 50, Pages: camsim.DefaultPages(2)})
	camtest.Run(t, camtest.Target{Camera: cam, Unplug: cam.Unplug, Plug: cam.Plug})
}

func TestNextPageShowsEachSheetInTurn(t *testing.T) {
	cam := camsim.New(camsim.Options{Width: 1296, Height: 972, Pages: camsim.DefaultPages(3)})
	ctx := context.Background()
	var stills [][]byte
	for i := 0; i < 4; i++ {
		if got := cam.Page(); got != i%3 {
			t.Fatalf("page %d under the camera, want %d", got, i%3)
		}
		f, err := cam.Still(ctx)
		if err != nil {
			t.Fatal(err)
		}
		stills = append(stills, f.JPEG)
		page, err := scan.Process(f.JPEG, scan.Options{Width: 827, Height: 1170})
		if err != nil {
			t.Fatal(err)
		}
		truth, err := cam.Truth(i % 3)
		if err != nil {
			t.Fatal(err)
		}
		if !page.Detected {
			t.Fatalf("sheet %d: no page found", i%3)
		}
		for k, c := range page.Corners {
			if e := math.Hypot(c.X-truth.Corners[k][0], c.Y-truth.Corners[k][1]); e > 8 {
				t.Errorf("sheet %d corner %d off by %.1f px", i%3, k, e)
			}
		}
		cam.NextPage()
	}
	if bytes.Equal(stills[0], stills[1]) || bytes.Equal(stills[1], stills[2]) {
		t.Error("different sheets gave the same still")
	}
	if !bytes.Equal(stills[0], stills[3]) {
		t.Error("after the last sheet the first did not come back")
	}
}

func TestDefaultStillIsFiveMegapixels(t *testing.T) {
	cam := camsim.New(camsim.Options{Pages: camsim.DefaultPages(1)})
	f, err := cam.Still(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if f.Width != 2592 || f.Height != 1944 {
		t.Errorf("still %d×%d, want 2592×1944", f.Width, f.Height)
	}
	t.Logf("5 MP still JPEG %d bytes", len(f.JPEG))
}
