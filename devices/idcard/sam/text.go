package sam

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf16"

	"github.com/civic-station/station/devices"
	"github.com/civic-station/station/station"
)

// Permanent is how a card's valid-to field reads for a card that never expires.
const Permanent = "长期"

// field is a slot of the text block: byte offsets [from, to), UCS-2LE, space padded.
type field struct{ from, to int }

func (f field) chars() int { return (f.to - f.from) / 2 }

// The text block's layouts. Offsets follow the reference's byte ranges.
var (
	flagField = field{248, 250}

	// Resident ID card and, up to byte 219, the HK/Macau/Taiwan residence permit (J).
	resName      = field{0, 30}
	resSex       = field{30, 32}
	resEthnicity = field{32, 36}
	resBirth     = field{36, 52}
	resAddress   = field{52, 122}
	resNumber    = field{122, 158}
	resAuthority = field{158, 188}
	resFrom      = field{188, 204}
	resTo        = field{204, 220}
	jPass        = field{220, 238}
	jIssueCount  = field{238, 242}

	// Foreign permanent resident card 2017 (I).
	iNameEN      = field{0, 120}
	iSex         = field{120, 122}
	iNumber      = field{122, 152}
	iNationality = field{152, 158}
	iName        = field{158, 188}
	iFrom        = field{188, 204}
	iTo          = field{204, 220}
	iBirth       = field{220, 236}
	iVersion     = field{236, 240}
	iAuthority   = field{240, 248}

	// Foreign permanent resident card 2023 (Y).
	yName        = field{0, 30}
	ySex         = field{30, 32}
	yRenewals    = field{32, 36}
	yBirth       = field{36, 52}
	yNameEN1     = field{52, 122}
	yNumber      = field{122, 158}
	yFrom        = field{188, 204}
	yTo          = field{204, 220}
	yNameEN2     = field{220, 242}
	yNationality = field{242, 248}
	yPrevious    = field{250, 256}
)

// The type flag's character per card type.
const (
	flagResident = ' '
	flagJ        = 'J'
	flagI        = 'I'
	flagY        = 'Y'
)

// DecodeText decodes a card's 256-byte text block into an IDCard (without photo). The card type is
// taken from the flag at bytes 248–249. Errors wrap ErrMalformed: wrong size, unknown type flag, a
// sex or ethnicity code the standards do not define, or a date that is not a calendar day.
func DecodeText(block []byte) (*devices.IDCard, error) {
	if len(block) != TextLen {
		return nil, fmt.Errorf("%w: text block of %d bytes, want %d", ErrMalformed, len(block), TextLen)
	}
	t := text{b: block}
	var c devices.IDCard
	switch flag := t.raw(flagField); flag {
	case " ", "\x00", "":
		c.Type = devices.CardResident
		t.resident(&c)
	case "J":
		c.Type = devices.CardHKMOTWPermit
		t.resident(&c)
		c.PassNumber = t.str(jPass)
		c.IssueCount = t.str(jIssueCount)
	case "I":
		c.Type = devices.CardForeignPR2017
		c.NameEN = t.str(iNameEN)
		c.Sex = t.sex(iSex)
		c.IDNumber = t.str(iNumber)
		c.Nationality = t.str(iNationality)
		c.Name = t.str(iName)
		c.ValidFrom = t.date(iFrom)
		c.ValidTo = t.validTo(iTo)
		c.BirthDate = t.date(iBirth)
		c.Authority = t.str(iAuthority)
		_ = t.str(iVersion) // the card version ("01"); IDCard has no field for it
	case "Y":
		c.Type = devices.CardForeignPR2023
		c.Name = t.str(yName)
		c.Sex = t.sex(ySex)
		c.IssueCount = t.str(yRenewals)
		c.BirthDate = t.date(yBirth)
		c.NameEN = strings.TrimRight(t.raw(yNameEN1)+t.raw(yNameEN2), " \x00")
		c.IDNumber = t.str(yNumber)
		c.ValidFrom = t.date(yFrom)
		c.ValidTo = t.validTo(yTo)
		c.Nationality = t.str(yNationality)
		c.PreviousCard = t.str(yPrevious)
	default:
		return nil, fmt.Errorf("%w: unknown card type flag %q", ErrMalformed, flag)
	}
	if t.err != nil {
		return nil, t.err
	}
	return &c, nil
}

