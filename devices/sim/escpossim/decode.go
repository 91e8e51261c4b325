package escpossim

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/simplifiedchinese"
)

// Kind says what a Block is.
type Kind int

// Block kinds.
const (
	KindText   Kind = iota // a printed line of text (Spans), possibly empty
	KindQR                 // a QR code
	KindRaster             // a raster bit image
	KindFeed               // blank paper: Lines lines plus Dots dots
)

// Span is a run of text printed in one style.
type Span struct {
	Text string
	Bold bool
	W, H int // character width and height multipliers, 1–8
}

// Raster is a 1-bit image as GS v 0 sent it: rows of Stride bytes, most significant bit leftmost,
// a set bit black.
type Raster struct {
	Width, Height int // dots
	Bits          []byte
}

// At reports whether the dot at x, y is black.
func (r *Raster) At(x, y int) bool {
	stride := (r.Width + 7) / 8
	return r.Bits[y*stride+x/8]&(0x80>>(x%8)) != 0
}

// Block is one printed element of a job, in paper order.
type Block struct {
	Kind     Kind
	Align    int // 0 left, 1 centre, 2 right
	Spans    []Span
	QR       string // QR data
	QRModule int    // dots per module
	QRLevel  byte   // 'L', 'M', 'Q', 'H'
	Raster   *Raster
	Lines    int // feed lines
	Dots     int // feed dots
}

// Text is the block as plain text: the line, "[二维码] data", "[图像]", or "" for a feed (Job.Text
// writes a feed of n lines as n empty lines).
func (b Block) Text() string {
	switch b.Kind {
	case KindQR:
		return "[二维码] " + b.QR
	case KindRaster:
		return "[图像]"
	case KindFeed:
		return ""
	}
	var s strings.Builder
	for _, sp := range b.Spans {
		s.WriteString(sp.Text)
	}
	return s.String()
}

// printerState is the printer state the simulator reports to status queries.
type printerState struct {
	PaperOut, PaperNearEnd, CoverOpen bool
}

// Replies to the real-time status requests DLE EOT n, written from the printer's side of the
// specification: every byte has bits 1 and 4 set.
func (s printerState) realtime(n byte) byte {
	b := byte(0x12)
	switch n {
	case 1: // printer: bit 3 offline
		if s.PaperOut || s.CoverOpen {
			b |= 0x08
		}
	case 2: // offline cause: bit 2 cover open, bit 5 stopped by paper end
		if s.CoverOpen {
			b |= 0x04
		}
		if s.PaperOut {
			b |= 0x20
		}
	case 3: // error cause: none simulated
	case 4: // roll paper: bits 2-3 near end, bits 5-6 end
		if s.PaperNearEnd || s.PaperOut {
			b |= 0x0C
		}
		if s.PaperOut {
			b |= 0x60
		}
	}
	return b
}

// Limits on what one command may make the simulator hold.
const (
	maxRasterBytes = 1 << 22
	maxLineBytes   = 1 << 16
)

var errTooBig = errors.New("escpossim: command too large")

// decoder parses an ESC/POS byte stream, answers status requests on w, and calls job with the
// blocks of each job at a cut (and at the end of the stream, if anything was printed).
type decoder struct {
	r      *bufio.Reader
	w      io.Writer
	status func() (printerState, bool) // the state now, and whether to answer at all
	job    func([]Block)

	chinese bool
	bold    bool
	wm, hm  int
	align   int

	qrModule int
	qrLevel  byte
	qrData   []byte

	line   []Span
	raw    []byte // text bytes of the current span
	blocks []Block
}

func newDecoder(r io.Reader, w io.Writer, status func() (printerState, bool), job func([]Block)) *decoder {
	d := &decoder{r: bufio.NewReader(r), w: w, status: status, job: job}
	d.reset()
	return d
}

func (d *decoder) reset() {
	d.flushSpan()
	d.chinese, d.bold, d.wm, d.hm, d.align = false, false, 1, 1, 0
	d.qrModule, d.qrLevel, d.qrData = 3, 'L', nil
}

// run decodes until the stream ends; io.EOF is a clean end.
func (d *decoder) run() error {
	for {
		err := d.step()
		if err != nil {
			if errors.Is(err, io.EOF) {
				d.endJob()
				return nil
			}
			return err
		}
	}
}

func (d *decoder) byte() (byte, error) { return d.r.ReadByte() }

func (d *decoder) bytes(n int) ([]byte, error) {
	b := make([]byte, n)
	_, err := io.ReadFull(d.r, b)
	return b, err
}

func (d *decoder) skip(n int) error {
	_, err := d.r.Discard(n)
	return err
}

