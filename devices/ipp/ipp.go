// Package ipp drives an A4 document printer over IPP (RFC 8011) with github.com/phin1x/go-ipp's
// message encoding: ipp://host[:port]/path, ipps:// for IPP over TLS. Any IPP Everywhere printer and
// any CUPS queue will do.
//
// A print counts as done only when the printer reports the job completed: PrintPDF asks the printer
// for its state first and refuses to submit when it is out of paper or stopped, submits with
// Print-Job, then follows the job with Get-Job-Attributes until it ends. Any end other than
// completed, or no end in time, is an error, and the job is canceled so it cannot print later.
//
// The document is sent as application/pdf unless the printer's document-format-supported lists
// image/jpeg and not application/pdf; then each page, rasterized at 300 dpi by Options.Rasterize, is
// printed as an image/jpeg job of its own, in page order, and the print counts only when every page's
// job completed. The package itself renders nothing, so it needs no cgo.
package ipp

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	goipp "github.com/phin1x/go-ipp"

	"github.com/civic-station/station/devices"
)

var _ devices.DocumentPrinter = (*Printer)(nil)

// ErrStopped means the printer is stopped for a fault other than paper out (a jam, an open door,
// paused …); nothing was submitted. It is returned wrapped together with devices.ErrNotConfirmed.
var ErrStopped = errors.New("printer is stopped")

// ErrNotPDF means the document given to PrintPDF does not start with %PDF-.
var ErrNotPDF = errors.New("document is not a PDF")

// ErrFormatUnsupported means the printer accepts neither application/pdf nor image/jpeg, or only
// image/jpeg while Options.Rasterize is not set; nothing was submitted.
var ErrFormatUnsupported = errors.New("printer supports no document format the station can send")

// Document formats the driver sends.
const (
	formatPDF  = "application/pdf"
	formatJPEG = "image/jpeg"
)

// RasterDPI is the resolution at which pages are rasterized for a printer that takes JPEG only.
const RasterDPI = 300

// IPP job states (RFC 8011 §5.3.7).
const (
	jobPending    = 3
	jobHeld       = 4
	jobProcessing = 5
	jobStopped    = 6
	jobCanceled   = 7
	jobAborted    = 8
	jobCompleted  = 9
)

var jobStateNames = map[int]string{
	jobPending: "pending", jobHeld: "pending-held", jobProcessing: "processing", jobStopped: "processing-stopped",
	jobCanceled: "canceled", jobAborted: "aborted", jobCompleted: "completed",
}

func jobStateName(s int) string {
	if n, ok := jobStateNames[s]; ok {
		return n
	}
	return "state " + strconv.Itoa(s)
}

// maxResponse caps the size of an IPP response the driver reads.
const maxResponse = 4 << 20

// Options tunes a Printer. The zero value is usable.
type Options struct {
	// User is the requesting-user-name; default "station".
	User string
	// PollInterval is the pause between two Get-Job-Attributes; default 1s.
	PollInterval time.Duration
	// JobTimeout bounds how long PrintPDF waits for a job to complete; default 3 minutes.
	JobTimeout time.Duration
	// RequestTimeout bounds one IPP request, document upload included; default 30s.
	RequestTimeout time.Duration
	// TLSConfig is used for ipps:// URIs. By default the printer's certificate is not verified:
	// printers on a station's LAN carry self-signed certificates.
	TLSConfig *tls.Config
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Logger receives a line per job; default discards.
	Logger *slog.Logger
	// Rasterize renders every page of a PDF at dpi dots per inch and returns one JPEG per page, in
	// order. It is used only for printers that take image/jpeg but not application/pdf; without it
	// such a printer cannot print (ErrFormatUnsupported).
	Rasterize func(pdf []byte, dpi float64) ([][]byte, error)
}

// Printer is a document printer reached over IPP. Its methods are safe for concurrent use.
type Printer struct {
	uri     string // printer-uri, as given
	httpURL string // where requests are POSTed
	opts    Options
	client  *http.Client
	reqID   atomic.Int32

	mu          sync.Mutex
	lastError   string
	lastErrorAt time.Time
}

