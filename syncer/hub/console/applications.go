package console

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/civic-station/station/station"
	"github.com/civic-station/station/station/pdf/raster"
	"github.com/civic-station/station/syncer/hub"
)

// applicationItem is an application in a clerk's lists. The applicant's name is masked and the
// document number is the station's masked form; neither read is audited.
type applicationItem struct {
	StationID     string         `json:"station_id"`
	StationName   string         `json:"station_name"`
	ID            string         `json:"id"`
	Number        string         `json:"number"`
	MatterCode    string         `json:"matter_code"`
	MatterName    string         `json:"matter_name"`
	Department    string         `json:"department"`
	ApplicantName string         `json:"applicant_name"`
	ApplicantID   string         `json:"applicant_id"` // masked
	Status        station.Status `json:"status"`
	StatusLabel   string         `json:"status_label"`
	ReceivedAt    time.Time      `json:"received_at"`
	ForwardedAt   time.Time      `json:"forwarded_at,omitzero"`
	DueDate       *station.Date  `json:"due_date"`
	DueEstimate   bool           `json:"due_estimate,omitempty"` // computed on a Monday-to-Friday week
	// DueCalendar says what the due date was computed on: official, provisional (a year whose 放假调休
	// notice is not out, listed in due_provisional_years) or weekdays (Monday to Friday). Omitted
	// without a due date.
	DueCalendar         string        `json:"due_calendar,omitempty"`
	DueProvisionalYears []int         `json:"due_provisional_years,omitempty"`
	Decision            *decisionView `json:"decision"`
}

// decisionView is a department's decision as the console shows it.
type decisionView struct {
	Action      station.Action `json:"action"`
	ActionLabel string         `json:"action_label"`
	Reason      string         `json:"reason"`
	DecidedAt   time.Time      `json:"decided_at"`
	DecidedBy   string         `json:"decided_by"` // the console account; "" when taken elsewhere
	Source      string         `json:"source"`     // hub (this console or `station hub decide`) or station
}

func (c *caseFile) decisionView() *decisionView {
	if d := c.Decision; d != nil {
		return &decisionView{Action: d.Decision.Action, ActionLabel: d.Decision.Action.Label(), Reason: d.Decision.Reason,
			DecidedAt: d.Decision.DecidedAt, DecidedBy: d.DecidedBy, Source: "hub"}
	}
	if e := c.stationAction(); e != nil && c.decided() {
		return &decisionView{Action: e.Action, ActionLabel: e.Action.Label(), Reason: e.Reason, DecidedAt: e.At, Source: "station"}
	}
	return nil
}

func (c *caseFile) item() applicationItem {
	it := applicationItem{StationID: c.StationID, StationName: c.StationName, ID: c.ID, Number: c.Number,
		MatterCode: c.Matter.Code, MatterName: c.Matter.Name, Department: c.Matter.Department,
		ApplicantName: station.MaskName(c.Applicant.Name), ApplicantID: c.Applicant.IDNumber.Masked,
		Status: c.Status, StatusLabel: c.Status.Label(), ReceivedAt: c.ReceivedAt, ForwardedAt: c.ForwardedAt,
		DueEstimate: c.DueEstimate, Decision: c.decisionView()}
	if !c.DueDate.IsZero() {
		d := c.DueDate
		it.DueDate = &d
		it.DueCalendar, it.DueProvisionalYears = c.DueCalendar, c.DueProvisionalYears
	}
	return it
}

type applicationList struct {
	Items []applicationItem `json:"items"`
	// Calendar is the working-day calendar due dates are counted on, by year: official or provisional.
	Calendar []calendarYear `json:"calendar"`
}

// handleApplications lists the applications of the clerk's department: list=pending (default), those
// forwarded and not decided, oldest forward first; list=decided, the decided ones, latest first.
func (s *Server) handleApplications(w http.ResponseWriter, r *http.Request, p *principal) error {
	which := r.URL.Query().Get("list")
	if which == "" {
		which = "pending"
	}
	if which != "pending" && which != "decided" {
		return station.Errorf(station.EINVALID, "list 应为 pending 或 decided")
	}
	cases, cat, err := loadCasesCatalog(r.Context(), s.cfg.Store, "")
	if err != nil {
		return err
	}
	out := applicationList{Items: []applicationItem{}, Calendar: cat.calendarYears()}
	for _, c := range cases {
		if c.Matter.Department != p.user.Department {
			continue
		}
		if (which == "pending" && c.pending()) || (which == "decided" && c.decided()) {
			out.Items = append(out.Items, c.item())
		}
	}
	sort.SliceStable(out.Items, func(i, j int) bool {
		a, b := out.Items[i], out.Items[j]
		if which == "pending" {
			return a.ForwardedAt.Before(b.ForwardedAt)
		}
		return decidedAt(a).After(decidedAt(b))
	})
	writeJSON(w, http.StatusOK, out)
	return nil
}

