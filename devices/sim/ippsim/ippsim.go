// Package ippsim is an IPP printer that runs inside the process: a net/http server that speaks
// IPP/1.1 (and answers IPP/2.0 requests leniently) with the binary encoding over HTTP POST, so the
// driver in devices/ipp can be tested, and `station run --demo` or `station simulate ipp` can print,
// without a printer. CUPS's ipptool passes its ipp-1.1.test conformance file against it.
//
// It answers Get-Printer-Attributes, Print-Job, Validate-Job, Get-Job-Attributes, Get-Jobs and
// Cancel-Job. A job is pending for the first half of the configured job delay, processing for the
// second half, then completed. Faults can be injected while it runs: paper out (printer stopped with
// media-empty-error), a jam in the middle of the next job (the job is aborted and the printer stops
// with media-jam-error), any other printer-state-reasons, HTTP 503 for every request, and a slow job
// (a long job delay). Closing the Server makes the port refuse connections. Every document received
// is kept for inspection and, if Config.OutDir is set, written there.
//
// It takes PDF by default; Config.DocumentFormats makes it advertise other formats, such as only
// image/jpeg like a printer without a PDF interpreter. JPEG documents are decoded, and their size kept.
package ippsim

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"image/jpeg"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// IPP operation ids (RFC 8011 §5.4.15).
const (
	opPrintJob             = 0x0002
	opValidateJob          = 0x0004
	opCancelJob            = 0x0008
	opGetJobAttributes     = 0x0009
	opGetJobs              = 0x000a
	opGetPrinterAttributes = 0x000b
)

// IPP status codes (RFC 8011 §B).
const (
	statusOK                        = 0x0000
	statusBadRequest                = 0x0400
	statusNotPossible               = 0x0404
	statusNotFound                  = 0x0406
	statusDocumentFormatUnsupported = 0x040a
	statusDocumentFormatError       = 0x0410
	statusInternalError             = 0x0500
	statusOperationNotSupported     = 0x0501
	statusVersionNotSupported       = 0x0503
)

// Job states (RFC 8011 §5.3.7).
const (
	jobPending    = 3
	jobProcessing = 5
	jobCanceled   = 7
	jobAborted    = 8
	jobCompleted  = 9
)

// Printer states (RFC 8011 §5.4.11).
const (
	printerIdle       = 3
	printerProcessing = 4
	printerStopped    = 5
)

// maxRequest caps the size of one request, document included.
const maxRequest = 64 << 20

// Config configures a simulated printer. The zero value is usable.
type Config struct {
	// Name is the printer-name and the make and model it reports; default "Station IPP Simulator".
	Name string
	// Path is the HTTP path of the printer; default "/ipp/print".
	Path string
	// JobDelay is how long a job takes from submission to completion: pending for the first half,
	// processing for the second. Zero completes jobs at once.
	JobDelay time.Duration
	// OutDir, if set, is where every received document is also written, as job-N.pdf or job-N.jpg.
	OutDir string
	// DocumentFormats is document-format-supported, the first being document-format-default; default
	// application/pdf and application/octet-stream. The printer understands application/pdf,
	// image/jpeg and application/octet-stream (either, told apart by content); a job in a listed
	// format it does not understand is refused as unsupported.
	DocumentFormats []string
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Logger receives a line per job; default discards.
	Logger *slog.Logger
}

// Document is a document the printer received.
type Document struct {
	JobID    int
	Name     string // job-name
	User     string // requesting-user-name
	Format   string // document-format
	Data     []byte
	Width    int // pixels, for an image; 0 for a PDF
	Height   int
	Received time.Time
	Path     string // file in Config.OutDir, if any
}

// Job is the printer's view of a job, for tests.
type Job struct {
	ID      int
	Name    string
	State   int // IPP job-state: 3 pending, 5 processing, 7 canceled, 8 aborted, 9 completed
	Reasons []string
}

type job struct {
	Job
	user      string
	size      int
	created   time.Time
	eligible  time.Time // when the printer was first running after submission; zero until then
	processed time.Time // when it started processing; zero until then
	finished  time.Time // when it reached a final state; zero until then
	delay     time.Duration
	jam       bool
}

func (j *job) terminal() bool { return j.State >= jobCanceled }

