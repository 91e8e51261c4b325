package cert

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/civic-station/station/station"
)

// validTemplate returns a small valid template that tests change one thing in.
func validTemplate() Template {
	return Template{
		Code: "TS-001", Name: "测试证明", Category: CategoryOther, Purpose: "测试用。",
		Fields: []Field{
			{Key: "name", Label: "姓名", Source: SourceResident},
			{Key: "id_masked", Label: "证件号码", Source: SourceResident},
			{Key: "station_community", Label: "社区", Source: SourceStation},
			{Key: "purpose", Label: "用途", Source: SourceInput, MaxLen: 10},
		},
		ValidityDays: 30,
		Layout: Layout{Title: "测试证明", Body: "兹证明{{name}}（{{id_masked}}）。\n用于{{purpose}}。",
			Seal: "{{station_community}}居民委员会（盖章）", Footer: "编号{{serial}}，{{issue_date}}开具，{{validity_days}}日内有效，至{{valid_until}}。"},
		Version: 1, Status: StatusActive,
	}
}

func TestValidTemplatePasses(t *testing.T) {
	tpl := validTemplate()
	if err := tpl.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestTemplateValidationNamesEachProblem(t *testing.T) {
	cases := []struct {
		name   string
		change func(*Template)
		want   string
	}{
		{"an unknown placeholder", func(t *Template) { t.Layout.Body += "{{nmae}}" }, "正文中的占位符{{nmae}}未在字段中声明"},
		{"a placeholder with spaces", func(t *Template) { t.Layout.Body = "{{ name }}{{id_masked}}{{purpose}}" }, "占位符“{{ name }}”格式错误"},
		{"an unclosed placeholder", func(t *Template) { t.Layout.Title = "证明{{name" }, "标题：“{{”没有对应的“}}”"},
		{"a stray closing brace pair", func(t *Template) { t.Layout.Title = "证明}}" }, "多余的“}}”"},
		{"an unknown rule type", func(t *Template) { t.Rules = []Rule{{Type: "age_minimum", Years: 60}} }, "第1条前置条件（age_minimum）：未知的条件类型“age_minimum”"},
		{"a rule without its parameter", func(t *Template) { t.Rules = []Rule{{Type: RuleRegisteredMonthsMin}} }, "缺少参数months"},
		{"a rule with another type's parameter", func(t *Template) { t.Rules = []Rule{{Type: RuleRegisteredMonthsMin, Months: 6, Years: 1}} }, "不应有参数years"},
		{"a rule parameter out of range", func(t *Template) { t.Rules = []Rule{{Type: RuleNoRepeatDays, Days: -1}} }, "days应为1至3650"},
		{"a rule without a type", func(t *Template) { t.Rules = []Rule{{Months: 6}} }, "缺少类型type"},
		{"a sex rule with an unknown sex", func(t *Template) { t.Rules = []Rule{{Type: RuleSex, Sex: "f"}} }, "sex应为male或female"},
		{"a field_present rule on an unknown item", func(t *Template) { t.Rules = []Rule{{Type: RuleFieldPresent, Field: "phone"}} }, "field“phone”不是居民信息项"},
		{"an unknown category", func(t *Template) { t.Category = "civil" }, "分类“civil”无效"},
		{"a missing title", func(t *Template) { t.Layout.Title = " " }, "版式缺少标题"},
		{"a missing body", func(t *Template) { t.Layout.Body = "" }, "版式缺少正文"},
		{"a missing seal", func(t *Template) { t.Layout.Seal = "" }, "版式缺少落款"},
		{"a seal of two lines", func(t *Template) { t.Layout.Seal += "\n{{issue_date}}" }, "版式落款应为一行"},
		{"a malformed code", func(t *Template) { t.Code = "ms 1" }, "编码应由大写字母"},
		{"a missing name", func(t *Template) { t.Name = "" }, "缺少名称"},
		{"version 0", func(t *Template) { t.Version = 0 }, "版本号应从1开始"},
		{"an unknown status", func(t *Template) { t.Status = "paused" }, "状态“paused”无效"},
		{"a withdrawal without a reason", func(t *Template) { t.Status = StatusWithdrawn }, "缺少停用原因"},
		{"an active template with a withdrawal reason", func(t *Template) { t.WithdrawnReason = "x" }, "在用的模板不应有停用原因"},
		{"department verification without a department", func(t *Template) { t.NeedsDepartment = true }, "缺少核实部门"},
		{"a department without verification", func(t *Template) { t.Department = "街道" }, "不需要部门核实时不应填写核实部门"},
		{"a negative validity", func(t *Template) { t.ValidityDays = -1 }, "有效天数应为0至3650"},
		{"valid_until without a validity period", func(t *Template) { t.ValidityDays = 0 }, "使用了{{validity_days}}，但模板没有设置有效天数"},
		{"an input field without max_len", func(t *Template) { t.Fields[3].MaxLen = 0 }, "第4个字段（purpose）：填写项应设置最大长度max_len"},
		{"a resident field the record does not have", func(t *Template) { t.Fields[0].Key = "nickname"; t.Layout.Body += "{{nickname}}" }, "第1个字段（nickname）：居民信息中没有该项"},
		{"a station field the station does not have", func(t *Template) { t.Fields[2].Key = "station_fax"; t.Layout.Body += "{{station_fax}}" }, "服务站信息中没有该项"},
		{"an input field named like a resident item", func(t *Template) { t.Fields[3].Key = "address" }, "与居民或服务站信息的字段名冲突"},
		{"a declared issue key", func(t *Template) {
			t.Fields = append(t.Fields, Field{Key: "serial", Label: "编号", Source: SourceStation})
		}, "serial由系统提供"},
		{"a duplicate field", func(t *Template) { t.Fields = append(t.Fields, t.Fields[0]) }, "第5个字段（name）：字段名重复"},
		{"an unknown source", func(t *Template) { t.Fields[3].Source = "typed" }, "来源“typed”无效"},
		{"max_len on a resident field", func(t *Template) { t.Fields[0].MaxLen = 5 }, "只有填写项（input）可以设置max_len"},
		{"a declared field the layout does not use", func(t *Template) { t.Layout.Body = "兹证明{{name}}（{{id_masked}}）。" }, "字段purpose已声明但版式中没有使用"},
		{"a field without a label", func(t *Template) { t.Fields[1].Label = "" }, "缺少第2个字段（id_masked）的标签"},
		{"a bad field key", func(t *Template) { t.Fields[3].Key = "Purpose"; t.Layout.Body += "{{Purpose}}" }, "字段名应为小写字母开头"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tpl := validTemplate()
			c.change(&tpl)
			err := tpl.Validate()
			if err == nil {
				t.Fatal("accepted")
			}
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("error %T, want *ValidationError", err)
			}
			if station.ErrorCode(err) != station.EINVALID {
				t.Errorf("code %s, want EINVALID", station.ErrorCode(err))
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q lacks %q", err, c.want)
			}
			for _, p := range ve.Problems {
				if p.Code != tpl.Code && !(tpl.Code == "" && p.Code == "（无编码）") {
					t.Errorf("problem %q names template %q, want %q", p.Message, p.Code, tpl.Code)
				}
			}
		})
	}
}

