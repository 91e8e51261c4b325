package cert

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/civic-station/station/station"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

const (
	testStation = "0193a5b2-7c4d-7e8f-9a0b-1c2d3e4f5a6b"
	testCertID  = "0193a5b2-8d9e-7f01-8a2b-3c4d5e6f7a8b"
)

func samplePayload() Payload {
	f, err := func() (Filled, error) {
		tpl := validTemplate()
		return tpl.Fill(map[string]string{"name": "张三", "id_masked": "2201**********123X",
			"station_community": "幸福里社区", "purpose": "办理居住证", "serial": "ZM-2026-000123", "issue_date": "2026年11月22日",
			"valid_until": "2026年12月21日"})
	}()
	if err != nil {
		panic(err)
	}
	return Payload{CertificateID: testCertID, TypeCode: "MS-001", SubjectName: station.MaskName("张三"),
		SubjectID: station.MaskIDNumber("22010419800101123X"), IssueDate: day("2026-11-22"), ContentHash: ContentHash(f, "ZM-2026-000123")}
}

func newTestSigner(t testing.TB, alg Algorithm, stationID string) *Signer {
	t.Helper()
	s, err := GenerateSigner(alg, stationID)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func ringOf(t testing.TB, keys ...PublicKey) *KeySet {
	t.Helper()
	ks, err := NewKeySet(keys...)
	if err != nil {
		t.Fatal(err)
	}
	return ks
}

var algorithms = []Algorithm{Ed25519, SM2}

func TestPayloadRoundTrip(t *testing.T) {
	for _, alg := range algorithms {
		t.Run(string(alg), func(t *testing.T) {
			s := newTestSigner(t, alg, testStation)
			want := samplePayload()
			qr, err := s.Sign(want)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(qr, "C1.") || len(qr) > 230 {
				t.Errorf("payload %q (%d characters): want C1. and at most 230 characters", qr, len(qr))
			}
			for _, c := range qr {
				if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
					t.Fatalf("payload has %q, not fit for a URL path", c)
				}
			}
			v := Verify(qr, ringOf(t, s.PublicKey()))
			if !v.Genuine || v.Reason != ReasonGenuine || v.Payload == nil {
				t.Fatalf("verification %+v", v)
			}
			got := *v.Payload
			if got.CertificateID != want.CertificateID || got.TypeCode != want.TypeCode || got.SubjectName != "张*" ||
				got.SubjectID != "2201**********123X" || got.IssueDate != want.IssueDate || got.StationID != testStation ||
				got.Algorithm != alg || got.KeyID != s.PublicKey().KeyID || !got.MatchesContent(want.ContentHash) {
				t.Errorf("payload %+v", got)
			}
			t.Logf("%s payload: %d characters", alg, len(qr))
		})
	}
}

func TestPayloadWithStringIDs(t *testing.T) {
	for _, id := range []string{"ZM-2026-000123", "0193A5B2-8D9E-7F01-8A2B-3C4D5E6F7A8B", "{0193a5b2-8d9e-7f01-8a2b-3c4d5e6f7a8b}", "编号１２３"} {
		s := newTestSigner(t, Ed25519, "station-42")
		p := samplePayload()
		p.CertificateID = id
		qr, err := s.Sign(p)
		if err != nil {
			t.Fatal(err)
		}
		v := Verify(qr, ringOf(t, s.PublicKey()))
		if !v.Genuine || v.Payload.CertificateID != id || v.Payload.StationID != "station-42" {
			t.Errorf("id %q: %+v", id, v)
		}
	}
}

func TestPayloadMatchesContent(t *testing.T) {
	p := samplePayload()
	full := p.ContentHash
	p.ContentHash = full[:ContentHashSize]
	if !p.MatchesContent(full) || !p.MatchesContent(full[:ContentHashSize]) {
		t.Error("the hash it carries does not match")
	}
	other := append([]byte(nil), full...)
	other[3] ^= 1
	if p.MatchesContent(other) || p.MatchesContent(full[:8]) || (Payload{}).MatchesContent(full) {
		t.Error("another hash matches")
	}
}

func TestSignRejectsUnsafeOrInvalidClaims(t *testing.T) {
	s := newTestSigner(t, Ed25519, testStation)
	for name, change := range map[string]func(*Payload){
		"an unmasked name":               func(p *Payload) { p.SubjectName = "张三" },
		"an unmasked ID number":          func(p *Payload) { p.SubjectID = "22010419800101123X" },
		"a malformed type code":          func(p *Payload) { p.TypeCode = "ms 001" },
		"an empty certificate id":        func(p *Payload) { p.CertificateID = "" },
		"a certificate id over 64 bytes": func(p *Payload) { p.CertificateID = strings.Repeat("x", 65) },
		"a control character":            func(p *Payload) { p.SubjectName = "张*\n" },
		"a short content hash":           func(p *Payload) { p.ContentHash = p.ContentHash[:8] },
		"another station":                func(p *Payload) { p.StationID = "other" },
		"no issue date":                  func(p *Payload) { p.IssueDate = station.Date{} },
		"an issue date before 2000":      func(p *Payload) { p.IssueDate = day("1999-12-31") },
	} {
		p := samplePayload()
		change(&p)
		if _, err := s.Sign(p); station.ErrorCode(err) != station.EINVALID {
			t.Errorf("%s: error %v, want EINVALID", name, err)
		}
	}
}

