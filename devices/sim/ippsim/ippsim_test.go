package ippsim

import (
	"bytes"
	"image"
	"image/jpeg"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// request builds a request the way a client would: operation group first with charset and language.
func request(op uint16, attrs func(g *group), data []byte) *message {
	m := &message{major: 1, minor: 1, code: op, requestID: 7, data: data}
	g := m.addGroup(tagOperationGroup)
	g.add("attributes-charset", tagCharset, "utf-8")
	g.add("attributes-natural-language", tagNaturalLanguage, "en")
	g.add("printer-uri", tagURI, "ipp://localhost/ipp/print")
	if attrs != nil {
		attrs(g)
	}
	return m
}

// post sends m to the server over HTTP and decodes the answer.
func post(t *testing.T, s *Server, m *message) *message {
	t.Helper()
	resp, err := http.Post("http://"+s.Addr()+"/ipp/print", "application/ipp", bytes.NewReader(m.encode()))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	buf.ReadFrom(resp.Body)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/ipp" {
		t.Fatalf("HTTP %s, Content-Type %q: %s", resp.Status, resp.Header.Get("Content-Type"), buf.Bytes())
	}
	r, err := decodeMessage(buf.Bytes())
	if err != nil {
		t.Fatalf("decode response: %v", err)
	}
	if r.requestID != m.requestID {
		t.Errorf("request-id = %d, want %d", r.requestID, m.requestID)
	}
	return r
}

func start(t *testing.T, cfg Config) (*Printer, *Server) {
	t.Helper()
	p := New(cfg)
	s, err := p.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return p, s
}

func TestCodecRoundTrips(t *testing.T) {
	m := request(opPrintJob, func(g *group) {
		g.add("job-name", tagName, "证明")
		g.add("requested-attributes", tagKeyword, "job-id", "job-state")
		g.addInts("job-id", tagInteger, 42)
		g.addBool("last-document", true)
	}, []byte("%PDF-1.4 body"))
	m.addGroup(tagJobGroup).addInts("copies", tagInteger, 1)
	got, err := decodeMessage(m.encode())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.encode(), m.encode()) {
		t.Fatalf("re-encoded message differs:\n got %x\nwant %x", got.encode(), m.encode())
	}
	op := got.group(tagOperationGroup)
	if n, _ := op.get("job-id").int(); n != 42 {
		t.Errorf("job-id = %d", n)
	}
	if s := op.get("requested-attributes").strs(); !slices.Equal(s, []string{"job-id", "job-state"}) {
		t.Errorf("requested-attributes = %q", s)
	}
	if string(got.data) != "%PDF-1.4 body" {
		t.Errorf("data = %q", got.data)
	}
}

func FuzzDecodeMessage(f *testing.F) {
	f.Add(request(opGetPrinterAttributes, nil, nil).encode())
	f.Add(request(opPrintJob, func(g *group) { g.add("job-name", tagName, "x") }, []byte("%PDF-")).encode())
	f.Add([]byte{1, 1, 0, 2, 0, 0, 0, 1, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodeMessage(b)
		if err != nil {
			return
		}
		if _, err := decodeMessage(m.encode()); err != nil {
			t.Fatalf("re-encoded message does not decode: %v", err)
		}
	})
}

func TestServerAnswersRequestsWithTheRightStatus(t *testing.T) {
	tests := []struct {
		name   string
		req    *message
		status uint16
	}{
		{"Get-Printer-Attributes succeeds", request(opGetPrinterAttributes, nil, nil), statusOK},
		{"Print-Job of a PDF succeeds", request(opPrintJob, func(g *group) { g.add("document-format", tagMimeMediaType, "application/pdf") }, []byte("%PDF-1.4\n")), statusOK},
		{"Print-Job of something that is not a PDF is a document format error", request(opPrintJob, nil, []byte("hello")), statusDocumentFormatError},
		{"Print-Job of PostScript is an unsupported format", request(opPrintJob, func(g *group) { g.add("document-format", tagMimeMediaType, "application/postscript") }, []byte("%!PS")), statusDocumentFormatUnsupported},
		{"Get-Job-Attributes of an unknown job is not found", request(opGetJobAttributes, func(g *group) { g.addInts("job-id", tagInteger, 99) }, nil), statusNotFound},
		{"Cancel-Job of an unknown job is not found", request(opCancelJob, func(g *group) { g.addInts("job-id", tagInteger, 99) }, nil), statusNotFound},
		{"an unknown operation is not supported", request(0x0005, nil, nil), statusOperationNotSupported},
		{"IPP version 3 is not supported", func() *message { m := request(opGetPrinterAttributes, nil, nil); m.major = 3; return m }(), statusVersionNotSupported},
		{"a request without attributes-charset first is a bad request", func() *message {
			m := request(opGetPrinterAttributes, nil, nil)
			m.groups[0].attrs = m.groups[0].attrs[1:]
			return m
		}(), statusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, s := start(t, Config{})
			if r := post(t, s, tt.req); r.code != tt.status {
				msg, _ := r.group(tagOperationGroup).get("status-message").str()
				t.Fatalf("status = 0x%04x (%s), want 0x%04x", r.code, msg, tt.status)
			}
		})
	}
}