func decidedAt(it applicationItem) time.Time {
	if it.Decision == nil {
		return time.Time{}
	}
	return it.Decision.DecidedAt
}

// materialView is one material of an application, with its scanned copy's page count.
type materialView struct {
	Code     string `json:"code"`
	Name     string `json:"name"`
	Required bool   `json:"required"`
	Provided bool   `json:"provided"`
	BlobSHA  string `json:"blob_sha256,omitempty"`
	Pages    int    `json:"pages"` // pages of the scanned PDF; 0 without one or when it cannot be read
}

type eventView struct {
	At          time.Time      `json:"at"`
	Action      station.Action `json:"action"`
	ActionLabel string         `json:"action_label"`
	To          station.Status `json:"to"`
	ToLabel     string         `json:"to_label"`
	Reason      string         `json:"reason"`
}

// applicationDetail is one application as a clerk opens it (an audited read).
type applicationDetail struct {
	applicationItem
	ApplicantFullName string         `json:"applicant_full_name"`
	ApplicantIDType   string         `json:"applicant_id_type"`
	Kind              string         `json:"kind"`
	TimeLimitDays     int            `json:"time_limit_days"`
	Materials         []materialView `json:"materials"`
	Timeline          []eventView    `json:"timeline"`
	CanDecide         bool           `json:"can_decide"`
}

// clerkCase loads an application of the clerk's department; ENOTFOUND for another department's.
func (s *Server) clerkCase(r *http.Request, p *principal) (*caseFile, error) {
	c, err := loadCase(r.Context(), s.cfg.Store, r.PathValue("station"), r.PathValue("id"))
	if station.ErrorCode(err) == station.ENOTFOUND {
		return nil, errNoApplication
	} else if err != nil {
		return nil, err
	}
	if c.Matter.Department != p.user.Department {
		return nil, errNoApplication
	}
	return c, nil
}

func caseObject(c *caseFile) string { return "application:" + c.StationID + "/" + c.ID }

func (s *Server) handleApplication(w http.ResponseWriter, r *http.Request, p *principal) error {
	c, err := s.clerkCase(r, p)
	if err != nil {
		return err
	}
	d := applicationDetail{applicationItem: c.item(), ApplicantFullName: c.Applicant.Name, ApplicantIDType: c.Applicant.IDNumber.Type.Label(),
		Kind: string(c.Matter.Kind), TimeLimitDays: c.Matter.TimeLimitDays, CanDecide: c.pending()}
	for _, m := range c.Materials {
		mv := materialView{Code: m.Code, Name: m.Name, Required: m.Required, Provided: m.Provided, BlobSHA: m.BlobSHA}
		if mv.Name == "" {
			mv.Name = m.Code
		}
		if m.BlobSHA != "" {
			mv.Pages = s.pageCount(m.BlobSHA)
		}
		d.Materials = append(d.Materials, mv)
	}
	for _, e := range c.Timeline {
		d.Timeline = append(d.Timeline, eventView{At: e.At, Action: e.Action, ActionLabel: e.Action.Label(), To: e.To, ToLabel: e.To.Label(), Reason: e.Reason})
	}
	if err := s.audit(r.Context(), p, "read.application", caseObject(c), "ok", c.Matter.Code); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, d)
	return nil
}

// readBlob reads a complete blob (at most raster.MaxInput bytes).
func (s *Server) readBlob(sha string) ([]byte, error) {
	f, err := s.cfg.Blobs.Open(sha)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, station.Errorf(station.ENOTFOUND, "数据中心尚未收到该材料的扫描件")
	} else if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, raster.MaxInput+1))
	if err != nil {
		return nil, fmt.Errorf("console: read blob %s: %w", sha, err)
	}
	if len(b) > raster.MaxInput {
		return nil, station.Errorf(station.ETOOLARGE, "扫描件过大，无法预览")
	}
	return b, nil
}

// pageCount returns the pages of a scanned PDF, 0 when it cannot be read as one.
func (s *Server) pageCount(sha string) int {
	b, err := s.readBlob(sha)
	if err != nil || !bytes.HasPrefix(b, []byte("%PDF-")) {
		return 0
	}
	s.renders <- struct{}{}
	defer func() { <-s.renders }()
	doc, err := raster.Open(b)
	if err != nil {
		return 0
	}
	defer doc.Close()
	return doc.Pages()
}

