package sqlite_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/civic-station/station/station"
	"github.com/civic-station/station/station/cert"
)

var kiosk = station.Actor{Username: "kiosk", Role: station.RoleResident}

// verificationMatter is a 证明核实 matter of the department that verifies MS-004 (高龄津贴申领初审意见).
var verificationMatter = station.Matter{Code: "ZM-HS-MZ", Name: "民政证明核实", Department: "街道办事处社会事务办（民政）",
	Category: station.CertificateMatterCategory, Kind: station.KindCommitment, TimeLimitDays: 5, FeeNote: "不收费",
	Location: "综合窗口", Materials: []station.Material{{Code: "M1", Name: "居民身份证", Required: true}},
	Status: station.MatterActive, Version: 1}

// resident adds a resident registered in the community since the given day and returns its ID.
func (f *fixture) resident(seq int, registered station.Date, tags ...string) string {
	f.t.Helper()
	number := validNumber(seq)
	sealed, err := f.key.Seal(station.IDResident, number)
	if err != nil {
		f.t.Fatal(err)
	}
	res := f.mustSubmit(station.CmdResidentUpsert, staff, station.ResidentUpsert{ResidentID: "res-" + f.nextID(), IDNumber: sealed,
		Name: "王桂芬", Sex: station.SexFemale, BirthDate: station.Date{Year: 1941, Month: 3, Day: 12}, Address: "幸福小区3栋101室",
		Community: "幸福社区", Tags: tags, RegisteredSince: registered})
	return res.ObjectID
}

// issue records an unnumbered certificate of type code for the resident (a preview) and returns the
// command's error.
func (f *fixture) issue(actor station.Actor, id, residentID, code string, appID string) error {
	f.t.Helper()
	today := station.DateOf(f.now)
	channel := station.ChannelCounter
	if actor.Role == station.RoleResident {
		channel = station.ChannelKiosk
	}
	_, err := f.submit(station.CmdCertificateIssue, actor, station.CertificateIssue{
		CertificateID: id, TypeCode: code, TypeName: "居住证明",
		Category: "livelihood", TemplateVersion: 1, ResidentID: residentID, SubjectNameMasked: "王**",
		SubjectIDMasked: "2201**********0012", Filled: station.CertificateText{Code: code, Version: 1, Title: "居住证明",
			Body: []string{"兹证明王桂芬居住于幸福小区。"}, Seal: "幸福社区居民委员会（盖章）"},
		Inputs: map[string]string{"purpose": "办理居住证"}, PDFSHA256: strings.Repeat("cd", 32), IssueDate: today,
		ValidUntil: today.AddDays(29), ApplicationID: appID, Channel: channel,
	})
	return err
}

// number numbers a certificate and signs it, as the issuing service does before its first print, and
// returns the serial the register gave it.
func (f *fixture) number(actor station.Actor, id string) (string, error) {
	f.t.Helper()
	if _, err := f.submit(station.CmdCertificateNumber, actor, station.CertificateNumber{CertificateID: id}); err != nil {
		return "", err
	}
	c := f.certificate(id)
	_, err := f.submit(station.CmdCertificateSign, actor, f.signing(c))
	return c.Serial, err
}

// signing is a valid certificate.sign of a numbered certificate.
func (f *fixture) signing(c *station.Certificate) station.CertificateSign {
	return station.CertificateSign{CertificateID: c.ID, Serial: c.Serial, TemplateVersion: 1,
		Filled: station.CertificateText{Code: c.TypeCode, Version: 1, Title: "居住证明", Body: []string{"兹证明王桂芬居住于幸福小区。"},
			Seal: "幸福社区居民委员会（盖章）"}, ContentHash: strings.Repeat("ab", 32), Payload: "C1." + c.ID,
		PDFSHA256: strings.Repeat("cd", 32), IssueDate: c.IssueDate, ValidUntil: c.IssueDate.AddDays(29)}
}

func (f *fixture) mustNumber(actor station.Actor, id string) string {
	f.t.Helper()
	serial, err := f.number(actor, id)
	if err != nil {
		f.t.Fatalf("number %s: %v", id, err)
	}
	return serial
}

func (f *fixture) certificate(id string) *station.Certificate {
	f.t.Helper()
	c, err := f.db.Certificate(context.Background(), id)
	if err != nil {
		f.t.Fatal(err)
	}
	return c
}

func (f *fixture) audit(object string) []station.AuditEntry {
	f.t.Helper()
	entries, _, err := f.db.AuditEntries(context.Background(), station.AuditFilter{Object: object})
	if err != nil {
		f.t.Fatal(err)
	}
	return entries
}

