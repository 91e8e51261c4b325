package http

import (
	"context"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/civic-station/station/station"
	"github.com/civic-station/station/station/cert"
)

// Certificates is the certificate service (社区证明) the HTTP layer uses; station/issue implements it.
// Methods return *station.Error for what the caller can act on.
type Certificates interface {
	Types(ctx context.Context, all bool) ([]cert.Template, error)
	Check(ctx context.Context, req station.CertificateRequest) (cert.Result, error)
	Issue(ctx context.Context, req station.CertificateRequest) (*station.Certificate, error)
	Certificate(ctx context.Context, id string) (*station.Certificate, error)
	Certificates(ctx context.Context, f station.CertificateFilter) ([]station.Certificate, int, error)
	Preview(ctx context.Context, id string) ([]byte, error)
	PDF(ctx context.Context, id string) ([]byte, error)
	Print(ctx context.Context, id string, actor station.Actor, reprint bool) (*station.Certificate, error)
	Void(ctx context.Context, id string, actor station.Actor, reason string) (*station.Certificate, error)
	Revoke(ctx context.Context, id string, actor station.Actor, reason string) (*station.Certificate, error)
	Rate(ctx context.Context, actor station.Actor, subject, objectID string, score int, channel string) error
	Verify(ctx context.Context, payload string) (station.CertificateVerification, error)
}

// kioskActor is the actor of what a resident does at the kiosk with their card on the reader.
var kioskActor = station.Actor{Username: "kiosk", Role: station.RoleResident}

// certRoutes lists the certificate routes (issuing, printing, verification).
func certRoutes() []route {
	return []route{
		{method: "GET", path: "/api/v1/kiosk/certificates/types", summary: "可自助开具的证明类型（仅限本机）", tag: "kiosk", public: true,
			reply: []certTypeView{}, status: 200, handle: (*Server).handleKioskCertTypes},
		{method: "POST", path: "/api/v1/kiosk/certificates/check", summary: "读卡居民能否开具某类证明（仅限本机）", tag: "kiosk", public: true,
			body: kioskCertCheck{}, reply: certCheckView{}, status: 200, handle: (*Server).handleKioskCertCheck},
		{method: "POST", path: "/api/v1/kiosk/certificates", summary: "读卡居民开具证明（仅限本机）", tag: "kiosk", public: true,
			body: kioskCertIssue{}, reply: certificateView{}, status: 201, handle: (*Server).handleKioskCertIssue},
		{method: "GET", path: "/api/v1/kiosk/certificates/:id/preview.png", summary: "本人证明的预览图（仅限本机）", tag: "kiosk", public: true,
			status: 200, handle: (*Server).handleKioskCertPreview},
		{method: "POST", path: "/api/v1/kiosk/certificates/:id/print", summary: "打印本人证明，打印机确认后出具（仅限本机）", tag: "kiosk", public: true,
			reply: certificateView{}, status: 200, handle: (*Server).handleKioskCertPrint},
		{method: "POST", path: "/api/v1/kiosk/ratings", summary: "好差评（仅限本机）", tag: "kiosk", public: true,
			body: ratingRequest{}, status: 204, handle: (*Server).handleKioskRating},

		{method: "GET", path: "/api/v1/certificates/types", summary: "证明类型（all=1 含已停止开具的）", tag: "certificates", roles: counterRoles,
			query: []queryParam{{"all", "1 含已停止开具的类型"}}, reply: []certTypeView{}, status: 200, handle: (*Server).handleCertTypes},
		{method: "POST", path: "/api/v1/certificates/check", summary: "居民能否开具某类证明", tag: "certificates", roles: counterRoles,
			body: counterCertCheck{}, reply: certCheckView{}, status: 200, handle: (*Server).handleCertCheck},
		{method: "POST", path: "/api/v1/certificates", summary: "为居民开具证明", tag: "certificates", roles: counterRoles,
			body: counterCertIssue{}, reply: certificateView{}, status: 201, handle: (*Server).handleCertIssue},
		{method: "GET", path: "/api/v1/certificates", summary: "证明列表", tag: "certificates", roles: counterRoles,
			query: []queryParam{{"resident_id", "居民编号"}, {"status", "状态"}, {"page", "页码，1至100000"}, {"per_page", "每页条数，1至100，默认20"}},
			reply: certificateList{}, status: 200, handle: (*Server).handleCertList},
		{method: "GET", path: "/api/v1/certificates/:id", summary: "证明详情（审计）", tag: "certificates", roles: counterRoles,
			reply: certificateView{}, status: 200, handle: (*Server).handleCert},
		{method: "GET", path: "/api/v1/certificates/:id/preview.png", summary: "证明预览图（审计）", tag: "certificates", roles: counterRoles,
			status: 200, handle: (*Server).handleCertPreview},
		{method: "GET", path: "/api/v1/certificates/:id/pdf", summary: "证明PDF（审计）", tag: "certificates", roles: counterRoles,
			status: 200, handle: (*Server).handleCertPDF},
		{method: "POST", path: "/api/v1/certificates/:id/print", summary: "打印证明；reprint 为补打", tag: "certificates", roles: counterRoles,
			body: certPrintRequest{}, reply: certificateView{}, status: 200, handle: (*Server).handleCertPrint},
		{method: "POST", path: "/api/v1/certificates/:id/void", summary: "作废证明", tag: "certificates", roles: counterRoles,
			body: certReasonRequest{}, reply: certificateView{}, status: 200, handle: (*Server).handleCertVoid},
		{method: "POST", path: "/api/v1/certificates/:id/revoke", summary: "撤销证明", tag: "certificates", roles: adminRoles,
			body: certReasonRequest{}, reply: certificateView{}, status: 200, handle: (*Server).handleCertRevoke},

		{method: "GET", path: "/api/v1/verify/:payload", summary: "核验证明二维码", tag: "certificates", public: true,
			reply: verifyView{}, status: 200, handle: (*Server).handleVerifyJSON},
		{method: "GET", path: "/verify/:payload", summary: "证明核验页面", tag: "certificates", public: true,
			status: 200, handle: (*Server).handleVerifyPage},
	}
}

