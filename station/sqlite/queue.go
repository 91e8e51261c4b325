package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/civic-station/station/station"
)

// queueCommand applies one of the queue's commands.
func (a *applier) queueCommand() error {
	switch a.cmd.Kind {
	case station.CmdQueueLineSet:
		return a.queueLineSet()
	case station.CmdQueueTicketIssue:
		return a.queueTicketIssue()
	case station.CmdQueueCallNext:
		return a.queueCallNext()
	case station.CmdQueueRecall:
		return a.queueStep(station.QueueRecall)
	case station.CmdQueueServe:
		return a.queueStep(station.QueueServe)
	case station.CmdQueueDone:
		return a.queueStep(station.QueueDone)
	case station.CmdQueueSkip:
		return a.queueStep(station.QueueSkip)
	case station.CmdQueueHold:
		return a.queueStep(station.QueueHold)
	case station.CmdQueueResume:
		return a.queueStep(station.QueueResume)
	case station.CmdQueueTransfer:
		return a.queueTransfer()
	}
	return station.Errorf(station.EINVALID, "未知的命令类型“%s”", a.cmd.Kind)
}

func (a *applier) queueLineSet() error {
	a.eff.local = true // the station's own configuration
	if err := a.requireRole(station.CanConfigureQueue(a.cmd.Actor.Role)); err != nil {
		return err
	}
	var p station.QueueLineSet
	if err := a.decode(&p); err != nil {
		return err
	}
	l := p.Line
	a.eff.object, a.eff.objectID = "queue_line:"+l.Code, l.Code
	if err := l.Validate(); err != nil {
		return err
	}
	cats, err := json.Marshal(nonNil(l.MatterCategories))
	if err != nil {
		return err
	}
	a.eff.detail = fmt.Sprintf("%s %s prefix=%s active=%t max_recalls=%d", l.Code, l.Name, l.Prefix, l.Active, l.Recalls())
	return a.exec(`INSERT INTO queue_lines (code, name, prefix, active, max_recalls, matter_categories, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (code) DO UPDATE SET name = excluded.name, prefix = excluded.prefix, active = excluded.active,
		max_recalls = excluded.max_recalls, matter_categories = excluded.matter_categories, updated_at = excluded.updated_at`,
		l.Code, l.Name, l.Prefix, boolInt(l.Active), l.MaxRecalls, string(cats), formatTime(a.cmd.At))
}

// loadLine returns a line, or ENOTFOUND.
func (a *applier) loadLine(code string) (station.QueueLine, error) {
	l, err := scanLine(a.tx.QueryRowContext(a.ctx, lineSelect+` WHERE code = ?`, code))
	if errors.Is(err, sql.ErrNoRows) {
		return l, &station.Error{Code: station.ENOTFOUND, Message: fmt.Sprintf("没有业务“%s”", code), Field: "line", Detail: "no such line"}
	}
	return l, err
}

func validTicketID(id string) error {
	if id == "" || len(id) > 64 {
		return &station.Error{Code: station.EINVALID, Message: "票号编号无效", Field: "ticket_id", Detail: "empty or longer than 64"}
	}
	return nil
}

func validCounter(name string, required bool) error {
	if (required && name == "") || utf8.RuneCountInString(name) > 32 {
		return &station.Error{Code: station.EINVALID, Message: "窗口名称不能为空，且不超过32个字", Field: "counter", Detail: "empty or too long"}
	}
	return nil
}

