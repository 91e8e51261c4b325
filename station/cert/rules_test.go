package cert

import (
	"strings"
	"testing"

	"github.com/civic-station/station/station"
)

func day(s string) station.Date {
	d, err := station.ParseDate(s)
	if err != nil {
		panic(s)
	}
	return d
}

// ruleTemplate returns a valid active template with the given rules.
func ruleTemplate(rules ...Rule) Template {
	t := validTemplate()
	t.Rules = rules
	return t
}

func TestRuleOutcomes(t *testing.T) {
	base := Subject{Name: "张三", IDMasked: "2201**********123X", Sex: station.SexFemale, BirthDate: day("1966-11-22"),
		Address: "幸福里小区3号楼2单元101", Community: "幸福里社区", RegisteredSince: day("2026-08-01"),
		Tags: []string{"低保"}, CardVerified: true}
	with := func(f func(*Subject)) Subject { s := base; f(&s); return s }
	months6 := Rule{Type: RuleRegisteredMonthsMin, Months: 6}
	cases := []struct {
		name    string
		rule    Rule
		subject Subject
		history []Issued
		today   string
		want    Outcome
		reason  []string // substrings of Reason+Advice
	}{
		{"registered exactly 6 months on the day passes", months6, base, nil, "2027-02-01", OutcomePass, nil},
		{"registered one day short of 6 months fails with both dates and a document to bring", months6, base, nil, "2027-01-31", OutcomeFail,
			[]string{"未满6个月", "登记日期2026年8月1日", "2027年2月1日起", "租房合同或房产证"}},
		{"registered on 31 August completes 6 months on 28 February", months6, with(func(s *Subject) { s.RegisteredSince = day("2026-08-31") }), nil, "2027-02-28", OutcomePass, nil},
		{"registered on 31 August is short of 6 months on 27 February", months6, with(func(s *Subject) { s.RegisteredSince = day("2026-08-31") }), nil, "2027-02-27", OutcomeFail, []string{"2027年2月28日起"}},
		{"registered on 31 August 2027 completes 6 months on 29 February 2028", months6, with(func(s *Subject) { s.RegisteredSince = day("2027-08-31") }), nil, "2028-02-29", OutcomePass, nil},
		{"registered on 31 August 2027 is short on 28 February 2028", months6, with(func(s *Subject) { s.RegisteredSince = day("2027-08-31") }), nil, "2028-02-28", OutcomeFail, nil},
		{"an unknown registration date is missing data sending the resident to the counter", months6, with(func(s *Subject) { s.RegisteredSince = station.Date{} }), nil, "2027-02-01", OutcomeMissing,
			[]string{"本社区居住登记日期", "请到柜台核实登记信息"}},

		{"the 60th birthday itself passes age_min 60", Rule{Type: RuleAgeMin, Years: 60}, base, nil, "2026-11-22", OutcomePass, nil},
		{"the day before the 60th birthday fails age_min 60", Rule{Type: RuleAgeMin, Years: 60}, base, nil, "2026-11-21", OutcomeFail, []string{"未满60周岁", "2026年11月22日起"}},
		{"born 29 February is 60 on 29 February of a leap year", Rule{Type: RuleAgeMin, Years: 60}, with(func(s *Subject) { s.BirthDate = day("1964-02-29") }), nil, "2024-02-29", OutcomePass, nil},
		{"born 29 February is not 60 on 28 February of that leap year", Rule{Type: RuleAgeMin, Years: 60}, with(func(s *Subject) { s.BirthDate = day("1964-02-29") }), nil, "2024-02-28", OutcomeFail, nil},
		{"born 29 February is 61 on 28 February of a common year", Rule{Type: RuleAgeMin, Years: 61}, with(func(s *Subject) { s.BirthDate = day("1964-02-29") }), nil, "2025-02-28", OutcomePass, nil},
		{"born 29 February is not 61 on 27 February of a common year", Rule{Type: RuleAgeMin, Years: 61}, with(func(s *Subject) { s.BirthDate = day("1964-02-29") }), nil, "2025-02-27", OutcomeFail, []string{"2025年2月28日起"}},
		{"an unknown birth date is missing data for age_min", Rule{Type: RuleAgeMin, Years: 60}, with(func(s *Subject) { s.BirthDate = station.Date{} }), nil, "2026-11-22", OutcomeMissing, []string{"出生日期"}},

		{"the day before the 25th birthday passes age_max 24", Rule{Type: RuleAgeMax, Years: 24}, with(func(s *Subject) { s.BirthDate = day("2002-03-10") }), nil, "2027-03-09", OutcomePass, nil},
		{"the 25th birthday fails age_max 24", Rule{Type: RuleAgeMax, Years: 24}, with(func(s *Subject) { s.BirthDate = day("2002-03-10") }), nil, "2027-03-10", OutcomeFail, []string{"24周岁及以下", "已年满25周岁"}},
		{"an unknown birth date is missing data for age_max", Rule{Type: RuleAgeMax, Years: 24}, with(func(s *Subject) { s.BirthDate = station.Date{} }), nil, "2027-03-10", OutcomeMissing, nil},

		{"a held tag passes has_tag", Rule{Type: RuleHasTag, Tag: "低保"}, base, nil, "2027-01-01", OutcomePass, nil},
		{"a missing tag fails has_tag naming the tag", Rule{Type: RuleHasTag, Tag: "残疾"}, base, nil, "2027-01-01", OutcomeFail, []string{"没有“残疾”标识"}},
		{"a held tag fails lacks_tag", Rule{Type: RuleLacksTag, Tag: "低保"}, base, nil, "2027-01-01", OutcomeFail, []string{"有“低保”标识"}},
		{"a missing tag passes lacks_tag", Rule{Type: RuleLacksTag, Tag: "失信被执行人"}, base, nil, "2027-01-01", OutcomePass, nil},

		{"the same certificate 29 days ago (day 30) blocks no_repeat_days 30", Rule{Type: RuleNoRepeatDays, Days: 30}, base,
			[]Issued{{Code: "TS-001", Date: day("2026-11-01")}}, "2026-11-30", OutcomeFail, []string{"2026年11月1日", "30天内", "2026年12月1日起"}},
		{"the same certificate 30 days ago (day 31) passes no_repeat_days 30", Rule{Type: RuleNoRepeatDays, Days: 30}, base,
			[]Issued{{Code: "TS-001", Date: day("2026-11-01")}}, "2026-12-01", OutcomePass, nil},
		{"the same certificate today blocks no_repeat_days", Rule{Type: RuleNoRepeatDays, Days: 30}, base,
			[]Issued{{Code: "TS-001", Date: day("2026-12-01")}}, "2026-12-01", OutcomeFail, nil},
		{"the latest of several issues counts", Rule{Type: RuleNoRepeatDays, Days: 30}, base,
			[]Issued{{Code: "TS-001", Date: day("2026-11-15")}, {Code: "TS-001", Date: day("2026-09-01")}}, "2026-12-01", OutcomeFail, []string{"2026年12月15日起"}},
		{"another certificate type does not block no_repeat_days", Rule{Type: RuleNoRepeatDays, Days: 30}, base,
			[]Issued{{Code: "MS-002", Date: day("2026-11-30")}}, "2026-12-01", OutcomePass, nil},
		{"no history passes no_repeat_days", Rule{Type: RuleNoRepeatDays, Days: 30}, base, nil, "2026-12-01", OutcomePass, nil},

		{"an identity read from the card passes card_verified", Rule{Type: RuleCardVerified}, base, nil, "2027-01-01", OutcomePass, nil},
		{"a typed identity fails card_verified and asks for the card", Rule{Type: RuleCardVerified}, with(func(s *Subject) { s.CardVerified = false }), nil, "2027-01-01", OutcomeFail, []string{"身份证"}},

		{"a woman passes sex female", Rule{Type: RuleSex, Sex: station.SexFemale}, base, nil, "2027-01-01", OutcomePass, nil},
		{"a man fails sex female", Rule{Type: RuleSex, Sex: station.SexFemale}, with(func(s *Subject) { s.Sex = station.SexMale }), nil, "2027-01-01", OutcomeFail, []string{"女性"}},
		{"an unrecorded sex is missing data", Rule{Type: RuleSex, Sex: station.SexFemale}, with(func(s *Subject) { s.Sex = station.SexUnknown }), nil, "2027-01-01", OutcomeMissing, []string{"性别"}},

		{"a recorded address passes field_present", Rule{Type: RuleFieldPresent, Field: "address"}, base, nil, "2027-01-01", OutcomePass, nil},
		{"a blank address fails field_present naming it", Rule{Type: RuleFieldPresent, Field: "address"}, with(func(s *Subject) { s.Address = "  " }), nil, "2027-01-01", OutcomeFail, []string{"缺少居住地址"}},
		{"an unknown birth date fails field_present birth_date", Rule{Type: RuleFieldPresent, Field: "birth_date"}, with(func(s *Subject) { s.BirthDate = station.Date{} }), nil, "2027-01-01", OutcomeFail, []string{"缺少出生日期"}},

		{"a rule type that bypassed validation never passes", Rule{Type: "age_minimum", Years: 1}, base, nil, "2027-01-01", OutcomeFail, []string{"配置有误"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tpl := ruleTemplate(c.rule)
			res := tpl.Check(c.subject, c.history, day(c.today))
			if len(res.Checks) != 1 {
				t.Fatalf("got %d checks, want 1", len(res.Checks))
			}
			got := res.Checks[0]
			if got.Outcome != c.want {
				t.Fatalf("outcome %s, want %s (%s)", got.Outcome, c.want, got.Text())
			}
			if res.Allowed != (c.want == OutcomePass) {
				t.Errorf("Allowed = %v with outcome %s", res.Allowed, got.Outcome)
			}
			if got.Rule != c.rule {
				t.Errorf("check carries rule %+v, want %+v", got.Rule, c.rule)
			}
			if c.want == OutcomePass && got.Text() != "" {
				t.Errorf("a pass has text %q", got.Text())
			}
			if c.want != OutcomePass && (got.Reason == "" || got.Advice == "") {
				t.Errorf("a %s needs both a reason and advice: %+v", got.Outcome, got)
			}
			for _, s := range c.reason {
				if !strings.Contains(got.Text(), s) {
					t.Errorf("text %q lacks %q", got.Text(), s)
				}
			}
		})
	}
}

