package http

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/civic-station/station/devices"
	"github.com/civic-station/station/station"
)

// Devices is the box's hardware as the HTTP layer uses it; devices/rig implements it.
type Devices interface {
	Subscribe() (<-chan devices.Event, func())
	Statuses() []devices.Status
	Card() *devices.IDCard
	ReadCard(ctx context.Context) (*devices.IDCard, error)
	PrintTicket(ctx context.Context, t devices.Ticket) error
	PrintPDF(ctx context.Context, name string, pdf []byte) error
	Still(ctx context.Context) (devices.Frame, error)
	Preview(ctx context.Context, frames chan<- devices.Frame) error
}

var (
	techRoles = []station.Role{station.RoleTechnician, station.RoleStationAdmin}
	// cardRoles may read a card at the counter (fills an application's applicant).
	cardRoles = []station.Role{station.RoleStaff, station.RoleReviewer, station.RoleStationAdmin, station.RoleTechnician}
)

// sseKeepAlive is how often an idle event stream sends a comment, so proxies and browsers keep it.
const sseKeepAlive = 15 * time.Second

func errNoDevices() error { return station.Errorf(station.EUNAVAILABLE, "本机未配置设备") }

// deviceError turns a driver error into a domain error with a message staff or residents can act on.
func deviceError(err error) error {
	var de *station.Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &de):
		return err
	case errors.Is(err, devices.ErrNoCard):
		return station.Errorf(station.ENOTFOUND, "未检测到身份证，请将证件放在读卡区")
	case errors.Is(err, devices.ErrPaperOut):
		return station.Errorf(station.EUNAVAILABLE, "打印机缺纸，请联系工作人员")
	case errors.Is(err, devices.ErrNotConfirmed):
		return station.Errorf(station.EUNAVAILABLE, "打印机未确认打印完成，请检查打印机后重试")
	case errors.Is(err, devices.ErrNotConnected):
		return station.Errorf(station.EUNAVAILABLE, "设备未连接")
	case errors.Is(err, devices.ErrTimeout), errors.Is(err, context.DeadlineExceeded):
		return station.Errorf(station.EUNAVAILABLE, "设备无响应，请稍后重试")
	}
	return station.Errorf(station.EUNAVAILABLE, "设备故障：%s", err.Error())
}

// localOnly refuses requests that do not come from the box itself. The kiosk's browser runs on the box
// with the card reader; nobody else on the LAN may watch whose card is on it.
func localOnly(c *fiber.Ctx) error {
	ip := net.ParseIP(c.IP())
	if ip == nil || !ip.IsLoopback() {
		return station.Errorf(station.EFORBIDDEN, "仅限本机自助终端使用")
	}
	return nil
}

type deviceList struct {
	Items []devices.Status `json:"items"`
}

func (s *Server) handleDevices(c *fiber.Ctx) error {
	if s.devices == nil {
		return errNoDevices()
	}
	return c.JSON(deviceList{Items: s.devices.Statuses()})
}

// kioskCard is what the kiosk shows of the card on the reader: the name and the masked number.
type kioskCard struct {
	CardType     devices.CardType `json:"card_type"`
	DocumentType station.IDType   `json:"document_type"`
	Name         string           `json:"name"`
	IDNumber     string           `json:"id_number"` // masked
}

func viewKioskCard(c *devices.IDCard) *kioskCard {
	if c == nil {
		return nil
	}
	return &kioskCard{CardType: c.Type, DocumentType: c.DocumentType(), Name: c.Name, IDNumber: station.MaskIDNumber(c.IDNumber)}
}

type kioskCardState struct {
	Card *kioskCard `json:"card"`
}

func (s *Server) handleKioskCard(c *fiber.Ctx) error {
	if err := localOnly(c); err != nil {
		return err
	}
	if s.devices == nil {
		return errNoDevices()
	}
	return c.JSON(kioskCardState{Card: viewKioskCard(s.devices.Card())})
}

// sseEvent is an event as the browser receives it.
type sseEvent struct {
	Type   devices.EventType `json:"type"`
	At     time.Time         `json:"at"`
	Card   *kioskCard        `json:"card,omitempty"`
	Status *devices.Status   `json:"status,omitempty"`
	Error  string            `json:"error,omitempty"`
}

