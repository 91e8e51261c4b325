package http

import (
	"context"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/civic-station/station/internal/sessiontoken"
	"github.com/civic-station/station/station"
)

// SessionCookie is the name of the cookie that carries the session token.
const SessionCookie = "station_session"

const principalKey = "station.principal"

// principal is the signed-in caller of a request.
type principal struct {
	session station.Session
	user    station.User
}

func (p *principal) actor() station.Actor {
	return station.Actor{Username: p.user.Username, Role: p.user.Role}
}

// caller returns the signed-in caller; nil on a public route.
func caller(c *fiber.Ctx) *principal {
	p, _ := c.Locals(principalKey).(*principal)
	return p
}

// idleTracker remembers when each session was last used. It lives in memory only: after a restart a
// session's first request counts as its last use.
type idleTracker struct {
	mu       sync.Mutex
	lastSeen map[string]time.Time
}

func newIdleTracker() *idleTracker { return &idleTracker{lastSeen: map[string]time.Time{}} }

// touch records a use of session id at now and reports whether the session had been idle longer than
// station.SessionIdle before it.
func (t *idleTracker) touch(id string, now time.Time) (idle bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if last, ok := t.lastSeen[id]; ok && now.Sub(last) > station.SessionIdle {
		delete(t.lastSeen, id)
		return true
	}
	t.lastSeen[id] = now
	if len(t.lastSeen) > 1024 {
		for k, v := range t.lastSeen {
			if now.Sub(v) > station.SessionIdle {
				delete(t.lastSeen, k)
			}
		}
	}
	return false
}

func (t *idleTracker) forget(id string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.lastSeen, id)
}

func sessionToken(c *fiber.Ctx) string {
	if auth := c.Get(fiber.HeaderAuthorization); auth != "" {
		if tok, ok := strings.CutPrefix(auth, "Bearer "); ok {
			return strings.TrimSpace(tok)
		}
		return ""
	}
	return c.Cookies(SessionCookie)
}

var (
	errNoSession   = station.Errorf(station.EUNAUTHORIZED, "请先登录")
	errBadSession  = station.Errorf(station.EUNAUTHORIZED, "登录已失效，请重新登录")
	errIdleSession = station.Errorf(station.EUNAUTHORIZED, "登录已超时，请重新登录")
	errBadLogin    = station.Errorf(station.EUNAUTHORIZED, "用户名或密码错误")
)

// authenticate resolves the session token to a principal, enforcing expiry, idle timeout and the
// account's current state.
func (s *Server) authenticate(c *fiber.Ctx) error {
	p, err := s.resolveSession(c)
	if err != nil {
		return err
	}
	c.Locals(principalKey, p)
	return c.Next()
}

// resolveSession returns the request's principal; an EUNAUTHORIZED error when there is no valid session.
func (s *Server) resolveSession(c *fiber.Ctx) (*principal, error) {
	token := sessionToken(c)
	if token == "" {
		return nil, errNoSession
	}
	ctx := c.UserContext()
	sess, err := s.store.Session(ctx, sessiontoken.Hash(token))
	if station.ErrorCode(err) == station.ENOTFOUND {
		return nil, errBadSession
	} else if err != nil {
		return nil, err
	}
	now := s.now()
	if !now.Before(sess.ExpiresAt) || s.idle.touch(sess.ID, now) {
		s.idle.forget(sess.ID)
		actor := station.Actor{Username: sess.Username, Role: sess.Role}
		if _, err := s.submit(ctx, station.CmdSessionClose, actor, station.SessionClose{SessionID: sess.ID, Reason: "idle"}); err != nil && station.ErrorCode(err) != station.ENOTFOUND {
			return nil, err
		}
		return nil, errIdleSession
	}
	u, err := s.store.User(ctx, sess.Username)
	if station.ErrorCode(err) == station.ENOTFOUND {
		return nil, errBadSession
	} else if err != nil {
		return nil, err
	}
	if u.Disabled {
		return nil, station.Errorf(station.EUNAUTHORIZED, "账号已停用，请联系站点管理员")
	}
	return &principal{session: *sess, user: *u}, nil
}

// authorize allows the roles listed (any signed-in account when roles is nil).
func (s *Server) authorize(roles []station.Role) fiber.Handler {
	return func(c *fiber.Ctx) error {
		p := caller(c)
		if p == nil {
			return errNoSession
		}
		if roles != nil && !slices.Contains(roles, p.user.Role) {
			return forbidden(p.user.Role)
		}
		return c.Next()
	}
}

