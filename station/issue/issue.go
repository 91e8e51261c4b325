// Package issue is the station's certificate service (社区证明): it checks a resident against a
// certificate type's preconditions, fills the text, signs the QR payload, renders the PDF and its
// preview, stores the PDF and records the certificate by a command; it prints on the A4 printer and
// records the print only once the printer confirmed it; and it verifies QR payloads against the
// station's key ring and store (Verify, shared by the HTTP API and `station cert verify`).
//
// The certificate model is station/cert, the renderer station/pdf; the service holds no SQL and no
// HTTP. Its store, log, blob store and printer are small interfaces declared here; cmd/station wires
// station/sqlite, station/blob and the device rig into them.
package issue

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/civic-station/station/devices"
	"github.com/civic-station/station/station"
	"github.com/civic-station/station/station/cert"
	"github.com/civic-station/station/station/pdf"
)

// Store is the read side the service needs; station/sqlite implements it. Methods return
// *station.Error with ENOTFOUND for an object that does not exist.
type Store interface {
	VerifyStore
	Resident(ctx context.Context, id string) (*station.Resident, error)
	Matters(ctx context.Context, f station.MatterFilter) ([]station.Matter, error)
	Certificates(ctx context.Context, f station.CertificateFilter) ([]station.Certificate, int, error)
	IssuedCertificates(ctx context.Context, residentID string) ([]cert.Issued, error)
}

// VerifyStore is what verification reads: the key ring, the station's certificates, the data center's
// revocations and the published templates (for type names).
type VerifyStore interface {
	Certificate(ctx context.Context, id string) (*station.Certificate, error)
	SigningKey(ctx context.Context, keyID string) (*station.SigningKeyInfo, error)
	StationSigningKeys(ctx context.Context, stationID string) ([]station.SigningKeyInfo, error)
	Revocation(ctx context.Context, stationID, certificateID string) (*station.Revocation, error)
	CertificateTemplates(ctx context.Context) ([]cert.Template, error)
}

// Blobs is the content-addressed file store; Put is durable (fsynced) when it returns.
type Blobs interface {
	Put(r io.Reader) (sha256 string, size int64, err error)
	Open(sha256 string) (io.ReadCloser, error)
}

// Printer prints a PDF on A4 paper and returns nil only when the printer confirmed the job as
// completed (devices.DocumentPrinter's contract).
type Printer interface {
	PrintPDF(ctx context.Context, name string, pdf []byte) error
}

// HubCopier adds the data center's copy to a sealed ID number (station.Sealer.HubCopy; datakey.Key).
type HubCopier interface {
	HubCopy(s station.SealedID) (station.SealedID, error)
}

// Config carries the service's dependencies. Store, Log and Blobs are required.
type Config struct {
	Store   Store
	Log     station.Log
	Blobs   Blobs
	Printer Printer // nil when the box has no A4 printer
	// PrinterName is recorded with each confirmed print.
	PrinterName string
	// Station is what certificates print about the issuing station; Name is required.
	Station cert.StationInfo
	// Seal is a PNG of the station's seal; nil generates a demo seal for the station's community.
	Seal []byte
	// Sealer adds the data center's copy of the applicant's ID number to the application through which
	// a department verifies a certificate; nil: the application carries the resident's sealed number as
	// stored, which the data center cannot reveal.
	Sealer HubCopier
	Now    func() time.Time // defaults to time.Now
	NewID  func() string    // UUIDv7 strings; defaults to uuid.NewV7
	Logger *slog.Logger     // defaults to discard
}

// PreviewDPI is the resolution of the on-screen preview.
const PreviewDPI = 100

// PrintTimeout bounds one print job, from submission to the printer's confirmation.
const PrintTimeout = 3 * time.Minute

// Service issues, prints and verifies certificates.
type Service struct {
	cfg     Config
	issuer  atomic.Pointer[issuer] // set by New, changed by SetStation
	builtIn cert.Library
	signer  atomic.Pointer[cert.Signer]

	issueMu sync.Mutex // serializes the precondition check and the command of each issue, and numbering
	printMu sync.Mutex // one print job at a time
}

