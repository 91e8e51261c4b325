package station

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// CheckText checks a one-line text field (a name, an address, a title) before it is stored: valid
// UTF-8, no U+FFFD (what a JSON decoder makes of invalid UTF-8), no control characters (NUL, line
// breaks, escapes) and no bidirectional overrides, at most maxRunes characters once trimmed, and not
// empty when required. what is the field's Chinese name; the EINVALID message names it and the
// position of a bad character, never the value.
func CheckText(what, s string, maxRunes int, required bool) error {
	return checkText(what, s, maxRunes, required, false)
}

// CheckLongText is CheckText for a text that may run over several lines (a note, a reason, a notice):
// line feeds, carriage returns and tabs are allowed, other control characters are not.
func CheckLongText(what, s string, maxRunes int, required bool) error {
	return checkText(what, s, maxRunes, required, true)
}

// textField is one text of a record with its Chinese name and length limit.
type textField struct {
	what, value string
	max         int
}

func checkText(what, s string, maxRunes int, required, multiline bool) error {
	if !utf8.ValidString(s) {
		return Errorf(EINVALID, "%s含有无法识别的字符（不是有效的UTF-8编码），请检查后重新输入", what)
	}
	pos := 0
	for _, r := range s {
		pos++
		switch {
		case r == utf8.RuneError:
			return Errorf(EINVALID, "%s第%d个字符无法识别，请检查后重新输入", what, pos)
		case multiline && (r == '\n' || r == '\r' || r == '\t'):
		case unicode.IsControl(r) || isBidiControl(r):
			return Errorf(EINVALID, "%s第%d个字符是不可见的控制字符，请删除后重新输入", what, pos)
		}
	}
	n := utf8.RuneCountInString(strings.TrimSpace(s))
	if required && n == 0 {
		return Errorf(EINVALID, "%s不能为空", what)
	}
	if n > maxRunes {
		return Errorf(EINVALID, "%s不能超过%d个字符，当前为%d个", what, maxRunes, n)
	}
	return nil
}

// isBidiControl reports the invisible characters that reorder the text around them (U+202A–U+202E,
// U+2066–U+2069, U+200E, U+200F): a name or an address never needs them, and they can make a stored
// text read differently from what it is.
func isBidiControl(r rune) bool {
	return r >= 0x202A && r <= 0x202E || r >= 0x2066 && r <= 0x2069 || r == 0x200E || r == 0x200F
}

// Phone number shapes (GB/T and the numbering plan of the mainland): a mobile number is 1, a digit from 3
// to 9 and nine more digits, optionally after +86, in groups of 3-4-4 separated by a space or a hyphen
// or not at all; a landline is an area code (010 and 02x with 8-digit numbers, 0[3-9]xx with 7 or 8
// digits), optionally in parentheses, then the number (which does not start with 0 or 1), then
// optionally an extension of 1 to 6 digits after "-", "转", "#" or "分机".
var (
	mobilePattern   = regexp.MustCompile(`^(?:\+?86[ -]?)?1[3-9]\d(?:[ -]?\d{4}){2}$`)
	landlinePattern = regexp.MustCompile(`^(?:(?:\(0(?:10|2\d)\)|0(?:10|2\d))[ -]?[2-9]\d{7}|(?:\(0[3-9]\d{2}\)|0[3-9]\d{2})[ -]?[2-9]\d{6,7})(?:(?:-|转|#|分机)\d{1,6})?$`)
)

// ValidatePhone checks a contact phone number: a mainland mobile number (13800001234, 138 0000 1234,
// +86 13800001234) or a landline with its area code and an optional extension (010-62345678,
// 0431-8123456转123). The empty string is valid (callers that require a number check for it). It
// returns EINVALID with a Chinese message naming what (the field) and the accepted forms.
func ValidatePhone(what, phone string) error {
	phone = strings.TrimSpace(phone)
	if phone == "" || mobilePattern.MatchString(phone) || landlinePattern.MatchString(phone) {
		return nil
	}
	return Errorf(EINVALID, "%s格式不正确：应为11位手机号码（如13800001234），或带区号的固定电话（如010-62345678，分机号写在“-”或“转”之后）", what)
}