// text reads fields from a text block, remembering the first error.
type text struct {
	b   []byte
	err error
}

// raw returns a field's characters without trimming. Lone surrogates decode as U+FFFD.
func (t *text) raw(f field) string {
	u := make([]uint16, f.chars())
	for i := range u {
		u[i] = uint16(t.b[f.from+2*i]) | uint16(t.b[f.from+2*i+1])<<8
	}
	return string(utf16.Decode(u))
}

// str returns a field with its padding (spaces, or NULs on some cards) trimmed.
func (t *text) str(f field) string {
	return strings.Trim(t.raw(f), " \x00")
}

func (t *text) fail(format string, args ...any) {
	if t.err == nil {
		t.err = fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
	}
}

func (t *text) resident(c *devices.IDCard) {
	c.Name = t.str(resName)
	c.Sex = t.sex(resSex)
	if code := t.str(resEthnicity); code != "" {
		name, ok := Ethnicity(code)
		if !ok {
			t.fail("unknown ethnicity code %q", code)
		}
		c.EthnicityCode, c.Ethnicity = code, name
	}
	c.BirthDate = t.date(resBirth)
	c.Address = t.str(resAddress)
	c.IDNumber = t.str(resNumber)
	c.Authority = t.str(resAuthority)
	c.ValidFrom = t.date(resFrom)
	c.ValidTo = t.validTo(resTo)
}

// sex maps the GB/T 2261.1 code: 0 unknown, 1 male, 2 female, 9 unspecified.
func (t *text) sex(f field) station.Sex {
	switch code := t.str(f); code {
	case "1":
		return station.SexMale
	case "2":
		return station.SexFemale
	case "0", "9", "":
		return station.SexUnknown
	default:
		t.fail("unknown sex code %q", code)
		return station.SexUnknown
	}
}

func (t *text) date(f field) station.Date {
	s := t.str(f)
	if s == "" {
		return station.Date{}
	}
	d, ok := parseYMD(s)
	if !ok {
		t.fail("date field at byte %d is not YYYYMMDD", f.from)
	}
	return d
}

func (t *text) validTo(f field) string {
	s := t.str(f)
	if s == "" || s == Permanent {
		return s
	}
	d, ok := parseYMD(s)
	if !ok {
		t.fail("valid-to field is neither YYYYMMDD nor %s", Permanent)
		return ""
	}
	return d.String()
}

func parseYMD(s string) (station.Date, bool) {
	if len(s) != 8 {
		return station.Date{}, false
	}
	for i := 0; i < 8; i++ {
		if s[i] < '0' || s[i] > '9' {
			return station.Date{}, false
		}
	}
	tm, err := time.Parse("20060102", s)
	if err != nil {
		return station.Date{}, false
	}
	return station.Date{Year: tm.Year(), Month: tm.Month(), Day: tm.Day()}, true
}

// EncodeText builds the 256-byte text block of a card: the inverse of DecodeText, used by the
// simulator and by tests. Errors wrap ErrMalformed: a value longer than its field, a character
// outside UCS-2, or an unknown card type, sex, ethnicity or date format.
func EncodeText(c *devices.IDCard) ([]byte, error) {
	w := writer{b: make([]byte, TextLen)}
	w.put(field{0, TextLen}, "")
	switch c.Type {
	case devices.CardResident, "":
		w.resident(c)
		w.put(flagField, string(rune(flagResident)))
	case devices.CardHKMOTWPermit:
		w.resident(c)
		w.put(jPass, c.PassNumber)
		w.put(jIssueCount, c.IssueCount)
		w.put(flagField, string(rune(flagJ)))
	case devices.CardForeignPR2017:
		w.put(iNameEN, c.NameEN)
		w.sex(iSex, c.Sex)
		w.put(iNumber, c.IDNumber)
		w.put(iNationality, c.Nationality)
		w.put(iName, c.Name)
		w.date(iFrom, c.ValidFrom)
		w.validTo(iTo, c.ValidTo)
		w.date(iBirth, c.BirthDate)
		w.put(iVersion, "01")
		w.put(iAuthority, c.Authority)
		w.put(flagField, string(rune(flagI)))
	case devices.CardForeignPR2023:
		w.put(yName, c.Name)
		w.sex(ySex, c.Sex)
		w.put(yRenewals, c.IssueCount)
		w.date(yBirth, c.BirthDate)
		en := []rune(c.NameEN)
		n1 := yNameEN1.chars()
		if len(en) <= n1 {
			w.put(yNameEN1, c.NameEN)
		} else {
			w.put(yNameEN1, string(en[:n1]))
			w.put(yNameEN2, string(en[n1:]))
		}
		w.put(yNumber, c.IDNumber)
		w.date(yFrom, c.ValidFrom)
		w.validTo(yTo, c.ValidTo)
		w.put(yNationality, c.Nationality)
		w.put(flagField, string(rune(flagY)))
		w.put(yPrevious, c.PreviousCard)
	default:
		return nil, fmt.Errorf("%w: unknown card type %q", ErrMalformed, c.Type)
	}
	if w.err != nil {
		return nil, w.err
	}
	return w.b, nil
}

