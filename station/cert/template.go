package cert

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"
)

// Status says whether a certificate type may be issued.
type Status string

// Template statuses.
const (
	StatusActive    Status = "active"
	StatusWithdrawn Status = "withdrawn" // withdrawn centrally (e.g. by 民发〔2020〕20号); kept for history and verification
)

// Source says where the value of a template field comes from.
type Source string

// Field sources.
const (
	SourceResident Source = "resident" // the resident's record (Subject); the key must be one of ResidentKeys
	SourceStation  Source = "station"  // the issuing station (StationInfo); the key must be one of StationKeys
	SourceInput    Source = "input"    // typed by staff or the resident at issue time (用途, 前往单位…)
)

// ResidentKeys are the field keys a resident-sourced field may use, with their Chinese labels.
var ResidentKeys = map[string]string{
	"name":       "姓名",
	"id_masked":  "证件号码（部分隐藏）",
	"sex":        "性别",
	"birth_date": "出生日期",
	"age":        "年龄",
	"ethnicity":  "民族",
	"address":    "居住地址",
	"community":  "所在社区",
}

// StationKeys are the field keys a station-sourced field may use, with their Chinese labels.
var StationKeys = map[string]string{
	"station_name":      "服务站名称",
	"station_community": "服务站所在社区",
	"station_address":   "服务站地址",
	"station_phone":     "服务站电话",
}

// IssueKeys are placeholders every template may use without declaring a field: the issuer supplies serial
// and issue_date, valid_until is derived from issue_date and ValidityDays, and Fill itself supplies
// validity_days. valid_until and validity_days are only allowed when ValidityDays > 0.
var IssueKeys = map[string]string{
	"serial":        "证明编号",
	"issue_date":    "开具日期",
	"valid_until":   "有效期至",
	"validity_days": "有效天数",
}

// Limits on template data. They keep a template printable on one A4 page and its code short enough for
// the QR payload.
const (
	MaxInputLen    = 500  // the largest max_len an input field may declare, in characters
	MaxValidity    = 3650 // the longest validity period, in days
	maxCodeLen     = 16
	maxNameLen     = 40
	maxLabelLen    = 20
	maxLayoutLen   = 4000 // characters in any one layout text
	maxReasonLen   = 500
	maxPurposeLen  = 500
	maxDepartment  = 60
	maxFieldsCount = 40
	maxRulesCount  = 20
)

var (
	codePattern = regexp.MustCompile(`^[A-Z][A-Z0-9]*(-[A-Z0-9]+)*$`)
	keyPattern  = regexp.MustCompile(`^[a-z][a-z0-9_]{0,31}$`)
)

// Field is one piece of data a certificate needs.
type Field struct {
	Key      string `json:"key"`                // placeholder name used in the layout: {{key}}
	Label    string `json:"label"`              // Chinese label shown on forms and in error messages
	Source   Source `json:"source"`             // resident, station or input
	MaxLen   int    `json:"max_len,omitempty"`  // input fields only: the longest value, in characters (1..MaxInputLen)
	Optional bool   `json:"optional,omitempty"` // input fields only: an empty value is allowed
	Hint     string `json:"hint,omitempty"`     // input fields only: an example or explanation for the form
}

// Layout is the printed text of a certificate. Every text may hold {{key}} placeholders naming a declared
// field or one of IssueKeys. Body and Footer are split into paragraphs or lines at "\n"; the others are
// one line.
type Layout struct {
	Title     string `json:"title"`               // e.g. 居住证明
	Body      string `json:"body"`                // the certifying text; paragraphs separated by "\n"
	Seal      string `json:"seal"`                // the issuer line the seal covers, e.g. {{station_community}}居民委员会（盖章）; the renderer prints the issue date under it
	Signature string `json:"signature,omitempty"` // the signature line, e.g. 经办人：
	Footer    string `json:"footer,omitempty"`    // small print at the bottom, e.g. validity and verification notes
}

