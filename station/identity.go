package station

import (
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// IDType is the kind of identity document a resident presents.
type IDType string

// Identity document types.
const (
	IDResident         IDType = "resident"          // 居民身份证 (GB 11643, 18 characters)
	IDHKMOPermit       IDType = "hkmo_permit"       // 港澳居民居住证 (18 characters, 810000/820000 prefix)
	IDTWPermit         IDType = "tw_permit"         // 台湾居民居住证 (18 characters, 830000 prefix)
	IDHKMOPass         IDType = "hkmo_pass"         // 港澳居民来往内地通行证 (H/M + 8 or 10 digits)
	IDTWPass           IDType = "tw_pass"           // 台湾居民来往大陆通行证 (8 or 10 digits)
	IDForeignPermanent IDType = "foreign_permanent" // 外国人永久居留身份证 (2023: 18 characters starting with 9; 2017: 3 letters + 12 digits)
)

// IDTypes lists every identity document type in display order.
var IDTypes = []IDType{IDResident, IDHKMOPermit, IDTWPermit, IDHKMOPass, IDTWPass, IDForeignPermanent}

// Label returns the Chinese name of the document type.
func (t IDType) Label() string {
	switch t {
	case IDResident:
		return "居民身份证"
	case IDHKMOPermit:
		return "港澳居民居住证"
	case IDTWPermit:
		return "台湾居民居住证"
	case IDHKMOPass:
		return "港澳居民来往内地通行证"
	case IDTWPass:
		return "台湾居民来往大陆通行证"
	case IDForeignPermanent:
		return "外国人永久居留身份证"
	}
	return string(t)
}

// Valid reports whether t is a known document type.
func (t IDType) Valid() bool {
	for _, k := range IDTypes {
		if k == t {
			return true
		}
	}
	return false
}

var checkWeights = [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}

// CheckDigit returns the GB 11643 (ISO 7064 MOD 11-2) check character for the first 17 digits of an
// 18-character identity number. It returns 0 if first17 is not 17 ASCII digits.
func CheckDigit(first17 string) byte {
	if len(first17) != 17 {
		return 0
	}
	sum := 0
	for i := 0; i < 17; i++ {
		c := first17[i]
		if c < '0' || c > '9' {
			return 0
		}
		sum += int(c-'0') * checkWeights[i]
	}
	return "10X98765432"[sum%11]
}

// NormalizeIDNumber turns a typed document number into the form it is checked and stored in: white
// space anywhere is dropped (people type 1101 0119 …), full-width letters and digits (１１０…Ｘ, from a
// Chinese input method) become their ASCII forms, and letters are upper-cased.
func NormalizeIDNumber(number string) string {
	return strings.ToUpper(strings.Map(func(r rune) rune {
		switch {
		case unicode.IsSpace(r):
			return -1
		case r >= 0xFF01 && r <= 0xFF5E: // full-width forms of ASCII ! to ~
			return r - 0xFF01 + '!'
		}
		return r
	}, number))
}

// ValidateIDNumber checks a (normalized) document number against the rules of its type and returns an
// EINVALID error whose message says, in Chinese, what is wrong. The message never repeats the number.
func ValidateIDNumber(t IDType, number string) error {
	switch t {
	case IDResident:
		return validate18(number, "身份证号码", func(prefix string) bool { return residentRegion(prefix) })
	case IDHKMOPermit:
		return validate18(number, "港澳居民居住证号码", func(p string) bool { return p == "810000" || p == "820000" })
	case IDTWPermit:
		return validate18(number, "台湾居民居住证号码", func(p string) bool { return p == "830000" })
	case IDHKMOPass:
		if (len(number) == 9 || len(number) == 11) && (number[0] == 'H' || number[0] == 'M') && digits(number[1:]) {
			return nil
		}
		return Errorf(EINVALID, "港澳居民来往内地通行证号码应为H或M加8位或10位数字")
	case IDTWPass:
		if (len(number) == 8 || len(number) == 10) && digits(number) {
			return nil
		}
		return Errorf(EINVALID, "台湾居民来往大陆通行证号码应为8位或10位数字")
	case IDForeignPermanent:
		return validateForeignPermanent(number)
	}
	return Errorf(EINVALID, "不支持的证件类型")
}

// validate18 checks an 18-character number built like a resident ID number: region prefix, birth date,
// sequence and a MOD 11-2 check digit. A number of other characters or another length is explained
// by what the person typed: which character is not a digit, how many characters there are.
func validate18(number, what string, region func(string) bool) error {
	runes := []rune(number)
	for i, r := range runes {
		if r >= '0' && r <= '9' || r == 'X' && (i == 17 || i == len(runes)-1) {
			continue
		}
		shown := fmt.Sprintf("“%c”", r)
		if r == utf8.RuneError || !unicode.IsPrint(r) {
			shown = "是无法显示的字符，"
		}
		if i == 17 {
			return Errorf(EINVALID, "%s第 18 位%s应为数字或 X", what, shown)
		}
		return Errorf(EINVALID, "%s第 %d 位%s不是数字", what, i+1, shown)
	}
	if len(runes) != 18 {
		return Errorf(EINVALID, "%s应为 18 位，您输入了 %d 位", what, len(runes))
	}
	if !region(number[:6]) {
		return Errorf(EINVALID, "%s前 6 位地区码不正确", what)
	}
	if _, ok := parseYMD(number[6:14]); !ok {
		return Errorf(EINVALID, "%s中的出生日期不存在", what)
	}
	if CheckDigit(number[:17]) != number[17] {
		return Errorf(EINVALID, "%s校验位错误，请核对后重新输入", what)
	}
	return nil
}

// residentRegion reports whether prefix has the shape of a mainland administrative division code:
// a province-level code that exists, followed by four digits, not all zero.
func residentRegion(prefix string) bool {
	if len(prefix) != 6 || !digits(prefix) || prefix[2:] == "0000" {
		return false
	}
	p := int(prefix[0]-'0')*10 + int(prefix[1]-'0')
	switch {
	case p >= 11 && p <= 15, p >= 21 && p <= 23, p >= 31 && p <= 37, p >= 41 && p <= 46,
		p >= 50 && p <= 54, p >= 61 && p <= 65:
		return true
	}
	return false
}

func validateForeignPermanent(number string) error {
	switch len(number) {
	case 18: // 2023 format: 9, province (2), nationality (3), birth date (8), sequence (3), check digit.
		if number[0] != '9' {
			return Errorf(EINVALID, "外国人永久居留身份证号码（2023版）应以9开头")
		}
		return validate18(number, "外国人永久居留身份证号码", func(string) bool { return true })
	case 15: // 2017 format: nationality (3 letters), province (2), birth date YYMMDD (6), sequence and check (4).
		for i := 0; i < 3; i++ {
			if number[i] < 'A' || number[i] > 'Z' {
				return Errorf(EINVALID, "外国人永久居留身份证号码（2017版）应以3位国籍字母开头")
			}
		}
		if !digits(number[3:]) {
			return Errorf(EINVALID, "外国人永久居留身份证号码（2017版）字母后应为12位数字")
		}
		yy := number[5:7]
		if _, ok := parseYMD("19" + yy + number[7:11]); !ok {
			return Errorf(EINVALID, "外国人永久居留身份证号码中的出生日期不存在")
		}
		return nil
	}
	return Errorf(EINVALID, "外国人永久居留身份证号码应为18位（2023版）或15位（2017版）")
}

// BirthDateFromID returns the birth date encoded in an 18-character number of the types that carry
// one (resident, the residence permits, 2023 foreign permanent resident card).
func BirthDateFromID(t IDType, number string) (Date, bool) {
	switch t {
	case IDResident, IDHKMOPermit, IDTWPermit, IDForeignPermanent:
		if len(number) == 18 {
			return parseYMD(number[6:14])
		}
	}
	return Date{}, false
}

// SexFromID returns the sex encoded in the 17th character of an 18-character resident ID number.
func SexFromID(t IDType, number string) (Sex, bool) {
	if (t == IDResident || t == IDHKMOPermit || t == IDTWPermit) && len(number) == 18 && digits(number[16:17]) {
		if (number[16]-'0')%2 == 1 {
			return SexMale, true
		}
		return SexFemale, true
	}
	return SexUnknown, false
}

// MaskIDNumber masks a document number for display: the first 4 and last 4 characters are kept and the
// rest replaced by '*' (2201**********123X). Numbers of 8 characters or fewer keep only the last 2.
func MaskIDNumber(number string) string {
	r := []rune(number)
	if len(r) <= 8 {
		if len(r) <= 2 {
			return strings.Repeat("*", len(r))
		}
		return strings.Repeat("*", len(r)-2) + string(r[len(r)-2:])
	}
	return string(r[:4]) + strings.Repeat("*", len(r)-8) + string(r[len(r)-4:])
}

// MaskName masks a person's name for display: the first character is kept (张*, 欧阳**).
func MaskName(name string) string {
	r := []rune(strings.TrimSpace(name))
	if len(r) == 0 {
		return ""
	}
	if len(r) == 1 {
		return "*"
	}
	return string(r[:1]) + strings.Repeat("*", len(r)-1)
}

// MaskPhone masks a phone number, keeping the first 3 and last 4 digits (138****5678).
func MaskPhone(phone string) string {
	if len(phone) < 8 {
		return strings.Repeat("*", len(phone))
	}
	return phone[:3] + strings.Repeat("*", len(phone)-7) + phone[len(phone)-4:]
}

// IDLast4 returns the last 4 characters of a document number (used with the application number for the
// kiosk's progress lookup).
func IDLast4(number string) string {
	if len(number) < 4 {
		return number
	}
	return number[len(number)-4:]
}

func digits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func parseYMD(s string) (Date, bool) {
	if len(s) != 8 || !digits(s) {
		return Date{}, false
	}
	t, err := time.Parse("20060102", s)
	if err != nil || t.Year() < 1900 {
		return Date{}, false
	}
	return Date{Year: t.Year(), Month: t.Month(), Day: t.Day()}, true
}
