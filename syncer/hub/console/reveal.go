package console

import (
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/civic-station/station/station"
)

// Revealer opens the hub's copy of a sealed ID number, SealedID.Hub (station/revealkey.PrivateKey).
// It fails for a copy that is missing, altered, moved from another record or sealed to another key.
type Revealer interface {
	Open(s station.SealedID) (string, error)
}

// The bounds of a reveal's reason, in characters.
const (
	minRevealReason = 4
	maxRevealReason = 200
)

// auditReveal is the audit action of every reveal, allowed or refused.
const auditReveal = "reveal.id_number"

var (
	errRevealReason = &station.Error{Code: station.EINVALID, Message: "请填写查看完整证件号码的原因（至少4个字）", Field: "reason",
		Detail: "a reason of at least 4 characters is required to reveal the full ID number"}
	errRevealReasonLong = &station.Error{Code: station.EINVALID, Message: "原因不超过200个字", Field: "reason",
		Detail: "the reason must be at most 200 characters"}
	errNoHubCopy = &station.Error{Code: station.ECONFLICT,
		Message: "该办件受理时服务站尚未取得数据中心的查看密钥，完整证件号码未为数据中心保留；如需核对，请联系受理的服务站",
		Detail:  "the station sealed this ID number before it knew the hub's reveal key: the full number was not kept for the data center"}
	errHubCopyUnreadable = &station.Error{Code: station.ECONFLICT,
		Message: "数据中心无法解开该办件的完整证件号码（可能使用了已更换的查看密钥）；如需核对，请联系受理的服务站",
		Detail:  "the hub's copy of the ID number does not open with the hub's current reveal key"}
	errNoRevealer = &station.Error{Code: station.EUNAVAILABLE, Message: "数据中心未配置证件号码查看密钥，暂不能查看完整证件号码",
		Detail: "this hub runs without a reveal key"}
)

type revealRequest struct {
	Reason string `json:"reason"`
}

// revealView is the answer of a reveal: the full number, never cached.
type revealView struct {
	IDType      station.IDType `json:"id_type"`
	IDTypeLabel string         `json:"id_type_label"`
	IDNumber    string         `json:"id_number"`
	Masked      string         `json:"masked"`
}

// handleReveal shows a clerk the applicant's full ID number of an application of the clerk's
// department, for a stated reason. Every attempt that reaches it — allowed, or refused for a missing
// reason, another department's application, or a number without a hub copy — is audited with the
// account, the application, the reason and the result; the number itself never is. The answer carries
// Cache-Control: no-store.
func (s *Server) handleReveal(w http.ResponseWriter, r *http.Request, p *principal) error {
	object := revealObject(r)
	var req revealRequest
	number, sealed, err := s.reveal(r, p, &req)
	result := "ok"
	if err != nil {
		result = station.ErrorCode(err)
	}
	if aerr := s.audit(r.Context(), p, auditReveal, object, result, revealDetail(req.Reason)); aerr != nil {
		return aerr
	}
	if err != nil {
		return err
	}
	s.cfg.Logger.Info("ID number revealed", "object", object, "by", p.user.Username)
	w.Header().Set("Cache-Control", "private, no-store")
	w.Header().Set("Pragma", "no-cache")
	writeJSON(w, http.StatusOK, revealView{IDType: sealed.Type, IDTypeLabel: sealed.Type.Label(), IDNumber: number, Masked: sealed.Masked})
	return nil
}

// reveal checks the request and opens the number; req gets the request as decoded, for the audit.
func (s *Server) reveal(r *http.Request, p *principal, req *revealRequest) (string, station.SealedID, error) {
	if err := decodeJSON(r, req); err != nil {
		return "", station.SealedID{}, err
	}
	req.Reason = strings.TrimSpace(req.Reason)
	switch n := utf8.RuneCountInString(req.Reason); {
	case n < minRevealReason:
		return "", station.SealedID{}, errRevealReason
	case n > maxRevealReason:
		return "", station.SealedID{}, errRevealReasonLong
	}
	c, err := s.clerkCase(r, p)
	if err != nil {
		return "", station.SealedID{}, err
	}
	sealed := c.Applicant.IDNumber
	if sealed.Hub == "" {
		return "", sealed, errNoHubCopy
	}
	if s.cfg.Revealer == nil {
		return "", sealed, errNoRevealer
	}
	number, err := s.cfg.Revealer.Open(sealed)
	if err != nil {
		s.cfg.Logger.Warn("the hub copy of an ID number does not open", "station", c.StationID, "application", c.ID, "err", err)
		return "", sealed, errHubCopyUnreadable
	}
	return number, sealed, nil
}

// revealDetail is the audit detail of a reveal: the reason as typed (trimmed, at most
// maxRevealReason characters kept), never the number.
func revealDetail(reason string) string {
	reason = strings.TrimSpace(reason)
	if utf8.RuneCountInString(reason) > maxRevealReason {
		reason = string([]rune(reason)[:maxRevealReason]) + "…"
	}
	return "reason: " + reason
}

// auditRefused audits a reveal its route refused before the handler ran (for the caller's role).
func (s *Server) auditRefused(r *http.Request, p *principal, err error) error {
	var req revealRequest
	_ = decodeJSON(r, &req) // the reason, if the body gives one
	return s.audit(r.Context(), p, auditReveal, revealObject(r), station.ErrorCode(err), revealDetail(req.Reason))
}

// revealObject names the application of a reveal request for the audit log, as caseObject does.
func revealObject(r *http.Request) string {
	return "application:" + r.PathValue("station") + "/" + r.PathValue("id")
}
