package hub

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/civic-station/station/station"
	"github.com/civic-station/station/station/revealkey"
	"github.com/civic-station/station/syncer/protocol"
)

// Config configures a Server. Store, Blobs and CA are required; the rest have defaults.
type Config struct {
	Store  Store
	Blobs  *BlobStore
	CA     *CA
	Now    func() time.Time // the clock; time.Now by default
	Logger *slog.Logger     // discard by default
	NewID  func() string    // station IDs; UUIDv7 by default

	MaxActive int // concurrent sync requests before 503 (default 64)
	// MetricsToken lets a scraper elsewhere read /metrics with "Authorization: Bearer TOKEN"; without
	// it /metrics answers loopback clients only.
	MetricsToken  string
	RetryAfter    time.Duration // what a 503 or 429 asks the station to wait (default 5s)
	MaxBatchBytes int64         // largest record batch, decompressed (default 1 MiB)
	MaxChunkBytes int64         // largest blob chunk (default 1 MiB)
	CertValidity  time.Duration // station certificates (default 2 years)
	Hosts         []string      // names and addresses in the server certificate (default localhost, 127.0.0.1)
	// MinStationVersion, when set, is the oldest station release the hub syncs with ("0.2.0"): an older
	// station, or one whose version names no release, is answered 426 EUPGRADE on every sync path.
	MinStationVersion string
	// RevealKey is the public half of the hub's reveal key (station/revealkey), handed to stations at
	// enrollment and with every downlink answer so that they seal a copy of each ID number to it; nil:
	// stations keep sealing numbers the hub cannot open.
	RevealKey *revealkey.PublicKey
}

// Server serves protocol v1 over HTTPS with client certificates.
type Server struct {
	cfg     Config
	active  chan struct{}
	metrics metrics
	http    *http.Server
	ln      net.Listener
}

type metrics struct {
	records, duplicates, conflicts, invalid, missingBlob atomic.Int64
	batches, tooLarge, busy, enrollments, enrollRefused  atomic.Int64
	blobBytes, blobsComplete, changesServed              atomic.Int64
	active                                               atomic.Int64
	tooOld                                               atomic.Int64 // requests refused for a station below MinStationVersion
	approved, rejected                                   atomic.Int64 // decisions taken in the department console
}

// ObserveDecision counts a decision taken in the department console, for /metrics.
func (s *Server) ObserveDecision(a station.Action) {
	switch a {
	case station.ActionApprove:
		s.metrics.approved.Add(1)
	case station.ActionReject:
		s.metrics.rejected.Add(1)
	}
}

// New returns a server for cfg.
func New(cfg Config) *Server {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.NewID == nil {
		cfg.NewID = func() string { return uuid.Must(uuid.NewV7()).String() }
	}
	if cfg.MaxActive <= 0 {
		cfg.MaxActive = 64
	}
	if cfg.RetryAfter <= 0 {
		cfg.RetryAfter = 5 * time.Second
	}
	if cfg.MaxBatchBytes <= 0 {
		cfg.MaxBatchBytes = 1 << 20
	}
	if cfg.MaxChunkBytes <= 0 {
		cfg.MaxChunkBytes = 1 << 20
	}
	if cfg.CertValidity <= 0 {
		cfg.CertValidity = 2 * 365 * 24 * time.Hour
	}
	if len(cfg.Hosts) == 0 {
		cfg.Hosts = []string{"localhost", "127.0.0.1", "::1"}
	}
	return &Server{cfg: cfg, active: make(chan struct{}, cfg.MaxActive)}
}

// Handler returns the HTTP handler of the protocol and /metrics.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+protocol.PathEnroll, s.admit(s.minVersion(s.enroll)))
	mux.HandleFunc("POST "+protocol.PathRecords, s.admit(s.minVersion(s.station(s.records))))
	mux.HandleFunc("HEAD "+protocol.PathBlobs+"{sha}", s.admit(s.minVersion(s.station(s.blobHead))))
	mux.HandleFunc("PATCH "+protocol.PathBlobs+"{sha}", s.admit(s.minVersion(s.station(s.blobPatch))))
	mux.HandleFunc("GET "+protocol.PathChanges, s.admit(s.minVersion(s.station(s.changes))))
	mux.HandleFunc("GET "+protocol.PathMetrics, s.serveMetrics)
	return mux
}