func TestJobLifecycleFollowsTheClock(t *testing.T) {
	now := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	p, s := start(t, Config{JobDelay: 10 * time.Second, Now: func() time.Time { return now }})
	r := post(t, s, request(opPrintJob, nil, []byte("%PDF-1.7\n")))
	id, _ := r.group(tagJobGroup).get("job-id").int()
	state := func() int {
		r := post(t, s, request(opGetJobAttributes, func(g *group) { g.addInts("job-id", tagInteger, id) }, nil))
		n, _ := r.group(tagJobGroup).get("job-state").int()
		return n
	}
	steps := []struct {
		name    string
		advance time.Duration
		want    int
	}{
		{"a new job is pending", 0, jobPending},
		{"halfway through the delay the job is processing", 6 * time.Second, jobProcessing},
		{"after the delay the job is completed", 5 * time.Second, jobCompleted},
	}
	for _, st := range steps {
		now = now.Add(st.advance)
		if got := state(); got != st.want {
			t.Fatalf("%s: job-state = %d, want %d", st.name, got, st.want)
		}
	}
	r = post(t, s, request(opGetJobs, func(g *group) { g.add("which-jobs", tagKeyword, "completed") }, nil))
	if n := len(r.groups); n != 2 {
		t.Errorf("Get-Jobs completed returned %d groups, want operation + 1 job", n)
	}
	if docs := p.Documents(); len(docs) != 1 || string(docs[0].Data) != "%PDF-1.7\n" {
		t.Errorf("documents = %+v", docs)
	}
}

func TestFaultsChangeWhatThePrinterReports(t *testing.T) {
	p, s := start(t, Config{})
	printerState := func() (int, []string) {
		r := post(t, s, request(opGetPrinterAttributes, func(g *group) {
			g.add("requested-attributes", tagKeyword, "printer-state", "printer-state-reasons")
		}, nil))
		g := r.group(tagPrinterGroup)
		if len(g.attrs) != 2 {
			t.Errorf("requested two attributes, got %d", len(g.attrs))
		}
		n, _ := g.get("printer-state").int()
		return n, g.get("printer-state-reasons").strs()
	}
	if st, reasons := printerState(); st != printerIdle || !slices.Equal(reasons, []string{"none"}) {
		t.Fatalf("fresh printer: %d %q", st, reasons)
	}
	p.SetMediaEmpty(true)
	if st, reasons := printerState(); st != printerStopped || !slices.Equal(reasons, []string{"media-empty-error"}) {
		t.Fatalf("media empty: %d %q", st, reasons)
	}
	p.ClearFaults()
	p.JamNextJob()
	post(t, s, request(opPrintJob, nil, []byte("%PDF-1.4\n")))
	if jobs := p.Jobs(); len(jobs) != 1 || jobs[0].State != jobAborted {
		t.Fatalf("jammed job: %+v", jobs)
	}
	if st, reasons := printerState(); st != printerStopped || !slices.Equal(reasons, []string{"media-jam-error"}) {
		t.Fatalf("after jam: %d %q", st, reasons)
	}
	p.SetOffline(true)
	resp, err := http.Post("http://"+s.Addr()+"/ipp/print", "application/ipp", bytes.NewReader(request(opGetPrinterAttributes, nil, nil).encode()))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("offline printer answered HTTP %d, want 503", resp.StatusCode)
	}
}

