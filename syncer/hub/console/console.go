// Package console is the data center's department console: a JSON API under /console/api/ and the
// built web UI (kiosk-ui's hub pages) under /hub/, served over plain HTTP on loopback by default —
// put a TLS-terminating proxy in front of it in production.
//
// A department clerk (审批人员) sees the applications stations forwarded to the department, opens the
// scanned materials (PDF pages rendered to PNG with station/pdf/raster), reveals the applicant's full
// ID number for a stated reason (opened from the copy the station sealed to the hub's reveal key), and
// approves or rejects with a reason; the decision goes into the station's downlink feed once
// (hub.Decide). The city
// administrator (市级管理员) sees every station's health and the quarantined conflicts. Accounts,
// sessions, decisions and the hash-chained audit log of every read and decision live in the hub's
// store (hub.ConsoleStore), so several hub processes on one PostgreSQL share them.
//
// The console holds no application table: it folds the records each station sent (application.intake,
// application.transition, application.materials) into the application as the station sees it.
package console

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"os"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/civic-station/station/station"
	"github.com/civic-station/station/syncer/hub"
)

// PasswordHasher hashes new passwords and verifies presented ones (station/argon2id.Hasher).
type PasswordHasher interface {
	Hash(password string) (string, error)
	// Verify reports whether password matches encoded; an error means encoded is unusable.
	Verify(password, encoded string) (bool, error)
}

// Blobs opens complete blobs by SHA-256 (hub.BlobStore).
type Blobs interface {
	Open(sha string) (*os.File, error)
}

// DecisionObserver counts the decisions taken (hub.Server, for the hub's /metrics).
type DecisionObserver interface {
	ObserveDecision(a station.Action)
}

// Config configures a Server. Store, Blobs and Hasher are required.
type Config struct {
	Store     hub.Store
	Blobs     Blobs
	Hasher    PasswordHasher
	Decisions DecisionObserver // nil: decisions are not counted
	// Revealer opens the hub's copies of ID numbers for a clerk's audited reveal; nil: every reveal is
	// refused (and audited).
	Revealer Revealer
	UI       fs.FS            // the built UI (index.html, assets/); nil serves a placeholder page
	Now      func() time.Time // time.Now by default
	NewID    func() string    // session IDs; UUIDv7 by default
	Logger   *slog.Logger     // discard by default
	// PreviewDPI is the resolution of material page previews (default 100).
	PreviewDPI float64
	// MaxRenders bounds the PDF pages rendered at once (default 2): rendering is CPU-bound.
	MaxRenders int
}

// SessionCookie is the cookie that carries the console session token.
const SessionCookie = "hub_session"

// bodyLimit is the largest request body the API reads.
const bodyLimit = 64 << 10

// Server is the console's HTTP server.
type Server struct {
	cfg     Config
	renders chan struct{}

	dummyOnce sync.Once
	dummy     string

	mu   sync.Mutex
	http *http.Server
	ln   net.Listener
}