// New returns a service. It generates the demo seal when cfg.Seal is nil. The service cannot issue
// until SetSigner gives it the station's signing key.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil || cfg.Log == nil || cfg.Blobs == nil {
		return nil, errors.New("issue: Store, Log and Blobs are required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.NewID == nil {
		cfg.NewID = func() string { return uuid.Must(uuid.NewV7()).String() }
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Service{cfg: cfg, builtIn: cert.BuiltIn()}
	if err := s.SetStation(cfg.Station); err != nil {
		return nil, err
	}
	return s, nil
}

// issuer is what certificates print about the station, with its seal.
type issuer struct {
	info cert.StationInfo
	seal []byte
}

// SetStation changes what certificates print about the station from now on (the first-run setup sets
// the community without a restart); without Config.Seal the seal is generated anew for it. Name is
// required.
func (s *Service) SetStation(info cert.StationInfo) error {
	if strings.TrimSpace(info.Name) == "" {
		return errors.New("issue: the station's name is required")
	}
	seal := s.cfg.Seal
	if seal == nil {
		name := info.Name
		if info.Community != "" {
			name = info.Community + "居民委员会"
		}
		var err error
		if seal, err = pdf.Seal(name); err != nil {
			return fmt.Errorf("issue: generate the seal: %w", err)
		}
	}
	s.issuer.Store(&issuer{info: info, seal: seal})
	return nil
}

// SetSigner gives the service the station's signing key. It may be called again (after enrollment).
func (s *Service) SetSigner(sg *cert.Signer) { s.signer.Store(sg) }

// Signer returns the station's signing key, nil before SetSigner.
func (s *Service) Signer() *cert.Signer { return s.signer.Load() }

// StationInfo returns what certificates print about the station.
func (s *Service) StationInfo() cert.StationInfo { return s.issuer.Load().info }

// Library returns the station's certificate library: the built-in one with the templates the data
// center published (a published template replaces a built-in one of a lower version).
func (s *Service) Library(ctx context.Context) (cert.Library, error) {
	return library(ctx, s.builtIn, s.cfg.Store)
}

func library(ctx context.Context, builtIn cert.Library, st VerifyStore) (cert.Library, error) {
	lib := builtIn.Clone()
	published, err := st.CertificateTemplates(ctx)
	if err != nil {
		return cert.Library{}, err
	}
	for _, t := range published {
		if held, ok := lib.Get(t.Code); ok && held.Version >= t.Version {
			continue
		}
		if err := lib.Upsert(t); err != nil {
			return cert.Library{}, fmt.Errorf("published certificate template %s: %w", t.Code, err)
		}
	}
	return lib, nil
}

// Types returns the active certificate types, or with all every type (withdrawn ones too), by code.
func (s *Service) Types(ctx context.Context, all bool) ([]cert.Template, error) {
	lib, err := s.Library(ctx)
	if err != nil {
		return nil, err
	}
	if all {
		return lib.Templates(), nil
	}
	return lib.Active(), nil
}

func (s *Service) template(ctx context.Context, code string) (cert.Template, error) {
	lib, err := s.Library(ctx)
	if err != nil {
		return cert.Template{}, err
	}
	t, ok := lib.Get(code)
	if !ok {
		return cert.Template{}, station.Errorf(station.ENOTFOUND, "证明类型%s不存在", code)
	}
	return t, nil
}

// Check evaluates the preconditions of req.TypeCode for the resident today.
func (s *Service) Check(ctx context.Context, req station.CertificateRequest) (cert.Result, error) {
	t, err := s.template(ctx, req.TypeCode)
	if err != nil {
		return cert.Result{}, err
	}
	r, err := s.cfg.Store.Resident(ctx, req.ResidentID)
	if err != nil {
		return cert.Result{}, err
	}
	return s.check(ctx, &t, r, req.CardVerified, station.DateOf(s.cfg.Now()))
}

