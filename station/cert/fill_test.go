package cert

import (
	"encoding/hex"
	"slices"
	"strings"
	"testing"

	"github.com/civic-station/station/station"
)

func sampleSubject() Subject {
	return Subject{Name: "张三", IDMasked: "2201**********123X", Sex: station.SexMale, BirthDate: day("1940-03-01"),
		Ethnicity: "汉族", Address: "幸福里小区3号楼2单元101室", Community: "幸福里社区", RegisteredSince: day("2020-01-01"),
		CardVerified: true}
}

var sampleStation = StationInfo{Name: "幸福里社区便民服务站", Community: "幸福里社区", Address: "幸福路1号", Phone: "0790-1234567"}

func TestFillSubstitutesEveryPlaceholder(t *testing.T) {
	tpl := validTemplate()
	values := tpl.Values(sampleSubject(), sampleStation, map[string]string{"purpose": "办理居住证", "ignored": "x"},
		Issue{Serial: "ZM-2026-000123", Date: day("2026-11-22")})
	f, err := tpl.Fill(values)
	if err != nil {
		t.Fatal(err)
	}
	want := Filled{Code: "TS-001", Version: 1, Title: "测试证明",
		Body:   []string{"兹证明张三（2201**********123X）。", "用于办理居住证。"},
		Seal:   "幸福里社区居民委员会（盖章）",
		Footer: []string{"编号ZM-2026-000123，2026年11月22日开具，30日内有效，至2026年12月21日。"}}
	if !filledEqual(f, want) {
		t.Errorf("filled\n%+v\nwant\n%+v", f, want)
	}
}

func filledEqual(a, b Filled) bool {
	return a.Code == b.Code && a.Version == b.Version && a.Title == b.Title && slices.Equal(a.Body, b.Body) &&
		a.Seal == b.Seal && a.Signature == b.Signature && slices.Equal(a.Footer, b.Footer)
}

func TestFillNamesEveryMissingValue(t *testing.T) {
	tpl := validTemplate()
	_, err := tpl.Fill(map[string]string{"name": "张三", "purpose": "  "})
	if station.ErrorCode(err) != station.EINVALID {
		t.Fatalf("error %v", err)
	}
	msg := station.ErrorMessage(err)
	for _, want := range []string{"证明TS-001（测试证明）无法生成", "证件号码", "用途", "社区", "开具日期", "证明编号"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q lacks %q", msg, want)
		}
	}
	if strings.Contains(msg, "姓名") {
		t.Errorf("message %q names a value that was given", msg)
	}
}

func TestFillChecksInputValues(t *testing.T) {
	tpl := validTemplate()
	base := tpl.Values(sampleSubject(), sampleStation, nil, Issue{Serial: "S1", Date: day("2026-11-22")})
	with := func(k, v string) map[string]string {
		m := map[string]string{}
		for a, b := range base {
			m[a] = b
		}
		m[k] = v
		return m
	}
	if _, err := tpl.Fill(with("purpose", strings.Repeat("长", 10))); err != nil {
		t.Errorf("a value of exactly max_len characters: %v", err)
	}
	if _, err := tpl.Fill(with("purpose", strings.Repeat("长", 11))); err == nil || !strings.Contains(err.Error(), "用途不能超过10个字") {
		t.Errorf("a value over max_len: %v", err)
	}
	if _, err := tpl.Fill(with("purpose", "第一行\n第二行")); err == nil || !strings.Contains(err.Error(), "用途含有换行或控制字符") {
		t.Errorf("a value with a line break: %v", err)
	}
	if _, err := tpl.Fill(with("name", "张\x00三")); err == nil || !strings.Contains(err.Error(), "姓名含有换行或控制字符") {
		t.Errorf("a resident value with a control character: %v", err)
	}
	if _, err := tpl.Fill(with("purpose", "{{name}}用")); err != nil {
		t.Errorf("braces in a value: %v", err)
	} else if f, _ := tpl.Fill(with("purpose", "{{name}}用")); !strings.Contains(f.Body[1], "{{name}}用") {
		t.Errorf("a value was substituted again: %q", f.Body[1])
	}
	tpl.Fields[3].Optional = true
	if _, err := tpl.Fill(with("purpose", "")); err != nil {
		t.Errorf("an empty optional input: %v", err)
	}
}

