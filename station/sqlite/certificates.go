package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/civic-station/station/station"
	"github.com/civic-station/station/station/cert"
)

// This file holds the certificates (社区证明) in the store: the commands that issue, print, void and
// revoke them, the station's signing keys and the residents' ratings, the downlink changes of the
// certificate system (signing keys, revocations, templates), and the queries the issuing service and
// verification run.

// certificateCommand applies one of the certificate system's commands.
func (a *applier) certificateCommand() error {
	switch a.cmd.Kind {
	case station.CmdCertificateIssue:
		return a.certificateIssue()
	case station.CmdCertificateNumber:
		return a.certificateNumber()
	case station.CmdCertificateSign:
		return a.certificateSign()
	case station.CmdCertificatePrinted:
		return a.certificatePrinted()
	case station.CmdCertificatePrintFailed:
		return a.certificatePrintFailed()
	case station.CmdCertificateVoid:
		return a.certificateVoid()
	case station.CmdCertificateRevoke:
		return a.certificateRevoke()
	case station.CmdSigningKeyPublish:
		return a.signingKeyPublish()
	case station.CmdRatingRecord:
		return a.ratingRecord()
	}
	return station.Errorf(station.EINVALID, "未知的命令类型“%s”", a.cmd.Kind)
}

// certificate is what the apply functions need of a stored certificate.
type certificateState struct {
	status     station.CertStatus
	residentID string
	channel    string
	serial     string // "" until numbered
	payload    string // "" until signed
	issueDate  string
	pdfSHA     string
	prints     int
}

func (a *applier) loadCertificate(id string) (certificateState, error) {
	var c certificateState
	var status string
	err := a.tx.QueryRowContext(a.ctx, `SELECT status, resident_id, channel, coalesce(serial, ''), coalesce(payload, ''), issue_date,
			pdf_sha256, print_count FROM certificates WHERE id = ?`, id).
		Scan(&status, &c.residentID, &c.channel, &c.serial, &c.payload, &c.issueDate, &c.pdfSHA, &c.prints)
	if errors.Is(err, sql.ErrNoRows) {
		return c, station.Errorf(station.ENOTFOUND, "证明不存在")
	}
	c.status = station.CertStatus(status)
	return c, err
}

func isHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

