package http

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/civic-station/station/station"
)

// applicantView is the applicant as staff see it: name in full, document number and phone masked.
type applicantView struct {
	IDType   station.IDType `json:"id_type"`
	IDNumber string         `json:"id_number"`
	Name     string         `json:"name"`
	Phone    string         `json:"phone"`
	Resident string         `json:"resident_id,omitempty"`
}

// applicationView is an application with its deadline and the actions the caller may take.
type applicationView struct {
	ID              string                  `json:"id"`
	Number          string                  `json:"number"`
	MatterCode      string                  `json:"matter_code"`
	MatterName      string                  `json:"matter_name"`
	Department      string                  `json:"department"`
	Kind            station.MatterKind      `json:"kind"`
	Status          station.Status          `json:"status"`
	StatusLabel     string                  `json:"status_label"`
	Applicant       applicantView           `json:"applicant"`
	Materials       []station.MaterialCheck `json:"materials"`
	Note            string                  `json:"note"`
	ReceivedAt      time.Time               `json:"received_at"`
	ReceivedBy      string                  `json:"received_by"`
	UpdatedAt       time.Time               `json:"updated_at"`
	DueDate         *station.Date           `json:"due_date"`
	CompletedAt     *time.Time              `json:"completed_at"`
	CompletedOnTime *bool                   `json:"completed_on_time"`
	Deadline        station.DeadlineState   `json:"deadline"`
	WorkingDaysLeft *int                    `json:"working_days_left"`
	Timeline        []station.Event         `json:"timeline"`
	AllowedActions  []station.Action        `json:"allowed_actions"`
	Deferral        *deferralView           `json:"deferral,omitempty"` // 容缺受理
}

// deferralView is a 容缺受理 as staff and the applicant see it: the materials accepted as missing
// (and whether each has been brought since), why, and by when.
type deferralView struct {
	Materials   []deferredMaterial `json:"materials"`
	Reason      string             `json:"reason"`
	DueDate     station.Date       `json:"due_date"`
	Outstanding int                `json:"outstanding"` // materials still to bring
	Overdue     bool               `json:"overdue"`     // still outstanding after the due date
}

type deferredMaterial struct {
	Code     string `json:"code"`
	Name     string `json:"name"`
	Provided bool   `json:"provided"` // brought after the intake
}

func viewDeferral(a *station.Application, today station.Date) *deferralView {
	d := a.Deferral
	if d == nil {
		return nil
	}
	v := &deferralView{Reason: d.Reason, DueDate: d.DueDate, Outstanding: len(d.Outstanding(a.Materials)),
		Overdue: a.Status.Open() && d.Overdue(a.Materials, today), Materials: make([]deferredMaterial, 0, len(d.Materials))}
	for _, code := range d.Materials {
		m := deferredMaterial{Code: code, Name: code}
		for _, c := range a.Materials {
			if c.Code == code {
				m.Name, m.Provided = c.Name, c.Provided
			}
		}
		v.Materials = append(v.Materials, m)
	}
	return v
}

// deadlineOf classifies an application on today.
func deadlineOf(cal *station.Calendar, a *station.Application, today station.Date) (station.DeadlineState, *int) {
	if a.DueDate.IsZero() || !a.Status.Open() || cal == nil {
		return station.DeadlineNone, nil
	}
	state, left := cal.Deadline(today, a.DueDate)
	return state, &left
}

func viewApplication(a *station.Application, cal *station.Calendar, today station.Date, role station.Role) applicationView {
	v := applicationView{
		ID: a.ID, Number: a.Number, MatterCode: a.MatterCode, MatterName: a.MatterName, Department: a.Department,
		Kind: a.Kind, Status: a.Status, StatusLabel: a.Status.Label(),
		Applicant: applicantView{
			IDType: a.Applicant.IDNumber.Type, IDNumber: a.Applicant.IDNumber.Masked,
			Name: a.Applicant.Name, Phone: station.MaskPhone(a.Applicant.Phone), Resident: a.Applicant.ResidentID,
		},
		Materials: a.Materials, Note: a.Note, ReceivedAt: a.ReceivedAt.UTC(), ReceivedBy: a.ReceivedBy,
		UpdatedAt: a.UpdatedAt.UTC(), Timeline: a.Timeline,
		AllowedActions: station.AllowedActions(a.Kind, a.Status, role),
	}
	if !a.DueDate.IsZero() {
		d := a.DueDate
		v.DueDate = &d
	}
	if a.CompletedAt != nil {
		t := a.CompletedAt.UTC()
		v.CompletedAt = &t
		if a.Status == station.StatusCompleted {
			ok := station.CompletedOnTime(a.DueDate, t)
			v.CompletedOnTime = &ok
		}
	}
	v.Deadline, v.WorkingDaysLeft = deadlineOf(cal, a, today)
	v.Deferral = viewDeferral(a, today)
	if v.Materials == nil {
		v.Materials = []station.MaterialCheck{}
	}
	if v.Timeline == nil {
		v.Timeline = []station.Event{}
	}
	if v.AllowedActions == nil {
		v.AllowedActions = []station.Action{}
	}
	return v
}

