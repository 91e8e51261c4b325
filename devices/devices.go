// Package devices declares the station's hardware as small interfaces and the values that cross them:
// an ID card reader (GA 467 SAM), a ticket printer (ESC/POS), a document printer (IPP) and a document
// camera (V4L2 or a vendor's loopback service). Drivers live in sub-packages named after the protocol
// they speak (idcard, escpos, ipp, uvc); devices/sim holds simulators that speak the same bytes, so the
// code `make run` exercises is the code that drives real hardware.
package devices

import (
	"context"
	"errors"
	"time"

	"github.com/civic-station/station/station"
)

// Kind names a class of device.
type Kind string

// Device kinds.
const (
	KindIDReader        Kind = "idreader"
	KindTicketPrinter   Kind = "ticket_printer"
	KindDocumentPrinter Kind = "document_printer"
	KindCamera          Kind = "camera"
)

// State is what a device is doing, as far as the station can tell.
type State string

// Device states.
const (
	StateDisconnected State = "disconnected" // not found, unplugged, or not answering
	StateReady        State = "ready"
	StateBusy         State = "busy"      // reading, printing, capturing
	StatePaperOut     State = "paper_out" // printers
	StatePaperLow     State = "paper_low" // printers: near end, still printing
	StateError        State = "error"     // answering, but reporting a fault (cover open, jam, SAM failure …)
)

