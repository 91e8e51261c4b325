package sam

import (
	"bytes"
	"encoding/hex"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/civic-station/station/devices"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// hexDump formats bytes as lines of 16 hex pairs, the golden files' format.
func hexDump(b []byte) string {
	var sb strings.Builder
	for i := 0; i < len(b); i += 16 {
		end := min(i+16, len(b))
		for j := i; j < end; j++ {
			if j > i {
				sb.WriteByte(' ')
			}
			sb.WriteString(strings.ToUpper(hex.EncodeToString(b[j : j+1])))
		}
		sb.WriteByte('\n')
	}
	return sb.String()
}

// parseHex reads a golden file's hex, ignoring whitespace and '#' comment lines.
func parseHex(t testing.TB, s string) []byte {
	t.Helper()
	var clean strings.Builder
	for _, line := range strings.Split(s, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		clean.WriteString(strings.Join(strings.Fields(line), ""))
	}
	b, err := hex.DecodeString(clean.String())
	if err != nil {
		t.Fatalf("bad hex: %v", err)
	}
	return b
}

// golden compares got with testdata/<name>.hex, rewriting the file under -update, and returns the
// golden bytes.
func golden(t *testing.T, name string, got []byte) []byte {
	t.Helper()
	path := filepath.Join("testdata", name+".hex")
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(hexDump(got)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (run with -update to create it): %v", err)
	}
	want := parseHex(t, string(raw))
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file\n got: %s\nwant: %s", name, hexDump(got), hexDump(want))
	}
	return want
}

func mustHex(t testing.TB, s string) []byte { return parseHex(t, s) }

func TestCommandsMatchTheReference(t *testing.T) {
	// The full command frames as the reference lists them.
	tests := []struct {
		name string
		cmd  Command
		want string
	}{
		{"reset SAM is 10 FF with checksum EC", CmdResetSAM, "AA AA AA 96 69 00 03 10 FF EC"},
		{"SAM status is 11 FF with checksum ED", CmdSAMStatus, "AA AA AA 96 69 00 03 11 FF ED"},
		{"read SAM ID is 12 FF with checksum EE", CmdReadSAMID, "AA AA AA 96 69 00 03 12 FF EE"},
		{"find card is 20 01 with checksum 22", CmdFindCard, "AA AA AA 96 69 00 03 20 01 22"},
		{"select card is 20 02 with checksum 21", CmdSelectCard, "AA AA AA 96 69 00 03 20 02 21"},
		{"read text and photo is 30 01 with checksum 32", CmdReadText, "AA AA AA 96 69 00 03 30 01 32"},
		{"read text, photo and fingerprint is 30 10 with checksum 23", CmdReadTextFinger, "AA AA AA 96 69 00 03 30 10 23"},
		{"read appended address is 30 03 with checksum 30", CmdReadAppendAddress, "AA AA AA 96 69 00 03 30 03 30"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := EncodeCommand(tt.cmd)
			if want := mustHex(t, tt.want); !bytes.Equal(got, want) {
				t.Fatalf("got %X, want %X", got, want)
			}
			golden(t, "frames/cmd-"+tt.cmd.String(), got)
			body, err := NewDecoder(bytes.NewReader(got)).Next()
			if err != nil {
				t.Fatal(err)
			}
			c, data, err := ParseCommand(body)
			if err != nil || c != tt.cmd || len(data) != 0 {
				t.Fatalf("ParseCommand = %v, %X, %v", c, data, err)
			}
		})
	}
}

func TestFindCardReplyMatchesTheReference(t *testing.T) {
	got := EncodeResponse(CardFound, []byte{0, 0, 0, 0})
	want := mustHex(t, "AA AA AA 96 69 00 08 00 00 9F 00 00 00 00 97")
	if !bytes.Equal(got, want) {
		t.Fatalf("got %X, want %X", got, want)
	}
}

func TestChecksumOfTheReferenceExample(t *testing.T) {
	if got := Checksum([]byte{0x20, 0x01}); got != 0x22 {
		t.Fatalf("checksum of 00 03 20 01 = %02X, want 22", got)
	}
}

