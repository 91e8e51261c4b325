package uvc

import (
	"errors"
	"fmt"
)

// FourCC codes of the pixel formats the driver uses. Document cameras offer MJPEG (compressed, high
// frame rates at full resolution) and YUYV (uncompressed 4:2:2, slow at high resolutions over USB 2).
const (
	FormatMJPEG uint32 = 'M' | 'J'<<8 | 'P'<<16 | 'G'<<24
	FormatYUYV  uint32 = 'Y' | 'U'<<8 | 'Y'<<16 | 'V'<<24
)

// FourCCString spells a FourCC code, e.g. "MJPG".
func FourCCString(code uint32) string {
	b := []byte{byte(code), byte(code >> 8), byte(code >> 16), byte(code >> 24)}
	for i, c := range b {
		if c < 0x20 || c > 0x7e {
			b[i] = '?'
		}
	}
	return string(b)
}

// SizeRange is a frame size a format offers: one size when Min equals Max, otherwise every size in
// the range in the given steps (V4L2 stepwise and continuous sizes).
type SizeRange struct {
	MinWidth, MaxWidth, StepWidth    int
	MinHeight, MaxHeight, StepHeight int
}

// Discrete reports whether the range is a single size.
func (r SizeRange) Discrete() bool { return r.MinWidth == r.MaxWidth && r.MinHeight == r.MaxHeight }

// String formats the range, e.g. "1920×1080" or "160×120–2592×1944".
func (r SizeRange) String() string {
	if r.Discrete() {
		return fmt.Sprintf("%d×%d", r.MaxWidth, r.MaxHeight)
	}
	return fmt.Sprintf("%d×%d–%d×%d", r.MinWidth, r.MinHeight, r.MaxWidth, r.MaxHeight)
}

// Format is a pixel format a device offers, with its frame sizes.
type Format struct {
	FourCC      uint32
	Description string
	Sizes       []SizeRange
}

// Mode is a pixel format at one frame size.
type Mode struct {
	FourCC        uint32
	Width, Height int
}

// String formats the mode, e.g. "MJPG 1280×720".
func (m Mode) String() string {
	return fmt.Sprintf("%s %d×%d", FourCCString(m.FourCC), m.Width, m.Height)
}

func (m Mode) area() int { return m.Width * m.Height }

// ErrNoUsableFormat means the device offers neither MJPEG nor YUYV at any size.
var ErrNoUsableFormat = errors.New("uvc: camera offers neither MJPEG nor YUYV")

// Preview width bounds: wide enough to frame the page, small enough for 10+ fps over USB and in the
// browser.
const (
	PreviewMinWidth = 640
	PreviewMaxWidth = 1280
)

// candidates lists the modes a format offers worth considering: every discrete size, and for a range
// its largest size plus one size inside [minW, maxW] with the largest size's proportions.
func candidates(f Format, minW, maxW int) []Mode {
	var out []Mode
	for _, r := range f.Sizes {
		out = append(out, Mode{f.FourCC, r.MaxWidth, r.MaxHeight})
		if r.Discrete() || r.MaxWidth <= 0 || r.MaxHeight <= 0 {
			continue
		}
		w := min(max(maxW, r.MinWidth), r.MaxWidth)
		if w < minW && r.MaxWidth >= minW {
			w = minW
		}
		h := w * r.MaxHeight / r.MaxWidth
		w = align(w, r.MinWidth, r.StepWidth)
		h = min(max(align(h, r.MinHeight, r.StepHeight), r.MinHeight), r.MaxHeight)
		if w != r.MaxWidth || h != r.MaxHeight {
			out = append(out, Mode{f.FourCC, w, h})
		}
	}
	return out
}

// align rounds v down to min + k·step.
func align(v, min, step int) int {
	if step <= 1 {
		return v
	}
	return min + (v-min)/step*step
}

func usable(formats []Format) []Format {
	var out []Format
	for _, f := range formats {
		if f.FourCC == FormatMJPEG || f.FourCC == FormatYUYV {
			out = append(out, f)
		}
	}
	return out
}

// ChoosePreview picks the preview mode: a width within [minW, maxW], MJPEG when offered there (its
// largest such size), else YUYV (its smallest such size: cheaper to convert and lighter on USB).
// When nothing falls in the range, the size nearest to it, MJPEG first on a tie.
func ChoosePreview(formats []Format, minW, maxW int) (Mode, error) {
	var best Mode
	found := false
	better := func(a, b Mode) bool { // is a a better in-range choice than b?
		if a.FourCC != b.FourCC {
			return a.FourCC == FormatMJPEG
		}
		if a.FourCC == FormatMJPEG {
			return a.area() > b.area()
		}
		return a.area() < b.area()
	}
	for _, f := range usable(formats) {
		for _, m := range candidates(f, minW, maxW) {
			if m.Width < minW || m.Width > maxW {
				continue
			}
			if !found || better(m, best) {
				best, found = m, true
			}
		}
	}
	if found {
		return best, nil
	}
	distance := func(m Mode) int {
		if m.Width < minW {
			return minW - m.Width
		}
		return m.Width - maxW
	}
	for _, f := range usable(formats) {
		for _, m := range candidates(f, minW, maxW) {
			if m.Width <= 0 || m.Height <= 0 {
				continue
			}
			if !found || distance(m) < distance(best) || distance(m) == distance(best) && m.FourCC == FormatMJPEG && best.FourCC != FormatMJPEG {
				best, found = m, true
			}
		}
	}
	if !found {
		return Mode{}, ErrNoUsableFormat
	}
	return best, nil
}

// ChooseStill picks the still mode: the most pixels offered, MJPEG on a tie.
func ChooseStill(formats []Format) (Mode, error) {
	var best Mode
	found := false
	for _, f := range usable(formats) {
		for _, r := range f.Sizes {
			m := Mode{f.FourCC, r.MaxWidth, r.MaxHeight}
			if m.Width <= 0 || m.Height <= 0 {
				continue
			}
			if !found || m.area() > best.area() || m.area() == best.area() && m.FourCC == FormatMJPEG && best.FourCC != FormatMJPEG {
				best, found = m, true
			}
		}
	}
	if !found {
		return Mode{}, ErrNoUsableFormat
	}
	return best, nil
}