// Printer is a simulated IPP printer. It is an http.Handler; its methods are safe for concurrent use.
type Printer struct {
	name    string
	path    string
	outDir  string
	formats []string
	now     func() time.Time
	logger  *slog.Logger

	mu       sync.Mutex
	delay    time.Duration
	reasons  []string // injected printer-state-reasons
	jamNext  bool
	offline  bool
	jobs     []*job
	docs     []Document
	started  time.Time
	requests int
}

// New returns a simulated printer.
func New(cfg Config) *Printer {
	p := &Printer{
		name:    cfg.Name,
		path:    cfg.Path,
		outDir:  cfg.OutDir,
		formats: slices.Clone(cfg.DocumentFormats),
		now:     cfg.Now,
		logger:  cfg.Logger,
		delay:   cfg.JobDelay,
	}
	if p.name == "" {
		p.name = "Station IPP Simulator"
	}
	if p.path == "" {
		p.path = "/ipp/print"
	}
	if len(p.formats) == 0 {
		p.formats = []string{formatPDF, formatOctetStream}
	}
	if p.now == nil {
		p.now = time.Now
	}
	if p.logger == nil {
		p.logger = slog.New(slog.DiscardHandler)
	}
	p.started = p.now()
	return p
}

// SetMediaEmpty puts the printer out of paper (stopped, media-empty-error) or back in paper.
func (p *Printer) SetMediaEmpty(empty bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.reasons = slices.DeleteFunc(p.reasons, func(r string) bool { return strings.HasPrefix(r, "media-empty") })
	if empty {
		p.reasons = append(p.reasons, "media-empty-error")
	}
}

// SetReasons replaces the injected printer-state-reasons, e.g. "media-low-report" or
// "door-open-error". A reason ending in -error stops the printer.
func (p *Printer) SetReasons(reasons ...string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.reasons = slices.Clone(reasons)
}

// JamNextJob makes the next submitted job jam halfway: it is aborted, and the printer stops with
// media-jam-error until ClearFaults.
func (p *Printer) JamNextJob() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.jamNext = true
}

// SetOffline makes the printer answer every request with HTTP 503 Service Unavailable, or stop doing so.
func (p *Printer) SetOffline(offline bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.offline = offline
}

// SetJobDelay changes the job delay for jobs submitted from now on; a long delay makes a slow job.
func (p *Printer) SetJobDelay(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.delay = d
}

// ClearFaults removes every injected fault: reasons, a pending jam and offline mode.
func (p *Printer) ClearFaults() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.reasons = nil
	p.jamNext = false
	p.offline = false
}

// Documents returns the documents received so far, oldest first.
func (p *Printer) Documents() []Document {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]Document, len(p.docs))
	for i, d := range p.docs {
		out[i] = d
		out[i].Data = slices.Clone(d.Data)
	}
	return out
}

// Jobs returns every job, oldest first, with its state as of now.
func (p *Printer) Jobs() []Job {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.advance()
	out := make([]Job, len(p.jobs))
	for i, j := range p.jobs {
		out[i] = j.Job
		out[i].Reasons = slices.Clone(j.Reasons)
	}
	return out
}

// Requests returns how many HTTP requests the printer has been sent, offline ones included.
func (p *Printer) Requests() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.requests
}

// stopped reports whether an injected reason stops the printer. The caller holds p.mu.
func (p *Printer) stopped() bool {
	return slices.ContainsFunc(p.reasons, func(r string) bool { return strings.HasSuffix(r, "-error") })
}

// advance moves every job along its life as of now. The caller holds p.mu.
func (p *Printer) advance() {
	now := p.now()
	for _, j := range p.jobs {
		if j.terminal() {
			continue
		}
		if p.stopped() {
			if j.State == jobPending {
				j.Reasons = []string{"printer-stopped"}
			}
			continue
		}
		if j.eligible.IsZero() {
			j.eligible = now
		}
		switch {
		case !now.Before(j.eligible.Add(j.delay)):
			if j.processed.IsZero() {
				j.processed = now
			}
			j.finished = now
			if j.jam {
				j.State, j.Reasons = jobAborted, []string{"aborted-by-system"}
				p.reasons = append(p.reasons, "media-jam-error")
				p.logger.Info("ippsim: job aborted by a paper jam", "job", j.ID)
				continue
			}
			j.State, j.Reasons = jobCompleted, []string{"job-completed-successfully"}
			p.logger.Info("ippsim: job completed", "job", j.ID, "name", j.Name)
		case !now.Before(j.eligible.Add(j.delay / 2)):
			if j.processed.IsZero() {
				j.processed = now
			}
			j.State, j.Reasons = jobProcessing, []string{"job-printing"}
		default:
			j.State, j.Reasons = jobPending, []string{"none"}
		}
	}
}