func TestCheckReportsEveryFailureAtOnce(t *testing.T) {
	tpl := ruleTemplate(Rule{Type: RuleCardVerified}, Rule{Type: RuleAgeMin, Years: 80},
		Rule{Type: RuleRegisteredMonthsMin, Months: 6}, Rule{Type: RuleHasTag, Tag: "低保"})
	s := Subject{BirthDate: day("1990-01-01"), Tags: []string{"低保"}}
	res := tpl.Check(s, nil, day("2026-11-22"))
	if res.Allowed {
		t.Fatal("allowed")
	}
	f := res.Failures()
	if len(f) != 3 || f[0].Rule.Type != RuleCardVerified || f[1].Rule.Type != RuleAgeMin || f[2].Outcome != OutcomeMissing {
		t.Fatalf("failures %+v", f)
	}
	if n := strings.Count(res.Message(), "\n"); n != 2 {
		t.Errorf("message has %d line breaks, want one line per failure: %q", n, res.Message())
	}
}

func TestRuleAdviceReplacesTheDefault(t *testing.T) {
	tpl := ruleTemplate(Rule{Type: RuleHasTag, Tag: "低保", Advice: "请先到柜台申请低保。"})
	res := tpl.Check(Subject{}, nil, day("2026-11-22"))
	if got := res.Checks[0].Advice; got != "请先到柜台申请低保。" {
		t.Errorf("advice %q", got)
	}
}