func forbidden(r station.Role) error {
	return station.Errorf(station.EFORBIDDEN, "当前角色（%s）无权使用此功能", r.Label())
}

type loginRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

// userSummary is the account as a session shows it.
type userSummary struct {
	Username    string       `json:"username"`
	DisplayName string       `json:"display_name"`
	Role        station.Role `json:"role"`
}

func summarize(u *station.User) userSummary {
	return userSummary{Username: u.Username, DisplayName: u.DisplayName, Role: u.Role}
}

type loginResponse struct {
	Token     string      `json:"token"`
	User      userSummary `json:"user"`
	ExpiresAt time.Time   `json:"expires_at"`
}

type currentSession struct {
	User      userSummary `json:"user"`
	ExpiresAt time.Time   `json:"expires_at"`
}

// dummyHash is verified when a login names no account, so that the answer takes as long as for a wrong
// password.
func (s *Server) dummyHash() string {
	s.dummyOnce.Do(func() {
		h, err := s.hasher.Hash("station-dummy-password")
		if err != nil {
			s.logger.Error("hash dummy password", "err", err)
		}
		s.dummy = h
	})
	return s.dummy
}

func (s *Server) handleLogin(c *fiber.Ctx) error {
	var req loginRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if req.Username == "" || req.Password == "" {
		return station.Errorf(station.EINVALID, "请输入用户名和密码")
	}
	ctx := c.UserContext()
	now := s.now()
	addr := c.IP()
	// Failures count per account and client address, and an unknown account gets the same answers as
	// a known one (kept in memory only), so the answers tell nobody which accounts exist.
	u, err := s.store.User(ctx, req.Username)
	known := err == nil
	var tries station.LoginAttempts
	switch {
	case known:
		if tries, err = s.store.LoginAttempts(ctx, u.Username, addr); err != nil {
			return err
		}
	case station.ErrorCode(err) == station.ENOTFOUND:
		tries = s.unknownLogins.get(req.Username, addr)
	default:
		return err
	}
	if known && u.Locked(now) && (tries.LockedUntil == nil || !now.Before(*tries.LockedUntil)) {
		return station.LockedError(*u.LockedUntil, now)
	}
	if err := throttle(c, tries, now); err != nil {
		return err
	}
	ok := false
	if known {
		if ok, err = s.hasher.Verify(req.Password, u.PasswordHash); err != nil {
			return err
		}
	} else {
		_, _ = s.hasher.Verify(req.Password, s.dummyHash())
	}
	if !ok || !known || u.Disabled {
		if known {
			actor := station.Actor{Username: u.Username, Role: u.Role}
			if _, err := s.submit(ctx, station.CmdLoginFailed, actor, station.LoginFailed{Username: u.Username, Address: addr}); err != nil {
				return err
			}
			if after, err := s.store.User(ctx, u.Username); err == nil && after.Locked(now) {
				return station.LockedError(*after.LockedUntil, now)
			}
			if tries, err = s.store.LoginAttempts(ctx, u.Username, addr); err != nil {
				return err
			}
		} else {
			tries = s.unknownLogins.fail(req.Username, addr, now)
		}
		if tries.LockedUntil != nil && now.Before(*tries.LockedUntil) {
			return station.LockedError(*tries.LockedUntil, now)
		}
		return station.BadPasswordError(station.MaxFailedLogins - tries.Failures)
	}

	token, err := sessiontoken.New()
	if err != nil {
		return err
	}
	expires := now.Add(station.SessionMaxAge).UTC()
	open := station.SessionOpen{SessionID: s.newID(), TokenHash: sessiontoken.Hash(token), Username: u.Username, ExpiresAt: expires, Address: addr}
	if _, err := s.submit(ctx, station.CmdSessionOpen, station.Actor{Username: u.Username, Role: u.Role}, open); err != nil {
		return err
	}
	s.idle.touch(open.SessionID, now)
	c.Cookie(&fiber.Cookie{
		Name: SessionCookie, Value: token, Path: "/", Expires: expires,
		HTTPOnly: true, SameSite: fiber.CookieSameSiteStrictMode, Secure: c.Protocol() == "https",
	})
	return c.Status(fiber.StatusCreated).JSON(loginResponse{Token: token, User: summarize(u), ExpiresAt: expires})
}

