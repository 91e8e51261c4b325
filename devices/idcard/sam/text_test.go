package sam

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/civic-station/station/devices"
	"github.com/civic-station/station/station"
)

func withCheck(first17 string) string { return first17 + string(station.CheckDigit(first17)) }

func date(y, m, d int) station.Date {
	return station.Date{Year: y, Month: timeMonth(m), Day: d}
}

// sampleCards are real-looking cards of the four types (the people do not exist).
var sampleCards = []struct {
	name string
	file string
	card devices.IDCard
}{
	{"a resident ID card decodes with ethnicity and dates", "resident", devices.IDCard{
		Type: devices.CardResident, Name: "张伟明", Sex: station.SexMale, EthnicityCode: "01", Ethnicity: "汉",
		BirthDate: date(1985, 3, 17), Address: "北京市朝阳区建国路88号院3号楼2单元501室",
		IDNumber: withCheck("11010519850317013"), Authority: "北京市公安局朝阳分局",
		ValidFrom: date(2015, 6, 1), ValidTo: "2035-06-01",
	}},
	{"a resident ID card valid for ever keeps 长期", "resident-permanent", devices.IDCard{
		Type: devices.CardResident, Name: "阿依古丽·买买提", Sex: station.SexFemale, EthnicityCode: "05", Ethnicity: "维吾尔",
		BirthDate: date(1958, 12, 30), Address: "新疆维吾尔自治区乌鲁木齐市天山区解放南路156号",
		IDNumber: withCheck("65010219581230004"), Authority: "乌鲁木齐市公安局天山区分局",
		ValidFrom: date(2012, 2, 29), ValidTo: "长期",
	}},
	{"a HK/Macau/Taiwan residence permit decodes with pass number and issue count", "permit-j", devices.IDCard{
		Type: devices.CardHKMOTWPermit, Name: "陈家豪", Sex: station.SexMale,
		BirthDate: date(1990, 8, 8), Address: "广东省深圳市福田区福华一路1号大中华国际交易广场",
		IDNumber: withCheck("81000019900808123"), Authority: "深圳市公安局福田分局",
		ValidFrom: date(2019, 9, 1), ValidTo: "2024-09-01", PassNumber: "H12345678", IssueCount: "01",
	}},
	{"a 2017 foreign permanent resident card decodes with English name and nationality", "foreign-2017", devices.IDCard{
		Type: devices.CardForeignPR2017, NameEN: "SMITH, JOHN WILLIAM", Name: "史密斯", Sex: station.SexMale,
		IDNumber: "USA118503120015", Nationality: "USA", BirthDate: date(1985, 3, 12),
		ValidFrom: date(2017, 6, 15), ValidTo: "2027-06-14", Authority: "1100",
	}},
	{"a 2023 foreign permanent resident card joins the two parts of a long English name", "foreign-2023", devices.IDCard{
		Type: devices.CardForeignPR2023, Name: "玛丽亚", NameEN: "GONZALEZ RODRIGUEZ, MARIA FERNANDA DEL CARMEN",
		Sex: station.SexFemale, IssueCount: "00", BirthDate: date(1992, 11, 5),
		IDNumber: withCheck("94472419921105002"), Nationality: "ESP",
		ValidFrom: date(2023, 12, 1), ValidTo: "2033-11-30", PreviousCard: "",
	}},
}

func TestTextBlock(t *testing.T) {
	for _, tt := range sampleCards {
		t.Run(tt.name, func(t *testing.T) {
			block, err := EncodeText(&tt.card)
			if err != nil {
				t.Fatal(err)
			}
			block = golden(t, "text/"+tt.file, block)
			got, err := DecodeText(block)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(*got, tt.card) {
				t.Errorf("decoded\n%+v\nwant\n%+v", *got, tt.card)
			}
		})
	}
}

func TestTextBlockFlagSitsAtByte248(t *testing.T) {
	want := map[string]byte{"resident": ' ', "permit-j": 'J', "foreign-2017": 'I', "foreign-2023": 'Y'}
	for _, tt := range sampleCards {
		flag, ok := want[tt.file]
		if !ok {
			continue
		}
		b, err := EncodeText(&tt.card)
		if err != nil {
			t.Fatal(err)
		}
		if b[248] != flag || b[249] != 0 {
			t.Errorf("%s: flag bytes %02X %02X, want %02X 00", tt.file, b[248], b[249], flag)
		}
	}
}