// Template is a certificate type (证明类型): what it certifies, the data it needs, who may get it, and how
// it is printed. Templates are data: see Parse for the JSON form and Validate for the rules they obey.
type Template struct {
	Code            string   `json:"code"`     // stable identifier, e.g. MS-001
	Name            string   `json:"name"`     // e.g. 居住证明
	Category        Category `json:"category"` // one of Categories
	Purpose         string   `json:"purpose"`  // what the certificate is for, shown to the resident before issuing
	Fields          []Field  `json:"fields"`
	Rules           []Rule   `json:"rules"`                      // preconditions; all must pass
	NeedsDepartment bool     `json:"needs_department,omitempty"` // issuing starts an application that Department must approve
	Department      string   `json:"department,omitempty"`
	ValidityDays    int      `json:"validity_days"` // 0 means no stated validity period
	Layout          Layout   `json:"layout"`
	Version         int      `json:"version"` // starts at 1; an update of the same code must have a higher version
	Status          Status   `json:"status"`
	WithdrawnReason string   `json:"withdrawn_reason,omitempty"` // required when withdrawn, e.g. citing 民发〔2020〕20号
}

// Field returns the declared field with the given key.
func (t *Template) Field(key string) (Field, bool) {
	for _, f := range t.Fields {
		if f.Key == key {
			return f, true
		}
	}
	return Field{}, false
}

// Inputs returns the fields typed at issue time, in declaration order (the form the kiosk or counter shows).
func (t *Template) Inputs() []Field {
	var in []Field
	for _, f := range t.Fields {
		if f.Source == SourceInput {
			in = append(in, f)
		}
	}
	return in
}

// Active reports whether the template may be issued.
func (t *Template) Active() bool { return t.Status == StatusActive }

// Withdraw returns a copy of t as its next version, withdrawn for reason. Publish it with Library.Upsert.
func (t Template) Withdraw(reason string) Template {
	w := t.clone()
	w.Version++
	w.Status = StatusWithdrawn
	w.WithdrawnReason = reason
	return w
}

// clone returns a copy of t that shares no slice with it; empty slices become nil so equal templates
// compare equal however they were built.
func (t Template) clone() Template {
	fields, rules := t.Fields, t.Rules
	t.Fields, t.Rules = nil, nil
	if len(fields) > 0 {
		t.Fields = slices.Clone(fields)
	}
	if len(rules) > 0 {
		t.Rules = slices.Clone(rules)
	}
	return t
}

// texts returns the layout's texts with their names for error messages.
func (l *Layout) texts() []struct{ name, text string } {
	return []struct{ name, text string }{
		{"标题", l.Title}, {"正文", l.Body}, {"落款", l.Seal}, {"签名栏", l.Signature}, {"页脚", l.Footer},
	}
}

// Problem is one thing wrong with a template or a library.
type Problem struct {
	Code    string // the template's code ("" for a library-level problem)
	Message string // in Chinese, naming the field or rule at fault
}

// String returns "code：message".
func (p Problem) String() string {
	if p.Code == "" {
		return p.Message
	}
	return "证明模板" + p.Code + "：" + p.Message
}

// ValidationError lists every problem found in a template or a library. Its chain holds a station.Error
// with code EINVALID whose message lists the problems in Chinese.
type ValidationError struct {
	Problems []Problem
}

// Error returns every problem, separated by "；".
func (e *ValidationError) Error() string {
	s := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		s[i] = p.String()
	}
	return strings.Join(s, "；")
}

// Unwrap returns the EINVALID domain error carrying the same text.
func (e *ValidationError) Unwrap() error { return invalid("%s", e.Error()) }

// problems collects problems for one template.
type problems struct {
	code string
	list []Problem
}

func (p *problems) addf(format string, args ...any) {
	p.list = append(p.list, Problem{Code: p.code, Message: fmt.Sprintf(format, args...)})
}

func (p *problems) err() error {
	if len(p.list) == 0 {
		return nil
	}
	return &ValidationError{Problems: p.list}
}

