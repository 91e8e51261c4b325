package main

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/civic-station/station/station"
)

// apiTicket is the queue API's answer about a ticket.
type apiTicket struct {
	Ticket      station.Ticket `json:"ticket"`
	StatusLabel string         `json:"status_label"`
	Ahead       int            `json:"ahead"`
}

// ticketCall sends a queue request that answers a ticket and fails the test unless it has status want.
func (s *testStation) ticketCall(t *testing.T, method, path, token string, body any, want int) apiTicket {
	t.Helper()
	r := s.do(t, method, path, token, body)
	if r.status != want {
		t.Fatalf("%s %s: %d %s", method, path, r.status, r.body)
	}
	var v apiTicket
	r.json(t, &v)
	return v
}

// setLines configures active lines A (综合业务) and B (社会保障) as the station admin.
func (s *testStation) setLines(t *testing.T) {
	t.Helper()
	admin := s.login(t, "admin")
	for code, name := range map[string]string{"A": "综合业务", "B": "社会保障"} {
		r := s.do(t, "PUT", "/api/v1/queue/lines/"+code, admin, map[string]any{"name": name, "prefix": code, "active": true})
		if r.status != 200 {
			t.Fatalf("set line %s: %d %s", code, r.status, r.body)
		}
	}
}

// wantRefused checks an error answer's status, code and that its message contains msg.
func wantRefused(t *testing.T, r response, status int, code, msg string) {
	t.Helper()
	got, message := r.errorCode(t)
	if r.status != status || got != code || !strings.Contains(message, msg) {
		t.Fatalf("got %d %s %q, want %d %s %q", r.status, got, message, status, code, msg)
	}
}

