package sqlite_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/civic-station/station/station"
	"github.com/civic-station/station/station/sqlite"
)

// submitAt submits a command at a given time; safe from several goroutines.
func (f *fixture) submitAt(at time.Time, kind station.CommandKind, actor station.Actor, payload any) (station.Result, error) {
	cmd, err := station.NewCommand(f.nextID(), kind, at, actor, payload)
	if err != nil {
		return station.Result{}, err
	}
	return f.db.Submit(context.Background(), cmd)
}

// queueFixture is a store with two open lines, A (综合业务) and B (社保), and a closed one, C.
func queueFixture(t *testing.T) *fixture {
	t.Helper()
	f := newFixture(t)
	for _, l := range []station.QueueLine{
		{Code: "A", Name: "综合业务", Prefix: "A", Active: true},
		{Code: "B", Name: "社保业务", Prefix: "B", Active: true, MaxRecalls: 1},
		{Code: "C", Name: "民政业务", Prefix: "C"},
	} {
		f.mustSubmit(station.CmdQueueLineSet, admin, station.QueueLineSet{Line: l})
	}
	return f
}

func (f *fixture) ticket(id, line string, prio station.Priority) *station.Ticket {
	f.t.Helper()
	f.mustSubmit(station.CmdQueueTicketIssue, kiosk, station.QueueTicketIssue{TicketID: id, Line: line, Channel: station.ChannelKiosk, Priority: prio})
	return f.getTicket(id)
}

func (f *fixture) getTicket(id string) *station.Ticket {
	f.t.Helper()
	t, err := f.db.Ticket(context.Background(), id)
	if err != nil {
		f.t.Fatal(err)
	}
	return t
}

func (f *fixture) callNext(counter string, lines ...string) (string, error) {
	f.t.Helper()
	res, err := f.submit(station.CmdQueueCallNext, staff, station.QueueCallNext{Counter: counter, Lines: lines})
	return res.ObjectID, err
}

func (f *fixture) step(kind station.CommandKind, id string) error {
	f.t.Helper()
	_, err := f.submit(kind, staff, station.QueueTicketStep{TicketID: id})
	return err
}

func TestLinesAreConfiguredByTheStationAdminOnly(t *testing.T) {
	f := queueFixture(t)
	lines, err := f.db.QueueLines(context.Background())
	if err != nil || len(lines) != 3 || lines[1].Name != "社保业务" || lines[1].Recalls() != 1 || lines[2].Active {
		t.Fatalf("lines %+v, %v", lines, err)
	}
	_, err = f.submit(station.CmdQueueLineSet, staff, station.QueueLineSet{Line: station.QueueLine{Code: "D", Name: "其他", Prefix: "D"}})
	if station.ErrorCode(err) != station.EFORBIDDEN {
		t.Fatalf("staff set a line: %v", err)
	}
	if _, err := f.submit(station.CmdQueueLineSet, admin, station.QueueLineSet{Line: station.QueueLine{Code: "D", Name: "其他", Prefix: "dd"}}); station.ErrorCode(err) != station.EINVALID {
		t.Fatalf("a bad prefix: %v", err)
	}
}