func TestVerifyRejects(t *testing.T) {
	a := newTestSigner(t, Ed25519, testStation)
	a2 := newTestSigner(t, SM2, testStation)
	b := newTestSigner(t, Ed25519, "station-b")
	qr, err := a.Sign(samplePayload())
	if err != nil {
		t.Fatal(err)
	}
	aAsB, err := NewPublicKey("station-b", a.PublicKey().DER)
	if err != nil {
		t.Fatal(err)
	}
	body := strings.TrimPrefix(qr, PayloadPrefix)
	raw, _ := base64.RawURLEncoding.DecodeString(body)
	enc := func(b []byte) string { return PayloadPrefix + base64.RawURLEncoding.EncodeToString(b) }
	cases := []struct {
		name    string
		payload string
		keys    KeyRing
		reason  string
	}{
		{"an empty string", "", ringOf(t, a.PublicKey()), ReasonMalformed},
		{"the prefix alone", "C1.", ringOf(t, a.PublicKey()), ReasonMalformed},
		{"a URL instead of a payload", "https://example.invalid/verify/x", ringOf(t, a.PublicKey()), ReasonMalformed},
		{"a later format version", "C2." + body, ringOf(t, a.PublicKey()), ReasonUnsupportedVersion},
		{"bad base64", qr[:40] + "!" + qr[41:], ringOf(t, a.PublicKey()), ReasonMalformed},
		{"standard base64 padding", qr + "=", ringOf(t, a.PublicKey()), ReasonMalformed},
		{"a lower-case prefix", "c1." + body, ringOf(t, a.PublicKey()), ReasonMalformed},
		{"a truncated payload", qr[:len(qr)-10], ringOf(t, a.PublicKey()), ReasonMalformed},
		{"a payload with a byte appended", enc(append(append([]byte(nil), raw...), 0)), ringOf(t, a.PublicKey()), ReasonMalformed},
		{"an oversized input", qr + strings.Repeat("A", MaxPayloadLen), ringOf(t, a.PublicKey()), ReasonMalformed},
		{"no key ring", qr, nil, ReasonUnknownStation},
		{"a nil key set", qr, (*KeySet)(nil), ReasonUnknownStation},
		{"an empty key ring", qr, &KeySet{}, ReasonUnknownStation},
		{"keys of other stations only", qr, ringOf(t, b.PublicKey()), ReasonUnknownStation},
		{"another key of the same station", qr, ringOf(t, a2.PublicKey()), ReasonUnknownKey},
		{"the key registered for another station", qr, ringOf(t, aAsB, a2.PublicKey()), ReasonStationMismatch},
		{"a genuine payload", qr, ringOf(t, a.PublicKey()), ReasonGenuine},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := Verify(c.payload, c.keys)
			if v.Reason != c.reason || v.Genuine != (c.reason == ReasonGenuine) {
				t.Errorf("verification %+v, want reason %s", v, c.reason)
			}
			if v.Message == "" || !strings.ContainsRune(v.Message, '证') {
				t.Errorf("no Chinese message: %q", v.Message)
			}
			if !v.Genuine && v.Payload != nil {
				t.Error("claims of a payload that is not genuine are returned")
			}
		})
	}
}

// TestForgedSignatureWithTheStationsKeyID signs a payload with an attacker's key but names the station's
// key id: the signature does not verify.
func TestForgedSignatureWithTheStationsKeyID(t *testing.T) {
	for _, alg := range algorithms {
		genuine := newTestSigner(t, alg, testStation)
		forger := newTestSigner(t, alg, testStation)
		forger.keyID = genuine.keyID
		qr, err := forger.Sign(samplePayload())
		if err != nil {
			t.Fatal(err)
		}
		if v := Verify(qr, ringOf(t, genuine.PublicKey())); v.Genuine || v.Reason != ReasonBadSignature {
			t.Errorf("%s: %+v", alg, v)
		}
	}
}

