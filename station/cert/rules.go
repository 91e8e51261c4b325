package cert

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/civic-station/station/station"
)

// RuleType names a precondition.
type RuleType string

// Rule types. The parameter each one takes is in its comment; no other parameter is allowed.
const (
	RuleRegisteredMonthsMin RuleType = "registered_months_min" // months: registered in this community for at least N months
	RuleAgeMin              RuleType = "age_min"               // years: at least N full years old (周岁)
	RuleAgeMax              RuleType = "age_max"               // years: at most N full years old
	RuleHasTag              RuleType = "has_tag"               // tag: the resident's record holds the tag (e.g. 低保)
	RuleLacksTag            RuleType = "lacks_tag"             // tag: the resident's record does not hold the tag
	RuleNoRepeatDays        RuleType = "no_repeat_days"        // days: no certificate of this type issued to the resident in the last N days
	RuleCardVerified        RuleType = "card_verified"         // (none): the identity was read from the ID card, not typed
	RuleSex                 RuleType = "sex"                   // sex: male or female
	RuleFieldPresent        RuleType = "field_present"         // field: the resident's record has this item (a ResidentKeys key)
)

// Rule is a declarative precondition. Type says which; exactly the parameter its type takes is set.
// Advice, when set, replaces the default "what to do instead" text shown when the rule fails.
type Rule struct {
	Type   RuleType    `json:"type"`
	Months int         `json:"months,omitempty"`
	Years  int         `json:"years,omitempty"`
	Days   int         `json:"days,omitempty"`
	Tag    string      `json:"tag,omitempty"`
	Sex    station.Sex `json:"sex,omitempty"`
	Field  string      `json:"field,omitempty"`
	Advice string      `json:"advice,omitempty"`
}

// problem returns a Chinese description of what is wrong with the rule, or "".
func (r Rule) problem() string {
	type params struct{ months, years, days, tag, sex, field bool }
	var want params
	switch r.Type {
	case RuleRegisteredMonthsMin:
		want.months = true
	case RuleAgeMin, RuleAgeMax:
		want.years = true
	case RuleHasTag, RuleLacksTag:
		want.tag = true
	case RuleNoRepeatDays:
		want.days = true
	case RuleCardVerified:
	case RuleSex:
		want.sex = true
	case RuleFieldPresent:
		want.field = true
	case "":
		return "缺少类型type"
	default:
		return fmt.Sprintf("未知的条件类型“%s”", r.Type)
	}
	var bad []string
	check := func(name string, wanted, set bool) {
		switch {
		case wanted && !set:
			bad = append(bad, "缺少参数"+name)
		case !wanted && set:
			bad = append(bad, "不应有参数"+name)
		}
	}
	check("months", want.months, r.Months != 0)
	check("years", want.years, r.Years != 0)
	check("days", want.days, r.Days != 0)
	check("tag", want.tag, r.Tag != "")
	check("sex", want.sex, r.Sex != "")
	check("field", want.field, r.Field != "")
	if len(bad) > 0 {
		return strings.Join(bad, "，")
	}
	switch {
	case want.months && (r.Months < 1 || r.Months > 600):
		return "months应为1至600"
	case want.years && (r.Years < 1 || r.Years > 150):
		return "years应为1至150"
	case want.days && (r.Days < 1 || r.Days > MaxValidity):
		return fmt.Sprintf("days应为1至%d", MaxValidity)
	case want.tag && (strings.TrimSpace(r.Tag) == "" || utf8.RuneCountInString(r.Tag) > maxLabelLen || !utf8.ValidString(r.Tag)):
		return fmt.Sprintf("tag不能为空且不超过%d个字符", maxLabelLen)
	case want.sex && r.Sex != station.SexMale && r.Sex != station.SexFemale:
		return fmt.Sprintf("sex应为male或female，不是“%s”", r.Sex)
	case want.field:
		if _, ok := ResidentKeys[r.Field]; !ok || r.Field == "age" {
			return fmt.Sprintf("field“%s”不是居民信息项，可用的有%s", r.Field, keyList(ResidentKeys))
		}
	}
	if !utf8.ValidString(r.Advice) || utf8.RuneCountInString(r.Advice) > maxReasonLen {
		return fmt.Sprintf("advice不能超过%d个字符", maxReasonLen)
	}
	return ""
}

// Subject is what the preconditions know about a resident.
type Subject struct {
	Name            string
	IDMasked        string      // e.g. 2201**********123X; the plain number never reaches this package
	Sex             station.Sex // SexUnknown or "" when not recorded
	BirthDate       station.Date
	Ethnicity       string
	Address         string
	Community       string
	RegisteredSince station.Date // registered as living in this station's community since; zero when unknown
	Tags            []string
	CardVerified    bool // the identity was read from the ID card at this visit, not typed
}

