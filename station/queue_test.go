package station_test

import (
	"testing"

	"github.com/civic-station/station/station"
)

// ticketAllowed is the ticket state machine written out pair by pair, independently of the table.
var ticketAllowed = map[station.TicketStatus]map[station.QueueAction]station.TicketStatus{
	station.TicketWaiting: {station.QueueCall: station.TicketCalled, station.QueueHold: station.TicketHeld},
	station.TicketCalled: {station.QueueRecall: station.TicketCalled, station.QueueNoShow: station.TicketNoShow,
		station.QueueServe: station.TicketServing, station.QueueSkip: station.TicketSkipped,
		station.QueueTransfer: station.TicketTransferred, station.QueueHold: station.TicketHeld},
	station.TicketServing: {station.QueueDone: station.TicketDone, station.QueueTransfer: station.TicketTransferred},
	station.TicketHeld:    {station.QueueResume: station.TicketWaiting},
}

func TestEveryTicketStatusAndActionPairIsAllowedOrRefusedAsTheTableSays(t *testing.T) {
	for _, from := range station.TicketStatuses {
		for _, action := range station.QueueActions {
			want, ok := ticketAllowed[from][action]
			name := string(from) + " then " + string(action)
			if ok {
				name += " reaches " + string(want)
			} else {
				name += " is refused"
			}
			t.Run(name, func(t *testing.T) {
				got, err := station.TicketTransit(from, action)
				if !ok {
					if station.ErrorCode(err) != station.ECONFLICT || got != "" {
						t.Fatalf("got %q, %v; want ECONFLICT", got, err)
					}
					return
				}
				if err != nil || got != want {
					t.Fatalf("got %q, %v; want %q", got, err, want)
				}
			})
		}
	}
}

func TestFinalStatusesHaveNoWayOut(t *testing.T) {
	for _, tr := range station.TicketTransitions {
		if tr.From.Final() {
			t.Errorf("%s leaves final status %s", tr.Action, tr.From)
		}
	}
	for _, s := range []station.TicketStatus{station.TicketDone, station.TicketNoShow, station.TicketSkipped, station.TicketTransferred} {
		if !s.Final() {
			t.Errorf("%s is not final", s)
		}
	}
}

func TestARefusedActionSaysSoInChinese(t *testing.T) {
	_, err := station.TicketTransit(station.TicketDone, station.QueueCall)
	if msg := station.ErrorMessage(err); msg != "票号状态不允许此操作：当前为“已办结”，不能“叫号”" {
		t.Fatalf("message %q", msg)
	}
}

func TestTicketNumbersHaveThreeDigits(t *testing.T) {
	for seq, want := range map[int]string{1: "A001", 12: "A012", 999: "A999"} {
		if got := station.TicketNumber("A", seq); got != want {
			t.Errorf("TicketNumber(A, %d) = %s; want %s", seq, got, want)
		}
	}
}

func TestLineValidation(t *testing.T) {
	good := station.QueueLine{Code: "A", Name: "综合业务", Prefix: "A", Active: true}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	if good.Recalls() != station.DefaultMaxRecalls {
		t.Fatalf("default recalls %d", good.Recalls())
	}
	for name, l := range map[string]station.QueueLine{
		"a lower-case code is refused":   {Code: "a", Name: "综合", Prefix: "A"},
		"an empty name is refused":       {Code: "A", Prefix: "A"},
		"a two-letter prefix is refused": {Code: "A", Name: "综合", Prefix: "AB"},
		"ten recalls are refused":        {Code: "A", Name: "综合", Prefix: "A", MaxRecalls: 10},
		"a negative recall is refused":   {Code: "A", Name: "综合", Prefix: "A", MaxRecalls: -1},
	} {
		t.Run(name, func(t *testing.T) {
			if station.ErrorCode(l.Validate()) != station.EINVALID {
				t.Fatal("accepted")
			}
		})
	}
}

func TestWhoMayDoWhatInTheQueue(t *testing.T) {
	if !station.CanIssueTickets(station.RoleResident) || !station.CanIssueTickets(station.RoleStaff) || station.CanIssueTickets(station.RoleTechnician) {
		t.Error("issue roles")
	}
	if station.CanCallTickets(station.RoleResident) || !station.CanCallTickets(station.RoleStaff) || station.CanCallTickets(station.RoleTechnician) {
		t.Error("call roles")
	}
	if station.CanConfigureQueue(station.RoleStaff) || !station.CanConfigureQueue(station.RoleStationAdmin) {
		t.Error("configure roles")
	}
}