func (d *decoder) step() error {
	c, err := d.byte()
	if err != nil {
		return err
	}
	switch c {
	case 0x0A:
		d.newline()
	case 0x0D, 0x00:
	case 0x09:
		d.text(' ')
	case 0x0C: // FF: print (page mode end); treated as a line end
		d.newline()
	case 0x10:
		return d.dle()
	case 0x1B:
		return d.esc()
	case 0x1C:
		return d.fs()
	case 0x1D:
		return d.gs()
	default:
		if c >= 0x20 {
			d.text(c)
		}
	}
	return nil
}

func (d *decoder) dle() error {
	c, err := d.byte()
	if err != nil {
		return err
	}
	switch c {
	case 0x04: // DLE EOT n
		n, err := d.byte()
		if err != nil {
			return err
		}
		if n == 7 || n == 8 || n == 18 {
			return d.skip(1)
		}
		if n >= 1 && n <= 4 {
			if st, ok := d.status(); ok {
				if _, err := d.w.Write([]byte{st.realtime(n)}); err != nil {
					return err
				}
			}
		}
	case 0x05: // DLE ENQ n
		return d.skip(1)
	case 0x14: // DLE DC4 fn a b
		return d.skip(3)
	}
	return nil
}

func (d *decoder) esc() error {
	c, err := d.byte()
	if err != nil {
		return err
	}
	arg := func() (byte, error) { return d.byte() }
	switch c {
	case '@':
		d.reset()
	case 'E', 'G':
		n, err := arg()
		if err != nil {
			return err
		}
		d.style(n&1 == 1, d.wm, d.hm)
	case '!':
		n, err := arg()
		if err != nil {
			return err
		}
		w, h := 1, 1
		if n&0x20 != 0 {
			w = 2
		}
		if n&0x10 != 0 {
			h = 2
		}
		d.style(n&0x08 != 0, w, h)
	case 'a':
		n, err := arg()
		if err != nil {
			return err
		}
		d.align = int(n % 48 % 3)
	case 'd':
		n, err := arg()
		if err != nil {
			return err
		}
		d.flushLine()
		d.blocks = append(d.blocks, Block{Kind: KindFeed, Lines: int(n)})
	case 'J':
		n, err := arg()
		if err != nil {
			return err
		}
		d.flushLine()
		d.blocks = append(d.blocks, Block{Kind: KindFeed, Dots: int(n)})
	case 'i', 'm': // old-style full and partial cuts
		d.endJob()
	case '-', '3', 't', 'M', 'R', 'V', '{', 'U', 'r', 'L', 'S', 'T', ' ', '%', 'c', 'e', 'D':
		if c == 'D' { // tab positions, NUL-terminated
			_, err := d.r.ReadBytes(0)
			return err
		}
		if c == 'c' {
			return d.skip(2)
		}
		return d.skip(1)
	case 'p': // drawer kick m t1 t2
		return d.skip(3)
	case 'B': // beeper on Chinese printers: n t
		return d.skip(2)
	case '$', '\\':
		return d.skip(2)
	}
	return nil
}

func (d *decoder) fs() error {
	c, err := d.byte()
	if err != nil {
		return err
	}
	switch c {
	case '&':
		d.flushSpan()
		d.chinese = true
	case '.':
		d.flushSpan()
		d.chinese = false
	case '!', '-', 'C', 'W':
		return d.skip(1)
	case 'S':
		return d.skip(2)
	}
	return nil
}

func (d *decoder) gs() error {
	c, err := d.byte()
	if err != nil {
		return err
	}
	switch c {
	case '!':
		n, err := d.byte()
		if err != nil {
			return err
		}
		d.style(d.bold, int(n>>4&7)+1, int(n&7)+1)
	case 'V':
		m, err := d.byte()
		if err != nil {
			return err
		}
		dots := 0
		if m >= 65 {
			n, err := d.byte()
			if err != nil {
				return err
			}
			dots = int(n)
		}
		d.flushLine()
		if dots > 0 {
			d.blocks = append(d.blocks, Block{Kind: KindFeed, Dots: dots})
		}
		d.endJob()
	case '(':
		return d.gsParen()
	case 'v':
		return d.raster()
	case 'r': // transmit status (processed in order, after the data before it)
		n, err := d.byte()
		if err != nil {
			return err
		}
		if st, ok := d.status(); ok && (n == 1 || n == 49) {
			b := byte(0)
			if st.PaperNearEnd || st.PaperOut {
				b |= 0x03
			}
			if st.PaperOut {
				b |= 0x0C
			}
			if _, err := d.w.Write([]byte{b}); err != nil {
				return err
			}
		}
	case 'B', 'H', 'h', 'w', 'f', 'a', 'I', 'b', '/', 'E', 'j':
		return d.skip(1)
	case 'L', 'W', 'P', 'T':
		return d.skip(2)
	case 'k':
		m, err := d.byte()
		if err != nil {
			return err
		}
		if m <= 6 {
			_, err := d.r.ReadBytes(0)
			return err
		}
		n, err := d.byte()
		if err != nil {
			return err
		}
		return d.skip(int(n))
	case '*':
		x, err := d.byte()
		if err != nil {
			return err
		}
		y, err := d.byte()
		if err != nil {
			return err
		}
		return d.skip(int(x) * int(y) * 8)
	}
	return nil
}

