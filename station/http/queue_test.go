package http

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/civic-station/station/station"
)

func TestBoardShowsTheLatestCallsAndTheNextFewPerLine(t *testing.T) {
	start := time.Date(2026, 12, 8, 1, 0, 0, 0, time.UTC)
	var tickets, waiting []station.Ticket
	for i := range 10 {
		at := start.Add(time.Duration(i) * time.Minute)
		status := station.TicketCalled
		if i%2 == 1 {
			status = station.TicketServing
		}
		tickets = append(tickets, station.Ticket{ID: fmt.Sprint("c", i), Line: "A", Number: station.TicketNumber("A", i+1),
			Status: status, Counter: fmt.Sprintf("%d号窗口", i), CalledAt: &at})
	}
	tickets = append(tickets, station.Ticket{ID: "done", Line: "A", Number: "A099", Status: station.TicketDone, CalledAt: &start})
	for i := range 7 {
		waiting = append(waiting, station.Ticket{ID: fmt.Sprint("w", i), Line: "B", Number: station.TicketNumber("B", i+1), Status: station.TicketWaiting})
	}
	lines := []station.QueueLine{{Code: "A", Name: "综合业务"}, {Code: "B", Name: "社会保障"}}
	b := board(lines, tickets, waiting)

	var calls []string
	for _, c := range b.Calls {
		calls = append(calls, c.Number)
	}
	if want := []string{"A010", "A009", "A008", "A007", "A006", "A005", "A004", "A003"}; !slices.Equal(calls, want) {
		t.Errorf("calls %v, want the %d latest first %v", calls, boardCalls, want)
	}
	if b.Calls[0].Status != station.TicketServing || b.Calls[0].StatusLabel != "办理中" || b.Calls[0].Counter != "9号窗口" {
		t.Errorf("first call %+v", b.Calls[0])
	}
	if len(b.Lines) != 2 || b.Lines[0].Waiting != 0 || len(b.Lines[0].Next) != 0 {
		t.Errorf("line A %+v", b.Lines[0])
	}
	if l := b.Lines[1]; l.Waiting != 7 || !slices.Equal(l.Next, []string{"B001", "B002", "B003", "B004", "B005"}) {
		t.Errorf("line B %+v, want 7 waiting and the next %d", l, boardNextPerLine)
	}
}
