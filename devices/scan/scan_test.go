package scan_test

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/civic-station/station/devices/scan"
	"github.com/civic-station/station/devices/scan/scantest"
)

// markerTolerance is how far (as a fraction of the page's width or height) a corner marker may land
// from where it belongs on the output page.
const markerTolerance = 0.02

func TestProcessFindsThePageAndWarpsItUpright(t *testing.T) {
	tests := []struct {
		name string
		spec scantest.Spec
	}{
		{"a page lying straight under the camera comes out as it is", scantest.Spec{Seed: 1}},
		{"a page turned 5° to the left comes out upright", scantest.Spec{Angle: 5, Tilt: 4, Seed: 2}},
		{"a page turned 9° to the right with the camera tilted comes out upright", scantest.Spec{Angle: -9, Tilt: 8, Seed: 3, OffsetX: 0.05}},
		{"a page turned 14° off centre comes out upright", scantest.Spec{Angle: 14, Tilt: -6, Seed: 4, OffsetX: -0.06, OffsetY: 0.02}},
		{"a page turned 20° and smaller in the frame comes out upright", scantest.Spec{Angle: -20, Tilt: 10, Fill: 0.7, Seed: 5}},
		{"a page turned 17° with strong keystone comes out upright", scantest.Spec{Angle: 17, Tilt: 15, Fill: 0.75, Seed: 6}},
	}
	var worstCorner, worstMarker float64
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			photo, truth, err := scantest.JPEG(tt.spec, 90)
			if err != nil {
				t.Fatal(err)
			}
			page, err := scan.Process(photo, scan.Options{})
			if err != nil {
				t.Fatalf("Process: %v", err)
			}
			if !page.Detected || page.Note != "" {
				t.Fatalf("page not detected: note %q", page.Note)
			}
			if page.Width != scan.A4Width || page.Height != scan.A4Height {
				t.Fatalf("page is %d×%d, want %d×%d", page.Width, page.Height, scan.A4Width, scan.A4Height)
			}
			// Corners against the truth, as a fraction of the page's diagonal in the photo.
			diag := math.Hypot(truth.Corners[0][0]-truth.Corners[2][0], truth.Corners[0][1]-truth.Corners[2][1])
			for i, c := range page.Corners {
				e := math.Hypot(c.X-truth.Corners[i][0], c.Y-truth.Corners[i][1])
				worstCorner = max(worstCorner, e/diag)
				if e > 0.01*diag {
					t.Errorf("corner %d at (%.1f, %.1f), truth (%.1f, %.1f): off by %.1f px", i, c.X, c.Y, truth.Corners[i][0], truth.Corners[i][1], e)
				}
			}
			if len(page.JPEG) > scan.DefaultTargetBytes {
				t.Errorf("page JPEG is %d bytes, over the %d target", len(page.JPEG), scan.DefaultTargetBytes)
			}
			out := decodeGray(t, page.JPEG)
			worstMarker = max(worstMarker, checkMarkers(t, out))
			t.Logf("JPEG %d bytes at quality %d", len(page.JPEG), page.Quality)
		})
	}
	t.Logf("worst corner error %.3f%% of the page diagonal; worst marker error %.3f%% of the page side", 100*worstCorner, 100*worstMarker)
}

// checkMarkers finds each corner marker on an upright output page and checks its place and size; it
// returns the largest position error as a fraction of the page side.
func checkMarkers(t *testing.T, page *image.Gray) float64 {
	t.Helper()
	w, h := page.Rect.Dx(), page.Rect.Dy()
	sx, sy := float64(w)/scantest.PageWidthMM, float64(h)/scantest.PageHeightMM
	worst := 0.0
	for _, m := range scantest.Markers {
		ex, ey := m.Center[0]*sx, m.Center[1]*sy
		half := (m.Size/2 + 8) * sx
		cx, cy, area, ok := darkBlob(page, image.Rect(int(ex-half), int(ey-half), int(ex+half), int(ey+half)))
		if !ok {
			t.Errorf("%s marker: nothing dark near (%.0f, %.0f)", m.Name, ex, ey)
			continue
		}
		errX, errY := math.Abs(cx-ex)/float64(w), math.Abs(cy-ey)/float64(h)
		worst = max(worst, errX, errY)
		if errX > markerTolerance || errY > markerTolerance {
			t.Errorf("%s marker at (%.0f, %.0f), want (%.0f, %.0f): off by %.2f%% × %.2f%% of the page", m.Name, cx, cy, ex, ey, 100*errX, 100*errY)
		}
		want := m.Size * m.Size * sx * sy
		if area < 0.6*want || area > 1.4*want {
			t.Errorf("%s marker covers %.0f px, want about %.0f: the page is turned or mirrored", m.Name, area, want)
		}
	}
	return worst
}

