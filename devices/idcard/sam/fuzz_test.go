package sam

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"testing"
)

// FuzzDecoder feeds arbitrary bytes to the stream decoder and the reply parsers: they must not
// panic, must end (the input is finite), and must never return a body longer than the protocol
// allows (so nothing was allocated from an untrusted length beyond MaxLen).
func FuzzDecoder(f *testing.F) {
	text := make([]byte, TextLen)
	for i := range text {
		text[i] = byte(i)
	}
	f.Add(EncodeCommand(CmdFindCard))
	f.Add(EncodeResponse(CardFound, []byte{0, 0, 0, 0}))
	f.Add(EncodeResponse(OK, EncodeCardData(text, make([]byte, PhotoLen), nil, false)))
	f.Add(EncodeResponse(OK, EncodeCardData(text, make([]byte, PhotoLen), make([]byte, 512), true)))
	f.Add(append([]byte{0x00, 0xAA, 0xAA, 0x96}, EncodeResponse(FindFailed, nil)...))
	f.Add([]byte{0xAA, 0xAA, 0xAA, 0x96, 0x69, 0xFF, 0xFF})
	f.Fuzz(func(t *testing.T, data []byte) {
		d := NewDecoder(bytes.NewReader(data))
		for i := 0; ; i++ {
			if i > len(data) {
				t.Fatalf("more results (%d) than input bytes", i)
			}
			body, err := d.Next()
			if err != nil {
				if errors.Is(err, ErrChecksum) || errors.Is(err, ErrLength) {
					continue
				}
				if err != io.EOF && err != io.ErrUnexpectedEOF && !errors.Is(err, ErrNoPreamble) {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			if len(body)+1 > MaxLen || len(body)+1 < MinLen {
				t.Fatalf("body of %d bytes escaped the bounds", len(body))
			}
			if r, err := ParseResponse(body); err == nil {
				_ = r.Err()
				for _, fp := range []bool{false, true} {
					if cd, err := ParseCardData(r.Data, fp); err == nil {
						if len(cd.Text) != TextLen {
							t.Fatalf("text of %d bytes", len(cd.Text))
						}
						_, _ = DecodeText(cd.Text)
					}
				}
				_, _ = DecodeAddress(r.Data)
			}
			_, _, _ = ParseCommand(body)
		}
	})
}

// FuzzDecodeText feeds arbitrary 256-byte blocks to the text decoder: no panic, and whatever it
// decodes, encoding and decoding again gives the same card.
func FuzzDecodeText(f *testing.F) {
	for _, c := range sampleCards {
		b, err := EncodeText(&c.card)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add(make([]byte, TextLen))
	f.Fuzz(func(t *testing.T, block []byte) {
		c, err := DecodeText(block)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		again, err := EncodeText(c)
		if err != nil {
			return // e.g. a surrogate pair decoded to a character UCS-2 cannot hold
		}
		c2, err := DecodeText(again)
		if err != nil {
			t.Fatalf("re-encoded block does not decode: %v", err)
		}
		if !reflect.DeepEqual(c, c2) {
			t.Fatalf("round trip changed the card:\n%+v\n%+v", c, c2)
		}
	})
}
