package sqlite_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/civic-station/station/station"
	"github.com/civic-station/station/station/datakey"
	"github.com/civic-station/station/station/sqlite"
)

// fixture is an open store with a data key, a clock and a few matters.
type fixture struct {
	t   testing.TB
	db  *sqlite.DB
	key *datakey.Key
	now time.Time
	ids atomic.Int64
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	dir := t.TempDir()
	db, err := sqlite.Open(context.Background(), filepath.Join(dir, "station.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	key, err := datakey.Load(filepath.Join(dir, "datakey"))
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, db: db, key: key, now: time.Date(2026, 11, 24, 2, 0, 0, 0, time.UTC)} // Tuesday 10:00 Beijing
	f.mustSubmit(station.CmdCatalogImport, system, station.CatalogImport{Matters: testMatters()})
	return f
}

var (
	system   = station.Actor{Username: "system", Role: station.RoleSystem}
	staff    = station.Actor{Username: "counter1", Role: station.RoleStaff}
	reviewer = station.Actor{Username: "review1", Role: station.RoleReviewer}
	admin    = station.Actor{Username: "admin", Role: station.RoleStationAdmin}
	tech     = station.Actor{Username: "tech", Role: station.RoleTechnician}
)

func testMatters() []station.Matter {
	return []station.Matter{
		{Code: "MZ-001", Name: "最低生活保障申请", Department: "区民政局", Category: "社会救助", Kind: station.KindCommitment,
			TimeLimitDays: 20, FeeNote: "不收费", Location: "一号窗口", Conditions: []string{"本市户籍"},
			Materials: []station.Material{{Code: "M1", Name: "居民身份证", Required: true}, {Code: "M2", Name: "收入证明", Required: true}, {Code: "M3", Name: "残疾证", Required: false}},
			Status:    station.MatterActive, Version: 1},
		{Code: "RS-002", Name: "就业失业登记", Department: "区人社局", Category: "就业创业", Kind: station.KindImmediate,
			FeeNote: "不收费", Location: "二号窗口", Materials: []station.Material{{Code: "M1", Name: "居民身份证", Required: true}},
			Status: station.MatterActive, Version: 1},
		{Code: "OLD-1", Name: "已取消的证明", Department: "社区", Category: "户籍与证明", Kind: station.KindImmediate,
			Status: station.MatterWithdrawn, Version: 2},
	}
}

func (f *fixture) nextID() string { return fmt.Sprintf("cmd-%06d", f.ids.Add(1)) }

func (f *fixture) submit(kind station.CommandKind, actor station.Actor, payload any) (station.Result, error) {
	f.t.Helper()
	cmd, err := station.NewCommand(f.nextID(), kind, f.now, actor, payload)
	if err != nil {
		f.t.Fatal(err)
	}
	return f.db.Submit(context.Background(), cmd)
}

func (f *fixture) mustSubmit(kind station.CommandKind, actor station.Actor, payload any) station.Result {
	f.t.Helper()
	res, err := f.submit(kind, actor, payload)
	if err != nil {
		f.t.Fatalf("%s: %v", kind, err)
	}
	return res
}

func validNumber(seq int) string {
	first := fmt.Sprintf("220104199003%02d%03d", 1+seq%28, 100+seq%900)
	return first + string(station.CheckDigit(first))
}

// providedAll is a checklist of a test matter with every required material provided.
func providedAll(matter string) []station.MaterialCheck {
	var out []station.MaterialCheck
	for _, m := range testMatters() {
		if m.Code != matter {
			continue
		}
		for _, mat := range m.Materials {
			if mat.Required {
				out = append(out, station.MaterialCheck{Code: mat.Code, Provided: true})
			}
		}
	}
	return out
}

func (f *fixture) intake(matter, number string) string {
	f.t.Helper()
	sealed, err := f.key.Seal(station.IDResident, number)
	if err != nil {
		f.t.Fatal(err)
	}
	id := "app-" + f.nextID()
	f.mustSubmit(station.CmdApplicationIntake, staff, station.ApplicationIntake{
		ApplicationID: id, MatterCode: matter,
		Applicant: station.Applicant{IDNumber: sealed, IDLast4: station.IDLast4(number), Name: "王小明", Phone: "13800001111"},
		Materials: providedAll(matter),
	})
	return id
}

func (f *fixture) transition(actor station.Actor, id string, action station.Action, reason string) error {
	f.t.Helper()
	_, err := f.submit(station.CmdApplicationTransition, actor, station.ApplicationTransition{ApplicationID: id, Action: action, Reason: reason})
	return err
}

func TestOpenTwiceKeepsDataAndDoesNotRerunMigrations(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "station.db")
	ctx := context.Background()
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	cmd, _ := station.NewCommand("c1", station.CmdCatalogImport, time.Now(), system, station.CatalogImport{Matters: testMatters()})
	if _, err := db.Submit(ctx, cmd); err != nil {
		t.Fatal(err)
	}
	db.Close()
	db, err = sqlite.Open(ctx, path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer db.Close()
	ms, err := db.Matters(ctx, station.MatterFilter{IncludeWithdrawn: true})
	if err != nil || len(ms) != 3 {
		t.Fatalf("after reopen: %d matters, %v", len(ms), err)
	}
	cal, err := db.Calendar(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if cal.IsWorkingDay(station.Date{Year: 2026, Month: 10, Day: 1}) || !cal.IsWorkingDay(station.Date{Year: 2026, Month: 10, Day: 10}) {
		t.Fatal("the seeded 2026 calendar is missing National Day or its make-up Saturday")
	}
	if err := db.Ready(ctx); err != nil {
		t.Fatal(err)
	}
	if r, err := db.IntegrityCheck(ctx); err != nil || r != "ok" {
		t.Fatalf("integrity_check = %q, %v", r, err)
	}
}

func TestCatalogSearch(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	cases := []struct {
		name  string
		f     station.MatterFilter
		codes []string
	}{
		{"pinyin initials find a matter", station.MatterFilter{Query: "zdshbz"}, []string{"MZ-001"}},
		{"upper-case pinyin initials find it too", station.MatterFilter{Query: "ZDSH"}, []string{"MZ-001"}},
		{"a word of the name finds it", station.MatterFilter{Query: "失业"}, []string{"RS-002"}},
		{"the code finds it", station.MatterFilter{Query: "RS-0"}, []string{"RS-002"}},
		{"a category filter selects", station.MatterFilter{Category: "社会救助"}, []string{"MZ-001"}},
		{"withdrawn matters are hidden", station.MatterFilter{Query: "已取消"}, nil},
		{"withdrawn matters can be included", station.MatterFilter{Query: "已取消", IncludeWithdrawn: true}, []string{"OLD-1"}},
		{"a LIKE wildcard is taken literally", station.MatterFilter{Query: "%"}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ms, err := f.db.Matters(ctx, c.f)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, m := range ms {
				got = append(got, m.Code)
			}
			if fmt.Sprint(got) != fmt.Sprint(c.codes) {
				t.Fatalf("got %v, want %v", got, c.codes)
			}
		})
	}
	cats, err := f.db.Categories(ctx)
	if err != nil || len(cats) != 2 {
		t.Fatalf("categories = %v, %v (withdrawn matters must not count)", cats, err)
	}
}

// searchCatalog is a small catalog with the everyday names of its matters, for the search tests.
func searchCatalog() []station.Matter {
	m := func(code, name string, aliases ...string) station.Matter {
		return station.Matter{Code: code, Name: name, Aliases: aliases, Department: "区民政局", Category: "社会救助",
			Kind: station.KindImmediate, Status: station.MatterActive, Version: 1}
	}
	return []station.Matter{
		m("MZ-001", "最低生活保障申请", "低保", "低保申请"),
		m("MZ-004", "低收入家庭认定申请", "低收入认定"),
		m("MZ-012", "困难残疾人生活补贴和重度残疾人护理补贴申请", "两项补贴"),
		m("CL-001", "残疾人证新办", "残疾证", "办残疾证"),
		m("CL-002", "残疾人证换领", "残疾证换证"),
		m("WJ-001", "生育登记", "准生证", "生育服务证"),
		m("WJ-006", "65岁及以上老年人免费健康体检预约", "老年人体检"),
		m("BZ-DB", "殡葬补贴申请"), // its code is another matter's initials
	}
}

func TestCatalogSearchFindsEverydayNamesInitialsAndPartsRanked(t *testing.T) {
	f := newFixture(t)
	f.mustSubmit(station.CmdCatalogImport, system, station.CatalogImport{Matters: searchCatalog()})
	cases := []struct {
		name  string
		q     string
		codes []string // the whole answer, in order
	}{
		{"the placeholder's 低保 finds the matter by its everyday name", "低保", []string{"MZ-001"}},
		{"the placeholder's MZ-001 finds the matter by its code", "MZ-001", []string{"MZ-001"}},
		{"the placeholder's dbsq finds the matter by the initials of an everyday name", "dbsq", []string{"MZ-001"}},
		{"a code is found in any case", "mz-001", []string{"MZ-001"}},
		{"残疾证 finds 残疾人证: the exact alias first, then the alias it begins", "残疾证", []string{"CL-001", "CL-002"}},
		{"准生证 finds 生育登记", "准生证", []string{"WJ-001"}},
		{"a part of a word finds the matter", "生活保障", []string{"MZ-001"}},
		{"prefixes rank above parts, ties by name", "残疾", []string{"CL-002", "CL-001", "MZ-012"}},
		{"the name's initials are found by their start", "zdshbz", []string{"MZ-001"}},
		{"upper-case initials too", "ZDSH", []string{"MZ-001"}},
		{"and by a part", "shbzsq", []string{"MZ-001"}},
		{"a part of a code ranks above an alias's initials", "db", []string{"BZ-DB", "MZ-001"}},
		{"a code's start ranks above a part of initials", "bz", []string{"BZ-DB", "MZ-001"}},
		{"digits in a name are a part of it", "65", []string{"WJ-006"}},
		{"every word must match", "低保 申请", []string{"MZ-001"}},
		{"words that match nothing find nothing", "低保 残疾", nil},
		{"a LIKE wildcard is nothing special", "%", nil},
		{"spaces alone list everything in catalog order", "  ", []string{"RS-002", "BZ-DB", "CL-001", "CL-002", "MZ-001", "MZ-004", "MZ-012", "WJ-001", "WJ-006"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ms, err := f.db.Matters(context.Background(), station.MatterFilter{Query: c.q})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, m := range ms {
				got = append(got, m.Code)
			}
			if fmt.Sprint(got) != fmt.Sprint(c.codes) {
				t.Fatalf("q=%q: got %v, want %v", c.q, got, c.codes)
			}
		})
	}
	m, err := f.db.Matter(context.Background(), "MZ-001")
	if err != nil || fmt.Sprint(m.Aliases) != "[低保 低保申请]" {
		t.Fatalf("aliases stored %v, %v", m.Aliases, err)
	}
}

func TestMatterAliasesAreValidated(t *testing.T) {
	cases := []struct {
		name    string
		aliases []string
		want    string
	}{
		{"an empty alias", []string{"低保", " "}, "别名不能为空"},
		{"an alias that is the name", []string{"最低生活保障申请"}, "与事项名称相同"},
		{"a repeated alias", []string{"低保", "低保"}, "重复"},
		{"spaces around an alias", []string{"低保 "}, "首尾不能有空格"},
		{"a control character", []string{"低\x00保"}, "无效字符"},
		{"invalid UTF-8", []string{"低\xff"}, "无效字符"},
		{"a long alias", []string{strings.Repeat("低", station.MaxAliasLen+1)}, "超过20个字"},
		{"too many aliases", strings.Split("一 二 三 四 五 六 七 八 九 十 百", " "), "别名最多10个"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := searchCatalog()[0]
			m.Aliases = c.aliases
			err := m.Validate()
			if station.ErrorCode(err) != station.EINVALID || !strings.Contains(station.ErrorMessage(err), c.want) {
				t.Fatalf("got %v, want EINVALID saying %q", err, c.want)
			}
		})
	}
	m := searchCatalog()[0]
	if err := m.Validate(); err != nil {
		t.Fatalf("valid aliases refused: %v", err)
	}
}