// darkBlob returns the centroid and area of the largest 4-connected region darker than mid-grey in r.
func darkBlob(img *image.Gray, r image.Rectangle) (cx, cy, area float64, ok bool) {
	r = r.Intersect(img.Rect)
	seen := make(map[image.Point]bool)
	best := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			p := image.Pt(x, y)
			if seen[p] || img.GrayAt(x, y).Y >= 110 {
				continue
			}
			var sumX, sumY float64
			n := 0
			stack := []image.Point{p}
			seen[p] = true
			for len(stack) > 0 {
				q := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				n++
				sumX += float64(q.X) + 0.5
				sumY += float64(q.Y) + 0.5
				for _, d := range []image.Point{{1, 0}, {-1, 0}, {0, 1}, {0, -1}} {
					nq := q.Add(d)
					if nq.In(r) && !seen[nq] && img.GrayAt(nq.X, nq.Y).Y < 110 {
						seen[nq] = true
						stack = append(stack, nq)
					}
				}
			}
			if n > best {
				best, cx, cy = n, sumX/float64(n), sumY/float64(n)
			}
		}
	}
	return cx, cy, float64(best), best > 0
}

func decodeGray(t testing.TB, data []byte) *image.Gray {
	t.Helper()
	img, err := jpeg.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("decode page JPEG: %v", err)
	}
	if g, ok := img.(*image.Gray); ok {
		return g
	}
	b := img.Bounds()
	g := image.NewGray(b)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			g.Set(x, y, img.At(x, y))
		}
	}
	return g
}

func TestProcessWithoutAClearBorderUsesTheWholeFrameAndSaysSo(t *testing.T) {
	photo, _, err := scantest.JPEG(scantest.Spec{Width: 1600, Height: 1200, Angle: 7, LightDesk: true, Seed: 7}, 90)
	if err != nil {
		t.Fatal(err)
	}
	page, err := scan.Process(photo, scan.Options{})
	if err != nil {
		t.Fatalf("Process: %v", err)
	}
	if page.Detected {
		t.Errorf("a page on a desk as light as the page was detected at %v", page.Corners)
	}
	if page.Note != scan.NoteNoBorder {
		t.Errorf("note %q, want %q", page.Note, scan.NoteNoBorder)
	}
	// A landscape frame goes on a landscape A4 page.
	if page.Width != scan.A4Height || page.Height != scan.A4Width {
		t.Errorf("page is %d×%d, want %d×%d", page.Width, page.Height, scan.A4Height, scan.A4Width)
	}
	want := scan.Quad{{0, 0}, {1600, 0}, {1600, 1200}, {0, 1200}}
	if page.Corners != want {
		t.Errorf("corners %v, want the whole frame %v", page.Corners, want)
	}
}