// Validate checks the template and returns a *ValidationError listing every problem, or nil.
func (t *Template) Validate() error {
	p := &problems{code: t.Code}
	t.validate(p)
	return p.err()
}

func (t *Template) validate(p *problems) {
	if p.code == "" {
		p.code = "（无编码）"
	}
	if !codePattern.MatchString(t.Code) || len(t.Code) > maxCodeLen {
		p.addf("编码应由大写字母、数字和连字符组成（如MS-001），不超过%d个字符", maxCodeLen)
	}
	checkText(p, "名称", t.Name, maxNameLen, true)
	if !t.Category.Valid() {
		p.addf("分类“%s”无效，应为%s之一", t.Category, categoryList())
	}
	checkText(p, "用途说明", t.Purpose, maxPurposeLen, true)
	if t.Version < 1 {
		p.addf("版本号应从1开始")
	}
	switch t.Status {
	case StatusActive:
		if t.WithdrawnReason != "" {
			p.addf("在用的模板不应有停用原因")
		}
	case StatusWithdrawn:
		checkText(p, "停用原因", t.WithdrawnReason, maxReasonLen, true)
	default:
		p.addf("状态“%s”无效，应为active或withdrawn", t.Status)
	}
	if t.NeedsDepartment {
		checkText(p, "核实部门", t.Department, maxDepartment, true)
	} else if t.Department != "" {
		p.addf("不需要部门核实时不应填写核实部门")
	}
	if t.ValidityDays < 0 || t.ValidityDays > MaxValidity {
		p.addf("有效天数应为0至%d", MaxValidity)
	}
	t.validateFields(p)
	if len(t.Rules) > maxRulesCount {
		p.addf("前置条件不能超过%d条", maxRulesCount)
	}
	for i, r := range t.Rules {
		if msg := r.problem(); msg != "" {
			p.addf("第%d条前置条件（%s）：%s", i+1, r.Type, msg)
		}
	}
	t.validateLayout(p)
}

func (t *Template) validateFields(p *problems) {
	if len(t.Fields) > maxFieldsCount {
		p.addf("字段不能超过%d个", maxFieldsCount)
	}
	seen := map[string]bool{}
	for i, f := range t.Fields {
		where := fmt.Sprintf("第%d个字段（%s）", i+1, f.Key)
		if !keyPattern.MatchString(f.Key) {
			p.addf("%s：字段名应为小写字母开头的小写字母、数字或下划线，不超过32个字符", where)
		}
		if seen[f.Key] {
			p.addf("%s：字段名重复", where)
		}
		seen[f.Key] = true
		if _, ok := IssueKeys[f.Key]; ok {
			p.addf("%s：%s由系统提供，不需要声明", where, f.Key)
		}
		checkText(p, where+"的标签", f.Label, maxLabelLen, true)
		switch f.Source {
		case SourceResident:
			if _, ok := ResidentKeys[f.Key]; !ok {
				p.addf("%s：居民信息中没有该项，可用的有%s", where, keyList(ResidentKeys))
			}
		case SourceStation:
			if _, ok := StationKeys[f.Key]; !ok {
				p.addf("%s：服务站信息中没有该项，可用的有%s", where, keyList(StationKeys))
			}
		case SourceInput:
			_, r := ResidentKeys[f.Key]
			_, s := StationKeys[f.Key]
			if r || s {
				p.addf("%s：与居民或服务站信息的字段名冲突", where)
			}
			if f.MaxLen < 1 || f.MaxLen > MaxInputLen {
				p.addf("%s：填写项应设置最大长度max_len（1至%d）", where, MaxInputLen)
			}
			checkText(p, where+"的提示", f.Hint, maxPurposeLen, false)
		default:
			p.addf("%s：来源“%s”无效，应为resident、station或input", where, f.Source)
		}
		if f.Source != SourceInput && (f.MaxLen != 0 || f.Optional || f.Hint != "") {
			p.addf("%s：只有填写项（input）可以设置max_len、optional和hint", where)
		}
	}
}

