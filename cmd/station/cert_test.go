package main

import (
	"bytes"
	"context"
	"encoding/json"
	"image/png"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/civic-station/station/station"
	"github.com/civic-station/station/station/pdf/raster"
	"github.com/civic-station/station/station/revealkey"
)

// certView is a certificate as the API answers it.
type certView struct {
	ID                string  `json:"id"`
	Serial            string  `json:"serial"`
	TypeCode          string  `json:"type_code"`
	TypeName          string  `json:"type_name"`
	CategoryLabel     string  `json:"category_label"`
	Status            string  `json:"status"`
	StatusLabel       string  `json:"status_label"`
	SubjectName       string  `json:"subject_name"`
	SubjectID         string  `json:"subject_id"`
	IssueDate         string  `json:"issue_date"`
	ValidUntil        *string `json:"valid_until"`
	PrintCount        int     `json:"print_count"`
	PrintFailures     int     `json:"print_failures"`
	ApplicationID     string  `json:"application_id"`
	ApplicationNumber string  `json:"application_number"`
	Payload           string  `json:"payload"`
	VerifyURL         string  `json:"verify_url"`
	PreviewURL        string  `json:"preview_url"`
}

type verifyReply struct {
	Genuine     bool   `json:"genuine"`
	Status      string `json:"status"`
	ReasonCode  string `json:"reason_code"`
	Message     string `json:"message"`
	TypeCode    string `json:"type_code"`
	TypeName    string `json:"type_name"`
	SubjectName string `json:"subject_name"`
	SubjectID   string `json:"subject_id"`
	StationID   string `json:"station_id"`
	StationName string `json:"station_name"`
	IssueDate   string `json:"issue_date"`
}

type checkReply struct {
	Allowed  bool `json:"allowed"`
	Failures []struct {
		Rule, Reason, Advice string
	} `json:"failures"`
	NeedsDepartment bool `json:"needs_department"`
}

// placeCard puts the named demo resident's card on the simulated reader (taking off any card there)
// and waits until the box has read it.
func (s *testStation) placeCard(t *testing.T, name string) {
	t.Helper()
	idx := -1
	for _, c := range s.demoDev.DemoCards() {
		if c.Name == name {
			idx = c.Index
		}
	}
	if idx < 0 {
		t.Fatalf("no demo card for %s", name)
	}
	if s.Rig.Card() != nil {
		s.removeCard(t) // the reader reports a new card after the old one left
	}
	if r := s.do(t, "POST", "/api/v1/demo/idreader/place", "", map[string]int{"index": idx}); r.status != 200 {
		t.Fatalf("place card: %d %s", r.status, r.body)
	}
	eventually(t, "the card is read", func() bool { c := s.Rig.Card(); return c != nil && c.Name == name })
}

func (s *testStation) removeCard(t *testing.T) {
	t.Helper()
	s.do(t, "POST", "/api/v1/demo/idreader/remove", "", nil)
	eventually(t, "the card is gone", func() bool { return s.Rig.Card() == nil })
}

func (s *testStation) documentPaper(t *testing.T, loaded bool) {
	t.Helper()
	if r := s.do(t, "POST", "/api/v1/demo/document-printer/paper", "", map[string]bool{"loaded": loaded}); r.status != 200 {
		t.Fatalf("paper: %d %s", r.status, r.body)
	}
}

// residentID finds a demo resident's ID by their document number, as the counter does.
func (s *testStation) residentID(t *testing.T, token, name string) string {
	t.Helper()
	rs, err := loadDemoResidents()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		if r.Name == name {
			res := s.do(t, "POST", "/api/v1/residents/lookup", token, map[string]string{"id_type": string(r.IDType), "id_number": r.IDNumber})
			var v struct{ ID string }
			res.json(t, &v)
			if res.status != 200 || v.ID == "" {
				t.Fatalf("lookup %s: %d %s", name, res.status, res.body)
			}
			return v.ID
		}
	}
	t.Fatalf("no demo resident %s", name)
	return ""
}

func (s *testStation) issueAtCounter(t *testing.T, token, residentID, code string, inputs map[string]string) (response, certView) {
	t.Helper()
	r := s.do(t, "POST", "/api/v1/certificates", token, map[string]any{"resident_id": residentID, "type_code": code, "inputs": inputs})
	var v certView
	if r.status == http.StatusCreated {
		r.json(t, &v)
	}
	return r, v
}

