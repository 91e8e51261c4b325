package cert

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/subtle"
	"encoding/asn1"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math/big"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/emmansun/gmsm/sm2"

	"github.com/civic-station/station/station"
)

// PayloadPrefix starts every version-1 QR payload.
const PayloadPrefix = "C1."

// Payload sizes and limits.
const (
	ContentHashSize  = 16  // bytes of ContentHash carried in the payload
	MaxPayloadLen    = 600 // characters; Verify rejects longer input before decoding it
	maxIDLen         = 64  // bytes of a certificate id, station id, code or masked subject field
	signatureSize    = 64  // Ed25519, and SM2 as r‖s
	idKindString     = 0
	idKindUUID       = 1
	payloadEpochYear = 2000 // issue dates are days since 2000-01-01, two bytes
)

// signatureDomain is prefixed to the signed bytes so a payload signature can be nothing else.
const signatureDomain = "station/cert payload v1\x00"

// Payload is what a certificate's QR code says, signed by the issuing station.
type Payload struct {
	CertificateID string       `json:"certificate_id"` // the certificate's id in the issuing station's store (a UUID is stored in 16 bytes)
	TypeCode      string       `json:"type_code"`      // template code, e.g. MS-001
	SubjectName   string       `json:"subject_name"`   // masked name, e.g. 张* (station.MaskName)
	SubjectID     string       `json:"subject_id"`     // masked document number, e.g. 2201**********123X (station.MaskIDNumber)
	IssueDate     station.Date `json:"issue_date"`     // China time
	StationID     string       `json:"station_id"`     // issuing station (a UUID is stored in 16 bytes)
	ContentHash   []byte       `json:"content_hash"`   // the first ContentHashSize bytes of ContentHash(filled, serial)
	Algorithm     Algorithm    `json:"algorithm"`      // set by Sign
	KeyID         string       `json:"key_id"`         // set by Sign: hex id of the signing key
}

// MatchesContent reports whether hash (a full ContentHash, or its prefix of at least ContentHashSize
// bytes) is the content hash the payload carries.
func (p Payload) MatchesContent(hash []byte) bool {
	return len(hash) >= ContentHashSize && len(p.ContentHash) == ContentHashSize &&
		subtle.ConstantTimeCompare(hash[:ContentHashSize], p.ContentHash) == 1
}

// Sign encodes p as a QR payload signed with the station's key: "C1." followed by base64url (no padding)
// of a compact binary form (see the package documentation). p's StationID must be empty or the signer's;
// Algorithm and KeyID are set from the signer. It returns EINVALID for a field that is missing, too long
// (64 bytes), holds control characters, or for a subject that is not masked (contains no '*').
func (s *Signer) Sign(p Payload) (string, error) {
	if p.StationID != "" && p.StationID != s.stationID {
		return "", invalid("证明的服务站编号与签名密钥的服务站不符")
	}
	p.StationID = s.stationID
	if len(p.ContentHash) < ContentHashSize {
		return "", invalid("证明内容摘要应至少%d字节", ContentHashSize)
	}
	p.ContentHash = p.ContentHash[:ContentHashSize]
	switch {
	case !strings.Contains(p.SubjectName, "*"):
		return "", invalid("二维码中的姓名必须隐藏部分字符")
	case !strings.Contains(p.SubjectID, "*"):
		return "", invalid("二维码中的证件号码必须隐藏部分字符")
	case !codePattern.MatchString(p.TypeCode) || len(p.TypeCode) > maxCodeLen:
		return "", invalid("证明类型编码“%s”无效", p.TypeCode)
	case p.CertificateID == "":
		return "", invalid("证明编号不能为空")
	}
	body, err := encodeBody(s.pub.Algorithm.id(), s.keyID, p)
	if err != nil {
		return "", err
	}
	sig, err := s.sign(signedMessage(body))
	if err != nil {
		return "", err
	}
	return PayloadPrefix + base64.RawURLEncoding.EncodeToString(append(body, sig...)), nil
}

func signedMessage(body []byte) []byte {
	return append([]byte(signatureDomain), body...)
}

func (s *Signer) sign(msg []byte) ([]byte, error) {
	if s.ed != nil {
		return ed25519.Sign(s.ed, msg), nil
	}
	der, err := s.sm.Sign(rand.Reader, msg, sm2.NewSM2SignerOption(true, nil))
	if err != nil {
		return nil, fmt.Errorf("sm2 sign: %w", err)
	}
	var rs struct{ R, S *big.Int }
	if rest, err := asn1.Unmarshal(der, &rs); err != nil || len(rest) != 0 {
		return nil, fmt.Errorf("sm2 sign: unexpected signature encoding: %v", err)
	}
	sig := make([]byte, signatureSize)
	rs.R.FillBytes(sig[:32])
	rs.S.FillBytes(sig[32:])
	return sig, nil
}

// verifySignature checks sig over msg with k. It never panics on hostile input.
func verifySignature(k PublicKey, msg, sig []byte) bool {
	if len(sig) != signatureSize {
		return false
	}
	switch pub := k.key.(type) {
	case ed25519.PublicKey:
		return k.Algorithm == Ed25519 && ed25519.Verify(pub, msg, sig)
	case *ecdsa.PublicKey:
		if k.Algorithm != SM2 {
			return false
		}
		der, err := asn1.Marshal(struct{ R, S *big.Int }{new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])})
		return err == nil && sm2.VerifyASN1WithSM2(pub, nil, msg, der)
	}
	return false
}

