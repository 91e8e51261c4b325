// Package sam is the byte-level codec of the GA 467 security access module (SAM) protocol that
// resident ID card readers speak over a serial line: command and response frames, the SW3 status
// codes as typed errors, and the 256-byte text block of the four card types (resident ID card,
// HK/Macau/Taiwan residence permit, foreign permanent resident card 2017 and 2023).
//
// The package is pure: it does no I/O beyond the io.Reader handed to a Decoder, so both the serial
// driver (devices/idcard) and the simulator (devices/sim/samsim) use it, and fuzz tests reach every
// parser of outside bytes.
//
// A frame is the same in both directions:
//
//	AA AA AA 96 69 | LEN_hi LEN_lo | body | CHK
//
// where LEN counts the body and the checksum byte, and CHK is the XOR of the two LEN bytes and every
// body byte. A command body is CMD PARA [data]; a response body is SW1 SW2 SW3 [data].
package sam

import (
	"bufio"
	"errors"
	"fmt"
	"io"
)

// Preamble starts every frame.
var Preamble = [5]byte{0xAA, 0xAA, 0xAA, 0x96, 0x69}

// Frame size limits. LEN counts the body and the checksum byte.
const (
	// MinLen is the smallest LEN a frame can carry: a command's CMD PARA plus the checksum.
	MinLen = 3
	// MaxLen is the largest LEN the protocol produces: the reply to "read text + photo +
	// fingerprint" with a 1024-byte fingerprint (SW1 SW2 SW3, three lengths, 256 + 1024 + 1024
	// bytes, checksum). A decoder never allocates more than this from a length field.
	MaxLen = 3 + 6 + TextLen + PhotoLen + MaxFingerprintLen + 1
	// MaxFrame is the largest whole frame on the wire: preamble, LEN and MaxLen bytes.
	MaxFrame = len(Preamble) + 2 + MaxLen
)

// Sizes of the fields a card read returns.
const (
	TextLen           = 256  // the text block
	PhotoLen          = 1024 // the WLT-compressed photo
	AddressLen        = 70   // the appended address (UCS-2LE, space padded)
	MaxFingerprintLen = 1024 // two 512-byte fingerprint templates
	SAMIDLen          = 16
)

// Errors of frame decoding. They wrap nothing: the frame is just bad.
var (
	// ErrChecksum means a frame's checksum byte did not match its LEN and body.
	ErrChecksum = errors.New("sam: frame checksum mismatch")
	// ErrLength means a frame's LEN is outside the protocol's bounds, or a reply's data does not
	// have the length its command requires.
	ErrLength = errors.New("sam: bad frame length")
	// ErrMalformed means a frame is well delimited but its content is not a valid command or reply.
	ErrMalformed = errors.New("sam: malformed frame")
	// ErrNoPreamble means the decoder skipped more than MaxFrame bytes without finding a preamble.
	ErrNoPreamble = errors.New("sam: no frame preamble in the byte stream")
)

// Command is a command's CMD and PARA bytes.
type Command struct {
	Cmd, Para byte
}

// The commands a reader understands.
var (
	CmdResetSAM          = Command{0x10, 0xFF} // reset the SAM
	CmdSAMStatus         = Command{0x11, 0xFF} // SAM self-test status
	CmdReadSAMID         = Command{0x12, 0xFF} // read the 16-byte SAM ID
	CmdFindCard          = Command{0x20, 0x01} // is a card in the field?
	CmdSelectCard        = Command{0x20, 0x02} // select the card found
	CmdReadText          = Command{0x30, 0x01} // read text + photo
	CmdReadTextFinger    = Command{0x30, 0x10} // read text + photo + fingerprint
	CmdReadAppendAddress = Command{0x30, 0x03} // read the appended (new) address
)

// Commands lists every command in the order of the reference.
var Commands = []Command{CmdResetSAM, CmdSAMStatus, CmdReadSAMID, CmdFindCard, CmdSelectCard,
	CmdReadText, CmdReadTextFinger, CmdReadAppendAddress}