// New returns a driver for the printer at uri (ipp://, ipps://, http:// or https://; the IPP default
// port is 631). It does not contact the printer.
func New(uri string, opts Options) (*Printer, error) {
	u, err := url.Parse(uri)
	if err != nil {
		return nil, fmt.Errorf("ipp: parse printer URI %q: %w", uri, err)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("ipp: printer URI %q has no host", uri)
	}
	scheme := ""
	switch u.Scheme {
	case "ipp", "http":
		scheme = "http"
	case "ipps", "https":
		scheme = "https"
	default:
		return nil, fmt.Errorf("ipp: printer URI %q: scheme must be ipp or ipps", uri)
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "631")
	}
	if opts.User == "" {
		opts.User = "station"
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = time.Second
	}
	if opts.JobTimeout <= 0 {
		opts.JobTimeout = 3 * time.Minute
	}
	if opts.RequestTimeout <= 0 {
		opts.RequestTimeout = 30 * time.Second
	}
	if opts.TLSConfig == nil {
		opts.TLSConfig = &tls.Config{InsecureSkipVerify: true} // printers use self-signed certificates
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	transport := &http.Transport{
		Proxy:               nil, // a LAN printer is never reached through a proxy
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		TLSClientConfig:     opts.TLSConfig,
		TLSHandshakeTimeout: 5 * time.Second,
		MaxIdleConnsPerHost: 2,
		IdleConnTimeout:     30 * time.Second,
	}
	return &Printer{
		uri:     uri,
		httpURL: (&url.URL{Scheme: scheme, Host: host, Path: u.Path, RawQuery: u.RawQuery}).String(),
		opts:    opts,
		client:  &http.Client{Transport: transport},
	}, nil
}

// URI returns the printer URI the driver was made with.
func (p *Printer) URI() string { return p.uri }

// attr is an operation attribute of a request, in the order it is sent.
type attr struct {
	name  string
	value any
}

// ippStatusError is an IPP response whose status-code is not successful.
type ippStatusError struct {
	op      string
	code    int16
	message string
}

func (e *ippStatusError) Error() string {
	return fmt.Sprintf("%s: ipp status 0x%04x: %s", e.op, uint16(e.code), e.message)
}

// statusNotFound is client-error-not-found.
const statusNotFound = 0x0406

// call sends one IPP request and returns the decoded response. Transport failures wrap
// devices.ErrNotConnected or devices.ErrTimeout; an unsuccessful status is an *ippStatusError.
func (p *Printer) call(ctx context.Context, opName string, op int16, attrs []attr, document []byte) (*goipp.Response, error) {
	payload, err := p.encodeRequest(op, attrs)
	if err != nil {
		return nil, fmt.Errorf("%s: encode request: %w", opName, err)
	}
	ctx, cancel := context.WithTimeout(ctx, p.opts.RequestTimeout)
	defer cancel()
	body := io.MultiReader(bytes.NewReader(payload), bytes.NewReader(document))
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.httpURL, body)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", opName, err)
	}
	req.ContentLength = int64(len(payload) + len(document))
	req.Header.Set("Content-Type", goipp.ContentTypeIPP)
	resp, err := p.client.Do(req)
	if err != nil {
		switch {
		case errors.Is(ctx.Err(), context.DeadlineExceeded):
			return nil, fmt.Errorf("%s: %w: %w", opName, devices.ErrTimeout, err)
		case ctx.Err() != nil: // the caller gave up; that says nothing about the printer
			return nil, fmt.Errorf("%s: %w", opName, err)
		}
		return nil, fmt.Errorf("%s: %w: %w", opName, devices.ErrNotConnected, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		if resp.StatusCode == http.StatusServiceUnavailable {
			return nil, fmt.Errorf("%s: %w: HTTP %s", opName, devices.ErrNotConnected, resp.Status)
		}
		return nil, fmt.Errorf("%s: HTTP %s", opName, resp.Status)
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse+1))
	if err != nil {
		return nil, fmt.Errorf("%s: read response: %w: %w", opName, devices.ErrNotConnected, err)
	}
	if len(raw) > maxResponse {
		return nil, fmt.Errorf("%s: response larger than %d bytes", opName, maxResponse)
	}
	r, err := decodeResponse(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", opName, err)
	}
	if r.StatusCode < 0 || r.StatusCode > 0x00ff { // 0x0000–0x00ff are the successful statuses
		e := &ippStatusError{op: opName, code: r.StatusCode, message: "no status-message"}
		if m := firstString(r.OperationAttributes, "status-message"); m != "" {
			e.message = m
		}
		return nil, e
	}
	return r, nil
}