func (s *Server) certsReady() error {
	if s.certs == nil {
		return station.Errorf(station.EUNAVAILABLE, "本站未启用证明开具")
	}
	return nil
}

// certTypeView is a certificate type as the kiosk and the counter list it.
type certTypeView struct {
	Code            string          `json:"code"`
	Name            string          `json:"name"`
	Category        cert.Category   `json:"category"`
	CategoryLabel   string          `json:"category_label"`
	NeedsDepartment bool            `json:"needs_department"`
	Department      string          `json:"department,omitempty"`
	ValidityDays    int             `json:"validity_days"`
	Inputs          []certInputView `json:"inputs"`
	Summary         string          `json:"summary"`
	Version         int             `json:"version"`
	Status          cert.Status     `json:"status"`
	WithdrawnReason string          `json:"withdrawn_reason,omitempty"`
}

type certInputView struct {
	Key      string `json:"key"`
	Label    string `json:"label"`
	MaxLen   int    `json:"max_len"`
	Required bool   `json:"required"`
	Hint     string `json:"hint,omitempty"`
}

func viewCertType(t *cert.Template) certTypeView {
	v := certTypeView{Code: t.Code, Name: t.Name, Category: t.Category, CategoryLabel: t.Category.Label(),
		NeedsDepartment: t.NeedsDepartment, Department: t.Department, ValidityDays: t.ValidityDays, Summary: t.Purpose,
		Version: t.Version, Status: t.Status, WithdrawnReason: t.WithdrawnReason, Inputs: []certInputView{}}
	for _, f := range t.Inputs() {
		v.Inputs = append(v.Inputs, certInputView{Key: f.Key, Label: f.Label, MaxLen: f.MaxLen, Required: !f.Optional, Hint: f.Hint})
	}
	return v
}

func (s *Server) listCertTypes(c *fiber.Ctx, all bool) error {
	if err := s.certsReady(); err != nil {
		return err
	}
	types, err := s.certs.Types(c.UserContext(), all)
	if err != nil {
		return err
	}
	out := make([]certTypeView, 0, len(types))
	for i := range types {
		out = append(out, viewCertType(&types[i]))
	}
	return c.JSON(out)
}

// certCheckView is the answer to a precondition check, in plain Chinese.
type certCheckView struct {
	Allowed         bool              `json:"allowed"`
	Failures        []certFailureView `json:"failures"`
	NeedsDepartment bool              `json:"needs_department"`
	Department      string            `json:"department,omitempty"`
}