// sessionStatus is the answer of GET /api/v1/sessions/status: whether the caller is signed in, and as whom.
type sessionStatus struct {
	Authenticated bool         `json:"authenticated"`
	User          *userSummary `json:"user,omitempty"`
	ExpiresAt     *time.Time   `json:"expires_at,omitempty"`
}

// handleSessionStatus answers 200 with or without a session, so that a page can check for one before
// sign-in without an error (GET /sessions/current answers 401 then).
func (s *Server) handleSessionStatus(c *fiber.Ctx) error {
	p, err := s.resolveSession(c)
	if station.ErrorCode(err) == station.EUNAUTHORIZED {
		return c.JSON(sessionStatus{})
	} else if err != nil {
		return err
	}
	u := summarize(&p.user)
	exp := p.session.ExpiresAt.UTC()
	return c.JSON(sessionStatus{Authenticated: true, User: &u, ExpiresAt: &exp})
}

func (s *Server) handleCurrentSession(c *fiber.Ctx) error {
	p := caller(c)
	return c.JSON(currentSession{User: summarize(&p.user), ExpiresAt: p.session.ExpiresAt.UTC()})
}

func (s *Server) handleLogout(c *fiber.Ctx) error {
	p := caller(c)
	if _, err := s.submit(c.UserContext(), station.CmdSessionClose, p.actor(), station.SessionClose{SessionID: p.session.ID, Reason: "logout"}); err != nil {
		return err
	}
	s.idle.forget(p.session.ID)
	c.Cookie(&fiber.Cookie{
		Name: SessionCookie, Value: "", Path: "/", Expires: time.Unix(0, 0), MaxAge: -1,
		HTTPOnly: true, SameSite: fiber.CookieSameSiteStrictMode,
	})
	return c.SendStatus(fiber.StatusNoContent)
}

// submit builds a command with a fresh ID and the current time and submits it to the log.
func (s *Server) submit(ctx context.Context, kind station.CommandKind, actor station.Actor, payload any) (station.Result, error) {
	cmd, err := station.NewCommand(s.newID(), kind, s.now(), actor, payload)
	if err != nil {
		return station.Result{}, err
	}
	res, err := s.log.Submit(ctx, cmd)
	s.metrics.observeCommand(kind, err)
	return res, err
}

// throttle refuses a try from an address with the failures tries: ELOCKED while the address is locked
// out, ETOOMANY (with Retry-After) while it must wait (station.LoginDelay). Logins and setup codes
// share it.
func throttle(c *fiber.Ctx, tries station.LoginAttempts, now time.Time) error {
	if tries.LockedUntil != nil && now.Before(*tries.LockedUntil) {
		return station.LockedError(*tries.LockedUntil, now)
	}
	if next := tries.LastAt.Add(station.LoginDelay(tries.Failures)); now.Before(next) {
		wait := int(math.Ceil(next.Sub(now).Seconds()))
		c.Set(fiber.HeaderRetryAfter, strconv.Itoa(wait))
		return station.Errorf(station.ETOOMANY, "尝试过于频繁，请%d秒后再试", wait)
	}
	return nil
}

// unknownLogins counts failed logins into accounts that do not exist, per name and address, the way
// the store counts them for real accounts, so that both get the same answers. It is memory only and
// bounded: past maxUnknownLogins entries it starts again.
type unknownLogins struct {
	mu   sync.Mutex
	seen map[[2]string]station.LoginAttempts
}

const maxUnknownLogins = 10_000

func (u *unknownLogins) get(name, addr string) station.LoginAttempts {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.seen[[2]string{name, addr}]
}

// reset forgets the failures of name from addr (a success).
func (u *unknownLogins) reset(name, addr string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	delete(u.seen, [2]string{name, addr})
}

func (u *unknownLogins) fail(name, addr string, now time.Time) station.LoginAttempts {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.seen == nil || len(u.seen) >= maxUnknownLogins {
		u.seen = map[[2]string]station.LoginAttempts{}
	}
	k := [2]string{name, addr}
	la := u.seen[k]
	if la.LockedUntil != nil && !now.Before(*la.LockedUntil) {
		la = station.LoginAttempts{}
	}
	la.Failures++
	la.LastAt = now
	if la.Failures >= station.MaxFailedLogins {
		until := now.Add(station.LockoutDuration)
		la.LockedUntil = &until
	}
	u.seen[k] = la
	return la
}
