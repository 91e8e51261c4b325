package station

import (
	"fmt"
	"regexp"
	"time"
	"unicode/utf8"
)

// The queue (排队叫号): service lines configured per station, tickets issued at the kiosk or the
// counter, and the counters that call them. Every change is a command on the one write path; the
// store numbers tickets inside the apply, so several kiosks and several boxes never issue a number
// twice. docs/queue.md describes the whole.

// Queue command kinds. Issue and a ticket's final outcome (done, no-show, skipped) travel to the data
// center for its figures; the steps in between stay on the station (they are in the audit log).
const (
	CmdQueueLineSet     CommandKind = "queue.line_set"     // the station admin adds or changes a service line
	CmdQueueTicketIssue CommandKind = "queue.ticket_issue" // a ticket is taken at the kiosk or the counter
	CmdQueueCallNext    CommandKind = "queue.call_next"    // a counter calls the next waiting ticket
	CmdQueueRecall      CommandKind = "queue.recall"       // the counter calls the same ticket again
	CmdQueueServe       CommandKind = "queue.serve"        // the resident is at the counter: service starts
	CmdQueueDone        CommandKind = "queue.done"         // service ends
	CmdQueueSkip        CommandKind = "queue.skip"         // the counter passes over a called ticket (过号)
	CmdQueueTransfer    CommandKind = "queue.transfer"     // the ticket moves to another line
	CmdQueueHold        CommandKind = "queue.hold"         // the ticket is set aside (e.g. a missing document)
	CmdQueueResume      CommandKind = "queue.resume"       // a held ticket waits again
)

// DefaultMaxRecalls is how many times a called ticket is called again before the next recall makes it
// a no-show, when its line does not say.
const DefaultMaxRecalls = 2

// MaxTicketsPerLineDay is the largest sequence a line gives in a day: numbers have three digits.
const MaxTicketsPerLineDay = 999

// QueueLine is a service line (业务队列) of the station: tickets of a line share its prefix and are
// numbered in one sequence per day.
type QueueLine struct {
	Code             string   `json:"code"`   // A, B …: how commands and counters name the line
	Name             string   `json:"name"`   // 综合业务
	Prefix           string   `json:"prefix"` // one capital letter, printed before the number
	Active           bool     `json:"active"` // an inactive line issues no tickets (its waiting tickets can still be called)
	MaxRecalls       int      `json:"max_recalls,omitempty"`
	MatterCategories []string `json:"matter_categories,omitempty"` // catalog categories served on this line, for the kiosk
}

var (
	lineCodeRE   = regexp.MustCompile(`^[A-Z][A-Z0-9]{0,7}$`)
	linePrefixRE = regexp.MustCompile(`^[A-Z]$`)
)

// Recalls returns how many recalls a called ticket of the line gets before it is a no-show.
func (l QueueLine) Recalls() int {
	if l.MaxRecalls <= 0 {
		return DefaultMaxRecalls
	}
	return l.MaxRecalls
}

// Validate checks a line's configuration; it returns EINVALID saying what is wrong.
func (l QueueLine) Validate() error {
	switch {
	case !lineCodeRE.MatchString(l.Code):
		return &Error{Code: EINVALID, Message: "业务代码应为1至8位大写字母或数字，并以字母开头", Field: "code", Detail: "not a line code"}
	case l.Name == "" || utf8.RuneCountInString(l.Name) > 32:
		return &Error{Code: EINVALID, Message: "业务名称不能为空，且不超过32个字", Field: "name", Detail: "empty or too long"}
	case !linePrefixRE.MatchString(l.Prefix):
		return &Error{Code: EINVALID, Message: "号码前缀应为一个大写字母", Field: "prefix", Detail: "not one capital letter"}
	case l.MaxRecalls < 0 || l.MaxRecalls > 9:
		return &Error{Code: EINVALID, Message: "重呼次数应为0至9次（0为默认2次）", Field: "max_recalls", Detail: "out of range 0-9"}
	}
	return nil
}

// TicketStatus is the state of a queue ticket.
type TicketStatus string

