package station

import (
	"fmt"
	"time"
)

// Status is the state of an application (办件).
type Status string

// Application statuses.
const (
	StatusReceived    Status = "received"     // 已受理
	StatusPreReviewed Status = "pre_reviewed" // 已初审
	StatusForwarded   Status = "forwarded"    // 已转办
	StatusApproved    Status = "approved"     // 已批准
	StatusRejected    Status = "rejected"     // 未批准
	StatusCompleted   Status = "completed"    // 已办结
	StatusReturned    Status = "returned"     // 待补正
	StatusWithdrawn   Status = "withdrawn"    // 已撤回
)

// Statuses lists every status in the order of the normal flow.
var Statuses = []Status{StatusReceived, StatusReturned, StatusPreReviewed, StatusForwarded, StatusApproved, StatusRejected, StatusCompleted, StatusWithdrawn}

// Label returns the Chinese label of a status.
func (s Status) Label() string {
	switch s {
	case StatusReceived:
		return "已受理"
	case StatusPreReviewed:
		return "已初审"
	case StatusForwarded:
		return "已转办"
	case StatusApproved:
		return "已批准"
	case StatusRejected:
		return "未批准"
	case StatusCompleted:
		return "已办结"
	case StatusReturned:
		return "待补正"
	case StatusWithdrawn:
		return "已撤回"
	}
	return string(s)
}

// Open reports whether an application in status s still runs against its time limit.
func (s Status) Open() bool { return s != StatusCompleted && s != StatusWithdrawn }

// Action is a step an actor takes on an application.
type Action string

// Application actions. ActionIntake creates the application; the others are transitions.
const (
	ActionIntake    Action = "intake"     // 受理
	ActionPreReview Action = "pre_review" // 初审通过
	ActionReturn    Action = "return"     // 退回补正
	ActionResubmit  Action = "resubmit"   // 补正提交
	ActionForward   Action = "forward"    // 转办
	ActionApprove   Action = "approve"    // 批准
	ActionReject    Action = "reject"     // 不予批准
	ActionComplete  Action = "complete"   // 办结
	ActionWithdraw  Action = "withdraw"   // 撤回
)

// Label returns the Chinese label of an action.
func (a Action) Label() string {
	switch a {
	case ActionIntake:
		return "受理"
	case ActionPreReview:
		return "初审通过"
	case ActionReturn:
		return "退回补正"
	case ActionResubmit:
		return "补正提交"
	case ActionForward:
		return "转办"
	case ActionApprove:
		return "批准"
	case ActionReject:
		return "不予批准"
	case ActionComplete:
		return "办结"
	case ActionWithdraw:
		return "撤回"
	}
	return string(a)
}

// Transition is one edge of the application state machine.
type Transition struct {
	Action      Action
	From        Status
	To          Status
	Roles       []Role
	Kind        MatterKind // "" when the edge applies to both kinds
	NeedsReason bool
}

var (
	counterRoles = []Role{RoleStaff, RoleReviewer, RoleStationAdmin}
	reviewRoles  = []Role{RoleReviewer, RoleStationAdmin}
	decideRoles  = []Role{RoleDepartment, RoleReviewer, RoleStationAdmin}
)

// Transitions is the application state machine. Any (status, action) pair not listed is not allowed.
var Transitions = []Transition{
	{Action: ActionPreReview, From: StatusReceived, To: StatusPreReviewed, Roles: reviewRoles, Kind: KindCommitment},
	{Action: ActionReturn, From: StatusReceived, To: StatusReturned, Roles: counterRoles, NeedsReason: true},
	{Action: ActionReturn, From: StatusPreReviewed, To: StatusReturned, Roles: reviewRoles, NeedsReason: true, Kind: KindCommitment},
	{Action: ActionResubmit, From: StatusReturned, To: StatusReceived, Roles: counterRoles},
	{Action: ActionForward, From: StatusPreReviewed, To: StatusForwarded, Roles: reviewRoles, Kind: KindCommitment},
	{Action: ActionApprove, From: StatusForwarded, To: StatusApproved, Roles: decideRoles, Kind: KindCommitment},
	{Action: ActionReject, From: StatusPreReviewed, To: StatusRejected, Roles: reviewRoles, NeedsReason: true, Kind: KindCommitment},
	{Action: ActionReject, From: StatusForwarded, To: StatusRejected, Roles: decideRoles, NeedsReason: true, Kind: KindCommitment},
	{Action: ActionComplete, From: StatusApproved, To: StatusCompleted, Roles: counterRoles, Kind: KindCommitment},
	{Action: ActionComplete, From: StatusRejected, To: StatusCompleted, Roles: counterRoles, Kind: KindCommitment},
	{Action: ActionComplete, From: StatusReceived, To: StatusCompleted, Roles: counterRoles, Kind: KindImmediate},
	{Action: ActionWithdraw, From: StatusReceived, To: StatusWithdrawn, Roles: counterRoles, NeedsReason: true},
	{Action: ActionWithdraw, From: StatusReturned, To: StatusWithdrawn, Roles: counterRoles, NeedsReason: true},
	{Action: ActionWithdraw, From: StatusPreReviewed, To: StatusWithdrawn, Roles: counterRoles, NeedsReason: true, Kind: KindCommitment},
}