// respondApplication reads application id and answers with its view for the caller.
func (s *Server) respondApplication(c *fiber.Ctx, id string, status int) error {
	ctx := c.UserContext()
	a, err := s.store.Application(ctx, id)
	if err != nil {
		return err
	}
	cal, err := s.store.Calendar(ctx)
	if err != nil {
		return err
	}
	return c.Status(status).JSON(viewApplication(a, cal, station.DateOf(s.now()), caller(c).user.Role))
}

type applicantInput struct {
	IDType   station.IDType `json:"id_type"`
	IDNumber string         `json:"id_number"`
	Name     string         `json:"name"`
	Phone    string         `json:"phone,omitempty"`
}

type materialInput struct {
	Code     string `json:"code"`
	Provided bool   `json:"provided"`
}

func materialChecks(in []materialInput) []station.MaterialCheck {
	out := make([]station.MaterialCheck, 0, len(in))
	for _, m := range in {
		out = append(out, station.MaterialCheck{Code: m.Code, Provided: m.Provided})
	}
	return out
}

type intakeRequest struct {
	MatterCode string          `json:"matter_code"`
	Applicant  applicantInput  `json:"applicant"`
	Materials  []materialInput `json:"materials"`
	Note       string          `json:"note,omitempty"`
	Deferral   *deferralInput  `json:"deferral,omitempty"` // 容缺受理: required materials missing, accepted explicitly
}

type deferralInput struct {
	Materials []string `json:"materials"` // codes of the missing required materials
	Reason    string   `json:"reason"`
	DueDate   string   `json:"due_date"` // YYYY-MM-DD, the last day to bring them
}

// deferral converts a 容缺 request; the rule itself (station.CheckIntakeMaterials) is applied with
// the command.
func (in *deferralInput) deferral() (*station.Deferral, error) {
	if in == nil {
		return nil, nil
	}
	d := &station.Deferral{Materials: in.Materials, Reason: strings.TrimSpace(in.Reason)}
	if strings.TrimSpace(in.DueDate) == "" {
		return nil, station.Errorf(station.EINVALID, "请填写补交材料的期限")
	}
	due, err := station.ParseDate(strings.TrimSpace(in.DueDate))
	if err != nil {
		return nil, station.Errorf(station.EINVALID, "补交期限“%s”不是有效日期（格式：2026-12-14）", in.DueDate)
	}
	d.DueDate = due
	return d, nil
}

func (s *Server) handleIntake(c *fiber.Ctx) error {
	var req intakeRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if strings.TrimSpace(req.MatterCode) == "" {
		return station.Errorf(station.EINVALID, "请选择事项")
	}
	number, err := normalizeDocument(req.Applicant.IDType, req.Applicant.IDNumber)
	if err != nil {
		return err
	}
	if strings.TrimSpace(req.Applicant.Name) == "" {
		return station.Errorf(station.EINVALID, "请输入申请人姓名")
	}
	deferral, err := req.Deferral.deferral()
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	sealed, err := station.SealApplicant(s.sealer, req.Applicant.IDType, number)
	if err != nil {
		return err
	}
	applicant := station.Applicant{
		IDNumber: sealed, IDLast4: station.IDLast4(number),
		Name: strings.TrimSpace(req.Applicant.Name), Phone: strings.TrimSpace(req.Applicant.Phone),
	}
	if r, err := s.store.ResidentByIndex(ctx, sealed.Index); err == nil {
		applicant.ResidentID = r.ID
	} else if station.ErrorCode(err) != station.ENOTFOUND {
		return err
	}
	id := s.newID()
	intake := station.ApplicationIntake{
		ApplicationID: id, MatterCode: req.MatterCode, Applicant: applicant,
		Materials: materialChecks(req.Materials), Note: req.Note, Deferral: deferral,
	}
	res, err := s.submit(ctx, station.CmdApplicationIntake, caller(c).actor(), intake)
	if err != nil {
		return err
	}
	if res.ObjectID != "" {
		id = res.ObjectID
	}
	return s.respondApplication(c, id, fiber.StatusCreated)
}

type applicationList struct {
	Items   []applicationView `json:"items"`
	Total   int               `json:"total"`
	Page    int               `json:"page"`
	PerPage int               `json:"per_page"`
}