// New returns a console server for cfg.
func New(cfg Config) *Server {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.NewID == nil {
		cfg.NewID = func() string { return uuid.Must(uuid.NewV7()).String() }
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.PreviewDPI <= 0 {
		cfg.PreviewDPI = 100
	}
	if cfg.MaxRenders <= 0 {
		cfg.MaxRenders = 2
	}
	return &Server{cfg: cfg, renders: make(chan struct{}, cfg.MaxRenders)}
}

// principal is the signed-in caller of a request.
type principal struct {
	session hub.Session
	user    hub.User
}

// route is one entry of the API's route table, which drives registration and role checks.
type route struct {
	method, path string // net/http pattern syntax: /console/api/applications/{station}/{id}
	public       bool   // no session needed
	roles        []hub.Role
	handle       func(s *Server, w http.ResponseWriter, r *http.Request, p *principal) error
	// refused, when set, audits a signed-in caller the role check turns away (for routes whose
	// every attempt is audited).
	refused func(s *Server, r *http.Request, p *principal, err error) error
}

var (
	clerkOnly = []hub.Role{hub.RoleClerk}
	adminOnly = []hub.Role{hub.RoleAdmin}
	anyRole   = []hub.Role{hub.RoleClerk, hub.RoleAdmin}
)

func routeTable() []route {
	return []route{
		{method: "POST", path: "/console/api/sessions", public: true, handle: (*Server).handleLogin},
		{method: "GET", path: "/console/api/sessions/current", roles: anyRole, handle: (*Server).handleCurrent},
		{method: "GET", path: "/console/api/sessions/status", public: true, handle: (*Server).handleStatus},
		{method: "DELETE", path: "/console/api/sessions/current", roles: anyRole, handle: (*Server).handleLogout},
		{method: "GET", path: "/console/api/applications", roles: clerkOnly, handle: (*Server).handleApplications},
		{method: "GET", path: "/console/api/applications/{station}/{id}", roles: clerkOnly, handle: (*Server).handleApplication},
		{method: "GET", path: "/console/api/applications/{station}/{id}/materials/{code}/pages/{page}", roles: clerkOnly, handle: (*Server).handlePage},
		{method: "POST", path: "/console/api/applications/{station}/{id}/decision", roles: clerkOnly, handle: (*Server).handleDecision},
		{method: "POST", path: "/console/api/applications/{station}/{id}/reveal", roles: clerkOnly, handle: (*Server).handleReveal,
			refused: (*Server).auditRefused},
		{method: "GET", path: "/console/api/stations", roles: adminOnly, handle: (*Server).handleStations},
		{method: "GET", path: "/console/api/conflicts", roles: adminOnly, handle: (*Server).handleConflicts},
	}
}

// RouteInfo describes who may call an API route; the role tests and the docs use it.
type RouteInfo struct {
	Method string
	Path   string
	Public bool
	Roles  []hub.Role
}

// Routes lists the API routes with their access rules.
func Routes() []RouteInfo {
	var out []RouteInfo
	for _, r := range routeTable() {
		out = append(out, RouteInfo{Method: r.method, Path: r.path, Public: r.public, Roles: slices.Clone(r.roles)})
	}
	return out
}

// Allows reports whether a signed-in account with role may call the route.
func (r RouteInfo) Allows(role hub.Role) bool { return r.Public || slices.Contains(r.Roles, role) }

// Handler returns the console's HTTP handler: the API, the UI and its assets.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	for _, rt := range routeTable() {
		mux.HandleFunc(rt.method+" "+rt.path, s.endpoint(rt))
	}
	mux.HandleFunc("/console/api/", func(w http.ResponseWriter, r *http.Request) {
		// Any path no route matched with this method: 405 with Allow when another method matches it.
		if allow := allowedMethods(mux, r); len(allow) > 0 {
			w.Header().Set("Allow", strings.Join(allow, ", "))
			s.writeError(w, r, &station.Error{Code: station.EMETHOD, Message: fmt.Sprintf("该地址不支持%s请求", r.Method),
				Detail: fmt.Sprintf("method %s not allowed; see the Allow header", r.Method)})
			return
		}
		s.writeError(w, r, station.Errorf(station.ENOTFOUND, "接口不存在"))
	})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/hub", http.StatusFound) })
	mux.HandleFunc("GET /hub", s.handleIndex)
	mux.HandleFunc("GET /hub/", s.handleIndex)
	mux.HandleFunc("GET /assets/{file...}", s.handleAsset)
	return securityHeaders(mux)
}

// allowedMethods lists the methods for which mux has a route (other than the API's catch-all) matching
// r's path.
func allowedMethods(mux *http.ServeMux, r *http.Request) []string {
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := mux.Handler(probe); pattern != "" && pattern != "/console/api/" {
			allow = append(allow, m)
		}
	}
	return allow
}

// securityHeaders sets the headers every response carries (the same policy as the station's).
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'")
		next.ServeHTTP(w, r)
	})
}

// endpoint wraps a route's handler with authentication, the role check and error answers.
func (s *Server) endpoint(rt route) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, bodyLimit)
		var p *principal
		if !rt.public {
			var err error
			if p, err = s.authenticate(w, r); err != nil {
				s.writeError(w, r, err)
				return
			}
			if !slices.Contains(rt.roles, p.user.Role) {
				var err error = station.Errorf(station.EFORBIDDEN, "当前角色（%s）无权使用此功能", p.user.Role.Label())
				if rt.refused != nil {
					if aerr := rt.refused(s, r, p, err); aerr != nil {
						err = aerr
					}
				}
				s.writeError(w, r, err)
				return
			}
		}
		if err := rt.handle(s, w, r, p); err != nil {
			s.writeError(w, r, err)
		}
	}
}