type certFailureView struct {
	Rule   string `json:"rule"` // the rule type, "withdrawn", or "registered" for a resident the station does not know
	Reason string `json:"reason"`
	Advice string `json:"advice"`
}

func viewCheck(res cert.Result) certCheckView {
	v := certCheckView{Allowed: res.Allowed, NeedsDepartment: res.NeedsApproval, Department: res.Department, Failures: []certFailureView{}}
	for _, f := range res.Failures() {
		rule := string(f.Rule.Type)
		if f.Outcome == cert.OutcomeWithdrawn {
			rule = string(cert.OutcomeWithdrawn)
		}
		v.Failures = append(v.Failures, certFailureView{Rule: rule, Reason: f.Reason, Advice: f.Advice})
	}
	return v
}

// certificateView is a certificate as the kiosk and the counter show it: the subject masked.
type certificateView struct {
	ID                string             `json:"id"`
	Serial            string             `json:"serial"`
	TypeCode          string             `json:"type_code"`
	TypeName          string             `json:"type_name"`
	CategoryLabel     string             `json:"category_label"`
	Status            station.CertStatus `json:"status"`
	StatusLabel       string             `json:"status_label"`
	SubjectName       string             `json:"subject_name"`
	SubjectID         string             `json:"subject_id"`
	IssueDate         station.Date       `json:"issue_date"`
	ValidUntil        *station.Date      `json:"valid_until"`
	PrintCount        int                `json:"print_count"`
	PrintFailures     int                `json:"print_failures"`
	Channel           string             `json:"channel"`
	Reason            string             `json:"reason,omitempty"` // why it was voided or revoked
	ApplicationID     string             `json:"application_id,omitempty"`
	ApplicationNumber string             `json:"application_number,omitempty"`
	Payload           string             `json:"payload"`    // "" until the certificate is numbered at its first print
	VerifyURL         string             `json:"verify_url"` // "" until numbered
	PreviewURL        string             `json:"preview_url"`
}

func viewCertificate(c *station.Certificate, kiosk bool) certificateView {
	v := certificateView{ID: c.ID, Serial: c.Serial, TypeCode: c.TypeCode, TypeName: c.TypeName,
		CategoryLabel: cert.Category(c.Category).Label(), Status: c.Status, StatusLabel: c.Status.Label(),
		SubjectName: c.SubjectNameMasked, SubjectID: c.SubjectIDMasked, IssueDate: c.IssueDate, PrintCount: c.PrintCount,
		PrintFailures: c.PrintFailures, Channel: c.Channel, Reason: c.Reason, ApplicationID: c.ApplicationID,
		ApplicationNumber: c.ApplicationNumber, Payload: c.Payload, VerifyURL: "/verify/" + c.Payload,
		PreviewURL: "/api/v1/certificates/" + c.ID + "/preview.png"}
	if c.Payload == "" { // not numbered yet: nothing to verify
		v.VerifyURL = ""
	}
	if kiosk {
		v.PreviewURL = "/api/v1/kiosk/certificates/" + c.ID + "/preview.png"
		v.Reason = ""
	}
	if !c.ValidUntil.IsZero() {
		d := c.ValidUntil
		v.ValidUntil = &d
	}
	return v
}

// kioskSession is the resident whose card is on this box's reader: the card is the session. resident
// is nil when the station has no record of the card holder.
type kioskSession struct {
	index    string // lookup hash of the card's number
	resident *station.Resident
}

var (
	errNoCardForCertificate = station.Errorf(station.ENOTFOUND, "请刷身份证后办理证明：读卡区没有证件，请将身份证放在读卡区")
	errUnregistered         = station.Errorf(station.ENOTFOUND, "本站没有您的居民登记信息，请到柜台登记后办理证明")
	errNotYourCertificate   = station.Errorf(station.ENOTFOUND, "证明不存在")
)