func TestOutDirKeepsEveryDocument(t *testing.T) {
	dir := t.TempDir()
	_, s := start(t, Config{OutDir: dir})
	post(t, s, request(opPrintJob, nil, []byte("%PDF-1.4 one")))
	post(t, s, request(opPrintJob, nil, []byte("%PDF-1.4 two")))
	for i, want := range []string{"%PDF-1.4 one", "%PDF-1.4 two"} {
		b, err := os.ReadFile(filepath.Join(dir, []string{"job-1.pdf", "job-2.pdf"}[i]))
		if err != nil || string(b) != want {
			t.Errorf("job-%d.pdf = %q, %v; want %q", i+1, b, err, want)
		}
	}
}

// TestIPPToolAcceptsTheSimulator runs CUPS's ipptool, an independent IPP client, against the
// simulator. It needs ipptool (Debian package cups-ipp-utils) and skips without it.
func TestIPPToolAcceptsTheSimulator(t *testing.T) {
	ipptool, err := exec.LookPath("ipptool")
	if err != nil {
		t.Skip("ipptool not installed (apt-get install cups-ipp-utils)")
	}
	pdf := filepath.Join(t.TempDir(), "page.pdf")
	if err := os.WriteFile(pdf, []byte("%PDF-1.4\n%%EOF\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		file string
	}{
		{"Get-Printer-Attributes passes", "get-printer-attributes.test"},
		{"Print-Job passes", "print-job.test"},
		{"Get-Jobs passes", "get-jobs.test"},
		{"the IPP/1.1 conformance file passes", "ipp-1.1.test"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join("/usr/share/cups/ipptool", tt.file)
			if _, err := os.Stat(path); err != nil {
				t.Skipf("%s not found", path)
			}
			_, s := start(t, Config{})
			out, err := exec.CommandContext(t.Context(), ipptool, "-T", "10", "-f", pdf, "-t", s.URI(), path).CombinedOutput()
			if err != nil {
				t.Fatalf("ipptool %s: %v\n%s", tt.file, err, out)
			}
		})
	}
}

func TestAJPEGOnlyPrinterAdvertisesAndDecodesJPEG(t *testing.T) {
	img := image.NewGray(image.Rect(0, 0, 120, 170))
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, nil); err != nil {
		t.Fatal(err)
	}
	photo := buf.Bytes()
	jpegFormat := func(g *group) { g.add("document-format", tagMimeMediaType, "image/jpeg") }
	pdfFormat := func(g *group) { g.add("document-format", tagMimeMediaType, "application/pdf") }
	dir := t.TempDir()
	p, s := start(t, Config{DocumentFormats: []string{"image/jpeg"}, OutDir: dir})

	attrs := post(t, s, request(opGetPrinterAttributes, nil, nil)).group(tagPrinterGroup)
	if got := attrs.get("document-format-supported").strs(); !slices.Equal(got, []string{"image/jpeg"}) {
		t.Errorf("document-format-supported = %q, want only image/jpeg", got)
	}
	if got, _ := attrs.get("document-format-default").str(); got != "image/jpeg" {
		t.Errorf("document-format-default = %q, want image/jpeg", got)
	}
	for _, tt := range []struct {
		name   string
		req    *message
		status uint16
	}{
		{"a PDF is an unsupported format", request(opPrintJob, pdfFormat, []byte("%PDF-1.4\n")), statusDocumentFormatUnsupported},
		{"a JPEG that does not decode is a document format error", request(opPrintJob, jpegFormat, photo[:len(photo)/2]), statusDocumentFormatError},
		{"a JPEG is printed", request(opPrintJob, jpegFormat, photo), statusOK},
		{"a job without a format is taken as the default, JPEG", request(opPrintJob, nil, photo), statusOK},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if r := post(t, s, tt.req); r.code != tt.status {
				msg, _ := r.group(tagOperationGroup).get("status-message").str()
				t.Fatalf("status = 0x%04x (%s), want 0x%04x", r.code, msg, tt.status)
			}
		})
	}
	docs := p.Documents()
	if len(docs) != 2 {
		t.Fatalf("received %d documents, want the 2 JPEGs", len(docs))
	}
	for _, d := range docs {
		if d.Format != "image/jpeg" || d.Width != 120 || d.Height != 170 || !bytes.Equal(d.Data, photo) {
			t.Errorf("document %d = %s %d×%d, %d bytes; want the 120×170 JPEG", d.JobID, d.Format, d.Width, d.Height, len(d.Data))
		}
		if filepath.Ext(d.Path) != ".jpg" {
			t.Errorf("document %d written to %q, want a .jpg", d.JobID, d.Path)
		}
	}
}
