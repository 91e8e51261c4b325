package uvc

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"testing"
)

func discrete(sizes ...[2]int) []SizeRange {
	var out []SizeRange
	for _, s := range sizes {
		out = append(out, SizeRange{MinWidth: s[0], MaxWidth: s[0], MinHeight: s[1], MaxHeight: s[1]})
	}
	return out
}

// A typical 5 MP document camera: MJPEG up to 2592×1944, YUYV up to the same but slow.
var docCam = []Format{
	{FourCC: FormatYUYV, Description: "YUYV 4:2:2", Sizes: discrete([2]int{640, 480}, [2]int{800, 600}, [2]int{1280, 960}, [2]int{2592, 1944})},
	{FourCC: FormatMJPEG, Description: "Motion-JPEG", Sizes: discrete([2]int{320, 240}, [2]int{640, 480}, [2]int{1024, 768}, [2]int{1280, 960}, [2]int{1600, 1200}, [2]int{2592, 1944})},
}

func TestChoosePreview(t *testing.T) {
	h264 := uint32('H' | '2'<<8 | '6'<<16 | '4'<<24)
	tests := []struct {
		name    string
		formats []Format
		want    Mode
		err     error
	}{
		{"a camera offering MJPEG previews in its largest MJPEG size up to 1280 wide", docCam, Mode{FormatMJPEG, 1280, 960}, nil},
		{"a YUYV-only camera previews in its smallest YUYV size from 640 wide", []Format{docCam[0]}, Mode{FormatYUYV, 640, 480}, nil},
		{"MJPEG only above the range loses to YUYV inside it",
			[]Format{{FourCC: FormatMJPEG, Sizes: discrete([2]int{2592, 1944})}, {FourCC: FormatYUYV, Sizes: discrete([2]int{800, 600})}},
			Mode{FormatYUYV, 800, 600}, nil},
		{"a camera with only large sizes previews at the one nearest the range",
			[]Format{{FourCC: FormatMJPEG, Sizes: discrete([2]int{3264, 2448}, [2]int{1920, 1080})}}, Mode{FormatMJPEG, 1920, 1080}, nil},
		{"a camera with only small sizes previews at the largest",
			[]Format{{FourCC: FormatYUYV, Sizes: discrete([2]int{320, 240}, [2]int{352, 288})}}, Mode{FormatYUYV, 352, 288}, nil},
		{"a stepwise MJPEG range previews at 1280 wide with the sensor's proportions",
			[]Format{{FourCC: FormatMJPEG, Sizes: []SizeRange{{MinWidth: 160, MaxWidth: 2592, StepWidth: 16, MinHeight: 120, MaxHeight: 1944, StepHeight: 8}}}},
			Mode{FormatMJPEG, 1280, 960}, nil},
		{"a camera offering only H.264 has no usable format", []Format{{FourCC: h264, Sizes: discrete([2]int{1920, 1080})}}, Mode{}, ErrNoUsableFormat},
		{"a camera listing no formats has no usable format", nil, Mode{}, ErrNoUsableFormat},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ChoosePreview(tt.formats, PreviewMinWidth, PreviewMaxWidth)
			if !errors.Is(err, tt.err) || got != tt.want {
				t.Errorf("ChoosePreview = %v, %v; want %v, %v", got, err, tt.want, tt.err)
			}
		})
	}
}

func TestChooseStill(t *testing.T) {
	tests := []struct {
		name    string
		formats []Format
		want    Mode
		err     error
	}{
		{"the largest size wins and MJPEG wins a tie with YUYV", docCam, Mode{FormatMJPEG, 2592, 1944}, nil},
		{"YUYV is used when it alone offers the largest size",
			[]Format{{FourCC: FormatMJPEG, Sizes: discrete([2]int{1920, 1080})}, {FourCC: FormatYUYV, Sizes: discrete([2]int{2592, 1944})}},
			Mode{FormatYUYV, 2592, 1944}, nil},
		{"a stepwise range is taken at its maximum",
			[]Format{{FourCC: FormatYUYV, Sizes: []SizeRange{{MinWidth: 160, MaxWidth: 3264, StepWidth: 2, MinHeight: 120, MaxHeight: 2448, StepHeight: 2}}}},
			Mode{FormatYUYV, 3264, 2448}, nil},
		{"no MJPEG or YUYV means no still", []Format{{FourCC: 0x3231564e /* NV12 */, Sizes: discrete([2]int{1920, 1080})}}, Mode{}, ErrNoUsableFormat},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ChooseStill(tt.formats)
			if !errors.Is(err, tt.err) || got != tt.want {
				t.Errorf("ChooseStill = %v, %v; want %v, %v", got, err, tt.want, tt.err)
			}
		})
	}
}

func TestFourCCString(t *testing.T) {
	if got := FourCCString(FormatMJPEG) + " " + FourCCString(FormatYUYV); got != "MJPG YUYV" {
		t.Errorf("got %q", got)
	}
}