func (a *applier) certificateIssue() error {
	role := a.cmd.Actor.Role
	if err := a.requireRole(station.CanTakeApplications(role) || role == station.RoleResident); err != nil {
		return err
	}
	var p station.CertificateIssue
	if err := a.decode(&p); err != nil {
		return err
	}
	a.eff.object, a.eff.objectID = "certificate:"+p.CertificateID, p.CertificateID
	if err := validateIssue(&p, role); err != nil {
		return err
	}
	var n int
	if err := a.tx.QueryRowContext(a.ctx, `SELECT count(*) FROM residents WHERE id = ?`, p.ResidentID).Scan(&n); err != nil {
		return err
	} else if n == 0 {
		return station.Errorf(station.ENOTFOUND, "居民不存在")
	}
	var sameID int
	if err := a.tx.QueryRowContext(a.ctx, `SELECT count(*) FROM certificates WHERE id = ?`, p.CertificateID).Scan(&sameID); err != nil {
		return err
	} else if sameID > 0 {
		return station.Errorf(station.ECONFLICT, "证明已存在")
	}
	status := station.CertPendingPrint
	var appID any
	if p.ApplicationID != "" {
		var appStatus, category string
		var appResident sql.NullString
		err := a.tx.QueryRowContext(a.ctx, `SELECT a.status, a.resident_id, m.category FROM applications a JOIN matters m ON m.code = a.matter_code WHERE a.id = ?`,
			p.ApplicationID).Scan(&appStatus, &appResident, &category)
		if errors.Is(err, sql.ErrNoRows) {
			return station.Errorf(station.ENOTFOUND, "证明核实办件不存在")
		} else if err != nil {
			return err
		}
		if category != station.CertificateMatterCategory || appResident.String != p.ResidentID {
			return station.Errorf(station.EINVALID, "该办件不是本人的证明核实申请")
		}
		switch station.Status(appStatus) {
		case station.StatusApproved:
		case station.StatusReceived, station.StatusReturned, station.StatusPreReviewed, station.StatusForwarded:
			status = station.CertAwaitingApproval
		default:
			return station.Errorf(station.ECONFLICT, "证明核实办件已%s，不能再开具证明", station.Status(appStatus).Label())
		}
		appID = p.ApplicationID
	}
	text, _ := json.Marshal(p.Filled)
	inputs, _ := json.Marshal(nonNilMap(p.Inputs))
	at := formatTime(a.cmd.At)
	if err := a.exec(`INSERT INTO certificates (id, type_code, type_name, category, template_version, resident_id,
			subject_name_masked, subject_id_masked, text, inputs, content_hash, pdf_sha256, issue_date, valid_until,
			application_id, channel, status, created_at, created_by, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '', ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		p.CertificateID, p.TypeCode, p.TypeName, p.Category, p.TemplateVersion, p.ResidentID,
		p.SubjectNameMasked, p.SubjectIDMasked, string(text), string(inputs), p.PDFSHA256,
		p.IssueDate.String(), dateText(p.ValidUntil), appID, p.Channel, string(status), at, a.cmd.Actor.Username, at); err != nil {
		return err
	}
	a.eff.detail = fmt.Sprintf("%s unnumbered %s", p.TypeCode, status)
	return nil
}

// maxDailySerial is the highest daily sequence a serial can hold (four digits).
const maxDailySerial = 9999

// requirePrinter checks that the command's actor may print certificate c for the first time: staff,
// or the resident at the kiosk for a certificate asked for at the kiosk.
func (a *applier) requirePrinter(c certificateState) error {
	role := a.cmd.Actor.Role
	return a.requireRole(station.CanTakeApplications(role) || role == station.RoleResident && c.channel == station.ChannelKiosk)
}

// toPrint loads the certificate a numbering or signing command is about, names it as the command's
// object, and checks that the caller prints it and that it may still be printed.
func (a *applier) toPrint(id string) (certificateState, error) {
	a.eff.object, a.eff.objectID = "certificate:"+id, id
	c, err := a.loadCertificate(id)
	if err != nil {
		return c, err
	}
	if err := a.requirePrinter(c); err != nil {
		return c, err
	}
	return c, c.status.CanPrint(false)
}

// certificateNumber gives a certificate its serial: the next of the command's day in the register.
// Apply is serialized, so reading the day's highest serial and writing the next one cannot race.
func (a *applier) certificateNumber() error {
	var p station.CertificateNumber
	if err := a.decode(&p); err != nil {
		return err
	}
	c, err := a.toPrint(p.CertificateID)
	if err != nil {
		return err
	}
	if c.serial != "" {
		return station.Errorf(station.ECONFLICT, "该证明已编号（%s）", c.serial)
	}
	day := station.DateOf(a.cmd.At)
	prefix := station.CertificateSerial(day, 0)
	prefix = prefix[:len(prefix)-4]
	var last string
	n := 0
	err = a.tx.QueryRowContext(a.ctx, `SELECT serial FROM certificates WHERE serial >= ? AND serial < ? ORDER BY serial DESC LIMIT 1`,
		prefix, prefix+"~").Scan(&last)
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return err
	default:
		if _, n, _ = station.ParseCertificateSerial(last); n == 0 {
			return fmt.Errorf("certificate register: malformed serial %q", last)
		}
	}
	if n >= maxDailySerial {
		return station.Errorf(station.ECONFLICT, "今日证明编号已用完（每日最多%d份），请明日再开具", maxDailySerial)
	}
	serial := station.CertificateSerial(day, n+1)
	a.eff.detail = serial
	at := formatTime(a.cmd.At)
	return a.exec(`UPDATE certificates SET serial = ?, issue_date = ?, numbered_at = ?, updated_at = ? WHERE id = ?`,
		serial, day.String(), at, at, p.CertificateID)
}

// certificateSign records the text, signed payload and PDF of a numbered certificate before its first
// print. It is refused once the certificate is signed: what is printed under a number never changes.
func (a *applier) certificateSign() error {
	var p station.CertificateSign
	if err := a.decode(&p); err != nil {
		return err
	}
	c, err := a.toPrint(p.CertificateID)
	if err != nil {
		return err
	}
	bad := func(format string, args ...any) error { return station.Errorf(station.EINVALID, format, args...) }
	switch {
	case c.serial == "":
		return station.Errorf(station.ECONFLICT, "该证明尚未编号")
	case c.payload != "":
		return station.Errorf(station.ECONFLICT, "证明%s已签发，内容不能再改", c.serial)
	case p.Serial != c.serial || p.IssueDate.String() != c.issueDate:
		return bad("证明编号或开具日期与登记的%s（%s）不符", c.serial, c.issueDate)
	case p.TemplateVersion < 1:
		return bad("证明类型信息不完整")
	case !isHex(p.ContentHash, 64):
		return bad("证明内容摘要格式错误")
	case !strings.HasPrefix(p.Payload, "C1.") || len(p.Payload) > cert.MaxPayloadLen:
		return bad("证明二维码内容格式错误")
	case !station.IsSHA256(p.PDFSHA256):
		return bad("证明PDF文件摘要格式错误")
	case !p.ValidUntil.IsZero() && p.ValidUntil.Before(p.IssueDate):
		return bad("有效期无效")
	case strings.TrimSpace(p.Filled.Title) == "" || len(p.Filled.Body) == 0 || strings.TrimSpace(p.Filled.Seal) == "":
		return bad("证明内容不完整")
	}
	var same int
	if err := a.tx.QueryRowContext(a.ctx, `SELECT count(*) FROM certificates WHERE payload = ?`, p.Payload).Scan(&same); err != nil {
		return err
	} else if same > 0 {
		return station.Errorf(station.ECONFLICT, "二维码内容与已有证明重复")
	}
	text, _ := json.Marshal(p.Filled)
	a.eff.detail = p.Serial
	return a.exec(`UPDATE certificates SET template_version = ?, text = ?, content_hash = ?, payload = ?, pdf_sha256 = ?,
			valid_until = ?, updated_at = ? WHERE id = ?`,
		p.TemplateVersion, string(text), p.ContentHash, p.Payload, p.PDFSHA256, dateText(p.ValidUntil), formatTime(a.cmd.At), p.CertificateID)
}

// validateIssue checks a certificate.issue payload on its own.
func validateIssue(p *station.CertificateIssue, role station.Role) error {
	bad := func(format string, args ...any) error { return station.Errorf(station.EINVALID, format, args...) }
	switch {
	case p.CertificateID == "" || len(p.CertificateID) > 64:
		return bad("缺少证明编号")
	case p.TypeCode == "" || len(p.TypeCode) > 16 || strings.TrimSpace(p.TypeName) == "" || p.Category == "" || p.TemplateVersion < 1:
		return bad("证明类型信息不完整")
	case p.ResidentID == "":
		return bad("缺少居民编号")
	case !strings.Contains(p.SubjectNameMasked, "*") || !strings.Contains(p.SubjectIDMasked, "*"):
		return bad("证明对象的姓名和证件号码必须隐藏部分字符")
	case !station.IsSHA256(p.PDFSHA256):
		return bad("证明PDF文件摘要格式错误")
	case p.IssueDate.IsZero() || (!p.ValidUntil.IsZero() && p.ValidUntil.Before(p.IssueDate)):
		return bad("开具日期或有效期无效")
	case strings.TrimSpace(p.Filled.Title) == "" || len(p.Filled.Body) == 0 || strings.TrimSpace(p.Filled.Seal) == "":
		return bad("证明内容不完整")
	case len(p.Inputs) > 40:
		return bad("填写项过多")
	}
	switch p.Channel {
	case station.ChannelKiosk:
		if role != station.RoleResident {
			return bad("自助终端开具的证明应由居民本人办理")
		}
	case station.ChannelCounter:
		if role == station.RoleResident {
			return bad("柜台开具的证明应由工作人员办理")
		}
	default:
		return bad("办理渠道“%s”无效", p.Channel)
	}
	for k, v := range p.Inputs {
		if len(k) > 32 || utf8.RuneCountInString(v) > cert.MaxInputLen {
			return bad("填写项%s过长", k)
		}
	}
	return nil
}

func nonNilMap(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// printRow appends one print attempt to the certificate's print log.
func (a *applier) printRow(id string, reprint bool, printer, pdf, result, reason string) error {
	var seq int
	if err := a.tx.QueryRowContext(a.ctx, `SELECT count(*) FROM certificate_prints WHERE certificate_id = ?`, id).Scan(&seq); err != nil {
		return err
	}
	return a.exec(`INSERT INTO certificate_prints (certificate_id, seq, at, actor, reprint, printer, pdf_sha256, result, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		id, seq+1, formatTime(a.cmd.At), a.cmd.Actor.Username, boolInt(reprint), printer, pdf, result, reason)
}

func (a *applier) certificatePrinted() error {
	var p station.CertificatePrinted
	if err := a.decode(&p); err != nil {
		return err
	}
	role := a.cmd.Actor.Role
	// A resident prints their certificate once at the kiosk; a reprint (补打) is staff's.
	if err := a.requireRole(station.CanTakeApplications(role) || role == station.RoleResident && !p.Reprint); err != nil {
		return err
	}
	a.eff.object, a.eff.objectID = "certificate:"+p.CertificateID, p.CertificateID
	c, err := a.loadCertificate(p.CertificateID)
	if err != nil {
		return err
	}
	if err := c.status.CanPrint(p.Reprint); err != nil {
		return err
	}
	if err := station.CheckText("打印机", p.Printer, 100, false); err != nil {
		return err
	}
	at := formatTime(a.cmd.At)
	if p.Reprint {
		if !station.IsSHA256(p.PDFSHA256) {
			return station.Errorf(station.EINVALID, "补打的PDF文件摘要格式错误")
		}
		a.eff.auditAction = "certificate.reprint"
		a.eff.detail = fmt.Sprintf("补打 print %d", c.prints+1)
		if err := a.exec(`UPDATE certificates SET print_count = print_count + 1, updated_at = ? WHERE id = ?`, at, p.CertificateID); err != nil {
			return err
		}
	} else {
		if c.payload == "" {
			return station.Errorf(station.ECONFLICT, "该证明尚未编号签发，不能记为已打印")
		}
		if p.PDFSHA256 == "" {
			p.PDFSHA256 = c.pdfSHA
		}
		if p.PDFSHA256 != c.pdfSHA {
			return station.Errorf(station.EINVALID, "打印的文件不是该证明的PDF")
		}
		a.eff.detail = c.serial + " issued"
		if err := a.exec(`UPDATE certificates SET status = ?, print_count = print_count + 1, issued_at = ?, updated_at = ? WHERE id = ?`,
			string(station.CertIssued), at, at, p.CertificateID); err != nil {
			return err
		}
	}
	return a.printRow(p.CertificateID, p.Reprint, p.Printer, p.PDFSHA256, "ok", "")
}

func (a *applier) certificatePrintFailed() error {
	if err := a.requireRole(station.CanTakeApplications(a.cmd.Actor.Role) || a.cmd.Actor.Role == station.RoleResident); err != nil {
		return err
	}
	var p station.CertificatePrintFailed
	if err := a.decode(&p); err != nil {
		return err
	}
	a.eff.object, a.eff.objectID = "certificate:"+p.CertificateID, p.CertificateID
	if p.Code == "" || len(p.Code) > 32 {
		return station.Errorf(station.EINVALID, "打印失败代码无效")
	}
	if err := station.CheckLongText("失败原因", p.Reason, 200, false); err != nil {
		return err
	}
	c, err := a.loadCertificate(p.CertificateID)
	if err != nil {
		return err
	}
	a.eff.detail = p.Code
	if err := a.exec(`UPDATE certificates SET print_failures = print_failures + 1, updated_at = ? WHERE id = ?`,
		formatTime(a.cmd.At), p.CertificateID); err != nil {
		return err
	}
	return a.printRow(p.CertificateID, p.Reprint, "", c.pdfSHA, p.Code, p.Reason)
}

// endCertificate moves a certificate to voided or revoked with a reason.
func (a *applier) endCertificate(id, reason string, to station.CertStatus) error {
	a.eff.object, a.eff.objectID = "certificate:"+id, id
	reason = strings.TrimSpace(reason)
	if utf8.RuneCountInString(reason) < 2 {
		return station.Errorf(station.EINVALID, "请填写原因")
	}
	if err := station.CheckLongText("原因", reason, 500, true); err != nil {
		return err
	}
	c, err := a.loadCertificate(id)
	if err != nil {
		return err
	}
	if c.status == station.CertVoided || c.status == station.CertRevoked {
		return station.Errorf(station.ECONFLICT, "该证明%s", c.status.Label())
	}
	a.eff.detail = fmt.Sprintf("%s -> %s", c.status, to)
	return a.exec(`UPDATE certificates SET status = ?, reason = ?, updated_at = ? WHERE id = ?`, string(to), reason, formatTime(a.cmd.At), id)
}

func (a *applier) certificateVoid() error {
	if err := a.requireRole(station.CanTakeApplications(a.cmd.Actor.Role)); err != nil {
		return err
	}
	var p station.CertificateVoid
	if err := a.decode(&p); err != nil {
		return err
	}
	return a.endCertificate(p.CertificateID, p.Reason, station.CertVoided)
}

func (a *applier) certificateRevoke() error {
	// The station admin, or the technician's shell (`station cert revoke`).
	if err := a.requireRole(a.cmd.Actor.Role == station.RoleStationAdmin || a.cmd.Actor.Role == station.RoleSystem); err != nil {
		return err
	}
	var p station.CertificateRevoke
	if err := a.decode(&p); err != nil {
		return err
	}
	return a.endCertificate(p.CertificateID, p.Reason, station.CertRevoked)
}

// certificatesFollow moves the certificates waiting for an application along with it, in the
// transaction of the application's transition: approved makes them printable, a rejection or a
// withdrawal voids them.
func (a *applier) certificatesFollow(appID string, to station.Status, reason string) error {
	var status station.CertStatus
	var why string
	switch to {
	case station.StatusApproved:
		status = station.CertPendingPrint
	case station.StatusRejected:
		status, why = station.CertVoided, "部门核实未通过："+reason
	case station.StatusWithdrawn:
		status, why = station.CertVoided, "证明核实申请已撤回："+reason
	default:
		return nil
	}
	res, err := a.tx.ExecContext(a.ctx, `UPDATE certificates SET status = ?, reason = ?, updated_at = ? WHERE application_id = ? AND status = ?`,
		string(status), strings.TrimSuffix(why, "："), formatTime(a.cmd.At), appID, string(station.CertAwaitingApproval))
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n > 0 {
		a.eff.detail += fmt.Sprintf("; %d certificate(s) -> %s", n, status)
	}
	return nil
}

func (a *applier) signingKeyPublish() error {
	if err := a.requireSystem(); err != nil {
		return err
	}
	var p station.SigningKeyPublish
	if err := a.decode(&p); err != nil {
		return err
	}
	var k cert.PublicKey
	if err := json.Unmarshal(p.PublicKey, &k); err != nil {
		return station.Errorf(station.EINVALID, "签名公钥格式错误")
	}
	if err := station.CheckText("服务站名称", p.StationName, 100, false); err != nil {
		return err
	}
	a.eff.object, a.eff.objectID = "signing_key:"+k.KeyID, k.KeyID
	a.eff.detail = fmt.Sprintf("%s %s station %s", k.Algorithm, k.KeyID, k.StationID)
	// Published before under the same station and name (a box of the cluster that started before its
	// store caught up asked again): applied, audited, and nothing more to send.
	var stationID, name string
	var own bool
	err := a.tx.QueryRowContext(a.ctx, `SELECT station_id, station_name, own FROM signing_keys WHERE key_id = ?`, k.KeyID).Scan(&stationID, &name, &own)
	if err == nil && own && stationID == k.StationID && name == p.StationName {
		a.eff.local = true
		a.eff.detail += " (already published)"
		return nil
	} else if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	return a.putSigningKey(k, p.StationName, true)
}

// putSigningKey adds a key to the ring, or updates the one with its id. A key is bound to one station:
// a distributed key whose id the ring holds for another station is refused; the station's own key
// follows the station's ID (a provisional ID before enrollment, then the data center's).
func (a *applier) putSigningKey(k cert.PublicKey, name string, own bool) error {
	var stationID string
	var wasOwn bool
	err := a.tx.QueryRowContext(a.ctx, `SELECT station_id, own FROM signing_keys WHERE key_id = ?`, k.KeyID).Scan(&stationID, &wasOwn)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return a.exec(`INSERT INTO signing_keys (key_id, station_id, station_name, algorithm, public_key, own, added_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			k.KeyID, k.StationID, name, string(k.Algorithm), base64.StdEncoding.EncodeToString(k.DER), boolInt(own), formatTime(a.cmd.At))
	case err != nil:
		return err
	case own || stationID == k.StationID:
		if name == "" {
			return a.exec(`UPDATE signing_keys SET station_id = ?, own = ? WHERE key_id = ?`, k.StationID, boolInt(own || wasOwn), k.KeyID)
		}
		return a.exec(`UPDATE signing_keys SET station_id = ?, station_name = ?, own = ? WHERE key_id = ?`, k.StationID, name, boolInt(own || wasOwn), k.KeyID)
	}
	return station.Errorf(station.ECONFLICT, "签名密钥%s已登记为其他服务站的公钥", k.KeyID)
}

func (a *applier) ratingRecord() error {
	role := a.cmd.Actor.Role
	if err := a.requireRole(role == station.RoleResident || station.CanTakeApplications(role)); err != nil {
		return err
	}
	var p station.RatingRecord
	if err := a.decode(&p); err != nil {
		return err
	}
	if p.RatingID == "" || len(p.RatingID) > 64 {
		return station.Errorf(station.EINVALID, "缺少评价编号")
	}
	if station.ScoreLabel(p.Score) == "" {
		return station.Errorf(station.EINVALID, "评价应为1（不满意）、2（基本满意）或3（满意）")
	}
	if p.Channel != station.ChannelKiosk && p.Channel != station.ChannelCounter {
		return station.Errorf(station.EINVALID, "评价渠道无效")
	}
	var table string
	switch p.Subject {
	case station.RateCertificate:
		table = "certificates"
	case station.RateApplication:
		table = "applications"
	default:
		return station.Errorf(station.EINVALID, "评价对象应为certificate或application")
	}
	a.eff.object, a.eff.objectID = p.Subject+":"+p.ObjectID, p.RatingID
	var n int
	if err := a.tx.QueryRowContext(a.ctx, `SELECT count(*) FROM `+table+` WHERE id = ?`, p.ObjectID).Scan(&n); err != nil {
		return err
	} else if n == 0 {
		return station.Errorf(station.ENOTFOUND, "评价的对象不存在")
	}
	a.eff.detail = fmt.Sprintf("score %d", p.Score)
	return a.exec(`INSERT INTO ratings (id, subject, object_id, score, channel, at) VALUES (?, ?, ?, ?, ?, ?)`,
		p.RatingID, p.Subject, p.ObjectID, p.Score, p.Channel, formatTime(a.cmd.At))
}

// certificateChange applies a downlink change of the certificate system.
func (a *applier) certificateChange(c *station.Change) error {
	switch c.Type {
	case station.ChangeSigningKey:
		sk := c.SigningKey
		if sk == nil {
			return station.Errorf(station.EINVALID, "签名公钥变更内容无效")
		}
		var k cert.PublicKey
		if err := json.Unmarshal(sk.PublicKey, &k); err != nil || k.StationID != sk.StationID || c.Key != "signing_key:"+k.KeyID {
			return station.Errorf(station.EINVALID, "签名公钥变更内容无效")
		}
		if err := station.CheckText("服务站名称", sk.StationName, 100, false); err != nil {
			return err
		}
		return a.putSigningKey(k, sk.StationName, false)
	case station.ChangeRevocation:
		r := c.Revocation
		if r == nil || c.Key != "revocation:"+r.StationID+":"+r.CertificateID {
			return station.Errorf(station.EINVALID, "证明撤销内容无效")
		}
		if err := r.Validate(); err != nil {
			return err
		}
		reason := strings.TrimSpace(r.Reason)
		if err := a.exec(`INSERT INTO revocations (station_id, certificate_id, reason, revoked_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (station_id, certificate_id) DO UPDATE SET reason = excluded.reason, revoked_at = excluded.revoked_at`,
			r.StationID, r.CertificateID, reason, formatTime(r.RevokedAt)); err != nil {
			return err
		}
		// A certificate of this station (one of its own keys names the station) is revoked here too.
		return a.exec(`UPDATE certificates SET status = ?, reason = ?, updated_at = ? WHERE id = ? AND status <> ?
			AND EXISTS (SELECT 1 FROM signing_keys WHERE own = 1 AND station_id = ?)`,
			string(station.CertRevoked), "数据中心撤销："+reason, formatTime(a.cmd.At), r.CertificateID, string(station.CertRevoked), r.StationID)
	case station.ChangeTemplate:
		dec := json.NewDecoder(bytes.NewReader(c.Template))
		dec.DisallowUnknownFields()
		var t cert.Template
		if err := dec.Decode(&t); err != nil || c.Key != "template:"+t.Code {
			return station.Errorf(station.EINVALID, "证明模板变更内容无效")
		}
		if err := t.Validate(); err != nil {
			return err
		}
		held := 0
		if b, ok := cert.BuiltIn().Get(t.Code); ok {
			held = b.Version
		}
		var stored int
		if err := a.tx.QueryRowContext(a.ctx, `SELECT version FROM certificate_templates WHERE code = ?`, t.Code).Scan(&stored); err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if t.Version <= max(held, stored) {
			return station.Errorf(station.ECONFLICT, "证明模板%s的版本%d不高于已有的版本%d", t.Code, t.Version, max(held, stored))
		}
		body, _ := json.Marshal(t)
		return a.exec(`INSERT INTO certificate_templates (code, version, body) VALUES (?, ?, ?)
			ON CONFLICT (code) DO UPDATE SET version = excluded.version, body = excluded.body`, t.Code, t.Version, string(body))
	}
	return station.Errorf(station.EINVALID, "未知的下行变更类型“%s”", c.Type)
}

const certificateSelect = `SELECT c.id, coalesce(c.serial, ''), c.type_code, c.type_name, c.category, c.template_version, c.resident_id,
	c.subject_name_masked, c.subject_id_masked, c.text, c.inputs, c.content_hash, coalesce(c.payload, ''), c.pdf_sha256, c.issue_date,
	c.valid_until, coalesce(c.application_id, ''), coalesce(ap.number, ''), c.channel, c.status, c.print_count,
	c.print_failures, c.reason, c.created_at, c.created_by, c.issued_at, c.updated_at
	FROM certificates c LEFT JOIN applications ap ON ap.id = c.application_id`

func scanCertificate(r rowScanner) (*station.Certificate, error) {
	var c station.Certificate
	var text, inputs, issue, valid, status, created, updated string
	var issued sql.NullString
	if err := r.Scan(&c.ID, &c.Serial, &c.TypeCode, &c.TypeName, &c.Category, &c.TemplateVersion, &c.ResidentID,
		&c.SubjectNameMasked, &c.SubjectIDMasked, &text, &inputs, &c.ContentHash, &c.Payload, &c.PDFSHA256, &issue,
		&valid, &c.ApplicationID, &c.ApplicationNumber, &c.Channel, &status, &c.PrintCount,
		&c.PrintFailures, &c.Reason, &created, &c.CreatedBy, &issued, &updated); err != nil {
		return nil, err
	}
	c.Status = station.CertStatus(status)
	if err := json.Unmarshal([]byte(text), &c.Text); err != nil {
		return nil, fmt.Errorf("certificate %s text: %w", c.ID, err)
	}
	if err := json.Unmarshal([]byte(inputs), &c.Inputs); err != nil {
		return nil, fmt.Errorf("certificate %s inputs: %w", c.ID, err)
	}
	c.IssueDate, _ = station.ParseDate(issue)
	if valid != "" {
		c.ValidUntil, _ = station.ParseDate(valid)
	}
	c.CreatedAt, _ = parseTime(created)
	c.UpdatedAt, _ = parseTime(updated)
	if issued.Valid {
		t, _ := parseTime(issued.String)
		c.IssuedAt = &t
	}
	return &c, nil
}

// Certificate returns one certificate, or ENOTFOUND.
func (db *DB) Certificate(ctx context.Context, id string) (*station.Certificate, error) {
	c, err := scanCertificate(db.read.QueryRowContext(ctx, certificateSelect+` WHERE c.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, station.Errorf(station.ENOTFOUND, "证明不存在")
	} else if err != nil {
		return nil, fmt.Errorf("certificate: %w", err)
	}
	return c, nil
}

// Certificates returns the certificates that match f, newest first, and how many match in all.
func (db *DB) Certificates(ctx context.Context, f station.CertificateFilter) ([]station.Certificate, int, error) {
	// Previews never printed are no entries of the register.
	where := []string{`(c.serial IS NOT NULL OR c.application_id IS NOT NULL OR c.status <> 'pending_print')`}
	var args []any
	if f.ResidentID != "" {
		where = append(where, `c.resident_id = ?`)
		args = append(args, f.ResidentID)
	}
	if f.Status != "" {
		where = append(where, `c.status = ?`)
		args = append(args, string(f.Status))
	}
	cond := " WHERE " + strings.Join(where, " AND ")
	var total int
	if err := db.read.QueryRowContext(ctx, `SELECT count(*) FROM certificates c`+cond, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count certificates: %w", err)
	}
	limit := f.Limit
	if limit <= 0 || limit > 100 {
		limit = 100
	}
	rows, err := db.read.QueryContext(ctx, certificateSelect+cond+` ORDER BY c.created_at DESC, c.serial DESC LIMIT ? OFFSET ?`,
		append(args, limit, max(f.Offset, 0))...)
	if err != nil {
		return nil, 0, fmt.Errorf("list certificates: %w", err)
	}
	defer rows.Close()
	out := []station.Certificate{}
	for rows.Next() {
		c, err := scanCertificate(rows)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, *c)
	}
	return out, total, rows.Err()
}

// IssuedCertificates returns the certificates that count for a resident's no_repeat_days rules: issued,
// numbered and waiting for the printer, or waiting for (or approved by) a department. A voided one is
// no repeat, nor is a preview that was never printed.
func (db *DB) IssuedCertificates(ctx context.Context, residentID string) ([]cert.Issued, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT type_code, issue_date FROM certificates WHERE resident_id = ?
		AND (status IN (?, ?) OR status = ? AND (serial IS NOT NULL OR application_id IS NOT NULL))`,
		residentID, string(station.CertIssued), string(station.CertAwaitingApproval), string(station.CertPendingPrint))
	if err != nil {
		return nil, fmt.Errorf("issued certificates: %w", err)
	}
	defer rows.Close()
	var out []cert.Issued
	for rows.Next() {
		var code, day string
		if err := rows.Scan(&code, &day); err != nil {
			return nil, err
		}
		d, err := station.ParseDate(day)
		if err != nil {
			return nil, fmt.Errorf("issued certificates: bad date %q", day)
		}
		out = append(out, cert.Issued{Code: code, Date: d})
	}
	return out, rows.Err()
}

// SigningKeys returns the key ring: the station's own keys and those the data center distributed.
func (db *DB) SigningKeys(ctx context.Context) ([]station.SigningKeyInfo, error) {
	return db.signingKeys(ctx, "")
}

func (db *DB) signingKeys(ctx context.Context, where string, args ...any) ([]station.SigningKeyInfo, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT key_id, station_id, station_name, algorithm, public_key, own, added_at FROM signing_keys `+where+` ORDER BY added_at, key_id`, args...)
	if err != nil {
		return nil, fmt.Errorf("signing keys: %w", err)
	}
	defer rows.Close()
	out := []station.SigningKeyInfo{}
	for rows.Next() {
		var k station.SigningKeyInfo
		var pub, at string
		if err := rows.Scan(&k.KeyID, &k.StationID, &k.StationName, &k.Algorithm, &pub, &k.Own, &at); err != nil {
			return nil, err
		}
		if k.PublicKey, err = base64.StdEncoding.DecodeString(pub); err != nil {
			return nil, fmt.Errorf("signing key %s: %w", k.KeyID, err)
		}
		k.AddedAt, _ = parseTime(at)
		out = append(out, k)
	}
	return out, rows.Err()
}

