package http

import (
	"context"
	"errors"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/civic-station/station/devices"
	"github.com/civic-station/station/internal/sessiontoken"
	"github.com/civic-station/station/station"
)

// The first-run setup (首次设置) of a real station: while the station has no account, the routes under
// /api/v1/setup/first-run let the setup wizard name the station, create its first administrator, test
// its devices and enroll it with the data center. The box's own screen (loopback) needs nothing; a
// computer on the LAN first exchanges the one-time setup code for a setup token. Once the setup is
// done, every first-run route answers ECONFLICT (409).

// FirstRun is what the first-run setup needs from the station beyond the store; cmd/station implements
// it. A server without one (the demo) answers every first-run route with ECONFLICT.
type FirstRun interface {
	// CheckCode reports whether typed is the station's current setup code. An expired code is
	// replaced by a new one (which the station logs) and checks false.
	CheckCode(typed string) (bool, error)
	// Enroll enrolls the station with the data center at hubURL with a one-time token. A refusal is a
	// *station.Error whose message can be shown.
	Enroll(ctx context.Context, hubURL, token string) (Enrollment, error)
	// Completed is called once the setup command committed: it invalidates the setup code and puts the
	// settings to use without a restart (certificates print the community; an enrolled station starts
	// syncing). It reports whether the station now syncs with a data center.
	Completed(ctx context.Context, settings station.StationSettings) (syncing bool, err error)
}

// Enrollment is the station as the data center enrolled it.
type Enrollment struct {
	StationID   string `json:"station_id"`
	StationName string `json:"station_name"`
}

// SetupTokenHeader carries the setup token of a client on the LAN (the wizard also gets it as the
// station_setup cookie).
const SetupTokenHeader = "X-Setup-Token"

const setupCookie = "station_setup"

// setupTokenTTL is how long a setup token admits its client.
const setupTokenTTL = 12 * time.Hour

// setupCodeName is the name the setup code's failed tries are counted under, per client address.
const setupCodeName = "\x00setup-code"

// firstRunState is the server's side of the first-run setup.
type firstRunState struct {
	done   sync.Once     // closes doneCh when the station is found set up
	doneCh chan struct{} // closed: the setup is done, for good
	mu     sync.Mutex    // serializes completions
	tokens sync.Map      // setup token hash -> expiry (time.Time)
	tries  unknownLogins // failed code tries per address
}

func newFirstRunState() *firstRunState { return &firstRunState{doneCh: make(chan struct{})} }

func (f *firstRunState) isDone() bool {
	select {
	case <-f.doneCh:
		return true
	default:
		return false
	}
}

func (f *firstRunState) markDone() {
	f.done.Do(func() { close(f.doneCh) })
	f.tokens.Clear()
}

// firstRunRoutes lists the first-run routes. All are public: each checks that the setup is pending and
// that the client is on the box or holds a setup token.
func firstRunRoutes() []route {
	during := func(h func(*Server, *fiber.Ctx) error) func(*Server, *fiber.Ctx) error {
		return func(s *Server, c *fiber.Ctx) error {
			if err := s.setupGate(c); err != nil {
				return err
			}
			return h(s, c)
		}
	}
	return []route{
		{method: "GET", path: "/api/v1/setup/first-run", summary: "首次设置：是否需要、本机是否需输入设置码、检测到的设备", tag: "setup", public: true,
			reply: firstRunView{}, status: 200, handle: (*Server).handleFirstRun},
		{method: "POST", path: "/api/v1/setup/first-run/code", summary: "首次设置：核对设置码（局域网内的电脑）", tag: "setup", public: true,
			body: setupCodeRequest{}, reply: setupCodeReply{}, status: 200, handle: (*Server).handleSetupCode},
		{method: "POST", path: "/api/v1/setup/first-run", summary: "首次设置：站点信息、首个站点管理员账号，可选接入数据中心", tag: "setup", public: true,
			body: firstRunRequest{}, reply: firstRunDone{}, status: 201, handle: (*Server).handleFirstRunComplete},
		{method: "POST", path: "/api/v1/setup/first-run/devices/idreader/read", summary: "首次设置：读卡测试（号码遮蔽）", tag: "setup", public: true,
			reply: cardView{}, status: 200, handle: during((*Server).handleReadCard)},
		{method: "POST", path: "/api/v1/setup/first-run/devices/ticket-printer/test", summary: "首次设置：打印测试小票", tag: "setup", public: true,
			reply: deviceResult{}, status: 200, handle: during((*Server).handleTestTicket)},
		{method: "POST", path: "/api/v1/setup/first-run/devices/document-printer/test", summary: "首次设置：打印A4测试页", tag: "setup", public: true,
			reply: deviceResult{}, status: 200, handle: during((*Server).handleTestPage)},
		{method: "POST", path: "/api/v1/setup/first-run/devices/camera/still", summary: "首次设置：高拍仪拍摄一帧", tag: "setup", public: true,
			status: 200, handle: during((*Server).handleCameraStill)},
	}
}