func TestValuesFormatsResidentData(t *testing.T) {
	tpl := Template{Fields: []Field{
		{Key: "sex", Source: SourceResident}, {Key: "birth_date", Source: SourceResident}, {Key: "age", Source: SourceResident},
		{Key: "ethnicity", Source: SourceResident}, {Key: "community", Source: SourceResident},
		{Key: "station_name", Source: SourceStation}, {Key: "station_phone", Source: SourceStation}, {Key: "station_address", Source: SourceStation},
	}, ValidityDays: 1}
	v := tpl.Values(sampleSubject(), sampleStation, nil, Issue{Date: day("2026-02-28")})
	want := map[string]string{"sex": "男", "birth_date": "1940年3月1日", "age": "85", "ethnicity": "汉族", "community": "幸福里社区",
		"station_name": "幸福里社区便民服务站", "station_phone": "0790-1234567", "station_address": "幸福路1号",
		"issue_date": "2026年2月28日", "valid_until": "2026年2月28日"}
	for k, w := range want {
		if v[k] != w {
			t.Errorf("%s = %q, want %q", k, v[k], w)
		}
	}
	if _, ok := v["serial"]; ok {
		t.Error("an empty serial became a value")
	}
}

func TestSubjectOfResident(t *testing.T) {
	r := station.Resident{Name: "李四", Sex: station.SexFemale, BirthDate: day("1950-05-05"), Address: "a", Community: "c",
		Tags: []string{"低保"}, IDNumber: station.SealedID{Masked: "1101**********0022", Cipher: "secret"}}
	s := SubjectOf(r, day("2020-01-01"), true)
	if s.IDMasked != "1101**********0022" || s.Name != "李四" || !s.CardVerified || s.RegisteredSince != day("2020-01-01") || s.Tags[0] != "低保" {
		t.Errorf("subject %+v", s)
	}
	r.Tags[0] = "changed"
	if s.Tags[0] != "低保" {
		t.Error("subject shares the resident's tags")
	}
}

// TestContentHashIsStable pins the content hash encoding: certificates printed today must still be
// checkable by later versions of this package.
func TestContentHashIsStable(t *testing.T) {
	f := Filled{Code: "MS-001", Version: 1, Title: "居住证明", Body: []string{"兹证明张三。", "特此证明。"},
		Seal: "幸福里社区居民委员会（盖章）", Signature: "经办人：", Footer: []string{"证明编号：S1"}}
	got := hex.EncodeToString(ContentHash(f, "S1"))
	const want = "4732c9643434c18659e33b2b8d3cf0834b39ad5293056866fef88774f5e8fa86"
	if got != want {
		t.Errorf("ContentHash = %s, want %s (changing the encoding breaks verification of printed certificates)", got, want)
	}
	variants := []Filled{f, f, f, f, f}
	variants[0].Body = []string{"兹证明张三。特此证明。"}         // paragraphs joined
	variants[1].Body = []string{"兹证明张三。", "特此证明。", ""} // an extra empty paragraph
	variants[2].Version = 2
	variants[3].Seal = ""
	variants[4].Footer = []string{"证明编号：S2"}
	seen := map[string]bool{got: true}
	for i, v := range variants {
		h := hex.EncodeToString(ContentHash(v, "S1"))
		if seen[h] {
			t.Errorf("variant %d hashes like another certificate", i)
		}
		seen[h] = true
	}
	if hex.EncodeToString(ContentHash(f, "S2")) == got {
		t.Error("the serial is not covered")
	}
}