func TestCatalogImportRefusesAnOlderVersion(t *testing.T) {
	f := newFixture(t)
	m := testMatters()[2]
	m.Version = 1
	_, err := f.submit(station.CmdCatalogImport, system, station.CatalogImport{Matters: []station.Matter{m}})
	if station.ErrorCode(err) != station.ECONFLICT {
		t.Fatalf("got %v, want ECONFLICT", err)
	}
}

func TestCommitmentApplicationGoesThroughTheWholeFlow(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	id := f.intake("MZ-001", validNumber(1))
	a, err := f.db.Application(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if a.Number != "SQ20261124-0001" || a.Status != station.StatusReceived {
		t.Fatalf("number %s status %s", a.Number, a.Status)
	}
	if a.DueDate.String() != "2026-12-22" { // 20 working days after Tuesday 2026-11-24
		t.Fatalf("due date = %s", a.DueDate)
	}
	if len(a.Materials) != 3 || !a.Materials[0].Provided || !a.Materials[1].Provided || !a.Materials[1].Required ||
		a.Materials[2].Provided || a.Materials[2].Required || a.Deferral != nil {
		t.Fatalf("materials = %+v", a.Materials)
	}
	steps := []struct {
		actor  station.Actor
		action station.Action
		want   station.Status
	}{
		{reviewer, station.ActionPreReview, station.StatusPreReviewed},
		{reviewer, station.ActionForward, station.StatusForwarded},
		{station.Actor{Username: "hub", Role: station.RoleDepartment}, station.ActionApprove, station.StatusApproved},
		{staff, station.ActionComplete, station.StatusCompleted},
	}
	for _, s := range steps {
		f.now = f.now.Add(time.Hour)
		if err := f.transition(s.actor, id, s.action, ""); err != nil {
			t.Fatalf("%s: %v", s.action, err)
		}
		a, _ = f.db.Application(ctx, id)
		if a.Status != s.want {
			t.Fatalf("after %s status = %s, want %s", s.action, a.Status, s.want)
		}
	}
	if len(a.Timeline) != 5 || a.Timeline[4].Actor != "counter1" || a.Timeline[2].From != station.StatusPreReviewed {
		t.Fatalf("timeline = %+v", a.Timeline)
	}
	if a.CompletedAt == nil || !a.CompletedAt.Equal(f.now) {
		t.Fatalf("completed at = %v", a.CompletedAt)
	}
	s, err := f.db.Stats(ctx, station.DateOf(f.now))
	if err != nil || s.Completed != 1 || s.CompletedOnTime != 1 || s.Open != 0 || s.OnTimeRate != 1 {
		t.Fatalf("stats = %+v, %v", s, err)
	}
}

func TestARefusedTransitionChangesNothingButIsAudited(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	id := f.intake("MZ-001", validNumber(2))
	before, _ := f.db.Application(ctx, id)

	err := f.transition(staff, id, station.ActionForward, "")
	if station.ErrorCode(err) != station.ECONFLICT {
		t.Fatalf("forward from received: %v, want ECONFLICT", err)
	}
	err = f.transition(staff, id, station.ActionPreReview, "")
	if station.ErrorCode(err) != station.EFORBIDDEN {
		t.Fatalf("pre-review by staff: %v, want EFORBIDDEN", err)
	}
	err = f.transition(tech, id, station.ActionReturn, "缺收入证明")
	if station.ErrorCode(err) != station.EFORBIDDEN {
		t.Fatalf("return by technician: %v, want EFORBIDDEN", err)
	}
	after, _ := f.db.Application(ctx, id)
	if after.Status != before.Status || len(after.Timeline) != len(before.Timeline) || !after.UpdatedAt.Equal(before.UpdatedAt) {
		t.Fatalf("a refused transition changed the application: %+v", after)
	}
	entries, _, err := f.db.AuditEntries(ctx, station.AuditFilter{Object: "application:" + id})
	if err != nil {
		t.Fatal(err)
	}
	var results []string
	for _, e := range entries {
		results = append(results, e.Result)
	}
	if fmt.Sprint(results) != "[EFORBIDDEN EFORBIDDEN ECONFLICT ok]" {
		t.Fatalf("audit results newest first = %v", results)
	}
}

func TestImmediateMatterCompletesOnTheSpot(t *testing.T) {
	f := newFixture(t)
	id := f.intake("RS-002", validNumber(3))
	if err := f.transition(reviewer, id, station.ActionPreReview, ""); station.ErrorCode(err) != station.ECONFLICT {
		t.Fatalf("an immediate matter cannot be pre-reviewed: %v", err)
	}
	if err := f.transition(staff, id, station.ActionComplete, ""); err != nil {
		t.Fatal(err)
	}
	a, _ := f.db.Application(context.Background(), id)
	if a.Status != station.StatusCompleted || !a.DueDate.IsZero() {
		t.Fatalf("status %s due %s", a.Status, a.DueDate)
	}
}

func TestResubmittingRestartsTheTimeLimit(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	id := f.intake("MZ-001", validNumber(4))
	if err := f.transition(staff, id, station.ActionReturn, "缺少收入证明"); err != nil {
		t.Fatal(err)
	}
	f.now = time.Date(2026, 12, 1, 2, 0, 0, 0, time.UTC)
	if err := f.transition(staff, id, station.ActionResubmit, ""); err != nil {
		t.Fatal(err)
	}
	a, _ := f.db.Application(ctx, id)
	if a.Status != station.StatusReceived || a.DueDate.String() != "2026-12-29" {
		t.Fatalf("status %s due %s, want received due 2026-12-29", a.Status, a.DueDate)
	}
	if a.Timeline[1].Reason != "缺少收入证明" {
		t.Fatalf("the return reason is not in the timeline: %+v", a.Timeline)
	}
}

func TestIntakeRefusals(t *testing.T) {
	f := newFixture(t)
	sealed, _ := f.key.Seal(station.IDResident, validNumber(5))
	good := station.ApplicationIntake{ApplicationID: "a1", MatterCode: "MZ-001",
		Applicant: station.Applicant{IDNumber: sealed, IDLast4: "1234", Name: "李四"}, Materials: providedAll("MZ-001")}
	cases := []struct {
		name   string
		actor  station.Actor
		mutate func(*station.ApplicationIntake)
		code   string
	}{
		{"an unknown matter is not found", staff, func(p *station.ApplicationIntake) { p.MatterCode = "NOPE" }, station.ENOTFOUND},
		{"a withdrawn matter is a conflict", staff, func(p *station.ApplicationIntake) { p.MatterCode = "OLD-1" }, station.ECONFLICT},
		{"an empty name is invalid", staff, func(p *station.ApplicationIntake) { p.Applicant.Name = " " }, station.EINVALID},
		{"a material not in the checklist is invalid", staff, func(p *station.ApplicationIntake) {
			p.Materials = []station.MaterialCheck{{Code: "M9", Provided: true}}
		}, station.EINVALID},
		{"an unsealed number is invalid", staff, func(p *station.ApplicationIntake) { p.Applicant.IDNumber.Cipher = "" }, station.EINVALID},
		{"a technician may not take applications", tech, func(*station.ApplicationIntake) {}, station.EFORBIDDEN},
		{"required materials missing without 容缺 are refused", staff, func(p *station.ApplicationIntake) { p.Materials = nil }, station.EINVALID},
		{"a 容缺 due today is refused", staff, func(p *station.ApplicationIntake) {
			p.Materials = []station.MaterialCheck{{Code: "M1", Provided: true}}
			p.Deferral = &station.Deferral{Materials: []string{"M2"}, Reason: "单位未开具", DueDate: station.DateOf(f.now)}
		}, station.EINVALID},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := good
			c.mutate(&p)
			_, err := f.submit(station.CmdApplicationIntake, c.actor, p)
			if station.ErrorCode(err) != c.code {
				t.Fatalf("got %v, want %s", err, c.code)
			}
		})
	}
	_, total, _ := f.db.Applications(context.Background(), station.ApplicationFilter{})
	if total != 0 {
		t.Fatalf("%d applications were stored by refused intakes", total)
	}
}