// gsParen handles GS ( fn pL pH …; only GS ( k with cn = 49 (QR code) is interpreted.
func (d *decoder) gsParen() error {
	fn, err := d.byte()
	if err != nil {
		return err
	}
	p, err := d.bytes(2)
	if err != nil {
		return err
	}
	n := int(p[0]) | int(p[1])<<8
	body, err := d.bytes(n)
	if err != nil {
		return err
	}
	if fn != 'k' || n < 2 || body[0] != 0x31 {
		return nil
	}
	switch body[1] {
	case 0x43: // module size
		if n >= 3 && body[2] >= 1 && body[2] <= 16 {
			d.qrModule = int(body[2])
		}
	case 0x45: // error correction level
		if n >= 3 && body[2] >= 48 && body[2] <= 51 {
			d.qrLevel = "LMQH"[body[2]-48]
		}
	case 0x50: // store
		if n >= 3 {
			d.qrData = append([]byte(nil), body[3:]...)
		}
	case 0x51: // print
		if len(d.qrData) > 0 {
			d.flushLine()
			d.blocks = append(d.blocks, Block{Kind: KindQR, Align: d.align, QR: string(d.qrData), QRModule: d.qrModule, QRLevel: d.qrLevel})
		}
	}
	return nil
}

// raster handles GS v 0 m xL xH yL yH data.
func (d *decoder) raster() error {
	h, err := d.bytes(6)
	if err != nil {
		return err
	}
	if h[0] != '0' {
		return fmt.Errorf("escpossim: GS v %#02x is not GS v 0", h[0])
	}
	x := int(h[2]) | int(h[3])<<8
	y := int(h[4]) | int(h[5])<<8
	if x*y > maxRasterBytes {
		return fmt.Errorf("%w: raster %d×%d bytes", errTooBig, x, y)
	}
	bits, err := d.bytes(x * y)
	if err != nil {
		return err
	}
	d.flushLine()
	d.blocks = append(d.blocks, Block{Kind: KindRaster, Align: d.align, Raster: &Raster{Width: x * 8, Height: y, Bits: bits}})
	return nil
}

func (d *decoder) text(c byte) {
	if len(d.raw) < maxLineBytes {
		d.raw = append(d.raw, c)
	}
}

// style changes the text style, closing the current span.
func (d *decoder) style(bold bool, w, h int) {
	if bold == d.bold && w == d.wm && h == d.hm {
		return
	}
	d.flushSpan()
	d.bold, d.wm, d.hm = bold, w, h
}

var (
	gb18030 = simplifiedchinese.GB18030
	cp437   = charmap.CodePage437
)

func (d *decoder) flushSpan() {
	if len(d.raw) == 0 {
		return
	}
	var s []byte
	if d.chinese {
		s, _ = gb18030.NewDecoder().Bytes(d.raw)
	} else {
		s, _ = cp437.NewDecoder().Bytes(d.raw)
	}
	d.line = append(d.line, Span{Text: string(s), Bold: d.bold, W: d.wm, H: d.hm})
	d.raw = d.raw[:0]
}

// newline ends the current line (LF), printing it even when empty.
func (d *decoder) newline() {
	d.flushSpan()
	d.blocks = append(d.blocks, Block{Kind: KindText, Align: d.align, Spans: d.line})
	d.line = nil
}

// flushLine prints a pending unterminated line, as the printer does before an image or a feed.
func (d *decoder) flushLine() {
	if len(d.raw) > 0 || len(d.line) > 0 {
		d.newline()
	}
}

func (d *decoder) endJob() {
	d.flushLine()
	if len(d.blocks) > 0 {
		blocks := d.blocks
		d.blocks = nil
		d.job(blocks)
	}
}

// Decode parses an ESC/POS byte stream as a simulator with paper would, and returns its jobs (a
// job ends at a cut, or at the end of data). Status requests are parsed and their answers dropped.
// r renders the jobs' images; nil means a renderer at 80 mm without a font.
func Decode(data []byte, r *Renderer) ([]*Job, error) {
	if r == nil {
		r = &Renderer{width: 576}
	}
	var jobs []*Job
	d := newDecoder(bytes.NewReader(data), io.Discard, func() (printerState, bool) { return printerState{}, true }, func(b []Block) {
		jobs = append(jobs, &Job{Seq: len(jobs) + 1, Blocks: b, renderer: r})
	})
	err := d.run()
	return jobs, err
}