func TestWithdrawnTemplateIsNeverAllowed(t *testing.T) {
	tpl := ruleTemplate().Withdraw("依据民发〔2020〕20号，不再由居民委员会出具。")
	res := tpl.Check(Subject{CardVerified: true}, nil, day("2026-11-22"))
	if res.Allowed || len(res.Checks) != 1 || res.Checks[0].Outcome != OutcomeWithdrawn {
		t.Fatalf("result %+v", res)
	}
	if !strings.Contains(res.Message(), "民发〔2020〕20号") || !strings.Contains(res.Message(), "已停止开具") {
		t.Errorf("message %q", res.Message())
	}
}

func TestCheckSaysWhenADepartmentMustApprove(t *testing.T) {
	tpl := ruleTemplate()
	tpl.NeedsDepartment, tpl.Department = true, "街道司法所"
	res := tpl.Check(Subject{}, nil, day("2026-11-22"))
	if !res.Allowed || !res.NeedsApproval || res.Department != "街道司法所" {
		t.Errorf("result %+v", res)
	}
}

func TestAddMonths(t *testing.T) {
	for _, c := range []struct {
		from string
		n    int
		want string
	}{
		{"2026-08-01", 6, "2027-02-01"},
		{"2026-08-31", 6, "2027-02-28"},
		{"2027-08-31", 6, "2028-02-29"},
		{"2024-02-29", 12, "2025-02-28"},
		{"2024-02-29", 48, "2028-02-29"},
		{"2026-01-31", 1, "2026-02-28"},
		{"2026-03-31", -1, "2026-02-28"},
		{"2026-12-15", 1, "2027-01-15"},
		{"2026-01-15", -13, "2024-12-15"},
	} {
		if got := AddMonths(day(c.from), c.n); got != day(c.want) {
			t.Errorf("AddMonths(%s, %d) = %s, want %s", c.from, c.n, got, c.want)
		}
	}
}

func TestAge(t *testing.T) {
	for _, c := range []struct {
		birth, today string
		want         int
	}{
		{"1966-11-22", "2026-11-21", 59},
		{"1966-11-22", "2026-11-22", 60},
		{"1964-02-29", "2025-02-27", 60},
		{"1964-02-29", "2025-02-28", 61},
		{"1964-02-29", "2028-02-28", 63},
		{"1964-02-29", "2028-02-29", 64},
		{"2026-11-22", "2026-11-22", 0},
		{"2026-11-23", "2026-11-22", 0},
	} {
		if got := Age(day(c.birth), day(c.today)); got != c.want {
			t.Errorf("Age(%s, %s) = %d, want %d", c.birth, c.today, got, c.want)
		}
	}
}