// printerState returns printer-state and printer-state-reasons. The caller holds p.mu.
func (p *Printer) printerState() (int, []string) {
	reasons := slices.Clone(p.reasons)
	if len(reasons) == 0 {
		reasons = []string{"none"}
	}
	if p.stopped() {
		return printerStopped, reasons
	}
	if slices.ContainsFunc(p.jobs, func(j *job) bool { return j.State == jobProcessing }) {
		return printerProcessing, reasons
	}
	return printerIdle, reasons
}

// ServeHTTP answers one IPP request.
func (p *Printer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	p.requests++
	offline := p.offline
	p.mu.Unlock()
	if offline {
		http.Error(w, "printer offline", http.StatusServiceUnavailable)
		return
	}
	if r.URL.Path != p.path && !strings.HasPrefix(r.URL.Path, p.path+"/") {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "IPP requests are POSTed", http.StatusMethodNotAllowed)
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/ipp" {
		http.Error(w, "Content-Type must be application/ipp", http.StatusBadRequest)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRequest))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, "request too large", http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "cannot read request", http.StatusBadRequest)
		return
	}
	req, err := decodeMessage(body)
	if err != nil {
		http.Error(w, "malformed IPP request: "+err.Error(), http.StatusBadRequest)
		return
	}
	resp := p.handle(req, "ipp://"+r.Host+p.path)
	w.Header().Set("Content-Type", "application/ipp")
	_, _ = w.Write(resp.encode())
}

// handle answers a decoded request. printerURI is the printer's URI as the client reached it.
func (p *Printer) handle(req *message, printerURI string) *message {
	resp := &message{major: req.major, minor: req.minor, requestID: req.requestID}
	if req.major != 1 && req.major != 2 {
		resp.major, resp.minor = 1, 1
		return p.status(resp, statusVersionNotSupported, "IPP version not supported")
	}
	if req.requestID == 0 {
		return p.status(resp, statusBadRequest, "request-id must not be 0")
	}
	op := req.group(tagOperationGroup)
	if op == nil || len(req.groups) == 0 || req.groups[0].tag != tagOperationGroup ||
		len(op.attrs) < 2 || op.attrs[0].name != "attributes-charset" || op.attrs[1].name != "attributes-natural-language" {
		return p.status(resp, statusBadRequest, "operation attributes must start with attributes-charset and attributes-natural-language")
	}
	if op.get("printer-uri") == nil && op.get("job-uri") == nil {
		return p.status(resp, statusBadRequest, "missing printer-uri or job-uri")
	}

	var doc Document
	if req.code == opPrintJob || req.code == opValidateJob {
		var code uint16
		var msg string
		if doc, code, msg = p.checkDocument(req); code != statusOK {
			resp = p.status(resp, code, msg)
			if code == statusDocumentFormatUnsupported {
				resp.addGroup(tagUnsupportedGroup).add("document-format", tagMimeMediaType, doc.Format)
			}
			return resp
		}
	}

	p.mu.Lock()
	defer p.mu.Unlock()
	p.advance()
	switch req.code {
	case opGetPrinterAttributes:
		return p.getPrinterAttributes(req, resp, printerURI)
	case opValidateJob:
		return p.status(resp, statusOK, "successful-ok")
	case opPrintJob:
		return p.printJob(req, resp, printerURI, doc)
	case opGetJobAttributes:
		j, msg := p.findJob(op)
		if j == nil {
			return p.status(resp, statusNotFound, msg)
		}
		p.status(resp, statusOK, "successful-ok")
		p.jobAttributes(resp.addGroup(tagJobGroup), j, printerURI, requested(op))
		return resp
	case opGetJobs:
		return p.getJobs(op, resp, printerURI)
	case opCancelJob:
		j, msg := p.findJob(op)
		if j == nil {
			return p.status(resp, statusNotFound, msg)
		}
		if j.terminal() {
			return p.status(resp, statusNotPossible, fmt.Sprintf("job %d is already finished", j.ID))
		}
		j.State, j.Reasons, j.finished = jobCanceled, []string{"job-canceled-by-user"}, p.now()
		p.logger.Info("ippsim: job canceled", "job", j.ID)
		return p.status(resp, statusOK, "successful-ok")
	}
	return p.status(resp, statusOperationNotSupported, fmt.Sprintf("operation 0x%04x not supported", req.code))
}

