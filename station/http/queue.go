package http

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/civic-station/station/devices"
	"github.com/civic-station/station/station"
)

// The queue's API (排队叫号, docs/queue.md): lines, taking a ticket at the kiosk or the counter,
// calling and the steps of a ticket, the public follow page and waiting-room board, the figures.
// Every change is a queue command submitted to the log; the store numbers tickets and checks the
// state machine. Tickets carry no personal data, so their reads are not audited as access.

// Board limits: the most recent calls it shows, and the next tickets per line.
const (
	boardCalls       = 8
	boardNextPerLine = 5
)

// ticketPrintTimeout bounds printing a ticket at the kiosk: the resident waits for the answer.
const ticketPrintTimeout = 15 * time.Second

// KioskInfo lays out the slip (取号单) the kiosk prints for a queue ticket, and says where a
// resident's phone finds the ticket's follow page; cmd/station implements it with the ESC/POS layout,
// the station's name and its LAN address.
type KioskInfo interface {
	// PublicURL is the base URL (scheme://host:port) a phone on the station's LAN opens the follow
	// page at, or "" when the station serves no LAN address (the kiosk's own address is used).
	PublicURL() string
	// QueueSlip lays out the slip of a ticket.
	QueueSlip(ctx context.Context, q QueueSlip) (devices.Ticket, error)
}

// QueueSlip is what a ticket's slip shows: no personal data, nothing but the queue.
type QueueSlip struct {
	Number    string    // A012
	Service   string    // the line's name
	Ahead     int       // people waiting ahead
	IssuedAt  time.Time // in China time
	FollowURL string    // the follow page, for the QR code
}

// queueRoutes lists the queue's routes.
func queueRoutes() []route {
	routes := []route{
		{method: "GET", path: "/api/v1/queue/lines", summary: "排队业务列表", tag: "queue", roles: counterRoles,
			reply: queueLineList{}, status: 200, handle: (*Server).handleQueueLines},
		{method: "GET", path: "/api/v1/kiosk/queue/lines", summary: "可取号的业务（仅限本机）", tag: "kiosk", public: true,
			reply: queueLineList{}, status: 200, handle: (*Server).handleKioskQueueLines},
		{method: "PUT", path: "/api/v1/queue/lines/:code", summary: "新增或修改排队业务", tag: "queue", roles: adminRoles,
			body: queueLineInput{}, reply: station.QueueLine{}, status: 200, handle: (*Server).handleQueueLineSet},
		{method: "POST", path: "/api/v1/kiosk/queue/tickets", summary: "自助取号（仅限本机）", tag: "kiosk", public: true,
			body: kioskTicketRequest{}, reply: kioskTicketView{}, status: 201, handle: (*Server).handleKioskTicketIssue},
		{method: "POST", path: "/api/v1/queue/tickets", summary: "窗口取号", tag: "queue", roles: counterRoles,
			body: ticketRequest{}, reply: ticketView{}, status: 201, handle: (*Server).handleTicketIssue},
		{method: "GET", path: "/api/v1/queue/tickets/:id", summary: "票号详情", tag: "queue", roles: counterRoles,
			reply: ticketView{}, status: 200, handle: (*Server).handleTicket},
		{method: "GET", path: "/api/v1/queue/follow/:id", summary: "手机查看排队进度（号码、状态、前面人数）", tag: "queue", public: true,
			reply: followView{}, status: 200, handle: (*Server).handleFollow},
		{method: "GET", path: "/queue/follow/:id", summary: "排队进度页面（取号单二维码打开，自动刷新）", tag: "queue", public: true,
			status: 200, handle: (*Server).handleFollowPage},
		{method: "POST", path: "/api/v1/queue/call-next", summary: "叫下一个号", tag: "queue", roles: counterRoles,
			body: callNextRequest{}, reply: ticketView{}, status: 200, handle: (*Server).handleCallNext},
	}
	for _, st := range []struct {
		action  string
		kind    station.CommandKind
		summary string
	}{
		{"recall", station.CmdQueueRecall, "重呼（次数用完即为未到）"},
		{"serve", station.CmdQueueServe, "开始办理"},
		{"done", station.CmdQueueDone, "办结"},
		{"skip", station.CmdQueueSkip, "过号"},
		{"hold", station.CmdQueueHold, "暂挂"},
		{"resume", station.CmdQueueResume, "恢复等候"},
	} {
		routes = append(routes, route{method: "POST", path: "/api/v1/queue/tickets/:id/" + st.action, summary: st.summary, tag: "queue",
			roles: counterRoles, body: stepRequest{}, reply: ticketView{}, status: 200, handle: ticketStep(st.kind)})
	}
	return append(routes,
		route{method: "POST", path: "/api/v1/queue/tickets/:id/transfer", summary: "转移到另一业务（同一号码，排在队尾）", tag: "queue",
			roles: counterRoles, body: transferRequest{}, reply: ticketView{}, status: 200, handle: (*Server).handleTransfer},
		route{method: "GET", path: "/api/v1/queue/board", summary: "等候区显示屏：最近叫号与各业务即将叫到的号", tag: "queue", public: true,
			reply: boardView{}, status: 200, handle: (*Server).handleBoard},
		route{method: "GET", path: "/api/v1/queue/figures", summary: "排队统计（按业务、按窗口）", tag: "queue", roles: counterRoles,
			query: []queryParam{{"day", "日期 YYYY-MM-DD，默认今天"}}, reply: station.QueueFigures{}, status: 200, handle: (*Server).handleQueueFigures},
	)
}