// naturalLanguage is the requests' attributes-natural-language. IPP language tags are lowercase
// (RFC 8011 §5.1.9); go-ipp's "en-US" is refused by CUPS 2.4 since its Debian 12 security updates
// ("Bad attributes-natural-language value").
const naturalLanguage = "en-us"

// encodeRequest encodes an IPP/1.1 request with go-ipp's attribute encoder, keeping the attribute
// order RFC 8011 §4.1.5 asks for (charset, language, target, the rest), which go-ipp's own map-based
// Request.Encode does not guarantee.
func (p *Printer) encodeRequest(op int16, attrs []attr) ([]byte, error) {
	var buf bytes.Buffer
	buf.Write([]byte{1, 1})
	_ = binary.Write(&buf, binary.BigEndian, op)
	_ = binary.Write(&buf, binary.BigEndian, p.reqID.Add(1))
	buf.WriteByte(byte(goipp.TagOperation))
	enc := goipp.NewAttributeEncoder(&buf)
	all := append([]attr{
		{goipp.AttributeCharset, goipp.Charset},
		{goipp.AttributeNaturalLanguage, naturalLanguage},
	}, attrs...)
	for _, a := range all {
		if err := enc.Encode(a.name, a.value); err != nil {
			return nil, err
		}
	}
	buf.WriteByte(byte(goipp.TagEnd))
	return buf.Bytes(), nil
}

// decodeResponse decodes an IPP response with go-ipp. go-ipp panics on some malformed input (a
// negative length makes it allocate a negative-size slice); that is turned into an error.
func decodeResponse(raw []byte) (r *goipp.Response, err error) {
	defer func() {
		if v := recover(); v != nil {
			r, err = nil, fmt.Errorf("malformed IPP response: %v", v)
		}
	}()
	r, err = goipp.NewResponseDecoder(bytes.NewReader(raw)).Decode(nil)
	if err != nil {
		return nil, fmt.Errorf("malformed IPP response: %w", err)
	}
	return r, nil
}

// firstString returns the first value of a string-valued attribute, or "".
func firstString(a goipp.Attributes, name string) string {
	for _, v := range a[name] {
		if s, ok := v.Value.(string); ok {
			return s
		}
	}
	return ""
}