// setupPending returns nil while the first-run setup is pending, else station.ErrSetupDone.
func (s *Server) setupPending(ctx context.Context) error {
	if s.firstRun == nil || s.setup.isDone() {
		return station.ErrSetupDone()
	}
	users, err := s.store.Users(ctx)
	if err != nil {
		return err
	}
	if len(users) > 0 {
		s.setup.markDone()
		return station.ErrSetupDone()
	}
	return nil
}

func isLoopback(c *fiber.Ctx) bool {
	ip := net.ParseIP(c.IP())
	return ip != nil && ip.IsLoopback()
}

// setupAdmitted reports whether the client may use the wizard: it is the box itself, or it holds a
// setup token that has not expired.
func (s *Server) setupAdmitted(c *fiber.Ctx) bool {
	if isLoopback(c) {
		return true
	}
	tok := c.Get(SetupTokenHeader)
	if tok == "" {
		tok = c.Cookies(setupCookie)
	}
	if tok == "" {
		return false
	}
	v, ok := s.setup.tokens.Load(sessiontoken.Hash(tok))
	return ok && s.now().Before(v.(time.Time))
}

func errSetupCodeNeeded() error {
	return &station.Error{Code: station.EUNAUTHORIZED, Message: "请先输入设置码。设置码在安装服务时显示，也可以在本机生成新的设置码。",
		Field: "code", Detail: "setup code required"}
}

// setupGate admits a first-run request: the setup is pending and the client is admitted.
func (s *Server) setupGate(c *fiber.Ctx) error {
	if err := s.setupPending(c.UserContext()); err != nil {
		return err
	}
	if !s.setupAdmitted(c) {
		return errSetupCodeNeeded()
	}
	return nil
}

// firstRunView is the answer of GET /api/v1/setup/first-run.
type firstRunView struct {
	Pending      bool `json:"pending"`       // false once the station is set up (every other first-run call then answers 409)
	CodeRequired bool `json:"code_required"` // this client must enter the setup code first
	Local        bool `json:"local"`         // this client is the box itself
	// Devices are the devices the station was given or found (the configured ones), with their
	// status; empty when it has none, null until the client is admitted.
	Devices []devices.Status `json:"devices"`
	// Tests lists the device tests available (idreader, ticket_printer, document_printer, camera);
	// null until the client is admitted.
	Tests []devices.Kind `json:"tests"`
}

func (s *Server) handleFirstRun(c *fiber.Ctx) error {
	if err := s.setupPending(c.UserContext()); err != nil {
		if station.ErrorCode(err) == station.ECONFLICT {
			// A station set up (or the demo): the answer to the question is "no", not an error, so
			// that /setup asks it before sign-in without a failed request in the browser's console.
			return c.JSON(firstRunView{})
		}
		return err
	}
	v := firstRunView{Pending: true, Local: isLoopback(c), CodeRequired: !s.setupAdmitted(c)}
	if !v.CodeRequired {
		v.Devices, v.Tests = []devices.Status{}, []devices.Kind{}
		if s.devices != nil {
			for _, st := range s.devices.Statuses() {
				if !st.Configured {
					continue
				}
				v.Devices = append(v.Devices, st)
				if st.Kind != devices.KindDocumentPrinter || s.testPage != nil {
					v.Tests = append(v.Tests, st.Kind)
				}
			}
		}
	}
	return c.JSON(v)
}

type setupCodeRequest struct {
	Code string `json:"code"`
}