// metricsAllowed admits a loopback client, or one that sends the configured token.
func (s *Server) metricsAllowed(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if ip := net.ParseIP(host); err == nil && ip != nil && ip.IsLoopback() {
		return true
	}
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return s.cfg.MetricsToken != "" && ok && subtle.ConstantTimeCompare([]byte(token), []byte(s.cfg.MetricsToken)) == 1
}

// TLSConfig returns the server's TLS configuration: its certificate from the CA, and client
// certificates verified against the CA when presented (enrollment and /metrics need none; every other
// endpoint refuses a request without one).
func (s *Server) TLSConfig() (*tls.Config, error) {
	cert, err := s.cfg.CA.ServerCertificate(s.cfg.Hosts, s.cfg.Now())
	if err != nil {
		return nil, err
	}
	return &tls.Config{
		Certificates: []tls.Certificate{cert},
		ClientCAs:    s.cfg.CA.Pool(),
		ClientAuth:   tls.VerifyClientCertIfGiven,
		MinVersion:   tls.VersionTLS12,
	}, nil
}

// Open starts serving HTTPS on addr (host:port; port 0 picks one).
func (s *Server) Open(addr string) error {
	tlsCfg, err := s.TLSConfig()
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("hub listen %s: %w", addr, err)
	}
	s.ln = ln
	s.http = &http.Server{
		Handler:           s.Handler(),
		TLSConfig:         tlsCfg,
		ReadHeaderTimeout: 10 * time.Second,
		// Shorter than the stations' 30 s interval: an idle station does not hold a connection (about
		// 65 KB of hub memory each) between its rounds.
		IdleTimeout: 20 * time.Second,
		ErrorLog:    slog.NewLogLogger(s.cfg.Logger.Handler(), slog.LevelDebug),
	}
	go func() {
		if err := s.http.Serve(tls.NewListener(ln, tlsCfg)); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.cfg.Logger.Error("hub serve", "err", err)
		}
	}()
	return nil
}

// Addr returns the address the server listens on.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// URL returns the server's base URL.
func (s *Server) URL() string { return "https://" + s.ln.Addr().String() }

// Close stops the server, waiting briefly for requests in flight.
func (s *Server) Close() error {
	if s.http == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.http.Shutdown(ctx); err != nil {
		return s.http.Close()
	}
	return nil
}

// CreateToken issues an enrollment token for a station to be called name, valid for ttl. The token
// carries the CA's pin: SECRET.PIN.
func (s *Server) CreateToken(ctx context.Context, name string, ttl time.Duration) (string, error) {
	return CreateToken(ctx, s.cfg.Store, s.cfg.CA, name, ttl, s.cfg.Now())
}

// CreateToken issues an enrollment token (see Server.CreateToken) straight into a store; the
// `station hub token create` tool uses it beside a running hub.
func CreateToken(ctx context.Context, st Store, ca *CA, name string, ttl time.Duration, now time.Time) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" || len([]rune(name)) > 100 {
		return "", station.Errorf(station.EINVALID, "站点名称不能为空且不超过100个字符")
	}
	if ttl <= 0 {
		return "", station.Errorf(station.EINVALID, "有效期必须大于零")
	}
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	secret := hex.EncodeToString(b[:])
	if err := st.CreateToken(ctx, Token{Hash: tokenHash(secret), StationName: name, CreatedAt: now, ExpiresAt: now.Add(ttl)}); err != nil {
		return "", err
	}
	return secret + "." + ca.Pin(), nil
}