func TestQueueAPI(t *testing.T) {
	s := startStation(t)
	admin, counter, tech := s.login(t, "admin"), s.login(t, "counter1"), s.login(t, "tech")

	t.Run("only the station admin configures lines", func(t *testing.T) {
		line := map[string]any{"name": "综合业务", "prefix": "A", "active": true}
		wantRefused(t, s.do(t, "PUT", "/api/v1/queue/lines/A", counter, line), 403, "EFORBIDDEN", "")
		wantRefused(t, s.do(t, "PUT", "/api/v1/queue/lines/A", admin, `{"name":`), 400, "EINVALID", "")
		wantRefused(t, s.do(t, "PUT", "/api/v1/queue/lines/A", admin, map[string]any{"name": "综合业务", "prefix": "ab"}), 400, "EINVALID", "号码前缀")
		s.setLines(t)
		var out struct{ Items []station.QueueLine }
		r := s.do(t, "GET", "/api/v1/queue/lines", counter, nil)
		r.json(t, &out)
		// The demo's three lines, A and B as set here.
		if r.status != 200 || len(out.Items) != 3 || out.Items[0].Code != "A" || out.Items[0].Name != "综合业务" || !out.Items[0].Active ||
			out.Items[1].Name != "社会保障" {
			t.Fatalf("lines: %d %s", r.status, r.body)
		}
	})

	var kiosk, plain, elderly apiTicket
	t.Run("tickets are numbered per line and answer the people ahead", func(t *testing.T) {
		kiosk = s.ticketCall(t, "POST", "/api/v1/kiosk/queue/tickets", "", map[string]string{"line": "A"}, 201)
		plain = s.ticketCall(t, "POST", "/api/v1/queue/tickets", counter, map[string]string{"line": "A"}, 201)
		elderly = s.ticketCall(t, "POST", "/api/v1/queue/tickets", counter, map[string]string{"line": "A", "priority": "elderly"}, 201)
		for _, c := range []struct {
			got         apiTicket
			number      string
			channel     string
			ahead       int
			priority    station.Priority
			statusLabel string
		}{
			{kiosk, "A001", station.ChannelKiosk, 0, "", "等候中"},
			{plain, "A002", station.ChannelCounter, 1, "", "等候中"},
			{elderly, "A003", station.ChannelCounter, 0, station.PriorityElderly, "等候中"}, // priority first
		} {
			if c.got.Ticket.Number != c.number || c.got.Ticket.Channel != c.channel || c.got.Ahead != c.ahead ||
				c.got.Ticket.Priority != c.priority || c.got.StatusLabel != c.statusLabel || c.got.Ticket.ID == "" {
				t.Errorf("ticket %+v, want %s via %s with %d ahead", c.got, c.number, c.channel, c.ahead)
			}
		}
		if v := s.ticketCall(t, "GET", "/api/v1/queue/tickets/"+kiosk.Ticket.ID, counter, nil, 200); v.Ahead != 1 {
			t.Errorf("A001 has %d ahead after a priority ticket, want 1", v.Ahead)
		}
	})

	t.Run("taking a ticket is refused with reasons", func(t *testing.T) {
		wantRefused(t, s.do(t, "POST", "/api/v1/queue/tickets", tech, map[string]string{"line": "A"}), 403, "EFORBIDDEN", "")
		wantRefused(t, s.do(t, "POST", "/api/v1/queue/tickets", counter, map[string]string{"line": "Z"}), 404, "ENOTFOUND", "没有业务")
		wantRefused(t, s.do(t, "POST", "/api/v1/queue/tickets", counter, map[string]string{"line": "A", "priority": "vip"}), 400, "EINVALID", "优先")
		wantRefused(t, s.do(t, "POST", "/api/v1/kiosk/queue/tickets", "", map[string]string{"line": "A", "priority": "elderly"}), 400, "EINVALID", "")
		wantRefused(t, s.do(t, "POST", "/api/v1/queue/tickets", counter, "[1,"), 400, "EINVALID", "")
	})

	t.Run("the follow page tells the number, status and people ahead, nothing else", func(t *testing.T) {
		r := s.do(t, "GET", "/api/v1/queue/follow/"+plain.Ticket.ID, "", nil)
		var got map[string]any
		r.json(t, &got)
		want := map[string]any{"number": "A002", "status": "waiting", "status_label": "等候中", "ahead": float64(2)}
		if r.status != 200 || len(got) != len(want) {
			t.Fatalf("follow: %d %s", r.status, r.body)
		}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("follow %s = %v, want %v", k, got[k], v)
			}
		}
		wantRefused(t, s.do(t, "GET", "/api/v1/queue/follow/0193aaaa-0000-4000-8000-000000000000", "", nil), 404, "ENOTFOUND", "没有这个票号")
		if plain.Ticket.ID[14] != '4' {
			t.Errorf("ticket ID %s is not a random (v4) UUID", plain.Ticket.ID)
		}
	})

	t.Run("a counter calls, serves and ends tickets", func(t *testing.T) {
		call := map[string]any{"counter": "1号窗口", "lines": []string{"A"}}
		wantRefused(t, s.do(t, "POST", "/api/v1/queue/call-next", tech, call), 403, "EFORBIDDEN", "")
		got := s.ticketCall(t, "POST", "/api/v1/queue/call-next", counter, call, 200)
		if got.Ticket.Number != "A003" || got.Ticket.Status != station.TicketCalled || got.Ticket.Counter != "1号窗口" {
			t.Fatalf("called %+v, want the priority ticket A003", got)
		}
		step := map[string]string{"counter": "1号窗口"}
		path := "/api/v1/queue/tickets/" + got.Ticket.ID
		wantRefused(t, s.do(t, "POST", path+"/done", counter, step), 409, "ECONFLICT", "票号状态不允许此操作")
		wantRefused(t, s.do(t, "POST", path+"/serve", tech, step), 403, "EFORBIDDEN", "")
		wantRefused(t, s.do(t, "POST", path+"/serve", counter, ""), 400, "EINVALID", "")
		wantRefused(t, s.do(t, "POST", "/api/v1/queue/tickets/0193aaaa-0000-4000-8000-000000000000/serve", counter, step), 404, "ENOTFOUND", "没有这个票号")
		if v := s.ticketCall(t, "POST", path+"/serve", counter, step, 200); v.Ticket.Status != station.TicketServing {
			t.Fatalf("serve: %+v", v)
		}
		if v := s.ticketCall(t, "POST", path+"/done", counter, step, 200); v.Ticket.Status != station.TicketDone || v.StatusLabel != "已办结" {
			t.Fatalf("done: %+v", v)
		}

		got = s.ticketCall(t, "POST", "/api/v1/queue/call-next", counter, call, 200)
		path = "/api/v1/queue/tickets/" + got.Ticket.ID
		if got.Ticket.Number != "A001" {
			t.Fatalf("called %s, want A001", got.Ticket.Number)
		}
		if v := s.ticketCall(t, "POST", path+"/recall", counter, map[string]string{}, 200); v.Ticket.Recalls != 1 || v.Ticket.Status != station.TicketCalled {
			t.Fatalf("recall: %+v", v)
		}
		if v := s.ticketCall(t, "POST", path+"/skip", counter, step, 200); v.Ticket.Status != station.TicketSkipped {
			t.Fatalf("skip: %+v", v)
		}

		got = s.ticketCall(t, "POST", "/api/v1/queue/call-next", counter, call, 200)
		path = "/api/v1/queue/tickets/" + got.Ticket.ID
		wantRefused(t, s.do(t, "POST", path+"/transfer", counter, map[string]string{"to_line": "A"}), 400, "EINVALID", "同一业务")
		cp := s.ticketCall(t, "POST", path+"/transfer", counter, map[string]string{"to_line": "B", "counter": "1号窗口"}, 200)
		if cp.Ticket.Number != "A002" || cp.Ticket.Line != "B" || cp.Ticket.Status != station.TicketWaiting || cp.Ticket.TransferredFrom != got.Ticket.ID {
			t.Fatalf("transferred copy %+v", cp)
		}
		if v := s.ticketCall(t, "GET", path, counter, nil, 200); v.Ticket.Status != station.TicketTransferred {
			t.Fatalf("original after transfer: %+v", v)
		}

		wantRefused(t, s.do(t, "POST", "/api/v1/queue/call-next", counter, call), 409, "ECONFLICT", "当前没有等候的号")

		held := s.ticketCall(t, "POST", "/api/v1/queue/tickets/"+cp.Ticket.ID+"/hold", counter, map[string]string{}, 200)
		if held.Ticket.Status != station.TicketHeld {
			t.Fatalf("hold: %+v", held)
		}
		if v := s.ticketCall(t, "POST", "/api/v1/queue/tickets/"+cp.Ticket.ID+"/resume", counter, map[string]string{}, 200); v.Ticket.Status != station.TicketWaiting {
			t.Fatalf("resume: %+v", v)
		}
	})

	t.Run("the figures count the day per line and counter", func(t *testing.T) {
		var f station.QueueFigures
		r := s.do(t, "GET", "/api/v1/queue/figures?day="+station.DateOf(s.clock.Now()).String(), counter, nil)
		r.json(t, &f)
		if r.status != 200 || len(f.Lines) != 2 || f.Lines[0].Key != "A" || f.Lines[0].Issued != 3 || f.Lines[0].Done != 1 || f.Lines[0].Skipped != 1 ||
			len(f.Counters) != 1 || f.Counters[0].Key != "1号窗口" {
			t.Fatalf("figures: %d %s", r.status, r.body)
		}
		if r := s.do(t, "GET", "/api/v1/queue/figures", admin, nil); r.status != 200 {
			t.Fatalf("figures of today: %d %s", r.status, r.body)
		}
		wantRefused(t, s.do(t, "GET", "/api/v1/queue/figures?day=2026-13-01", counter, nil), 400, "EINVALID", "日期")
		wantRefused(t, s.do(t, "GET", "/api/v1/queue/figures", tech, nil), 403, "EFORBIDDEN", "")
	})

	t.Run("every step is in the audit log", func(t *testing.T) {
		var actions []string
		for _, e := range s.auditOf(t, "ticket:"+elderly.Ticket.ID) {
			actions = append(actions, e.Action)
		}
		for _, want := range []string{"queue.ticket_issue", "queue.call_next", "queue.serve", "queue.done"} {
			if !slices.Contains(actions, want) {
				t.Errorf("audit of A003 %v lacks %s", actions, want)
			}
		}
	})
}