// handleKioskEvents streams the reader's card events (with the masked card) and status changes to the
// kiosk on this box.
func (s *Server) handleKioskEvents(c *fiber.Ctx) error {
	if err := localOnly(c); err != nil {
		return err
	}
	return s.streamEvents(c, true)
}

// handleDeviceEvents streams device status changes (and card events without personal data) to the
// technician's setup page.
func (s *Server) handleDeviceEvents(c *fiber.Ctx) error {
	return s.streamEvents(c, false)
}

func (s *Server) streamEvents(c *fiber.Ctx, withCard bool) error {
	if s.devices == nil {
		return errNoDevices()
	}
	events, cancel := s.devices.Subscribe()
	c.Set(fiber.HeaderContentType, "text/event-stream")
	c.Set(fiber.HeaderCacheControl, "no-cache")
	c.Set("X-Accel-Buffering", "no")
	first := sseEvent{Type: "hello", At: s.now()}
	if withCard {
		first.Card = viewKioskCard(s.devices.Card())
	}
	c.Context().SetBodyStreamWriter(func(w *bufio.Writer) {
		defer cancel()
		write := func(ev sseEvent) error {
			b, err := json.Marshal(ev)
			if err != nil {
				return err
			}
			if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", ev.Type, b); err != nil {
				return err
			}
			return w.Flush()
		}
		if write(first) != nil {
			return
		}
		keep := time.NewTicker(sseKeepAlive)
		defer keep.Stop()
		for {
			select {
			case ev, ok := <-events:
				if !ok {
					return
				}
				out := sseEvent{Type: ev.Type, At: ev.At, Status: ev.Status, Error: ev.Error}
				if withCard {
					out.Card = viewKioskCard(ev.Card)
				}
				if write(out) != nil {
					return
				}
			case <-keep.C:
				if _, err := w.WriteString(": keep-alive\n\n"); err != nil || w.Flush() != nil {
					return
				}
			case <-s.closing:
				return
			}
		}
	})
	return nil
}

// cardView is a card read at the counter: everything needed to fill in an applicant.
type cardView struct {
	CardType     devices.CardType `json:"card_type"`
	DocumentType station.IDType   `json:"document_type"`
	Name         string           `json:"name"`
	NameEN       string           `json:"name_en,omitempty"`
	Sex          station.Sex      `json:"sex"`
	Ethnicity    string           `json:"ethnicity"`
	BirthDate    *station.Date    `json:"birth_date"`
	Address      string           `json:"address"`
	IDNumber     string           `json:"id_number"`
	Masked       bool             `json:"masked"`
	Authority    string           `json:"authority"`
	ValidTo      string           `json:"valid_to"`
	Nationality  string           `json:"nationality,omitempty"`
	ResidentID   string           `json:"resident_id,omitempty"` // when the station knows this person
}

// handleReadCard reads the card on this box's reader for the counter. Counter roles get the full
// number (the intake needs it) and the read is audited; a technician testing the reader (or the
// first-run wizard, where nobody is signed in) gets it masked.
func (s *Server) handleReadCard(c *fiber.Ctx) error {
	if s.devices == nil {
		return errNoDevices()
	}
	ctx, cancel := context.WithTimeout(c.UserContext(), 5*time.Second)
	defer cancel()
	card, err := s.devices.ReadCard(ctx)
	if err != nil {
		return deviceError(err)
	}
	v := cardView{CardType: card.Type, DocumentType: card.DocumentType(), Name: card.Name, NameEN: card.NameEN, Sex: card.Sex,
		Ethnicity: card.Ethnicity, Address: card.Address, IDNumber: station.MaskIDNumber(card.IDNumber), Masked: true,
		Authority: card.Authority, ValidTo: card.ValidTo, Nationality: card.Nationality}
	if !card.BirthDate.IsZero() {
		d := card.BirthDate
		v.BirthDate = &d
	}
	index := s.sealer.Index(v.DocumentType, card.IDNumber)
	object := "idcard:" + index[:16]
	if p, err := s.store.ResidentByIndex(c.UserContext(), index); err == nil {
		v.ResidentID, object = p.ID, "resident:"+p.ID
	}
	if p := caller(c); p == nil || p.user.Role == station.RoleTechnician { // a technician's test, or the first-run wizard's
		v.Address = ""
		return c.JSON(v)
	}
	if err := s.recordAccess(c, object, "card_read"); err != nil {
		return err
	}
	v.IDNumber, v.Masked = card.IDNumber, false
	return c.JSON(v)
}

