package uvc

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
)

// YUYVToRGBA converts a packed YUYV 4:2:2 frame (Y0 U Y1 V per pixel pair) of the given size to RGBA,
// using the BT.601 limited-range ("studio swing", Y 16–235) equations cameras use. The width must be
// even and the buffer at least width×height×2 bytes (drivers may pad the end).
func YUYVToRGBA(buf []byte, width, height int) (*image.RGBA, error) {
	if width <= 0 || height <= 0 || width%2 != 0 {
		return nil, fmt.Errorf("uvc: YUYV frame size %d×%d: width must be even and positive", width, height)
	}
	if len(buf) < width*height*2 {
		return nil, fmt.Errorf("uvc: YUYV frame %d×%d needs %d bytes, got %d", width, height, width*height*2, len(buf))
	}
	img := image.NewRGBA(image.Rect(0, 0, width, height))
	for y := 0; y < height; y++ {
		src := buf[y*width*2 : (y+1)*width*2]
		dst := img.Pix[y*img.Stride:]
		for i, o := 0, 0; i < len(src); i, o = i+4, o+8 {
			u, v := int(src[i+1])-128, int(src[i+3])-128
			ru := 409 * v
			gu := -100*u - 208*v
			bu := 516 * u
			c0 := 298 * (int(src[i]) - 16)
			c1 := 298 * (int(src[i+2]) - 16)
			dst[o] = clip((c0 + ru + 128) >> 8)
			dst[o+1] = clip((c0 + gu + 128) >> 8)
			dst[o+2] = clip((c0 + bu + 128) >> 8)
			dst[o+3] = 255
			dst[o+4] = clip((c1 + ru + 128) >> 8)
			dst[o+5] = clip((c1 + gu + 128) >> 8)
			dst[o+6] = clip((c1 + bu + 128) >> 8)
			dst[o+7] = 255
		}
	}
	return img, nil
}

func clip(v int) uint8 {
	if v < 0 {
		return 0
	}
	if v > 255 {
		return 255
	}
	return uint8(v)
}

// errNotJPEG means an MJPEG frame does not start like a JPEG (a torn or empty buffer).
var errNotJPEG = errors.New("uvc: MJPEG frame is not a JPEG")

// FixMJPEG makes an MJPEG frame a standalone JPEG. Many UVC cameras leave out the Huffman tables
// (DHT) and rely on the standard ones of JPEG Annex K.3, as the MJPEG AVI convention allows; image
// decoders, browsers and PDF viewers need them present. A frame that already has tables is returned
// as it is.
func FixMJPEG(frame []byte) ([]byte, error) {
	if len(frame) < 4 || frame[0] != 0xFF || frame[1] != 0xD8 {
		return nil, errNotJPEG
	}
	// Walk the marker segments up to the start of scan.
	for i := 2; i+4 <= len(frame); {
		if frame[i] != 0xFF {
			return nil, fmt.Errorf("%w: no marker at %d", errNotJPEG, i)
		}
		marker := frame[i+1]
		if marker == 0xFF { // fill byte
			i++
			continue
		}
		switch marker {
		case 0xC4: // DHT present
			return frame, nil
		case 0xDA: // SOS: no DHT before it; insert the standard tables here
			out := make([]byte, 0, len(frame)+len(standardDHT))
			out = append(out, frame[:i]...)
			out = append(out, standardDHT...)
			return append(out, frame[i:]...), nil
		}
		n := int(frame[i+2])<<8 | int(frame[i+3])
		if n < 2 {
			return nil, fmt.Errorf("%w: bad segment length at %d", errNotJPEG, i)
		}
		i += 2 + n
	}
	return nil, fmt.Errorf("%w: no start of scan", errNotJPEG)
}