// kiosk returns the session of the card on the reader. It refuses requests from other machines, and
// answers ENOTFOUND without a card (the kiosk routes are public: a refusal with 401 or 403 would
// invite a login the kiosk has not got).
func (s *Server) kiosk(c *fiber.Ctx) (*kioskSession, error) {
	if err := localOnly(c); err != nil {
		return nil, err
	}
	if err := s.certsReady(); err != nil {
		return nil, err
	}
	if s.devices == nil {
		return nil, errNoDevices()
	}
	card := s.devices.Card()
	if card == nil {
		return nil, errNoCardForCertificate
	}
	sess := &kioskSession{index: s.sealer.Index(card.DocumentType(), card.IDNumber)}
	r, err := s.store.ResidentByIndex(c.UserContext(), sess.index)
	switch {
	case err == nil:
		sess.resident = r
	case station.ErrorCode(err) != station.ENOTFOUND:
		return nil, err
	}
	return sess, nil
}

// ownCertificate returns a certificate of the kiosk session's resident; anyone else's is ENOTFOUND.
func (s *Server) ownCertificate(c *fiber.Ctx) (*station.Certificate, error) {
	sess, err := s.kiosk(c)
	if err != nil {
		return nil, err
	}
	if sess.resident == nil {
		return nil, errNotYourCertificate
	}
	ct, err := s.certs.Certificate(c.UserContext(), c.Params("id"))
	if station.ErrorCode(err) == station.ENOTFOUND || err == nil && ct.ResidentID != sess.resident.ID {
		return nil, errNotYourCertificate
	}
	return ct, err
}

func (s *Server) handleKioskCertTypes(c *fiber.Ctx) error {
	if _, err := s.kiosk(c); err != nil {
		return err
	}
	return s.listCertTypes(c, false)
}

type kioskCertCheck struct {
	TypeCode string `json:"type_code"`
}

func (s *Server) handleKioskCertCheck(c *fiber.Ctx) error {
	sess, err := s.kiosk(c)
	if err != nil {
		return err
	}
	var req kioskCertCheck
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if sess.resident == nil {
		return c.JSON(certCheckView{Failures: []certFailureView{{Rule: "registered", Reason: "本站没有您的居民登记信息。",
			Advice: "请携带身份证到柜台登记后再办理证明。"}}})
	}
	res, err := s.certs.Check(c.UserContext(), station.CertificateRequest{ResidentID: sess.resident.ID, TypeCode: req.TypeCode,
		Channel: station.ChannelKiosk, Actor: kioskActor, CardVerified: true})
	if err != nil {
		return err
	}
	return c.JSON(viewCheck(res))
}

type kioskCertIssue struct {
	TypeCode string            `json:"type_code"`
	Inputs   map[string]string `json:"inputs"`
}

func (s *Server) handleKioskCertIssue(c *fiber.Ctx) error {
	sess, err := s.kiosk(c)
	if err != nil {
		return err
	}
	var req kioskCertIssue
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if sess.resident == nil {
		return errUnregistered
	}
	ct, err := s.certs.Issue(c.UserContext(), station.CertificateRequest{ResidentID: sess.resident.ID, TypeCode: req.TypeCode,
		Inputs: req.Inputs, Channel: station.ChannelKiosk, Actor: kioskActor, CardVerified: true})
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(viewCertificate(ct, true))
}

func (s *Server) handleKioskCertPreview(c *fiber.Ctx) error {
	ct, err := s.ownCertificate(c)
	if err != nil {
		return err
	}
	return s.sendPreview(c, ct.ID)
}

func (s *Server) sendPreview(c *fiber.Ctx, id string) error {
	png, err := s.certs.Preview(c.UserContext(), id)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "image/png")
	c.Set(fiber.HeaderCacheControl, "private, no-store")
	return c.Send(png)
}

func (s *Server) handleKioskCertPrint(c *fiber.Ctx) error {
	ct, err := s.ownCertificate(c)
	if err != nil {
		return err
	}
	printed, err := s.certs.Print(c.UserContext(), ct.ID, kioskActor, false)
	if err != nil {
		return err
	}
	return c.JSON(viewCertificate(printed, true))
}

type ratingRequest struct {
	Subject string `json:"subject"` // certificate or application
	ID      string `json:"id"`
	Score   int    `json:"score"` // 1 不满意, 2 基本满意, 3 满意
}