// put writes s as UCS-2LE at byte off of a copy of block.
func put(block []byte, off int, s string) []byte {
	b := append([]byte(nil), block...)
	for i, r := range []rune(s) {
		b[off+2*i] = byte(r)
		b[off+2*i+1] = byte(r >> 8)
	}
	return b
}

func TestBadTextBlocks(t *testing.T) {
	good, err := EncodeText(&sampleCards[0].card)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		block []byte
	}{
		{"a block of 255 bytes is rejected", good[:255]},
		{"an unknown type flag is rejected", put(good, 248, "Z")},
		{"a sex code outside GB/T 2261.1 is rejected", put(good, 30, "5")},
		{"an ethnicity code outside GB 3304 is rejected", put(good, 32, "57")},
		{"a birth date that does not exist is rejected", put(good, 36, "19850230")},
		{"a valid-to that is neither a date nor 长期 is rejected", put(good, 204, "永久有效")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if c, err := DecodeText(tt.block); !errors.Is(err, ErrMalformed) {
				t.Fatalf("got %+v, %v; want ErrMalformed", c, err)
			}
		})
	}
}

func TestTextBlockPaddingVariants(t *testing.T) {
	good, err := EncodeText(&sampleCards[0].card)
	if err != nil {
		t.Fatal(err)
	}
	nul := append([]byte(nil), good...)
	for i := 220; i < 256; i++ {
		nul[i] = 0
	}
	t.Run("a resident card with NUL-filled reserved bytes and flag decodes", func(t *testing.T) {
		c, err := DecodeText(nul)
		if err != nil || c.Type != devices.CardResident || c.Name != "张伟明" {
			t.Fatalf("got %+v, %v", c, err)
		}
	})
	t.Run("sex code 9 (unspecified) decodes as unknown", func(t *testing.T) {
		c, err := DecodeText(put(good, 30, "9"))
		if err != nil || c.Sex != station.SexUnknown {
			t.Fatalf("got %v, %v", c.Sex, err)
		}
	})
}

func TestEncodeTextRejectsWhatDoesNotFit(t *testing.T) {
	base := sampleCards[0].card
	tests := []struct {
		name   string
		change func(c *devices.IDCard)
	}{
		{"a name of 16 characters does not fit", func(c *devices.IDCard) { c.Name = strings.Repeat("张", 16) }},
		{"a character outside the BMP is not UCS-2", func(c *devices.IDCard) { c.Name = "张\U00020000" }},
		{"an unknown ethnicity is rejected", func(c *devices.IDCard) { c.EthnicityCode, c.Ethnicity = "", "火星" }},
		{"a valid-to in another format is rejected", func(c *devices.IDCard) { c.ValidTo = "2035/06/01" }},
		{"an unknown card type is rejected", func(c *devices.IDCard) { c.Type = "passport" }},
		{"an English name of 47 characters does not fit a 2023 card", func(c *devices.IDCard) {
			c.Type, c.NameEN = devices.CardForeignPR2023, strings.Repeat("A", 47)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := base
			tt.change(&c)
			if _, err := EncodeText(&c); !errors.Is(err, ErrMalformed) {
				t.Fatalf("got %v, want ErrMalformed", err)
			}
		})
	}
}

func TestEthnicityTableIsGB3304(t *testing.T) {
	if len(ethnicities) != 58 {
		t.Fatalf("%d codes, want 56 groups + 97 + 98", len(ethnicities))
	}
	for i := 1; i <= 56; i++ {
		code := string(rune('0'+i/10)) + string(rune('0'+i%10))
		if _, ok := Ethnicity(code); !ok {
			t.Errorf("code %s missing", code)
		}
	}
	spot := map[string]string{"01": "汉", "02": "蒙古", "05": "维吾尔", "36": "毛南", "43": "乌孜别克", "56": "基诺", "97": "其他", "98": "外国血统中国籍人士"}
	for code, name := range spot {
		if got, _ := Ethnicity(code); got != name {
			t.Errorf("%s = %s, want %s", code, got, name)
		}
	}
	if code, ok := EthnicityCode("壮族"); !ok || code != "08" {
		t.Errorf("EthnicityCode(壮族) = %s, %v", code, ok)
	}
}

func timeMonth(m int) time.Month { return time.Month(m) }