func TestIssuingNumbersTicketsPerLineAndRefusesAClosedOrUnknownLine(t *testing.T) {
	f := queueFixture(t)
	if n := f.ticket("t1", "A", "").Number; n != "A001" {
		t.Fatalf("first ticket %s", n)
	}
	if n := f.ticket("t2", "B", "").Number; n != "B001" {
		t.Fatalf("first B ticket %s", n)
	}
	if tk := f.ticket("t3", "A", ""); tk.Number != "A002" || tk.Seq != 2 || tk.Status != station.TicketWaiting || tk.Day != station.DateOf(f.now) {
		t.Fatalf("second A ticket %+v", tk)
	}
	_, err := f.submit(station.CmdQueueTicketIssue, kiosk, station.QueueTicketIssue{TicketID: "t4", Line: "C", Channel: station.ChannelKiosk})
	if station.ErrorCode(err) != station.ECONFLICT || !strings.Contains(station.ErrorMessage(err), "该业务暂停取号") {
		t.Fatalf("closed line: %v", err)
	}
	_, err = f.submit(station.CmdQueueTicketIssue, kiosk, station.QueueTicketIssue{TicketID: "t4", Line: "Z", Channel: station.ChannelKiosk})
	if station.ErrorCode(err) != station.ENOTFOUND {
		t.Fatalf("unknown line: %v", err)
	}
	_, err = f.submit(station.CmdQueueTicketIssue, kiosk, station.QueueTicketIssue{TicketID: "t1", Line: "A", Channel: station.ChannelKiosk})
	if station.ErrorCode(err) != station.ECONFLICT {
		t.Fatalf("a ticket ID again: %v", err)
	}
	_, err = f.submit(station.CmdQueueTicketIssue, tech, station.QueueTicketIssue{TicketID: "t5", Line: "A", Channel: station.ChannelKiosk})
	if station.ErrorCode(err) != station.EFORBIDDEN {
		t.Fatalf("a technician took a ticket: %v", err)
	}
	_, err = f.submit(station.CmdQueueTicketIssue, kiosk, station.QueueTicketIssue{TicketID: "t5", Line: "A", Channel: "phone"})
	if station.ErrorCode(err) != station.EINVALID {
		t.Fatalf("unknown channel: %v", err)
	}
	_, err = f.submit(station.CmdQueueTicketIssue, kiosk, station.QueueTicketIssue{TicketID: "t5", Line: "A", Channel: station.ChannelKiosk, Priority: "vip"})
	if station.ErrorCode(err) != station.EINVALID {
		t.Fatalf("unknown priority: %v", err)
	}
	if n := f.ticket("t6", "A", "").Number; n != "A003" {
		t.Fatalf("refusals used a number: %s", n)
	}
}

func TestConcurrentIssuingNeverDuplicatesOrSkipsANumberAndANewDayStartsAgain(t *testing.T) {
	f := queueFixture(t)
	const workers, each = 16, 10
	day1 := f.now
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				line := []string{"A", "B"}[(w+i)%2]
				_, err := f.submitAt(day1.Add(time.Duration(w*each+i)*time.Millisecond), station.CmdQueueTicketIssue, kiosk,
					station.QueueTicketIssue{TicketID: fmt.Sprintf("w%d-%d", w, i), Line: line, Channel: station.ChannelKiosk})
				if err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	checkNumbering(t, f.db, station.DateOf(day1), map[string]int{"A": workers * each / 2, "B": workers * each / 2})

	// The next day, China time: 00:00 Beijing is 16:00 UTC.
	day2 := time.Date(2026, 11, 24, 16, 0, 0, 0, time.UTC)
	if _, err := f.submitAt(day2, station.CmdQueueTicketIssue, kiosk, station.QueueTicketIssue{TicketID: "next-day", Line: "A", Channel: station.ChannelKiosk}); err != nil {
		t.Fatal(err)
	}
	if tk := f.getTicket("next-day"); tk.Number != "A001" || tk.Day != (station.Date{Year: 2026, Month: 11, Day: 25}) {
		t.Fatalf("next day's first ticket %+v", tk)
	}
}

// checkNumbering checks that the tickets of day on each line are numbered 1..n exactly once.
func checkNumbering(t *testing.T, db *sqlite.DB, day station.Date, want map[string]int) {
	t.Helper()
	ts, err := db.TicketsOfDay(context.Background(), day)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	count := map[string]int{}
	for _, tk := range ts {
		if seen[tk.Number] {
			t.Fatalf("number %s issued twice", tk.Number)
		}
		seen[tk.Number] = true
		count[tk.Line]++
	}
	for line, n := range want {
		if count[line] != n {
			t.Fatalf("line %s has %d tickets; want %d", line, count[line], n)
		}
		for seq := 1; seq <= n; seq++ {
			if !seen[station.TicketNumber(line, seq)] {
				t.Fatalf("number %s skipped", station.TicketNumber(line, seq))
			}
		}
	}
}