func tokenHash(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

// PublishDecision publishes a department's decision on an application a station forwarded. The hub
// must hold the application's intake record from that station (ENOTFOUND otherwise).
func (s *Server) PublishDecision(ctx context.Context, stationID string, d station.Decision) (int64, error) {
	return PublishDecision(ctx, s.cfg.Store, stationID, d, s.cfg.Now())
}

// PublishDecision publishes a decision straight into a store (see Server.PublishDecision); it is
// Decide without a console account, and likewise refuses a second decision with ECONFLICT.
func PublishDecision(ctx context.Context, st Store, stationID string, d station.Decision, now time.Time) (int64, error) {
	rec, err := Decide(ctx, st, stationID, d, "", now)
	return rec.FeedSeq, err
}

// PublishMatter publishes a matter of the catalog to every station.
func PublishMatter(ctx context.Context, st Store, m station.Matter, now time.Time) (int64, error) {
	if err := m.Validate(); err != nil {
		return 0, err
	}
	c := station.Change{Key: "matter:" + m.Code, Version: strconv.Itoa(m.Version), Type: station.ChangeMatter, Matter: &m}
	return st.Publish(ctx, "", c, now)
}

// PublishCalendar publishes the working-day calendar of one year to every station.
func PublishCalendar(ctx context.Context, st Store, year int, days []station.CalendarDay, now time.Time) (int64, error) {
	if _, err := station.NewCalendar(days); err != nil {
		return 0, err
	}
	for _, d := range days {
		if d.Date.Year != year {
			return 0, station.Errorf(station.EINVALID, "日期%s不在%d年内", d.Date, year)
		}
	}
	b, _ := json.Marshal(days)
	h := sha256.Sum256(b)
	c := station.Change{Key: fmt.Sprintf("calendar:%d", year), Version: hex.EncodeToString(h[:8]), Type: station.ChangeCalendar,
		Calendar: &station.CalendarImport{Years: []int{year}, Days: days}}
	return st.Publish(ctx, "", c, now)
}

// PublishNotice publishes a notice to one station, or to every station when stationID is "".
func PublishNotice(ctx context.Context, st Store, stationID string, n station.Notice, now time.Time) (int64, error) {
	if n.ID == "" || strings.TrimSpace(n.Title) == "" {
		return 0, station.Errorf(station.EINVALID, "通知缺少编号或标题")
	}
	if n.PublishedAt.IsZero() {
		n.PublishedAt = now
	}
	if err := n.Validate(); err != nil {
		return 0, err
	}
	b, _ := json.Marshal(n)
	h := sha256.Sum256(b)
	c := station.Change{Key: "notice:" + n.ID, Version: hex.EncodeToString(h[:8]), Type: station.ChangeNotice, Notice: &n}
	return st.Publish(ctx, stationID, c, now)
}

// admit bounds the sync requests in progress: past MaxActive the hub answers 503 with Retry-After at
// once instead of queueing, so that 10,000 stations reconnecting at once spread themselves out.
func (s *Server) admit(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		select {
		case s.active <- struct{}{}:
		default:
			s.metrics.busy.Add(1)
			w.Header().Set("Retry-After", strconv.Itoa(int((s.cfg.RetryAfter+time.Second-1)/time.Second)))
			writeError(w, http.StatusServiceUnavailable, station.EUNAVAILABLE, "数据中心繁忙，请稍后重试")
			return
		}
		s.metrics.active.Add(1)
		defer func() {
			s.metrics.active.Add(-1)
			<-s.active
		}()
		next(w, r)
	}
}

// minVersion refuses a station older than Config.MinStationVersion with 426 EUPGRADE and a message
// the station shows its technician as is.
func (s *Server) minVersion(next http.HandlerFunc) http.HandlerFunc {
	if s.cfg.MinStationVersion == "" {
		return next
	}
	return func(w http.ResponseWriter, r *http.Request) {
		have := r.Header.Get(protocol.HeaderStationVersion)
		if !protocol.VersionAtLeast(have, s.cfg.MinStationVersion) {
			s.metrics.tooOld.Add(1)
			shown := have
			if shown == "" {
				shown = "未知"
			}
			writeError(w, http.StatusUpgradeRequired, station.EUPGRADE, fmt.Sprintf(
				"本站软件版本（%s）低于数据中心要求的最低版本 %s，数据中心暂停与本站同步：请升级本站软件（本站业务照常办理，数据保存在本机，升级后自动补传）",
				shown, s.cfg.MinStationVersion))
			return
		}
		next(w, r)
	}
}