// Paging limits of every list route: page from 1 to maxPage, per_page from 1 to maxPerPage (20 when
// not given). A deeper page than maxPage is refused rather than computed: its offset would overflow.
const (
	maxPage        = 100000
	maxPerPage     = 100
	defaultPerPage = 20
)

// paging reads page and per_page for every list route: EINVALID naming the parameter and its allowed
// range when either is not an integer within its limits.
func paging(c *fiber.Ctx) (page, perPage int, err error) {
	if page, err = pageParam(c, "page", 1, maxPage, 1); err != nil {
		return 0, 0, err
	}
	if perPage, err = pageParam(c, "per_page", 1, maxPerPage, defaultPerPage); err != nil {
		return 0, 0, err
	}
	return page, perPage, nil
}

func pageParam(c *fiber.Ctx, name string, lo, hi, def int) (int, error) {
	v := c.Query(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < int64(lo) || n > int64(hi) {
		return 0, &station.Error{Code: station.EINVALID, Message: fmt.Sprintf("参数 %s 应为%d至%d之间的整数", name, lo, hi),
			Field: name, Detail: fmt.Sprintf("%s must be an integer from %d to %d", name, lo, hi)}
	}
	return int(n), nil
}

func (s *Server) handleApplications(c *fiber.Ctx) error {
	page, perPage, err := paging(c)
	if err != nil {
		return err
	}
	today := station.DateOf(s.now())
	f := station.ApplicationFilter{
		Status: station.Status(c.Query("status")), MatterCode: c.Query("matter"), Query: c.Query("q"),
		Today: today, Offset: (page - 1) * perPage, Limit: perPage,
	}
	if f.Status != "" && !validStatus(f.Status) {
		return station.Errorf(station.EINVALID, "未知的办件状态")
	}
	switch d := station.DeadlineState(c.Query("deadline")); d {
	case "":
	case station.DeadlineOverdue, station.DeadlineDueSoon:
		f.Deadline = d
	default:
		return station.Errorf(station.EINVALID, "deadline应为overdue或due_soon")
	}
	ctx := c.UserContext()
	items, total, err := s.store.Applications(ctx, f)
	if err != nil {
		return err
	}
	cal, err := s.store.Calendar(ctx)
	if err != nil {
		return err
	}
	role := caller(c).user.Role
	out := applicationList{Items: make([]applicationView, 0, len(items)), Total: total, Page: page, PerPage: perPage}
	for i := range items {
		// A list is not audited as a read of personal data, so it carries no applicant name in full:
		// the detail view (audited) does.
		v := viewApplication(&items[i], cal, today, role)
		v.Applicant.Name = station.MaskName(v.Applicant.Name)
		out.Items = append(out.Items, v)
	}
	return c.JSON(out)
}

func validStatus(st station.Status) bool {
	for _, s := range station.Statuses {
		if s == st {
			return true
		}
	}
	return false
}

func (s *Server) handleApplication(c *fiber.Ctx) error {
	ctx := c.UserContext()
	a, err := s.store.Application(ctx, c.Params("id"))
	if err != nil {
		return err
	}
	if err := s.recordAccess(c, "application:"+a.ID, "view"); err != nil {
		return err
	}
	cal, err := s.store.Calendar(ctx)
	if err != nil {
		return err
	}
	return c.JSON(viewApplication(a, cal, station.DateOf(s.now()), caller(c).user.Role))
}

type transitionRequest struct {
	Action station.Action `json:"action"`
	Reason string         `json:"reason,omitempty"`
}

func (s *Server) handleTransition(c *fiber.Ctx) error {
	var req transitionRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if !station.ValidAction(req.Action) {
		return station.Errorf(station.EINVALID, "未知的操作")
	}
	id := c.Params("id")
	t := station.ApplicationTransition{ApplicationID: id, Action: req.Action, Reason: strings.TrimSpace(req.Reason)}
	if _, err := s.submit(c.UserContext(), station.CmdApplicationTransition, caller(c).actor(), t); err != nil {
		return err
	}
	return s.respondApplication(c, id, fiber.StatusOK)
}

type materialsRequest struct {
	Materials []materialInput `json:"materials"`
}

func (s *Server) handleMaterials(c *fiber.Ctx) error {
	var req materialsRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	id := c.Params("id")
	m := station.ApplicationMaterials{ApplicationID: id, Materials: materialChecks(req.Materials)}
	if _, err := s.submit(c.UserContext(), station.CmdApplicationMaterials, caller(c).actor(), m); err != nil {
		return err
	}
	return s.respondApplication(c, id, fiber.StatusOK)
}

func (s *Server) handleStats(c *fiber.Ctx) error {
	st, err := s.store.Stats(c.UserContext(), station.DateOf(s.now()))
	if err != nil {
		return err
	}
	return c.JSON(st)
}
