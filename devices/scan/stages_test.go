package scan

import (
	"bytes"
	"image/jpeg"
	"testing"

	"github.com/civic-station/station/devices/scan/scantest"
)

// BenchmarkStages times the parts of Process on a 5 MP photo: decode, find, warp, encode.
func BenchmarkStages(b *testing.B) {
	photo, _, err := scantest.JPEG(scantest.Spec{Angle: 12, Tilt: 6, Seed: 1}, 90)
	if err != nil {
		b.Fatal(err)
	}
	img, err := jpeg.Decode(bytes.NewReader(photo))
	if err != nil {
		b.Fatal(err)
	}
	src := newPlanes(img)
	q, ok := findPage(src.y)
	if !ok {
		b.Fatal("no page")
	}
	page := warp(src, q, A4Width, A4Height, false)
	b.Run("decode 5 MP JPEG", func(b *testing.B) {
		for b.Loop() {
			jpeg.Decode(bytes.NewReader(photo))
		}
	})
	b.Run("find page", func(b *testing.B) {
		for b.Loop() {
			findPage(src.y)
		}
	})
	b.Run("warp to A4", func(b *testing.B) {
		for b.Loop() {
			warp(src, q, A4Width, A4Height, false)
		}
	})
	b.Run("encode one quality", func(b *testing.B) {
		var buf bytes.Buffer
		for b.Loop() {
			buf.Reset()
			jpeg.Encode(&buf, page, &jpeg.Options{Quality: 70})
		}
	})
	b.Run("encode to target", func(b *testing.B) {
		for b.Loop() {
			encodeTarget(page, DefaultTargetBytes, DefaultMinQuality, DefaultMaxQuality)
		}
	})
}