// SubjectOf builds a Subject from a resident record plus what the record does not hold: the date the
// resident was registered in this community (zero when unknown) and whether the card was read.
func SubjectOf(r station.Resident, registeredSince station.Date, cardVerified bool) Subject {
	return Subject{
		Name: r.Name, IDMasked: r.IDNumber.Masked, Sex: r.Sex, BirthDate: r.BirthDate, Ethnicity: r.Ethnicity,
		Address: r.Address, Community: r.Community, RegisteredSince: registeredSince,
		Tags: slices.Clone(r.Tags), CardVerified: cardVerified,
	}
}

// Issued is a certificate already issued to the subject. History passed to Check lists the certificates
// that count: issued and not voided (a voided or failed print is not a repeat).
type Issued struct {
	Code string       // template code
	Date station.Date // issue date
}

// Outcome is the result of one precondition.
type Outcome string

// Outcomes.
const (
	OutcomePass      Outcome = "pass"
	OutcomeFail      Outcome = "fail"
	OutcomeMissing   Outcome = "missing_data" // the record lacks the data the rule needs; staff must check it
	OutcomeWithdrawn Outcome = "withdrawn"    // the certificate type is withdrawn (not a rule; reported first)
)

// Check is the outcome of one precondition. For anything but a pass, Reason says in plain Chinese why, and
// Advice what to do instead.
type Check struct {
	Rule    Rule    `json:"rule"`
	Outcome Outcome `json:"outcome"`
	Reason  string  `json:"reason,omitempty"`
	Advice  string  `json:"advice,omitempty"`
}

// Text returns the reason followed by the advice.
func (c Check) Text() string { return c.Reason + c.Advice }

// Result is the answer to "may this resident get this certificate today?".
type Result struct {
	Code          string  `json:"code"`
	Allowed       bool    `json:"allowed"`
	NeedsApproval bool    `json:"needs_approval"`       // allowed, but issuing starts an application Department must approve
	Department    string  `json:"department,omitempty"` // who approves
	Checks        []Check `json:"checks"`               // one per rule, in template order (a withdrawal comes first)
}

// Failures returns the checks that did not pass.
func (r Result) Failures() []Check {
	var f []Check
	for _, c := range r.Checks {
		if c.Outcome != OutcomePass {
			f = append(f, c)
		}
	}
	return f
}

// Message returns the reasons and advice of every failed check, one per line ("" when allowed).
func (r Result) Message() string {
	var lines []string
	for _, c := range r.Failures() {
		lines = append(lines, c.Text())
	}
	return strings.Join(lines, "\n")
}

// Check evaluates every precondition of t for subject s on the day today (a date in China time), given the
// certificates already issued to s. Every rule is evaluated, so the resident hears every reason at once.
// A withdrawn template is never allowed.
func (t *Template) Check(s Subject, history []Issued, today station.Date) Result {
	res := Result{Code: t.Code, Allowed: true, NeedsApproval: t.NeedsDepartment, Department: t.Department}
	if t.Status != StatusActive {
		res.Allowed = false
		res.Checks = append(res.Checks, Check{Outcome: OutcomeWithdrawn,
			Reason: fmt.Sprintf("“%s”已停止开具。%s", t.Name, t.WithdrawnReason),
			Advice: "请向要求您提供该证明的单位说明情况，或到柜台咨询其他办理方式。"})
	}
	for _, r := range t.Rules {
		c := r.eval(t.Code, s, history, today)
		c.Rule = r
		if c.Outcome != OutcomePass {
			res.Allowed = false
			if r.Advice != "" {
				c.Advice = r.Advice
			}
		}
		res.Checks = append(res.Checks, c)
	}
	return res
}

const adviceCheckRecord = "请到柜台核实登记信息。"