// handleKioskRating records the card holder's rating of one of their certificates or applications.
func (s *Server) handleKioskRating(c *fiber.Ctx) error {
	sess, err := s.kiosk(c)
	if err != nil {
		return err
	}
	var req ratingRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	ctx := c.UserContext()
	switch req.Subject {
	case station.RateCertificate:
		ct, err := s.certs.Certificate(ctx, req.ID)
		if err != nil || sess.resident == nil || ct.ResidentID != sess.resident.ID {
			return station.Errorf(station.ENOTFOUND, "评价的证明不存在")
		}
	case station.RateApplication:
		a, err := s.store.Application(ctx, req.ID)
		if err != nil || a.Applicant.IDNumber.Index != sess.index {
			return station.Errorf(station.ENOTFOUND, "评价的办件不存在")
		}
	default:
		return station.Errorf(station.EINVALID, "评价对象应为证明（certificate）或办件（application）")
	}
	if err := s.certs.Rate(ctx, kioskActor, req.Subject, req.ID, req.Score, station.ChannelKiosk); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

func (s *Server) handleCertTypes(c *fiber.Ctx) error {
	return s.listCertTypes(c, c.Query("all") == "1")
}

type counterCertCheck struct {
	ResidentID string `json:"resident_id"`
	TypeCode   string `json:"type_code"`
}

// counterRequest builds a request for a resident served at the counter: staff check the identity
// document in person, which satisfies card_verified.
func counterRequest(c *fiber.Ctx, residentID, code string, inputs map[string]string) station.CertificateRequest {
	return station.CertificateRequest{ResidentID: residentID, TypeCode: code, Inputs: inputs, Channel: station.ChannelCounter,
		Actor: caller(c).actor(), CardVerified: true}
}

func (s *Server) handleCertCheck(c *fiber.Ctx) error {
	if err := s.certsReady(); err != nil {
		return err
	}
	var req counterCertCheck
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if req.ResidentID == "" || req.TypeCode == "" {
		return station.Errorf(station.EINVALID, "请选择居民和证明类型")
	}
	res, err := s.certs.Check(c.UserContext(), counterRequest(c, req.ResidentID, req.TypeCode, nil))
	if err != nil {
		return err
	}
	if err := s.recordAccess(c, "resident:"+req.ResidentID, "certificate_check"); err != nil {
		return err
	}
	return c.JSON(viewCheck(res))
}

type counterCertIssue struct {
	ResidentID string            `json:"resident_id"`
	TypeCode   string            `json:"type_code"`
	Inputs     map[string]string `json:"inputs"`
}

func (s *Server) handleCertIssue(c *fiber.Ctx) error {
	if err := s.certsReady(); err != nil {
		return err
	}
	var req counterCertIssue
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if req.ResidentID == "" || req.TypeCode == "" {
		return station.Errorf(station.EINVALID, "请选择居民和证明类型")
	}
	ct, err := s.certs.Issue(c.UserContext(), counterRequest(c, req.ResidentID, req.TypeCode, req.Inputs))
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(viewCertificate(ct, false))
}

type certificateList struct {
	Items []certificateView `json:"items"`
	Total int               `json:"total"`
}

func (s *Server) handleCertList(c *fiber.Ctx) error {
	if err := s.certsReady(); err != nil {
		return err
	}
	f := station.CertificateFilter{ResidentID: c.Query("resident_id"), Status: station.CertStatus(c.Query("status"))}
	if f.Status != "" && !f.Status.Valid() {
		return station.Errorf(station.EINVALID, "状态“%s”无效", f.Status)
	}
	page, perPage, err := paging(c)
	if err != nil {
		return err
	}
	f.Offset, f.Limit = (page-1)*perPage, perPage
	items, total, err := s.certs.Certificates(c.UserContext(), f)
	if err != nil {
		return err
	}
	if f.ResidentID != "" {
		if err := s.recordAccess(c, "resident:"+f.ResidentID, "certificates"); err != nil {
			return err
		}
	}
	out := certificateList{Items: make([]certificateView, 0, len(items)), Total: total}
	for i := range items {
		out.Items = append(out.Items, viewCertificate(&items[i], false))
	}
	return c.JSON(out)
}

// staffCertificate returns a certificate for staff and audits the read.
func (s *Server) staffCertificate(c *fiber.Ctx, purpose string) (*station.Certificate, error) {
	if err := s.certsReady(); err != nil {
		return nil, err
	}
	ct, err := s.certs.Certificate(c.UserContext(), c.Params("id"))
	if err != nil {
		return nil, err
	}
	if err := s.recordAccess(c, "certificate:"+ct.ID, purpose); err != nil {
		return nil, err
	}
	return ct, nil
}

func (s *Server) handleCert(c *fiber.Ctx) error {
	ct, err := s.staffCertificate(c, "view")
	if err != nil {
		return err
	}
	return c.JSON(viewCertificate(ct, false))
}

func (s *Server) handleCertPreview(c *fiber.Ctx) error {
	ct, err := s.staffCertificate(c, "preview")
	if err != nil {
		return err
	}
	return s.sendPreview(c, ct.ID)
}

func (s *Server) handleCertPDF(c *fiber.Ctx) error {
	ct, err := s.staffCertificate(c, "pdf")
	if err != nil {
		return err
	}
	doc, err := s.certs.PDF(c.UserContext(), ct.ID)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "application/pdf")
	c.Set(fiber.HeaderContentDisposition, `inline; filename="`+ct.Serial+`.pdf"`)
	c.Set(fiber.HeaderCacheControl, "private, no-store")
	return c.Send(doc)
}