// stringValues returns every string value of an attribute.
func stringValues(a goipp.Attributes, name string) []string {
	var out []string
	for _, v := range a[name] {
		if s, ok := v.Value.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// firstInt returns the first value of an integer or enum attribute.
func firstInt(a goipp.Attributes, name string) (int, bool) {
	for _, v := range a[name] {
		if n, ok := v.Value.(int); ok {
			return n, true
		}
	}
	return 0, false
}

// printerAttributes are the attributes Status asks for.
var printerAttributes = []string{
	"printer-state", "printer-state-reasons", "printer-state-message", "printer-is-accepting-jobs",
	"printer-make-and-model", "printer-name", "printer-info", "document-format-supported",
}

// Status asks the printer for its state now: printer-state and printer-state-reasons mapped to a
// devices.State, the raw reasons in Reasons and a Chinese description in LastError. A printer that
// does not answer is StateDisconnected.
func (p *Printer) Status(ctx context.Context) devices.Status {
	st, _, _ := p.status(ctx)
	return st
}

// status is Status that also returns the format the driver would send the printer ("" when it has
// none it can use, which is then also described in LastError) and why the printer could not be asked.
func (p *Printer) status(ctx context.Context) (devices.Status, string, error) {
	st := devices.Status{Kind: devices.KindDocumentPrinter, Name: p.uri, Detail: p.uri, Link: devices.LinkIPP, Port: p.uri}
	r, err := p.call(ctx, "Get-Printer-Attributes", goipp.OperationGetPrinterAttributes, []attr{
		{goipp.AttributePrinterURI, p.uri},
		{goipp.AttributeRequestingUserName, p.opts.User},
		{goipp.AttributeRequestedAttributes, printerAttributes},
	}, nil)
	now := p.opts.Now()
	st.UpdatedAt = now
	if err != nil {
		st.State = devices.StateDisconnected
		p.noteError(now, Explain(err))
		st.LastError, st.LastErrorAt = p.lastErr()
		return st, "", err
	}
	var a goipp.Attributes
	if len(r.PrinterAttributes) > 0 {
		a = r.PrinterAttributes[0]
	}
	if name := firstString(a, "printer-make-and-model"); name != "" {
		st.Name = name
	} else if name := firstString(a, "printer-info"); name != "" {
		st.Name = name
	}
	state, ok := firstInt(a, "printer-state")
	if !ok {
		state = printerIdle
	}
	st.Reasons = stringValues(a, "printer-state-reasons")
	var desc string
	st.State, st.Connected, desc = statusFrom(state, st.Reasons)
	format := p.format(stringValues(a, "document-format-supported"))
	if format == "" {
		if desc != "" {
			desc += "；"
		}
		desc += explainFormat
	}
	if desc != "" {
		p.noteError(now, desc)
	}
	st.LastError, st.LastErrorAt = p.lastErr()
	return st, format, nil
}

// format chooses the document format to send a printer that lists supported: PDF when it lists
// application/pdf or lists nothing (as before printers were asked), JPEG pages when it lists
// image/jpeg and the driver can rasterize, else "".
func (p *Printer) format(supported []string) string {
	switch {
	case len(supported) == 0, slices.Contains(supported, formatPDF):
		return formatPDF
	case slices.Contains(supported, formatJPEG) && p.opts.Rasterize != nil:
		return formatJPEG
	}
	return ""
}

func (p *Printer) noteError(at time.Time, msg string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.lastError, p.lastErrorAt = msg, at
}

func (p *Printer) lastErr() (string, time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.lastError, p.lastErrorAt
}

// explainFormat describes ErrFormatUnsupported.
const explainFormat = "打印机不支持PDF或JPEG文件格式，无法打印"

// Explain returns a short Chinese description of an error from this package, safe to show a
// resident or a technician; the error itself carries the detail for the log.
func Explain(err error) string {
	switch {
	case errors.Is(err, devices.ErrPaperOut):
		return "打印机缺纸，文件未打印"
	case errors.Is(err, ErrStopped):
		return "打印机故障已停止，文件未打印"
	case errors.Is(err, ErrNotPDF):
		return "文件不是PDF格式"
	case errors.Is(err, ErrFormatUnsupported):
		return explainFormat
	case errors.Is(err, devices.ErrNotConfirmed) && errors.Is(err, devices.ErrTimeout):
		return "等待打印机确认超时，文件视为未打印"
	case errors.Is(err, devices.ErrTimeout):
		return "打印机响应超时"
	case errors.Is(err, devices.ErrNotConfirmed) && errors.Is(err, devices.ErrNotConnected):
		return "打印过程中与打印机失去连接，文件视为未打印"
	case errors.Is(err, devices.ErrNotConnected):
		return "无法连接打印机"
	case errors.Is(err, devices.ErrNotConfirmed):
		return "打印机未确认打印完成，文件视为未打印"
	}
	return "打印机通信错误"
}

// PrintPDF prints pdf as a job called name and returns nil only when the printer reports the job
// completed (without job-completed-with-errors). A JPEG-only printer gets one job per page, named
// "name (2/3)" for page 2 of 3, each followed to completion before the next is submitted. Errors, to
// tell apart with errors.Is: ErrNotPDF; ErrFormatUnsupported and the error of Options.Rasterize
// (nothing submitted); devices.ErrPaperOut (nothing submitted, or nothing more after the pages
// printed); ErrStopped with devices.ErrNotConfirmed (printer stopped, nothing submitted);
// devices.ErrNotConnected (printer unreachable, possibly with devices.ErrNotConfirmed when it went
// away after submission); devices.ErrNotConfirmed with the job state and reasons (aborted, canceled,
// stopped, refused), and with devices.ErrTimeout when it did not complete within Options.JobTimeout.
// After a failure the job is canceled, best effort.
func (p *Printer) PrintPDF(ctx context.Context, name string, pdf []byte) error {
	err := p.printPDF(ctx, name, pdf)
	if err != nil && !errors.Is(err, ErrNotPDF) {
		p.noteError(p.opts.Now(), Explain(err))
		p.opts.Logger.Warn("ipp: document not printed", "printer", p.uri, "name", name, "err", err)
	}
	return err
}

func (p *Printer) printPDF(ctx context.Context, name string, pdf []byte) error {
	if !bytes.HasPrefix(pdf, []byte("%PDF-")) {
		return fmt.Errorf("ipp: print %q: %w", name, ErrNotPDF)
	}
	st, format, err := p.status(ctx)
	if err != nil {
		return fmt.Errorf("ipp: print %q: %w", name, err)
	}
	if err := printable(st); err != nil {
		return fmt.Errorf("ipp: print %q: %w", name, err)
	}
	switch format {
	case formatPDF:
		return p.printJob(ctx, name, formatPDF, pdf)
	case formatJPEG:
		return p.printPages(ctx, name, pdf)
	}
	return fmt.Errorf("ipp: print %q: %w (rasterizer configured: %v)", name, ErrFormatUnsupported, p.opts.Rasterize != nil)
}

// printPages rasterizes pdf and prints each page as a JPEG job, following each to completion.
// The printer's state is asked again before every page after the first.
func (p *Printer) printPages(ctx context.Context, name string, pdf []byte) error {
	pages, err := p.opts.Rasterize(pdf, RasterDPI)
	if err != nil {
		return fmt.Errorf("ipp: print %q: rasterize at %d dpi: %w", name, RasterDPI, err)
	}
	if len(pages) == 0 {
		return fmt.Errorf("ipp: print %q: the rasterizer returned no pages", name)
	}
	for i, page := range pages {
		jobName := name
		if len(pages) > 1 {
			jobName = fmt.Sprintf("%s (%d/%d)", name, i+1, len(pages))
		}
		if i > 0 {
			st, _, err := p.status(ctx)
			if err == nil {
				err = printable(st)
			}
			if err != nil {
				return fmt.Errorf("ipp: print %q: page %d of %d, earlier pages printed: %w", name, i+1, len(pages), err)
			}
		}
		if err := p.printJob(ctx, jobName, formatJPEG, page); err != nil {
			return err
		}
	}
	return nil
}

// printable says why a printer in state st must not be sent a job, or nil.
func printable(st devices.Status) error {
	switch st.State {
	case devices.StateDisconnected:
		return fmt.Errorf("printer reports %s: %w", strings.Join(st.Reasons, ","), devices.ErrNotConnected)
	case devices.StatePaperOut:
		return fmt.Errorf("printer reports %s: %w", strings.Join(st.Reasons, ","), devices.ErrPaperOut)
	case devices.StateError:
		return fmt.Errorf("printer reports %s: %w: %w", strings.Join(st.Reasons, ","), ErrStopped, devices.ErrNotConfirmed)
	}
	return nil
}

// mayHaveArrived reports whether a request that failed in transport may still have reached the
// printer: anything but a failure to connect (refused, unreachable, no route), which sent nothing.
func mayHaveArrived(err error) bool {
	if !errors.Is(err, devices.ErrNotConnected) && !errors.Is(err, devices.ErrTimeout) {
		return false
	}
	var oe *net.OpError
	return !errors.As(err, &oe) || oe.Op != "dial"
}

// printJob submits document in format as one Print-Job called name and follows it to its end.
func (p *Printer) printJob(ctx context.Context, name, format string, document []byte) error {
	r, err := p.call(ctx, "Print-Job", goipp.OperationPrintJob, []attr{
		{goipp.AttributePrinterURI, p.uri},
		{goipp.AttributeRequestingUserName, p.opts.User},
		{goipp.AttributeJobName, name},
		{goipp.AttributeDocumentFormat, format},
	}, document)
	if err != nil {
		var se *ippStatusError
		if errors.As(err, &se) {
			return fmt.Errorf("ipp: print %q: %w: printer refused the job: %w", name, devices.ErrNotConfirmed, err)
		}
		if mayHaveArrived(err) {
			// The connection broke after the job went out (the printer went away before it answered):
			// the printer may have it and print it.
			return fmt.Errorf("ipp: print %q: %w: no answer to the job: %w", name, devices.ErrNotConfirmed, err)
		}
		return fmt.Errorf("ipp: print %q: %w", name, err)
	}
	var ja goipp.Attributes
	if len(r.JobAttributes) > 0 {
		ja = r.JobAttributes[0]
	}
	id, ok := firstInt(ja, goipp.AttributeJobID)
	if !ok {
		return fmt.Errorf("ipp: print %q: %w: the printer returned no job-id", name, devices.ErrNotConfirmed)
	}
	p.opts.Logger.Info("ipp: job submitted", "printer", p.uri, "job", id, "name", name, "format", format, "bytes", len(document))
	if err := p.follow(ctx, id); err != nil {
		return fmt.Errorf("ipp: print %q: job %d: %w", name, id, err)
	}
	p.opts.Logger.Info("ipp: job completed", "printer", p.uri, "job", id, "name", name)
	return nil
}

// maxPollFailures is how many Get-Job-Attributes in a row may fail before the job is given up.
const maxPollFailures = 3

// follow polls job id until it ends. On any end but completed it cancels the job, best effort.
func (p *Printer) follow(ctx context.Context, id int) (err error) {
	ctx, cancel := context.WithTimeout(ctx, p.opts.JobTimeout)
	defer cancel()
	defer func() {
		if err != nil {
			p.cancelJob(ctx, id)
		}
	}()
	ticker := time.NewTicker(p.opts.PollInterval)
	defer ticker.Stop()
	failures := 0
	for {
		state, reasons, err := p.jobState(ctx, id)
		switch {
		case err != nil:
			var se *ippStatusError
			if errors.As(err, &se) && se.code == statusNotFound {
				return fmt.Errorf("%w: the printer no longer knows the job: %w", devices.ErrNotConfirmed, err)
			}
			if ctx.Err() != nil {
				return p.gaveUp(ctx, "unknown", nil)
			}
			failures++
			if failures >= maxPollFailures {
				return fmt.Errorf("%w: lost the printer while following the job: %w", devices.ErrNotConfirmed, err)
			}
		case state == jobCompleted:
			for _, r := range reasons {
				if r == "job-completed-with-errors" {
					return fmt.Errorf("%w: job completed with errors (reasons %s)", devices.ErrNotConfirmed, strings.Join(reasons, ","))
				}
			}
			return nil
		case state == jobCanceled, state == jobAborted, state == jobStopped:
			return fmt.Errorf("%w: job %s (reasons %s)", devices.ErrNotConfirmed, jobStateName(state), strings.Join(reasons, ","))
		default:
			failures = 0
		}
		select {
		case <-ctx.Done():
			return p.gaveUp(ctx, jobStateName(state), reasons)
		case <-ticker.C:
		}
	}
}

// gaveUp is the error for a job that did not end before ctx did.
func (p *Printer) gaveUp(ctx context.Context, state string, reasons []string) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("%w: %w: job still %s (reasons %s)", devices.ErrNotConfirmed, devices.ErrTimeout, state, strings.Join(reasons, ","))
	}
	return fmt.Errorf("%w: job still %s (reasons %s): %w", devices.ErrNotConfirmed, state, strings.Join(reasons, ","), ctx.Err())
}