func (r Rule) eval(code string, s Subject, history []Issued, today station.Date) Check {
	pass := Check{Outcome: OutcomePass}
	fail := func(advice, format string, args ...any) Check {
		return Check{Outcome: OutcomeFail, Reason: fmt.Sprintf(format, args...), Advice: advice}
	}
	missing := func(what string) Check {
		return Check{Outcome: OutcomeMissing, Reason: "系统中没有您的" + what + "，无法确认是否符合条件。", Advice: adviceCheckRecord}
	}
	switch r.Type {
	case RuleRegisteredMonthsMin:
		if s.RegisteredSince.IsZero() {
			return missing("本社区居住登记日期")
		}
		due := AddMonths(s.RegisteredSince, r.Months)
		if today.Before(due) {
			return fail(fmt.Sprintf("如实际居住已满%d个月，请携带租房合同或房产证到柜台办理。", r.Months),
				"您在本社区登记居住未满%d个月（登记日期%s，%s起满%d个月）。", r.Months,
				FormatDate(s.RegisteredSince), FormatDate(due), r.Months)
		}
	case RuleAgeMin:
		if s.BirthDate.IsZero() {
			return missing("出生日期")
		}
		if due := AddMonths(s.BirthDate, 12*r.Years); today.Before(due) {
			return fail(fmt.Sprintf("该证明为年满%d周岁的居民开具，如有疑问请到柜台咨询。", r.Years),
				"您未满%d周岁（出生日期%s，%s起年满%d周岁）。", r.Years, FormatDate(s.BirthDate), FormatDate(due), r.Years)
		}
	case RuleAgeMax:
		if s.BirthDate.IsZero() {
			return missing("出生日期")
		}
		if over := AddMonths(s.BirthDate, 12*(r.Years+1)); !today.Before(over) {
			return fail("如有疑问请到柜台咨询。",
				"该证明为%d周岁及以下的居民开具，您已年满%d周岁（出生日期%s）。", r.Years, Age(s.BirthDate, today), FormatDate(s.BirthDate))
		}
	case RuleHasTag:
		if !slices.Contains(s.Tags, r.Tag) {
			return fail("如您已享受相关待遇，请携带相关证件到柜台核实；尚未办理的，可向工作人员咨询申请条件。",
				"您的登记信息中没有“%s”标识。", r.Tag)
		}
	case RuleLacksTag:
		if slices.Contains(s.Tags, r.Tag) {
			return fail("如登记信息有误，请到柜台核实。", "您的登记信息中有“%s”标识，不能开具此证明。", r.Tag)
		}
	case RuleNoRepeatDays:
		var last station.Date
		for _, h := range history {
			if h.Code == code && (last.IsZero() || h.Date.After(last)) {
				last = h.Date
			}
		}
		if !last.IsZero() {
			if next := last.AddDays(r.Days); today.Before(next) {
				return fail("如原证明遗失或内容有误，请到柜台由工作人员办理补打。",
					"您已于%s开具过此证明，%d天内不能重复开具（%s起可再次开具）。", FormatDate(last), r.Days, FormatDate(next))
			}
		}
	case RuleCardVerified:
		if !s.CardVerified {
			return fail("请在读卡区放置本人身份证后重新办理，或到柜台由工作人员核验身份。", "此证明需要通过身份证读卡核验身份，您的身份信息是手工录入的。")
		}
	case RuleSex:
		switch s.Sex {
		case station.SexMale, station.SexFemale:
			if s.Sex != r.Sex {
				return fail("如登记的性别有误，请到柜台核实。", "此证明仅为%s性居民开具。", sexLabel(r.Sex))
			}
		default:
			return missing("性别")
		}
	case RuleFieldPresent:
		if strings.TrimSpace(residentValue(r.Field, s, today)) == "" {
			return fail("请携带相关证件到柜台补充登记信息后再办理。", "您的登记信息中缺少%s。", ResidentKeys[r.Field])
		}
	default: // Validate rejects unknown rules; a rule that bypassed it never passes.
		return Check{Outcome: OutcomeFail, Reason: "此证明的开具条件配置有误。", Advice: "请到柜台办理，并请工作人员联系管理员。"}
	}
	return pass
}

// AddMonths returns the date n calendar months after d. When the target month has no such day (31 August
// plus 6 months), the result is the last day of that month, as 民法典 art. 202 counts periods: so 29
// February plus 12 months is 28 February, and a person born on 29 February reaches a full year of age
// (周岁) on 28 February of a common year.
func AddMonths(d station.Date, n int) station.Date {
	m := int(d.Month) - 1 + n
	y := d.Year + m/12
	m %= 12
	if m < 0 {
		m += 12
		y--
	}
	month := time.Month(m + 1)
	last := time.Date(y, month+1, 0, 0, 0, 0, 0, time.UTC).Day()
	return station.Date{Year: y, Month: month, Day: min(d.Day, last)}
}

// Age returns the full years (周岁) of a person born on birth, on the day today (0 before the first
// birthday; AddMonths decides 29 February birthdays).
func Age(birth, today station.Date) int {
	if birth.IsZero() || today.Before(birth) {
		return 0
	}
	n := today.Year - birth.Year
	if today.Before(AddMonths(birth, 12*n)) {
		n--
	}
	return n
}

// FormatDate formats a date the way certificates print it: 2026年8月1日.
func FormatDate(d station.Date) string {
	if d.IsZero() {
		return ""
	}
	return fmt.Sprintf("%d年%d月%d日", d.Year, d.Month, d.Day)
}

func sexLabel(s station.Sex) string {
	switch s {
	case station.SexMale:
		return "男"
	case station.SexFemale:
		return "女"
	}
	return ""
}

// residentValue returns the printable value of a resident key for s, "" when not recorded.
func residentValue(key string, s Subject, today station.Date) string {
	switch key {
	case "name":
		return s.Name
	case "id_masked":
		return s.IDMasked
	case "sex":
		return sexLabel(s.Sex)
	case "birth_date":
		return FormatDate(s.BirthDate)
	case "age":
		if s.BirthDate.IsZero() || today.IsZero() {
			return ""
		}
		return fmt.Sprint(Age(s.BirthDate, today))
	case "ethnicity":
		return s.Ethnicity
	case "address":
		return s.Address
	case "community":
		return s.Community
	}
	return ""
}