// TestTamperedPayloadsAreNeverGenuine flips every bit of every byte of a valid payload, and replaces every
// character of its text, and truncates it at every length.
func TestTamperedPayloadsAreNeverGenuine(t *testing.T) {
	for _, alg := range algorithms {
		t.Run(string(alg), func(t *testing.T) {
			s := newTestSigner(t, alg, testStation)
			ring := ringOf(t, s.PublicKey())
			qr, err := s.Sign(samplePayload())
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(qr, PayloadPrefix))
			reasons := map[string]int{}
			for i := range raw {
				for bit := 0; bit < 8; bit++ {
					b := append([]byte(nil), raw...)
					b[i] ^= 1 << bit
					v := Verify(PayloadPrefix+base64.RawURLEncoding.EncodeToString(b), ring)
					if v.Genuine {
						t.Fatalf("flipping bit %d of byte %d gives a genuine payload", bit, i)
					}
					reasons[v.Reason]++
				}
			}
			const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
			for i := range qr {
				for _, c := range []byte{alphabet[(strings.IndexByte(alphabet, qr[i])+1)%64], '.', '='} {
					if c == qr[i] {
						continue
					}
					if v := Verify(qr[:i]+string(c)+qr[i+1:], ring); v.Genuine {
						t.Fatalf("replacing character %d with %q gives a genuine payload", i, c)
					}
				}
			}
			for n := 0; n < len(qr); n++ {
				if v := Verify(qr[:n], ring); v.Genuine {
					t.Fatalf("truncation to %d characters is genuine", n)
				}
			}
			t.Logf("bit flips by reason: %v", reasons)
		})
	}
}

func TestVerifyBoundsWork(t *testing.T) {
	ring := ringOf(t, newTestSigner(t, Ed25519, testStation).PublicKey())
	huge := PayloadPrefix + strings.Repeat("A", 8<<20)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for i := 0; i < 100; i++ {
		if v := Verify(huge, ring); v.Reason != ReasonMalformed {
			t.Fatalf("reason %s", v.Reason)
		}
	}
	runtime.ReadMemStats(&after)
	if perCall := (after.TotalAlloc - before.TotalAlloc) / 100; perCall > 4096 {
		t.Errorf("Verify of an 8 MiB input allocates %d bytes per call; input must be rejected before decoding", perCall)
	}
}

func TestKeySet(t *testing.T) {
	a := newTestSigner(t, Ed25519, testStation)
	ks := ringOf(t, a.PublicKey(), a.PublicKey())
	if _, ok := ks.Key(a.PublicKey().KeyID); !ok || !ks.HasStation(testStation) || ks.HasStation("other") {
		t.Error("lookup")
	}
	moved, _ := NewPublicKey("other", a.PublicKey().DER)
	if err := ks.Add(moved); station.ErrorCode(err) != station.ECONFLICT {
		t.Errorf("a key bound to two stations: %v", err)
	}
	if err := ks.Add(PublicKey{}); station.ErrorCode(err) != station.EINVALID {
		t.Errorf("a zero key: %v", err)
	}
}

func TestPublicKeyEncodings(t *testing.T) {
	for _, alg := range algorithms {
		s := newTestSigner(t, alg, testStation)
		pk := s.PublicKey()
		if pk.Algorithm != alg || len(pk.KeyID) != 2*keyIDSize {
			t.Errorf("%s key %+v", alg, pk)
		}
		b, err := json.Marshal(pk)
		if err != nil {
			t.Fatal(err)
		}
		var back PublicKey
		if err := json.Unmarshal(b, &back); err != nil || back.KeyID != pk.KeyID || back.StationID != testStation || back.Algorithm != alg {
			t.Errorf("%s JSON round trip: %v %+v", alg, err, back)
		}
		var wrong map[string]any
		json.Unmarshal(b, &wrong)
		wrong["key_id"] = "0000000000000000"
		b2, _ := json.Marshal(wrong)
		if err := json.Unmarshal(b2, &back); err == nil {
			t.Errorf("%s: a key id that does not match the key is accepted", alg)
		}
		fromPEM, err := ParsePublicKeyPEM(testStation, pk.PEM())
		if err != nil || fromPEM.KeyID != pk.KeyID {
			t.Errorf("%s PEM round trip: %v", alg, err)
		}
	}
	if _, err := NewPublicKey(testStation, []byte("not a key")); station.ErrorCode(err) != station.EINVALID {
		t.Errorf("garbage key: %v", err)
	}
	if _, err := NewPublicKey("", newTestSigner(t, Ed25519, "x").PublicKey().DER); err == nil {
		t.Error("a key without a station is accepted")
	}
}