// String names the command for logs.
func (c Command) String() string {
	switch c {
	case CmdResetSAM:
		return "reset-sam"
	case CmdSAMStatus:
		return "sam-status"
	case CmdReadSAMID:
		return "read-sam-id"
	case CmdFindCard:
		return "find-card"
	case CmdSelectCard:
		return "select-card"
	case CmdReadText:
		return "read-text-photo"
	case CmdReadTextFinger:
		return "read-text-photo-fingerprint"
	case CmdReadAppendAddress:
		return "read-appended-address"
	}
	return fmt.Sprintf("command-%02X%02X", c.Cmd, c.Para)
}

// Checksum returns the XOR of the two LEN bytes and every body byte, for a frame carrying body.
func Checksum(body []byte) byte {
	n := len(body) + 1
	c := byte(n>>8) ^ byte(n)
	for _, b := range body {
		c ^= b
	}
	return c
}

// EncodeFrame wraps body in a frame: preamble, LEN, body, checksum. It panics if body is longer
// than the protocol allows, which is a programming error.
func EncodeFrame(body []byte) []byte {
	n := len(body) + 1
	if n < MinLen || n > MaxLen {
		panic(fmt.Sprintf("sam: frame body of %d bytes is out of bounds", len(body)))
	}
	out := make([]byte, 0, len(Preamble)+2+n)
	out = append(out, Preamble[:]...)
	out = append(out, byte(n>>8), byte(n))
	out = append(out, body...)
	return append(out, Checksum(body))
}

// EncodeCommand returns the frame of a command without data (all the reader's commands).
func EncodeCommand(c Command) []byte {
	return EncodeFrame([]byte{c.Cmd, c.Para})
}

// EncodeResponse returns the frame of a reply with status sw3 and data (SW1 = SW2 = 0).
func EncodeResponse(sw3 Code, data []byte) []byte {
	body := make([]byte, 0, 3+len(data))
	body = append(body, 0, 0, byte(sw3))
	return EncodeFrame(append(body, data...))
}

// Decoder reads frames from a byte stream. It skips garbage before a preamble, checks LEN against
// the protocol's bounds before reading (so an untrusted length never causes a large allocation) and
// verifies the checksum. A bad frame is consumed whole; the next call starts after it.
type Decoder struct {
	r *bufio.Reader
	// Skipped counts the garbage bytes skipped before preambles so far.
	Skipped int
}

// NewDecoder returns a Decoder reading from r.
func NewDecoder(r io.Reader) *Decoder {
	return &Decoder{r: bufio.NewReaderSize(r, 512)}
}

