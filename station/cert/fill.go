package cert

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/civic-station/station/station"
)

// StationInfo is what a template may print about the issuing station.
type StationInfo struct {
	Name      string // 服务站名称, e.g. 幸福里社区便民服务站
	Community string // 社区, e.g. 幸福里社区
	Address   string
	Phone     string
}

// value returns the printable value of a station key, "" when not set.
func (st StationInfo) value(key string) string {
	switch key {
	case "station_name":
		return st.Name
	case "station_community":
		return st.Community
	case "station_address":
		return st.Address
	case "station_phone":
		return st.Phone
	}
	return ""
}

// Issue identifies one issued certificate.
type Issue struct {
	Serial string       // the certificate's serial number, printed and hashed
	Date   station.Date // the issue date (China time)
}

// Filled is a certificate's text with every placeholder substituted: what the PDF renderer lays out and
// what ContentHash covers. For station/pdf: Title is Certificate.Title, Body its Paragraphs, Seal its
// Issuer, Footer its Footer; a Signature line, when set, is printed as the last paragraph.
type Filled struct {
	Code      string   `json:"code"`
	Version   int      `json:"version"`
	Title     string   `json:"title"`
	Body      []string `json:"body"`                // paragraphs
	Seal      string   `json:"seal"`                // the issuer line over the seal
	Signature string   `json:"signature,omitempty"` // e.g. 经办人：
	Footer    []string `json:"footer,omitempty"`    // lines
}

// Values gathers the values t's layout needs: resident fields from s, station fields from st, input fields
// from input (other keys of input are ignored), and the issue keys from iss. Missing data is left out, so
// Fill reports it.
func (t *Template) Values(s Subject, st StationInfo, input map[string]string, iss Issue) map[string]string {
	v := map[string]string{}
	for _, f := range t.Fields {
		var val string
		switch f.Source {
		case SourceResident:
			val = residentValue(f.Key, s, iss.Date)
		case SourceStation:
			val = st.value(f.Key)
		case SourceInput:
			val = input[f.Key]
		}
		if val != "" {
			v[f.Key] = val
		}
	}
	if iss.Serial != "" {
		v["serial"] = iss.Serial
	}
	if !iss.Date.IsZero() {
		v["issue_date"] = FormatDate(iss.Date)
		if t.ValidityDays > 0 {
			v["valid_until"] = FormatDate(ValidUntil(iss.Date, t.ValidityDays))
		}
	}
	return v
}

// ValidUntil returns the last day a certificate issued on issued with a validity of days is valid: the
// issue date counts as the first day.
func ValidUntil(issued station.Date, days int) station.Date { return issued.AddDays(days - 1) }

// Fill substitutes values into t's layout. It returns EINVALID naming, in Chinese, every placeholder
// without a value (an optional input field may be empty), every input value longer than its field's
// max_len, and every value holding a line break or control character. validity_days is supplied by Fill.
func (t *Template) Fill(values map[string]string) (Filled, error) {
	var missing, bad []string
	lookup := func(key string) string {
		if key == "validity_days" && t.ValidityDays > 0 {
			return strconv.Itoa(t.ValidityDays)
		}
		val := strings.TrimSpace(values[key])
		f, declared := t.Field(key)
		label := f.Label
		if !declared {
			label = IssueKeys[key]
		}
		if label == "" {
			label = key
		}
		switch {
		case val == "" && !(declared && f.Source == SourceInput && f.Optional):
			missing = append(missing, label)
		case !utf8.ValidString(val) || strings.IndexFunc(val, unicode.IsControl) >= 0:
			bad = append(bad, label+"含有换行或控制字符")
		case declared && f.Source == SourceInput && utf8.RuneCountInString(val) > f.MaxLen:
			bad = append(bad, fmt.Sprintf("%s不能超过%d个字", label, f.MaxLen))
		}
		return val
	}
	subst := func(text string) string {
		segs, problem := parsePlaceholders(text)
		if problem != "" { // Validate rejects such templates; never print a half-substituted text
			bad = append(bad, "版式有误："+problem)
			return ""
		}
		var b strings.Builder
		for _, s := range segs {
			if s.placeholder {
				b.WriteString(lookup(s.text))
			} else {
				b.WriteString(s.text)
			}
		}
		return b.String()
	}
	f := Filled{Code: t.Code, Version: t.Version, Title: strings.TrimSpace(subst(t.Layout.Title)),
		Body: lines(subst(t.Layout.Body)), Seal: strings.TrimSpace(subst(t.Layout.Seal)),
		Signature: strings.TrimSpace(subst(t.Layout.Signature)), Footer: lines(subst(t.Layout.Footer))}
	if len(missing) > 0 || len(bad) > 0 {
		var parts []string
		if len(missing) > 0 {
			parts = append(parts, "缺少"+strings.Join(dedupe(missing), "、"))
		}
		if len(bad) > 0 {
			parts = append(parts, strings.Join(dedupe(bad), "；"))
		}
		return Filled{}, invalid("证明%s（%s）无法生成：%s", t.Code, t.Name, strings.Join(parts, "；"))
	}
	return f, nil
}

// lines splits text at "\n", trims each line and drops empty ones.
func lines(text string) []string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

func dedupe(s []string) []string {
	seen := map[string]bool{}
	out := s[:0:0]
	for _, x := range s {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

// contentDomain separates content hashes from any other SHA-256 use.
const contentDomain = "station/cert content v1"

// ContentHash returns the SHA-256 of a certificate's printed content: its serial and every text of f
// (code, version, title, paragraphs, issuer line, signature, footer lines), each length-prefixed so no two
// different certificates share an encoding. The QR payload carries its first 16 bytes; the same function
// checks a printed certificate's text against a payload (Payload.MatchesContent).
func ContentHash(f Filled, serial string) []byte {
	h := sha256.New()
	var n [binary.MaxVarintLen64]byte
	put := func(s string) {
		h.Write(n[:binary.PutUvarint(n[:], uint64(len(s)))])
		h.Write([]byte(s))
	}
	putAll := func(ss []string) {
		h.Write(n[:binary.PutUvarint(n[:], uint64(len(ss)))])
		for _, s := range ss {
			put(s)
		}
	}
	put(contentDomain)
	put(serial)
	put(f.Code)
	put(strconv.Itoa(f.Version))
	put(f.Title)
	putAll(f.Body)
	put(f.Seal)
	put(f.Signature)
	putAll(f.Footer)
	return h.Sum(nil)
}
