package sqlite

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/civic-station/station/station"
)

func (a *applier) loadMatter(code string) (*station.Matter, error) {
	m, err := scanMatter(a.tx.QueryRowContext(a.ctx, matterSelect+` WHERE code = ?`, code))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, station.Errorf(station.ENOTFOUND, "事项%s不存在", code)
	}
	return m, err
}

func (a *applier) intake() error {
	// A resident at the kiosk applies only for a certificate's department verification (证明核实).
	resident := a.cmd.Actor.Role == station.RoleResident
	if err := a.requireRole(station.CanTakeApplications(a.cmd.Actor.Role) || resident); err != nil {
		return err
	}
	var p station.ApplicationIntake
	if err := a.decode(&p); err != nil {
		return err
	}
	if p.ApplicationID == "" {
		return station.Errorf(station.EINVALID, "缺少办件编号")
	}
	a.eff.object, a.eff.objectID = "application:"+p.ApplicationID, p.ApplicationID
	m, err := a.loadMatter(p.MatterCode)
	if err != nil {
		return err
	}
	if m.Status != station.MatterActive {
		return station.Errorf(station.ECONFLICT, "事项“%s”已停止办理", m.Name)
	}
	if resident && m.Category != station.CertificateMatterCategory {
		return station.Errorf(station.EFORBIDDEN, "自助终端只能申请证明核实，其他事项请到柜台办理")
	}
	ap := p.Applicant
	if err := validSealed(ap.IDNumber); err != nil {
		return err
	}
	if err := station.CheckText("申请人姓名", ap.Name, 50, true); err != nil {
		return err
	}
	if err := station.ValidatePhone("联系电话", ap.Phone); err != nil {
		return err
	}
	if err := station.CheckLongText("备注", p.Note, 500, false); err != nil {
		return err
	}
	if len(ap.IDLast4) != 4 {
		return station.Errorf(station.EINVALID, "证件号码后四位缺失")
	}
	checklist, err := m.Checklist(p.Materials)
	if err != nil {
		return err
	}
	day := station.DateOf(a.cmd.At)
	if err := station.CheckIntakeMaterials(checklist, p.Deferral, day); err != nil {
		return err
	}
	deferred, deferReason, deferDue := "[]", "", ""
	if d := p.Deferral; d != nil {
		codes, _ := json.Marshal(d.Materials)
		deferred, deferReason, deferDue = string(codes), strings.TrimSpace(d.Reason), d.DueDate.String()
	}
	if ap.ResidentID != "" {
		var n int
		if err := a.tx.QueryRowContext(a.ctx, `SELECT count(*) FROM residents WHERE id = ?`, ap.ResidentID).Scan(&n); err != nil {
			return err
		} else if n == 0 {
			return station.Errorf(station.ENOTFOUND, "居民不存在")
		}
	}
	var exists int
	if err := a.tx.QueryRowContext(a.ctx, `SELECT count(*) FROM applications WHERE id = ?`, p.ApplicationID).Scan(&exists); err != nil {
		return err
	} else if exists > 0 {
		return station.Errorf(station.ECONFLICT, "办件已存在")
	}
	// The day's last number, not a count. Numbers have four digits up to 9,999 and more after, so the
	// longest sorts first (as text, SQ…-10000 would come before SQ…-9999).
	n := 0
	var last string
	err = a.tx.QueryRowContext(a.ctx, `SELECT number FROM applications WHERE received_day = ? ORDER BY length(number) DESC, number DESC LIMIT 1`, day.String()).Scan(&last)
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return err
	default:
		if i := strings.LastIndexByte(last, '-'); i >= 0 {
			n, _ = strconv.Atoi(last[i+1:])
		}
	}
	cal, err := a.db.calendarTx(a.ctx, a.tx)
	if err != nil {
		return err
	}
	due := station.DueDate(cal, day, m.TimeLimitDays)
	mats, _ := json.Marshal(checklist)
	var residentID any
	if ap.ResidentID != "" {
		residentID = ap.ResidentID
	}
	at := formatTime(a.cmd.At)
	if err := a.exec(`INSERT INTO applications (id, number, matter_code, matter_name, department, kind, status, resident_id,
			applicant_id_type, applicant_id_cipher, applicant_id_index, applicant_id_masked, applicant_id_last4, applicant_name, applicant_phone,
			materials, note, received_at, received_day, received_by, due_date, updated_at, deferred_materials, deferral_reason, deferral_due)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		p.ApplicationID, station.ApplicationNumber(day, n+1), m.Code, m.Name, m.Department, string(m.Kind), string(station.StatusReceived), residentID,
		string(ap.IDNumber.Type), ap.IDNumber.Cipher, ap.IDNumber.Index, ap.IDNumber.Masked, strings.ToUpper(ap.IDLast4), ap.Name, ap.Phone,
		string(mats), p.Note, at, day.String(), a.cmd.Actor.Username, dateText(due), at, deferred, deferReason, deferDue); err != nil {
		return err
	}
	a.eff.detail = m.Code
	if p.Deferral != nil {
		a.eff.detail += fmt.Sprintf("; 容缺受理 %s due %s: %s", strings.Join(p.Deferral.Materials, ","), deferDue, deferReason)
	}
	return a.event(p.ApplicationID, station.ActionIntake, "", station.StatusReceived, "")
}

func (a *applier) event(appID string, action station.Action, from, to station.Status, reason string) error {
	var seq int
	if err := a.tx.QueryRowContext(a.ctx, `SELECT count(*) FROM application_events WHERE application_id = ?`, appID).Scan(&seq); err != nil {
		return err
	}
	return a.exec(`INSERT INTO application_events (application_id, seq, at, action, from_status, to_status, actor, role, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		appID, seq+1, formatTime(a.cmd.At), string(action), string(from), string(to), a.cmd.Actor.Username, string(a.cmd.Actor.Role), reason)
}

