package station

import (
	"strings"
	"testing"
)

func TestCheckIntakeMaterials(t *testing.T) {
	today := Date{Year: 2026, Month: 12, Day: 7}
	list := func(provided ...string) []MaterialCheck {
		out := []MaterialCheck{{Code: "M1", Name: "居民身份证", Required: true}, {Code: "M2", Name: "收入证明", Required: true},
			{Code: "M3", Name: "残疾证", Required: false}}
		for i := range out {
			for _, p := range provided {
				if out[i].Code == p {
					out[i].Provided = true
				}
			}
		}
		return out
	}
	deferral := func(due Date, codes ...string) *Deferral {
		return &Deferral{Materials: codes, Reason: "单位尚未开具收入证明", DueDate: due}
	}
	later := today.AddDays(7)
	tests := []struct {
		name     string
		list     []MaterialCheck
		deferral *Deferral
		want     string // "" for accepted, else a part of the EINVALID message
	}{
		{"every required material provided is accepted", list("M1", "M2"), nil, ""},
		{"an optional material missing does not matter", list("M1", "M2"), nil, ""},
		{"every required material missing is refused, naming them", list(), nil, "以下2项必需材料未收取：居民身份证、收入证明"},
		{"one missing is refused without 容缺", list("M1"), nil, "收入证明"},
		{"容缺 naming the missing material is accepted", list("M1"), deferral(later, "M2"), ""},
		{"容缺 naming every missing material is accepted", list(), deferral(later, "M2", "M1"), ""},
		{"容缺 on a complete checklist is refused", list("M1", "M2"), deferral(later, "M2"), "无需容缺"},
		{"容缺 must name every missing material", list(), deferral(later, "M2"), "未列入：居民身份证"},
		{"容缺 of a provided material is refused", list("M1"), deferral(later, "M1", "M2"), "已收取"},
		{"容缺 of an optional material is refused", list("M1"), deferral(later, "M2", "M3"), "不是必需材料"},
		{"容缺 of another matter's material is refused", list("M1"), deferral(later, "M2", "M9"), "M9"},
		{"容缺 naming a material twice is refused", list("M1"), deferral(later, "M2", "M2"), "重复"},
		{"容缺 without a reason is refused", list("M1"), &Deferral{Materials: []string{"M2"}, Reason: " ", DueDate: later}, "原因"},
		{"容缺 without a due date is refused", list("M1"), deferral(Date{}, "M2"), "请填写补交材料的期限"},
		{"容缺 due today is refused", list("M1"), deferral(today, "M2"), "晚于受理当天"},
		{"容缺 due in the past is refused", list("M1"), deferral(today.AddDays(-1), "M2"), "晚于受理当天"},
		{"容缺 due tomorrow is accepted", list("M1"), deferral(today.AddDays(1), "M2"), ""},
		{"容缺 due in 90 days is accepted", list("M1"), deferral(today.AddDays(MaxDeferralDays), "M2"), ""},
		{"容缺 due in 91 days is refused", list("M1"), deferral(today.AddDays(MaxDeferralDays+1), "M2"), "最长为受理后90天"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckIntakeMaterials(tt.list, tt.deferral, today)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.want != "" && (ErrorCode(err) != EINVALID || !strings.Contains(ErrorMessage(err), tt.want)):
				t.Fatalf("got %v, want EINVALID with %q", err, tt.want)
			}
		})
	}
}

func TestDeferralOutstandingAndOverdue(t *testing.T) {
	due := Date{Year: 2026, Month: 12, Day: 14}
	d := &Deferral{Materials: []string{"M1", "M2"}, Reason: "证件在补办中", DueDate: due}
	list := []MaterialCheck{{Code: "M1", Name: "居民身份证", Required: true, Provided: true}, {Code: "M2", Name: "收入证明", Required: true}}
	if out := d.Outstanding(list); len(out) != 1 || out[0].Code != "M2" {
		t.Fatalf("outstanding: %+v", out)
	}
	if d.Overdue(list, due) {
		t.Fatal("overdue on the due date itself")
	}
	if !d.Overdue(list, due.AddDays(1)) {
		t.Fatal("not overdue the day after")
	}
	list[1].Provided = true
	if d.Overdue(list, due.AddDays(30)) || len(d.Outstanding(list)) != 0 {
		t.Fatal("overdue although everything was brought")
	}
	var none *Deferral
	if none.Overdue(list, due) || none.Outstanding(list) != nil {
		t.Fatal("no deferral is never overdue")
	}
}