// station authenticates the caller by its client certificate: the certificate's common name is the
// station ID and its serial must be the one the hub issued last to that station. A station therefore
// cannot act as another, whatever it puts in a request.
func (s *Server) station(next func(http.ResponseWriter, *http.Request, Station)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 || len(r.TLS.VerifiedChains[0]) == 0 {
			writeError(w, http.StatusUnauthorized, station.EUNAUTHORIZED, "需要站点证书")
			return
		}
		leaf := r.TLS.VerifiedChains[0][0]
		st, err := s.cfg.Store.Station(r.Context(), leaf.Subject.CommonName)
		if err != nil || st.CertSerial != leaf.SerialNumber.Text(16) {
			if err != nil && station.ErrorCode(err) != station.ENOTFOUND {
				s.fail(w, r, err)
				return
			}
			writeError(w, http.StatusForbidden, station.EFORBIDDEN, "站点证书已失效，请重新注册")
			return
		}
		next(w, r, st)
	}
}

func (s *Server) enroll(w http.ResponseWriter, r *http.Request) {
	var req protocol.EnrollRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, station.EINVALID, "注册请求格式错误")
		return
	}
	secret, pin, ok := strings.Cut(req.Token, ".")
	if !ok || pin != s.cfg.CA.Pin() || secret == "" {
		s.metrics.enrollRefused.Add(1)
		writeError(w, http.StatusUnauthorized, station.EUNAUTHORIZED, "注册码无效")
		return
	}
	now := s.cfg.Now()
	id := s.cfg.NewID()
	certPEM, serial, err := s.cfg.CA.SignStation([]byte(req.CSR), id, now, s.cfg.CertValidity)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	st, err := s.cfg.Store.Enroll(r.Context(), tokenHash(secret), Station{ID: id, CertSerial: serial, EnrolledAt: now, Version: req.Version})
	if err != nil {
		s.metrics.enrollRefused.Add(1)
		s.fail(w, r, err)
		return
	}
	s.metrics.enrollments.Add(1)
	s.cfg.Logger.Info("station enrolled", "station", st.ID, "name", st.Name)
	writeJSON(w, http.StatusOK, protocol.EnrollResponse{StationID: st.ID, StationName: st.Name, Certificate: string(certPEM),
		CA: string(s.cfg.CA.CertPEM), RevealKey: s.revealKey()})
}

// revealKey is the reveal public key as the protocol carries it, "" without one.
func (s *Server) revealKey() string {
	if s.cfg.RevealKey == nil {
		return ""
	}
	return s.cfg.RevealKey.String()
}