// SigningKey returns the key with the given id from the key ring, or ENOTFOUND.
func (db *DB) SigningKey(ctx context.Context, keyID string) (*station.SigningKeyInfo, error) {
	keys, err := db.signingKeys(ctx, `WHERE key_id = ?`, keyID)
	if err != nil {
		return nil, err
	}
	if len(keys) == 0 {
		return nil, station.Errorf(station.ENOTFOUND, "没有该签名公钥")
	}
	return &keys[0], nil
}

// StationSigningKeys returns the keys the ring holds for one station.
func (db *DB) StationSigningKeys(ctx context.Context, stationID string) ([]station.SigningKeyInfo, error) {
	return db.signingKeys(ctx, `WHERE station_id = ?`, stationID)
}

// Revocation returns the data center's revocation of a certificate, or ENOTFOUND.
func (db *DB) Revocation(ctx context.Context, stationID, certificateID string) (*station.Revocation, error) {
	r := station.Revocation{StationID: stationID, CertificateID: certificateID}
	var at string
	err := db.read.QueryRowContext(ctx, `SELECT reason, revoked_at FROM revocations WHERE station_id = ? AND certificate_id = ?`,
		stationID, certificateID).Scan(&r.Reason, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, station.Errorf(station.ENOTFOUND, "没有撤销记录")
	} else if err != nil {
		return nil, fmt.Errorf("revocation: %w", err)
	}
	r.RevokedAt, _ = parseTime(at)
	return &r, nil
}