// Next returns the body of the next frame (without preamble, LEN or checksum). Errors: ErrChecksum,
// ErrLength, ErrNoPreamble, io.EOF when the stream ended cleanly between frames,
// io.ErrUnexpectedEOF when it ended inside a frame, or the underlying reader's error.
func (d *Decoder) Next() ([]byte, error) {
	if err := d.sync(); err != nil {
		return nil, err
	}
	var lb [2]byte
	if _, err := io.ReadFull(d.r, lb[:]); err != nil {
		return nil, inFrame(err)
	}
	n := int(lb[0])<<8 | int(lb[1])
	if n < MinLen || n > MaxLen {
		return nil, fmt.Errorf("%w: LEN %d not in %d..%d", ErrLength, n, MinLen, MaxLen)
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(d.r, buf); err != nil {
		return nil, inFrame(err)
	}
	body, chk := buf[:n-1], buf[n-1]
	if Checksum(body) != chk {
		return nil, ErrChecksum
	}
	return body, nil
}

// sync consumes bytes up to and including the next preamble.
func (d *Decoder) sync() error {
	matched, skipped := 0, 0
	for {
		b, err := d.r.ReadByte()
		if err != nil {
			if matched > 0 {
				return inFrame(err)
			}
			return err
		}
		var garbage int
		switch {
		case b == Preamble[matched]:
			matched++
			if matched == len(Preamble) {
				return nil
			}
			continue
		case matched == 3 && b == 0xAA:
			garbage = 1 // AA AA AA AA …: the first AA was garbage; stay three deep.
		case b == 0xAA:
			garbage, matched = matched, 1
		default:
			garbage, matched = matched+1, 0
		}
		skipped += garbage
		d.Skipped += garbage
		if skipped > MaxFrame {
			return ErrNoPreamble
		}
	}
}

func inFrame(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// ParseCommand splits a command frame's body into its command and data.
func ParseCommand(body []byte) (Command, []byte, error) {
	if len(body) < 2 {
		return Command{}, nil, fmt.Errorf("%w: command body of %d bytes", ErrMalformed, len(body))
	}
	return Command{body[0], body[1]}, body[2:], nil
}

// Response is a reader's reply.
type Response struct {
	SW3  Code
	Data []byte
}

// ParseResponse checks a reply frame's body (SW1 = SW2 = 0) and splits off its status.
func ParseResponse(body []byte) (Response, error) {
	if len(body) < 3 {
		return Response{}, fmt.Errorf("%w: reply body of %d bytes", ErrMalformed, len(body))
	}
	if body[0] != 0 || body[1] != 0 {
		return Response{}, fmt.Errorf("%w: SW1 SW2 = %02X %02X", ErrMalformed, body[0], body[1])
	}
	return Response{SW3: Code(body[2]), Data: body[3:]}, nil
}

// Err returns nil when the reply reports success (90 or 9F) and a *StatusError otherwise.
func (r Response) Err() error {
	if r.SW3.OK() {
		return nil
	}
	return &StatusError{Code: r.SW3}
}

// CardData is what a "read text + photo [+ fingerprint]" reply carries.
type CardData struct {
	Text        []byte // 256 bytes
	Photo       []byte // 1024 bytes of WLT
	Fingerprint []byte // 0, 512 or 1024 bytes; nil for the plain text + photo read
}

// ParseCardData splits the data of a successful read reply. withFinger says whether the command was
// CmdReadTextFinger (three lengths) or CmdReadText (two). Errors wrap ErrLength.
func ParseCardData(data []byte, withFinger bool) (CardData, error) {
	nlen := 2
	if withFinger {
		nlen = 3
	}
	if len(data) < 2*nlen {
		return CardData{}, fmt.Errorf("%w: read reply of %d bytes has no field lengths", ErrLength, len(data))
	}
	tl := int(data[0])<<8 | int(data[1])
	pl := int(data[2])<<8 | int(data[3])
	fl := 0
	if withFinger {
		fl = int(data[4])<<8 | int(data[5])
	}
	if tl != TextLen || pl != PhotoLen || (fl != 0 && fl != 512 && fl != MaxFingerprintLen) {
		return CardData{}, fmt.Errorf("%w: field lengths text %d, photo %d, fingerprint %d", ErrLength, tl, pl, fl)
	}
	rest := data[2*nlen:]
	if len(rest) != tl+pl+fl {
		return CardData{}, fmt.Errorf("%w: read reply carries %d bytes, lengths say %d", ErrLength, len(rest), tl+pl+fl)
	}
	cd := CardData{Text: rest[:tl], Photo: rest[tl : tl+pl]}
	if withFinger {
		cd.Fingerprint = rest[tl+pl:]
	}
	return cd, nil
}

// EncodeCardData builds the data of a read reply (the inverse of ParseCardData). fingerprint is
// ignored unless withFinger.
func EncodeCardData(text, photo, fingerprint []byte, withFinger bool) []byte {
	out := []byte{byte(len(text) >> 8), byte(len(text)), byte(len(photo) >> 8), byte(len(photo))}
	if withFinger {
		out = append(out, byte(len(fingerprint)>>8), byte(len(fingerprint)))
	}
	out = append(out, text...)
	out = append(out, photo...)
	if withFinger {
		out = append(out, fingerprint...)
	}
	return out
}