func TestACertificateIsIssuedOnlyWhenThePrinterConfirms(t *testing.T) {
	f := newFixture(t)
	r := f.resident(1, station.Date{Year: 2020, Month: 1, Day: 1})
	if err := f.issue(kiosk, "cert-1", r, "MS-001", ""); err != nil {
		t.Fatal(err)
	}
	c := f.certificate("cert-1")
	if c.Status != station.CertPendingPrint || c.PrintCount != 0 || c.IssuedAt != nil || c.Serial != "" || c.Payload != "" ||
		c.Inputs["purpose"] != "办理居住证" || c.Text.Title != "居住证明" || c.Channel != station.ChannelKiosk {
		t.Fatalf("after issue: %+v", c)
	}
	if _, err := f.submit(station.CmdCertificatePrinted, kiosk, station.CertificatePrinted{CertificateID: "cert-1", Printer: "A4"}); station.ErrorCode(err) != station.ECONFLICT {
		t.Fatalf("an unnumbered certificate recorded as printed: %v", err)
	}
	if serial := f.mustNumber(kiosk, "cert-1"); serial != "ZM20261124-0001" {
		t.Fatalf("serial %s", serial)
	}

	f.mustSubmit(station.CmdCertificatePrintFailed, kiosk, station.CertificatePrintFailed{CertificateID: "cert-1", Code: "paper_out", Reason: "打印机缺纸"})
	if c := f.certificate("cert-1"); c.Status != station.CertPendingPrint || c.PrintFailures != 1 || c.PrintCount != 0 {
		t.Fatalf("a failed print changed the certificate: %+v", c)
	}
	entries := f.audit("certificate:cert-1")
	if last := entries[0]; last.Action != string(station.CmdCertificatePrintFailed) || last.Detail != "paper_out" || last.Result != "ok" {
		t.Fatalf("the failed print is not audited: %+v", last)
	}

	f.now = f.now.Add(time.Minute)
	f.mustSubmit(station.CmdCertificatePrinted, kiosk, station.CertificatePrinted{CertificateID: "cert-1", Printer: "A4"})
	c = f.certificate("cert-1")
	if c.Status != station.CertIssued || c.PrintCount != 1 || c.IssuedAt == nil || !c.IssuedAt.Equal(f.now) {
		t.Fatalf("after the confirmed print: %+v", c)
	}
	if _, err := f.submit(station.CmdCertificatePrinted, kiosk, station.CertificatePrinted{CertificateID: "cert-1"}); station.ErrorCode(err) != station.ECONFLICT {
		t.Fatalf("a second first print: %v", err)
	}
	prints, err := f.db.CertificatePrints(context.Background(), "cert-1")
	if err != nil || len(prints) != 2 || prints[0].Result != "paper_out" || prints[1].Result != "ok" || prints[1].PDF != strings.Repeat("cd", 32) {
		t.Fatalf("print log: %+v %v", prints, err)
	}
}