// newTicketID returns a random (version 4) UUID: a ticket's ID is the key of its public follow page,
// so it must not be guessable from the time of issue, as a UUIDv7 partly is.
func newTicketID() string { return uuid.New().String() }

type queueLineList struct {
	Items []station.QueueLine `json:"items"`
}

func (s *Server) handleQueueLines(c *fiber.Ctx) error {
	lines, err := s.store.QueueLines(c.UserContext())
	if err != nil {
		return err
	}
	return c.JSON(queueLineList{Items: lines})
}

// handleKioskQueueLines lists the lines that issue tickets, for the kiosk on this box.
func (s *Server) handleKioskQueueLines(c *fiber.Ctx) error {
	if err := localOnly(c); err != nil {
		return err
	}
	lines, err := s.store.QueueLines(c.UserContext())
	if err != nil {
		return err
	}
	active := slices.DeleteFunc(lines, func(l station.QueueLine) bool { return !l.Active })
	return c.JSON(queueLineList{Items: active})
}

// queueLineInput is a line's configuration; its code is in the path.
type queueLineInput struct {
	Name             string   `json:"name"`
	Prefix           string   `json:"prefix"`
	Active           bool     `json:"active"`
	MaxRecalls       int      `json:"max_recalls,omitempty"` // 0: the default (2)
	MatterCategories []string `json:"matter_categories,omitempty"`
}

func (s *Server) handleQueueLineSet(c *fiber.Ctx) error {
	var req queueLineInput
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	line := station.QueueLine{Code: c.Params("code"), Name: strings.TrimSpace(req.Name), Prefix: req.Prefix, Active: req.Active,
		MaxRecalls: req.MaxRecalls, MatterCategories: req.MatterCategories}
	if _, err := s.submit(c.UserContext(), station.CmdQueueLineSet, caller(c).actor(), station.QueueLineSet{Line: line}); err != nil {
		return err
	}
	lines, err := s.store.QueueLines(c.UserContext())
	if err != nil {
		return err
	}
	for _, l := range lines {
		if l.Code == line.Code {
			return c.JSON(l)
		}
	}
	return station.Errorf(station.ENOTFOUND, "没有业务“%s”", line.Code)
}

// ticketView is a ticket as staff and the kiosk see it, with the people waiting ahead of it on its
// line (0 unless it is waiting).
type ticketView struct {
	Ticket      station.Ticket `json:"ticket"`
	StatusLabel string         `json:"status_label"`
	Ahead       int            `json:"ahead"`
}

// followView is all a resident's phone learns of a ticket: no line, time, counter staff or ID.
type followView struct {
	Number      string               `json:"number"`
	Status      station.TicketStatus `json:"status"`
	StatusLabel string               `json:"status_label"`
	Ahead       int                  `json:"ahead"`
}

// ticket reads ticket id and counts the tickets the calling order puts before it on its line.
func (s *Server) ticket(c *fiber.Ctx, id string) (ticketView, error) {
	ctx := c.UserContext()
	t, err := s.store.Ticket(ctx, id)
	if err != nil {
		return ticketView{}, err
	}
	v := ticketView{Ticket: *t, StatusLabel: t.Status.Label()}
	if t.Status != station.TicketWaiting {
		return v, nil
	}
	waiting, err := s.store.WaitingTickets(ctx, t.Day, []string{t.Line})
	if err != nil {
		return ticketView{}, err
	}
	v.Ahead = max(0, slices.IndexFunc(waiting, func(w station.Ticket) bool { return w.ID == t.ID }))
	return v, nil
}

// respondTicket answers with ticket id's view.
func (s *Server) respondTicket(c *fiber.Ctx, id string, status int) error {
	v, err := s.ticket(c, id)
	if err != nil {
		return err
	}
	return c.Status(status).JSON(v)
}

type kioskTicketRequest struct {
	Line string `json:"line"`
}

type ticketRequest struct {
	Line     string           `json:"line"`
	Priority station.Priority `json:"priority,omitempty"` // appointment, elderly or disabled
}

