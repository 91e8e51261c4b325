package escpos

import (
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/civic-station/station/devices"
	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/simplifiedchinese"
)

// Encoder writes ESC/POS commands. The command methods append to an internal buffer; Flush writes
// it to the underlying writer in one Write, so a job reaches a network printer as one stream.
// An Encoder is not safe for concurrent use.
type Encoder struct {
	w    io.Writer
	font *Font
	buf  []byte
	gb   *encoding.Encoder
	gbk  *encoding.Encoder

	// style last sent, to send only changes
	bold, double bool
	align        devices.Align
}

// NewEncoder returns an Encoder writing to w. font draws lines the printer's font lacks; it may be
// nil, and then such lines fail with ErrNoFont.
func NewEncoder(w io.Writer, font *Font) *Encoder {
	return &Encoder{
		w:    w,
		font: font,
		gb:   simplifiedchinese.GB18030.NewEncoder(),
		gbk:  simplifiedchinese.GBK.NewEncoder(),
	}
}

// Bytes returns the commands not yet flushed.
func (e *Encoder) Bytes() []byte { return e.buf }

// Flush writes the buffered commands to the writer.
func (e *Encoder) Flush() error {
	if len(e.buf) == 0 {
		return nil
	}
	_, err := e.w.Write(e.buf)
	e.buf = e.buf[:0]
	return err
}

// Init resets the printer (ESC @): styles off, alignment left, buffer cleared.
func (e *Encoder) Init() {
	e.buf = append(e.buf, esc, '@')
	e.bold, e.double, e.align = false, false, devices.AlignLeft
}

// Chinese turns Chinese character mode on (FS &), in which two-byte GB codes print as Chinese
// characters, or off (FS .).
func (e *Encoder) Chinese(on bool) {
	if on {
		e.buf = append(e.buf, fs, '&')
	} else {
		e.buf = append(e.buf, fs, '.')
	}
}

// Bold turns emphasized printing on or off (ESC E n).
func (e *Encoder) Bold(on bool) {
	e.buf = append(e.buf, esc, 'E', b2b(on))
	e.bold = on
}

// Double turns double width and height on or off (GS ! 0x11 / 0x00).
func (e *Encoder) Double(on bool) {
	n := byte(0x00)
	if on {
		n = 0x11
	}
	e.buf = append(e.buf, gs, '!', n)
	e.double = on
}

// Align sets the alignment of the lines that follow (ESC a n).
func (e *Encoder) Align(a devices.Align) {
	e.buf = append(e.buf, esc, 'a', byte(a))
	e.align = a
}

// Text prints s and a line feed. s must be printable by the printer's font (see PrinterHas);
// control characters are replaced by spaces so text cannot smuggle in commands.
func (e *Encoder) Text(s string) error {
	s = sanitize(s)
	b, err := e.gb.Bytes([]byte(s))
	if err != nil {
		return fmt.Errorf("escpos: encode %q as GB18030: %w", s, err)
	}
	e.buf = append(e.buf, b...)
	e.buf = append(e.buf, lf)
	return nil
}

// Feed prints the buffer and feeds n lines (ESC d n).
func (e *Encoder) Feed(n int) {
	for n > 0 {
		k := min(n, 255)
		e.buf = append(e.buf, esc, 'd', byte(k))
		n -= k
	}
}

// QR prints data as a model 2 QR code with modules of size dots (1–16) and the error correction
// level (QRLevelL…QRLevelH): select model, module size, level, store, print (GS ( k).
func (e *Encoder) QR(data string, size int, level byte) error {
	if len(data) == 0 || len(data) > 7089 {
		return fmt.Errorf("escpos: QR data of %d bytes (want 1–7089)", len(data))
	}
	size = min(max(size, 1), 16)
	e.buf = append(e.buf, gs, '(', 'k', 4, 0, 0x31, 0x41, 0x32, 0x00) // model 2
	e.buf = append(e.buf, gs, '(', 'k', 3, 0, 0x31, 0x43, byte(size))
	e.buf = append(e.buf, gs, '(', 'k', 3, 0, 0x31, 0x45, level)
	n := len(data) + 3
	e.buf = append(e.buf, gs, '(', 'k', byte(n), byte(n>>8), 0x31, 0x50, 0x30)
	e.buf = append(e.buf, data...)
	e.buf = append(e.buf, gs, '(', 'k', 3, 0, 0x31, 0x51, 0x30)
	return nil
}

// Raster prints b as a raster bit image at normal density (GS v 0 m=0).
func (e *Encoder) Raster(b *Bitmap) {
	x, y := b.Stride(), b.Height
	e.buf = append(e.buf, gs, 'v', '0', 0, byte(x), byte(x>>8), byte(y), byte(y>>8))
	e.buf = append(e.buf, b.Bits...)
}

