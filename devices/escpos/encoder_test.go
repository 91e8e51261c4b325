package escpos_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/civic-station/station/devices"
	"github.com/civic-station/station/devices/escpos"
	"github.com/civic-station/station/devices/sim/escpossim"
)

var issued = time.Date(2025, 3, 14, 9, 26, 0, 0, time.FixedZone("CST", 8*3600))

func queueTicket() devices.Ticket {
	return escpos.QueueTicket(escpos.Queue{
		Station: "幸福里社区党群服务中心", Number: "A012", Service: "社保业务", Waiting: 3,
		IssuedAt: issued, QR: "https://station.example/q/A012",
	})
}

func receiptSlip() devices.Ticket {
	return escpos.ReceiptSlip(escpos.Receipt{
		Station: "幸福里社区党群服务中心", Title: "受理回执", Number: "SL20250314-0007",
		Items: []escpos.ReceiptItem{
			{Label: "申请人", Value: "王䶮"},
			{Label: "证件号码", Value: "1101**********0018"},
			{Label: "事项", Value: "居住证明"},
		},
		IssuedAt: issued, QR: "https://station.example/v/SL20250314-0007", Footer: "凭此回执查询办理进度",
	})
}

func testTicket(width int) devices.Ticket {
	return escpos.TestTicket(escpos.Test{Station: "幸福里社区", Printer: "tcp://10.0.0.9:9100", Width: width, PrintedAt: issued})
}

