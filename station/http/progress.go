package http

import (
	"crypto/subtle"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/civic-station/station/station"
)

type progressRequest struct {
	Number  string `json:"number"`
	IDLast4 string `json:"id_last4"`
}

// progressView is what a resident sees of an application at the kiosk: no document number, the name
// masked.
type progressView struct {
	Number        string                `json:"number"`
	MatterName    string                `json:"matter_name"`
	ApplicantName string                `json:"applicant_name"`
	Status        station.Status        `json:"status"`
	StatusLabel   string                `json:"status_label"`
	ReceivedAt    time.Time             `json:"received_at"`
	DueDate       *station.Date         `json:"due_date"`
	Deadline      station.DeadlineState `json:"deadline"`
	Timeline      []progressEvent       `json:"timeline"`
	Deferral      *deferralView         `json:"deferral,omitempty"` // 容缺受理: what to bring, by when
	// Correction is the 补正 notice of an application in 待补正, only in the card holder's own list.
	Correction *correctionNotice `json:"correction,omitempty"`
}

// correctionNotice tells a resident what the counter asked to correct or bring, as the counter wrote it.
type correctionNotice struct {
	Reason     string    `json:"reason"`      // the counter's reason for the return
	ReturnedAt time.Time `json:"returned_at"` // when it was returned
	Location   string    `json:"location"`    // where to bring it: the matter's window
}

// correctionOf returns the notice of the latest return of an application in 待补正, nil otherwise.
func correctionOf(a *station.Application, location string) *correctionNotice {
	if a.Status != station.StatusReturned {
		return nil
	}
	for i := len(a.Timeline) - 1; i >= 0; i-- {
		if e := a.Timeline[i]; e.Action == station.ActionReturn {
			return &correctionNotice{Reason: e.Reason, ReturnedAt: e.At.UTC(), Location: location}
		}
	}
	return nil
}

type progressEvent struct {
	At    time.Time `json:"at"`
	Label string    `json:"label"`
}

var (
	errNoProgress   = station.Errorf(station.ENOTFOUND, "未找到办件，请核对办件编号和证件号码后四位")
	errTooManyTries = station.Errorf(station.ETOOMANY, "查询错误次数过多，请一小时后再试，或到窗口请工作人员帮助查询")
)

func (s *Server) handleProgress(c *fiber.Ctx) error {
	var req progressRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	number := strings.ToUpper(strings.TrimSpace(req.Number))
	last4 := strings.ToUpper(strings.TrimSpace(req.IDLast4))
	if number == "" || len(last4) != 4 {
		return station.Errorf(station.EINVALID, "请输入办件编号和证件号码后四位")
	}
	now, client := s.now(), c.IP()
	if s.guesses.blocked(client, number, now) {
		return errTooManyTries
	}
	ctx := c.UserContext()
	a, err := s.store.ApplicationByNumber(ctx, number)
	if station.ErrorCode(err) == station.ENOTFOUND {
		s.guesses.fail(client, number, now)
		return errNoProgress
	} else if err != nil {
		return err
	}
	if subtle.ConstantTimeCompare([]byte(last4), []byte(strings.ToUpper(a.Applicant.IDLast4))) != 1 {
		s.guesses.fail(client, number, now)
		return errNoProgress
	}
	cal, err := s.store.Calendar(ctx)
	if err != nil {
		return err
	}
	return c.JSON(s.viewProgress(a, cal))
}

// viewProgress is what a resident may see of an application: no document number, the name masked.
func (s *Server) viewProgress(a *station.Application, cal *station.Calendar) progressView {
	v := progressView{
		Number: a.Number, MatterName: a.MatterName, ApplicantName: station.MaskName(a.Applicant.Name),
		Status: a.Status, StatusLabel: a.Status.Label(), ReceivedAt: a.ReceivedAt.UTC(),
		Timeline: make([]progressEvent, 0, len(a.Timeline)),
	}
	if !a.DueDate.IsZero() {
		d := a.DueDate
		v.DueDate = &d
	}
	v.Deadline, _ = deadlineOf(cal, a, station.DateOf(s.now()))
	v.Deferral = viewDeferral(a, station.DateOf(s.now()))
	for _, e := range a.Timeline {
		v.Timeline = append(v.Timeline, progressEvent{At: e.At.UTC(), Label: e.To.Label()})
	}
	return v
}

type kioskApplications struct {
	Items []progressView `json:"items"`
}

// handleKioskApplications lists the applications of the resident whose card is on this box's reader:
// the card is the proof of identity, so no number needs typing. Without a card it is ENOTFOUND.
func (s *Server) handleKioskApplications(c *fiber.Ctx) error {
	if err := localOnly(c); err != nil {
		return err
	}
	if s.devices == nil {
		return errNoDevices()
	}
	card := s.devices.Card()
	if card == nil {
		return station.Errorf(station.ENOTFOUND, "读卡区没有证件，请先将身份证放在读卡区")
	}
	ctx := c.UserContext()
	items, _, err := s.store.Applications(ctx, station.ApplicationFilter{
		Applicant: s.sealer.Index(card.DocumentType(), card.IDNumber), Today: station.DateOf(s.now()), Limit: 50,
	})
	if err != nil {
		return err
	}
	cal, err := s.store.Calendar(ctx)
	if err != nil {
		return err
	}
	out := kioskApplications{Items: make([]progressView, 0, len(items))}
	for i := range items {
		full, err := s.store.Application(ctx, items[i].ID) // with its timeline
		if err != nil {
			return err
		}
		v := s.viewProgress(full, cal)
		if full.Status == station.StatusReturned {
			location := ""
			if m, err := s.store.Matter(ctx, full.MatterCode); err == nil {
				location = m.Location
			} else if station.ErrorCode(err) != station.ENOTFOUND {
				return err
			}
			v.Correction = correctionOf(full, location)
		}
		out.Items = append(out.Items, v)
	}
	return c.JSON(out)
}