func (s *Server) records(w http.ResponseWriter, r *http.Request, st Station) {
	now := s.cfg.Now()
	limit := s.cfg.MaxBatchBytes
	var body io.Reader = http.MaxBytesReader(w, r.Body, limit)
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(body)
		if err != nil {
			s.tooLargeOr(w, err, "数据格式错误")
			return
		}
		defer zr.Close()
		body = zr
	}
	raw, err := io.ReadAll(io.LimitReader(body, limit+1))
	if err != nil {
		s.tooLargeOr(w, err, "数据格式错误")
		return
	}
	if int64(len(raw)) > limit {
		s.metrics.tooLarge.Add(1)
		writeError(w, http.StatusRequestEntityTooLarge, station.ETOOLARGE, "单批数据过大，请分批上传")
		return
	}
	var req protocol.RecordsRequest
	if err := json.Unmarshal(raw, &req); err != nil {
		writeError(w, http.StatusBadRequest, station.EINVALID, "数据格式错误")
		return
	}
	s.metrics.batches.Add(1)
	sort.SliceStable(req.Records, func(i, j int) bool { return req.Records[i].Seq < req.Records[j].Seq })

	results := make([]protocol.RecordResult, len(req.Records))
	var put []Record
	var putIdx []int
	for i, rec := range req.Records {
		results[i] = protocol.RecordResult{Seq: rec.Seq, ID: rec.ID}
		if msg := checkRecord(rec); msg != "" {
			results[i].Status, results[i].Message = protocol.StatusInvalid, msg
			s.metrics.invalid.Add(1)
			continue
		}
		if missing := s.missingBlobs(rec); len(missing) > 0 {
			results[i].Status, results[i].Message = protocol.StatusMissingBlob, "缺少文件 "+strings.Join(missing, ",")
			s.metrics.missingBlob.Add(1)
			continue
		}
		put = append(put, Record{StationID: st.ID, ID: rec.ID, Seq: rec.Seq, Kind: rec.Kind, OccurredAt: rec.OccurredAt.UTC(),
			Payload: rec.Payload, PayloadSHA256: rec.PayloadSHA256, ApplicationID: applicationID(rec), ReceivedAt: now})
		putIdx = append(putIdx, i)
	}
	if len(put) > 0 {
		statuses, err := s.cfg.Store.PutRecords(r.Context(), put)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		for k, status := range statuses {
			i := putIdx[k]
			results[i].Status = status
			switch status {
			case protocol.StatusStored:
				s.metrics.records.Add(1)
			case protocol.StatusDuplicate:
				s.metrics.duplicates.Add(1)
			case protocol.StatusConflict:
				s.metrics.conflicts.Add(1)
				results[i].Message = "同一编号的记录内容不同，已隔离待核查"
				s.cfg.Logger.Warn("record conflict quarantined", "station", st.ID, "id", results[i].ID, "seq", results[i].Seq)
			}
			if status == protocol.StatusStored || status == protocol.StatusDuplicate {
				if err := s.afterIngest(r.Context(), st, put[k]); err != nil {
					s.fail(w, r, err)
					return
				}
			}
		}
	}
	var acked int64
	for _, res := range results {
		if !protocol.Settled(res.Status) {
			break
		}
		acked = res.Seq
	}
	seen := Seen{At: now, Backlog: req.Station.Backlog, DeadLetters: req.Station.Dead, Version: req.Station.Version,
		ClockSkew: clockSkew(r, now), AckedThrough: acked, Cursor: req.Station.Cursor, StateHash: req.Station.Hash}
	if err := s.cfg.Store.SeeStation(r.Context(), st.ID, seen); err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, protocol.RecordsResponse{AckedThrough: acked, Results: results})
}

func (s *Server) tooLargeOr(w http.ResponseWriter, err error, msg string) {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		s.metrics.tooLarge.Add(1)
		writeError(w, http.StatusRequestEntityTooLarge, station.ETOOLARGE, "单批数据过大，请分批上传")
		return
	}
	writeError(w, http.StatusBadRequest, station.EINVALID, msg)
}

// checkRecord returns why a record is malformed, or "".
func checkRecord(rec protocol.Record) string {
	switch {
	case rec.ID == "" || len(rec.ID) > 64:
		return "记录编号无效"
	case rec.Seq <= 0:
		return "记录序号无效"
	case rec.Kind == "" || len(rec.Kind) > 64:
		return "记录类型无效"
	case rec.OccurredAt.IsZero():
		return "记录时间无效"
	case !json.Valid(rec.Payload):
		return "记录内容不是有效的JSON"
	case protocol.PayloadHash(rec.Payload) != rec.PayloadSHA256:
		return "记录内容与摘要不符"
	}
	for _, b := range rec.Blobs {
		if !station.IsSHA256(b) {
			return "文件摘要格式错误"
		}
	}
	return ""
}

// missingBlobs returns the blobs a record refers to (listed, or found in its payload) that the hub does
// not hold complete.
func (s *Server) missingBlobs(rec protocol.Record) []string {
	var missing []string
	for _, b := range append(append([]string{}, rec.Blobs...), station.BlobRefs(rec.Payload)...) {
		if !s.cfg.Blobs.Has(b) && !containsString(missing, b) {
			missing = append(missing, b)
		}
	}
	return missing
}