type setupCodeReply struct {
	Token     string    `json:"token"` // send as X-Setup-Token (the wizard has it as a cookie too)
	ExpiresAt time.Time `json:"expires_at"`
}

// handleSetupCode exchanges the setup code for a setup token. Wrong codes count per client address
// like failed logins: from the third a wait, at the fifth the address is locked out for a while.
func (s *Server) handleSetupCode(c *fiber.Ctx) error {
	ctx := c.UserContext()
	if err := s.setupPending(ctx); err != nil {
		return err
	}
	var req setupCodeRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if strings.TrimSpace(req.Code) == "" {
		return &station.Error{Code: station.EINVALID, Message: "请输入设置码", Field: "code", Detail: "missing"}
	}
	now, addr := s.now(), c.IP()
	if err := throttle(c, s.setup.tries.get(setupCodeName, addr), now); err != nil {
		return err
	}
	ok, err := s.firstRun.CheckCode(req.Code)
	if err != nil {
		return err
	}
	event := station.SetupCodeRefused
	if ok {
		event = station.SetupCodeAccepted
	}
	if err := s.recordSetup(ctx, event, addr, ""); err != nil {
		return err
	}
	if !ok {
		tries := s.setup.tries.fail(setupCodeName, addr, now)
		if tries.LockedUntil != nil && now.Before(*tries.LockedUntil) {
			return station.LockedError(*tries.LockedUntil, now)
		}
		msg := "设置码不正确或已过期"
		if left := station.MaxFailedLogins - tries.Failures; left > 0 {
			msg += "，还可尝试" + strconv.Itoa(left) + "次"
		}
		// How to make a new code is on the wizard's screen, beside the field.
		return &station.Error{Code: station.EUNAUTHORIZED, Message: msg + "。过期的设置码会自动作废，请在本机生成新的设置码。",
			Field: "code", Detail: "wrong or expired setup code"}
	}
	s.setup.tries.reset(setupCodeName, addr)
	token, err := sessiontoken.New()
	if err != nil {
		return err
	}
	expires := now.Add(setupTokenTTL).UTC()
	s.setup.tokens.Store(sessiontoken.Hash(token), expires)
	c.Cookie(&fiber.Cookie{Name: setupCookie, Value: token, Path: "/api/v1/setup/", Expires: expires,
		HTTPOnly: true, SameSite: fiber.CookieSameSiteStrictMode, Secure: c.Protocol() == "https"})
	return c.JSON(setupCodeReply{Token: token, ExpiresAt: expires})
}

// recordSetup audits a step of the setup.
func (s *Server) recordSetup(ctx context.Context, event station.SetupEvent, addr, detail string) error {
	_, err := s.submit(ctx, station.CmdSetupRecord, station.SetupActor, station.SetupRecord{Event: event, Address: addr, Detail: detail})
	return err
}

type firstRunAdmin struct {
	Username    string `json:"username"`
	DisplayName string `json:"display_name"`
	Password    string `json:"password"`
}

// firstRunRequest completes the first-run setup. HubURL and Token are optional, but go together.
type firstRunRequest struct {
	StationName string        `json:"station_name"`
	Community   string        `json:"community"`
	Admin       firstRunAdmin `json:"admin"`
	HubURL      string        `json:"hub_url"`
	Token       string        `json:"token"`
}

// firstRunDone is the answer of a completed setup.
type firstRunDone struct {
	StationName string      `json:"station_name"`
	Community   string      `json:"community"`
	Admin       userSummary `json:"admin"`
	Enrolled    *Enrollment `json:"enrolled,omitempty"`
	// Sync is "running" (enrolled and syncing), "restart_needed" (enrolled; the sync starts when the
	// station restarts) or "offline" (not enrolled: `station enroll` later).
	Sync string `json:"sync"`
}

func invalidField(field, detail, format string, args ...any) error {
	e := station.Errorf(station.EINVALID, format, args...)
	e.Field, e.Detail = field, detail
	return e
}