// Ticket statuses. Done, no_show, skipped and transferred are final.
const (
	TicketWaiting     TicketStatus = "waiting"     // 等候中
	TicketCalled      TicketStatus = "called"      // 已叫号
	TicketServing     TicketStatus = "serving"     // 办理中
	TicketDone        TicketStatus = "done"        // 已办结
	TicketNoShow      TicketStatus = "no_show"     // 未到（重呼次数用完）
	TicketSkipped     TicketStatus = "skipped"     // 已过号
	TicketTransferred TicketStatus = "transferred" // 已转移（到另一业务的新号）
	TicketHeld        TicketStatus = "held"        // 暂挂
)

// TicketStatuses lists every status.
var TicketStatuses = []TicketStatus{TicketWaiting, TicketCalled, TicketServing, TicketDone, TicketNoShow, TicketSkipped, TicketTransferred, TicketHeld}

// Label returns the Chinese label of a ticket status.
func (s TicketStatus) Label() string {
	switch s {
	case TicketWaiting:
		return "等候中"
	case TicketCalled:
		return "已叫号"
	case TicketServing:
		return "办理中"
	case TicketDone:
		return "已办结"
	case TicketNoShow:
		return "未到"
	case TicketSkipped:
		return "已过号"
	case TicketTransferred:
		return "已转移"
	case TicketHeld:
		return "暂挂"
	}
	return string(s)
}

// Final reports whether a ticket in status s has left the queue for good.
func (s TicketStatus) Final() bool {
	return s == TicketDone || s == TicketNoShow || s == TicketSkipped || s == TicketTransferred
}

// QueueAction is a step on a ticket.
type QueueAction string

// Queue actions. QueueNoShow is not a command of its own: a recall of a ticket whose recalls are used
// up takes that edge instead.
const (
	QueueCall     QueueAction = "call"
	QueueRecall   QueueAction = "recall"
	QueueNoShow   QueueAction = "no_show"
	QueueServe    QueueAction = "serve"
	QueueDone     QueueAction = "done"
	QueueSkip     QueueAction = "skip"
	QueueTransfer QueueAction = "transfer"
	QueueHold     QueueAction = "hold"
	QueueResume   QueueAction = "resume"
)

// QueueActions lists every action.
var QueueActions = []QueueAction{QueueCall, QueueRecall, QueueNoShow, QueueServe, QueueDone, QueueSkip, QueueTransfer, QueueHold, QueueResume}

// Label returns the Chinese label of an action.
func (a QueueAction) Label() string {
	switch a {
	case QueueCall:
		return "叫号"
	case QueueRecall:
		return "重呼"
	case QueueNoShow:
		return "未到"
	case QueueServe:
		return "开始办理"
	case QueueDone:
		return "办结"
	case QueueSkip:
		return "过号"
	case QueueTransfer:
		return "转移"
	case QueueHold:
		return "暂挂"
	case QueueResume:
		return "恢复等候"
	}
	return string(a)
}

// TicketTransition is one edge of the ticket state machine.
type TicketTransition struct {
	Action QueueAction
	From   TicketStatus
	To     TicketStatus
}

// TicketTransitions is the ticket state machine. Any (status, action) pair not listed is refused. A
// recall keeps the ticket called and counts; once the line's recalls are used up, the next recall is
// the no_show edge. A transfer ends the ticket and issues a waiting copy on the target line under the
// same number (see QueueTicketTransfer).
var TicketTransitions = []TicketTransition{
	{QueueCall, TicketWaiting, TicketCalled},
	{QueueRecall, TicketCalled, TicketCalled},
	{QueueNoShow, TicketCalled, TicketNoShow},
	{QueueServe, TicketCalled, TicketServing},
	{QueueDone, TicketServing, TicketDone},
	{QueueSkip, TicketCalled, TicketSkipped},
	{QueueTransfer, TicketCalled, TicketTransferred},
	{QueueTransfer, TicketServing, TicketTransferred},
	{QueueHold, TicketWaiting, TicketHeld},
	{QueueHold, TicketCalled, TicketHeld},
	{QueueResume, TicketHeld, TicketWaiting},
}