func TestYUYVToRGBA(t *testing.T) {
	tests := []struct {
		name       string
		y0, u, y1  byte
		v          byte
		want0      color.RGBA
		want1      color.RGBA
		maxDiffRGB int
	}{
		{"video black and white map to 0 and 255", 16, 128, 235, 128, color.RGBA{0, 0, 0, 255}, color.RGBA{255, 255, 255, 255}, 0},
		{"mid grey stays grey", 126, 128, 126, 128, color.RGBA{128, 128, 128, 255}, color.RGBA{128, 128, 128, 255}, 0},
		{"BT.601 red decodes to red", 81, 90, 81, 240, color.RGBA{255, 0, 0, 255}, color.RGBA{255, 0, 0, 255}, 1},
		{"BT.601 green decodes to green", 145, 54, 145, 34, color.RGBA{0, 255, 0, 255}, color.RGBA{0, 255, 0, 255}, 1},
		{"BT.601 blue decodes to blue", 41, 240, 41, 110, color.RGBA{0, 0, 255, 255}, color.RGBA{0, 0, 255, 255}, 1},
		{"values beyond video range clip instead of wrapping", 0, 128, 255, 128, color.RGBA{0, 0, 0, 255}, color.RGBA{255, 255, 255, 255}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A 2×2 frame: both rows the same pixel pair.
			row := []byte{tt.y0, tt.u, tt.y1, tt.v}
			img, err := YUYVToRGBA(append(append([]byte{}, row...), row...), 2, 2)
			if err != nil {
				t.Fatal(err)
			}
			for y := 0; y < 2; y++ {
				for x, want := range []color.RGBA{tt.want0, tt.want1} {
					got := img.RGBAAt(x, y)
					if diff(got.R, want.R) > tt.maxDiffRGB || diff(got.G, want.G) > tt.maxDiffRGB || diff(got.B, want.B) > tt.maxDiffRGB || got.A != 255 {
						t.Errorf("pixel (%d,%d) = %v, want %v", x, y, got, want)
					}
				}
			}
		})
	}
}

func diff(a, b uint8) int {
	if a > b {
		return int(a - b)
	}
	return int(b - a)
}

func TestYUYVToRGBARefusesBadFrames(t *testing.T) {
	tests := []struct {
		name string
		buf  []byte
		w, h int
	}{
		{"an odd width cannot hold pixel pairs", make([]byte, 3*2*2), 3, 2},
		{"a short buffer is refused", make([]byte, 10), 4, 2},
		{"a zero size is refused", nil, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := YUYVToRGBA(tt.buf, tt.w, tt.h); err == nil {
				t.Error("no error")
			}
		})
	}
}

// stripDHT removes every DHT segment from a JPEG, as MJPEG cameras send frames.
func stripDHT(t *testing.T, data []byte) []byte {
	t.Helper()
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
	t.Fatal("no SOS")
	return nil
}

func TestFixMJPEGAddsTheStandardHuffmanTables(t *testing.T) {
	img := image.NewRGBA(image.Rect(0, 0, 64, 48))
	for y := 0; y < 48; y++ {
		for x := 0; x < 64; x++ {
			img.Set(x, y, color.RGBA{uint8(x * 4), uint8(y * 5), uint8(x * y), 255})
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 85}); err != nil {
		t.Fatal(err)
	}
	full := b.Bytes()
	bare := stripDHT(t, full)
	if _, err := jpeg.Decode(bytes.NewReader(bare)); err == nil {
		t.Fatal("a frame without Huffman tables decoded; the test proves nothing")
	}
	tests := []struct {
		name  string
		frame []byte
	}{
		{"a frame without Huffman tables gets the standard ones", bare},
		{"a frame with Huffman tables is left as it is", full},
	}
	want, _ := jpeg.Decode(bytes.NewReader(full))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fixed, err := FixMJPEG(tt.frame)
			if err != nil {
				t.Fatal(err)
			}
			got, err := jpeg.Decode(bytes.NewReader(fixed))
			if err != nil {
				t.Fatalf("decode fixed frame: %v", err)
			}
			if !samePixels(got, want) {
				t.Error("fixed frame decodes to different pixels")
			}
		})
	}
	for _, bad := range [][]byte{nil, []byte("not a jpeg"), full[:2], {0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x01}} {
		if _, err := FixMJPEG(bad); !errors.Is(err, errNotJPEG) {
			t.Errorf("FixMJPEG(%q) = %v, want errNotJPEG", bad, err)
		}
	}
}

func samePixels(a, b image.Image) bool {
	if a.Bounds() != b.Bounds() {
		return false
	}
	for y := a.Bounds().Min.Y; y < a.Bounds().Max.Y; y++ {
		for x := a.Bounds().Min.X; x < a.Bounds().Max.X; x++ {
			r1, g1, b1, _ := a.At(x, y).RGBA()
			r2, g2, b2, _ := b.At(x, y).RGBA()
			if r1 != r2 || g1 != g2 || b1 != b2 {
				return false
			}
		}
	}
	return true
}