// Status is a device's state for the setup page, `station doctor` and /metrics.
type Status struct {
	Kind Kind `json:"kind"`
	// Configured says the station was given this device (a rig's Statuses sets it); a kind it was not
	// given is listed only to say so.
	Configured bool     `json:"configured"`
	Name       string   `json:"name"`   // human-readable model or address, e.g. "SAM on /dev/ttyUSB0"
	Detail     string   `json:"detail"` // e.g. "115200 baud", "ipp://10.0.0.5/ipp/print"
	Connected  bool     `json:"connected"`
	State      State    `json:"state"`
	Reasons    []string `json:"reasons,omitempty"` // device-reported reasons, e.g. IPP media-empty
	// Link, Port and Baud say how the station reaches the device, as codes and plain values the setup
	// page labels in Chinese itself (Name and Detail are prose for logs and `station doctor`).
	Link Link   `json:"link,omitempty"`
	Port string `json:"port,omitempty"` // serial port or device node, host:port, or printer URI
	Baud int    `json:"baud,omitempty"` // serial line speed, when known
	// Message explains an error state for the person at the device, in Chinese, when the driver has
	// one (e.g. the SAM's fault); Reasons and LastError keep the device's own terms.
	Message     string    `json:"message,omitempty"`
	LastError   string    `json:"last_error,omitempty"`
	LastErrorAt time.Time `json:"last_error_at,omitzero"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// Link is how the station reaches a device.
type Link string

// Device links.
const (
	LinkSerial Link = "serial" // a serial port (RS-232 or USB serial), Port and Baud
	LinkTCP    Link = "tcp"    // a raw TCP socket, Port is host:port
	LinkIPP    Link = "ipp"    // an IPP printer, Port is its URI
	LinkV4L2   Link = "v4l2"   // a V4L2 video device, Port is its node
	LinkSim    Link = "sim"    // a simulator inside the station process
)

// Errors every driver uses for the common failures, so callers can tell them apart with errors.Is.
var (
	// ErrNotConnected means the device is absent, unplugged, or does not answer at all.
	ErrNotConnected = errors.New("device not connected")
	// ErrTimeout means the device did not answer in time (it may still be there).
	ErrTimeout = errors.New("device timed out")
	// ErrNoCard means an ID reader found no card on it.
	ErrNoCard = errors.New("no card on the reader")
	// ErrPaperOut means a printer has no paper; the job did not print.
	ErrPaperOut = errors.New("printer is out of paper")
	// ErrNotConfirmed means a printer did not confirm a job as printed; it must not count as issued.
	ErrNotConfirmed = errors.New("printer did not confirm the job")
)

// CardType is the kind of card an ID reader read.
type CardType string

// Card types (the text block's type flag: space, J, I, Y).
const (
	CardResident      CardType = "resident"        // 居民身份证
	CardHKMOTWPermit  CardType = "hkmotw_permit"   // 港澳台居民居住证 (J)
	CardForeignPR2017 CardType = "foreign_pr_2017" // 外国人永久居留身份证 2017 (I)
	CardForeignPR2023 CardType = "foreign_pr_2023" // 外国人永久居留身份证 2023 (Y)
)

// IDCard is what an ID card carries. Fields a card type does not have are empty. The values are
// personal data: never log them; mask the number for display (station.MaskIDNumber).
type IDCard struct {
	Type          CardType     `json:"card_type"`
	Name          string       `json:"name"`    // Chinese name
	NameEN        string       `json:"name_en"` // foreign permanent resident cards
	Sex           station.Sex  `json:"sex"`
	EthnicityCode string       `json:"ethnicity_code"` // 01–56, 97, 98 (resident cards)
	Ethnicity     string       `json:"ethnicity"`      // 汉, 蒙古 …
	BirthDate     station.Date `json:"birth_date"`
	Address       string       `json:"address"`
	IDNumber      string       `json:"id_number"`
	Authority     string       `json:"authority"`  // issuing authority, or its code on 2017 cards
	ValidFrom     station.Date `json:"valid_from"` // zero when unknown
	ValidTo       string       `json:"valid_to"`   // YYYY-MM-DD, or 长期 for permanent
	Nationality   string       `json:"nationality"`
	PassNumber    string       `json:"pass_number"` // J: the holder's HK/Macau/Taiwan travel permit number
	IssueCount    string       `json:"issue_count"` // J: times issued; Y: renewal count
	PreviousCard  string       `json:"previous_card,omitempty"`
	Photo         []byte       `json:"-"` // raw 1024-byte WLT; decoding needs the vendor's library
	PhotoBMP      []byte       `json:"-"` // the photo decoded to a 102×126 BMP, when a decoder is configured
}

// DocumentType returns the identity document type the station's domain uses for this card.
func (c *IDCard) DocumentType() station.IDType {
	switch c.Type {
	case CardHKMOTWPermit:
		if len(c.IDNumber) >= 2 && c.IDNumber[:2] == "83" {
			return station.IDTWPermit
		}
		return station.IDHKMOPermit
	case CardForeignPR2017, CardForeignPR2023:
		return station.IDForeignPermanent
	}
	return station.IDResident
}

// CardEventKind says what happened on a reader.
type CardEventKind string

// Card events.
const (
	CardPlaced  CardEventKind = "placed"  // a card was read; Card is set
	CardRemoved CardEventKind = "removed" // the card is gone
	CardFailed  CardEventKind = "failed"  // a card is there but could not be read; Err is set
)

// CardEvent is something that happened on an ID reader.
type CardEvent struct {
	Kind CardEventKind
	Card *IDCard
	Err  error
	At   time.Time
}

// IDReader is an ID card reader.
type IDReader interface {
	// Watch polls the reader until ctx ends, sending an event when a card is placed, fails to read, or
	// is removed. It reconnects by itself when the device goes away and comes back; it returns only when
	// ctx ends (or the reader cannot be used at all).
	Watch(ctx context.Context, events chan<- CardEvent) error
	// ReadCard reads the card on the reader now: ErrNoCard when there is none.
	ReadCard(ctx context.Context) (*IDCard, error)
	// Status reports the reader's state.
	Status() Status
}

// Align is a ticket line's alignment.
type Align int

// Alignments.
const (
	AlignLeft Align = iota
	AlignCenter
	AlignRight
)

// TicketLine is one block of a ticket: text with a style, a QR code, or a feed.
type TicketLine struct {
	Text   string `json:"text,omitempty"`
	Bold   bool   `json:"bold,omitempty"`
	Double bool   `json:"double,omitempty"` // double width and height
	Align  Align  `json:"align,omitempty"`
	QR     string `json:"qr,omitempty"`   // QR code content (printed instead of Text)
	Feed   int    `json:"feed,omitempty"` // blank lines after the block
}

// Ticket is a small slip: a queue ticket, a receipt, a test page. The printer cuts after it.
type Ticket struct {
	Lines []TicketLine `json:"lines"`
}

// TicketPrinter prints tickets on 58 or 80 mm thermal paper.
type TicketPrinter interface {
	// Print prints t and returns nil only when the printer reported, after the job, that it is online
	// with paper and no error. Otherwise the ticket must be treated as not printed.
	Print(ctx context.Context, t Ticket) error
	// Status asks the printer for its state now.
	Status(ctx context.Context) Status
}

// DocumentPrinter prints PDF documents on A4 paper.
type DocumentPrinter interface {
	// PrintPDF submits a PDF and follows the job until the printer reports it completed; any other
	// end (aborted, canceled, timed out, printer stopped) is an error and the document did not print.
	PrintPDF(ctx context.Context, name string, pdf []byte) error
	// Status asks the printer for its state now.
	Status(ctx context.Context) Status
}

// Frame is one camera image, JPEG-encoded.
type Frame struct {
	JPEG   []byte
	Width  int
	Height int
	At     time.Time
}

// Camera is a document camera (高拍仪).
type Camera interface {
	// Preview sends modest-size frames until ctx ends.
	Preview(ctx context.Context, frames chan<- Frame) error
	// Still captures one frame at the camera's highest resolution.
	Still(ctx context.Context) (Frame, error)
	// Status reports the camera's state.
	Status() Status
}

// EventType names an event a box's devices produce for the station's screens.
type EventType string

// Event types.
const (
	EventCardPlaced  EventType = "card_placed"
	EventCardRemoved EventType = "card_removed"
	EventCardFailed  EventType = "card_failed"
	EventStatus      EventType = "status" // a device's status changed
)

// Event is something that happened on a box's devices. Card carries personal data: whoever forwards
// events decides who may see it.
type Event struct {
	Type   EventType `json:"type"`
	At     time.Time `json:"at"`
	Card   *IDCard   `json:"-"`
	Status *Status   `json:"status,omitempty"`
	Error  string    `json:"error,omitempty"`
}