// TicketTransit returns the status a ticket in status from reaches by action, and ECONFLICT
// (票号状态不允许此操作) when the state machine has no such edge.
func TicketTransit(from TicketStatus, action QueueAction) (TicketStatus, error) {
	for _, t := range TicketTransitions {
		if t.Action == action && t.From == from {
			return t.To, nil
		}
	}
	return "", &Error{Code: ECONFLICT, Message: fmt.Sprintf("票号状态不允许此操作：当前为“%s”，不能“%s”", from.Label(), action.Label()),
		Detail: "ticket status does not allow this action"}
}

// Priority is why a ticket is called before the others ("" for none).
type Priority string

// Priority reasons. Staff see the reason on the counter; the call that picks a priority ticket says
// so in its audit entry.
const (
	PriorityNone        Priority = ""
	PriorityAppointment Priority = "appointment" // 预约
	PriorityElderly     Priority = "elderly"     // 老年人
	PriorityDisabled    Priority = "disabled"    // 残疾人
)

// Valid reports whether p is a known priority reason.
func (p Priority) Valid() bool {
	switch p {
	case PriorityNone, PriorityAppointment, PriorityElderly, PriorityDisabled:
		return true
	}
	return false
}

// Label returns the Chinese label of a priority reason.
func (p Priority) Label() string {
	switch p {
	case PriorityNone:
		return "普通"
	case PriorityAppointment:
		return "预约"
	case PriorityElderly:
		return "老年人优先"
	case PriorityDisabled:
		return "残疾人优先"
	}
	return string(p)
}

// CallOrderRule is the rule queue.call_next applies, as it is written in the call's audit entry: of
// the waiting tickets of the day on the counter's lines, priority tickets first in the order they
// joined their line, then the others in the order they joined; equal times by number, then ID.
const CallOrderRule = "priority-first, then queued_at, number, id"

// Ticket is a queue ticket. It carries no personal data.
type Ticket struct {
	ID       string       `json:"id"`
	Line     string       `json:"line"` // the line it waits on
	Day      Date         `json:"day"`  // the day of issue, China time
	Seq      int          `json:"seq"`  // its line's sequence of the day; 0 on a transferred copy (its number is the original's)
	Number   string       `json:"number"`
	Status   TicketStatus `json:"status"`
	Priority Priority     `json:"priority,omitempty"`
	Channel  string       `json:"channel"` // ChannelKiosk or ChannelCounter
	IssuedAt time.Time    `json:"issued_at"`
	// QueuedAt is when the ticket joined its line: the issue time, or the transfer time for a
	// transferred copy (the tail of the target line). Calls follow it.
	QueuedAt        time.Time  `json:"queued_at"`
	CalledAt        *time.Time `json:"called_at,omitempty"` // the first call
	Counter         string     `json:"counter,omitempty"`   // the window that called it last
	CalledBy        string     `json:"called_by,omitempty"` // the staff member who called it last
	Recalls         int        `json:"recalls"`
	ServedAt        *time.Time `json:"served_at,omitempty"`
	DoneAt          *time.Time `json:"done_at,omitempty"` // when it reached a final status
	TransferredFrom string     `json:"transferred_from,omitempty"`
	TransferredTo   string     `json:"transferred_to,omitempty"`
}

// TicketNumber formats the number of the seq-th ticket of a line with prefix: A012.
func TicketNumber(prefix string, seq int) string { return fmt.Sprintf("%s%03d", prefix, seq) }

// QueueLineSet adds a line or replaces its configuration (by code).
type QueueLineSet struct {
	Line QueueLine `json:"line"`
}

// QueueTicketIssue takes a ticket on a line. The store gives its number: the line's next sequence of
// the day of the command (China time).
type QueueTicketIssue struct {
	TicketID string   `json:"ticket_id"`
	Line     string   `json:"line"`
	Channel  string   `json:"channel"`
	Priority Priority `json:"priority,omitempty"`
}