func TestLoadOrCreateSigner(t *testing.T) {
	for _, alg := range algorithms {
		t.Run(string(alg), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "keys", "cert.key")
			s, err := LoadOrCreateSigner(path, alg, testStation)
			if err != nil {
				t.Fatal(err)
			}
			fi, err := os.Stat(path)
			if err != nil || fi.Mode().Perm() != 0o600 {
				t.Fatalf("key file %v mode %v", err, fi.Mode())
			}
			if di, _ := os.Stat(filepath.Dir(path)); di.Mode().Perm() != 0o700 {
				t.Errorf("key folder mode %v", di.Mode())
			}
			again, err := LoadOrCreateSigner(path, alg, testStation)
			if err != nil || again.PublicKey().KeyID != s.PublicKey().KeyID {
				t.Fatalf("reload: %v, key %v want %v", err, again.PublicKey().KeyID, s.PublicKey().KeyID)
			}
			qr, err := again.Sign(samplePayload())
			if err != nil {
				t.Fatal(err)
			}
			if v := Verify(qr, ringOf(t, s.PublicKey())); !v.Genuine {
				t.Errorf("a payload signed with the reloaded key: %+v", v)
			}
			other := SM2
			if alg == SM2 {
				other = Ed25519
			}
			if _, err := LoadOrCreateSigner(path, other, testStation); err == nil || !strings.Contains(err.Error(), "move it away") {
				t.Errorf("loading a %s key as %s: %v", alg, other, err)
			}
			os.Chmod(path, 0o644)
			if _, err := LoadOrCreateSigner(path, alg, testStation); err == nil || !strings.Contains(err.Error(), "chmod 600") {
				t.Errorf("a key file others can read: %v", err)
			}
		})
	}
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.key")
	os.WriteFile(bad, []byte("not pem"), 0o600)
	if _, err := LoadOrCreateSigner(bad, Ed25519, testStation); err == nil {
		t.Error("a corrupt key file is accepted")
	}
	if _, err := LoadOrCreateSigner(filepath.Join(dir, "x.key"), "rsa", testStation); station.ErrorCode(err) != station.EINVALID {
		t.Errorf("an unknown algorithm: %v", err)
	}
	if _, err := LoadOrCreateSigner(filepath.Join(dir, "y.key"), Ed25519, ""); station.ErrorCode(err) != station.EINVALID {
		t.Errorf("no station id: %v", err)
	}
}

func TestParseAlgorithm(t *testing.T) {
	for in, want := range map[string]Algorithm{"": Ed25519, "ed25519": Ed25519, "sm2": SM2} {
		if got, err := ParseAlgorithm(in); err != nil || got != want {
			t.Errorf("ParseAlgorithm(%q) = %v, %v", in, got, err)
		}
	}
	if _, err := ParseAlgorithm("SM2"); err == nil {
		t.Error("an unknown spelling is accepted")
	}
}

// TestGoldenPayloads pins the wire format: a payload printed by this version must verify in every later
// one. The Ed25519 payload is deterministic (fixed seed); the SM2 one was signed once and is kept with
// its public key. Run with -update to rewrite them after a deliberate format change (and a new prefix).
func TestGoldenPayloads(t *testing.T) {
	seed := make([]byte, ed25519.SeedSize)
	for i := range seed {
		seed[i] = byte(i)
	}
	ed, err := newSigner(ed25519.NewKeyFromSeed(seed), testStation)
	if err != nil {
		t.Fatal(err)
	}
	edQR, err := ed.Sign(samplePayload())
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "payload-v1-ed25519.golden")
	smGolden := filepath.Join("testdata", "payload-v1-sm2.golden")
	smKey := filepath.Join("testdata", "payload-v1-sm2.pub.pem")
	if *update {
		sm := newTestSigner(t, SM2, testStation)
		smQR, err := sm.Sign(samplePayload())
		if err != nil {
			t.Fatal(err)
		}
		os.MkdirAll("testdata", 0o755)
		for name, data := range map[string][]byte{golden: []byte(edQR + "\n"), smGolden: []byte(smQR + "\n"), smKey: sm.PublicKey().PEM()} {
			if err := os.WriteFile(name, data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if edQR != strings.TrimSpace(string(want)) {
		t.Errorf("Ed25519 payload changed:\n got %s\nwant %s", edQR, want)
	}
	smQR, err := os.ReadFile(smGolden)
	if err != nil {
		t.Fatal(err)
	}
	pemData, err := os.ReadFile(smKey)
	if err != nil {
		t.Fatal(err)
	}
	smPub, err := ParsePublicKeyPEM(testStation, pemData)
	if err != nil {
		t.Fatal(err)
	}
	for alg, c := range map[Algorithm]struct {
		qr  string
		key PublicKey
	}{Ed25519: {edQR, ed.PublicKey()}, SM2: {strings.TrimSpace(string(smQR)), smPub}} {
		v := Verify(c.qr, ringOf(t, c.key))
		if !v.Genuine || v.Payload.Algorithm != alg || v.Payload.CertificateID != testCertID || !v.Payload.MatchesContent(samplePayload().ContentHash) {
			t.Errorf("golden %s payload: %+v", alg, v)
		}
	}
}