func TestReprintVoidAndRevoke(t *testing.T) {
	f := newFixture(t)
	r := f.resident(1, station.Date{Year: 2020, Month: 1, Day: 1})
	for i, id := range []string{"c1", "c2", "c3"} {
		if err := f.issue(staff, id, r, "MS-001", ""); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			f.mustNumber(staff, id)
		}
	}
	reprint := station.CertificatePrinted{CertificateID: "c1", Reprint: true, PDFSHA256: strings.Repeat("ef", 32)}
	if _, err := f.submit(station.CmdCertificatePrinted, staff, reprint); station.ErrorCode(err) != station.ECONFLICT {
		t.Fatalf("a reprint before the first print: %v", err)
	}
	f.mustSubmit(station.CmdCertificatePrinted, staff, station.CertificatePrinted{CertificateID: "c1"})
	if _, err := f.submit(station.CmdCertificatePrinted, kiosk, reprint); station.ErrorCode(err) != station.EFORBIDDEN {
		t.Fatalf("a resident reprinted: %v", err)
	}
	f.mustSubmit(station.CmdCertificatePrinted, staff, reprint)
	if c := f.certificate("c1"); c.Status != station.CertIssued || c.PrintCount != 2 || c.PDFSHA256 != strings.Repeat("cd", 32) {
		t.Fatalf("after the reprint: %+v", c)
	}
	if e := f.audit("certificate:c1")[0]; e.Action != "certificate.reprint" || !strings.Contains(e.Detail, "补打") {
		t.Fatalf("the reprint is not audited as one: %+v", e)
	}

	tests := []struct {
		name   string
		kind   station.CommandKind
		actor  station.Actor
		id     string
		reason string
		code   string
		status station.CertStatus
	}{
		{"a void needs a reason", station.CmdCertificateVoid, staff, "c2", " ", station.EINVALID, station.CertPendingPrint},
		{"a technician may not void", station.CmdCertificateVoid, tech, "c2", "填写错误", station.EFORBIDDEN, station.CertPendingPrint},
		{"staff void with a reason", station.CmdCertificateVoid, staff, "c2", "填写错误", "", station.CertVoided},
		{"a voided certificate is not voided again", station.CmdCertificateVoid, staff, "c2", "填写错误", station.ECONFLICT, station.CertVoided},
		{"staff may not revoke", station.CmdCertificateRevoke, staff, "c1", "证明内容不实", station.EFORBIDDEN, station.CertIssued},
		{"the station admin revokes", station.CmdCertificateRevoke, admin, "c1", "证明内容不实", "", station.CertRevoked},
		{"a voided certificate is not revoked", station.CmdCertificateRevoke, admin, "c2", "证明内容不实", station.ECONFLICT, station.CertVoided},
		{"an unknown certificate", station.CmdCertificateVoid, staff, "nope", "填写错误", station.ENOTFOUND, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var payload any = station.CertificateVoid{CertificateID: tt.id, Reason: tt.reason}
			if tt.kind == station.CmdCertificateRevoke {
				payload = station.CertificateRevoke{CertificateID: tt.id, Reason: tt.reason}
			}
			_, err := f.submit(tt.kind, tt.actor, payload)
			if station.ErrorCode(err) != tt.code {
				t.Fatalf("error %v, want %q", err, tt.code)
			}
			if tt.status != "" {
				if c := f.certificate(tt.id); c.Status != tt.status {
					t.Fatalf("status %s, want %s", c.Status, tt.status)
				}
			}
		})
	}
	if c := f.certificate("c1"); c.Reason != "证明内容不实" {
		t.Fatalf("the revocation's reason: %q", c.Reason)
	}
	for _, kind := range []station.CommandKind{station.CmdCertificatePrinted} {
		if _, err := f.submit(kind, staff, station.CertificatePrinted{CertificateID: "c2"}); station.ErrorCode(err) != station.ECONFLICT {
			t.Fatalf("a voided certificate printed: %v", err)
		}
	}
}