func TestCallNextTakesPriorityTicketsFirstThenIssueOrderAndAuditsTheRule(t *testing.T) {
	f := queueFixture(t)
	at := func(min int) { f.now = time.Date(2026, 11, 24, 2, min, 0, 0, time.UTC) }
	at(0)
	f.ticket("a1", "A", "")
	at(1)
	f.ticket("b1", "B", "")
	at(2)
	f.ticket("a2", "A", station.PriorityElderly)
	at(3)
	f.ticket("a3", "A", "")
	at(4)
	f.ticket("b2", "B", station.PriorityDisabled)
	at(5)
	f.ticket("c-other", "A", "") // waiting, but the counter below serves B only first

	waiting, err := f.db.WaitingTickets(context.Background(), station.DateOf(f.now), []string{"A", "B"})
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, tk := range waiting {
		order = append(order, tk.ID)
	}
	if want := []string{"a2", "b2", "a1", "b1", "a3", "c-other"}; !slices.Equal(order, want) {
		t.Fatalf("waiting order %v; want %v", order, want)
	}

	at(10)
	if id, err := f.callNext("2号窗口", "B"); err != nil || id != "b2" {
		t.Fatalf("B counter called %s, %v; want b2 (priority)", id, err)
	}
	var called []string
	for range 4 {
		id, err := f.callNext("1号窗口", "A", "B")
		if err != nil {
			t.Fatal(err)
		}
		called = append(called, id)
	}
	if want := []string{"a2", "a1", "b1", "a3"}; !slices.Equal(called, want) {
		t.Fatalf("called %v; want %v", called, want)
	}
	tk := f.getTicket("a2")
	if tk.Status != station.TicketCalled || tk.Counter != "1号窗口" || tk.CalledBy != staff.Username || tk.CalledAt == nil {
		t.Fatalf("called ticket %+v", tk)
	}
	e := f.audit("ticket:a2")[0]
	if e.Action != string(station.CmdQueueCallNext) || !strings.Contains(e.Detail, "priority=elderly") || !strings.Contains(e.Detail, station.CallOrderRule) {
		t.Fatalf("call audit %+v", e)
	}
	if _, err := f.callNext("2号窗口", "B"); station.ErrorCode(err) != station.ECONFLICT || station.ErrorMessage(err) != "当前没有等候的号" {
		t.Fatalf("empty line: %v", err)
	}
	if _, err := f.submit(station.CmdQueueCallNext, kiosk, station.QueueCallNext{Counter: "1号窗口", Lines: []string{"A"}}); station.ErrorCode(err) != station.EFORBIDDEN {
		t.Fatalf("a resident called: %v", err)
	}

	// Yesterday's leftovers are not called today.
	f.now = time.Date(2026, 11, 25, 2, 0, 0, 0, time.UTC)
	if _, err := f.callNext("1号窗口", "A"); station.ErrorCode(err) != station.ECONFLICT {
		t.Fatalf("called a ticket of yesterday: %v", err)
	}
}