func (a *applier) transition() error {
	var p station.ApplicationTransition
	if err := a.decode(&p); err != nil {
		return err
	}
	a.eff.object, a.eff.objectID = "application:"+p.ApplicationID, p.ApplicationID
	var status, kind, code string
	err := a.tx.QueryRowContext(a.ctx, `SELECT status, kind, matter_code FROM applications WHERE id = ?`, p.ApplicationID).Scan(&status, &kind, &code)
	if errors.Is(err, sql.ErrNoRows) {
		return station.Errorf(station.ENOTFOUND, "办件不存在")
	} else if err != nil {
		return err
	}
	reason := strings.TrimSpace(p.Reason)
	if err := station.CheckLongText("原因", reason, 500, false); err != nil {
		return err
	}
	t, err := station.Transit(station.MatterKind(kind), station.Status(status), p.Action, a.cmd.Actor.Role, reason)
	a.eff.detail = fmt.Sprintf("%s: %s -> %s", p.Action, status, t.To)
	if err != nil {
		a.eff.detail = string(p.Action)
		return err
	}
	at := formatTime(a.cmd.At)
	if err := a.exec(`UPDATE applications SET status = ?, updated_at = ? WHERE id = ?`, string(t.To), at, p.ApplicationID); err != nil {
		return err
	}
	switch t.To {
	case station.StatusCompleted, station.StatusWithdrawn:
		if err := a.exec(`UPDATE applications SET closed_at = ?, closed_day = ? WHERE id = ?`, at, station.DateOf(a.cmd.At).String(), p.ApplicationID); err != nil {
			return err
		}
	}
	if err := a.certificatesFollow(p.ApplicationID, t.To, reason); err != nil {
		return err
	}
	if t.Action == station.ActionResubmit {
		// The time limit starts again when the missing materials arrive (补正后重新计算).
		m, err := a.loadMatter(code)
		if err != nil {
			return err
		}
		cal, err := a.db.calendarTx(a.ctx, a.tx)
		if err != nil {
			return err
		}
		due := station.DueDate(cal, station.DateOf(a.cmd.At), m.TimeLimitDays)
		if err := a.exec(`UPDATE applications SET due_date = ? WHERE id = ?`, dateText(due), p.ApplicationID); err != nil {
			return err
		}
	}
	return a.event(p.ApplicationID, t.Action, t.From, t.To, reason)
}

func (a *applier) materials() error {
	if err := a.requireRole(station.CanTakeApplications(a.cmd.Actor.Role)); err != nil {
		return err
	}
	var p station.ApplicationMaterials
	if err := a.decode(&p); err != nil {
		return err
	}
	a.eff.object, a.eff.objectID = "application:"+p.ApplicationID, p.ApplicationID
	var status, code string
	err := a.tx.QueryRowContext(a.ctx, `SELECT status, matter_code FROM applications WHERE id = ?`, p.ApplicationID).Scan(&status, &code)
	if errors.Is(err, sql.ErrNoRows) {
		return station.Errorf(station.ENOTFOUND, "办件不存在")
	} else if err != nil {
		return err
	}
	if s := station.Status(status); s != station.StatusReceived && s != station.StatusReturned {
		return station.Errorf(station.ECONFLICT, "办件当前状态为“%s”，不能修改材料", s.Label())
	}
	m, err := a.loadMatter(code)
	if err != nil {
		return err
	}
	checklist, err := m.Checklist(p.Materials)
	if err != nil {
		return err
	}
	mats, _ := json.Marshal(checklist)
	return a.exec(`UPDATE applications SET materials = ?, updated_at = ? WHERE id = ?`, string(mats), formatTime(a.cmd.At), p.ApplicationID)
}

func nonNilMaterials(s []station.Material) []station.Material {
	if s == nil {
		return []station.Material{}
	}
	return s
}
