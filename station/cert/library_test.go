package cert

import (
	"encoding/json"
	"strings"
	"testing"
)

// notByCommittees is the first list of 民发〔2020〕20号: certificates residents' committees no longer issue.
var notByCommittees = []string{"亲属关系证明", "居民身份信息证明", "户口登记项目内容变更申请证明", "居民养犬证明",
	"无犯罪记录证明", "社区戒毒社区康复人员情况证明", "人员失踪证明", "婚姻状况证明", "出生证明", "健在证明", "死亡证明",
	"疾病状况证明", "残疾状况证明", "婚育状况证明", "居民就业状况证明", "居民个人档案证明", "居民财产证明", "遗产继承权证明",
	"市场主体住所证明", "证件遗失证明"}

func TestBuiltInLibrary(t *testing.T) {
	lib := BuiltIn()
	if err := lib.Validate(); err != nil {
		t.Fatal(err)
	}
	active := lib.Active()
	if len(active) < 22 {
		t.Errorf("%d active types, want at least 22", len(active))
	}
	perCategory := map[Category]int{}
	departments := 0
	for _, tpl := range active {
		perCategory[tpl.Category]++
		if tpl.NeedsDepartment {
			departments++
		}
		for _, w := range notByCommittees {
			if strings.Contains(tpl.Name, w) {
				t.Errorf("%s %s is active but 民发〔2020〕20号 withdrew %s", tpl.Code, tpl.Name, w)
			}
		}
	}
	for _, c := range Categories {
		if perCategory[c] == 0 {
			t.Errorf("no active type in category %s (%s)", c, c.Label())
		}
	}
	if departments == 0 || departments == len(active) {
		t.Errorf("%d of %d active types need department verification; want some, not all", departments, len(active))
	}
	withdrawn := 0
	for _, tpl := range lib.Templates() {
		if tpl.Active() {
			continue
		}
		withdrawn++
		if !strings.Contains(tpl.WithdrawnReason, "民发〔2020〕20号") {
			t.Errorf("%s is withdrawn without citing 民发〔2020〕20号: %s", tpl.Code, tpl.WithdrawnReason)
		}
		if res := tpl.Check(sampleSubject(), nil, day("2026-11-22")); res.Allowed {
			t.Errorf("withdrawn %s is allowed", tpl.Code)
		}
	}
	if withdrawn == 0 {
		t.Error("no withdrawn type")
	}
	t.Logf("%d active types (%v), %d need a department, %d withdrawn", len(active), perCategory, departments, withdrawn)
}

func TestBuiltInCodesAreUniqueInTheFile(t *testing.T) {
	var raw struct {
		Templates []struct {
			Code string `json:"code"`
		} `json:"templates"`
	}
	if err := json.Unmarshal(builtInJSON, &raw); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, x := range raw.Templates {
		if seen[x.Code] {
			t.Errorf("code %s appears twice", x.Code)
		}
		seen[x.Code] = true
	}
	if len(seen) != BuiltIn().Len() {
		t.Errorf("file has %d codes, library %d", len(seen), BuiltIn().Len())
	}
}

// TestBuiltInTemplatesFill fills every built-in template with a full record and inputs of their maximum
// length, so no template can reach the counter with a placeholder nothing supplies.
func TestBuiltInTemplatesFill(t *testing.T) {
	for _, tpl := range BuiltIn().Templates() {
		t.Run(tpl.Code, func(t *testing.T) {
			input := map[string]string{}
			for _, f := range tpl.Inputs() {
				input[f.Key] = strings.Repeat("填", f.MaxLen)
			}
			values := tpl.Values(sampleSubject(), sampleStation, input, Issue{Serial: "ZM-2026-000001", Date: day("2026-11-22")})
			f, err := tpl.Fill(values)
			if err != nil {
				t.Fatal(err)
			}
			all := append(append([]string{f.Title, f.Seal, f.Signature}, f.Body...), f.Footer...)
			for _, s := range all {
				if strings.Contains(s, "{{") || strings.Contains(s, "}}") {
					t.Errorf("unsubstituted text %q", s)
				}
			}
			if len(f.Body) == 0 || f.Seal == "" || f.Title == "" {
				t.Errorf("filled %+v", f)
			}
		})
	}
}

func TestBuiltInReturnsIndependentCopies(t *testing.T) {
	a := BuiltIn()
	if err := a.Upsert(validTemplate()); err != nil {
		t.Fatal(err)
	}
	if _, ok := BuiltIn().Get("TS-001"); ok {
		t.Error("a change to one BuiltIn library shows in another")
	}
}

func TestCloneIsIndependent(t *testing.T) {
	a := BuiltIn()
	b := a.Clone()
	alias := a
	if err := b.Upsert(validTemplate()); err != nil {
		t.Fatal(err)
	}
	if _, ok := a.Get("TS-001"); ok {
		t.Error("a change to a clone shows in the original")
	}
	if err := alias.Upsert(validTemplate()); err != nil {
		t.Fatal(err)
	}
	if _, ok := a.Get("TS-001"); !ok {
		t.Error("copies of a Library are documented to share templates")
	}
}