// encodeBody writes the signed part of a payload.
func encodeBody(alg byte, keyID [keyIDSize]byte, p Payload) ([]byte, error) {
	b := make([]byte, 0, 160)
	b = append(b, alg)
	b = append(b, keyID[:]...)
	var err error
	add := func(f func() ([]byte, error)) {
		if err == nil {
			b, err = f()
		}
	}
	add(func() ([]byte, error) { return appendID(b, "证明编号", p.CertificateID) })
	add(func() ([]byte, error) { return appendString(b, "证明类型", p.TypeCode) })
	add(func() ([]byte, error) { return appendString(b, "姓名", p.SubjectName) })
	add(func() ([]byte, error) { return appendString(b, "证件号码", p.SubjectID) })
	if err != nil {
		return nil, err
	}
	days, ok := daysSinceEpoch(p.IssueDate)
	if !ok {
		return nil, invalid("开具日期%s超出二维码可表示的范围", p.IssueDate)
	}
	b = binary.BigEndian.AppendUint16(b, days)
	if b, err = appendID(b, "服务站编号", p.StationID); err != nil {
		return nil, err
	}
	return append(b, p.ContentHash[:ContentHashSize]...), nil
}

func appendString(b []byte, what, s string) ([]byte, error) {
	if len(s) > maxIDLen || !printable(s) {
		return nil, invalid("%s不能超过%d字节，且不能含有控制字符", what, maxIDLen)
	}
	b = append(b, byte(len(s)))
	return append(b, s...), nil
}

// appendID writes a UUID in its canonical form as 16 bytes, anything else as a string.
func appendID(b []byte, what, s string) ([]byte, error) {
	if u, ok := parseUUID(s); ok {
		b = append(b, idKindUUID)
		return append(b, u[:]...), nil
	}
	if s == "" {
		return nil, invalid("%s不能为空", what)
	}
	b = append(b, idKindString)
	return appendString(b, what, s)
}

// parseUUID parses a UUID in its canonical form only (36 characters, lower-case hex, hyphens at 8, 13,
// 18 and 23), so that formatUUID gives back the same text.
func parseUUID(s string) (u [16]byte, ok bool) {
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return u, false
	}
	h := s[:8] + s[9:13] + s[14:18] + s[19:23] + s[24:]
	if strings.ToLower(h) != h {
		return u, false
	}
	_, err := hex.Decode(u[:], []byte(h))
	return u, err == nil
}

func formatUUID(u [16]byte) string {
	h := hex.EncodeToString(u[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func printable(s string) bool {
	return utf8.ValidString(s) && strings.IndexFunc(s, unicode.IsControl) < 0
}

var payloadEpoch = time.Date(payloadEpochYear, 1, 1, 0, 0, 0, 0, time.UTC)

func daysSinceEpoch(d station.Date) (uint16, bool) {
	t := time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC)
	if d.IsZero() || t.Year() != d.Year || t.Month() != d.Month || t.Day() != d.Day {
		return 0, false
	}
	n := int(t.Sub(payloadEpoch).Hours() / 24)
	if n < 0 || n > 0xffff {
		return 0, false
	}
	return uint16(n), true
}

// reader decodes a payload body; any read past the end or invalid field sets bad.
type reader struct {
	b   []byte
	bad bool
}

func (r *reader) bytes(n int) []byte {
	if r.bad || n > len(r.b) {
		r.bad = true
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) byte1() byte {
	v := r.bytes(1)
	if v == nil {
		return 0
	}
	return v[0]
}

func (r *reader) str() string {
	n := int(r.byte1())
	v := r.bytes(n)
	if r.bad || n > maxIDLen || !printable(string(v)) {
		r.bad = true
		return ""
	}
	return string(v)
}

func (r *reader) id() string {
	switch r.byte1() {
	case idKindUUID:
		v := r.bytes(16)
		if r.bad {
			return ""
		}
		return formatUUID([16]byte(v))
	case idKindString:
		s := r.str()
		if s == "" {
			r.bad = true
		}
		if _, ok := parseUUID(s); ok {
			r.bad = true // a canonical UUID is always encoded in 16 bytes: one payload, one encoding
		}
		return s
	}
	r.bad = true
	return ""
}

// decodePayload parses a payload string without checking its signature. It returns the payload, the signed
// body and the signature, or a failure reason.
func decodePayload(s string) (p Payload, body, sig []byte, reason string) {
	if len(s) > MaxPayloadLen {
		return p, nil, nil, ReasonMalformed
	}
	rest, ok := strings.CutPrefix(s, PayloadPrefix)
	if !ok {
		if len(s) >= 3 && s[0] == 'C' && s[1] >= '0' && s[1] <= '9' && s[2] == '.' {
			return p, nil, nil, ReasonUnsupportedVersion
		}
		return p, nil, nil, ReasonMalformed
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(rest)
	if err != nil || len(raw) <= signatureSize {
		return p, nil, nil, ReasonMalformed
	}
	body, sig = raw[:len(raw)-signatureSize], raw[len(raw)-signatureSize:]
	r := &reader{b: body}
	alg, ok := algorithmOf(r.byte1())
	p.Algorithm = alg
	p.KeyID = hex.EncodeToString(r.bytes(keyIDSize))
	p.CertificateID = r.id()
	p.TypeCode = r.str()
	p.SubjectName = r.str()
	p.SubjectID = r.str()
	if d := r.bytes(2); d != nil {
		t := payloadEpoch.AddDate(0, 0, int(binary.BigEndian.Uint16(d)))
		p.IssueDate = station.Date{Year: t.Year(), Month: t.Month(), Day: t.Day()}
	}
	p.StationID = r.id()
	p.ContentHash = append([]byte(nil), r.bytes(ContentHashSize)...)
	if !ok || r.bad || len(r.b) != 0 || !codePattern.MatchString(p.TypeCode) || len(p.TypeCode) > maxCodeLen {
		return Payload{}, nil, nil, ReasonMalformed
	}
	return p, body, sig, ""
}