func (s *Service) check(ctx context.Context, t *cert.Template, r *station.Resident, cardVerified bool, today station.Date) (cert.Result, error) {
	history, err := s.cfg.Store.IssuedCertificates(ctx, r.ID)
	if err != nil {
		return cert.Result{}, err
	}
	return t.Check(cert.SubjectOf(*r, r.RegisteredSince, cardVerified), history, today), nil
}

// refusal turns a failed check into the error Issue returns: EFORBIDDEN when only the identity check
// failed (the resident must use the card reader or see staff), ECONFLICT otherwise; the message holds
// every reason and what to do instead.
func refusal(res cert.Result) error {
	code := station.EFORBIDDEN
	for _, c := range res.Failures() {
		if c.Rule.Type != cert.RuleCardVerified {
			code = station.ECONFLICT
		}
	}
	return station.Errorf(code, "%s", res.Message())
}

// Issue checks, fills, renders and records a certificate for a resident, unnumbered: the PDF it stores
// is the preview, which shows PreviewSerial for the serial, is marked 预览 and carries no signed QR
// code. The certificate is numbered, signed and rendered for good when it is printed (Print), so a
// preview that is never printed leaves no gap in the register. When the type needs a department's
// verification it first takes an application for the department's 证明核实 matter, and the certificate
// waits for its approval (awaiting_approval); otherwise it waits for the printer (pending_print). A
// resident who does not meet the preconditions gets ECONFLICT (EFORBIDDEN when only the card was
// missing) with every reason in Chinese; an input that is missing or too long EINVALID.
func (s *Service) Issue(ctx context.Context, req station.CertificateRequest) (*station.Certificate, error) {
	if s.signer.Load() == nil {
		return nil, station.Errorf(station.EUNAVAILABLE, "本站的证明签名密钥尚未就绪，暂不能开具证明")
	}
	t, err := s.template(ctx, req.TypeCode)
	if err != nil {
		return nil, err
	}
	if req.Channel != station.ChannelKiosk && req.Channel != station.ChannelCounter {
		return nil, station.Errorf(station.EINVALID, "办理渠道无效")
	}
	s.issueMu.Lock()
	defer s.issueMu.Unlock()
	r, err := s.cfg.Store.Resident(ctx, req.ResidentID)
	if err != nil {
		return nil, err
	}
	today := station.DateOf(s.cfg.Now())
	res, err := s.check(ctx, &t, r, req.CardVerified, today)
	if err != nil {
		return nil, err
	}
	if !res.Allowed {
		return nil, refusal(res)
	}
	var matter *station.Matter
	if t.NeedsDepartment {
		if matter, err = s.verificationMatter(ctx, t.Department); err != nil {
			return nil, err
		}
	}
	id := s.cfg.NewID()
	inputs := map[string]string{}
	for _, f := range t.Inputs() {
		if v := strings.TrimSpace(req.Inputs[f.Key]); v != "" {
			inputs[f.Key] = v
		}
	}
	subj := cert.SubjectOf(*r, r.RegisteredSince, req.CardVerified)
	filled, err := t.Fill(t.Values(subj, s.StationInfo(), inputs, cert.Issue{Serial: station.PreviewSerial, Date: today}))
	if err != nil {
		return nil, err
	}
	text := textOf(filled)
	doc, err := s.render(text, station.PreviewSerial, today, previewQR, "预览")
	if err != nil {
		return nil, err
	}
	sha, _, err := s.cfg.Blobs.Put(bytes.NewReader(doc))
	if err != nil {
		return nil, fmt.Errorf("store certificate preview PDF: %w", err)
	}
	cmd := station.CertificateIssue{
		CertificateID: id, TypeCode: t.Code, TypeName: t.Name, Category: string(t.Category),
		TemplateVersion: t.Version, ResidentID: r.ID, SubjectNameMasked: station.MaskName(r.Name),
		SubjectIDMasked: r.IDNumber.Masked, Filled: text, Inputs: inputs, PDFSHA256: sha, IssueDate: today, Channel: req.Channel,
	}
	if t.ValidityDays > 0 {
		cmd.ValidUntil = cert.ValidUntil(today, t.ValidityDays)
	}
	if matter != nil {
		if cmd.ApplicationID, err = s.applyForVerification(ctx, req.Actor, matter, r, &t); err != nil {
			return nil, err
		}
	}
	if err := s.submit(ctx, station.CmdCertificateIssue, req.Actor, cmd); err != nil {
		return nil, err
	}
	s.cfg.Logger.Info("certificate requested", "certificate", id, "type", t.Code, "channel", req.Channel,
		"awaiting_approval", cmd.ApplicationID != "")
	return s.cfg.Store.Certificate(ctx, id)
}