// CertificateTemplates returns the templates the data center published, by code.
func (db *DB) CertificateTemplates(ctx context.Context) ([]cert.Template, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT code, body FROM certificate_templates ORDER BY code`)
	if err != nil {
		return nil, fmt.Errorf("certificate templates: %w", err)
	}
	defer rows.Close()
	var out []cert.Template
	for rows.Next() {
		var code, body string
		if err := rows.Scan(&code, &body); err != nil {
			return nil, err
		}
		var t cert.Template
		if err := json.Unmarshal([]byte(body), &t); err != nil {
			return nil, fmt.Errorf("certificate template %s: %w", code, err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// CertificatePrint is one print attempt of a certificate.
type CertificatePrint struct {
	At      time.Time
	Actor   string
	Reprint bool
	Printer string
	PDF     string
	Result  string // ok, or the failure code
	Reason  string
}

// CertificatePrints returns a certificate's print attempts in order.
func (db *DB) CertificatePrints(ctx context.Context, id string) ([]CertificatePrint, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT at, actor, reprint, printer, pdf_sha256, result, reason FROM certificate_prints WHERE certificate_id = ? ORDER BY seq`, id)
	if err != nil {
		return nil, fmt.Errorf("certificate prints: %w", err)
	}
	defer rows.Close()
	var out []CertificatePrint
	for rows.Next() {
		var p CertificatePrint
		var at string
		if err := rows.Scan(&at, &p.Actor, &p.Reprint, &p.Printer, &p.PDF, &p.Result, &p.Reason); err != nil {
			return nil, err
		}
		p.At, _ = parseTime(at)
		out = append(out, p)
	}
	return out, rows.Err()
}