// issueTicket takes a ticket on req's line for actor through channel and returns its ID.
func (s *Server) issueTicket(c *fiber.Ctx, actor station.Actor, channel string, req ticketRequest) (string, error) {
	issue := station.QueueTicketIssue{TicketID: newTicketID(), Line: req.Line, Channel: channel, Priority: req.Priority}
	if _, err := s.submit(c.UserContext(), station.CmdQueueTicketIssue, actor, issue); err != nil {
		return "", err
	}
	return issue.TicketID, nil
}

// kioskTicketView is a ticket taken at the kiosk and whether its slip (取号单) printed. A ticket
// whose slip did not print exists all the same: PrintError tells the resident to note the number.
type kioskTicketView struct {
	Ticket      station.Ticket `json:"ticket"`
	StatusLabel string         `json:"status_label"`
	Ahead       int            `json:"ahead"`
	FollowURL   string         `json:"follow_url"` // the follow page, as the slip's QR code holds it
	Printed     bool           `json:"printed"`
	PrintError  string         `json:"print_error,omitempty"`
}

// handleKioskTicketIssue takes a ticket at the kiosk on this box, as a resident (no card needed), and
// prints its slip on the ticket printer. The ticket is committed before the slip prints, so a printer
// that is missing, out of paper or failing never loses it: the answer is still 201, with printed false.
func (s *Server) handleKioskTicketIssue(c *fiber.Ctx) error {
	if err := localOnly(c); err != nil {
		return err
	}
	var req kioskTicketRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	id, err := s.issueTicket(c, kioskActor, station.ChannelKiosk, ticketRequest{Line: req.Line})
	if err != nil {
		return err
	}
	v, err := s.ticket(c, id)
	if err != nil {
		return err
	}
	out := kioskTicketView{Ticket: v.Ticket, StatusLabel: v.StatusLabel, Ahead: v.Ahead, FollowURL: s.followURL(c, id)}
	if err := s.printTicketSlip(c.UserContext(), v, out.FollowURL); err != nil {
		s.logger.Warn("queue ticket slip not printed", "ticket", v.Ticket.Number, "err", err)
		out.PrintError = fmt.Sprintf("取号单打印失败，请记下您的号码 %s", v.Ticket.Number)
	} else {
		out.Printed = true
	}
	return c.Status(fiber.StatusCreated).JSON(out)
}

// followURL is the address of ticket id's follow page on a resident's phone: the station's LAN
// address when it serves one, else the address the kiosk used.
func (s *Server) followURL(c *fiber.Ctx, id string) string {
	base := ""
	if s.kioskInfo != nil {
		base = s.kioskInfo.PublicURL()
	}
	if base == "" {
		base = c.BaseURL()
	}
	return strings.TrimSuffix(base, "/") + "/queue/follow/" + id
}

