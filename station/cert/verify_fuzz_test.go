package cert

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"
)

// FuzzVerify feeds Verify arbitrary text: it must not panic or hang, must answer with a known reason and a
// message, must call genuine only payloads that were really signed, and every payload it can decode must
// re-encode to the same bytes (one payload, one encoding).
func FuzzVerify(f *testing.F) {
	ed := newTestSigner(f, Ed25519, testStation)
	sm := newTestSigner(f, SM2, "station-sm2")
	ring := ringOf(f, ed.PublicKey(), sm.PublicKey())
	signed := map[string]bool{}
	for _, s := range []*Signer{ed, sm} {
		for _, id := range []string{testCertID, "ZM-2026-000123"} {
			p := samplePayload()
			p.CertificateID = id
			qr, err := s.Sign(p)
			if err != nil {
				f.Fatal(err)
			}
			signed[qr] = true
			f.Add(qr)
			f.Add(qr[:len(qr)/2])
		}
	}
	for _, s := range []string{"", "C1.", "C2.AAAA", "C1.AAAA", "c1.", "C1." + strings.Repeat("_", 300), "https://example.invalid/verify/C1.x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v := Verify(s, ring)
		if _, ok := reasonMessages[v.Reason]; !ok || v.Message != reasonMessages[v.Reason] {
			t.Fatalf("unknown reason %q or message %q", v.Reason, v.Message)
		}
		if v.Genuine != (v.Reason == ReasonGenuine) || v.Genuine != (v.Payload != nil) {
			t.Fatalf("inconsistent verification %+v", v)
		}
		if v.Genuine && !signed[s] {
			t.Fatalf("a payload nobody signed is genuine: %q", s)
		}
		p, body, _, reason := decodePayload(s)
		if reason != "" {
			return
		}
		var keyID [keyIDSize]byte
		if _, err := hex.Decode(keyID[:], []byte(p.KeyID)); err != nil {
			t.Fatal(err)
		}
		again, err := encodeBody(p.Algorithm.id(), keyID, p)
		if err != nil {
			t.Fatalf("a decoded payload does not encode: %v (%+v)", err, p)
		}
		if !bytes.Equal(again, body) {
			t.Fatalf("a payload has two encodings:\n%x\n%x", body, again)
		}
	})
}