func (s *testStation) verify(t *testing.T, payload string) verifyReply {
	t.Helper()
	r := s.do(t, "GET", "/api/v1/verify/"+payload, "", nil)
	if r.status != 200 {
		t.Fatalf("verify: %d %s", r.status, r.body)
	}
	var v verifyReply
	r.json(t, &v)
	return v
}

// auditOf returns the audit entries of an object, newest first.
func (s *testStation) auditOf(t *testing.T, object string) []station.AuditEntry {
	t.Helper()
	var out struct{ Items []station.AuditEntry }
	r := s.do(t, "GET", "/api/v1/audit?object="+url.QueryEscape(object), s.login(t, "admin"), nil)
	if r.status != 200 {
		t.Fatalf("audit: %d %s", r.status, r.body)
	}
	r.json(t, &out)
	return out.Items
}

var residenceInputs = map[string]string{"purpose": "办理居住证", "recipient": "长春市公安局朝阳分局"}

func TestKioskCertificateFlow(t *testing.T) {
	s := startStation(t)

	t.Run("without a card the kiosk refuses", func(t *testing.T) {
		r := s.do(t, "POST", "/api/v1/kiosk/certificates", "", map[string]any{"type_code": "MS-001", "inputs": residenceInputs})
		if code, msg := r.errorCode(t); r.status != 404 || code != station.ENOTFOUND || !strings.Contains(msg, "请刷身份证后办理证明") {
			t.Fatalf("%d %s", r.status, r.body)
		}
	})

	t.Run("a resident registered for 45 days hears why not", func(t *testing.T) {
		s.placeCard(t, "陈志远")
		var check checkReply
		r := s.do(t, "POST", "/api/v1/kiosk/certificates/check", "", map[string]string{"type_code": "MS-001"})
		r.json(t, &check)
		if r.status != 200 || check.Allowed || len(check.Failures) != 1 || check.Failures[0].Rule != "registered_months_min" ||
			!strings.Contains(check.Failures[0].Reason, "未满6个月") || check.Failures[0].Advice == "" {
			t.Fatalf("check: %d %s", r.status, r.body)
		}
		r = s.do(t, "POST", "/api/v1/kiosk/certificates", "", map[string]any{"type_code": "MS-001", "inputs": residenceInputs})
		if code, msg := r.errorCode(t); r.status != 409 || code != station.ECONFLICT || !strings.Contains(msg, "未满6个月") {
			t.Fatalf("issue: %d %s", r.status, r.body)
		}
	})

	s.placeCard(t, "王桂芬")
	var types []struct {
		Code          string `json:"code"`
		CategoryLabel string `json:"category_label"`
		Inputs        []struct {
			Key      string `json:"key"`
			Required bool   `json:"required"`
		} `json:"inputs"`
	}
	r := s.do(t, "GET", "/api/v1/kiosk/certificates/types", "", nil)
	r.json(t, &types)
	if r.status != 200 || len(types) < 20 {
		t.Fatalf("types: %d, %d types", r.status, len(types))
	}
	for _, ty := range types {
		if ty.Code == "MS-901" || ty.CategoryLabel == "" {
			t.Fatal("a withdrawn type is offered at the kiosk")
		}
	}

	// Three previews: the resident backs out of the first two (不打印，返回). A preview is not numbered.
	var c certView
	for range 3 {
		r = s.do(t, "POST", "/api/v1/kiosk/certificates", "", map[string]any{"type_code": "MS-001", "inputs": residenceInputs})
		c = certView{}
		r.json(t, &c)
		if r.status != 201 || c.Status != "pending_print" || c.Serial != "" || c.Payload != "" || c.SubjectName != "王**" ||
			!strings.Contains(c.SubjectID, "*") || c.ValidUntil == nil || *c.ValidUntil != "2026-12-23" ||
			c.PreviewURL != "/api/v1/kiosk/certificates/"+c.ID+"/preview.png" || c.VerifyURL != "" {
			t.Fatalf("issue: %d %s", r.status, r.body)
		}
	}
	if strings.Contains(string(r.body), "王桂芬") || strings.Contains(string(r.body), "220104194103120241") {
		t.Fatal("the kiosk's answer holds the name or the number in clear")
	}

	prev := s.do(t, "GET", c.PreviewURL, "", nil)
	if prev.status != 200 || prev.header.Get("Content-Type") != "image/png" {
		t.Fatalf("preview: %d %s", prev.status, prev.header.Get("Content-Type"))
	}
	img, err := png.Decode(bytes.NewReader(prev.body))
	if err != nil || img.Bounds().Dx() < 820 || img.Bounds().Dx() > 830 {
		t.Fatalf("preview is not a 100-dpi A4 page: %v %v", img.Bounds(), err)
	}

	t.Run("a printer out of paper does not issue, and the retry does", func(t *testing.T) {
		s.documentPaper(t, false)
		r := s.do(t, "POST", "/api/v1/kiosk/certificates/"+c.ID+"/print", "", nil)
		if code, msg := r.errorCode(t); r.status != 503 || code != station.EUNAVAILABLE || msg != "打印机缺纸，证明未出具，请联系工作人员后重试" {
			t.Fatalf("print without paper: %d %s", r.status, r.body)
		}
		var after certView
		s.do(t, "GET", "/api/v1/certificates/"+c.ID, s.login(t, "counter1"), nil).json(t, &after)
		if after.Status != "pending_print" || after.PrintCount != 0 || after.PrintFailures != 1 || after.Serial != "ZM20261124-0001" {
			t.Fatalf("after the failed print (numbered 0001 and kept for the retry): %+v", after)
		}
		if e := s.auditOf(t, "certificate:"+c.ID); len(e) == 0 || !hasEntry(e, string(station.CmdCertificatePrintFailed), "paper_out") {
			t.Fatalf("the failed print is not audited: %+v", e)
		}
		s.documentPaper(t, true)
		r = s.do(t, "POST", "/api/v1/kiosk/certificates/"+c.ID+"/print", "", nil)
		var printed certView
		r.json(t, &printed)
		if r.status != 200 || printed.Status != "issued" || printed.PrintCount != 1 || printed.StatusLabel != "已出具" ||
			printed.Serial != "ZM20261124-0001" || printed.VerifyURL != "/verify/"+printed.Payload {
			t.Fatalf("print: %d %s", r.status, r.body)
		}
		c = printed
		var list struct {
			Items []certView `json:"items"`
			Total int        `json:"total"`
		}
		s.do(t, "GET", "/api/v1/certificates", s.login(t, "counter1"), nil).json(t, &list)
		if list.Total != 1 || list.Items[0].Serial != "ZM20261124-0001" {
			t.Fatalf("the register lists the abandoned previews: %+v", list)
		}
		if r := s.do(t, "POST", "/api/v1/kiosk/certificates/"+c.ID+"/print", "", nil); r.status != 409 {
			t.Fatalf("a second print at the kiosk: %d %s", r.status, r.body)
		}
	})

	t.Run("the printed certificate round-trips: text, QR, signature", func(t *testing.T) {
		docs := s.demoDev.ipp.Documents()
		if len(docs) == 0 {
			t.Fatal("the printer received nothing")
		}
		doc := docs[len(docs)-1].Data
		text := pdfText(t, doc)
		for _, want := range []string{c.Serial, "王桂芬", "居住证明", "幸福社区居民委员会", "长春市公安局朝阳分局"} {
			if !strings.Contains(text, want) {
				t.Errorf("the PDF text lacks %q:\n%s", want, text)
			}
		}
		if got := decodeQR(t, doc); got != c.Payload {
			t.Fatalf("the QR code holds %q, the store %q", got, c.Payload)
		}
		v := s.verify(t, c.Payload)
		if !v.Genuine || v.Status != "valid" || v.TypeName != "居住证明" || v.SubjectName != "王**" || v.IssueDate != "2026-11-24" || v.StationName == "" {
			t.Fatalf("verify: %+v", v)
		}
	})

	t.Run("another resident sees neither the preview nor the certificate", func(t *testing.T) {
		s.placeCard(t, "李德明")
		if r := s.do(t, "GET", c.PreviewURL, "", nil); r.status != 404 {
			t.Fatalf("preview: %d", r.status)
		}
		if r := s.do(t, "POST", "/api/v1/kiosk/ratings", "", map[string]any{"subject": "certificate", "id": c.ID, "score": 3}); r.status != 404 {
			t.Fatalf("rating another's certificate: %d %s", r.status, r.body)
		}
	})

	t.Run("the resident rates the service", func(t *testing.T) {
		s.placeCard(t, "王桂芬")
		if r := s.do(t, "POST", "/api/v1/kiosk/ratings", "", map[string]any{"subject": "certificate", "id": c.ID, "score": 3}); r.status != 204 {
			t.Fatalf("rating: %d %s", r.status, r.body)
		}
		if r := s.do(t, "POST", "/api/v1/kiosk/ratings", "", map[string]any{"subject": "certificate", "id": c.ID, "score": 5}); r.status != 400 {
			t.Fatalf("a score of 5: %d %s", r.status, r.body)
		}
	})
}