// sampleText is a text block for response frames: the resident card of text_test.go.
func sampleText(t testing.TB) []byte {
	b, err := EncodeText(&sampleCards[0].card)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// samplePhoto is a stand-in WLT photo: real ones are vendor-compressed, this is a fixed pattern.
func samplePhoto() []byte {
	p := make([]byte, PhotoLen)
	copy(p, "WLf")
	for i := 3; i < len(p); i++ {
		p[i] = byte(i * 7)
	}
	return p
}

func TestResponsesDecode(t *testing.T) {
	text := sampleText(t)
	photo := samplePhoto()
	finger := bytes.Repeat([]byte{0x43, 0x01}, 512)
	addr, err := EncodeAddress("北京市朝阳区望京街道阜通东大街6号院")
	if err != nil {
		t.Fatal(err)
	}
	samID := []byte{0x05, 0x00, 0x01, 0x00, 0x20, 0x21, 0x06, 0x15, 0x00, 0x00, 0x12, 0x34, 0x56, 0x78, 0x9A, 0xBC}
	tests := []struct {
		name  string
		file  string
		sw3   Code
		data  []byte
		check func(t *testing.T, r Response)
	}{
		{"reset SAM succeeds", "reset-ok", OK, nil, nil},
		{"SAM status is fine", "sam-status-ok", OK, nil, nil},
		{"SAM status reports a failed self-test", "sam-status-self-test-failed", SAMSelfTestFailed, nil, nil},
		{"read SAM ID returns 16 bytes", "sam-id", OK, samID, func(t *testing.T, r Response) {
			if len(r.Data) != SAMIDLen {
				t.Errorf("SAM ID of %d bytes", len(r.Data))
			}
		}},
		{"find card finds a card", "find-card-found", CardFound, []byte{0, 0, 0, 0}, nil},
		{"find card finds none", "find-card-none", FindFailed, nil, func(t *testing.T, r Response) {
			if !errors.Is(r.Err(), devices.ErrNoCard) {
				t.Errorf("find failure %v is not ErrNoCard", r.Err())
			}
		}},
		{"select card succeeds with 8 bytes", "select-ok", OK, make([]byte, 8), nil},
		{"select card fails", "select-failed", SelectFailed, nil, nil},
		{"read text and photo returns 256 and 1024 bytes", "read-text-photo", OK, EncodeCardData(text, photo, nil, false), func(t *testing.T, r Response) {
			cd, err := ParseCardData(r.Data, false)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(cd.Text, text) || !bytes.Equal(cd.Photo, photo) || cd.Fingerprint != nil {
				t.Error("text or photo differ")
			}
		}},
		{"read text, photo and fingerprint returns three fields", "read-text-photo-fingerprint", OK, EncodeCardData(text, photo, finger, true), func(t *testing.T, r Response) {
			cd, err := ParseCardData(r.Data, true)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(cd.Fingerprint, finger) {
				t.Error("fingerprint differs")
			}
		}},
		{"read text, photo and fingerprint of a card without fingerprints", "read-text-photo-no-fingerprint", OK, EncodeCardData(text, photo, nil, true), func(t *testing.T, r Response) {
			cd, err := ParseCardData(r.Data, true)
			if err != nil || len(cd.Fingerprint) != 0 {
				t.Fatalf("fingerprint %d bytes, err %v", len(cd.Fingerprint), err)
			}
		}},
		{"read appended address returns 70 bytes", "read-address", OK, addr, func(t *testing.T, r Response) {
			a, err := DecodeAddress(r.Data)
			if err != nil || a != "北京市朝阳区望京街道阜通东大街6号院" {
				t.Errorf("address %q, %v", a, err)
			}
		}},
		{"read appended address of a card without one", "read-address-empty", FieldEmpty, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			frame := golden(t, "frames/resp-"+tt.file, EncodeResponse(tt.sw3, tt.data))
			body, err := NewDecoder(bytes.NewReader(frame)).Next()
			if err != nil {
				t.Fatal(err)
			}
			r, err := ParseResponse(body)
			if err != nil {
				t.Fatal(err)
			}
			if r.SW3 != tt.sw3 || !bytes.Equal(r.Data, tt.data) {
				t.Fatalf("got SW3 %v with %d bytes, want %v with %d", r.SW3, len(r.Data), tt.sw3, len(tt.data))
			}
			if (r.Err() == nil) != tt.sw3.OK() {
				t.Errorf("Err() = %v for %v", r.Err(), tt.sw3)
			}
			if tt.check != nil {
				tt.check(t, r)
			}
		})
	}
}