func TestRecallsRunUpToTheLineLimitThenTheTicketIsANoShow(t *testing.T) {
	f := queueFixture(t)
	f.ticket("a1", "A", "") // A: the default two recalls
	f.ticket("b1", "B", "") // B: one recall
	if _, err := f.callNext("1号窗口", "A"); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= station.DefaultMaxRecalls; i++ {
		if err := f.step(station.CmdQueueRecall, "a1"); err != nil {
			t.Fatal(err)
		}
		if tk := f.getTicket("a1"); tk.Status != station.TicketCalled || tk.Recalls != i {
			t.Fatalf("after recall %d: %+v", i, tk)
		}
	}
	if err := f.step(station.CmdQueueRecall, "a1"); err != nil {
		t.Fatal(err)
	}
	if tk := f.getTicket("a1"); tk.Status != station.TicketNoShow || tk.DoneAt == nil {
		t.Fatalf("after the recalls ran out: %+v", tk)
	}
	if e := f.audit("ticket:a1")[0]; e.Action != "queue.no_show" {
		t.Fatalf("no-show audit %+v", e)
	}
	if err := f.step(station.CmdQueueRecall, "a1"); station.ErrorCode(err) != station.ECONFLICT || !strings.Contains(station.ErrorMessage(err), "票号状态不允许此操作") {
		t.Fatalf("recall of a no-show: %v", err)
	}

	if _, err := f.callNext("2号窗口", "B"); err != nil {
		t.Fatal(err)
	}
	f.step(station.CmdQueueRecall, "b1")
	f.step(station.CmdQueueRecall, "b1")
	if tk := f.getTicket("b1"); tk.Status != station.TicketNoShow || tk.Recalls != 1 {
		t.Fatalf("B's one recall: %+v", tk)
	}
}