// previewQR is what the QR code of a preview holds: no payload, so a photo of the screen never verifies.
const previewQR = "预览，不是证明：编号和核验码在打印时生成"

// number gives a certificate about to be printed for the first time its serial (certificate.number:
// the register picks the day's next one) and then its final text, signed payload and PDF
// (certificate.sign). Each step is skipped when done: after a crash or a failed print the same serial
// is used again, never a new one. Before the serial is given, the preconditions are checked again on
// the day of printing (a department's approval stands for them).
func (s *Service) number(ctx context.Context, c *station.Certificate, actor station.Actor) (*station.Certificate, error) {
	signer := s.signer.Load()
	if signer == nil {
		return nil, station.Errorf(station.EUNAVAILABLE, "本站的证明签名密钥尚未就绪，暂不能打印证明")
	}
	t, err := s.template(ctx, c.TypeCode)
	if err != nil {
		return nil, err
	}
	if t.Status != cert.StatusActive {
		return nil, station.Errorf(station.ECONFLICT, "证明“%s”已停止开具：%s", t.Name, t.WithdrawnReason)
	}
	r, err := s.cfg.Store.Resident(ctx, c.ResidentID)
	if err != nil {
		return nil, err
	}
	s.issueMu.Lock()
	defer s.issueMu.Unlock()
	if !c.Numbered() {
		if c.ApplicationID == "" {
			res, err := s.check(ctx, &t, r, true, station.DateOf(s.cfg.Now()))
			if err != nil {
				return nil, err
			}
			if !res.Allowed {
				return nil, refusal(res)
			}
		}
		if err := s.submit(ctx, station.CmdCertificateNumber, actor, station.CertificateNumber{CertificateID: c.ID}); err != nil {
			return nil, err
		}
		if c, err = s.cfg.Store.Certificate(ctx, c.ID); err != nil {
			return nil, err
		}
	}
	day := c.IssueDate
	filled, err := t.Fill(t.Values(cert.SubjectOf(*r, r.RegisteredSince, true), s.StationInfo(), c.Inputs, cert.Issue{Serial: c.Serial, Date: day}))
	if err != nil {
		return nil, err
	}
	hash := cert.ContentHash(filled, c.Serial)
	payload, err := signer.Sign(cert.Payload{CertificateID: c.ID, TypeCode: t.Code, SubjectName: c.SubjectNameMasked,
		SubjectID: c.SubjectIDMasked, IssueDate: day, ContentHash: hash})
	if err != nil {
		return nil, err
	}
	text := textOf(filled)
	doc, err := s.render(text, c.Serial, day, payload, "")
	if err != nil {
		return nil, err
	}
	sha, _, err := s.cfg.Blobs.Put(bytes.NewReader(doc))
	if err != nil {
		return nil, fmt.Errorf("store certificate PDF: %w", err)
	}
	sign := station.CertificateSign{CertificateID: c.ID, Serial: c.Serial, TemplateVersion: t.Version, Filled: text,
		ContentHash: hex.EncodeToString(hash), Payload: payload, PDFSHA256: sha, IssueDate: day}
	if t.ValidityDays > 0 {
		sign.ValidUntil = cert.ValidUntil(day, t.ValidityDays)
	}
	if err := s.submit(ctx, station.CmdCertificateSign, actor, sign); err != nil {
		return nil, err
	}
	s.cfg.Logger.Info("certificate numbered", "certificate", c.ID, "serial", c.Serial, "type", t.Code)
	return s.cfg.Store.Certificate(ctx, c.ID)
}