// status starts resp's operation group with a status code and message.
func (p *Printer) status(resp *message, code uint16, msg string) *message {
	resp.code = code
	g := resp.addGroup(tagOperationGroup)
	g.add("attributes-charset", tagCharset, "utf-8")
	g.add("attributes-natural-language", tagNaturalLanguage, "en")
	g.add("status-message", tagText, msg)
	return resp
}

// requested returns the requested-attributes filter: nil means everything.
func requested(op *group) map[string]bool {
	names := op.get("requested-attributes").strs()
	if len(names) == 0 {
		return nil
	}
	set := make(map[string]bool, len(names))
	for _, n := range names {
		switch n {
		case "all", "printer-description", "job-description", "job-template", "job-status":
			return nil
		}
		set[n] = true
	}
	return set
}

// filter drops the attributes of g that are not in want (nil keeps all).
func filter(g *group, want map[string]bool) {
	if want == nil {
		return
	}
	g.attrs = slices.DeleteFunc(g.attrs, func(a attribute) bool { return !want[a.name] })
}

func (p *Printer) getPrinterAttributes(req, resp *message, printerURI string) *message {
	state, reasons := p.printerState()
	queued := 0
	for _, j := range p.jobs {
		if !j.terminal() {
			queued++
		}
	}
	p.status(resp, statusOK, "successful-ok")
	g := resp.addGroup(tagPrinterGroup)
	g.add("printer-uri-supported", tagURI, printerURI)
	g.add("uri-security-supported", tagKeyword, "none")
	g.add("uri-authentication-supported", tagKeyword, "none")
	g.add("printer-name", tagName, "station-sim")
	g.add("printer-info", tagText, p.name)
	g.add("printer-make-and-model", tagText, p.name)
	g.addInts("printer-state", tagEnum, state)
	g.add("printer-state-reasons", tagKeyword, reasons...)
	g.add("printer-state-message", tagText, strings.Join(reasons, ", "))
	g.addBool("printer-is-accepting-jobs", true)
	g.addInts("queued-job-count", tagInteger, queued)
	g.add("ipp-versions-supported", tagKeyword, "1.0", "1.1") // 2.0 requests are answered too, without its extra attributes
	g.addInts("operations-supported", tagEnum, opPrintJob, opValidateJob, opCancelJob, opGetJobAttributes, opGetJobs, opGetPrinterAttributes)
	g.add("charset-configured", tagCharset, "utf-8")
	g.add("charset-supported", tagCharset, "utf-8")
	g.add("natural-language-configured", tagNaturalLanguage, "en")
	g.add("generated-natural-language-supported", tagNaturalLanguage, "en")
	g.add("document-format-default", tagMimeMediaType, p.formats[0])
	g.add("document-format-supported", tagMimeMediaType, p.formats...)
	g.add("pdl-override-supported", tagKeyword, "not-attempted")
	g.add("compression-supported", tagKeyword, "none")
	g.add("printer-location", tagText, "")
	g.add("printer-more-info", tagURI, strings.Replace(printerURI, "ipp://", "http://", 1))
	g.add("media-default", tagKeyword, "iso_a4_210x297mm")
	g.attrs = append(g.attrs, mediaColA4("media-col-default"))
	g.add("media-supported", tagKeyword, "iso_a4_210x297mm")
	g.addBool("color-supported", false)
	g.addInts("printer-up-time", tagInteger, p.upTime(p.now()))
	filter(g, requested(req.group(tagOperationGroup)))
	return resp
}

// Document formats the printer understands.
const (
	formatPDF         = "application/pdf"
	formatJPEG        = "image/jpeg"
	formatOctetStream = "application/octet-stream"
)