// Cut feeds n dots past the cutting position and cuts partially (GS V 66 n).
func (e *Encoder) Cut(n int) {
	e.buf = append(e.buf, gs, 'V', 66, byte(min(max(n, 0), 255)))
}

// Encode appends the commands printing t on paper width dots wide (Width58 or Width80), ending with
// a partial cut: initialise, Chinese mode, then each line as text, a QR code, or — when the line has
// characters the printer's font lacks — a raster image drawn with the Encoder's font.
func (e *Encoder) Encode(t devices.Ticket, width int) error {
	if width <= 0 || width%8 != 0 || width > 2048 {
		return fmt.Errorf("escpos: paper width %d dots", width)
	}
	e.Init()
	e.Chinese(true)
	for _, l := range t.Lines {
		if err := e.line(l, width); err != nil {
			return err
		}
		if l.Feed > 0 {
			e.Feed(l.Feed)
		}
	}
	e.style(false, false, devices.AlignLeft)
	e.Feed(2)
	e.Cut(0)
	return nil
}

func (e *Encoder) line(l devices.TicketLine, width int) error {
	switch {
	case l.QR != "":
		e.style(false, false, l.Align)
		return e.QR(l.QR, qrModule(width), QRLevelM)
	case PrinterHasAll(l.Text):
		e.style(l.Bold, l.Double, l.Align)
		return e.Text(l.Text)
	}
	if e.font == nil {
		return fmt.Errorf("line %q: %w", l.Text, ErrNoFont)
	}
	bm, err := e.font.RenderLine(sanitize(l.Text), l.Bold, l.Double, l.Align, width)
	if err != nil {
		return err
	}
	e.style(false, false, devices.AlignLeft)
	e.Raster(bm)
	return nil
}

// style sends only the style commands that change the printer's state.
func (e *Encoder) style(bold, double bool, a devices.Align) {
	if e.bold != bold {
		e.Bold(bold)
	}
	if e.double != double {
		e.Double(double)
	}
	if e.align != a {
		e.Align(a)
	}
}

// qrModule is the QR module size for the paper: about 6 mm per 20 modules, scanned easily by phones.
func qrModule(width int) int {
	if width >= Width80 {
		return 8
	}
	return 6
}

// PrinterHasAll reports whether every rune of s is in the printer's font (see PrinterHas).
func PrinterHasAll(s string) bool {
	for _, r := range s {
		if !PrinterHas(r) {
			return false
		}
	}
	return true
}

var gbkTable = simplifiedchinese.GBK

// PrinterHas reports whether a GBK printer font has r: ASCII, and the two-byte GBK codes of GB2312
// and GBK proper. Runes the GB18030 encoder maps elsewhere are treated as missing, so the line is
// drawn as an image instead: four-byte codes (CJK Extension A/B…, e.g. 䶮 U+4DAE, 𠮷 U+20BB7 —
// golang.org/x/text maps a few Extension A characters such as 䶮 to two-byte codes GB18030-2005
// took from GBK's user-defined area, where real printer fonts have nothing), private-use runes,
// and the single byte 0x80 (€), which few printers have.
func PrinterHas(r rune) bool {
	switch {
	case r < 0x80:
		return true
	case r >= 0xE000 && r <= 0xF8FF, r == utf8.RuneError:
		return false
	}
	b, err := gbkTable.NewEncoder().Bytes([]byte(string(r)))
	if err != nil || len(b) != 2 {
		return false
	}
	lead, trail := b[0], b[1]
	switch {
	case lead == 0xFE && trail >= 0x50 && trail <= 0xA0: // GB18030-2005 additions in GBK's user area
		return false
	case lead == 0xA6 && (trail >= 0xD9 && trail <= 0xDF || trail == 0xEC || trail == 0xED || trail == 0xF3):
		return false // vertical punctuation forms
	case lead == 0xA8 && (trail == 0xBC || trail == 0xBF):
		return false
	case lead == 0xA9 && trail >= 0x89 && trail <= 0x95: // ideographic description characters
		return false
	case lead >= 0xAA && lead <= 0xAF && trail >= 0xA1, lead >= 0xF8 && trail >= 0xA1, lead >= 0xA1 && lead <= 0xA7 && trail < 0xA1:
		return false // user-defined areas
	}
	return true
}

// sanitize replaces control characters, which would be read as printer commands, by spaces.
func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7F {
			return ' '
		}
		return r
	}, s)
}

func b2b(on bool) byte {
	if on {
		return 1
	}
	return 0
}