// printTicketSlip prints v's slip (取号单) with a QR code of followURL: the line's name, the number,
// the people ahead and the time of issue in China time (the layout adds the station's name).
func (s *Server) printTicketSlip(ctx context.Context, v ticketView, followURL string) error {
	if s.devices == nil || s.kioskInfo == nil {
		return errNoDevices()
	}
	service := v.Ticket.Line
	lines, err := s.store.QueueLines(ctx)
	if err != nil {
		return fmt.Errorf("read the queue lines: %w", err)
	}
	for _, l := range lines {
		if l.Code == v.Ticket.Line {
			service = l.Name
		}
	}
	slip, err := s.kioskInfo.QueueSlip(ctx, QueueSlip{Number: v.Ticket.Number, Service: service, Ahead: v.Ahead,
		IssuedAt: v.Ticket.IssuedAt.In(station.ChinaTime), FollowURL: followURL})
	if err != nil {
		return fmt.Errorf("lay out the slip: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, ticketPrintTimeout)
	defer cancel()
	return s.devices.PrintTicket(ctx, slip)
}

func (s *Server) handleTicketIssue(c *fiber.Ctx) error {
	var req ticketRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	id, err := s.issueTicket(c, caller(c).actor(), station.ChannelCounter, req)
	if err != nil {
		return err
	}
	return s.respondTicket(c, id, fiber.StatusCreated)
}

func (s *Server) handleTicket(c *fiber.Ctx) error {
	return s.respondTicket(c, c.Params("id"), fiber.StatusOK)
}

// handleFollow answers a resident's phone with the ticket's number, status and the people ahead.
func (s *Server) handleFollow(c *fiber.Ctx) error {
	v, err := s.ticket(c, c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(followView{Number: v.Ticket.Number, Status: v.Ticket.Status, StatusLabel: v.StatusLabel, Ahead: v.Ahead})
}

type callNextRequest struct {
	Counter string   `json:"counter"` // the window's name: 3号窗口
	Lines   []string `json:"lines"`   // the line codes the window serves
}

func (s *Server) handleCallNext(c *fiber.Ctx) error {
	var req callNextRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	res, err := s.submit(c.UserContext(), station.CmdQueueCallNext, caller(c).actor(),
		station.QueueCallNext{Counter: strings.TrimSpace(req.Counter), Lines: req.Lines})
	if err != nil {
		return err
	}
	return s.respondTicket(c, res.ObjectID, fiber.StatusOK)
}

type stepRequest struct {
	Counter string `json:"counter,omitempty"` // the window; the one that called the ticket when empty
}

// ticketStep returns the handler of a step command (recall, serve, done, skip, hold, resume) on the
// ticket in the path.
func ticketStep(kind station.CommandKind) func(*Server, *fiber.Ctx) error {
	return func(s *Server, c *fiber.Ctx) error {
		var req stepRequest
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		id := c.Params("id")
		step := station.QueueTicketStep{TicketID: id, Counter: strings.TrimSpace(req.Counter)}
		if _, err := s.submit(c.UserContext(), kind, caller(c).actor(), step); err != nil {
			return err
		}
		return s.respondTicket(c, id, fiber.StatusOK)
	}
}

type transferRequest struct {
	ToLine  string `json:"to_line"`
	Counter string `json:"counter,omitempty"`
}

// handleTransfer moves the ticket to another line and answers with its waiting copy there.
func (s *Server) handleTransfer(c *fiber.Ctx) error {
	var req transferRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	tr := station.QueueTicketTransfer{TicketID: c.Params("id"), NewTicketID: newTicketID(), ToLine: req.ToLine,
		Counter: strings.TrimSpace(req.Counter)}
	if _, err := s.submit(c.UserContext(), station.CmdQueueTransfer, caller(c).actor(), tr); err != nil {
		return err
	}
	return s.respondTicket(c, tr.NewTicketID, fiber.StatusOK)
}

// boardView is the waiting-room display: numbers and windows only, no ticket IDs.
type boardView struct {
	Calls []boardCall `json:"calls"` // the most recent call first
	Lines []boardLine `json:"lines"`
}

type boardCall struct {
	Number      string               `json:"number"`
	Counter     string               `json:"counter"`
	Status      station.TicketStatus `json:"status"` // called or serving
	StatusLabel string               `json:"status_label"`
}

type boardLine struct {
	Code    string   `json:"code"`
	Name    string   `json:"name"`
	Waiting int      `json:"waiting"`
	Next    []string `json:"next"` // the next numbers in calling order
}

func (s *Server) handleBoard(c *fiber.Ctx) error {
	ctx := c.UserContext()
	today := station.DateOf(s.now())
	lines, err := s.store.QueueLines(ctx)
	if err != nil {
		return err
	}
	tickets, err := s.store.TicketsOfDay(ctx, today)
	if err != nil {
		return err
	}
	waiting, err := s.store.WaitingTickets(ctx, today, nil)
	if err != nil {
		return err
	}
	return c.JSON(board(lines, tickets, waiting))
}

// board builds the display from the day's tickets and its waiting tickets in calling order.
func board(lines []station.QueueLine, tickets, waiting []station.Ticket) boardView {
	called := slices.DeleteFunc(tickets, func(t station.Ticket) bool {
		return (t.Status != station.TicketCalled && t.Status != station.TicketServing) || t.CalledAt == nil
	})
	slices.SortStableFunc(called, func(a, b station.Ticket) int { return b.CalledAt.Compare(*a.CalledAt) })
	v := boardView{Calls: []boardCall{}, Lines: []boardLine{}}
	for _, t := range called[:min(len(called), boardCalls)] {
		v.Calls = append(v.Calls, boardCall{Number: t.Number, Counter: t.Counter, Status: t.Status, StatusLabel: t.Status.Label()})
	}
	for _, l := range lines {
		bl := boardLine{Code: l.Code, Name: l.Name, Next: []string{}}
		for _, t := range waiting {
			if t.Line != l.Code {
				continue
			}
			if bl.Waiting++; len(bl.Next) < boardNextPerLine {
				bl.Next = append(bl.Next, t.Number)
			}
		}
		v.Lines = append(v.Lines, bl)
	}
	return v
}

func (s *Server) handleQueueFigures(c *fiber.Ctx) error {
	day := station.DateOf(s.now())
	if q := c.Query("day"); q != "" {
		d, err := station.ParseDate(q)
		if err != nil {
			return &station.Error{Code: station.EINVALID, Message: "日期格式应为 YYYY-MM-DD（如 2026-12-08）", Field: "day", Detail: "not a YYYY-MM-DD date"}
		}
		day = d
	}
	f, err := s.store.QueueFigures(c.UserContext(), day)
	if err != nil {
		return err
	}
	return c.JSON(f)
}