// QueueCallNext calls the next waiting ticket of the day on Lines for the counter, by CallOrderRule.
// The result's ObjectID is the ticket called.
type QueueCallNext struct {
	Counter string   `json:"counter"`
	Lines   []string `json:"lines"`
}

// QueueTicketStep is the payload of recall, serve, done, skip, hold and resume.
type QueueTicketStep struct {
	TicketID string `json:"ticket_id"`
	Counter  string `json:"counter,omitempty"`
}

// QueueTicketTransfer ends a called or serving ticket and issues a waiting copy NewTicketID on line
// ToLine under the same number and priority, at the tail of that line (its QueuedAt is the transfer;
// its IssuedAt the original's). The result's ObjectID is the copy.
type QueueTicketTransfer struct {
	TicketID    string `json:"ticket_id"`
	NewTicketID string `json:"new_ticket_id"`
	ToLine      string `json:"to_line"`
	Counter     string `json:"counter,omitempty"`
}

// QueueRecord is what the data center receives of a ticket, on issue and at its final outcome: no
// personal data, no staff name.
type QueueRecord struct {
	TicketID        string       `json:"ticket_id"`
	Line            string       `json:"line"`
	Day             Date         `json:"day"`
	Number          string       `json:"number"`
	Status          TicketStatus `json:"status"`
	Priority        Priority     `json:"priority,omitempty"`
	Channel         string       `json:"channel"`
	IssuedAt        time.Time    `json:"issued_at"`
	QueuedAt        time.Time    `json:"queued_at"`
	CalledAt        *time.Time   `json:"called_at,omitempty"`
	ServedAt        *time.Time   `json:"served_at,omitempty"`
	DoneAt          *time.Time   `json:"done_at,omitempty"`
	Counter         string       `json:"counter,omitempty"`
	Recalls         int          `json:"recalls"`
	TransferredFrom string       `json:"transferred_from,omitempty"`
}

// Record returns the data center's record of t.
func (t Ticket) Record() QueueRecord {
	return QueueRecord{TicketID: t.ID, Line: t.Line, Day: t.Day, Number: t.Number, Status: t.Status, Priority: t.Priority,
		Channel: t.Channel, IssuedAt: t.IssuedAt, QueuedAt: t.QueuedAt, CalledAt: t.CalledAt, ServedAt: t.ServedAt,
		DoneAt: t.DoneAt, Counter: t.Counter, Recalls: t.Recalls, TransferredFrom: t.TransferredFrom}
}

// CanIssueTickets reports whether role may take a ticket: a resident at the kiosk or counter staff.
func CanIssueTickets(r Role) bool { return r == RoleResident || hasRole(counterRoles, r) }

// CanCallTickets reports whether role may work the queue from a counter.
func CanCallTickets(r Role) bool { return hasRole(counterRoles, r) }

// CanConfigureQueue reports whether role may set the station's lines.
func CanConfigureQueue(r Role) bool { return r == RoleStationAdmin || r == RoleSystem }

// DurationStats summarises durations: P50 is the lower median (nearest rank), zero when Count is 0.
type DurationStats struct {
	Count int           `json:"count"`
	Avg   time.Duration `json:"avg"`
	P50   time.Duration `json:"p50"`
	Max   time.Duration `json:"max"`
}

// QueueFigure is the figures of one line or one counter on a day. Waiting is from joining the line to
// the first call; Service from the start of service to its end.
type QueueFigure struct {
	Key     string        `json:"key"` // the line code or counter name
	Issued  int           `json:"issued"`
	Done    int           `json:"done"`
	NoShows int           `json:"no_shows"`
	Skipped int           `json:"skipped"`
	Waiting DurationStats `json:"waiting"`
	Service DurationStats `json:"service"`
}

// QueueFigures are a day's queue figures, per line and per counter (a ticket counts for the counter
// that called it last; tickets never called count for no counter).
type QueueFigures struct {
	Day      Date          `json:"day"`
	Lines    []QueueFigure `json:"lines"`
	Counters []QueueFigure `json:"counters"`
}