func TestEveryStepOfATicketInTheStore(t *testing.T) {
	f := queueFixture(t)
	f.ticket("t1", "A", "")
	for _, s := range []struct {
		kind station.CommandKind
		want station.TicketStatus
		code string
	}{
		{station.CmdQueueServe, station.TicketWaiting, station.ECONFLICT}, // not called yet
		{station.CmdQueueHold, station.TicketHeld, ""},
		{station.CmdQueueHold, station.TicketHeld, station.ECONFLICT},
		{station.CmdQueueResume, station.TicketWaiting, ""},
		{station.CmdQueueDone, station.TicketWaiting, station.ECONFLICT},
	} {
		err := f.step(s.kind, "t1")
		if station.ErrorCode(err) != s.code {
			t.Fatalf("%s: %v; want %q", s.kind, err, s.code)
		}
		if st := f.getTicket("t1").Status; st != s.want {
			t.Fatalf("after %s: %s; want %s", s.kind, st, s.want)
		}
	}
	f.callNext("1号窗口", "A")
	if err := f.step(station.CmdQueueHold, "t1"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.callNext("1号窗口", "A"); station.ErrorCode(err) != station.ECONFLICT {
		t.Fatalf("a held ticket was called: %v", err)
	}
	f.step(station.CmdQueueResume, "t1")
	f.callNext("1号窗口", "A")
	if err := f.step(station.CmdQueueServe, "t1"); err != nil {
		t.Fatal(err)
	}
	if err := f.step(station.CmdQueueDone, "t1"); err != nil {
		t.Fatal(err)
	}
	if tk := f.getTicket("t1"); tk.Status != station.TicketDone || tk.ServedAt == nil || tk.DoneAt == nil {
		t.Fatalf("done: %+v", tk)
	}
	f.ticket("t2", "A", "")
	f.callNext("1号窗口", "A")
	if err := f.step(station.CmdQueueSkip, "t2"); err != nil || f.getTicket("t2").Status != station.TicketSkipped {
		t.Fatalf("skip: %v", err)
	}
	if err := f.step(station.CmdQueueDone, "nope"); station.ErrorCode(err) != station.ENOTFOUND {
		t.Fatalf("unknown ticket: %v", err)
	}
}

func TestATransferKeepsTheNumberAndJoinsTheTailOfTheOtherLine(t *testing.T) {
	f := queueFixture(t)
	f.now = time.Date(2026, 11, 24, 2, 0, 0, 0, time.UTC)
	f.ticket("a1", "A", "")
	f.now = f.now.Add(time.Minute)
	f.ticket("b1", "B", "")
	f.now = f.now.Add(time.Minute)
	f.callNext("1号窗口", "A")
	f.step(station.CmdQueueServe, "a1")
	f.now = f.now.Add(time.Minute)
	res, err := f.submit(station.CmdQueueTransfer, staff, station.QueueTicketTransfer{TicketID: "a1", NewTicketID: "a1-b", ToLine: "B", Counter: "1号窗口"})
	if err != nil || res.ObjectID != "a1-b" {
		t.Fatalf("transfer %+v, %v", res, err)
	}
	old, cp := f.getTicket("a1"), f.getTicket("a1-b")
	if old.Status != station.TicketTransferred || old.TransferredTo != "a1-b" {
		t.Fatalf("original %+v", old)
	}
	if cp.Number != "A001" || cp.Line != "B" || cp.Status != station.TicketWaiting || cp.Seq != 0 || cp.TransferredFrom != "a1" ||
		!cp.IssuedAt.Equal(old.IssuedAt) || !cp.QueuedAt.Equal(f.now) {
		t.Fatalf("copy %+v", cp)
	}
	// The tail: b1, which joined B before the transfer, comes first.
	if id, _ := f.callNext("2号窗口", "B"); id != "b1" {
		t.Fatalf("called %s first; want b1", id)
	}
	if id, _ := f.callNext("2号窗口", "B"); id != "a1-b" {
		t.Fatalf("called %s second; want a1-b", id)
	}
	// B's own numbering goes on: the copy took no B number.
	if n := f.ticket("b2", "B", "").Number; n != "B002" {
		t.Fatalf("next B number %s", n)
	}
	if _, err := f.submit(station.CmdQueueTransfer, staff, station.QueueTicketTransfer{TicketID: "b2", NewTicketID: "x", ToLine: "A"}); station.ErrorCode(err) != station.ECONFLICT {
		t.Fatalf("transfer of a waiting ticket: %v", err)
	}
	if _, err := f.submit(station.CmdQueueTransfer, staff, station.QueueTicketTransfer{TicketID: "a1-b", NewTicketID: "x", ToLine: "C"}); station.ErrorCode(err) != station.ECONFLICT {
		t.Fatalf("transfer to a closed line: %v", err)
	}
}

func TestIssueAndFinalOutcomesGoToTheDataCenterAndTheStepsBetweenDoNot(t *testing.T) {
	f := queueFixture(t)
	ctx := context.Background()
	before, err := f.db.OutboxLen(ctx)
	if err != nil {
		t.Fatal(err)
	}
	f.ticket("t1", "A", station.PriorityAppointment)
	f.callNext("1号窗口", "A")
	f.step(station.CmdQueueRecall, "t1")
	f.step(station.CmdQueueServe, "t1")
	f.step(station.CmdQueueDone, "t1")
	pending, err := f.db.PendingOutbox(ctx, 100)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	var last station.QueueRecord
	for _, r := range pending[before:] {
		kinds = append(kinds, r.Kind)
		if err := json.Unmarshal(r.Payload, &last); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(r.Payload), staff.Username) {
			t.Fatalf("a staff name went out: %s", r.Payload)
		}
	}
	if want := []string{string(station.CmdQueueTicketIssue), string(station.CmdQueueDone)}; !slices.Equal(kinds, want) {
		t.Fatalf("outbox kinds %v; want %v", kinds, want)
	}
	if last.Number != "A001" || last.Status != station.TicketDone || last.Priority != station.PriorityAppointment || last.ServedAt == nil || last.Recalls != 1 {
		t.Fatalf("done record %+v", last)
	}
}

