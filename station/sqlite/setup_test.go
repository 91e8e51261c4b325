package sqlite_test

import (
	"context"
	"testing"

	"github.com/civic-station/station/station"
)

func TestStationSetupCreatesTheFirstAdministratorOnce(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	setup := func(username string) station.StationSetup {
		return station.StationSetup{
			Settings: station.StationSettings{Name: "红旗社区便民服务站", Community: "红旗社区"},
			Admin:    station.UserCreate{Username: username, DisplayName: "李建国", Role: station.RoleStationAdmin, PasswordHash: "$argon2id$v=19$m=1024,t=1,p=1$c2FsdA$a2V5"},
		}
	}
	for _, c := range []struct {
		name  string
		actor station.Actor
		edit  func(*station.StationSetup)
		code  string
	}{
		{"an administrator may not run it", admin, nil, station.EFORBIDDEN},
		{"the account must be a station admin", station.SetupActor, func(s *station.StationSetup) { s.Admin.Role = station.RoleStaff }, station.EINVALID},
		{"the community is required", station.SetupActor, func(s *station.StationSetup) { s.Settings.Community = "" }, station.EINVALID},
		{"the name may not have a control character", station.SetupActor, func(s *station.StationSetup) { s.Settings.Name = "红旗\x07" }, station.EINVALID},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := setup("lijianguo")
			if c.edit != nil {
				c.edit(&s)
			}
			if _, err := f.submit(station.CmdStationSetup, c.actor, s); station.ErrorCode(err) != c.code {
				t.Fatalf("got %v, want %s", err, c.code)
			}
			if users, _ := f.db.Users(ctx); len(users) != 0 {
				t.Fatalf("a refused setup left %d accounts", len(users))
			}
			if got, _ := f.db.Settings(ctx); got != (station.StationSettings{}) {
				t.Fatalf("a refused setup stored %+v", got)
			}
		})
	}

	res := f.mustSubmit(station.CmdStationSetup, station.SetupActor, setup("lijianguo"))
	if u, err := f.db.User(ctx, "lijianguo"); err != nil || u.Role != station.RoleStationAdmin {
		t.Fatalf("the administrator: %+v %v", u, err)
	}
	if got, err := f.db.Settings(ctx); err != nil || got.Name != "红旗社区便民服务站" || got.Community != "红旗社区" {
		t.Fatalf("settings %+v %v", got, err)
	}
	entries, _, err := f.db.AuditEntries(ctx, station.AuditFilter{Action: string(station.CmdStationSetup), Limit: 10})
	if err != nil || len(entries) != 5 || entries[0].Seq != res.AuditSeq || entries[0].Result != "ok" {
		t.Fatalf("audit: %d entries (refusals too), newest %+v, %v", len(entries), entries, err)
	}

	if _, err := f.submit(station.CmdStationSetup, station.SetupActor, setup("second")); station.ErrorCode(err) != station.ECONFLICT {
		t.Fatalf("a second setup: %v, want ECONFLICT", err)
	}
	if users, _ := f.db.Users(ctx); len(users) != 1 {
		t.Fatalf("%d accounts after a second setup", len(users))
	}
}

func TestSetupRecordOnlyAudits(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.mustSubmit(station.CmdSetupRecord, station.SetupActor, station.SetupRecord{Event: station.SetupCodeRefused, Address: "192.0.2.7"})
	if _, err := f.submit(station.CmdSetupRecord, station.SetupActor, station.SetupRecord{Event: "guessed", Address: "192.0.2.7"}); station.ErrorCode(err) != station.EINVALID {
		t.Fatalf("an unknown event: %v", err)
	}
	if _, err := f.submit(station.CmdSetupRecord, tech, station.SetupRecord{Event: station.SetupCodeAccepted}); station.ErrorCode(err) != station.EFORBIDDEN {
		t.Fatalf("a technician's record: %v", err)
	}
	entries, _, err := f.db.AuditEntries(ctx, station.AuditFilter{Action: "setup.code_refused"})
	if err != nil || len(entries) != 1 || entries[0].Detail != "from 192.0.2.7" || entries[0].Object != "setup" {
		t.Fatalf("audit %+v %v", entries, err)
	}
	if pending, err := f.db.PendingOutbox(ctx, 100); err != nil {
		t.Fatal(err)
	} else {
		for _, r := range pending {
			if r.Kind == string(station.CmdSetupRecord) || r.Kind == string(station.CmdStationSetup) {
				t.Fatalf("a setup record travels to the data center: %+v", r)
			}
		}
	}
}