func (r *firstRunRequest) validate() error {
	settings := station.StationSettings{Name: r.StationName, Community: r.Community}
	if err := settings.Validate(); err != nil {
		return err
	}
	if err := station.ValidateUsername(r.Admin.Username); err != nil {
		return station.WithField(err, "admin.username")
	}
	if err := station.CheckText("显示名称", r.Admin.DisplayName, 50, true); err != nil {
		return station.WithField(err, "admin.display_name")
	}
	if err := station.ValidatePassword(r.Admin.Password); err != nil {
		return station.WithField(err, "admin.password")
	}
	r.HubURL, r.Token = strings.TrimSpace(r.HubURL), strings.TrimSpace(r.Token)
	switch {
	case r.HubURL == "" && r.Token == "":
	case r.HubURL == "":
		return invalidField("hub_url", "missing", "请输入数据中心地址，或清空注册码跳过接入")
	case r.Token == "":
		return invalidField("token", "missing", "请输入注册码，或清空数据中心地址跳过接入")
	default:
		u, err := url.Parse(r.HubURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return invalidField("hub_url", "not an http(s) URL", "数据中心地址应形如 https://主机:端口")
		}
	}
	return nil
}

// handleFirstRunComplete completes the setup: it checks everything, enrolls with the data center when
// a token is given (nothing is set up when that fails, so the technician can correct it or skip),
// then submits the one setup command that creates the administrator and stores the settings.
func (s *Server) handleFirstRunComplete(c *fiber.Ctx) error {
	ctx := c.UserContext()
	if err := s.setupGate(c); err != nil {
		return err
	}
	var req firstRunRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if err := req.validate(); err != nil {
		return err
	}
	hash, err := s.hasher.Hash(req.Admin.Password)
	if err != nil {
		return err
	}
	s.setup.mu.Lock()
	defer s.setup.mu.Unlock()
	if err := s.setupPending(ctx); err != nil { // another client finished first
		return err
	}
	addr := c.IP()
	var enrolled *Enrollment
	if req.Token != "" {
		e, err := s.firstRun.Enroll(ctx, req.HubURL, req.Token)
		if err != nil {
			if rerr := s.recordSetup(ctx, station.SetupEnrollFailed, addr, req.HubURL+": "+station.ErrorCode(err)); rerr != nil {
				return rerr
			}
			var de *station.Error
			if errors.As(err, &de) {
				return station.WithField(err, "token")
			}
			s.logger.Warn("first-run enrollment failed", "hub", req.HubURL, "err", err)
			return &station.Error{Code: station.EUNAVAILABLE, Message: "无法连接数据中心，请检查地址和网络后重试，或跳过此步以后再接入",
				Field: "hub_url", Detail: "cannot reach the data center"}
		}
		enrolled = &e
		if err := s.recordSetup(ctx, station.SetupEnrolled, addr, req.HubURL+" station "+e.StationID); err != nil {
			return err
		}
	}
	settings := station.StationSettings{Name: req.StationName, Community: req.Community}
	setup := station.StationSetup{Settings: settings, Admin: station.UserCreate{Username: req.Admin.Username,
		DisplayName: req.Admin.DisplayName, Role: station.RoleStationAdmin, PasswordHash: hash}}
	if _, err := s.submit(ctx, station.CmdStationSetup, station.SetupActor, setup); err != nil {
		if station.ErrorCode(err) == station.ECONFLICT && strings.Contains(station.ErrorMessage(err), "用户名") {
			return station.WithField(err, "admin.username")
		}
		return err
	}
	s.setup.markDone()
	out := firstRunDone{StationName: settings.Name, Community: settings.Community, Enrolled: enrolled, Sync: "offline",
		Admin: userSummary{Username: req.Admin.Username, DisplayName: req.Admin.DisplayName, Role: station.RoleStationAdmin}}
	syncing, err := s.firstRun.Completed(ctx, settings)
	if err != nil {
		// The setup is committed; what could not be put to use takes a restart.
		s.logger.Error("first-run setup: apply the settings", "err", err)
	}
	if enrolled != nil {
		out.Sync = "restart_needed"
		if syncing && err == nil {
			out.Sync = "running"
		}
	}
	c.Cookie(&fiber.Cookie{Name: setupCookie, Value: "", Path: "/api/v1/setup/", Expires: time.Unix(0, 0), MaxAge: -1,
		HTTPOnly: true, SameSite: fiber.CookieSameSiteStrictMode})
	return c.Status(fiber.StatusCreated).JSON(out)
}