// checkDocument checks the document-format of a Print-Job or Validate-Job against the supported
// formats and, for Print-Job, the document against its format, decoding a JPEG in full. It returns
// the Document's Format (as requested, else document-format-default), Width and Height, or the
// status code and message to refuse the request with. It needs no lock: p.formats never changes.
func (p *Printer) checkDocument(req *message) (Document, uint16, string) {
	format, ok := req.group(tagOperationGroup).get("document-format").str()
	if !ok {
		format = p.formats[0]
	}
	doc := Document{Format: format}
	kind := format
	if format == formatOctetStream {
		kind = formatPDF
		if bytes.HasPrefix(req.data, []byte{0xff, 0xd8}) {
			kind = formatJPEG
		}
	}
	if !slices.Contains(p.formats, format) || (kind != formatPDF && kind != formatJPEG) {
		return doc, statusDocumentFormatUnsupported, "supported document formats: " + strings.Join(p.formats, ", ")
	}
	if req.code == opValidateJob {
		return doc, statusOK, ""
	}
	switch kind {
	case formatPDF:
		if !bytes.HasPrefix(req.data, []byte("%PDF-")) {
			return doc, statusDocumentFormatError, "document is not a PDF"
		}
	case formatJPEG:
		img, err := jpeg.Decode(bytes.NewReader(req.data))
		if err != nil {
			return doc, statusDocumentFormatError, "document is not a readable JPEG: " + err.Error()
		}
		doc.Width, doc.Height = img.Bounds().Dx(), img.Bounds().Dy()
	}
	return doc, statusOK, ""
}

// printJob keeps the document a Print-Job carried, already checked by checkDocument, and makes its job.
func (p *Printer) printJob(req, resp *message, printerURI string, doc Document) *message {
	op := req.group(tagOperationGroup)
	name, _ := op.get("job-name").str()
	user, _ := op.get("requesting-user-name").str()
	now := p.now()
	j := &job{
		Job:     Job{ID: len(p.jobs) + 1, Name: name, State: jobPending, Reasons: []string{"none"}},
		user:    user,
		size:    len(req.data),
		created: now,
		delay:   p.delay,
		jam:     p.jamNext,
	}
	p.jamNext = false
	doc.JobID, doc.Name, doc.User, doc.Data, doc.Received = j.ID, name, user, slices.Clone(req.data), now
	if p.outDir != "" {
		ext := ".pdf"
		if doc.Width > 0 {
			ext = ".jpg"
		}
		doc.Path = filepath.Join(p.outDir, fmt.Sprintf("job-%d%s", j.ID, ext))
		if err := os.WriteFile(doc.Path, doc.Data, 0o644); err != nil {
			p.logger.Error("ippsim: cannot keep the document", "job", j.ID, "err", err)
			return p.status(resp, statusInternalError, "cannot store the document")
		}
	}
	p.jobs = append(p.jobs, j)
	p.docs = append(p.docs, doc)
	p.logger.Info("ippsim: job received", "job", j.ID, "name", name, "format", doc.Format, "bytes", len(doc.Data), "file", doc.Path)
	p.advance()
	p.status(resp, statusOK, "successful-ok")
	p.jobAttributes(resp.addGroup(tagJobGroup), j, printerURI, map[string]bool{
		"job-id": true, "job-uri": true, "job-state": true, "job-state-reasons": true,
	})
	return resp
}

// findJob finds the job named by job-id or job-uri; when there is none it says why.
func (p *Printer) findJob(op *group) (*job, string) {
	id, ok := op.get("job-id").int()
	if !ok {
		uri, has := op.get("job-uri").str()
		if !has {
			return nil, "missing job-id or job-uri"
		}
		n, err := strconv.Atoi(uri[strings.LastIndexByte(uri, '/')+1:])
		if err != nil {
			return nil, "malformed job-uri"
		}
		id = n
	}
	if id < 1 || id > len(p.jobs) {
		return nil, fmt.Sprintf("job %d not found", id)
	}
	return p.jobs[id-1], ""
}