type writer struct {
	b   []byte
	err error
}

func (w *writer) fail(format string, args ...any) {
	if w.err == nil {
		w.err = fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
	}
}

// put writes s into f, padded with spaces.
func (w *writer) put(f field, s string) {
	r := []rune(s)
	if len(r) > f.chars() {
		w.fail("value of %d characters does not fit the %d-character field at byte %d", len(r), f.chars(), f.from)
		return
	}
	for i := 0; i < f.chars(); i++ {
		ch := rune(' ')
		if i < len(r) {
			ch = r[i]
		}
		if ch > 0xFFFF || (ch >= 0xD800 && ch <= 0xDFFF) {
			w.fail("character U+%04X at byte %d is outside UCS-2", ch, f.from+2*i)
			return
		}
		w.b[f.from+2*i] = byte(ch)
		w.b[f.from+2*i+1] = byte(ch >> 8)
	}
}

func (w *writer) resident(c *devices.IDCard) {
	w.put(resName, c.Name)
	w.sex(resSex, c.Sex)
	code := c.EthnicityCode
	if code == "" && c.Ethnicity != "" {
		var ok bool
		if code, ok = EthnicityCode(c.Ethnicity); !ok {
			w.fail("unknown ethnicity %q", c.Ethnicity)
		}
	}
	if _, ok := Ethnicity(code); code != "" && !ok {
		w.fail("unknown ethnicity code %q", code)
	}
	w.put(resEthnicity, code)
	w.date(resBirth, c.BirthDate)
	w.put(resAddress, c.Address)
	w.put(resNumber, c.IDNumber)
	w.put(resAuthority, c.Authority)
	w.date(resFrom, c.ValidFrom)
	w.validTo(resTo, c.ValidTo)
}

func (w *writer) sex(f field, s station.Sex) {
	switch s {
	case station.SexMale:
		w.put(f, "1")
	case station.SexFemale:
		w.put(f, "2")
	case station.SexUnknown, "":
		w.put(f, "0")
	default:
		w.fail("unknown sex %q", s)
	}
}

func (w *writer) date(f field, d station.Date) {
	if d.IsZero() {
		w.put(f, "")
		return
	}
	w.put(f, fmt.Sprintf("%04d%02d%02d", d.Year, d.Month, d.Day))
}

func (w *writer) validTo(f field, s string) {
	if s == "" || s == Permanent {
		w.put(f, s)
		return
	}
	d, err := station.ParseDate(s)
	if err != nil {
		w.fail("valid-to %q is neither YYYY-MM-DD nor %s", s, Permanent)
		return
	}
	w.date(f, d)
}

// DecodeAddress decodes the 70-byte appended address field.
func DecodeAddress(data []byte) (string, error) {
	if len(data) != AddressLen {
		return "", fmt.Errorf("%w: appended address of %d bytes, want %d", ErrLength, len(data), AddressLen)
	}
	t := text{b: data}
	return t.str(field{0, AddressLen}), nil
}

// EncodeAddress builds the 70-byte appended address field (the inverse of DecodeAddress).
func EncodeAddress(addr string) ([]byte, error) {
	w := writer{b: make([]byte, AddressLen)}
	w.put(field{0, AddressLen}, addr)
	return w.b, w.err
}