func TestSubmittingTheSameCommandTwiceAppliesItOnce(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	sealed, _ := f.key.Seal(station.IDResident, validNumber(6))
	cmd, _ := station.NewCommand("same-id", station.CmdApplicationIntake, f.now, staff, station.ApplicationIntake{
		ApplicationID: "app-x", MatterCode: "RS-002", Applicant: station.Applicant{IDNumber: sealed, IDLast4: "0000", Name: "赵六"},
		Materials: providedAll("RS-002")})
	r1, err1 := f.db.Submit(ctx, cmd)
	r2, err2 := f.db.Submit(ctx, cmd)
	if err1 != nil || err2 != nil || r1 != r2 {
		t.Fatalf("first %v %v, second %v %v", r1, err1, r2, err2)
	}
	_, total, _ := f.db.Applications(ctx, station.ApplicationFilter{})
	if total != 1 {
		t.Fatalf("%d applications, want 1", total)
	}
}

func TestDeadlineFiltersAndStats(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	// Received 2026-11-24 with a 20-working-day limit: due 2026-12-22.
	id := f.intake("MZ-001", validNumber(7))
	f.intake("RS-002", validNumber(8)) // immediate: no deadline
	count := func(today string, d station.DeadlineState) int {
		day, _ := station.ParseDate(today)
		_, n, err := f.db.Applications(ctx, station.ApplicationFilter{Deadline: d, Today: day})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	cases := []struct {
		today           string
		soon, overdue   int
		description     string
		wantOpen, wantO int
	}{
		{"2026-12-17", 0, 0, "three working days before", 2, 0},
		{"2026-12-18", 1, 0, "two working days before (Friday)", 2, 0},
		{"2026-12-22", 1, 0, "on the due day", 2, 0},
		{"2026-12-23", 0, 1, "the day after", 2, 1},
	}
	for _, c := range cases {
		t.Run(c.description, func(t *testing.T) {
			if got := count(c.today, station.DeadlineDueSoon); got != c.soon {
				t.Errorf("due soon = %d, want %d", got, c.soon)
			}
			if got := count(c.today, station.DeadlineOverdue); got != c.overdue {
				t.Errorf("overdue = %d, want %d", got, c.overdue)
			}
			day, _ := station.ParseDate(c.today)
			s, err := f.db.Stats(ctx, day)
			if err != nil || s.Open != c.wantOpen || s.Overdue != c.wantO {
				t.Errorf("stats = %+v, %v", s, err)
			}
		})
	}
	// Completing late counts against the on-time rate.
	f.now = time.Date(2026, 12, 23, 2, 0, 0, 0, time.UTC)
	for _, s := range []struct {
		a station.Actor
		x station.Action
	}{{reviewer, station.ActionPreReview}, {reviewer, station.ActionForward}, {reviewer, station.ActionReject}, {staff, station.ActionComplete}} {
		if err := f.transition(s.a, id, s.x, "不符合条件"); err != nil {
			t.Fatal(err)
		}
	}
	s, _ := f.db.Stats(ctx, station.DateOf(f.now))
	if s.Completed != 1 || s.CompletedOnTime != 0 || s.OnTimeRate != 0 {
		t.Fatalf("stats after a late completion = %+v", s)
	}
}

func TestLockoutIsPerAddressAndTheAccountLocksOnlyAfterMany(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.mustSubmit(station.CmdUserCreate, system, station.UserCreate{Username: "counter1", DisplayName: "柜台一", Role: station.RoleStaff, PasswordHash: "$argon2id$x"})
	opened := 0
	open := func(addr string) error {
		opened++
		_, err := f.submit(station.CmdSessionOpen, station.Actor{Username: "counter1", Role: station.RoleStaff}, station.SessionOpen{
			SessionID: f.nextID(), TokenHash: fmt.Sprintf("%064x", opened), Username: "counter1", ExpiresAt: f.now.Add(time.Hour), Address: addr})
		return err
	}
	fail := func(addr string) {
		f.mustSubmit(station.CmdLoginFailed, station.Actor{Username: "counter1"}, station.LoginFailed{Username: "counter1", Address: addr})
	}
	tries := func(addr string) station.LoginAttempts {
		la, err := f.db.LoginAttempts(ctx, "counter1", addr)
		if err != nil {
			t.Fatal(err)
		}
		return la
	}
	for i := 0; i < station.MaxFailedLogins; i++ {
		fail("192.0.2.66")
	}
	stranger := tries("192.0.2.66")
	if stranger.Failures != station.MaxFailedLogins || stranger.LockedUntil == nil || !stranger.LockedUntil.Equal(f.now.Add(station.LockoutDuration)) {
		t.Fatalf("after %d failures from one address: %+v, want it locked out for 15 minutes", station.MaxFailedLogins, stranger)
	}
	if u, _ := f.db.User(ctx, "counter1"); u.Locked(f.now) {
		t.Fatal("a stranger's failures locked the account itself")
	}
	if la := tries("192.0.2.10"); la.Failures != 0 || la.LockedUntil != nil {
		t.Fatalf("the counter's own address: %+v", la)
	}
	if err := open("192.0.2.10"); err != nil {
		t.Fatalf("the real user at the counter: %v", err)
	}
	// Many failures from anywhere lock the account.
	for i := 0; i < station.MaxAccountFailures; i++ {
		fail(fmt.Sprintf("198.51.100.%d", i))
	}
	u, _ := f.db.User(ctx, "counter1")
	if !u.Locked(f.now) || u.Locked(f.now.Add(station.LockoutDuration)) {
		t.Fatalf("after %d failures from many addresses the account should be locked for 15 minutes: %v", station.MaxAccountFailures, u.LockedUntil)
	}
	if err := open("192.0.2.10"); station.ErrorCode(err) != station.ELOCKED {
		t.Fatalf("login while the account is locked: %v, want ELOCKED", err)
	}
	// An administrator unlocks: the account and every address start again.
	f.mustSubmit(station.CmdUserUpdate, admin, station.UserUpdate{Username: "counter1", Unlock: true})
	if u, _ := f.db.User(ctx, "counter1"); u.Locked(f.now) || u.FailedLogins != 0 {
		t.Fatalf("after unlock: %+v", u)
	}
	if la := tries("192.0.2.66"); la.Failures != 0 || la.LockedUntil != nil {
		t.Fatalf("after unlock the stranger's address: %+v", la)
	}
	// A lock that ran out starts its address again.
	for i := 0; i < station.MaxFailedLogins; i++ {
		fail("192.0.2.66")
	}
	f.now = f.now.Add(station.LockoutDuration)
	fail("192.0.2.66")
	if la := tries("192.0.2.66"); la.Failures != 1 || la.LockedUntil != nil {
		t.Fatalf("a failure after the lock ran out: %+v, want the count started again", la)
	}
	if err := open("192.0.2.66"); err != nil {
		t.Fatal(err)
	}
	if la := tries("192.0.2.66"); la.Failures != 0 {
		t.Fatalf("a successful login did not reset its address: %+v", la)
	}
}

func TestSessionsAndAccountChanges(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.mustSubmit(station.CmdUserCreate, system, station.UserCreate{Username: "review1", DisplayName: "审核员", Role: station.RoleReviewer, PasswordHash: "$argon2id$x"})
	hash := strings.Repeat("cd", 32)
	f.mustSubmit(station.CmdSessionOpen, reviewer, station.SessionOpen{SessionID: "s1", TokenHash: hash, Username: "review1", ExpiresAt: f.now.Add(time.Hour)})
	s, err := f.db.Session(ctx, hash)
	if err != nil || s.Role != station.RoleReviewer {
		t.Fatalf("session = %+v, %v", s, err)
	}
	if _, err := f.submit(station.CmdUserCreate, staff, station.UserCreate{Username: "x123", DisplayName: "x", Role: station.RoleStaff, PasswordHash: "$argon2id$x"}); station.ErrorCode(err) != station.EFORBIDDEN {
		t.Fatalf("staff creating a user: %v", err)
	}
	disabled := true
	f.mustSubmit(station.CmdUserUpdate, admin, station.UserUpdate{Username: "review1", Disabled: &disabled})
	if _, err := f.db.Session(ctx, hash); station.ErrorCode(err) != station.ENOTFOUND {
		t.Fatalf("the session of a disabled user still works: %v", err)
	}
	if _, err := f.submit(station.CmdSessionClose, reviewer, station.SessionClose{SessionID: "s1", Reason: "logout"}); station.ErrorCode(err) != station.ENOTFOUND {
		t.Fatalf("closing a closed session: %v", err)
	}
}

func TestIDNumbersNeverReachTheDatabaseInClear(t *testing.T) {
	f := newFixture(t)
	number := validNumber(9)
	sealed, _ := f.key.Seal(station.IDResident, number)
	f.mustSubmit(station.CmdResidentUpsert, staff, station.ResidentUpsert{ResidentID: "r1", IDNumber: sealed, Name: "孙七", Sex: station.SexMale})
	f.intake("MZ-001", number)
	p, err := f.db.ResidentByIndex(context.Background(), f.key.Index(station.IDResident, number))
	if err != nil || p.ID != "r1" {
		t.Fatalf("lookup by index: %+v %v", p, err)
	}
	if got, err := f.key.Open(p.IDNumber); err != nil || got != number {
		t.Fatalf("the stored number does not open: %v", err)
	}
	f.db.Close() // checkpoint the WAL into the main file
	dir := filepath.Dir(f.db.Path())
	files, _ := filepath.Glob(filepath.Join(dir, "station.db*"))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, needle := range []string{number, number[6:14] + number[14:17]} {
			if bytes.Contains(b, []byte(needle)) {
				t.Fatalf("%s contains the ID number (or its birth date and sequence) in clear", filepath.Base(name))
			}
		}
	}
}

