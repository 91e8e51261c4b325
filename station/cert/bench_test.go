package cert

import "testing"

func BenchmarkSign(b *testing.B) {
	for _, alg := range algorithms {
		b.Run(string(alg), func(b *testing.B) {
			s := newTestSigner(b, alg, testStation)
			p := samplePayload()
			for b.Loop() {
				if _, err := s.Sign(p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkVerify(b *testing.B) {
	for _, alg := range algorithms {
		b.Run(string(alg), func(b *testing.B) {
			s := newTestSigner(b, alg, testStation)
			ring := ringOf(b, s.PublicKey())
			qr, err := s.Sign(samplePayload())
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if v := Verify(qr, ring); !v.Genuine {
					b.Fatal(v.Reason)
				}
			}
		})
	}
}

// BenchmarkCheckAndFill is the template side of issuing one certificate: preconditions, values, text and
// content hash.
func BenchmarkCheckAndFill(b *testing.B) {
	tpl, _ := BuiltIn().Get("MS-001")
	subj := sampleSubject()
	input := map[string]string{"purpose": "办理居住证", "recipient": "某区公安分局"}
	history := []Issued{{Code: "MS-002", Date: day("2026-11-01")}}
	for b.Loop() {
		if res := tpl.Check(subj, history, day("2026-11-22")); !res.Allowed {
			b.Fatal(res.Message())
		}
		f, err := tpl.Fill(tpl.Values(subj, sampleStation, input, Issue{Serial: "S1", Date: day("2026-11-22")}))
		if err != nil {
			b.Fatal(err)
		}
		ContentHash(f, "S1")
	}
}