func (t *Template) validateLayout(p *problems) {
	if strings.TrimSpace(t.Layout.Title) == "" {
		p.addf("版式缺少标题")
	}
	if strings.TrimSpace(t.Layout.Body) == "" {
		p.addf("版式缺少正文")
	}
	if strings.TrimSpace(t.Layout.Seal) == "" {
		p.addf("版式缺少落款（盖章处）")
	}
	for _, x := range []struct{ name, text string }{{"标题", t.Layout.Title}, {"落款", t.Layout.Seal}, {"签名栏", t.Layout.Signature}} {
		if strings.Contains(x.text, "\n") {
			p.addf("版式%s应为一行", x.name)
		}
	}
	used := map[string]bool{}
	for _, x := range t.Layout.texts() {
		if utf8.RuneCountInString(x.text) > maxLayoutLen {
			p.addf("版式%s超过%d个字符", x.name, maxLayoutLen)
		}
		if !utf8.ValidString(x.text) {
			p.addf("版式%s不是有效的UTF-8文本", x.name)
			continue
		}
		segs, err := parsePlaceholders(x.text)
		if err != "" {
			p.addf("版式%s：%s", x.name, err)
			continue
		}
		for _, s := range segs {
			if !s.placeholder {
				continue
			}
			used[s.text] = true
			if _, ok := t.Field(s.text); ok {
				continue
			}
			switch s.text {
			case "serial", "issue_date":
			case "valid_until", "validity_days":
				if t.ValidityDays == 0 {
					p.addf("版式%s使用了{{%s}}，但模板没有设置有效天数", x.name, s.text)
				}
			default:
				p.addf("版式%s中的占位符{{%s}}未在字段中声明", x.name, s.text)
			}
		}
	}
	for _, f := range t.Fields {
		if keyPattern.MatchString(f.Key) && !used[f.Key] {
			p.addf("字段%s已声明但版式中没有使用", f.Key)
		}
	}
}

// checkText reports a missing (when required), too long or non-UTF-8 text.
func checkText(p *problems, what, s string, max int, required bool) {
	switch {
	case !utf8.ValidString(s):
		p.addf("%s不是有效的UTF-8文本", what)
	case required && strings.TrimSpace(s) == "":
		p.addf("缺少%s", what)
	case utf8.RuneCountInString(s) > max:
		p.addf("%s不能超过%d个字符", what, max)
	}
}

func categoryList() string {
	s := make([]string, len(Categories))
	for i, c := range Categories {
		s[i] = fmt.Sprintf("%s（%s）", c, c.Label())
	}
	return strings.Join(s, "、")
}

func keyList(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return strings.Join(keys, "、")
}

// segment is a piece of layout text: literal text or a placeholder key.
type segment struct {
	text        string
	placeholder bool
}

// parsePlaceholders splits text into literal and {{key}} segments. It returns a Chinese description of
// the first syntax problem (an unclosed "{{", a stray "}}", a malformed key) or "".
func parsePlaceholders(text string) ([]segment, string) {
	var segs []segment
	rest := text
	for {
		open := strings.Index(rest, "{{")
		if open < 0 {
			if strings.Contains(rest, "}}") {
				return nil, "有多余的“}}”"
			}
			if rest != "" {
				segs = append(segs, segment{text: rest})
			}
			return segs, ""
		}
		if strings.Contains(rest[:open], "}}") {
			return nil, "有多余的“}}”"
		}
		if open > 0 {
			segs = append(segs, segment{text: rest[:open]})
		}
		rest = rest[open+2:]
		end := strings.Index(rest, "}}")
		if end < 0 {
			return nil, "“{{”没有对应的“}}”"
		}
		key := rest[:end]
		if !keyPattern.MatchString(key) {
			return nil, fmt.Sprintf("占位符“{{%s}}”格式错误，应为{{小写字母、数字或下划线}}", key)
		}
		segs = append(segs, segment{text: key, placeholder: true})
		rest = rest[end+2:]
	}
}