func TestProcessRejectsWhatIsNotAPhotoOfAPage(t *testing.T) {
	tiny := encodeJPEG(t, image.NewGray(image.Rect(0, 0, 8, 8)), 80)
	huge := bytes.Clone(encodeJPEG(t, image.NewGray(image.Rect(0, 0, 100, 100)), 80))
	patchSOF(t, huge, 60000, 60000)
	rnd := make([]byte, 4096)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range rnd {
		rnd[i] = byte(r.IntN(256))
	}
	valid := encodeJPEG(t, image.NewGray(image.Rect(0, 0, 200, 200)), 80)
	tests := []struct {
		name  string
		input []byte
		want  error
	}{
		{"empty input is not an image", nil, scan.ErrNotImage},
		{"random bytes are not an image", rnd, scan.ErrNotImage},
		{"a JPEG cut off after its header is not an image", valid[:200], scan.ErrNotImage},
		{"an 8×8 JPEG is too small to hold a page", tiny, scan.ErrTooSmall},
		{"a JPEG claiming 60000×60000 pixels is refused before decoding", huge, scan.ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			page, err := scan.Process(tt.input, scan.Options{})
			if !errors.Is(err, tt.want) {
				t.Fatalf("Process = %v, %v; want %v", page, err, tt.want)
			}
		})
	}
}

func TestProcessGreyscaleGivesASingleChannelPageAtAHigherQuality(t *testing.T) {
	photo, _, err := scantest.JPEG(scantest.Spec{Width: 1600, Height: 1200, Angle: 8, Tilt: 5, Seed: 8}, 90)
	if err != nil {
		t.Fatal(err)
	}
	colour, err := scan.Process(photo, scan.Options{})
	if err != nil {
		t.Fatal(err)
	}
	gray, err := scan.Process(photo, scan.Options{Gray: true})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(gray.JPEG))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ColorModel != color.GrayModel || !gray.Gray {
		t.Errorf("greyscale page has colour model %v", cfg.ColorModel)
	}
	if colour.Gray {
		t.Errorf("colour page says it is greyscale")
	}
	if gray.Quality < colour.Quality {
		t.Errorf("greyscale page at quality %d, colour at %d: dropping chroma should buy quality", gray.Quality, colour.Quality)
	}
	t.Logf("colour %d bytes (q%d), grey %d bytes (q%d)", len(colour.JPEG), colour.Quality, len(gray.JPEG), gray.Quality)
	checkMarkers(t, decodeGray(t, gray.JPEG))
}

func TestProcessKeepsThePageUnderTheTargetSize(t *testing.T) {
	photo, _, err := scantest.JPEG(scantest.Spec{Angle: -6, Tilt: 3, Seed: 9, Noise: 3}, 92)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		target int
	}{
		{"a 400 KB target", 400_000},
		{"a 300 KB target", 300_000},
		{"a 200 KB target", 200_000},
	}
	prevQ := 101
	for _, tt := range tests {
		t.Run(tt.name+" is met with the highest quality that fits", func(t *testing.T) {
			opts := scan.Options{TargetBytes: tt.target}
			page, err := scan.Process(photo, opts)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%d bytes at quality %d", len(page.JPEG), page.Quality)
			if len(page.JPEG) > tt.target && page.Quality != scan.DefaultMinQuality {
				t.Errorf("%d bytes at quality %d is over the %d target", len(page.JPEG), page.Quality, tt.target)
			}
			if page.Quality > prevQ {
				t.Errorf("quality %d for a smaller target than one that got %d", page.Quality, prevQ)
			}
			prevQ = page.Quality
			if page.Quality < scan.DefaultMaxQuality {
				// One step up must not fit, or the search stopped short.
				opts.MinQuality, opts.MaxQuality = page.Quality+1, page.Quality+1
				up, err := scan.Process(photo, opts)
				if err != nil {
					t.Fatal(err)
				}
				if len(up.JPEG) <= tt.target {
					t.Errorf("quality %d gives %d bytes, which fits %d too; the search stopped at %d", up.Quality, len(up.JPEG), tt.target, page.Quality)
				}
			}
		})
	}
}

func encodeJPEG(t testing.TB, img image.Image, q int) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: q}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// patchSOF rewrites the frame size in a JPEG's SOF0 header.
func patchSOF(t *testing.T, data []byte, w, h int) {
	t.Helper()
	i := bytes.Index(data, []byte{0xFF, 0xC0})
	if i < 0 {
		t.Fatal("no SOF0 marker")
	}
	data[i+5], data[i+6] = byte(h>>8), byte(h)
	data[i+7], data[i+8] = byte(w>>8), byte(w)
}