// queueTicketIssue numbers a new ticket: the line's next sequence on the command's day (China time),
// read from the (line, day, seq) index in the transaction that inserts it. Commands apply one at a
// time on every box, so two tickets never get the same number and none is skipped.
func (a *applier) queueTicketIssue() error {
	if err := a.requireRole(station.CanIssueTickets(a.cmd.Actor.Role)); err != nil {
		return err
	}
	var p station.QueueTicketIssue
	if err := a.decode(&p); err != nil {
		return err
	}
	a.eff.object, a.eff.objectID = "ticket:"+p.TicketID, p.TicketID
	if err := validTicketID(p.TicketID); err != nil {
		return err
	}
	if p.Channel != station.ChannelKiosk && p.Channel != station.ChannelCounter {
		return &station.Error{Code: station.EINVALID, Message: "取号渠道应为自助机或窗口", Field: "channel", Detail: "kiosk or counter"}
	}
	if !p.Priority.Valid() {
		return &station.Error{Code: station.EINVALID, Message: "未知的优先类别", Field: "priority", Detail: "unknown priority reason"}
	}
	line, err := a.loadLine(p.Line)
	if err != nil {
		return err
	}
	if !line.Active {
		return &station.Error{Code: station.ECONFLICT, Message: fmt.Sprintf("该业务暂停取号（%s）", line.Name), Field: "line", Detail: "line inactive"}
	}
	if err := a.ticketAbsent(p.TicketID); err != nil {
		return err
	}
	day := station.DateOf(a.cmd.At)
	var last int
	if err := a.tx.QueryRowContext(a.ctx, `SELECT coalesce(max(seq), 0) FROM queue_tickets WHERE line = ? AND day = ?`,
		line.Code, day.String()).Scan(&last); err != nil {
		return err
	}
	if last >= station.MaxTicketsPerLineDay {
		return station.Errorf(station.ECONFLICT, "今日该业务号码已取完（每日最多%d个），请明日再来", station.MaxTicketsPerLineDay)
	}
	t := station.Ticket{ID: p.TicketID, Line: line.Code, Day: day, Seq: last + 1, Number: station.TicketNumber(line.Prefix, last+1),
		Status: station.TicketWaiting, Priority: p.Priority, Channel: p.Channel, IssuedAt: a.cmd.At, QueuedAt: a.cmd.At}
	if err := a.insertTicket(t); err != nil {
		return err
	}
	a.eff.detail = fmt.Sprintf("%s line=%s channel=%s priority=%s", t.Number, t.Line, t.Channel, cmp.Or(string(t.Priority), "none"))
	if err := a.queueEvent(t.ID, "issue", "", t.Status, ""); err != nil {
		return err
	}
	return a.sendTicket(t.ID)
}

func (a *applier) ticketAbsent(id string) error {
	var n int
	if err := a.tx.QueryRowContext(a.ctx, `SELECT count(*) FROM queue_tickets WHERE id = ?`, id).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return &station.Error{Code: station.ECONFLICT, Message: "票号编号已存在", Field: "ticket_id", Detail: "ticket ID taken"}
	}
	return nil
}