func TestEncodeMatchesGoldenBytes(t *testing.T) {
	tests := []struct {
		name   string
		file   string
		ticket devices.Ticket
		width  int
		font   bool
	}{
		{"a queue ticket on 58 mm paper", "queue-58.bin", queueTicket(), escpos.Width58, false},
		{"a queue ticket on 80 mm paper", "queue-80.bin", queueTicket(), escpos.Width80, false},
		{"a receipt with a rare character in the name on 80 mm paper", "receipt-80.bin", receiptSlip(), escpos.Width80, true},
		{"a receipt with a rare character in the name on 58 mm paper", "receipt-58.bin", receiptSlip(), escpos.Width58, true},
		{"the test ticket on 80 mm paper", "test-80.bin", testTicket(escpos.Width80), escpos.Width80, true},
		{"the test ticket on 58 mm paper", "test-58.bin", testTicket(escpos.Width58), escpos.Width58, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var font *escpos.Font
			if tt.font {
				f, err := escpos.LoadFont(needFont(t))
				if err != nil {
					t.Fatal(err)
				}
				font = f
			}
			var buf bytes.Buffer
			enc := escpos.NewEncoder(&buf, font)
			if err := enc.Encode(tt.ticket, tt.width); err != nil {
				t.Fatal(err)
			}
			if err := enc.Flush(); err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", tt.file)
			if *update {
				if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if i := firstDiff(buf.Bytes(), want); i >= 0 {
				t.Fatalf("bytes differ from %s at offset %d:\n got % x\nwant % x", golden, i, window(buf.Bytes(), i), window(want, i))
			}

			// The simulator, written separately from the encoder, reads the golden bytes back.
			jobs, err := escpossim.Decode(want, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(jobs) != 1 {
				t.Fatalf("decoded %d jobs, want 1", len(jobs))
			}
			if got, want := jobs[0].Text(), wantText(tt.ticket); got != want {
				t.Errorf("decoded text:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	if len(a) != len(b) {
		return min(len(a), len(b))
	}
	return -1
}

func window(b []byte, i int) []byte {
	return b[max(i-8, 0):min(i+8, len(b))]
}

// The bytes below are those of /work/shared/reference/escpos.md, checked against Epson's ESC/POS
// reference.
func TestEncoderWritesTheCommandBytes(t *testing.T) {
	tests := []struct {
		name string
		do   func(e *escpos.Encoder) error
		want []byte
	}{
		{"init is ESC @", func(e *escpos.Encoder) error { e.Init(); return nil }, []byte{0x1B, 0x40}},
		{"Chinese mode on is FS &", func(e *escpos.Encoder) error { e.Chinese(true); return nil }, []byte{0x1C, 0x26}},
		{"Chinese mode off is FS .", func(e *escpos.Encoder) error { e.Chinese(false); return nil }, []byte{0x1C, 0x2E}},
		{"bold on is ESC E 1", func(e *escpos.Encoder) error { e.Bold(true); return nil }, []byte{0x1B, 0x45, 0x01}},
		{"bold off is ESC E 0", func(e *escpos.Encoder) error { e.Bold(false); return nil }, []byte{0x1B, 0x45, 0x00}},
		{"double size is GS ! 0x11", func(e *escpos.Encoder) error { e.Double(true); return nil }, []byte{0x1D, 0x21, 0x11}},
		{"normal size is GS ! 0", func(e *escpos.Encoder) error { e.Double(false); return nil }, []byte{0x1D, 0x21, 0x00}},
		{"centre alignment is ESC a 1", func(e *escpos.Encoder) error { e.Align(devices.AlignCenter); return nil }, []byte{0x1B, 0x61, 0x01}},
		{"right alignment is ESC a 2", func(e *escpos.Encoder) error { e.Align(devices.AlignRight); return nil }, []byte{0x1B, 0x61, 0x02}},
		{"feeding 3 lines is ESC d 3", func(e *escpos.Encoder) error { e.Feed(3); return nil }, []byte{0x1B, 0x64, 0x03}},
		{"Chinese text is GB18030 and a line feed", func(e *escpos.Encoder) error { return e.Text("中A") }, []byte{0xD6, 0xD0, 0x41, 0x0A}},
		{"control characters in text become spaces", func(e *escpos.Encoder) error { return e.Text("a\x1b@\x10") }, []byte{0x61, 0x20, 0x40, 0x20, 0x0A}},
		{"a partial cut after feeding is GS V 66 n", func(e *escpos.Encoder) error { e.Cut(0); return nil }, []byte{0x1D, 0x56, 0x42, 0x00}},
		{"a QR code selects model 2, size, level, stores and prints", func(e *escpos.Encoder) error { return e.QR("AB", 6, escpos.QRLevelM) }, []byte{
			0x1D, 0x28, 0x6B, 0x04, 0x00, 0x31, 0x41, 0x32, 0x00,
			0x1D, 0x28, 0x6B, 0x03, 0x00, 0x31, 0x43, 0x06,
			0x1D, 0x28, 0x6B, 0x03, 0x00, 0x31, 0x45, 0x31,
			0x1D, 0x28, 0x6B, 0x05, 0x00, 0x31, 0x50, 0x30, 'A', 'B',
			0x1D, 0x28, 0x6B, 0x03, 0x00, 0x31, 0x51, 0x30,
		}},
		{"a raster image is GS v 0 with its width in bytes and height in dots", func(e *escpos.Encoder) error {
			b := escpos.NewBitmap(16, 2)
			b.Set(0, 0)
			b.Set(15, 1)
			e.Raster(b)
			return nil
		}, []byte{0x1D, 0x76, 0x30, 0x00, 0x02, 0x00, 0x02, 0x00, 0x80, 0x00, 0x00, 0x01}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			e := escpos.NewEncoder(&buf, nil)
			if err := tt.do(e); err != nil {
				t.Fatal(err)
			}
			if err := e.Flush(); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(buf.Bytes(), tt.want) {
				t.Errorf("got % x, want % x", buf.Bytes(), tt.want)
			}
		})
	}
}

func TestPrinterHasOnlyGBKCharacters(t *testing.T) {
	tests := []struct {
		r    rune
		want bool
	}{
		{'A', true}, {'中', true}, {'·', true}, {'：', true}, {'镕', true}, {'堃', true},
		{'䶮', false}, {'𠮷', false}, {'€', false}, {'\uE000', false}, {'😀', false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%c (%U) is printable: %v", tt.r, tt.r, tt.want), func(t *testing.T) {
			if got := escpos.PrinterHas(tt.r); got != tt.want {
				t.Errorf("PrinterHas(%U) = %v, want %v", tt.r, got, tt.want)
			}
		})
	}
}

func TestALineWithARareCharacterIsARasterImage(t *testing.T) {
	font, err := escpos.LoadFont(needFont(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, width := range []int{escpos.Width58, escpos.Width80} {
		t.Run(fmt.Sprintf("on paper %d dots wide the image is as wide as the paper", width), func(t *testing.T) {
			var buf bytes.Buffer
			e := escpos.NewEncoder(&buf, font)
			tk := devices.Ticket{Lines: []devices.TicketLine{{Text: "王䶮", Bold: true}}}
			if err := e.Encode(tk, width); err != nil {
				t.Fatal(err)
			}
			jobs, err := escpossim.Decode(e.Bytes(), nil)
			if err != nil || len(jobs) != 1 {
				t.Fatalf("Decode = %d jobs, %v", len(jobs), err)
			}
			var ras *escpossim.Raster
			for _, b := range jobs[0].Blocks {
				if b.Kind == escpossim.KindText && len(b.Spans) > 0 {
					t.Errorf("text block %q; the line should be an image", b.Text())
				}
				if b.Kind == escpossim.KindRaster {
					ras = b.Raster
				}
			}
			if ras == nil {
				t.Fatal("no raster image")
			}
			if ras.Width != width || ras.Height != 30 {
				t.Errorf("image %d×%d, want %d×30", ras.Width, ras.Height, width)
			}
			black := 0
			for y := range ras.Height {
				for x := range ras.Width {
					if ras.At(x, y) {
						black++
					}
				}
			}
			if black < 100 {
				t.Errorf("%d black dots: the characters were not drawn", black)
			}
		})
	}
}

func TestARareLineWithoutAFontFails(t *testing.T) {
	e := escpos.NewEncoder(&bytes.Buffer{}, nil)
	err := e.Encode(devices.Ticket{Lines: []devices.TicketLine{{Text: "王䶮"}}}, escpos.Width80)
	if err == nil {
		t.Fatal("Encode without a font succeeded")
	}
}