func TestTheReadReplyIs1295BytesOnTheWire(t *testing.T) {
	frame := EncodeResponse(OK, EncodeCardData(sampleText(t), samplePhoto(), nil, false))
	if len(frame) != 1295 || frame[5] != 0x05 || frame[6] != 0x08 {
		t.Fatalf("read reply is %d bytes with LEN %02X %02X, want 1295 with 05 08", len(frame), frame[5], frame[6])
	}
}

func TestStatusCodes(t *testing.T) {
	tests := []struct {
		code    Code
		name    string
		noCard  bool
		message string // a word the Chinese message must contain
	}{
		{BadChecksum, "checksum error is reported as such", false, "校验"},
		{BadLength, "length error is reported as such", false, "长度"},
		{BadCommand, "an unknown command is reported as such", false, "不支持"},
		{NotPermitted, "a forbidden operation is reported as such", false, "拒绝"},
		{UnknownError, "an unknown error asks to place the card again", false, "重新放置"},
		{CardAuthSAMFailed, "the card failing to authenticate the SAM asks to place it again", false, "重新放置"},
		{SAMAuthCardFailed, "the SAM failing to authenticate the card questions the card", false, "有效证件"},
		{DataVerifyFailed, "a data verification error asks to place the card again", false, "校验"},
		{UnknownCardType, "an unknown card type lists the cards that work", false, "居民身份证"},
		{ReadFailed, "a read failure asks to keep the card still", false, "不要移动"},
		{RandomFailed, "a random-number failure asks to place the card again", false, "重新放置"},
		{SAMSelfTestFailed, "a failed SAM self-test calls staff", false, "工作人员"},
		{SAMNotAuthorised, "an unauthorised SAM calls staff", false, "工作人员"},
		{FindFailed, "find failure means there is no card", true, "未检测到身份证"},
		{SelectFailed, "select failure asks to place the card again", false, "重新放"},
		{FieldEmpty, "an empty field says the card lacks it", false, "没有"},
	}
	seen := map[Code]bool{}
	for _, tt := range tests {
		seen[tt.code] = true
		t.Run(tt.name, func(t *testing.T) {
			frame := golden(t, "frames/status-"+strings.ToLower(hex.EncodeToString([]byte{byte(tt.code)})), EncodeResponse(tt.code, nil))
			body, err := NewDecoder(bytes.NewReader(frame)).Next()
			if err != nil {
				t.Fatal(err)
			}
			r, err := ParseResponse(body)
			if err != nil {
				t.Fatal(err)
			}
			err = r.Err()
			var se *StatusError
			if !errors.As(err, &se) || se.Code != tt.code {
				t.Fatalf("Err() = %v, want a *StatusError with code %v", err, tt.code)
			}
			if errors.Is(err, devices.ErrNoCard) != tt.noCard {
				t.Errorf("errors.Is(ErrNoCard) = %v, want %v", !tt.noCard, tt.noCard)
			}
			if !strings.Contains(se.Message(), tt.message) {
				t.Errorf("message %q does not contain %q", se.Message(), tt.message)
			}
			if !tt.code.Known() || tt.code.Description() == "unrecognised status" || !strings.Contains(se.Error(), tt.code.Description()) {
				t.Errorf("Error() = %q lacks the description", se.Error())
			}
		})
	}
	for _, c := range Codes {
		if !c.OK() && !seen[c] {
			t.Errorf("status code %v has no test", c)
		}
	}
	t.Run("an unrecognised code still gives a typed error and a message", func(t *testing.T) {
		err := Response{SW3: 0x55}.Err()
		var se *StatusError
		if !errors.As(err, &se) || se.Code.Known() || se.Message() == "" {
			t.Fatalf("got %v", err)
		}
	})
}