func (p *Printer) jobAttributes(g *group, j *job, printerURI string, want map[string]bool) {
	g.addInts("job-id", tagInteger, j.ID)
	g.add("job-uri", tagURI, fmt.Sprintf("%s/job/%d", printerURI, j.ID))
	g.add("job-printer-uri", tagURI, printerURI)
	g.add("job-name", tagName, j.Name)
	g.addInts("job-state", tagEnum, j.State)
	g.add("job-state-reasons", tagKeyword, j.Reasons...)
	g.add("job-originating-user-name", tagName, j.user)
	g.addInts("job-k-octets", tagInteger, (j.size+1023)/1024)
	g.addInts("job-printer-up-time", tagInteger, p.upTime(p.now()))
	g.addInts("time-at-creation", tagInteger, p.upTime(j.created))
	for _, t := range []struct {
		name string
		at   time.Time
	}{{"time-at-processing", j.processed}, {"time-at-completed", j.finished}} {
		if t.at.IsZero() {
			g.attrs = append(g.attrs, attribute{name: t.name, values: []value{{tag: tagNoValue}}})
		} else {
			g.addInts(t.name, tagInteger, p.upTime(t.at))
		}
	}
	filter(g, want)
}

func (p *Printer) getJobs(op *group, resp *message, printerURI string) *message {
	which, _ := op.get("which-jobs").str()
	limit, _ := op.get("limit").int()
	want := requested(op)
	if want == nil && op.get("requested-attributes") == nil {
		want = map[string]bool{"job-id": true, "job-uri": true}
	}
	p.status(resp, statusOK, "successful-ok")
	n := 0
	for _, j := range slices.Backward(p.jobs) {
		switch which {
		case "all":
		case "completed":
			if !j.terminal() {
				continue
			}
		default: // "not-completed"
			if j.terminal() {
				continue
			}
		}
		if limit > 0 && n >= limit {
			break
		}
		p.jobAttributes(resp.addGroup(tagJobGroup), j, printerURI, want)
		n++
	}
	return resp
}

// mediaColA4 is a media-col collection for A4 paper (PWG 5100.3), in the flat form of RFC 8010
// §3.1.6: begCollection, then memberAttrName and value pairs, then endCollection.
func mediaColA4(name string) attribute {
	integer := func(n int) value { return value{tag: tagInteger, data: binary.BigEndian.AppendUint32(nil, uint32(n))} }
	member := func(n string) value { return value{tag: tagMemberAttrName, data: []byte(n)} }
	return attribute{name: name, values: []value{
		{tag: tagBeginCollection},
		member("media-size"), {tag: tagBeginCollection},
		member("x-dimension"), integer(21000),
		member("y-dimension"), integer(29700),
		{tag: tagEndCollection},
		member("media-size-name"), {tag: tagKeyword, data: []byte("iso_a4_210x297mm")},
		{tag: tagEndCollection},
	}}
}

// upTime is t in seconds since the printer started, at least 1, as IPP's time-at-* attributes want.
func (p *Printer) upTime(t time.Time) int {
	return max(1, int(t.Sub(p.started).Seconds())+1)
}

// Server is a Printer listening on a TCP port.
type Server struct {
	printer *Printer
	ln      net.Listener
	srv     *http.Server
	done    chan error
}

// Listen starts serving p on addr (host:port; port 0 picks a free one) until Close.
func (p *Printer) Listen(addr string) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("ippsim: listen %s: %w", addr, err)
	}
	s := &Server{
		printer: p,
		ln:      ln,
		srv:     &http.Server{Handler: p, ReadHeaderTimeout: 10 * time.Second},
		done:    make(chan error, 1),
	}
	go func() { s.done <- s.srv.Serve(ln) }()
	return s, nil
}

// Addr returns the address the server listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// URI returns the printer's IPP URI, e.g. ipp://127.0.0.1:8631/ipp/print.
func (s *Server) URI() string { return "ipp://" + s.Addr() + s.printer.path }

// Close stops the server at once; from then on the port refuses connections.
func (s *Server) Close() error {
	err := s.srv.Close()
	<-s.done
	return err
}

// Shutdown stops the server gracefully: it stops accepting connections and waits, until ctx ends,
// for the requests in progress.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	if err != nil {
		_ = s.srv.Close()
	}
	<-s.done
	if err != nil {
		return fmt.Errorf("ippsim: shut down: %w", err)
	}
	return nil
}

// Run serves p on addr until ctx ends, then shuts the server down.
func (p *Printer) Run(ctx context.Context, addr string) error {
	s, err := p.Listen(addr)
	if err != nil {
		return err
	}
	<-ctx.Done()
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	return s.Shutdown(shutdownCtx)
}