// verificationMatter finds the active 证明核实 matter of a department.
func (s *Service) verificationMatter(ctx context.Context, department string) (*station.Matter, error) {
	ms, err := s.cfg.Store.Matters(ctx, station.MatterFilter{Category: station.CertificateMatterCategory, Department: department})
	if err != nil {
		return nil, err
	}
	if len(ms) == 0 {
		return nil, station.Errorf(station.EUNAVAILABLE, "本站的事项目录中没有“%s”的证明核实事项，暂不能开具需要该部门核实的证明，请联系站点管理员", department)
	}
	return &ms[0], nil
}

// applyForVerification takes the application through which the department verifies a certificate
// (受理): every material of the matter counts as provided, since the applicant's identity was checked.
func (s *Service) applyForVerification(ctx context.Context, actor station.Actor, m *station.Matter, r *station.Resident, t *cert.Template) (string, error) {
	mats := make([]station.MaterialCheck, 0, len(m.Materials))
	for _, mat := range m.Materials {
		mats = append(mats, station.MaterialCheck{Code: mat.Code, Provided: true})
	}
	sealed := r.IDNumber
	if s.cfg.Sealer != nil {
		var err error
		if sealed, err = s.cfg.Sealer.HubCopy(r.IDNumber); err != nil {
			return "", fmt.Errorf("seal the applicant's number for the data center: %w", err)
		}
	}
	id := s.cfg.NewID()
	in := station.ApplicationIntake{
		ApplicationID: id, MatterCode: m.Code, Materials: mats,
		Applicant: station.Applicant{ResidentID: r.ID, IDNumber: sealed, IDLast4: station.IDLast4(r.IDNumber.Masked), Name: r.Name, Phone: r.Phone},
		Note:      fmt.Sprintf("开具证明“%s”（%s）前需%s核实", t.Name, t.Code, t.Department),
	}
	if err := s.submit(ctx, station.CmdApplicationIntake, actor, in); err != nil {
		return "", err
	}
	return id, nil
}

// textOf converts station/cert's filled text into the store's form.
func textOf(f cert.Filled) station.CertificateText {
	return station.CertificateText{Code: f.Code, Version: f.Version, Title: f.Title, Body: slices.Clone(f.Body),
		Seal: f.Seal, Signature: f.Signature, Footer: slices.Clone(f.Footer)}
}

// render draws a certificate's PDF; mark is printed beside the title (补打 on a reprint).
func (s *Service) render(t station.CertificateText, serial string, day station.Date, payload, mark string) ([]byte, error) {
	paragraphs := slices.Clone(t.Body)
	if t.Signature != "" {
		paragraphs = append(paragraphs, t.Signature)
	}
	caption := ""
	if payload == previewQR {
		caption = "预览，不能核验"
	}
	is := s.issuer.Load()
	return pdf.Render(pdf.Certificate{Title: t.Title, Paragraphs: paragraphs, Serial: serial, IssueDate: day,
		StationName: is.info.Name, Issuer: t.Seal, Seal: is.seal, QRPayload: payload, QRCaption: caption, Footer: t.Footer, Mark: mark})
}

func (s *Service) submit(ctx context.Context, kind station.CommandKind, actor station.Actor, payload any) error {
	cmd, err := station.NewCommand(s.cfg.NewID(), kind, s.cfg.Now(), actor, payload)
	if err != nil {
		return err
	}
	_, err = s.cfg.Log.Submit(ctx, cmd)
	return err
}