func hasEntry(entries []station.AuditEntry, action, detail string) bool {
	for _, e := range entries {
		if e.Action == action && strings.Contains(e.Detail, detail) {
			return true
		}
	}
	return false
}

// needTool returns the path of an external program: without it the test is skipped on a developer's
// machine and fails under CI, where .ci/run installs it.
func needTool(t *testing.T, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s missing under CI (apt-get install -y %s)", name, pkg)
		}
		t.Skipf("%s missing: apt-get install -y %s to run this test", name, pkg)
	}
	return p
}

// pdfText extracts a PDF's text with pdftotext, without white space.
func pdfText(t *testing.T, doc []byte) string {
	t.Helper()
	tool := needTool(t, "pdftotext", "poppler-utils")
	path := filepath.Join(t.TempDir(), "c.pdf")
	if err := os.WriteFile(path, doc, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(tool, "-enc", "UTF-8", path, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	return strings.Join(strings.Fields(string(out)), "")
}

// decodeQR rasterizes page 1 at 200 dpi and decodes its QR code with zbarimg.
func decodeQR(t *testing.T, doc []byte) string {
	t.Helper()
	tool := needTool(t, "zbarimg", "zbar-tools")
	img, err := raster.PagePNG(doc, 0, 200)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "page.png")
	if err := os.WriteFile(path, img, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(tool, "--raw", "-q", path).Output()
	if err != nil {
		t.Fatalf("zbarimg found no code: %v", err)
	}
	return strings.TrimSpace(string(out))
}

func TestCounterCertificateFlow(t *testing.T) {
	s := startStation(t)
	counter, reviewer, admin := s.login(t, "counter1"), s.login(t, "review1"), s.login(t, "admin")
	zhang := s.residentID(t, counter, "张秀兰")
	wang := s.residentID(t, counter, "王桂芬")
	chen := s.residentID(t, counter, "陈志远")

	var check checkReply
	r := s.do(t, "POST", "/api/v1/certificates/check", counter, map[string]string{"resident_id": zhang, "type_code": "MS-002"})
	r.json(t, &check)
	if r.status != 200 || !check.Allowed {
		t.Fatalf("check 低保 for a resident with the tag: %d %s", r.status, r.body)
	}
	if e := s.auditOf(t, "resident:"+zhang); !hasEntry(e, "read.certificate_check", "") {
		t.Fatal("the counter's check of a resident is not audited")
	}
	r, _ = s.issueAtCounter(t, counter, wang, "MS-002", map[string]string{"recipient": "区民政局"})
	if code, msg := r.errorCode(t); r.status != 409 || code != station.ECONFLICT || !strings.Contains(msg, "低保") {
		t.Fatalf("低保 certificate for a resident without the tag: %d %s", r.status, r.body)
	}
	r, _ = s.issueAtCounter(t, counter, chen, "MS-001", residenceInputs)
	if r.status != 409 || !strings.Contains(string(r.body), "未满6个月") {
		t.Fatalf("居住证明 for a recent arrival: %d %s", r.status, r.body)
	}
	r, _ = s.issueAtCounter(t, counter, zhang, "MS-001", map[string]string{"purpose": strings.Repeat("长", 41), "recipient": "x"})
	if r.status != 400 {
		t.Fatalf("an input over max_len: %d %s", r.status, r.body)
	}

	r, c := s.issueAtCounter(t, counter, zhang, "MS-002", map[string]string{"purpose": "办理医疗救助", "recipient": "区医疗保障局"})
	if r.status != 201 || c.Status != "pending_print" || c.CategoryLabel != "民生" || c.PreviewURL != "/api/v1/certificates/"+c.ID+"/preview.png" {
		t.Fatalf("issue: %d %s", r.status, r.body)
	}
	if r := s.do(t, "POST", "/api/v1/certificates/"+c.ID+"/print", counter, map[string]bool{"reprint": true}); r.status != 409 {
		t.Fatalf("a reprint before the first print: %d %s", r.status, r.body)
	}
	if r := s.do(t, "POST", "/api/v1/certificates/"+c.ID+"/print", counter, map[string]bool{"reprint": false}); r.status != 200 {
		t.Fatalf("print: %d %s", r.status, r.body)
	} else {
		r.json(t, &c)
	}
	r = s.do(t, "POST", "/api/v1/certificates/"+c.ID+"/print", counter, map[string]bool{"reprint": true})
	var re certView
	r.json(t, &re)
	if r.status != 200 || re.PrintCount != 2 || re.Status != "issued" {
		t.Fatalf("reprint: %d %s", r.status, r.body)
	}
	docs := s.demoDev.ipp.Documents()
	if text := pdfText(t, docs[len(docs)-1].Data); !strings.Contains(text, "补打") || !strings.Contains(text, c.Serial) {
		t.Fatalf("the reprint is not marked 补打:\n%s", text)
	}
	if !hasEntry(s.auditOf(t, "certificate:"+c.ID), "certificate.reprint", "补打") {
		t.Fatal("the reprint is not audited")
	}

	t.Run("staff reads are audited", func(t *testing.T) {
		for _, p := range []string{"", "/preview.png", "/pdf"} {
			if r := s.do(t, "GET", "/api/v1/certificates/"+c.ID+p, counter, nil); r.status != 200 {
				t.Fatalf("GET %s: %d", p, r.status)
			}
		}
		e := s.auditOf(t, "certificate:"+c.ID)
		for _, action := range []string{"read.view", "read.preview", "read.pdf"} {
			if !hasEntry(e, action, "") {
				t.Errorf("%s is not audited", action)
			}
		}
		var list struct {
			Items []certView
			Total int
		}
		s.do(t, "GET", "/api/v1/certificates?resident_id="+zhang+"&status=issued", counter, nil).json(t, &list)
		if list.Total != 1 || list.Items[0].ID != c.ID {
			t.Fatalf("list: %+v", list)
		}
	})

	t.Run("void and revoke", func(t *testing.T) {
		_, other := s.issueAtCounter(t, counter, zhang, "MS-001", residenceInputs)
		if r := s.do(t, "POST", "/api/v1/certificates/"+other.ID+"/print", counter, nil); r.status != 200 {
			t.Fatalf("print: %d %s", r.status, r.body)
		} else {
			r.json(t, &other)
		}
		if r := s.do(t, "POST", "/api/v1/certificates/"+other.ID+"/void", counter, map[string]string{"reason": ""}); r.status != 400 {
			t.Fatalf("a void without a reason: %d %s", r.status, r.body)
		}
		if r := s.do(t, "POST", "/api/v1/certificates/"+other.ID+"/void", counter, map[string]string{"reason": "用途填写错误"}); r.status != 200 {
			t.Fatalf("void: %d %s", r.status, r.body)
		}
		if v := s.verify(t, other.Payload); !v.Genuine || v.Status != "voided" || v.ReasonCode != "voided" || strings.Contains(v.Message, "用途填写错误") {
			t.Fatalf("a voided certificate verifies as %+v", v)
		}
		if r := s.do(t, "POST", "/api/v1/certificates/"+c.ID+"/revoke", counter, map[string]string{"reason": "证明内容不实"}); r.status != 403 {
			t.Fatalf("staff revoked: %d %s", r.status, r.body)
		}
		if r := s.do(t, "POST", "/api/v1/certificates/"+c.ID+"/revoke", admin, map[string]string{"reason": "证明内容不实"}); r.status != 200 {
			t.Fatalf("revoke: %d %s", r.status, r.body)
		}
		v := s.verify(t, c.Payload)
		if !v.Genuine || v.Status != "revoked" || strings.Contains(v.Message, "证明内容不实") {
			t.Fatalf("a revoked certificate verifies as %+v", v)
		}
		page := s.do(t, "GET", "/verify/"+c.Payload, "", nil)
		if page.status != 200 || !strings.Contains(string(page.body), "已撤销") || !strings.Contains(page.header.Get("Content-Type"), "text/html") {
			t.Fatalf("verification page: %d %s", page.status, page.body)
		}
	})

	t.Run("a type the department verifies waits for its approval", func(t *testing.T) {
		// As if enrolled with a hub that has a reveal key: the verification application carries a copy
		// of the resident's number that the hub opens (the resident's own record does not keep one).
		hubKey, err := revealkey.Generate()
		if err != nil {
			t.Fatal(err)
		}
		s.Key.SetHubKey(hubKey.Public())
		defer s.Key.SetHubKey(nil)
		r, w := s.issueAtCounter(t, counter, wang, "MS-004", nil) // 高龄津贴申领初审意见: 80 or older
		if r.status != 201 || w.Status != "awaiting_approval" || w.ApplicationID == "" || !strings.HasPrefix(w.ApplicationNumber, "SQ20261124-") {
			t.Fatalf("issue: %d %s", r.status, r.body)
		}
		pending, err := s.DB.PendingOutbox(context.Background(), 10000)
		if err != nil {
			t.Fatal(err)
		}
		var intake *station.ApplicationIntake
		for _, rec := range pending {
			var p station.ApplicationIntake
			if rec.Kind == string(station.CmdApplicationIntake) && json.Unmarshal(rec.Payload, &p) == nil && p.ApplicationID == w.ApplicationID {
				intake = &p
			}
		}
		if intake == nil {
			t.Fatal("the verification application's intake is not in the outbox")
		}
		residents, err := loadDemoResidents()
		if err != nil {
			t.Fatal(err)
		}
		var want string
		for _, dr := range residents {
			if dr.Name == "王桂芬" {
				want = station.NormalizeIDNumber(dr.IDNumber)
			}
		}
		if number, err := hubKey.Open(intake.Applicant.IDNumber); err != nil || number != want {
			t.Fatalf("the hub opens the verification application's copy as a number of %d characters, %v; want 王桂芬's", len(number), err)
		}
		if r := s.do(t, "POST", "/api/v1/certificates/"+w.ID+"/print", counter, nil); r.status != 409 || !strings.Contains(string(r.body), "部门核实") {
			t.Fatalf("printed before approval: %d %s", r.status, r.body)
		}
		var app application
		s.do(t, "GET", "/api/v1/applications/"+w.ApplicationID, counter, nil).json(t, &app)
		if app.Status != station.StatusReceived {
			t.Fatalf("the verification application: %+v", app)
		}
		for _, action := range []string{"pre_review", "forward", "approve"} {
			if r := s.do(t, "POST", "/api/v1/applications/"+w.ApplicationID+"/transitions", reviewer, map[string]string{"action": action}); r.status != 200 {
				t.Fatalf("%s: %d %s", action, r.status, r.body)
			}
		}
		var after certView
		s.do(t, "GET", "/api/v1/certificates/"+w.ID, counter, nil).json(t, &after)
		if after.Status != "pending_print" {
			t.Fatalf("after approval: %+v", after)
		}
		if r := s.do(t, "POST", "/api/v1/certificates/"+w.ID+"/print", counter, nil); r.status != 200 {
			t.Fatalf("print after approval: %d %s", r.status, r.body)
		}
		r, _ = s.issueAtCounter(t, counter, wang, "MS-004", nil)
		if r.status != 409 || !strings.Contains(string(r.body), "365天内不能重复开具") {
			t.Fatalf("a repeat within 365 days: %d %s", r.status, r.body)
		}
	})
}

func TestVerifyNeverFailsOnHostileInput(t *testing.T) {
	s := startStation(t)
	s.placeCard(t, "王桂芬")
	r := s.do(t, "POST", "/api/v1/kiosk/certificates", "", map[string]any{"type_code": "MS-001", "inputs": residenceInputs})
	var c certView
	r.json(t, &c)
	if r.status != 201 {
		t.Fatalf("issue: %d %s", r.status, r.body)
	}
	if r := s.do(t, "POST", "/api/v1/kiosk/certificates/"+c.ID+"/print", "", nil); r.status != 200 {
		t.Fatalf("print: %d %s", r.status, r.body)
	} else {
		r.json(t, &c)
	}
	if v := s.verify(t, c.Payload); v.Status != "valid" {
		t.Fatalf("the genuine payload: %+v", v)
	}
	flip := []byte(c.Payload)
	i := len(flip) / 2
	if flip[i] == 'A' {
		flip[i] = 'B'
	} else {
		flip[i] = 'A'
	}
	inputs := map[string]string{
		"tampered":  string(flip),
		"truncated": c.Payload[:len(c.Payload)-10],
		"garbage":   "hello-world",
		"10 KB":     "C1." + strings.Repeat("A", 10<<10),
		"version 2": "C2." + c.Payload[3:],
		"unicode":   url.PathEscape("C1.证明<script>"),
	}
	for name, p := range inputs {
		t.Run(name, func(t *testing.T) {
			for _, path := range []string{"/api/v1/verify/", "/verify/"} {
				r := s.do(t, "GET", path+p, "", nil)
				if r.status != 200 {
					t.Fatalf("%s: %d %s", path, r.status, r.body)
				}
				if r.status == 200 && path == "/verify/" && !strings.Contains(string(r.body), "无法核验") {
					t.Fatalf("the page does not say 无法核验: %s", r.body)
				}
				if r.status == 200 && path == "/api/v1/verify/" {
					var v verifyReply
					r.json(t, &v)
					if v.Genuine || v.Status != "not_genuine" || v.Message == "" {
						t.Fatalf("%+v", v)
					}
				}
			}
		})
	}
}

func TestCertCommandLine(t *testing.T) {
	s := startStation(t)
	s.placeCard(t, "王桂芬")
	var c certView
	s.do(t, "POST", "/api/v1/kiosk/certificates", "", map[string]any{"type_code": "MS-001", "inputs": residenceInputs}).json(t, &c)
	if r := s.do(t, "POST", "/api/v1/kiosk/certificates/"+c.ID+"/print", "", nil); r.status != 200 {
		t.Fatalf("print: %d %s", r.status, r.body)
	} else {
		r.json(t, &c)
	}
	run := func(args ...string) (int, string, string) {
		t.Helper()
		var out, errb bytes.Buffer
		code := certCommand(context.Background(), args, &out, &errb)
		return code, out.String(), errb.String()
	}
	if code, out, errs := run("verify", c.Payload, "--data", s.DataDir); code != 0 || !strings.Contains(out, "真实有效") || !strings.Contains(out, "王**") {
		t.Fatalf("verify a genuine payload: %d\n%s%s", code, out, errs)
	}
	tampered := c.Payload[:40] + "x" + c.Payload[41:]
	if tampered == c.Payload {
		tampered = c.Payload[:40] + "y" + c.Payload[41:]
	}
	if code, out, _ := run("verify", "--data", s.DataDir, tampered); code != 1 || !strings.Contains(out, "无法核验") {
		t.Fatalf("verify a tampered payload: %d\n%s", code, out)
	}
	if code, out, _ := run("list", "--data", s.DataDir); code != 0 || !strings.Contains(out, c.Serial) || !strings.Contains(out, "已出具") || strings.Contains(out, "王桂芬") {
		t.Fatalf("list: %d\n%s", code, out)
	}
	if code, out, _ := run("key", "--data", s.DataDir); code != 0 || !strings.HasPrefix(out, "-----BEGIN PUBLIC KEY-----") {
		t.Fatalf("key: %d\n%s", code, out)
	}
	if code, _, _ := run("revoke", c.ID, "--data", s.DataDir); code != 2 {
		t.Fatalf("revoke without a reason: %d", code)
	}
	if code, out, errs := run("revoke", c.ID, "--reason", "居民反映信息有误", "--data", s.DataDir); code != 0 || !strings.Contains(out, c.Serial) {
		t.Fatalf("revoke: %d %s %s", code, out, errs)
	}
	if code, out, _ := run("verify", c.Payload, "--data", s.DataDir); code != 1 || !strings.Contains(out, "已撤销") {
		t.Fatalf("verify a revoked certificate: %d\n%s", code, out)
	}
	if e := s.auditOf(t, "certificate:"+c.ID); !hasEntry(e, string(station.CmdCertificateRevoke), "issued -> revoked") {
		t.Fatalf("the revocation is not audited: %+v", e)
	}
}
