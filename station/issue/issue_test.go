package issue_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/civic-station/station/devices/ipp"
	"github.com/civic-station/station/devices/sim/ippsim"
	"github.com/civic-station/station/station"
	"github.com/civic-station/station/station/blob"
	"github.com/civic-station/station/station/cert"
	"github.com/civic-station/station/station/datakey"
	"github.com/civic-station/station/station/issue"
	"github.com/civic-station/station/station/sqlite"
)

var (
	system = station.Actor{Username: "system", Role: station.RoleSystem}
	staff  = station.Actor{Username: "counter1", Role: station.RoleStaff}
)

// fixture is a service over a real store, blob store and simulated IPP printer.
type fixture struct {
	t       testing.TB
	db      *sqlite.DB
	svc     *issue.Service
	printer *ippsim.Printer
	signer  *cert.Signer
	ids     atomic.Int64
	now     time.Time
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	db, err := sqlite.Open(ctx, filepath.Join(dir, "station.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	blobs, err := blob.Open(dir, blob.Options{})
	if err != nil {
		t.Fatal(err)
	}
	sim := ippsim.New(ippsim.Config{})
	srv, err := sim.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	printer, err := ipp.New(srv.URI(), ipp.Options{})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, db: db, printer: sim, now: time.Date(2026, 11, 24, 2, 0, 0, 0, time.UTC)}
	f.svc, err = issue.New(issue.Config{Store: db, Log: db, Blobs: blobs, Printer: printer, PrinterName: "A4",
		Station: cert.StationInfo{Name: "幸福社区便民服务站", Community: "幸福社区"},
		Now:     func() time.Time { return f.now }, NewID: f.newID})
	if err != nil {
		t.Fatal(err)
	}
	if f.signer, err = cert.GenerateSigner(cert.Ed25519, "0193a5b2-0000-7000-8000-00000000000a"); err != nil {
		t.Fatal(err)
	}
	f.svc.SetSigner(f.signer)
	if published, err := f.svc.PublishKey(ctx, system); err != nil || !published {
		t.Fatalf("publish key: %v %v", published, err)
	}
	if again, err := f.svc.PublishKey(ctx, system); err != nil || again {
		t.Fatalf("the key is published twice: %v %v", again, err)
	}
	return f
}

func (f *fixture) newID() string {
	return fmt.Sprintf("0193a5b2-0000-7000-8000-%012d", f.ids.Add(1))
}

// resident adds a resident registered in the community since 2020.
func (f *fixture) resident() string {
	f.t.Helper()
	dir := f.t.TempDir()
	key, err := datakey.Load(filepath.Join(dir, "datakey"))
	if err != nil {
		f.t.Fatal(err)
	}
	number := "22010419410312" + "024"
	number += string(station.CheckDigit(number))
	sealed, err := key.Seal(station.IDResident, number)
	if err != nil {
		f.t.Fatal(err)
	}
	id := f.newID()
	cmd, _ := station.NewCommand(f.newID(), station.CmdResidentUpsert, f.now, staff, station.ResidentUpsert{ResidentID: id,
		IDNumber: sealed, Name: "王桂芬", Sex: station.SexFemale, BirthDate: station.Date{Year: 1941, Month: 3, Day: 12},
		Address: "幸福小区3栋2单元101室", Community: "幸福社区", RegisteredSince: station.Date{Year: 2020, Month: 1, Day: 1}})
	if _, err := f.db.Submit(context.Background(), cmd); err != nil {
		f.t.Fatal(err)
	}
	return id
}

var residence = map[string]string{"purpose": "办理居住证", "recipient": "长春市公安局朝阳分局"}

func (f *fixture) issue(residentID, code string) *station.Certificate {
	f.t.Helper()
	c, err := f.svc.Issue(context.Background(), station.CertificateRequest{ResidentID: residentID, TypeCode: code, Inputs: residence,
		Channel: station.ChannelCounter, Actor: staff, CardVerified: true})
	if err != nil {
		f.t.Fatal(err)
	}
	return c
}

func TestVerify(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	r := f.resident()
	c := f.issue(r, "MS-001")
	// A failed print numbers and signs it; it is not issued until a print is confirmed.
	f.printer.SetMediaEmpty(true)
	if _, err := f.svc.Print(ctx, c.ID, staff, false); station.ErrorCode(err) != station.EUNAVAILABLE {
		t.Fatalf("print without paper: %v", err)
	}
	f.printer.SetMediaEmpty(false)
	c, _ = f.db.Certificate(ctx, c.ID)
	stranger, _ := cert.GenerateSigner(cert.Ed25519, "0193a5b2-0000-7000-8000-0000000000ff")
	forged, err := stranger.Sign(cert.Payload{CertificateID: c.ID, TypeCode: "MS-001", SubjectName: "王**", SubjectID: "2201**0241",
		IssueDate: c.IssueDate, ContentHash: make([]byte, 32)})
	if err != nil {
		t.Fatal(err)
	}
	unknown, _ := f.signer.Sign(cert.Payload{CertificateID: "0193a5b2-0000-7000-8000-0000000000ee", TypeCode: "MS-001",
		SubjectName: "王**", SubjectID: "2201**0241", IssueDate: c.IssueDate, ContentHash: make([]byte, 32)})
	tampered := []byte(c.Payload)
	tampered[60] ^= 1
	if tampered[60] == '.' || tampered[60] > 'z' {
		tampered[60] = 'A'
	}

	check := func(name, payload, status, reason string) {
		t.Run(name, func(t *testing.T) {
			v, err := f.svc.Verify(ctx, payload)
			if err != nil {
				t.Fatal(err)
			}
			if v.Status != status || v.ReasonCode != reason || v.Message == "" {
				t.Fatalf("got %s/%s (%s), want %s/%s", v.Status, v.ReasonCode, v.Message, status, reason)
			}
			if v.Genuine != (status != station.VerifyNotGenuine) {
				t.Fatalf("genuine %v for %s", v.Genuine, status)
			}
		})
	}
	check("a certificate not printed yet", c.Payload, station.VerifyNotGenuine, issue.ReasonNotIssued)
	if _, err := f.svc.Print(ctx, c.ID, staff, false); err != nil {
		t.Fatal(err)
	}
	check("a printed certificate", c.Payload, station.VerifyValid, cert.ReasonGenuine)
	check("a tampered payload", string(tampered), station.VerifyNotGenuine, cert.ReasonBadSignature)
	check("a station the ring does not know", forged, station.VerifyNotGenuine, cert.ReasonUnknownStation)
	check("our key, but no such certificate", unknown, station.VerifyNotGenuine, issue.ReasonUnknownCertificate)
	check("garbage", "<script>", station.VerifyNotGenuine, cert.ReasonMalformed)
	check("over the length limit", "C1."+strings.Repeat("A", 10<<10), station.VerifyNotGenuine, cert.ReasonMalformed)

	v, _ := f.svc.Verify(ctx, c.Payload)
	if v.TypeName != "居住证明" || v.StationName != "幸福社区便民服务站" || v.SubjectName != "王**" || v.ValidUntil == nil || *v.ValidUntil != c.ValidUntil {
		t.Fatalf("claims: %+v", v)
	}
	if _, err := f.svc.Revoke(ctx, c.ID, station.Actor{Username: "admin", Role: station.RoleStationAdmin}, "内容不实"); err != nil {
		t.Fatal(err)
	}
	check("a revoked certificate", c.Payload, station.VerifyRevoked, issue.ReasonRevoked)
}

func TestPrintFailuresAreRecordedAndRetried(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	c := f.issue(f.resident(), "MS-001")
	f.printer.SetMediaEmpty(true)
	_, err := f.svc.Print(ctx, c.ID, staff, false)
	if station.ErrorCode(err) != station.EUNAVAILABLE || station.ErrorMessage(err) != "打印机缺纸，证明未出具，请联系工作人员后重试" {
		t.Fatalf("print without paper: %v", err)
	}
	f.printer.SetMediaEmpty(false)
	f.printer.JamNextJob()
	if _, err := f.svc.Print(ctx, c.ID, staff, false); station.ErrorCode(err) != station.EUNAVAILABLE {
		t.Fatalf("a jammed print: %v", err)
	}
	after, _ := f.db.Certificate(ctx, c.ID)
	if after.Status != station.CertPendingPrint || after.PrintFailures != 2 || after.PrintCount != 0 {
		t.Fatalf("after two failures: %+v", after)
	}
	f.printer.ClearFaults()
	printed, err := f.svc.Print(ctx, c.ID, staff, false)
	if err != nil || printed.Status != station.CertIssued {
		t.Fatalf("retry: %+v %v", printed, err)
	}
	prints, _ := f.db.CertificatePrints(ctx, c.ID)
	var results []string
	for _, p := range prints {
		results = append(results, p.Result)
	}
	if !slices.Equal(results, []string{"paper_out", results[1], "ok"}) || results[1] == "ok" {
		t.Fatalf("print log: %v", results)
	}
	docs := f.printer.Documents()
	if len(docs) == 0 || !strings.Contains(docs[len(docs)-1].Name, printed.Serial) {
		t.Fatalf("the printer's job: %+v", docs)
	}
}

// TestAPreviewBurnsNoNumber checks the register: previews abandoned at the kiosk take no number, a print
// that fails keeps its number for the retry, and the numbers printed run 0001, 0002, 0003.
func TestAPreviewBurnsNoNumber(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	r := f.resident()
	kiosk := station.Actor{Username: "kiosk", Role: station.RoleResident}
	preview := func() *station.Certificate {
		t.Helper()
		c, err := f.svc.Issue(ctx, station.CertificateRequest{ResidentID: r, TypeCode: "MS-001", Inputs: residence,
			Channel: station.ChannelKiosk, Actor: kiosk, CardVerified: true})
		if err != nil {
			t.Fatal(err)
		}
		if c.Serial != "" || c.Payload != "" || c.Status != station.CertPendingPrint {
			t.Fatalf("a preview is numbered or signed: %+v", c)
		}
		if png, err := f.svc.Preview(ctx, c.ID); err != nil || len(png) == 0 {
			t.Fatalf("preview: %v", err)
		}
		return c
	}
	for range 3 { // previewed, then abandoned (不打印，返回)
		preview()
	}
	first, err := f.svc.Print(ctx, preview().ID, kiosk, false)
	if err != nil || first.Serial != "ZM20261124-0001" || first.Status != station.CertIssued {
		t.Fatalf("the first print of the day: %+v %v", first, err)
	}
	if v, _ := f.svc.Verify(ctx, first.Payload); v.Status != station.VerifyValid {
		t.Fatalf("the printed certificate does not verify: %+v", v)
	}
	if text := strings.Join(append(slices.Clone(first.Text.Body), first.Text.Footer...), "\n"); strings.Contains(text, station.PreviewSerial) {
		t.Fatalf("the printed text still says %s: %s", station.PreviewSerial, text)
	}
	// Paper out: the second certificate takes 0002, and keeps it for the retry.
	second := preview()
	f.printer.SetMediaEmpty(true)
	if _, err := f.svc.Print(ctx, second.ID, kiosk, false); station.ErrorCode(err) != station.EUNAVAILABLE {
		t.Fatalf("print without paper: %v", err)
	}
	failed, _ := f.db.Certificate(ctx, second.ID)
	if failed.Serial != "ZM20261124-0002" || failed.Status != station.CertPendingPrint || failed.PrintFailures != 1 {
		t.Fatalf("after the failed print: %+v", failed)
	}
	f.printer.SetMediaEmpty(false)
	preview() // a preview in between takes nothing
	retried, err := f.svc.Print(ctx, second.ID, kiosk, false)
	if err != nil || retried.Serial != "ZM20261124-0002" || retried.Payload != failed.Payload || retried.PDFSHA256 != failed.PDFSHA256 {
		t.Fatalf("the retry: %+v %v", retried, err)
	}
	third, err := f.svc.Print(ctx, preview().ID, kiosk, false)
	if err != nil || third.Serial != "ZM20261124-0003" {
		t.Fatalf("the third print: %+v %v", third, err)
	}
	list, total, err := f.db.Certificates(ctx, station.CertificateFilter{})
	if err != nil || total != 3 {
		t.Fatalf("the register holds %d certificates (%v), want the 3 printed", total, err)
	}
	var serials []string
	for _, c := range list {
		serials = append(serials, c.Serial)
	}
	slices.Sort(serials)
	if !slices.Equal(serials, []string{"ZM20261124-0001", "ZM20261124-0002", "ZM20261124-0003"}) {
		t.Fatalf("register: %v", serials)
	}
	docs := f.printer.Documents()
	if len(docs) != 3 || !strings.HasSuffix(docs[0].Name, "ZM20261124-0001") {
		t.Fatalf("printed jobs: %+v", docs)
	}
}

func TestIssueRefusals(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	r := f.resident()
	req := func(code string, inputs map[string]string, card bool) error {
		_, err := f.svc.Issue(ctx, station.CertificateRequest{ResidentID: r, TypeCode: code, Inputs: inputs,
			Channel: station.ChannelKiosk, Actor: station.Actor{Username: "kiosk", Role: station.RoleResident}, CardVerified: card})
		return err
	}
	tests := []struct {
		name string
		err  error
		code string
		text string
	}{
		{"an unknown type", req("XX-001", nil, true), station.ENOTFOUND, "XX-001"},
		{"a withdrawn type", req("MS-901", nil, true), station.ECONFLICT, "已停止开具"},
		{"a typed identity", req("MS-001", residence, false), station.EFORBIDDEN, "身份证"},
		{"a missing tag", req("MS-002", residence, true), station.ECONFLICT, "低保"},
		{"a missing input", req("MS-001", map[string]string{"purpose": "办理居住证"}, true), station.EINVALID, "提交单位"},
		{"a department without its verification matter", req("MS-004", nil, true), station.EUNAVAILABLE, "证明核实事项"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if station.ErrorCode(tt.err) != tt.code || !strings.Contains(station.ErrorMessage(tt.err), tt.text) {
				t.Fatalf("error %v, want %s with %q", tt.err, tt.code, tt.text)
			}
		})
	}
	if _, total, _ := f.db.Certificates(ctx, station.CertificateFilter{}); total != 0 {
		t.Fatalf("a refused issue left %d certificates", total)
	}
	f.svc.SetSigner(nil)
	if err := req("MS-001", residence, true); station.ErrorCode(err) != station.EUNAVAILABLE {
		t.Fatalf("issue without a key: %v", err)
	}
}