func TestFiguresOfASmallDay(t *testing.T) {
	f := queueFixture(t)
	base := time.Date(2026, 11, 24, 1, 0, 0, 0, time.UTC) // 09:00 Beijing
	at := func(min int) { f.now = base.Add(time.Duration(min) * time.Minute) }
	// A: a1 issued 0, called 10 at 1号, served 11, done 21 (wait 10, service 10)
	//    a2 issued 1, called 21 at 1号, served 22, done 52 (wait 20, service 30)
	//    a3 issued 2, called 52 at 2号, no-show after the recalls (wait 50)
	// B: b1 issued 5, called 7 at 2号, served 8, done 12 (wait 2, service 4)
	at(0)
	f.ticket("a1", "A", "")
	at(1)
	f.ticket("a2", "A", "")
	at(2)
	f.ticket("a3", "A", "")
	at(5)
	f.ticket("b1", "B", "")
	at(7)
	f.callNext("2号窗口", "B")
	at(8)
	f.step(station.CmdQueueServe, "b1")
	at(10)
	f.callNext("1号窗口", "A")
	at(11)
	f.step(station.CmdQueueServe, "a1")
	at(12)
	f.step(station.CmdQueueDone, "b1")
	at(21)
	f.step(station.CmdQueueDone, "a1")
	f.callNext("1号窗口", "A")
	at(22)
	f.step(station.CmdQueueServe, "a2")
	at(52)
	f.step(station.CmdQueueDone, "a2")
	if _, err := f.submit(station.CmdQueueCallNext, staff, station.QueueCallNext{Counter: "2号窗口", Lines: []string{"A"}}); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := f.submit(station.CmdQueueRecall, staff, station.QueueTicketStep{TicketID: "a3"}); err != nil {
			t.Fatal(err)
		}
	}

	fig, err := f.db.QueueFigures(context.Background(), station.DateOf(base))
	if err != nil {
		t.Fatal(err)
	}
	m := time.Minute
	want := station.QueueFigures{Day: station.DateOf(base),
		Lines: []station.QueueFigure{
			{Key: "A", Issued: 3, Done: 2, NoShows: 1,
				Waiting: station.DurationStats{Count: 3, Avg: 80 * m / 3, P50: 20 * m, Max: 50 * m},
				Service: station.DurationStats{Count: 2, Avg: 20 * m, P50: 10 * m, Max: 30 * m}},
			{Key: "B", Issued: 1, Done: 1,
				Waiting: station.DurationStats{Count: 1, Avg: 2 * m, P50: 2 * m, Max: 2 * m},
				Service: station.DurationStats{Count: 1, Avg: 4 * m, P50: 4 * m, Max: 4 * m}}},
		Counters: []station.QueueFigure{
			{Key: "1号窗口", Done: 2,
				Waiting: station.DurationStats{Count: 2, Avg: 15 * m, P50: 10 * m, Max: 20 * m},
				Service: station.DurationStats{Count: 2, Avg: 20 * m, P50: 10 * m, Max: 30 * m}},
			{Key: "2号窗口", Done: 1, NoShows: 1,
				Waiting: station.DurationStats{Count: 2, Avg: 26 * m, P50: 2 * m, Max: 50 * m},
				Service: station.DurationStats{Count: 1, Avg: 4 * m, P50: 4 * m, Max: 4 * m}}},
	}
	if got, _ := json.Marshal(fig); string(got) != mustJSON(t, want) {
		t.Fatalf("figures\n got %s\nwant %s", got, mustJSON(t, want))
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestTheQueueSurvivesARestart(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "station.db")
	ctx := context.Background()
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, db: db, now: time.Date(2026, 11, 24, 2, 0, 0, 0, time.UTC)}
	f.mustSubmit(station.CmdQueueLineSet, admin, station.QueueLineSet{Line: station.QueueLine{Code: "A", Name: "综合业务", Prefix: "A", Active: true}})
	f.ticket("t1", "A", "")
	f.ticket("t2", "A", station.PriorityElderly)
	f.callNext("1号窗口", "A")
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db, err = sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	f.db = db
	if tk := f.getTicket("t2"); tk.Status != station.TicketCalled || tk.Counter != "1号窗口" {
		t.Fatalf("called ticket after the restart %+v", tk)
	}
	if id, err := f.callNext("1号窗口", "A"); err != nil || id != "t1" {
		t.Fatalf("next after the restart %s, %v", id, err)
	}
	if n := f.ticket("t3", "A", "").Number; n != "A003" {
		t.Fatalf("numbering after the restart %s", n)
	}
}
