package station_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/civic-station/station/station"
)

// allowed is the state machine written out independently of station.Transitions, as docs/api.md states
// it: "kind status action" -> target status and the roles that may take the step.
var allowed = map[string]struct {
	to    station.Status
	roles []station.Role
}{}

func init() {
	C, I := station.KindCommitment, station.KindImmediate
	counter := []station.Role{station.RoleStaff, station.RoleReviewer, station.RoleStationAdmin}
	review := []station.Role{station.RoleReviewer, station.RoleStationAdmin}
	decide := []station.Role{station.RoleDepartment, station.RoleReviewer, station.RoleStationAdmin}
	add := func(k station.MatterKind, from station.Status, a station.Action, to station.Status, roles []station.Role) {
		allowed[fmt.Sprint(k, " ", from, " ", a)] = struct {
			to    station.Status
			roles []station.Role
		}{to, roles}
	}
	for _, k := range []station.MatterKind{C, I} {
		add(k, station.StatusReceived, station.ActionReturn, station.StatusReturned, counter)
		add(k, station.StatusReturned, station.ActionResubmit, station.StatusReceived, counter)
		add(k, station.StatusReceived, station.ActionWithdraw, station.StatusWithdrawn, counter)
		add(k, station.StatusReturned, station.ActionWithdraw, station.StatusWithdrawn, counter)
	}
	add(C, station.StatusReceived, station.ActionPreReview, station.StatusPreReviewed, review)
	add(C, station.StatusPreReviewed, station.ActionReturn, station.StatusReturned, review)
	add(C, station.StatusPreReviewed, station.ActionForward, station.StatusForwarded, review)
	add(C, station.StatusPreReviewed, station.ActionReject, station.StatusRejected, review)
	add(C, station.StatusPreReviewed, station.ActionWithdraw, station.StatusWithdrawn, counter)
	add(C, station.StatusForwarded, station.ActionApprove, station.StatusApproved, decide)
	add(C, station.StatusForwarded, station.ActionReject, station.StatusRejected, decide)
	add(C, station.StatusApproved, station.ActionComplete, station.StatusCompleted, counter)
	add(C, station.StatusRejected, station.ActionComplete, station.StatusCompleted, counter)
	add(I, station.StatusReceived, station.ActionComplete, station.StatusCompleted, counter)
}

var actions = []station.Action{station.ActionPreReview, station.ActionReturn, station.ActionResubmit, station.ActionForward,
	station.ActionApprove, station.ActionReject, station.ActionComplete, station.ActionWithdraw}

var roles = []station.Role{station.RoleStaff, station.RoleReviewer, station.RoleStationAdmin, station.RoleTechnician,
	station.RoleDepartment, station.RoleResident, station.RoleSystem}

// TestTransitionsEveryRoleFromEveryStatus checks every (kind, status, action, role) combination: the
// allowed ones reach the right status, a role without the right gets EFORBIDDEN, and a step the state
// machine does not have is ECONFLICT.
func TestTransitionsEveryRoleFromEveryStatus(t *testing.T) {
	checked := 0
	for _, kind := range []station.MatterKind{station.KindCommitment, station.KindImmediate} {
		for _, from := range station.Statuses {
			for _, action := range actions {
				for _, role := range roles {
					want, edge := allowed[fmt.Sprint(kind, " ", from, " ", action)]
					name := fmt.Sprintf("%s %s by %s on a %s application", action, from, role, kind)
					t.Run(name, func(t *testing.T) {
						tr, err := station.Transit(kind, from, action, role, "材料不全")
						switch {
						case !edge:
							if station.ErrorCode(err) != station.ECONFLICT {
								t.Fatalf("got %v, want ECONFLICT", err)
							}
						case !slices.Contains(want.roles, role):
							if station.ErrorCode(err) != station.EFORBIDDEN {
								t.Fatalf("got %v, want EFORBIDDEN", err)
							}
						default:
							if err != nil || tr.To != want.to {
								t.Fatalf("got %v %v, want %s", tr.To, err, want.to)
							}
						}
						inAllowed := slices.Contains(station.AllowedActions(kind, from, role), action)
						if inAllowed != (edge && slices.Contains(want.roles, role)) {
							t.Fatalf("AllowedActions includes it = %v, disagreeing with Transit", inAllowed)
						}
					})
					checked++
				}
			}
		}
	}
	if checked != 2*len(station.Statuses)*len(actions)*len(roles) {
		t.Fatalf("checked %d combinations", checked)
	}
}

func TestTransitionsThatNeedAReasonRefuseAnEmptyOne(t *testing.T) {
	for _, a := range []station.Action{station.ActionReturn, station.ActionReject, station.ActionWithdraw} {
		t.Run(string(a)+" without a reason is invalid", func(t *testing.T) {
			from := station.StatusReceived
			if a == station.ActionReject {
				from = station.StatusForwarded
			}
			_, err := station.Transit(station.KindCommitment, from, a, station.RoleStationAdmin, " ")
			if station.ErrorCode(err) != station.EINVALID {
				t.Fatalf("got %v, want EINVALID", err)
			}
		})
	}
}

func TestUnknownActionIsInvalid(t *testing.T) {
	_, err := station.Transit(station.KindCommitment, station.StatusReceived, "teleport", station.RoleStationAdmin, "")
	if station.ErrorCode(err) != station.EINVALID {
		t.Fatalf("got %v, want EINVALID", err)
	}
}

func TestApplicationNumber(t *testing.T) {
	d, _ := station.ParseDate("2026-11-24")
	if got := station.ApplicationNumber(d, 3); got != "SQ20261124-0003" {
		t.Fatalf("got %s", got)
	}
}