func TestCalendarImportReplacesAYear(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	d := station.Date{Year: 2027, Month: 2, Day: 20} // a Saturday
	f.mustSubmit(station.CmdCalendarImport, system, station.CalendarImport{Years: []int{2027}, Days: []station.CalendarDay{{Date: d, Kind: station.DayWorkday, Name: "春节调休"}}})
	cal, _ := f.db.Calendar(ctx)
	if !cal.IsWorkingDay(d) {
		t.Fatal("the imported make-up day is not a working day")
	}
	if !cal.IsWorkingDay(station.Date{Year: 2027, Month: 10, Day: 1}) {
		t.Fatal("the old 2027 days were not replaced")
	}
	if cal.IsWorkingDay(station.Date{Year: 2026, Month: 10, Day: 1}) {
		t.Fatal("importing 2027 touched 2026")
	}
	_, err := f.submit(station.CmdCalendarImport, system, station.CalendarImport{Years: []int{2028}, Days: []station.CalendarDay{{Date: d, Kind: station.DayWorkday}}})
	if station.ErrorCode(err) != station.EINVALID {
		t.Fatalf("a day outside the imported years: %v", err)
	}
}

func TestOutboxGetsDomainCommandsOnly(t *testing.T) {
	f := newFixture(t)
	f.intake("RS-002", validNumber(10))
	f.submit(station.CmdLoginFailed, station.Actor{Username: "x"}, station.LoginFailed{Username: "x"})
	n, err := f.db.OutboxLen(context.Background())
	if err != nil || n != 2 { // the catalog import and the intake
		t.Fatalf("outbox has %d records, %v; want 2", n, err)
	}
}