type certPrintRequest struct {
	Reprint bool `json:"reprint"` // 补打: a new PDF marked 补打, audited
}

func (s *Server) handleCertPrint(c *fiber.Ctx) error {
	if err := s.certsReady(); err != nil {
		return err
	}
	var req certPrintRequest
	if len(strings.TrimSpace(string(c.Body()))) > 0 {
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
	}
	ct, err := s.certs.Print(c.UserContext(), c.Params("id"), caller(c).actor(), req.Reprint)
	if err != nil {
		return err
	}
	return c.JSON(viewCertificate(ct, false))
}

type certReasonRequest struct {
	Reason string `json:"reason"`
}

func (s *Server) endCertificate(c *fiber.Ctx, end func(context.Context, string, station.Actor, string) (*station.Certificate, error)) error {
	var req certReasonRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	ct, err := end(c.UserContext(), c.Params("id"), caller(c).actor(), req.Reason)
	if err != nil {
		return err
	}
	return c.JSON(viewCertificate(ct, false))
}

func (s *Server) handleCertVoid(c *fiber.Ctx) error {
	if err := s.certsReady(); err != nil {
		return err
	}
	return s.endCertificate(c, s.certs.Void)
}

func (s *Server) handleCertRevoke(c *fiber.Ctx) error {
	if err := s.certsReady(); err != nil {
		return err
	}
	return s.endCertificate(c, s.certs.Revoke)
}

// verifyView is the public answer of /api/v1/verify: no reason typed by staff, the subject masked.
type verifyView struct {
	Genuine     bool          `json:"genuine"`
	Status      string        `json:"status"`
	ReasonCode  string        `json:"reason_code"`
	Message     string        `json:"message"`
	TypeCode    string        `json:"type_code,omitempty"`
	TypeName    string        `json:"type_name,omitempty"`
	SubjectName string        `json:"subject_name,omitempty"`
	SubjectID   string        `json:"subject_id,omitempty"`
	StationID   string        `json:"station_id,omitempty"`
	StationName string        `json:"station_name,omitempty"`
	IssueDate   *station.Date `json:"issue_date,omitempty"`
	ValidUntil  *station.Date `json:"valid_until,omitempty"`
}

func (s *Server) verify(c *fiber.Ctx) (verifyView, error) {
	if err := s.certsReady(); err != nil {
		return verifyView{}, err
	}
	v, err := s.certs.Verify(c.UserContext(), c.Params("payload"))
	if err != nil {
		return verifyView{}, err
	}
	return verifyView{Genuine: v.Genuine, Status: v.Status, ReasonCode: v.ReasonCode, Message: v.Message, TypeCode: v.TypeCode,
		TypeName: v.TypeName, SubjectName: v.SubjectName, SubjectID: v.SubjectID, StationID: v.StationID,
		StationName: v.StationName, IssueDate: v.IssueDate, ValidUntil: v.ValidUntil}, nil
}

func (s *Server) handleVerifyJSON(c *fiber.Ctx) error {
	v, err := s.verify(c)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(v)
}