func TestSerialsAreGivenAtPrintGapFreeAndPerDay(t *testing.T) {
	f := newFixture(t)
	r := f.resident(1, station.Date{Year: 2020, Month: 1, Day: 1})
	// Five previews, of which the second and the fourth are abandoned and the third fails at the printer.
	for _, id := range []string{"a", "b", "c", "d", "e"} {
		if err := f.issue(staff, id, r, "MS-001", ""); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.issue(staff, "a", r, "MS-001", ""); station.ErrorCode(err) != station.ECONFLICT {
		t.Fatalf("an id used twice: %v", err)
	}
	if list, total, _ := f.db.Certificates(context.Background(), station.CertificateFilter{}); total != 0 || len(list) != 0 {
		t.Fatalf("previews are listed in the register: %d", total)
	}
	want := map[string]string{"a": "ZM20261124-0001", "c": "ZM20261124-0002", "e": "ZM20261124-0003"}
	for _, id := range []string{"a", "c", "e"} {
		if serial := f.mustNumber(staff, id); serial != want[id] {
			t.Fatalf("%s numbered %s, want %s", id, serial, want[id])
		}
		if id == "c" {
			f.mustSubmit(station.CmdCertificatePrintFailed, staff, station.CertificatePrintFailed{CertificateID: id, Code: "paper_out", Reason: "打印机缺纸"})
		}
		f.mustSubmit(station.CmdCertificatePrinted, staff, station.CertificatePrinted{CertificateID: id, Printer: "A4"})
	}
	if _, err := f.submit(station.CmdCertificateNumber, staff, station.CertificateNumber{CertificateID: "a"}); station.ErrorCode(err) != station.ECONFLICT {
		t.Fatalf("an issued certificate numbered again: %v", err)
	}
	f.mustSubmit(station.CmdCertificateNumber, staff, station.CertificateNumber{CertificateID: "b"})
	if _, err := f.submit(station.CmdCertificateNumber, staff, station.CertificateNumber{CertificateID: "b"}); station.ErrorCode(err) != station.ECONFLICT {
		t.Fatalf("a numbered certificate numbered again: %v", err)
	}
	if c := f.certificate("b"); c.Serial != "ZM20261124-0004" {
		t.Fatalf("b: %s", c.Serial)
	}
	// The next day starts again at 0001, and its issue date is the day it was numbered.
	f.now = f.now.Add(24 * time.Hour)
	if serial := f.mustNumber(staff, "d"); serial != "ZM20261125-0001" {
		t.Fatalf("the next day: %s", serial)
	}
	if c := f.certificate("d"); c.IssueDate != (station.Date{Year: 2026, Month: 11, Day: 25}) {
		t.Fatalf("issue date %s", c.IssueDate)
	}
	list, total, err := f.db.Certificates(context.Background(), station.CertificateFilter{})
	if err != nil || total != 5 || len(list) != 5 {
		t.Fatalf("register: %d %v", total, err)
	}
	if e := f.audit("certificate:b")[1]; e.Action != string(station.CmdCertificateNumber) || e.Detail != "ZM20261124-0004" {
		t.Fatalf("numbering is not audited: %+v", e)
	}
}

func TestConcurrentNumberingIsUniqueAndGapFree(t *testing.T) {
	f := newFixture(t)
	r := f.resident(1, station.Date{Year: 2020, Month: 1, Day: 1})
	const n = 20
	for i := range n {
		if err := f.issue(staff, fmt.Sprintf("c%02d", i), r, "MS-001", ""); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd, _ := station.NewCommand(fmt.Sprintf("number-%02d", i), station.CmdCertificateNumber, f.now, staff,
				station.CertificateNumber{CertificateID: fmt.Sprintf("c%02d", i)})
			_, err := f.db.Submit(context.Background(), cmd)
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	seen := map[string]bool{}
	for i := range n {
		seen[f.certificate(fmt.Sprintf("c%02d", i)).Serial] = true
	}
	for i := 1; i <= n; i++ {
		if !seen[station.CertificateSerial(station.DateOf(f.now), i)] {
			t.Fatalf("serial %d missing: %v", i, seen)
		}
	}
}

func TestSigningANumberedCertificate(t *testing.T) {
	f := newFixture(t)
	r := f.resident(1, station.Date{Year: 2020, Month: 1, Day: 1})
	if err := f.issue(kiosk, "k", r, "MS-001", ""); err != nil {
		t.Fatal(err)
	}
	if err := f.issue(staff, "s", r, "MS-001", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := f.submit(station.CmdCertificateSign, kiosk, f.signing(f.certificate("k"))); station.ErrorCode(err) != station.ECONFLICT {
		t.Fatalf("signed before numbering: %v", err)
	}
	if _, err := f.submit(station.CmdCertificateNumber, kiosk, station.CertificateNumber{CertificateID: "s"}); station.ErrorCode(err) != station.EFORBIDDEN {
		t.Fatalf("a resident numbered a counter certificate: %v", err)
	}
	if _, err := f.submit(station.CmdCertificateNumber, tech, station.CertificateNumber{CertificateID: "k"}); station.ErrorCode(err) != station.EFORBIDDEN {
		t.Fatalf("a technician numbered a certificate: %v", err)
	}
	f.mustSubmit(station.CmdCertificateNumber, kiosk, station.CertificateNumber{CertificateID: "k"})
	c := f.certificate("k")
	tests := []struct {
		name   string
		change func(*station.CertificateSign)
		code   string
	}{
		{"another serial", func(p *station.CertificateSign) { p.Serial = station.CertificateSerial(c.IssueDate, 2) }, station.EINVALID},
		{"another day", func(p *station.CertificateSign) { p.IssueDate = c.IssueDate.AddDays(1) }, station.EINVALID},
		{"a payload that is not one", func(p *station.CertificateSign) { p.Payload = "x" }, station.EINVALID},
		{"a hash that is not one", func(p *station.CertificateSign) { p.ContentHash = "ab" }, station.EINVALID},
		{"no text", func(p *station.CertificateSign) { p.Filled.Body = nil }, station.EINVALID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := f.signing(c)
			tt.change(&p)
			if _, err := f.submit(station.CmdCertificateSign, kiosk, p); station.ErrorCode(err) != tt.code {
				t.Fatalf("error %v, want %s", err, tt.code)
			}
		})
	}
	f.mustSubmit(station.CmdCertificateSign, kiosk, f.signing(c))
	if c := f.certificate("k"); c.Payload != "C1.k" || c.ContentHash != strings.Repeat("ab", 32) {
		t.Fatalf("after signing: %+v", c)
	}
	if _, err := f.submit(station.CmdCertificateSign, kiosk, f.signing(c)); station.ErrorCode(err) != station.ECONFLICT {
		t.Fatalf("signed twice: %v", err)
	}
}

func TestIssueRefusesMalformedCommands(t *testing.T) {
	f := newFixture(t)
	r := f.resident(1, station.Date{Year: 2020, Month: 1, Day: 1})
	today := station.DateOf(f.now)
	good := station.CertificateIssue{CertificateID: "x", TypeCode: "MS-001", TypeName: "居住证明",
		Category: "livelihood", TemplateVersion: 1, ResidentID: r, SubjectNameMasked: "王**", SubjectIDMasked: "2201**0012",
		Filled:    station.CertificateText{Title: "居住证明", Body: []string{"兹证明"}, Seal: "居委会"},
		PDFSHA256: strings.Repeat("cd", 32), IssueDate: today, Channel: station.ChannelCounter}
	tests := []struct {
		name   string
		actor  station.Actor
		change func(*station.CertificateIssue)
		code   string
	}{
		{"a name in clear", staff, func(p *station.CertificateIssue) { p.SubjectNameMasked = "王桂芬" }, station.EINVALID},
		{"no issue date", staff, func(p *station.CertificateIssue) { p.IssueDate = station.Date{} }, station.EINVALID},
		{"a kiosk certificate by staff", staff, func(p *station.CertificateIssue) { p.Channel = station.ChannelKiosk }, station.EINVALID},
		{"a counter certificate by a resident", kiosk, func(*station.CertificateIssue) {}, station.EINVALID},
		{"a technician", tech, func(*station.CertificateIssue) {}, station.EFORBIDDEN},
		{"an unknown resident", staff, func(p *station.CertificateIssue) { p.ResidentID = "nobody" }, station.ENOTFOUND},
		{"a PDF that is not a hash", staff, func(p *station.CertificateIssue) { p.PDFSHA256 = "x" }, station.EINVALID},
		{"an unknown application", staff, func(p *station.CertificateIssue) { p.ApplicationID = "nope" }, station.ENOTFOUND},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := good
			tt.change(&p)
			if _, err := f.submit(station.CmdCertificateIssue, tt.actor, p); station.ErrorCode(err) != tt.code {
				t.Fatalf("error %v, want %s", err, tt.code)
			}
		})
	}
	if list, total, err := f.db.Certificates(context.Background(), station.CertificateFilter{}); err != nil || total != 0 || len(list) != 0 {
		t.Fatalf("a refused command left a certificate: %d %v", total, err)
	}
}