func TestTheDatabaseFileIsOwnerOnly(t *testing.T) {
	f := newFixture(t)
	f.intake("RS-002", validNumber(11))
	files, _ := filepath.Glob(f.db.Path() + "*")
	if len(files) < 2 {
		t.Fatalf("expected the database and its WAL, found %v", files)
	}
	for _, name := range files {
		fi, err := os.Stat(name)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s has mode %v, want owner-only", filepath.Base(name), fi.Mode().Perm())
		}
	}
}

func TestApplicationNumbersCountUpWithinADayAndRestartTheNext(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	var got []string
	for i, at := range []time.Time{
		time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC),   // 08:00 Beijing
		time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC),   // 17:00
		time.Date(2026, 11, 24, 15, 59, 0, 0, time.UTC), // 23:59
		time.Date(2026, 11, 24, 16, 1, 0, 0, time.UTC),  // 00:01 on the 25th in Beijing
	} {
		f.now = at
		a, err := f.db.Application(ctx, f.intake("RS-002", validNumber(20+i)))
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, a.Number)
	}
	want := "[SQ20261124-0001 SQ20261124-0002 SQ20261124-0003 SQ20261125-0001]"
	if fmt.Sprint(got) != want {
		t.Fatalf("numbers %v, want %s", got, want)
	}
}