// standardDHT is a DHT segment with the four Huffman tables of JPEG Annex K.3 (the ones MJPEG
// cameras assume).
var standardDHT = func() []byte {
	tables := []struct {
		class byte // 0x00 DC luminance, 0x10 AC luminance, 0x01 DC chrominance, 0x11 AC chrominance
		bits  [16]byte
		vals  []byte
	}{
		{0x00, [16]byte{0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0}, []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}},
		{0x10, [16]byte{0, 2, 1, 3, 3, 2, 4, 3, 5, 5, 4, 4, 0, 0, 1, 125}, []byte{
			0x01, 0x02, 0x03, 0x00, 0x04, 0x11, 0x05, 0x12, 0x21, 0x31, 0x41, 0x06, 0x13, 0x51, 0x61, 0x07,
			0x22, 0x71, 0x14, 0x32, 0x81, 0x91, 0xa1, 0x08, 0x23, 0x42, 0xb1, 0xc1, 0x15, 0x52, 0xd1, 0xf0,
			0x24, 0x33, 0x62, 0x72, 0x82, 0x09, 0x0a, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x25, 0x26, 0x27, 0x28,
			0x29, 0x2a, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49,
			0x4a, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69,
			0x6a, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89,
			0x8a, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7,
			0xa8, 0xa9, 0xaa, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xc2, 0xc3, 0xc4, 0xc5,
			0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xe1, 0xe2,
			0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9, 0xea, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8,
			0xf9, 0xfa,
		}},
		{0x01, [16]byte{0, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0}, []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}},
		{0x11, [16]byte{0, 2, 1, 2, 4, 4, 3, 4, 7, 5, 4, 4, 0, 1, 2, 119}, []byte{
			0x00, 0x01, 0x02, 0x03, 0x11, 0x04, 0x05, 0x21, 0x31, 0x06, 0x12, 0x41, 0x51, 0x07, 0x61, 0x71,
			0x13, 0x22, 0x32, 0x81, 0x08, 0x14, 0x42, 0x91, 0xa1, 0xb1, 0xc1, 0x09, 0x23, 0x33, 0x52, 0xf0,
			0x15, 0x62, 0x72, 0xd1, 0x0a, 0x16, 0x24, 0x34, 0xe1, 0x25, 0xf1, 0x17, 0x18, 0x19, 0x1a, 0x26,
			0x27, 0x28, 0x29, 0x2a, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48,
			0x49, 0x4a, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68,
			0x69, 0x6a, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87,
			0x88, 0x89, 0x8a, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0xa2, 0xa3, 0xa4, 0xa5,
			0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xc2, 0xc3,
			0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda,
			0xe2, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9, 0xea, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8,
			0xf9, 0xfa,
		}},
	}
	var body []byte
	for _, t := range tables {
		body = append(body, t.class)
		body = append(body, t.bits[:]...)
		body = append(body, t.vals...)
	}
	n := len(body) + 2
	return append([]byte{0xFF, 0xC4, byte(n >> 8), byte(n)}, body...)
}()

// frameJPEG turns a raw frame in mode m into a JPEG and its actual size. MJPEG frames pass through
// (with Huffman tables added when missing); YUYV frames are converted and encoded at quality q.
func frameJPEG(raw []byte, m Mode, q int) ([]byte, int, int, error) {
	switch m.FourCC {
	case FormatMJPEG:
		data, err := FixMJPEG(raw)
		if err != nil {
			return nil, 0, 0, err
		}
		cfg, err := jpeg.DecodeConfig(bytes.NewReader(data))
		if err != nil {
			return nil, 0, 0, fmt.Errorf("%w: %v", errNotJPEG, err)
		}
		return bytes.Clone(data), cfg.Width, cfg.Height, nil
	case FormatYUYV:
		img, err := YUYVToRGBA(raw, m.Width, m.Height)
		if err != nil {
			return nil, 0, 0, err
		}
		var b bytes.Buffer
		if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: q}); err != nil {
			return nil, 0, 0, fmt.Errorf("uvc: encode frame: %w", err)
		}
		return b.Bytes(), m.Width, m.Height, nil
	}
	return nil, 0, 0, fmt.Errorf("uvc: unsupported pixel format %s", FourCCString(m.FourCC))
}