func TestValidationReturnsAllProblems(t *testing.T) {
	tpl := validTemplate()
	tpl.Category = "civil"
	tpl.Layout.Title = ""
	tpl.Rules = []Rule{{Type: "bogus"}}
	err := tpl.Validate()
	var ve *ValidationError
	if !errors.As(err, &ve) || len(ve.Problems) != 3 {
		t.Fatalf("want 3 problems, got %v", err)
	}
}

func libraryJSONOf(t *testing.T, templates ...any) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{"version": 1, "templates": templates})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseRejectsWithEveryProblemNamed(t *testing.T) {
	good := validTemplate()
	dup := validTemplate()
	other := validTemplate()
	other.Code, other.Category = "TS-002", "civil"
	raw := libraryJSONOf(t, good, dup, other, json.RawMessage(`{"code":"TS-003","nmae":"x"}`))
	_, err := Parse(raw)
	if err == nil {
		t.Fatal("accepted")
	}
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("error %T", err)
	}
	msg := err.Error()
	for _, want := range []string{"证明模板TS-001：编码重复", "证明模板TS-002：分类“civil”无效", "证明模板TS-003：JSON格式错误", `unknown field "nmae"`} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
}

func TestParseRejectsBadLibraries(t *testing.T) {
	for name, c := range map[string]struct {
		data string
		want string
	}{
		"not JSON":             {`{"version":1,`, "模板库JSON格式错误"},
		"trailing data":        {`{"version":1,"templates":[]} {}`, "trailing data"},
		"no templates":         {`{"version":1,"templates":[]}`, "模板库中没有模板"},
		"version 0":            {`{"version":0,"templates":[]}`, "模板库版本号应从1开始"},
		"unknown library key":  {`{"version":1,"templates":[],"extra":1}`, `unknown field "extra"`},
		"a template not named": {`{"version":1,"templates":[{"nmae":"x"}]}`, "证明模板（第1个）：JSON格式错误"},
		"a rule with an unknown parameter": {`{"version":1,"templates":[{"code":"TS-009","rules":[{"type":"age_min","year":60}]}]}`,
			`证明模板TS-009：JSON格式错误：json: unknown field "year"`},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Parse([]byte(c.data))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want one containing %q", err, c.want)
			}
		})
	}
	if _, err := Parse(make([]byte, MaxLibrarySize+1)); station.ErrorCode(err) != station.ETOOLARGE {
		t.Errorf("oversized library: %v", err)
	}
}

