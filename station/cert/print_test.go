package cert_test

import (
	"strings"
	"testing"

	"github.com/civic-station/station/station"
	"github.com/civic-station/station/station/cert"
	"github.com/civic-station/station/station/pdf"
)

// TestBuiltInTemplatesPrint renders every built-in template with station/pdf, with every input at its
// max_len and a long address, so that no template the library accepts fails at the printer because its
// text does not fit on the page.
func TestBuiltInTemplatesPrint(t *testing.T) {
	seal, err := pdf.Seal("幸福里社区居民委员会")
	if err != nil {
		t.Fatal(err)
	}
	today := station.Date{Year: 2026, Month: 11, Day: 22}
	subj := cert.Subject{Name: "欧阳明德", IDMasked: "2201**********123X", Sex: station.SexFemale,
		BirthDate: station.Date{Year: 1940, Month: 2, Day: 29}, Ethnicity: "汉族", Community: "幸福里社区",
		Address: "江西省新余市渝水区幸福里街道幸福里社区幸福花园小区12栋3单元1203室", CardVerified: true}
	st := cert.StationInfo{Name: "幸福里社区便民服务站", Community: "幸福里社区"}
	for _, tpl := range cert.BuiltIn().Templates() {
		t.Run(tpl.Code, func(t *testing.T) {
			input := map[string]string{}
			for _, f := range tpl.Inputs() {
				input[f.Key] = strings.Repeat("填", f.MaxLen)
			}
			serial := "ZM-2026-000001"
			f, err := tpl.Fill(tpl.Values(subj, st, input, cert.Issue{Serial: serial, Date: today}))
			if err != nil {
				t.Fatal(err)
			}
			paragraphs := f.Body
			if f.Signature != "" {
				paragraphs = append(paragraphs, f.Signature)
			}
			_, err = pdf.Render(pdf.Certificate{Title: f.Title, Paragraphs: paragraphs, Serial: serial, IssueDate: today,
				StationName: st.Name, Issuer: f.Seal, Seal: seal, Footer: f.Footer,
				QRPayload: "C1." + strings.Repeat("A", 208)})
			if err != nil {
				t.Errorf("%s does not print with every input at its maximum length: %v", tpl.Code, err)
			}
		})
	}
}
