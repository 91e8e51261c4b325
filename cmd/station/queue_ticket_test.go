package main

import (
	"net"
	"strings"
	"testing"

	"github.com/civic-station/station/devices/sim/escpossim"
	"github.com/civic-station/station/station"
)

// kioskTicket is the kiosk's answer to taking a ticket.
type kioskTicket struct {
	Ticket     station.Ticket `json:"ticket"`
	Ahead      int            `json:"ahead"`
	FollowURL  string         `json:"follow_url"`
	Printed    bool           `json:"printed"`
	PrintError string         `json:"print_error"`
}

// takeKioskTicket takes a ticket on line at the kiosk and fails the test unless it is answered 201.
func (s *testStation) takeKioskTicket(t *testing.T, line string) kioskTicket {
	t.Helper()
	r := s.do(t, "POST", "/api/v1/kiosk/queue/tickets", "", map[string]string{"line": line})
	if r.status != 201 {
		t.Fatalf("take a ticket at the kiosk: %d %s", r.status, r.body)
	}
	var v kioskTicket
	r.json(t, &v)
	return v
}

func TestKioskTicketIsPrinted(t *testing.T) {
	s := startStation(t)
	s.setLines(t)
	counter := s.login(t, "counter1")
	s.ticketCall(t, "POST", "/api/v1/queue/tickets", counter, map[string]string{"line": "A"}, 201) // A001, ahead of the kiosk's
	sim := s.demoDev.ticket

	t.Run("the slip holds the station, the number, the line, the people ahead, the time and a QR code of the follow page", func(t *testing.T) {
		v := s.takeKioskTicket(t, "A")
		wantURL := s.URL() + "/queue/follow/" + v.Ticket.ID
		if !v.Printed || v.PrintError != "" || v.Ticket.Number != "A002" || v.Ahead != 1 || v.FollowURL != wantURL {
			t.Fatalf("answer %+v, want A002 printed with 1 ahead and follow URL %s", v, wantURL)
		}
		job := sim.Last()
		if job == nil {
			t.Fatal("the simulated printer printed nothing")
		}
		text := job.Text()
		for _, want := range []string{demoStationName, "A002", "办理业务：综合业务", "前面还有 1 人等候", "取号时间：2026-11-24 09:30", "扫码查看排队进度"} {
			if !strings.Contains(text, want) {
				t.Errorf("printed slip lacks %q:\n%s", want, text)
			}
		}
		var qr []escpossim.Block
		for _, b := range job.Blocks {
			if b.Kind == escpossim.KindQR {
				qr = append(qr, b)
			}
		}
		if len(qr) != 1 || qr[0].QR != wantURL || qr[0].QRLevel != 'M' || qr[0].QRModule < 3 || qr[0].QRModule > 8 {
			t.Fatalf("QR codes on the slip %+v, want one of %s at level M with modules of 3–8 dots", qr, wantURL)
		}
		page := s.do(t, "GET", strings.TrimPrefix(wantURL, s.URL()), "", nil)
		if body := string(page.body); page.status != 200 || !strings.HasPrefix(page.header.Get("Content-Type"), "text/html") ||
			!strings.Contains(body, "A002") || !strings.Contains(body, "等候中") || !strings.Contains(body, "前面还有 1 人等候") {
			t.Errorf("the follow page the QR code opens: %d %s", page.status, body)
		}
	})

	t.Run("the follow page of an unknown ticket says so", func(t *testing.T) {
		page := s.do(t, "GET", "/queue/follow/00000000-0000-4000-8000-000000000000", "", nil)
		if page.status != 404 || !strings.Contains(string(page.body), "没有这个号码") {
			t.Errorf("%d %s", page.status, page.body)
		}
	})

	t.Run("a printer out of paper keeps the ticket and tells the resident to note the number", func(t *testing.T) {
		s.demoDev.SetTicketPaper(false)
		defer s.demoDev.SetTicketPaper(true)
		before := len(sim.Jobs())
		v := s.takeKioskTicket(t, "A")
		if v.Printed || v.Ticket.Number != "A003" || v.PrintError != "取号单打印失败，请记下您的号码 A003" {
			t.Fatalf("answer %+v, want A003 not printed with the message to note it", v)
		}
		if n := len(sim.Jobs()); n != before {
			t.Errorf("%d slips printed without paper", n-before)
		}
		got := s.ticketCall(t, "GET", "/api/v1/queue/tickets/"+v.Ticket.ID, counter, nil, 200)
		if got.Ticket.Number != "A003" || got.Ticket.Status != station.TicketWaiting || got.Ahead != 2 {
			t.Errorf("stored ticket %+v ahead %d, want A003 waiting behind 2", got.Ticket, got.Ahead)
		}
	})

	t.Run("paper loaded again, the next slip prints", func(t *testing.T) {
		if v := s.takeKioskTicket(t, "B"); !v.Printed || v.Ticket.Number != "B001" || !strings.Contains(sim.Last().Text(), "办理业务：社会保障") {
			t.Fatalf("answer %+v, last slip:\n%s", v, sim.Last().Text())
		}
	})
}

// TestTheSlipLinksToTheLANAddress: with HTTPS on the LAN, the QR code holds the station's LAN
// address, which a phone on the station's Wi-Fi reaches, not the kiosk's loopback one.
func TestTheSlipLinksToTheLANAddress(t *testing.T) {
	ip := lanAddress()
	if ip == "" {
		t.Skip("this machine has no non-loopback address")
	}
	s := startStationIn(t, t.TempDir(), func(m *Main) { m.ListenHTTPS = net.JoinHostPort(ip, "0") })
	s.setLines(t)
	v := s.takeKioskTicket(t, "A")
	_, port, _ := net.SplitHostPort(s.HTTP.Addrs()[1].String())
	want := "https://" + net.JoinHostPort(ip, port) + "/queue/follow/" + v.Ticket.ID
	if v.FollowURL != want || !v.Printed {
		t.Fatalf("answer %+v, want printed with follow URL %s", v, want)
	}
	if got := s.demoDev.ticket.Last().Text(); !strings.Contains(got, "[二维码] "+want) {
		t.Errorf("printed slip:\n%s\nwant the QR code of %s", got, want)
	}
}
