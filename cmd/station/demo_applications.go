package main

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/civic-station/station/station"
)

// demoStep is one transition of a demo application, taken `day` working days after it was received.
type demoStep struct {
	action station.Action
	by     string // a demo account, or "" for the department
	day    int
	reason string
}

// demoApplication is a sample application seeded in demo mode, received `ago` working days before
// today, so that the work lists show every deadline state and the figures have something to count.
type demoApplication struct {
	matter   string
	resident int // index into demo/residents.json
	ago      int
	steps    []demoStep
}

func demoApplications() []demoApplication {
	return []demoApplication{
		// Overdue: a 10-day matter forwarded to the department 12 working days ago.
		{"MZ-007", 4, 12, []demoStep{{station.ActionPreReview, "review1", 1, ""}, {station.ActionForward, "review1", 2, ""}}},
		// Due soon: one working day left.
		{"MZ-003", 1, 14, []demoStep{{station.ActionPreReview, "review1", 2, ""}}},
		{"CL-001", 3, 19, nil},
		// Returned for a missing material (补正).
		{"MZ-001", 0, 5, []demoStep{{station.ActionReturn, "counter1", 1, "缺少家庭成员收入证明，请补交近6个月收入证明"}}},
		// Just received.
		{"ZJ-001", 2, 3, nil},
		{"WJ-001", 6, 0, nil},
		// Completed on time and completed late, for the on-time rate.
		{"SF-001", 5, 10, []demoStep{{station.ActionPreReview, "review1", 1, ""}, {station.ActionForward, "review1", 1, ""},
			{station.ActionApprove, "", 4, ""}, {station.ActionComplete, "counter1", 6, ""}}},
		{"YB-004", 7, 20, []demoStep{{station.ActionPreReview, "review1", 2, ""}, {station.ActionForward, "review1", 3, ""},
			{station.ActionApprove, "", 16, ""}, {station.ActionComplete, "counter1", 17, ""}}},
		{"RS-001", 8, 2, []demoStep{{station.ActionComplete, "counter1", 0, ""}}},
	}
}

// workingDaysBefore returns the day n working days before today.
func workingDaysBefore(cal *station.Calendar, today station.Date, n int) station.Date {
	d := today
	for n > 0 {
		d = d.AddDays(-1)
		if cal.IsWorkingDay(d) {
			n--
		}
	}
	return d
}

// seedApplications takes the demo applications when the station has none. Their commands carry the
// past times at which a real counter would have taken each step.
func (m *Main) seedApplications(ctx context.Context, residents []demoResident) error {
	if _, total, err := m.DB.Applications(ctx, station.ApplicationFilter{Limit: 1}); err != nil || total > 0 {
		return err
	}
	cal, err := m.DB.Calendar(ctx)
	if err != nil {
		return err
	}
	now := m.Now()
	today := station.DateOf(now)
	at := func(received station.Date, day, seq int) time.Time {
		d := received
		for day > 0 {
			d = d.AddDays(1)
			if cal.IsWorkingDay(d) {
				day--
			}
		}
		t := time.Date(d.Year, d.Month, d.Day, 9, 15+7*seq, 0, 0, station.ChinaTime)
		if t.After(now) {
			t = now
		}
		return t
	}
	roles := map[string]station.Role{}
	for _, u := range demoUsers() {
		roles[u.username] = u.role
	}
	for i, spec := range demoApplications() {
		matter, err := m.DB.Matter(ctx, spec.matter)
		if err != nil {
			return fmt.Errorf("demo application %d: matter %s: %w", i, spec.matter, err)
		}
		r := residents[spec.resident%len(residents)]
		number := station.NormalizeIDNumber(r.IDNumber)
		sealed, err := station.SealApplicant(m.Key, r.IDType, number)
		if err != nil {
			return err
		}
		applicant := station.Applicant{IDNumber: sealed, IDLast4: station.IDLast4(number), Name: r.Name, Phone: r.Phone}
		if p, err := m.DB.ResidentByIndex(ctx, sealed.Index); err == nil {
			applicant.ResidentID = p.ID
		}
		checks := make([]station.MaterialCheck, 0, len(matter.Materials))
		for _, mat := range matter.Materials {
			checks = append(checks, station.MaterialCheck{Code: mat.Code, Provided: mat.Required})
		}
		received := workingDaysBefore(cal, today, spec.ago)
		id := uuid.Must(uuid.NewV7()).String()
		intake := station.ApplicationIntake{ApplicationID: id, MatterCode: matter.Code, Applicant: applicant, Materials: checks}
		if err := m.submitAs(ctx, station.CmdApplicationIntake, at(received, 0, 0), station.Actor{Username: "counter1", Role: station.RoleStaff}, intake); err != nil {
			return fmt.Errorf("demo application %d: %w", i, err)
		}
		for j, st := range spec.steps {
			actor := station.Actor{Username: st.by, Role: roles[st.by]}
			if st.by == "" {
				actor = station.Actor{Username: matter.Department, Role: station.RoleDepartment}
			}
			tr := station.ApplicationTransition{ApplicationID: id, Action: st.action, Reason: st.reason}
			if err := m.submitAs(ctx, station.CmdApplicationTransition, at(received, st.day, j+1), actor, tr); err != nil {
				return fmt.Errorf("demo application %d step %s: %w", i, st.action, err)
			}
		}
	}
	m.Logger.Info("demo applications added", "applications", len(demoApplications()))
	return nil
}
