package http

import (
	"github.com/gofiber/fiber/v2"

	"github.com/civic-station/station/devices"
	"github.com/civic-station/station/station"
)

// DemoDevices controls the simulators of `station run --demo`: the simulator panel places and removes
// cards, empties printers and turns the page under the camera, so a newcomer can try every device
// without hardware. Outside demo mode it is nil and its routes answer ENOTFOUND.
type DemoDevices interface {
	DemoCards() []DemoCard
	// PlaceCard puts card index on the reader; a card already there is taken away first, so that
	// the reader reports it removed before the new one is read, and swapped says so.
	PlaceCard(index int) (swapped bool, err error)
	RemoveCard()
	SetTicketPaper(loaded bool)
	SetDocumentPaper(loaded bool)
	NextPage() int
	LastTicket() ([]byte, error) // PNG of the last printed ticket
}

// DemoCard is a card the simulated reader can serve.
type DemoCard struct {
	Index    int              `json:"index"`
	Name     string           `json:"name"`
	IDNumber string           `json:"id_number"` // masked
	CardType devices.CardType `json:"card_type"`
}

type demoCardList struct {
	Items []DemoCard `json:"items"`
}

type demoPlace struct {
	Index int `json:"index"`
}

type demoPaper struct {
	Loaded bool `json:"loaded"`
}

type demoPage struct {
	Page int `json:"page"`
}

func (s *Server) demoOnly() error {
	if s.demo == nil {
		return station.Errorf(station.ENOTFOUND, "仅演示模式可用")
	}
	return nil
}

func (s *Server) handleDemoCards(c *fiber.Ctx) error {
	if err := s.demoOnly(); err != nil {
		return err
	}
	return c.JSON(demoCardList{Items: s.demo.DemoCards()})
}

func (s *Server) handleDemoPlace(c *fiber.Ctx) error {
	if err := s.demoOnly(); err != nil {
		return err
	}
	var req demoPlace
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	swapped, err := s.demo.PlaceCard(req.Index)
	if err != nil {
		return err
	}
	if swapped {
		return c.JSON(deviceResult{OK: true, Message: "已取走读卡区原有的证件，换上这张演示证件"})
	}
	return c.JSON(deviceResult{OK: true, Message: "已将演示证件放在读卡区"})
}

func (s *Server) handleDemoRemove(c *fiber.Ctx) error {
	if err := s.demoOnly(); err != nil {
		return err
	}
	s.demo.RemoveCard()
	return c.JSON(deviceResult{OK: true, Message: "已取走证件"})
}

func (s *Server) handleDemoTicketPaper(c *fiber.Ctx) error {
	if err := s.demoOnly(); err != nil {
		return err
	}
	var req demoPaper
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	s.demo.SetTicketPaper(req.Loaded)
	return c.JSON(deviceResult{OK: true, Message: map[bool]string{true: "小票打印机已装纸", false: "小票打印机已缺纸"}[req.Loaded]})
}

func (s *Server) handleDemoDocumentPaper(c *fiber.Ctx) error {
	if err := s.demoOnly(); err != nil {
		return err
	}
	var req demoPaper
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	s.demo.SetDocumentPaper(req.Loaded)
	return c.JSON(deviceResult{OK: true, Message: map[bool]string{true: "A4打印机已装纸", false: "A4打印机已缺纸"}[req.Loaded]})
}

func (s *Server) handleDemoNextPage(c *fiber.Ctx) error {
	if err := s.demoOnly(); err != nil {
		return err
	}
	return c.JSON(demoPage{Page: s.demo.NextPage()})
}

func (s *Server) handleDemoLastTicket(c *fiber.Ctx) error {
	if err := s.demoOnly(); err != nil {
		return err
	}
	png, err := s.demo.LastTicket()
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "image/png")
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Send(png)
}