func TestLibraryJSONRoundTrip(t *testing.T) {
	lib, err := Parse(libraryJSONOf(t, validTemplate()))
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(lib)
	if err != nil {
		t.Fatal(err)
	}
	var back Library
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	got, _ := back.Get("TS-001")
	want := validTemplate()
	if back.Version != 1 || back.Len() != 1 || !templatesEqual(got, want) {
		t.Errorf("round trip changed the library: %+v", got)
	}
}

func templatesEqual(a, b Template) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

func TestUpsertRequiresAHigherVersion(t *testing.T) {
	var lib Library
	tpl := validTemplate()
	if err := lib.Upsert(tpl); err != nil {
		t.Fatal(err)
	}
	same := validTemplate()
	same.Name = "改名"
	if err := lib.Upsert(same); station.ErrorCode(err) != station.ECONFLICT || !strings.Contains(err.Error(), "版本1不高于已有的版本1") {
		t.Errorf("same version: %v", err)
	}
	next := same
	next.Version = 2
	if err := lib.Upsert(next); err != nil {
		t.Fatal(err)
	}
	if got, _ := lib.Get("TS-001"); got.Name != "改名" || got.Version != 2 {
		t.Errorf("got %s v%d", got.Name, got.Version)
	}
	older := validTemplate()
	if err := lib.Upsert(older); station.ErrorCode(err) != station.ECONFLICT {
		t.Errorf("older version: %v", err)
	}
	bad := validTemplate()
	bad.Version, bad.Layout.Title = 3, ""
	if err := lib.Upsert(bad); station.ErrorCode(err) != station.EINVALID {
		t.Errorf("invalid template: %v", err)
	}
	w := next.Withdraw("依据民发〔2020〕20号停止开具。")
	if err := lib.Upsert(w); err != nil {
		t.Fatal(err)
	}
	if got, _ := lib.Get("TS-001"); got.Active() || got.Version != 3 || len(lib.Active()) != 0 || len(lib.Templates()) != 1 {
		t.Errorf("withdrawal not applied: %+v", got)
	}
}

func TestLibraryDoesNotShareSlicesWithCallers(t *testing.T) {
	var lib Library
	tpl := validTemplate()
	if err := lib.Upsert(tpl); err != nil {
		t.Fatal(err)
	}
	tpl.Fields[0].Label = "changed"
	got, _ := lib.Get("TS-001")
	got.Fields[1].Label = "changed too"
	again, _ := lib.Get("TS-001")
	if again.Fields[0].Label != "姓名" || again.Fields[1].Label != "证件号码" {
		t.Errorf("library template changed through a caller's slice: %+v", again.Fields)
	}
}

func TestMerge(t *testing.T) {
	base := func() Library {
		var l Library
		l.Version = 1
		if err := l.Upsert(validTemplate()); err != nil {
			t.Fatal(err)
		}
		return l
	}
	t.Run("newer templates and new codes are taken", func(t *testing.T) {
		l := base()
		o := Library{Version: 2}
		v2 := validTemplate()
		v2.Version, v2.Name = 2, "新名称"
		other := validTemplate()
		other.Code = "TS-002"
		for _, x := range []Template{v2, other} {
			if err := o.Upsert(x); err != nil {
				t.Fatal(err)
			}
		}
		if err := l.Merge(o); err != nil {
			t.Fatal(err)
		}
		got, _ := l.Get("TS-001")
		if l.Version != 2 || l.Len() != 2 || got.Name != "新名称" {
			t.Errorf("merged: v%d len %d name %s", l.Version, l.Len(), got.Name)
		}
	})
	t.Run("the same version with the same content is a no-op", func(t *testing.T) {
		l := base()
		if err := l.Merge(base()); err != nil {
			t.Error(err)
		}
	})
	t.Run("the same version with other content is a conflict and changes nothing", func(t *testing.T) {
		l := base()
		o := Library{Version: 2}
		changed := validTemplate()
		changed.Name = "另一个"
		newer := validTemplate()
		newer.Code = "TS-003"
		o.Upsert(changed)
		o.Upsert(newer)
		err := l.Merge(o)
		if station.ErrorCode(err) != station.ECONFLICT || !strings.Contains(err.Error(), "TS-001（版本1内容不同）") {
			t.Fatalf("error %v", err)
		}
		if _, ok := l.Get("TS-003"); ok || l.Version != 1 {
			t.Error("a failed merge changed the library")
		}
	})
	t.Run("an older template is a conflict", func(t *testing.T) {
		l := base()
		v2 := validTemplate()
		v2.Version = 2
		l.Upsert(v2)
		if err := l.Merge(base()); station.ErrorCode(err) != station.ECONFLICT {
			t.Errorf("error %v", err)
		}
	})
	t.Run("an older library is a conflict", func(t *testing.T) {
		l := base()
		l.Version = 5
		o := base()
		o.Version = 4
		if err := l.Merge(o); station.ErrorCode(err) != station.ECONFLICT {
			t.Errorf("error %v", err)
		}
	})
}