func TestNoRepeatDaysReadsTheHistory(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	r := f.resident(1, station.Date{Year: 2020, Month: 1, Day: 1}, "独生子女父母")
	tpl, ok := cert.BuiltIn().Get("JS-002") // 计划生育家庭奖励扶助资格初审意见: no_repeat_days 365
	if !ok {
		t.Fatal("JS-002 missing")
	}
	res, err := f.db.Resident(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	check := func(today station.Date) cert.Result {
		history, err := f.db.IssuedCertificates(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		return tpl.Check(cert.SubjectOf(*res, res.RegisteredSince, true), history, today)
	}
	today := station.DateOf(f.now)
	if !check(today).Allowed {
		t.Fatalf("no history: %s", check(today).Message())
	}
	if err := f.issue(staff, "first", r, "JS-002", ""); err != nil {
		t.Fatal(err)
	}
	if !check(today).Allowed {
		t.Fatal("a preview that was never printed counts as a repeat")
	}
	f.mustNumber(staff, "first")
	if res := check(today.AddDays(364)); res.Allowed || !strings.Contains(res.Message(), "365天内不能重复开具") {
		t.Fatalf("a repeat within 365 days: %+v", res)
	}
	if !check(today.AddDays(365)).Allowed {
		t.Fatal("the 366th day is refused")
	}
	f.mustSubmit(station.CmdCertificateVoid, staff, station.CertificateVoid{CertificateID: "first", Reason: "打错了"})
	if !check(today).Allowed {
		t.Fatal("a voided certificate counts as a repeat")
	}
	if res.RegisteredSince != (station.Date{Year: 2020, Month: 1, Day: 1}) {
		t.Fatalf("registered since: %v", res.RegisteredSince)
	}
}

func TestACertificateWaitingForItsDepartmentIsPrintableOnceApproved(t *testing.T) {
	f := newFixture(t)
	f.mustSubmit(station.CmdCatalogImport, system, station.CatalogImport{Matters: []station.Matter{verificationMatter}})
	r := f.resident(1, station.Date{Year: 2020, Month: 1, Day: 1}, "高龄")
	sealed, _ := f.key.Seal(station.IDResident, validNumber(1))
	intake := func(id string, actor station.Actor, matter string) error {
		_, err := f.submit(station.CmdApplicationIntake, actor, station.ApplicationIntake{ApplicationID: id, MatterCode: matter,
			Applicant: station.Applicant{ResidentID: r, IDNumber: sealed, IDLast4: "0012", Name: "王桂芬"},
			Materials: []station.MaterialCheck{{Code: "M1", Provided: true}}})
		return err
	}
	if err := intake("app-other", kiosk, "MZ-001"); station.ErrorCode(err) != station.EFORBIDDEN {
		t.Fatalf("a resident applied at the kiosk for a matter that is not a certificate's verification: %v", err)
	}
	if err := intake("app-1", kiosk, verificationMatter.Code); err != nil {
		t.Fatal(err)
	}
	if err := f.issue(kiosk, "waits", r, "MS-004", "app-1"); err != nil {
		t.Fatal(err)
	}
	c := f.certificate("waits")
	if c.Status != station.CertAwaitingApproval || c.ApplicationID != "app-1" || !strings.HasPrefix(c.ApplicationNumber, "SQ20261124-") {
		t.Fatalf("after issue: %+v", c)
	}
	if _, err := f.submit(station.CmdCertificatePrinted, kiosk, station.CertificatePrinted{CertificateID: "waits"}); station.ErrorCode(err) != station.ECONFLICT {
		t.Fatalf("printed before approval: %v", err)
	}
	for _, a := range []station.Action{station.ActionPreReview, station.ActionForward} {
		if err := f.transition(reviewer, "app-1", a, ""); err != nil {
			t.Fatal(err)
		}
	}
	if c := f.certificate("waits"); c.Status != station.CertAwaitingApproval {
		t.Fatalf("forwarding changed the certificate: %s", c.Status)
	}
	// The department's decision arrives through the downlink, applied in the sync.apply transaction.
	f.mustSubmit(station.CmdSyncApply, system, station.SyncApply{Cursor: "1", Changes: []station.Change{{Key: "decision:app-1", Version: "approve",
		Type: station.ChangeDecision, Decision: &station.Decision{ApplicationID: "app-1", Action: station.ActionApprove, Department: verificationMatter.Department}}}})
	if c := f.certificate("waits"); c.Status != station.CertPendingPrint {
		t.Fatalf("after approval: %s", c.Status)
	}
	if e := f.audit("sync")[0]; !strings.Contains(e.Detail, "0 refused") {
		t.Fatalf("sync apply: %+v", e)
	}
	f.mustNumber(kiosk, "waits")
	f.mustSubmit(station.CmdCertificatePrinted, kiosk, station.CertificatePrinted{CertificateID: "waits"})

	// A rejected verification voids the certificate waiting for it, in the same transaction.
	if err := intake("app-2", staff, verificationMatter.Code); err != nil {
		t.Fatal(err)
	}
	if err := f.issue(staff, "rejected", r, "MS-004", "app-2"); err != nil {
		t.Fatal(err)
	}
	for _, a := range []station.Action{station.ActionPreReview, station.ActionForward} {
		if err := f.transition(reviewer, "app-2", a, ""); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.transition(reviewer, "app-2", station.ActionReject, "年龄不符"); err != nil {
		t.Fatal(err)
	}
	if c := f.certificate("rejected"); c.Status != station.CertVoided || !strings.Contains(c.Reason, "年龄不符") {
		t.Fatalf("after rejection: %+v", c)
	}
	if err := f.issue(staff, "late", r, "MS-004", "app-2"); station.ErrorCode(err) != station.ECONFLICT {
		t.Fatalf("a certificate for a rejected verification: %v", err)
	}
}

func TestTheApprovalAndTheCertificateCommitTogether(t *testing.T) {
	f := newFixture(t)
	f.mustSubmit(station.CmdCatalogImport, system, station.CatalogImport{Matters: []station.Matter{verificationMatter}})
	r := f.resident(1, station.Date{Year: 2020, Month: 1, Day: 1})
	sealed, _ := f.key.Seal(station.IDResident, validNumber(1))
	f.mustSubmit(station.CmdApplicationIntake, staff, station.ApplicationIntake{ApplicationID: "app", MatterCode: verificationMatter.Code,
		Applicant: station.Applicant{ResidentID: r, IDNumber: sealed, IDLast4: "0012", Name: "王桂芬"},
		Materials: []station.MaterialCheck{{Code: "M1", Provided: true}}})
	if err := f.issue(staff, "waits", r, "MS-004", "app"); err != nil {
		t.Fatal(err)
	}
	for _, a := range []station.Action{station.ActionPreReview, station.ActionForward} {
		if err := f.transition(reviewer, "app", a, ""); err != nil {
			t.Fatal(err)
		}
	}
	// A refused approval (a staff member may not decide) leaves both the application and the certificate.
	if err := f.transition(staff, "app", station.ActionApprove, ""); station.ErrorCode(err) != station.EFORBIDDEN {
		t.Fatalf("staff approved: %v", err)
	}
	if c := f.certificate("waits"); c.Status != station.CertAwaitingApproval {
		t.Fatalf("a refused approval moved the certificate: %s", c.Status)
	}
	if err := f.transition(reviewer, "app", station.ActionApprove, ""); err != nil {
		t.Fatal(err)
	}
	a, err := f.db.Application(context.Background(), "app")
	if err != nil || a.Status != station.StatusApproved {
		t.Fatalf("application: %+v %v", a, err)
	}
	c := f.certificate("waits")
	if c.Status != station.CertPendingPrint {
		t.Fatalf("certificate: %s", c.Status)
	}
	if e := f.audit("application:app")[0]; !strings.Contains(e.Detail, "1 certificate(s) -> pending_print") {
		t.Fatalf("the approval's audit entry does not say it released the certificate: %+v", e)
	}
}

func TestDownlinkKeysRevocationsAndTemplates(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	own, err := cert.GenerateSigner(cert.Ed25519, "station-a")
	if err != nil {
		t.Fatal(err)
	}
	other, _ := cert.GenerateSigner(cert.SM2, "station-b")
	ownJSON, _ := own.PublicKey().MarshalJSON()
	otherJSON, _ := other.PublicKey().MarshalJSON()
	stolen, _ := cert.NewPublicKey("station-b", own.PublicKey().DER)
	stolenJSON, _ := stolen.MarshalJSON()
	if _, err := f.submit(station.CmdSigningKeyPublish, admin, station.SigningKeyPublish{PublicKey: ownJSON}); station.ErrorCode(err) != station.EFORBIDDEN {
		t.Fatalf("an admin published a key: %v", err)
	}
	f.mustSubmit(station.CmdSigningKeyPublish, system, station.SigningKeyPublish{PublicKey: ownJSON, StationName: "幸福社区服务站"})
	r := f.resident(1, station.Date{Year: 2020, Month: 1, Day: 1})
	if err := f.issue(staff, "mine", r, "MS-001", ""); err != nil {
		t.Fatal(err)
	}
	f.mustNumber(staff, "mine")
	f.mustSubmit(station.CmdCertificatePrinted, staff, station.CertificatePrinted{CertificateID: "mine"})

	withdrawn := mustTemplate(t, "MS-002")
	withdrawn = withdrawn.Withdraw("依据民发〔2020〕20号停止开具")
	tplJSON, _ := json.Marshal(withdrawn)
	older, _ := json.Marshal(mustTemplate(t, "MS-003"))
	at := f.now
	changes := []station.Change{
		{Key: "signing_key:" + other.PublicKey().KeyID, Version: "1", Type: station.ChangeSigningKey,
			SigningKey: &station.SigningKey{StationID: "station-b", StationName: "红旗社区服务站", PublicKey: otherJSON}},
		{Key: "signing_key:" + own.PublicKey().KeyID, Version: "1", Type: station.ChangeSigningKey, // another station claims our key
			SigningKey: &station.SigningKey{StationID: "station-b", PublicKey: stolenJSON}},
		{Key: "revocation:station-a:mine", Version: "1", Type: station.ChangeRevocation,
			Revocation: &station.Revocation{StationID: "station-a", CertificateID: "mine", Reason: "数据中心核查撤销", RevokedAt: at}},
		{Key: "revocation:station-b:theirs", Version: "1", Type: station.ChangeRevocation,
			Revocation: &station.Revocation{StationID: "station-b", CertificateID: "theirs", Reason: "证明内容不实", RevokedAt: at}},
		{Key: "template:MS-002", Version: "2", Type: station.ChangeTemplate, Template: tplJSON},
		{Key: "template:MS-003", Version: "1", Type: station.ChangeTemplate, Template: older},
	}
	f.mustSubmit(station.CmdSyncApply, system, station.SyncApply{Cursor: "1", Changes: changes})

	keys, err := f.db.SigningKeys(ctx)
	if err != nil || len(keys) != 2 {
		t.Fatalf("key ring: %+v %v", keys, err)
	}
	if k, err := f.db.SigningKey(ctx, own.PublicKey().KeyID); err != nil || !k.Own || k.StationID != "station-a" || k.StationName != "幸福社区服务站" {
		t.Fatalf("our key after another station claimed it: %+v %v", k, err)
	}
	if k, err := f.db.SigningKey(ctx, other.PublicKey().KeyID); err != nil || k.Own || k.StationName != "红旗社区服务站" || k.Algorithm != "sm2" {
		t.Fatalf("the distributed key: %+v %v", k, err)
	}
	if c := f.certificate("mine"); c.Status != station.CertRevoked || !strings.Contains(c.Reason, "数据中心核查撤销") {
		t.Fatalf("our certificate revoked by the data center: %+v", c)
	}
	if rev, err := f.db.Revocation(ctx, "station-b", "theirs"); err != nil || rev.Reason != "证明内容不实" {
		t.Fatalf("another station's revocation: %+v %v", rev, err)
	}
	if _, err := f.db.Revocation(ctx, "station-b", "mine"); station.ErrorCode(err) != station.ENOTFOUND {
		t.Fatalf("a revocation that was never published: %v", err)
	}
	tpls, err := f.db.CertificateTemplates(ctx)
	if err != nil || len(tpls) != 1 || tpls[0].Code != "MS-002" || tpls[0].Active() {
		t.Fatalf("published templates: %+v %v", tpls, err)
	}
	// Each change is applied under its own savepoint: the refused ones are recorded with their code.
	raw, err := sql.Open("sqlite", "file:"+f.db.Path()+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	want := []string{"ok", station.ECONFLICT, "ok", "ok", "ok", station.ECONFLICT}
	for i, c := range changes {
		var result string
		if err := raw.QueryRow(`SELECT result FROM sync_items WHERE key = ?`, c.Key).Scan(&result); err != nil {
			t.Fatal(err)
		}
		if result != want[i] {
			t.Errorf("%s: %s, want %s", c.Key, result, want[i])
		}
	}
}

func mustTemplate(t *testing.T, code string) cert.Template {
	t.Helper()
	tpl, ok := cert.BuiltIn().Get(code)
	if !ok {
		t.Fatalf("%s missing", code)
	}
	return tpl
}

func TestRatings(t *testing.T) {
	f := newFixture(t)
	r := f.resident(1, station.Date{Year: 2020, Month: 1, Day: 1})
	if err := f.issue(kiosk, "c", r, "MS-001", ""); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		p    station.RatingRecord
		code string
	}{
		{"a satisfied resident", station.RatingRecord{RatingID: "r1", Subject: station.RateCertificate, ObjectID: "c", Score: 3, Channel: station.ChannelKiosk}, ""},
		{"a score of 4", station.RatingRecord{RatingID: "r2", Subject: station.RateCertificate, ObjectID: "c", Score: 4, Channel: station.ChannelKiosk}, station.EINVALID},
		{"an unknown certificate", station.RatingRecord{RatingID: "r3", Subject: station.RateCertificate, ObjectID: "x", Score: 1, Channel: station.ChannelKiosk}, station.ENOTFOUND},
		{"an unknown subject", station.RatingRecord{RatingID: "r4", Subject: "matter", ObjectID: "c", Score: 1, Channel: station.ChannelKiosk}, station.EINVALID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := f.submit(station.CmdRatingRecord, kiosk, tt.p); station.ErrorCode(err) != tt.code {
				t.Fatalf("error %v, want %q", err, tt.code)
			}
		})
	}
}

// A box of a cluster that starts before its store has caught up publishes the station's key again:
// the second publish is applied and audited but sends nothing; a new station name is sent.
func TestTheSameKeyPublishedTwiceIsSentOnce(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	own, err := cert.GenerateSigner(cert.Ed25519, "station-a")
	if err != nil {
		t.Fatal(err)
	}
	ownJSON, _ := own.PublicKey().MarshalJSON()
	publishes := func() int {
		t.Helper()
		recs, err := f.db.PendingOutbox(ctx, 100)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, r := range recs {
			if r.Kind == string(station.CmdSigningKeyPublish) {
				n++
			}
		}
		return n
	}
	before := publishes()
	f.mustSubmit(station.CmdSigningKeyPublish, system, station.SigningKeyPublish{PublicKey: ownJSON, StationName: "幸福社区服务站"})
	f.mustSubmit(station.CmdSigningKeyPublish, system, station.SigningKeyPublish{PublicKey: ownJSON, StationName: "幸福社区服务站"})
	if got := publishes() - before; got != 1 {
		t.Fatalf("%d publish records after publishing the same key twice, want 1", got)
	}
	f.mustSubmit(station.CmdSigningKeyPublish, system, station.SigningKeyPublish{PublicKey: ownJSON, StationName: "幸福里社区服务站"})
	if got := publishes() - before; got != 2 {
		t.Fatalf("%d publish records after the station's name changed, want 2", got)
	}
	if k, err := f.db.SigningKey(ctx, own.PublicKey().KeyID); err != nil || k.StationName != "幸福里社区服务站" {
		t.Fatalf("the key after the new name: %+v %v", k, err)
	}
}