// Certificate returns one certificate.
func (s *Service) Certificate(ctx context.Context, id string) (*station.Certificate, error) {
	return s.cfg.Store.Certificate(ctx, id)
}

// Certificates lists certificates, newest first, with the number that match.
func (s *Service) Certificates(ctx context.Context, f station.CertificateFilter) ([]station.Certificate, int, error) {
	return s.cfg.Store.Certificates(ctx, f)
}

// maxPDF bounds a certificate PDF read back from the blob store.
const maxPDF = 8 << 20

// PDF returns the issued PDF of a certificate.
func (s *Service) PDF(ctx context.Context, id string) ([]byte, error) {
	c, err := s.cfg.Store.Certificate(ctx, id)
	if err != nil {
		return nil, err
	}
	return s.readPDF(c.PDFSHA256)
}

func (s *Service) readPDF(sha string) ([]byte, error) {
	rc, err := s.cfg.Blobs.Open(sha)
	if err != nil {
		return nil, fmt.Errorf("open certificate PDF: %w", err)
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, maxPDF+1))
	if err != nil {
		return nil, fmt.Errorf("read certificate PDF: %w", err)
	}
	if len(b) > maxPDF {
		return nil, station.Errorf(station.ETOOLARGE, "证明文件过大")
	}
	return b, nil
}

// Preview returns page 1 of a certificate's PDF as a PNG at PreviewDPI.
func (s *Service) Preview(ctx context.Context, id string) ([]byte, error) {
	doc, err := s.PDF(ctx, id)
	if err != nil {
		return nil, err
	}
	png, err := pdf.Preview(doc, PreviewDPI)
	if err != nil {
		return nil, fmt.Errorf("preview certificate %s: %w", id, err)
	}
	return png, nil
}

// printFailure names a printer failure with a code and what the resident or clerk is told.
func printFailure(err error) (code, message string) {
	switch {
	case errors.Is(err, devices.ErrPaperOut):
		return "paper_out", "打印机缺纸，证明未出具，请联系工作人员后重试"
	case errors.Is(err, devices.ErrNotConfirmed):
		return "not_confirmed", "打印机未确认打印完成，证明未出具，请联系工作人员后重试"
	case errors.Is(err, devices.ErrNotConnected):
		return "not_connected", "打印机未连接，证明未出具，请联系工作人员"
	case errors.Is(err, devices.ErrTimeout), errors.Is(err, context.DeadlineExceeded):
		return "timeout", "打印机无响应，证明未出具，请联系工作人员后重试"
	}
	return "error", "打印失败，证明未出具，请联系工作人员后重试"
}