// jobState asks for a job's state and reasons.
func (p *Printer) jobState(ctx context.Context, id int) (int, []string, error) {
	r, err := p.call(ctx, "Get-Job-Attributes", goipp.OperationGetJobAttributes, []attr{
		{goipp.AttributePrinterURI, p.uri},
		{goipp.AttributeJobID, id},
		{goipp.AttributeRequestingUserName, p.opts.User},
		{goipp.AttributeRequestedAttributes, []string{"job-id", "job-state", "job-state-reasons", "job-state-message"}},
	}, nil)
	if err != nil {
		return 0, nil, err
	}
	var ja goipp.Attributes
	if len(r.JobAttributes) > 0 {
		ja = r.JobAttributes[0]
	}
	state, ok := firstInt(ja, goipp.AttributeJobState)
	if !ok {
		return 0, nil, errors.New("no job-state in the Get-Job-Attributes response")
	}
	return state, stringValues(ja, "job-state-reasons"), nil
}

// cancelJob cancels a job that will not count as printed, so it cannot come out later. It runs even
// when ctx has ended, for a few seconds at most; failure is only logged.
func (p *Printer) cancelJob(ctx context.Context, id int) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	_, err := p.call(ctx, "Cancel-Job", goipp.OperationCancelJob, []attr{
		{goipp.AttributePrinterURI, p.uri},
		{goipp.AttributeJobID, id},
		{goipp.AttributeRequestingUserName, p.opts.User},
	}, nil)
	if err != nil {
		p.opts.Logger.Debug("ipp: cancel job", "printer", p.uri, "job", id, "err", err)
	}
}
