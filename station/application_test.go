package station

import (
	"fmt"
	"slices"
	"testing"
)

// allowed is the state machine written out independently of Transitions, as docs/api.md states
// it: "kind status action" -> target status and the roles that may take the step.
var allowed = map[string]struct {
	to    Status
	roles []Role
}{}

func init() {
	C, I := KindCommitment, KindImmediate
	counter := []Role{RoleStaff, RoleReviewer, RoleStationAdmin}
	review := []Role{RoleReviewer, RoleStationAdmin}
	decide := []Role{RoleDepartment, RoleReviewer, RoleStationAdmin}
	add := func(k MatterKind, from Status, a Action, to Status, roles []Role) {
		allowed[fmt.Sprint(k, " ", from, " ", a)] = struct {
			to    Status
			roles []Role
		}{to, roles}
	}
	for _, k := range []MatterKind{C, I} {
		add(k, StatusReceived, ActionReturn, StatusReturned, counter)
		add(k, StatusReturned, ActionResubmit, StatusReceived, counter)
		add(k, StatusReceived, ActionWithdraw, StatusWithdrawn, counter)
		add(k, StatusReturned, ActionWithdraw, StatusWithdrawn, counter)
	}
	add(C, StatusReceived, ActionPreReview, StatusPreReviewed, review)
	add(C, StatusPreReviewed, ActionReturn, StatusReturned, review)
	add(C, StatusPreReviewed, ActionForward, StatusForwarded, review)
	add(C, StatusPreReviewed, ActionReject, StatusRejected, review)
	add(C, StatusPreReviewed, ActionWithdraw, StatusWithdrawn, counter)
	add(C, StatusForwarded, ActionApprove, StatusApproved, decide)
	add(C, StatusForwarded, ActionReject, StatusRejected, decide)
	add(C, StatusApproved, ActionComplete, StatusCompleted, counter)
	add(C, StatusRejected, ActionComplete, StatusCompleted, counter)
	add(I, StatusReceived, ActionComplete, StatusCompleted, counter)
}

var actions = []Action{ActionPreReview, ActionReturn, ActionResubmit, ActionForward,
	ActionApprove, ActionReject, ActionComplete, ActionWithdraw}

var roles = []Role{RoleStaff, RoleReviewer, RoleStationAdmin, RoleTechnician,
	RoleDepartment, RoleResident, RoleSystem}

// TestTransitionsEveryRoleFromEveryStatus checks every (kind, status, action, role) combination: the
// allowed ones reach the right status, a role without the right gets EFORBIDDEN, and a step the state
// machine does not have is ECONFLICT.
func TestTransitionsEveryRoleFromEveryStatus(t *testing.T) {
	checked := 0
	for _, kind := range []MatterKind{KindCommitment, KindImmediate} {
		for _, from := range Statuses {
			for _, action := range actions {
				for _, role := range roles {
					want, edge := allowed[fmt.Sprint(kind, " ", from, " ", action)]
					name := fmt.Sprintf("%s %s by %s on a %s application", action, from, role, kind)
					t.Run(name, func(t *testing.T) {
						tr, err := Transit(kind, from, action, role, "材料不全")
						switch {
						case !edge:
							if ErrorCode(err) != ECONFLICT {
								t.Fatalf("got %v, want ECONFLICT", err)
							}
						case !slices.Contains(want.roles, role):
							if ErrorCode(err) != EFORBIDDEN {
								t.Fatalf("got %v, want EFORBIDDEN", err)
							}
						default:
							if err != nil || tr.To != want.to {
								t.Fatalf("got %v %v, want %s", tr.To, err, want.to)
							}
						}
						inAllowed := slices.Contains(AllowedActions(kind, from, role), action)
						if inAllowed != (edge && slices.Contains(want.roles, role)) {
							t.Fatalf("AllowedActions includes it = %v, disagreeing with Transit", inAllowed)
						}
					})
					checked++
				}
			}
		}
	}
	if checked != 2*len(Statuses)*len(actions)*len(roles) {
		t.Fatalf("checked %d combinations", checked)
	}
}

func TestTransitionsThatNeedAReasonRefuseAnEmptyOne(t *testing.T) {
	for _, a := range []Action{ActionReturn, ActionReject, ActionWithdraw} {
		t.Run(string(a)+" without a reason is invalid", func(t *testing.T) {
			from := StatusReceived
			if a == ActionReject {
				from = StatusForwarded
			}
			_, err := Transit(KindCommitment, from, a, RoleStationAdmin, " ")
			if ErrorCode(err) != EINVALID {
				t.Fatalf("got %v, want EINVALID", err)
			}
		})
	}
}

func TestUnknownActionIsInvalid(t *testing.T) {
	_, err := Transit(KindCommitment, StatusReceived, "teleport", RoleStationAdmin, "")
	if ErrorCode(err) != EINVALID {
		t.Fatalf("got %v, want EINVALID", err)
	}
}

func TestApplicationNumber(t *testing.T) {
	d, _ := ParseDate("2026-11-24")
	if got := ApplicationNumber(d, 3); got != "SQ20261124-0003" {
		t.Fatalf("got %s", got)
	}
}