func (a *applier) insertTicket(t station.Ticket) error {
	var seq any
	if t.Seq > 0 {
		seq = t.Seq
	}
	return a.exec(`INSERT INTO queue_tickets (id, line, day, seq, number, status, priority, channel, issued_at, queued_at, transferred_from)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		t.ID, t.Line, t.Day.String(), seq, t.Number, string(t.Status), string(t.Priority), t.Channel,
		formatTime(t.IssuedAt), formatTime(t.QueuedAt), t.TransferredFrom)
}

// queueEvent records a ticket's transition.
func (a *applier) queueEvent(ticketID, action string, from, to station.TicketStatus, counter string) error {
	return a.exec(`INSERT INTO queue_events (ticket_id, at, action, from_status, to_status, by, counter, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		ticketID, formatTime(a.cmd.At), action, string(from), string(to), a.cmd.Actor.Username, counter, a.eff.detail)
}

// sendTicket makes the command's outbox record the data center's record of the ticket as it now is.
func (a *applier) sendTicket(id string) error {
	t, err := scanTicket(a.tx.QueryRowContext(a.ctx, ticketSelect+` WHERE id = ?`, id))
	if err != nil {
		return err
	}
	b, err := json.Marshal(t.Record())
	if err != nil {
		return err
	}
	a.eff.outPayload = b
	return nil
}

// queueCallNext calls the next ticket by station.CallOrderRule and writes the rule, the ticket and its
// priority in the audit entry.
func (a *applier) queueCallNext() error {
	a.eff.local = true
	if err := a.requireRole(station.CanCallTickets(a.cmd.Actor.Role)); err != nil {
		return err
	}
	var p station.QueueCallNext
	if err := a.decode(&p); err != nil {
		return err
	}
	if err := validCounter(p.Counter, true); err != nil {
		return err
	}
	if len(p.Lines) == 0 || len(p.Lines) > 32 {
		return &station.Error{Code: station.EINVALID, Message: "请选择本窗口办理的业务", Field: "lines", Detail: "1 to 32 line codes"}
	}
	for _, code := range p.Lines {
		if _, err := a.loadLine(code); err != nil {
			return err
		}
	}
	day := station.DateOf(a.cmd.At)
	args := []any{day.String()}
	for _, code := range p.Lines {
		args = append(args, code)
	}
	var id, number, prio string
	err := a.tx.QueryRowContext(a.ctx, `SELECT id, number, priority FROM queue_tickets
		WHERE day = ? AND status = 'waiting' AND line IN (?`+strings.Repeat(", ?", len(p.Lines)-1)+`)
		ORDER BY priority = '', queued_at, number, id LIMIT 1`, args...).Scan(&id, &number, &prio)
	if errors.Is(err, sql.ErrNoRows) {
		return &station.Error{Code: station.ECONFLICT, Message: "当前没有等候的号", Detail: "no ticket waiting on these lines"}
	} else if err != nil {
		return err
	}
	a.eff.object, a.eff.objectID = "ticket:"+id, id
	a.eff.detail = fmt.Sprintf("%s counter=%s lines=%s priority=%s rule=%s", number, p.Counter, strings.Join(p.Lines, ","),
		cmp.Or(prio, "none"), station.CallOrderRule)
	at := formatTime(a.cmd.At)
	if err := a.exec(`UPDATE queue_tickets SET status = 'called', called_at = coalesce(called_at, ?), counter = ?, called_by = ? WHERE id = ?`,
		at, p.Counter, a.cmd.Actor.Username, id); err != nil {
		return err
	}
	return a.queueEvent(id, string(station.QueueCall), station.TicketWaiting, station.TicketCalled, p.Counter)
}

// queueStep applies recall, serve, done, skip, hold or resume to a ticket.
func (a *applier) queueStep(action station.QueueAction) error {
	a.eff.local = true
	if err := a.requireRole(station.CanCallTickets(a.cmd.Actor.Role)); err != nil {
		return err
	}
	var p station.QueueTicketStep
	if err := a.decode(&p); err != nil {
		return err
	}
	a.eff.object, a.eff.objectID = "ticket:"+p.TicketID, p.TicketID
	if err := validCounter(p.Counter, false); err != nil {
		return err
	}
	t, err := a.loadTicket(p.TicketID)
	if err != nil {
		return err
	}
	if action == station.QueueRecall && t.Status == station.TicketCalled {
		line, err := a.loadLine(t.Line)
		if err != nil {
			return err
		}
		if t.Recalls >= line.Recalls() {
			action = station.QueueNoShow
			a.eff.auditAction = "queue.no_show"
		}
	}
	to, err := station.TicketTransit(t.Status, action)
	if err != nil {
		return err
	}
	counter := cmp.Or(p.Counter, t.Counter)
	a.eff.detail = fmt.Sprintf("%s %s→%s counter=%s", t.Number, t.Status, to, counter)
	at := formatTime(a.cmd.At)
	switch action {
	case station.QueueRecall:
		a.eff.detail += fmt.Sprintf(" recall=%d", t.Recalls+1)
		err = a.exec(`UPDATE queue_tickets SET recalls = recalls + 1, counter = ?, called_by = ? WHERE id = ?`, counter, a.cmd.Actor.Username, t.ID)
	case station.QueueServe:
		err = a.exec(`UPDATE queue_tickets SET status = ?, served_at = ?, counter = ? WHERE id = ?`, string(to), at, counter, t.ID)
	case station.QueueDone, station.QueueNoShow, station.QueueSkip:
		err = a.exec(`UPDATE queue_tickets SET status = ?, done_at = ?, counter = ? WHERE id = ?`, string(to), at, counter, t.ID)
		a.eff.local = false // a final outcome: for the data center's figures
	default: // hold, resume: the ticket keeps its place (queued_at)
		err = a.exec(`UPDATE queue_tickets SET status = ? WHERE id = ?`, string(to), t.ID)
	}
	if err != nil {
		return err
	}
	if err := a.queueEvent(t.ID, string(action), t.Status, to, counter); err != nil {
		return err
	}
	if !a.eff.local {
		return a.sendTicket(t.ID)
	}
	return nil
}

// queueTransfer ends a ticket and issues its waiting copy at the tail of another line, under the same
// number.
func (a *applier) queueTransfer() error {
	a.eff.local = true
	if err := a.requireRole(station.CanCallTickets(a.cmd.Actor.Role)); err != nil {
		return err
	}
	var p station.QueueTicketTransfer
	if err := a.decode(&p); err != nil {
		return err
	}
	a.eff.object, a.eff.objectID = "ticket:"+p.TicketID, p.NewTicketID
	if err := validTicketID(p.NewTicketID); err != nil {
		return err
	}
	if err := validCounter(p.Counter, false); err != nil {
		return err
	}
	t, err := a.loadTicket(p.TicketID)
	if err != nil {
		return err
	}
	to, err := station.TicketTransit(t.Status, station.QueueTransfer)
	if err != nil {
		return err
	}
	line, err := a.loadLine(p.ToLine)
	if err != nil {
		return err
	}
	if line.Code == t.Line {
		return &station.Error{Code: station.EINVALID, Message: "不能转移到同一业务", Field: "to_line", Detail: "same line"}
	}
	if !line.Active {
		return &station.Error{Code: station.ECONFLICT, Message: fmt.Sprintf("该业务暂停取号（%s），不能转入", line.Name), Field: "to_line", Detail: "line inactive"}
	}
	if err := a.ticketAbsent(p.NewTicketID); err != nil {
		return err
	}
	counter := cmp.Or(p.Counter, t.Counter)
	a.eff.detail = fmt.Sprintf("%s %s→%s line %s→%s new=%s counter=%s", t.Number, t.Status, to, t.Line, line.Code, p.NewTicketID, counter)
	if err := a.exec(`UPDATE queue_tickets SET status = ?, done_at = ?, transferred_to = ? WHERE id = ?`,
		string(to), formatTime(a.cmd.At), p.NewTicketID, t.ID); err != nil {
		return err
	}
	cp := station.Ticket{ID: p.NewTicketID, Line: line.Code, Day: t.Day, Number: t.Number, Status: station.TicketWaiting,
		Priority: t.Priority, Channel: t.Channel, IssuedAt: t.IssuedAt, QueuedAt: a.cmd.At, TransferredFrom: t.ID}
	if err := a.insertTicket(cp); err != nil {
		return err
	}
	if err := a.queueEvent(t.ID, string(station.QueueTransfer), t.Status, to, counter); err != nil {
		return err
	}
	return a.queueEvent(cp.ID, "issue", "", station.TicketWaiting, counter)
}

func (a *applier) loadTicket(id string) (*station.Ticket, error) {
	if err := validTicketID(id); err != nil {
		return nil, err
	}
	t, err := scanTicket(a.tx.QueryRowContext(a.ctx, ticketSelect+` WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, &station.Error{Code: station.ENOTFOUND, Message: "没有这个票号", Field: "ticket_id", Detail: "no such ticket"}
	}
	return t, err
}

const lineSelect = `SELECT code, name, prefix, active, max_recalls, matter_categories FROM queue_lines`

func scanLine(r rowScanner) (station.QueueLine, error) {
	var l station.QueueLine
	var active int
	var cats string
	if err := r.Scan(&l.Code, &l.Name, &l.Prefix, &active, &l.MaxRecalls, &cats); err != nil {
		return l, err
	}
	l.Active = active == 1
	if err := json.Unmarshal([]byte(cats), &l.MatterCategories); err != nil {
		return l, fmt.Errorf("queue line %s categories: %w", l.Code, err)
	}
	if len(l.MatterCategories) == 0 {
		l.MatterCategories = nil
	}
	return l, nil
}

const ticketSelect = `SELECT id, line, day, coalesce(seq, 0), number, status, priority, channel, issued_at, queued_at, called_at,
	counter, called_by, recalls, served_at, done_at, transferred_from, transferred_to FROM queue_tickets`

func scanTicket(r rowScanner) (*station.Ticket, error) {
	var t station.Ticket
	var day, status, prio, issued, queued string
	var called, served, done sql.NullString
	if err := r.Scan(&t.ID, &t.Line, &day, &t.Seq, &t.Number, &status, &prio, &t.Channel, &issued, &queued, &called,
		&t.Counter, &t.CalledBy, &t.Recalls, &served, &done, &t.TransferredFrom, &t.TransferredTo); err != nil {
		return nil, err
	}
	t.Status, t.Priority = station.TicketStatus(status), station.Priority(prio)
	var err error
	if t.Day, err = station.ParseDate(day); err != nil {
		return nil, fmt.Errorf("ticket %s day %q: %w", t.ID, day, err)
	}
	if t.IssuedAt, err = parseTime(issued); err != nil {
		return nil, fmt.Errorf("ticket %s: %w", t.ID, err)
	}
	if t.QueuedAt, err = parseTime(queued); err != nil {
		return nil, fmt.Errorf("ticket %s: %w", t.ID, err)
	}
	for _, f := range []struct {
		s   sql.NullString
		dst **time.Time
	}{{called, &t.CalledAt}, {served, &t.ServedAt}, {done, &t.DoneAt}} {
		if !f.s.Valid {
			continue
		}
		v, err := parseTime(f.s.String)
		if err != nil {
			return nil, fmt.Errorf("ticket %s: %w", t.ID, err)
		}
		*f.dst = &v
	}
	return &t, nil
}

// QueueLines returns the station's service lines by code.
func (db *DB) QueueLines(ctx context.Context) ([]station.QueueLine, error) {
	rows, err := db.read.QueryContext(ctx, lineSelect+` ORDER BY code`)
	if err != nil {
		return nil, fmt.Errorf("queue lines: %w", err)
	}
	defer rows.Close()
	out := []station.QueueLine{}
	for rows.Next() {
		l, err := scanLine(rows)
		if err != nil {
			return nil, fmt.Errorf("queue lines: %w", err)
		}
		out = append(out, l)
	}
	return out, rows.Err()
}

// Ticket returns a ticket, or ENOTFOUND.
func (db *DB) Ticket(ctx context.Context, id string) (*station.Ticket, error) {
	t, err := scanTicket(db.read.QueryRowContext(ctx, ticketSelect+` WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, station.Errorf(station.ENOTFOUND, "没有这个票号")
	} else if err != nil {
		return nil, fmt.Errorf("ticket %s: %w", id, err)
	}
	return t, nil
}

// WaitingTickets returns the waiting tickets of day on lines (every line when lines is empty) in the
// order queue.call_next calls them (station.CallOrderRule).
func (db *DB) WaitingTickets(ctx context.Context, day station.Date, lines []string) ([]station.Ticket, error) {
	query := ticketSelect + ` WHERE day = ? AND status = 'waiting'`
	args := []any{day.String()}
	if len(lines) > 0 {
		query += ` AND line IN (?` + strings.Repeat(", ?", len(lines)-1) + `)`
		for _, l := range lines {
			args = append(args, l)
		}
	}
	return db.tickets(ctx, query+` ORDER BY priority = '', queued_at, number, id`, args...)
}

// TicketsOfDay returns every ticket of day, in the order they joined their lines.
func (db *DB) TicketsOfDay(ctx context.Context, day station.Date) ([]station.Ticket, error) {
	return db.tickets(ctx, ticketSelect+` WHERE day = ? ORDER BY queued_at, id`, day.String())
}

func (db *DB) tickets(ctx context.Context, query string, args ...any) ([]station.Ticket, error) {
	rows, err := db.read.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("tickets: %w", err)
	}
	defer rows.Close()
	out := []station.Ticket{}
	for rows.Next() {
		t, err := scanTicket(rows)
		if err != nil {
			return nil, fmt.Errorf("tickets: %w", err)
		}
		out = append(out, *t)
	}
	return out, rows.Err()
}

// QueueFigures returns day's figures per line and per counter. A transferred ticket counts as issued
// on its first line only (its copy is not a new ticket), and its wait on each line counts for that line.
func (db *DB) QueueFigures(ctx context.Context, day station.Date) (station.QueueFigures, error) {
	ts, err := db.TicketsOfDay(ctx, day)
	if err != nil {
		return station.QueueFigures{}, err
	}
	type acc struct {
		f       station.QueueFigure
		waiting []time.Duration
		service []time.Duration
	}
	lines, counters := map[string]*acc{}, map[string]*acc{}
	get := func(m map[string]*acc, key string) *acc {
		if m[key] == nil {
			m[key] = &acc{f: station.QueueFigure{Key: key}}
		}
		return m[key]
	}
	for _, t := range ts {
		targets := []*acc{get(lines, t.Line)}
		if t.Counter != "" {
			targets = append(targets, get(counters, t.Counter))
		}
		for _, x := range targets {
			if t.TransferredFrom == "" && x == targets[0] {
				x.f.Issued++
			}
			switch t.Status {
			case station.TicketDone:
				x.f.Done++
			case station.TicketNoShow:
				x.f.NoShows++
			case station.TicketSkipped:
				x.f.Skipped++
			}
			if t.CalledAt != nil {
				x.waiting = append(x.waiting, t.CalledAt.Sub(t.QueuedAt))
			}
			if t.ServedAt != nil && t.DoneAt != nil && t.Status == station.TicketDone {
				x.service = append(x.service, t.DoneAt.Sub(*t.ServedAt))
			}
		}
	}
	collect := func(m map[string]*acc) []station.QueueFigure {
		out := []station.QueueFigure{}
		for _, x := range m {
			x.f.Waiting, x.f.Service = durationStats(x.waiting), durationStats(x.service)
			out = append(out, x.f)
		}
		slices.SortFunc(out, func(a, b station.QueueFigure) int { return cmp.Compare(a.Key, b.Key) })
		return out
	}
	return station.QueueFigures{Day: day, Lines: collect(lines), Counters: collect(counters)}, nil
}

func durationStats(ds []time.Duration) station.DurationStats {
	if len(ds) == 0 {
		return station.DurationStats{}
	}
	slices.Sort(ds)
	var sum time.Duration
	for _, d := range ds {
		sum += d
	}
	return station.DurationStats{Count: len(ds), Avg: sum / time.Duration(len(ds)), P50: ds[(len(ds)-1)/2], Max: ds[len(ds)-1]}
}