func TestQueueBoard(t *testing.T) {
	s := startStation(t)
	s.setLines(t)
	admin, counter := s.login(t, "admin"), s.login(t, "counter1")
	if r := s.do(t, "PUT", "/api/v1/queue/lines/C", admin, map[string]any{"name": "暂停业务", "prefix": "C", "active": false}); r.status != 200 {
		t.Fatalf("line C: %d %s", r.status, r.body)
	}
	var ids []string
	for _, line := range []string{"A", "A", "A", "B"} {
		ids = append(ids, s.ticketCall(t, "POST", "/api/v1/kiosk/queue/tickets", "", map[string]string{"line": line}, 201).Ticket.ID)
	}
	for _, c := range []struct{ counter, line string }{{"1号窗口", "A"}, {"2号窗口", "B"}} {
		s.clock.Advance(time.Minute)
		s.ticketCall(t, "POST", "/api/v1/queue/call-next", counter, map[string]any{"counter": c.counter, "lines": []string{c.line}}, 200)
	}

	t.Run("the board shows the latest call first and the next numbers per line, without ticket IDs", func(t *testing.T) {
		r := s.do(t, "GET", "/api/v1/queue/board", "", nil)
		var b struct {
			Calls []struct{ Number, Counter, Status, StatusLabel string }
			Lines []struct {
				Code    string
				Waiting int
				Next    []string
			}
		}
		r.json(t, &b)
		if r.status != 200 || len(b.Calls) != 2 || b.Calls[0].Number != "B001" || b.Calls[0].Counter != "2号窗口" ||
			b.Calls[1].Number != "A001" || b.Calls[1].Counter != "1号窗口" || b.Calls[0].Status != "called" {
			t.Fatalf("board calls: %d %s", r.status, r.body)
		}
		if len(b.Lines) != 3 || b.Lines[0].Code != "A" || b.Lines[0].Waiting != 2 || !slices.Equal(b.Lines[0].Next, []string{"A002", "A003"}) ||
			b.Lines[1].Waiting != 0 || len(b.Lines[1].Next) != 0 {
			t.Fatalf("board lines: %s", r.body)
		}
		for _, id := range ids {
			if strings.Contains(string(r.body), id) {
				t.Fatalf("the board shows ticket ID %s: %s", id, r.body)
			}
		}
	})

	t.Run("the kiosk lists only the lines that issue tickets", func(t *testing.T) {
		r := s.do(t, "GET", "/api/v1/kiosk/queue/lines", "", nil)
		var out struct{ Items []station.QueueLine }
		r.json(t, &out)
		if r.status != 200 || len(out.Items) != 2 || out.Items[1].Code != "B" {
			t.Fatalf("kiosk lines: %d %s", r.status, r.body)
		}
		wantRefused(t, s.do(t, "POST", "/api/v1/kiosk/queue/tickets", "", map[string]string{"line": "C"}), 409, "ECONFLICT", "暂停取号")
	})
}