// ValidAction reports whether a is a transition action (not intake).
func ValidAction(a Action) bool {
	for _, t := range Transitions {
		if t.Action == a {
			return true
		}
	}
	return false
}

// Transit finds the transition for taking action on an application of the given kind in status from, by
// an actor with role. It returns ECONFLICT when the state machine has no such edge, EFORBIDDEN when the
// edge exists but not for this role, and EINVALID for an unknown action or a missing reason.
func Transit(kind MatterKind, from Status, action Action, role Role, reason string) (Transition, error) {
	if !ValidAction(action) {
		return Transition{}, Errorf(EINVALID, "未知的操作“%s”", action)
	}
	for _, t := range Transitions {
		if t.Action != action || t.From != from || (t.Kind != "" && t.Kind != kind) {
			continue
		}
		if !hasRole(t.Roles, role) {
			return Transition{}, Errorf(EFORBIDDEN, "当前角色（%s）无权执行“%s”", role.Label(), action.Label())
		}
		if t.NeedsReason && len([]rune(reason)) < 2 {
			return Transition{}, Errorf(EINVALID, "“%s”需要填写原因", action.Label())
		}
		return t, nil
	}
	return Transition{}, Errorf(ECONFLICT, "办件当前状态为“%s”，不能执行“%s”", from.Label(), action.Label())
}

// AllowedActions lists the actions a role may take on an application of the given kind in status s.
func AllowedActions(kind MatterKind, s Status, role Role) []Action {
	var out []Action
	for _, t := range Transitions {
		if t.From == s && (t.Kind == "" || t.Kind == kind) && hasRole(t.Roles, role) {
			out = append(out, t.Action)
		}
	}
	return out
}

func hasRole(roles []Role, r Role) bool {
	for _, x := range roles {
		if x == r {
			return true
		}
	}
	return false
}

// Applicant is the person an application is for, as stored: document number sealed, name and phone kept
// for the counter (shown masked where residents can see).
type Applicant struct {
	ResidentID string   `json:"resident_id,omitempty"`
	IDNumber   SealedID `json:"id_number"`
	IDLast4    string   `json:"id_last4"`
	Name       string   `json:"name"`
	Phone      string   `json:"phone"`
}

// Application is a case taken at the station (办件).
type Application struct {
	ID          string          `json:"id"`
	Number      string          `json:"number"` // SQ20261124-0003
	MatterCode  string          `json:"matter_code"`
	MatterName  string          `json:"matter_name"`
	Department  string          `json:"department"`
	Kind        MatterKind      `json:"kind"`
	Status      Status          `json:"status"`
	Applicant   Applicant       `json:"applicant"`
	Materials   []MaterialCheck `json:"materials"`
	Note        string          `json:"note"`
	Deferral    *Deferral       `json:"deferral,omitempty"` // 容缺受理, when required materials were missing at intake
	ReceivedAt  time.Time       `json:"received_at"`
	DueDate     Date            `json:"due_date"`               // zero for immediate matters
	CompletedAt *time.Time      `json:"completed_at,omitempty"` // when it reached completed or withdrawn
	ReceivedBy  string          `json:"received_by"`
	UpdatedAt   time.Time       `json:"updated_at"`
	Timeline    []Event         `json:"timeline,omitempty"`
}

// Event is one entry of an application's timeline.
type Event struct {
	At     time.Time `json:"at"`
	Action Action    `json:"action"`
	From   Status    `json:"from"`
	To     Status    `json:"to"`
	Actor  string    `json:"actor"`
	Role   Role      `json:"role"`
	Reason string    `json:"reason"`
}

// ApplicationNumber formats the public number of the seq-th application received on day d.
func ApplicationNumber(d Date, seq int) string {
	return fmt.Sprintf("SQ%04d%02d%02d-%04d", d.Year, d.Month, d.Day, seq)
}

// DueDate returns the due date of an application received (or resubmitted) on day, for a matter with
// the given time limit; the zero Date when there is no limit.
func DueDate(cal *Calendar, day Date, limitDays int) Date {
	if limitDays <= 0 {
		return Date{}
	}
	return cal.AddWorkingDays(day, limitDays)
}

// CompletedOnTime reports whether an application closed on closed met its due date. Applications
// without a due date are on time.
func CompletedOnTime(due Date, closed time.Time) bool {
	return due.IsZero() || !DateOf(closed).After(due)
}

// CanTakeApplications reports whether role may take applications (受理) and edit their materials.
func CanTakeApplications(r Role) bool { return hasRole(counterRoles, r) }
