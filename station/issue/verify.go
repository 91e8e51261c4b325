package issue

import (
	"context"
	"fmt"

	"github.com/civic-station/station/station"
	"github.com/civic-station/station/station/cert"
)

// Reason codes Verify adds to station/cert's.
const (
	ReasonRevoked            = "revoked"             // genuine, revoked by the station or the data center
	ReasonVoided             = "voided"              // genuine, voided by the issuing station
	ReasonNotIssued          = "not_issued"          // signed by this station but never printed and confirmed
	ReasonUnknownCertificate = "unknown_certificate" // signed with this station's key but not in its records
)

// storeRing is a cert.KeyRing over the store's key ring. Verify's lookups cannot fail, so a store
// error is kept and reported after it.
type storeRing struct {
	ctx context.Context
	st  VerifyStore
	err error
}

func (r *storeRing) Key(keyID string) (cert.PublicKey, bool) {
	k, err := r.st.SigningKey(r.ctx, keyID)
	if err != nil {
		if station.ErrorCode(err) != station.ENOTFOUND {
			r.err = err
		}
		return cert.PublicKey{}, false
	}
	pk, err := cert.NewPublicKey(k.StationID, k.PublicKey)
	if err != nil {
		r.err = fmt.Errorf("signing key %s: %w", keyID, err)
		return cert.PublicKey{}, false
	}
	return pk, true
}

func (r *storeRing) HasStation(stationID string) bool {
	keys, err := r.st.StationSigningKeys(r.ctx, stationID)
	if err != nil {
		r.err = err
		return false
	}
	return len(keys) > 0
}

// Verify answers whether a certificate's QR payload is genuine and still valid, using the key ring in
// st (the station's own keys and those the data center distributed), the station's own certificates
// (voided, revoked, or never printed) and the data center's revocations; lib names the types. It never
// fails on hostile input (anything that is not a genuine payload is not_genuine with a reason); the
// error is for a store that cannot be read. The HTTP API and `station cert verify` both call it.
func Verify(ctx context.Context, payload string, st VerifyStore, builtIn cert.Library) (station.CertificateVerification, error) {
	ring := &storeRing{ctx: ctx, st: st}
	v := cert.Verify(payload, ring)
	if ring.err != nil {
		return station.CertificateVerification{}, fmt.Errorf("verify certificate: %w", ring.err)
	}
	out := station.CertificateVerification{Status: station.VerifyNotGenuine, ReasonCode: v.Reason, Message: v.Message}
	if !v.Genuine {
		return out, nil
	}
	p := v.Payload
	keys, err := st.StationSigningKeys(ctx, p.StationID)
	if err != nil {
		return out, fmt.Errorf("verify certificate: %w", err)
	}
	own := false
	for _, k := range keys {
		own = own || k.Own
		if k.StationName != "" {
			out.StationName = k.StationName
		}
	}
	day := p.IssueDate
	out.TypeCode, out.SubjectName, out.SubjectID, out.StationID, out.IssueDate = p.TypeCode, p.SubjectName, p.SubjectID, p.StationID, &day
	if lib, err := library(ctx, builtIn, st); err == nil {
		if t, ok := lib.Get(p.TypeCode); ok {
			out.TypeName = t.Name
		}
	}
	out.Genuine, out.Status, out.ReasonCode = true, station.VerifyValid, cert.ReasonGenuine
	if own {
		c, err := st.Certificate(ctx, p.CertificateID)
		switch {
		case station.ErrorCode(err) == station.ENOTFOUND || err == nil && c.Payload != payload:
			return notGenuine(out, ReasonUnknownCertificate, "二维码签名有效，但本站没有该证明的开具记录，不能确认其为真实证明。请到开具证明的服务站核实。"), nil
		case err != nil:
			return out, fmt.Errorf("verify certificate: %w", err)
		}
		if c.TypeName != "" {
			out.TypeName = c.TypeName
		}
		if !c.ValidUntil.IsZero() {
			until := c.ValidUntil
			out.ValidUntil = &until
		}
		switch c.Status {
		case station.CertRevoked:
			return ended(out, station.VerifyRevoked, ReasonRevoked, c.Reason), nil
		case station.CertVoided:
			return ended(out, station.VerifyVoided, ReasonVoided, c.Reason), nil
		case station.CertAwaitingApproval, station.CertPendingPrint:
			return notGenuine(out, ReasonNotIssued, "该证明尚未打印出具（未经打印机确认），不能作为有效证明。"), nil
		}
	}
	rev, err := st.Revocation(ctx, p.StationID, p.CertificateID)
	switch {
	case err == nil:
		return ended(out, station.VerifyRevoked, ReasonRevoked, rev.Reason), nil
	case station.ErrorCode(err) != station.ENOTFOUND:
		return out, fmt.Errorf("verify certificate: %w", err)
	}
	out.Message = fmt.Sprintf("该证明由%s于%s开具，签名验证通过，内容未被改动，未被撤销。", stationLabel(out), cert.FormatDate(day))
	return out, nil
}

func stationLabel(v station.CertificateVerification) string {
	if v.StationName != "" {
		return v.StationName
	}
	return "服务站" + v.StationID
}

func notGenuine(v station.CertificateVerification, reason, message string) station.CertificateVerification {
	v.Genuine, v.Status, v.ReasonCode, v.Message = false, station.VerifyNotGenuine, reason, message
	return v
}

func ended(v station.CertificateVerification, status, reason, why string) station.CertificateVerification {
	v.Status, v.ReasonCode, v.Reason = status, reason, why
	what := "撤销"
	if status == station.VerifyVoided {
		what = "作废"
	}
	// The reason stays out of the message, which the public verification page shows: staff type it.
	v.Message = fmt.Sprintf("该证明由%s开具，签名真实，但已被%s，不再有效。如有疑问请到开具证明的服务站咨询。", stationLabel(v), what)
	return v
}