func TestDecoder(t *testing.T) {
	if MaxLen != 0x090A {
		t.Fatalf("MaxLen = %#x, the tests assume 0x090A", MaxLen)
	}
	find := EncodeCommand(CmdFindCard)
	reply := EncodeResponse(CardFound, []byte{0, 0, 0, 0})
	badChk := append([]byte(nil), reply...)
	badChk[len(badChk)-1] ^= 0xFF
	tests := []struct {
		name    string
		stream  []byte
		bodies  int     // frames decoded before the final error
		final   error   // the error after them
		skipped int     // garbage bytes skipped in all
		errs    []error // errors met along the way (the decoder continues after them)
	}{
		{"a clean frame decodes", find, 1, io.EOF, 0, nil},
		{"garbage before the preamble is skipped", append([]byte{0x00, 0xFF, 0xAA, 0x96, 0x13, 0xAA, 0xAA}, find...), 1, io.EOF, 7, nil},
		{"a fourth AA before 96 69 is skipped", append([]byte{0xAA}, find...), 1, io.EOF, 1, nil},
		{"a broken preamble then a frame resynchronises", append(mustHex(t, "AA AA AA 96 00"), reply...), 1, io.EOF, 5, nil},
		{"two frames back to back both decode", append(append([]byte(nil), find...), reply...), 2, io.EOF, 0, nil},
		{"a bad checksum is rejected and the next frame still decodes", append(append([]byte(nil), badChk...), find...), 1, io.EOF, 0, []error{ErrChecksum}},
		{"a frame cut short is an unexpected EOF", reply[:10], 0, io.ErrUnexpectedEOF, 0, nil},
		{"a preamble cut short is an unexpected EOF", reply[:3], 0, io.ErrUnexpectedEOF, 0, nil},
		{"a length beyond the protocol maximum is rejected without reading it", mustHex(t, "AA AA AA 96 69 FF FF 00 00"), 0, io.EOF, 2, []error{ErrLength}},
		{"a length one past the maximum is rejected", append(Preamble[:], 0x09, 0x0B, 0), 0, io.EOF, 1, []error{ErrLength}},
		{"a length below the minimum is rejected", mustHex(t, "AA AA AA 96 69 00 02 00 02"), 0, io.EOF, 2, []error{ErrLength}},
		{"an endless stream of garbage gives up", bytes.Repeat([]byte{0x55}, 2*MaxFrame), 0, ErrNoPreamble, MaxFrame + 1, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := NewDecoder(bytes.NewReader(tt.stream))
			var bodies int
			var errs []error
			var final error
			for {
				_, err := d.Next()
				if err == nil {
					bodies++
					continue
				}
				if errors.Is(err, ErrChecksum) || errors.Is(err, ErrLength) {
					errs = append(errs, err)
					continue
				}
				final = err
				break
			}
			if bodies != tt.bodies || !errors.Is(final, tt.final) {
				t.Errorf("decoded %d frames ending in %v, want %d ending in %v", bodies, final, tt.bodies, tt.final)
			}
			if d.Skipped != tt.skipped {
				t.Errorf("skipped %d bytes, want %d", d.Skipped, tt.skipped)
			}
			if len(errs) != len(tt.errs) {
				t.Fatalf("errors %v, want %v", errs, tt.errs)
			}
			for i := range errs {
				if !errors.Is(errs[i], tt.errs[i]) {
					t.Errorf("error %d = %v, want %v", i, errs[i], tt.errs[i])
				}
			}
		})
	}
}

func TestMalformedReplies(t *testing.T) {
	text := make([]byte, TextLen)
	photo := make([]byte, PhotoLen)
	tests := []struct {
		name   string
		body   []byte
		finger bool
		want   error
	}{
		{"a reply shorter than its status words is malformed", []byte{0, 0}, false, ErrMalformed},
		{"a reply with SW1 SW2 not zero is malformed", []byte{0x6A, 0x82, 0x90}, false, ErrMalformed},
		{"a read reply without lengths has a bad length", []byte{0, 0, 0x90, 0x01}, false, ErrLength},
		{"a read reply whose text length is not 256 has a bad length", append([]byte{0, 0, 0x90}, EncodeCardData(text[:100], photo, nil, false)...), false, ErrLength},
		{"a read reply with a fingerprint of an odd size has a bad length", append([]byte{0, 0, 0x90}, EncodeCardData(text, photo, make([]byte, 300), true)...), true, ErrLength},
		{"a read reply cut short has a bad length", append([]byte{0, 0, 0x90}, EncodeCardData(text, photo, nil, false)[:900]...), false, ErrLength},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := ParseResponse(tt.body)
			if err == nil {
				_, err = ParseCardData(r.Data, tt.finger)
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
	if _, err := DecodeAddress(make([]byte, 69)); !errors.Is(err, ErrLength) {
		t.Errorf("DecodeAddress of 69 bytes: %v", err)
	}
}
