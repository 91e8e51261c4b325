package scan_test

import (
	"errors"
	"image"
	"testing"

	"github.com/civic-station/station/devices/scan"
	"github.com/civic-station/station/devices/scan/scantest"
)

// FuzzProcess feeds arbitrary bytes to the decoder entry: Process must return a page or one of its
// errors, never panic or hang. The output is kept small so each input is cheap.
func FuzzProcess(f *testing.F) {
	photo, _, err := scantest.JPEG(scantest.Spec{Width: 160, Height: 120, Angle: 10, Seed: 1}, 60)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(photo)
	f.Add(photo[:len(photo)/2])
	f.Add(encodeJPEG(f, image.NewGray(image.Rect(0, 0, 70, 70)), 50))
	f.Add([]byte("\xff\xd8\xff\xc0\x00\x11\x08\xff\xff\xff\xff\x03"))
	f.Add([]byte("\x89PNG\r\n\x1a\n"))
	opts := scan.Options{Width: 80, Height: 113, MinQuality: 50, MaxQuality: 50, MaxPixels: 4_000_000}
	f.Fuzz(func(t *testing.T, data []byte) {
		page, err := scan.Process(data, opts)
		if err != nil {
			if !errors.Is(err, scan.ErrNotImage) && !errors.Is(err, scan.ErrTooSmall) && !errors.Is(err, scan.ErrTooLarge) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		if len(page.JPEG) == 0 || page.Width*page.Height != 80*113 {
			t.Fatalf("page %d×%d with %d bytes", page.Width, page.Height, len(page.JPEG))
		}
	})
}