// errorBody is the body of every error answer: Message for the screen (Chinese), Code and, when the
// error has them, Field and Detail (English) for programs.
type errorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
	Detail  string `json:"detail,omitempty"`
}

// writeError answers with a domain error's status and message; other errors are logged and answered
// with a generic message.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	code := station.ErrorCode(err)
	if code == station.EINTERNAL && !errors.Is(err, context.Canceled) {
		s.cfg.Logger.Error("console request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	body := errorBody{Code: code, Message: station.ErrorMessage(err)}
	var de *station.Error
	if errors.As(err, &de) {
		body.Field, body.Detail = de.Field, de.Detail
	}
	writeJSON(w, station.HTTPStatus(code), body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// decodeJSON reads a JSON request body.
func decodeJSON(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return station.Errorf(station.ETOOLARGE, "请求内容过大")
		}
		return station.Errorf(station.EINVALID, "请求格式错误")
	}
	if dec.More() {
		return station.Errorf(station.EINVALID, "请求格式错误")
	}
	return nil
}

// audit appends an entry to the console's audit log. A read or decision that cannot be audited is not
// served: the error is returned.
func (s *Server) audit(ctx context.Context, p *principal, action, object, result, detail string) error {
	_, err := s.cfg.Store.AppendAudit(ctx, station.AuditEntry{At: s.cfg.Now(), Actor: p.user.Username, Role: station.Role(p.user.Role),
		Action: action, Object: object, Result: result, Detail: detail})
	if err != nil {
		return fmt.Errorf("console: audit %s: %w", action, err)
	}
	return nil
}

// uiPlaceholder is served instead of the UI when the binary was built without it.
const uiPlaceholder = `<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>部门审批台</title></head>
<body style="font-family: sans-serif; max-width: 40em; margin: 4em auto; line-height: 1.6">
<h1>界面尚未构建</h1>
<p>此程序在构建时没有包含网页界面。请在源代码目录运行 <code>make ui</code> 后重新构建，或使用 <code>make run</code>。</p>
<p>接口仍可使用：/console/api/…</p>
</body></html>
`

func (s *Server) handleIndex(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if s.cfg.UI != nil {
		if b, err := fs.ReadFile(s.cfg.UI, "index.html"); err == nil {
			_, _ = w.Write(b)
			return
		}
	}
	_, _ = io.WriteString(w, uiPlaceholder)
}

func (s *Server) handleAsset(w http.ResponseWriter, r *http.Request) {
	name := path.Clean("assets/" + r.PathValue("file"))
	if s.cfg.UI == nil || !strings.HasPrefix(name, "assets/") || !fs.ValidPath(name) {
		s.writeError(w, r, station.Errorf(station.ENOTFOUND, "文件不存在"))
		return
	}
	b, err := fs.ReadFile(s.cfg.UI, name)
	if err != nil {
		s.writeError(w, r, station.Errorf(station.ENOTFOUND, "文件不存在"))
		return
	}
	if ct := mime.TypeByExtension(path.Ext(name)); ct != "" {
		w.Header().Set("Content-Type", ct)
	}
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	_, _ = w.Write(b)
}

// Open listens on addr (host:port; port 0 picks one) and serves in the background until Close.
func (s *Server) Open(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("console listen %s: %w", addr, err)
	}
	s.Start(ln)
	return nil
}

// Start serves on ln, which the caller has bound, in the background until Close.
func (s *Server) Start(ln net.Listener) {
	srv := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.cfg.Logger.Handler(), slog.LevelDebug),
	}
	s.mu.Lock()
	s.http, s.ln = srv, ln
	s.mu.Unlock()
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.cfg.Logger.Error("console serve", "err", err)
		}
	}()
}

// Addr returns the address the console listens on, or nil before Open.
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return nil
	}
	return s.ln.Addr()
}

// URL returns the console's base URL.
func (s *Server) URL() string { return "http://" + s.Addr().String() }

// Close stops the server, waiting briefly for requests in flight.
func (s *Server) Close() error {
	s.mu.Lock()
	srv := s.http
	s.mu.Unlock()
	if srv == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		return srv.Close()
	}
	return nil
}