// The ten-thousandth application of a day gets SQ…-10000 and the next SQ…-10001: numbers past four
// digits still count up (as text, SQ…-10000 sorts before SQ…-9999).
func TestApplicationNumbersGoOnPastFourDigits(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	first, err := f.db.Application(ctx, f.intake("RS-002", validNumber(30)))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := sql.Open("sqlite", "file:"+f.db.Path()+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	// As if 9,998 applications had come before it today.
	if _, err := raw.Exec(`UPDATE applications SET number = 'SQ20261124-9999' WHERE id = ?`, first.ID); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	var got []string
	for i := range 2 {
		a, err := f.db.Application(ctx, f.intake("RS-002", validNumber(31+i)))
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, a.Number)
	}
	if want := "[SQ20261124-10000 SQ20261124-10001]"; fmt.Sprint(got) != want {
		t.Fatalf("numbers after SQ20261124-9999: %v, want %s", got, want)
	}
}

func TestADeferredIntakeIsRecordedAuditedAndSent(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	sealed, _ := f.key.Seal(station.IDResident, validNumber(7))
	due := station.DateOf(f.now).AddDays(7)
	f.mustSubmit(station.CmdApplicationIntake, staff, station.ApplicationIntake{ApplicationID: "app-d", MatterCode: "MZ-001",
		Applicant: station.Applicant{IDNumber: sealed, IDLast4: "0000", Name: "孙七"},
		Materials: []station.MaterialCheck{{Code: "M1", Provided: true}},
		Deferral:  &station.Deferral{Materials: []string{"M2"}, Reason: " 单位尚未开具收入证明 ", DueDate: due}})
	a, err := f.db.Application(ctx, "app-d")
	if err != nil {
		t.Fatal(err)
	}
	if d := a.Deferral; d == nil || len(d.Materials) != 1 || d.Materials[0] != "M2" || d.Reason != "单位尚未开具收入证明" || d.DueDate != due {
		t.Fatalf("deferral: %+v", a.Deferral)
	}
	if e := f.audit("application:app-d")[0]; !strings.Contains(e.Detail, "容缺受理 M2 due "+due.String()) {
		t.Fatalf("the 容缺 is not audited: %+v", e)
	}
	pending, err := f.db.PendingOutbox(ctx, 100)
	if err != nil {
		t.Fatal(err)
	}
	var sent *station.ApplicationIntake
	for _, r := range pending {
		if r.Kind == string(station.CmdApplicationIntake) {
			var p station.ApplicationIntake
			if err := json.Unmarshal(r.Payload, &p); err == nil && p.ApplicationID == "app-d" {
				sent = &p
			}
		}
	}
	if sent == nil || sent.Deferral == nil || sent.Deferral.DueDate != due || sent.Deferral.Materials[0] != "M2" {
		t.Fatalf("the data center's record does not carry the 容缺: %+v", sent)
	}
	// Bringing the material later leaves the record of the 容缺 and clears what is outstanding.
	f.mustSubmit(station.CmdApplicationMaterials, staff, station.ApplicationMaterials{ApplicationID: "app-d",
		Materials: []station.MaterialCheck{{Code: "M1", Provided: true}, {Code: "M2", Provided: true}}})
	a, _ = f.db.Application(ctx, "app-d")
	if a.Deferral == nil || len(a.Deferral.Outstanding(a.Materials)) != 0 {
		t.Fatalf("after the material was brought: %+v", a.Deferral)
	}
}

// TestANewStationHoldsTheNationalCalendar: the calendar a new database is seeded with is the one the
// data center also holds (station.NationalCalendar), day for day.
func TestANewStationHoldsTheNationalCalendar(t *testing.T) {
	f := newFixture(t)
	want, years := station.NationalCalendar()
	var got []station.CalendarDay
	for y := range years {
		days, err := f.db.CalendarDays(context.Background(), y)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, days...)
	}
	sort.Slice(got, func(i, j int) bool { return got[i].Date.Before(got[j].Date) })
	if !reflect.DeepEqual(got, want) {
		t.Errorf("the seeded calendar (%d days) differs from the national calendar (%d days)", len(got), len(want))
	}
}