// Print prints a certificate and records the print once the printer confirmed it: the first print
// numbers and signs it (number) if it is not yet, and makes it issued (counted); a reprint (补打, staff only) prints a new PDF marked 补打 and is audited. A
// print the printer does not confirm is recorded as a failure (audited, not counted), the status
// stays as it was, and EUNAVAILABLE says what happened; it can be retried.
func (s *Service) Print(ctx context.Context, id string, actor station.Actor, reprint bool) (*station.Certificate, error) {
	if s.cfg.Printer == nil {
		return nil, station.Errorf(station.EUNAVAILABLE, "本机未连接A4打印机，请到柜台打印")
	}
	s.printMu.Lock()
	defer s.printMu.Unlock()
	c, err := s.cfg.Store.Certificate(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := c.Status.CanPrint(reprint); err != nil {
		return nil, err
	}
	if !reprint && c.Payload == "" {
		if c, err = s.number(ctx, c, actor); err != nil {
			return nil, err
		}
	}
	var doc []byte
	sha := c.PDFSHA256
	if reprint {
		if doc, err = s.render(c.Text, c.Serial, c.IssueDate, c.Payload, "补打"); err != nil {
			return nil, err
		}
		if sha, _, err = s.cfg.Blobs.Put(bytes.NewReader(doc)); err != nil {
			return nil, fmt.Errorf("store reprint PDF: %w", err)
		}
	} else if doc, err = s.readPDF(sha); err != nil {
		return nil, err
	}
	// The job is followed to its end even if the caller goes away: a print on paper must be recorded.
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), PrintTimeout)
	defer cancel()
	if perr := s.cfg.Printer.PrintPDF(pctx, "社区证明 "+c.Serial, doc); perr != nil {
		code, msg := printFailure(perr)
		s.cfg.Logger.Warn("certificate print failed", "certificate", c.ID, "serial", c.Serial, "code", code, "err", perr)
		if err := s.submit(context.WithoutCancel(ctx), station.CmdCertificatePrintFailed, actor,
			station.CertificatePrintFailed{CertificateID: c.ID, Reprint: reprint, Code: code, Reason: msg}); err != nil {
			return nil, fmt.Errorf("record the failed print: %w", err)
		}
		return nil, station.Errorf(station.EUNAVAILABLE, "%s", msg)
	}
	if err := s.submit(context.WithoutCancel(ctx), station.CmdCertificatePrinted, actor,
		station.CertificatePrinted{CertificateID: c.ID, Reprint: reprint, Printer: s.cfg.PrinterName, PDFSHA256: sha}); err != nil {
		return nil, err
	}
	return s.cfg.Store.Certificate(ctx, id)
}

// Void voids a certificate with a reason.
func (s *Service) Void(ctx context.Context, id string, actor station.Actor, reason string) (*station.Certificate, error) {
	if err := s.submit(ctx, station.CmdCertificateVoid, actor, station.CertificateVoid{CertificateID: id, Reason: reason}); err != nil {
		return nil, err
	}
	return s.cfg.Store.Certificate(ctx, id)
}

// Revoke revokes a certificate with a reason.
func (s *Service) Revoke(ctx context.Context, id string, actor station.Actor, reason string) (*station.Certificate, error) {
	if err := s.submit(ctx, station.CmdCertificateRevoke, actor, station.CertificateRevoke{CertificateID: id, Reason: reason}); err != nil {
		return nil, err
	}
	return s.cfg.Store.Certificate(ctx, id)
}

// Rate records a resident's rating of a certificate or an application.
func (s *Service) Rate(ctx context.Context, actor station.Actor, subject, objectID string, score int, channel string) error {
	return s.submit(ctx, station.CmdRatingRecord, actor, station.RatingRecord{RatingID: s.cfg.NewID(), Subject: subject,
		ObjectID: objectID, Score: score, Channel: channel})
}

// PublishKey records the signer's public key as the station's own in the key ring and sends it to
// the data center (signing_key.publish), unless the ring already holds it for the same station. It
// reports whether it published.
func (s *Service) PublishKey(ctx context.Context, actor station.Actor) (bool, error) {
	sg := s.signer.Load()
	if sg == nil {
		return false, errors.New("issue: no signing key")
	}
	pub := sg.PublicKey()
	held, err := s.cfg.Store.SigningKey(ctx, pub.KeyID)
	switch {
	case err == nil && held.Own && held.StationID == pub.StationID && held.StationName == s.StationInfo().Name:
		return false, nil
	case err != nil && station.ErrorCode(err) != station.ENOTFOUND:
		return false, err
	}
	raw, err := pub.MarshalJSON()
	if err != nil {
		return false, err
	}
	if err := s.submit(ctx, station.CmdSigningKeyPublish, actor, station.SigningKeyPublish{PublicKey: raw, StationName: s.StationInfo().Name}); err != nil {
		return false, err
	}
	return true, nil
}

// Verify verifies a QR payload with the station's key ring and store (see the package function).
func (s *Service) Verify(ctx context.Context, payload string) (station.CertificateVerification, error) {
	return Verify(ctx, payload, s.cfg.Store, s.builtIn)
}