// BenchmarkIssue measures one certificate as the kiosk previews it: the precondition check, filling,
// the preview PDF, storing it and the command (issue, unnumbered), then the 100-dpi preview the
// resident sees. Numbering and signing happen at the print, not here.
func BenchmarkIssue(b *testing.B) {
	f := newFixture(b)
	ctx := context.Background()
	r := f.resident()
	durations := make([]time.Duration, 0, b.N)
	var size int64
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		c, err := f.svc.Issue(ctx, station.CertificateRequest{ResidentID: r, TypeCode: "MS-001", Inputs: residence,
			Channel: station.ChannelCounter, Actor: staff, CardVerified: true})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := f.svc.Preview(ctx, c.ID); err != nil {
			b.Fatal(err)
		}
		durations = append(durations, time.Since(start))
		doc, _ := f.svc.PDF(ctx, c.ID)
		size = int64(len(doc))
	}
	slices.Sort(durations)
	pct := func(p float64) float64 {
		return float64(durations[int(p*float64(len(durations)-1))]) / float64(time.Millisecond)
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.95), "p95-ms")
	b.ReportMetric(float64(size), "pdf-bytes")
}

// TestTemplatesFromTheDataCenter checks that a template the data center publishes replaces the
// built-in one: withdrawn centrally, the type is no longer offered or issued.
func TestTemplatesFromTheDataCenter(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	r := f.resident()
	tpl, _ := cert.BuiltIn().Get("MS-001")
	withdrawn := tpl.Withdraw("依据民发〔2020〕20号，本社区不再开具，请以居住登记信息为准")
	body, _ := json.Marshal(withdrawn)
	cmd, _ := station.NewCommand(f.newID(), station.CmdSyncApply, f.now, system, station.SyncApply{Cursor: "1",
		Changes: []station.Change{{Key: "template:MS-001", Version: "2", Type: station.ChangeTemplate, Template: body}}})
	if _, err := f.db.Submit(ctx, cmd); err != nil {
		t.Fatal(err)
	}
	active, err := f.svc.Types(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, ty := range active {
		if ty.Code == "MS-001" {
			t.Fatal("a withdrawn type is still offered")
		}
	}
	all, _ := f.svc.Types(ctx, true)
	if i := slices.IndexFunc(all, func(ty cert.Template) bool { return ty.Code == "MS-001" }); i < 0 || all[i].Version != 2 || all[i].Active() {
		t.Fatalf("MS-001 in the full list: %+v", all)
	}
	_, err = f.svc.Issue(ctx, station.CertificateRequest{ResidentID: r, TypeCode: "MS-001", Inputs: residence,
		Channel: station.ChannelCounter, Actor: staff, CardVerified: true})
	if station.ErrorCode(err) != station.ECONFLICT || !strings.Contains(station.ErrorMessage(err), "民发〔2020〕20号") {
		t.Fatalf("issue a withdrawn type: %v", err)
	}
}