// handlePage renders page N (1-based) of a material's scanned PDF as PNG (an audited read).
func (s *Server) handlePage(w http.ResponseWriter, r *http.Request, p *principal) error {
	c, err := s.clerkCase(r, p)
	if err != nil {
		return err
	}
	code := r.PathValue("code")
	n, err := strconv.Atoi(strings.TrimSuffix(r.PathValue("page"), ".png"))
	if err != nil || n < 1 {
		return station.Errorf(station.EINVALID, "页码无效")
	}
	var sha string
	for _, m := range c.Materials {
		if m.Code == code {
			sha = m.BlobSHA
		}
	}
	if sha == "" {
		return station.Errorf(station.ENOTFOUND, "该材料没有扫描件")
	}
	b, err := s.readBlob(sha)
	if err != nil {
		return err
	}
	png, err := s.render(b, n)
	if err != nil {
		return err
	}
	if err := s.audit(r.Context(), p, "read.material", caseObject(c), "ok", fmt.Sprintf("%s p.%d", code, n)); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Cache-Control", "private, no-store")
	_, _ = w.Write(png)
	return nil
}

// render turns page n (1-based) of a PDF into PNG at the preview resolution, a bounded number at once.
func (s *Server) render(pdf []byte, n int) ([]byte, error) {
	s.renders <- struct{}{}
	defer func() { <-s.renders }()
	doc, err := raster.Open(pdf)
	if err != nil {
		return nil, station.Errorf(station.EINVALID, "扫描件不是可预览的PDF文件")
	}
	defer doc.Close()
	if n > doc.Pages() {
		return nil, station.Errorf(station.ENOTFOUND, "扫描件只有%d页", doc.Pages())
	}
	png, err := doc.PNG(n-1, s.cfg.PreviewDPI)
	if err != nil {
		return nil, fmt.Errorf("console: render page %d: %w", n, err)
	}
	return png, nil
}

type decisionRequest struct {
	Action station.Action `json:"action"`
	Reason string         `json:"reason"`
}

// handleDecision approves or rejects a forwarded application in the name of the clerk's department.
// A reason is required to reject. The decision is published once (ECONFLICT after that) and audited
// whatever its outcome.
func (s *Server) handleDecision(w http.ResponseWriter, r *http.Request, p *principal) error {
	var req decisionRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	req.Reason = strings.TrimSpace(req.Reason)
	switch {
	case req.Action != station.ActionApprove && req.Action != station.ActionReject:
		return station.Errorf(station.EINVALID, "审批结果应为批准（approve）或不予批准（reject）")
	case req.Action == station.ActionReject && utf8.RuneCountInString(req.Reason) < 2:
		return station.Errorf(station.EINVALID, "不予批准需要填写原因")
	case utf8.RuneCountInString(req.Reason) > 500:
		return station.Errorf(station.EINVALID, "原因不超过500个字符")
	}
	c, err := s.clerkCase(r, p)
	if err != nil {
		return err
	}
	ctx := r.Context()
	rec, err := s.decide(r, p, c, req)
	result := "ok"
	if err != nil {
		result = station.ErrorCode(err)
	}
	if aerr := s.audit(ctx, p, "decision."+string(req.Action), caseObject(c), result, p.user.Department); aerr != nil {
		return aerr
	}
	if err != nil {
		return err
	}
	if s.cfg.Decisions != nil {
		s.cfg.Decisions.ObserveDecision(req.Action)
	}
	s.cfg.Logger.Info("decision published", "station", c.StationID, "application", c.ID, "action", req.Action, "by", p.user.Username)
	c.Decision = &rec
	writeJSON(w, http.StatusCreated, c.item())
	return nil
}

func (s *Server) decide(r *http.Request, p *principal, c *caseFile, req decisionRequest) (hub.DecisionRecord, error) {
	if c.Decision != nil || c.decided() {
		return hub.DecisionRecord{}, station.Errorf(station.ECONFLICT, "该办件已审批，不能重复审批")
	}
	if c.Status != station.StatusForwarded {
		return hub.DecisionRecord{}, station.Errorf(station.ECONFLICT, "办件当前状态为“%s”，不能审批", c.Status.Label())
	}
	d := station.Decision{ApplicationID: c.ID, Action: req.Action, Reason: req.Reason, Department: p.user.Department}
	return hub.Decide(r.Context(), s.cfg.Store, c.StationID, d, p.user.Username, s.cfg.Now())
}