// testTicket is what the setup page's test button prints.
func testTicket(now time.Time, version string) devices.Ticket {
	return devices.Ticket{Lines: []devices.TicketLine{
		{Text: "社区便民服务站", Bold: true, Double: true, Align: devices.AlignCenter, Feed: 1},
		{Text: "打印机测试 Printer test", Align: devices.AlignCenter},
		{Text: now.In(station.ChinaTime).Format("2006-01-02 15:04:05"), Align: devices.AlignCenter},
		{Text: "Station " + version, Align: devices.AlignCenter, Feed: 1},
		{QR: "station-test " + now.UTC().Format(time.RFC3339), Align: devices.AlignCenter, Feed: 2},
	}}
}

type deviceResult struct {
	OK      bool   `json:"ok"`
	Message string `json:"message"`
}

func (s *Server) handleTestTicket(c *fiber.Ctx) error {
	if s.devices == nil {
		return errNoDevices()
	}
	ctx, cancel := context.WithTimeout(c.UserContext(), 20*time.Second)
	defer cancel()
	if err := s.devices.PrintTicket(ctx, testTicket(s.now(), s.version)); err != nil {
		return deviceError(err)
	}
	return c.JSON(deviceResult{OK: true, Message: "测试小票已打印，打印机确认完成"})
}

func (s *Server) handleTestPage(c *fiber.Ctx) error {
	if s.devices == nil || s.testPage == nil {
		return errNoDevices()
	}
	ctx, cancel := context.WithTimeout(c.UserContext(), 3*time.Minute)
	defer cancel()
	if err := s.devices.PrintPDF(ctx, "Station test page", s.testPage(s.now())); err != nil {
		return deviceError(err)
	}
	return c.JSON(deviceResult{OK: true, Message: "测试页已打印，打印机确认完成"})
}

func (s *Server) handleCameraStill(c *fiber.Ctx) error {
	if s.devices == nil {
		return errNoDevices()
	}
	ctx, cancel := context.WithTimeout(c.UserContext(), 10*time.Second)
	defer cancel()
	f, err := s.devices.Still(ctx)
	if err != nil {
		return deviceError(err)
	}
	c.Set(fiber.HeaderContentType, "image/jpeg")
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Set("X-Frame-Width", fmt.Sprint(f.Width))
	c.Set("X-Frame-Height", fmt.Sprint(f.Height))
	return c.Send(f.JPEG)
}

// handleCameraPreview streams preview frames as multipart/x-mixed-replace (MJPEG), which an <img>
// shows as live video.
func (s *Server) handleCameraPreview(c *fiber.Ctx) error {
	if s.devices == nil {
		return errNoDevices()
	}
	const boundary = "stationframe"
	c.Set(fiber.HeaderContentType, "multipart/x-mixed-replace; boundary="+boundary)
	c.Set(fiber.HeaderCacheControl, "no-store")
	dev, closing := s.devices, s.closing
	c.Context().SetBodyStreamWriter(func(w *bufio.Writer) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go func() {
			select {
			case <-closing: // the server is stopping
				cancel()
			case <-ctx.Done():
			}
		}()
		frames := make(chan devices.Frame, 2)
		go func() {
			_ = dev.Preview(ctx, frames)
			close(frames)
		}()
		for f := range frames {
			if _, err := fmt.Fprintf(w, "--%s\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n", boundary, len(f.JPEG)); err != nil {
				return
			}
			if _, err := w.Write(f.JPEG); err != nil {
				return
			}
			if _, err := w.WriteString("\r\n"); err != nil || w.Flush() != nil {
				return
			}
		}
	})
	return nil
}