func containsString(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func applicationID(rec protocol.Record) string {
	if !strings.HasPrefix(rec.Kind, "application.") {
		return ""
	}
	var p struct {
		ApplicationID string `json:"application_id"`
	}
	_ = json.Unmarshal(rec.Payload, &p)
	return p.ApplicationID
}

// clockSkew is the station's clock (its Station-Time header) minus the hub's.
func clockSkew(r *http.Request, now time.Time) time.Duration {
	t, err := time.Parse(time.RFC3339Nano, r.Header.Get(protocol.HeaderStationTime))
	if err != nil {
		return 0
	}
	return t.Sub(now)
}

func (s *Server) blobHead(w http.ResponseWriter, r *http.Request, st Station) {
	off, complete, err := s.cfg.Blobs.Offset(st.ID, r.PathValue("sha"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set(protocol.HeaderUploadOffset, strconv.FormatInt(off, 10))
	if complete {
		w.Header().Set(protocol.HeaderUploadComplete, "1")
	}
	w.WriteHeader(http.StatusOK)
}

func (s *Server) blobPatch(w http.ResponseWriter, r *http.Request, st Station) {
	sha := r.PathValue("sha")
	off, err1 := strconv.ParseInt(r.Header.Get(protocol.HeaderUploadOffset), 10, 64)
	total, err2 := strconv.ParseInt(r.Header.Get(protocol.HeaderUploadLength), 10, 64)
	sum := r.Header.Get(protocol.HeaderChunkSHA256)
	if err1 != nil || err2 != nil || !station.IsSHA256(sum) {
		writeError(w, http.StatusBadRequest, station.EINVALID, "缺少上传偏移、长度或分块摘要")
		return
	}
	if r.ContentLength > s.cfg.MaxChunkBytes {
		writeError(w, http.StatusRequestEntityTooLarge, station.ETOOLARGE, "分块过大")
		return
	}
	// The chunk is read whole before anything is written: a chunk cut off in transit leaves no trace.
	chunk, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxChunkBytes))
	if err != nil {
		s.tooLargeOr(w, err, "分块传输中断")
		return
	}
	if h := sha256.Sum256(chunk); hex.EncodeToString(h[:]) != sum {
		writeError(w, http.StatusBadRequest, station.EINVALID, "分块摘要不符")
		return
	}
	newOff, complete, err := s.cfg.Blobs.Append(st.ID, sha, off, total, chunk)
	w.Header().Set(protocol.HeaderUploadOffset, strconv.FormatInt(newOff, 10))
	switch {
	case errors.Is(err, ErrOffset):
		writeError(w, http.StatusConflict, station.ECONFLICT, "上传偏移不符")
		return
	case errors.Is(err, ErrBlobHash):
		writeError(w, http.StatusUnprocessableEntity, station.EINVALID, "文件内容与摘要不符")
		return
	case err != nil:
		s.fail(w, r, err)
		return
	}
	s.metrics.blobBytes.Add(int64(len(chunk)))
	if complete {
		s.metrics.blobsComplete.Add(1)
		w.Header().Set(protocol.HeaderUploadComplete, "1")
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) changes(w http.ResponseWriter, r *http.Request, st Station) {
	var after int64
	if c := r.URL.Query().Get("cursor"); c != "" {
		n, err := strconv.ParseInt(c, 10, 64)
		if err != nil || n < 0 {
			writeError(w, http.StatusBadRequest, station.EINVALID, "游标无效")
			return
		}
		after = n
	}
	limit := 500
	if l := r.URL.Query().Get("limit"); l != "" {
		if n, err := strconv.Atoi(l); err == nil && n > 0 && n < limit {
			limit = n
		}
	}
	page, err := s.cfg.Store.Changes(r.Context(), st.ID, after, limit)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.metrics.changesServed.Add(int64(len(page.Changes)))
	resp := protocol.ChangesResponse{Changes: page.Changes, More: page.More, StateHash: page.Hash, RevealKey: s.revealKey()}
	if page.Next > 0 {
		resp.NextCursor = strconv.FormatInt(page.Next, 10)
	}
	if resp.Changes == nil {
		resp.Changes = []station.Change{}
	}
	writeJSON(w, http.StatusOK, resp)
}

func (s *Server) serveMetrics(w http.ResponseWriter, r *http.Request) {
	if !s.metricsAllowed(r) {
		http.Error(w, "metrics: loopback only, or the configured bearer token", http.StatusForbidden)
		return
	}
	var b bytes.Buffer
	m := &s.metrics
	for _, c := range []struct {
		name, help, typ string
		v               int64
	}{
		{"station_hub_records_ingested_total", "Records stored for the first time.", "counter", m.records.Load()},
		{"station_hub_records_duplicate_total", "Records received again with the same content (dedup hits).", "counter", m.duplicates.Load()},
		{"station_hub_records_conflict_total", "Records received again with different content, quarantined.", "counter", m.conflicts.Load()},
		{"station_hub_records_invalid_total", "Records refused as malformed.", "counter", m.invalid.Load()},
		{"station_hub_records_missing_blob_total", "Records deferred because a blob was not complete.", "counter", m.missingBlob.Load()},
		{"station_hub_batches_total", "Record batches received.", "counter", m.batches.Load()},
		{"station_hub_batches_too_large_total", "Requests refused with 413.", "counter", m.tooLarge.Load()},
		{"station_hub_busy_total", "Requests shed with 503 by admission control.", "counter", m.busy.Load()},
		{"station_hub_too_old_total", "Sync requests refused with 426 for a station below the minimum version.", "counter", m.tooOld.Load()},
		{"station_hub_enrollments_total", "Stations enrolled.", "counter", m.enrollments.Load()},
		{"station_hub_enrollments_refused_total", "Enrollments refused.", "counter", m.enrollRefused.Load()},
		{"station_hub_blob_bytes_total", "Blob bytes received and stored.", "counter", m.blobBytes.Load()},
		{"station_hub_blobs_complete_total", "Blobs completed and verified.", "counter", m.blobsComplete.Load()},
		{"station_hub_changes_served_total", "Downlink changes served.", "counter", m.changesServed.Load()},
		{"station_hub_active_syncs", "Sync requests in progress.", "gauge", m.active.Load()},
	} {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n%s %d\n", c.name, c.help, c.name, c.typ, c.name, c.v)
	}
	b.WriteString("# HELP station_hub_console_decisions_total Decisions taken in the department console.\n# TYPE station_hub_console_decisions_total counter\n")
	fmt.Fprintf(&b, "station_hub_console_decisions_total{action=\"approve\"} %d\nstation_hub_console_decisions_total{action=\"reject\"} %d\n",
		m.approved.Load(), m.rejected.Load())
	s.writeStationMetrics(r.Context(), &b)
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	_, _ = w.Write(b.Bytes())
}

// writeStationMetrics adds each station's lag (seconds since its last contact, or since its enrollment
// when it never synced), the backlog and dead letters it reported, and its clock skew.
func (s *Server) writeStationMetrics(ctx context.Context, b *bytes.Buffer) {
	list, err := s.cfg.Store.Stations(ctx)
	if err != nil {
		s.cfg.Logger.Error("metrics: list stations", "err", err)
		return
	}
	now := s.cfg.Now()
	for _, g := range []struct {
		name, help string
		v          func(Station) float64
	}{
		{"station_hub_station_lag_seconds", "Seconds since the station's last sync (since its enrollment when it never synced).", func(st Station) float64 {
			if st.LastSeen.IsZero() {
				return now.Sub(st.EnrolledAt).Seconds()
			}
			return now.Sub(st.LastSeen).Seconds()
		}},
		{"station_hub_station_backlog", "Records the station reported waiting to be sent.", func(st Station) float64 { return float64(st.Backlog) }},
		{"station_hub_station_dead_letters", "Records the station reported set aside.", func(st Station) float64 { return float64(st.DeadLetters) }},
		{"station_hub_station_clock_skew_seconds", "The station's clock minus the hub's, at its last sync.", func(st Station) float64 { return st.ClockSkew.Seconds() }},
	} {
		fmt.Fprintf(b, "# HELP %s %s\n# TYPE %s gauge\n", g.name, g.help, g.name)
		for _, st := range list {
			fmt.Fprintf(b, "%s{station=\"%s\",name=\"%s\"} %s\n", g.name, labelValue(st.ID), labelValue(st.Name), strconv.FormatFloat(g.v(st), 'f', -1, 64))
		}
	}
}

// labelValue escapes a Prometheus label value.
var labelValue = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace

// fail answers with a domain error's status, or logs an internal error and answers 500.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	code := station.ErrorCode(err)
	status := station.HTTPStatus(code)
	if status == http.StatusInternalServerError && !errors.Is(err, context.Canceled) {
		s.cfg.Logger.Error("hub request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	writeError(w, status, code, station.ErrorMessage(err))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, protocol.ErrorResponse{Code: code, Message: msg})
}
