package console

import (
	"net/http"
	"strings"
	"time"

	"github.com/civic-station/station/internal/sessiontoken"
	"github.com/civic-station/station/station"
	"github.com/civic-station/station/syncer/hub"
)

var (
	errNoSession   = station.Errorf(station.EUNAUTHORIZED, "请先登录")
	errBadSession  = station.Errorf(station.EUNAUTHORIZED, "登录已失效，请重新登录")
	errIdleSession = station.Errorf(station.EUNAUTHORIZED, "登录已超时，请重新登录")
	errBadLogin    = station.Errorf(station.EUNAUTHORIZED, "用户名或密码错误")
)

// touchEvery is how stale a session's last-seen time may get before a request writes it: the idle
// timeout is enforced to within this much, and a busy clerk does not write on every request.
const touchEvery = time.Minute

// sessionToken returns the token of a request: a Bearer header, or the session cookie.
func sessionToken(r *http.Request) string {
	if auth := r.Header.Get("Authorization"); auth != "" {
		tok, _ := strings.CutPrefix(auth, "Bearer ")
		return strings.TrimSpace(tok)
	}
	if c, err := r.Cookie(SessionCookie); err == nil {
		return c.Value
	}
	return ""
}

// authenticate resolves the request's session, enforcing expiry, the idle timeout (station.SessionIdle,
// kept in the store so that every hub process agrees) and the account's current state.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request) (*principal, error) {
	token := sessionToken(r)
	if token == "" {
		return nil, errNoSession
	}
	ctx := r.Context()
	sess, err := s.cfg.Store.Session(ctx, sessiontoken.Hash(token))
	if station.ErrorCode(err) == station.ENOTFOUND {
		return nil, errBadSession
	} else if err != nil {
		return nil, err
	}
	now := s.cfg.Now()
	if !now.Before(sess.ExpiresAt) || now.Sub(sess.LastSeen) > station.SessionIdle {
		if err := s.cfg.Store.CloseSession(ctx, sess.ID); err != nil {
			return nil, err
		}
		clearCookie(w)
		return nil, errIdleSession
	}
	u, err := s.cfg.Store.User(ctx, sess.Username)
	if station.ErrorCode(err) == station.ENOTFOUND {
		return nil, errBadSession
	} else if err != nil {
		return nil, err
	}
	if u.Disabled {
		return nil, station.Errorf(station.EUNAUTHORIZED, "账号已停用，请联系市级管理员")
	}
	if now.Sub(sess.LastSeen) >= touchEvery {
		if err := s.cfg.Store.TouchSession(ctx, sess.ID, now); err != nil {
			return nil, err
		}
	}
	return &principal{session: sess, user: u}, nil
}

// dummyHash is verified when a login names no account, so that the answer takes as long as for a
// wrong password.
func (s *Server) dummyHash() string {
	s.dummyOnce.Do(func() {
		h, err := s.cfg.Hasher.Hash("hub-console-dummy-password")
		if err != nil {
			s.cfg.Logger.Error("hash dummy password", "err", err)
		}
		s.dummy = h
	})
	return s.dummy
}

type loginRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

// userView is an account as a session shows it.
type userView struct {
	Username    string   `json:"username"`
	DisplayName string   `json:"display_name"`
	Role        hub.Role `json:"role"`
	RoleLabel   string   `json:"role_label"`
	Department  string   `json:"department,omitempty"`
}

func viewUser(u hub.User) userView {
	return userView{Username: u.Username, DisplayName: u.DisplayName, Role: u.Role, RoleLabel: u.Role.Label(), Department: u.Department}
}

type sessionView struct {
	Token     string    `json:"token,omitempty"` // only in the login answer
	User      userView  `json:"user"`
	ExpiresAt time.Time `json:"expires_at"`
}

func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request, _ *principal) error {
	var req loginRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if req.Username == "" || req.Password == "" {
		return station.Errorf(station.EINVALID, "请输入用户名和密码")
	}
	ctx := r.Context()
	now := s.cfg.Now()
	u, err := s.cfg.Store.User(ctx, req.Username)
	if station.ErrorCode(err) == station.ENOTFOUND {
		_, _ = s.cfg.Hasher.Verify(req.Password, s.dummyHash())
		return errBadLogin
	} else if err != nil {
		return err
	}
	p := &principal{user: u}
	if u.Locked(now) {
		return station.LockedError(u.LockedUntil, now)
	}
	ok, err := s.cfg.Hasher.Verify(req.Password, u.PasswordHash)
	if err != nil {
		return err
	}
	if !ok || u.Disabled {
		after, err := s.cfg.Store.LoginFailed(ctx, u.Username, now)
		if err != nil {
			return err
		}
		result := station.EUNAUTHORIZED
		if after.Locked(now) {
			result = station.ELOCKED
		}
		if err := s.audit(ctx, p, "login.failed", "user:"+u.Username, result, ""); err != nil {
			return err
		}
		if after.Locked(now) {
			return station.LockedError(after.LockedUntil, now)
		}
		return errBadLogin
	}
	token, err := sessiontoken.New()
	if err != nil {
		return err
	}
	expires := now.Add(station.SessionMaxAge).UTC()
	sess := hub.Session{ID: s.cfg.NewID(), TokenHash: sessiontoken.Hash(token), Username: u.Username, CreatedAt: now, LastSeen: now, ExpiresAt: expires}
	if err := s.cfg.Store.OpenSession(ctx, sess); err != nil {
		return err
	}
	if err := s.audit(ctx, p, "session.open", "user:"+u.Username, "ok", ""); err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: token, Path: "/", Expires: expires,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: behindTLS(r)})
	writeJSON(w, http.StatusCreated, sessionView{Token: token, User: viewUser(u), ExpiresAt: expires})
	return nil
}

// behindTLS reports whether the browser reached the console over HTTPS: directly, or through the
// TLS-terminating proxy that production puts in front of it (the console listens on loopback, so only
// that proxy can set the header).
func behindTLS(r *http.Request) bool {
	return r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https"
}

func clearCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteStrictMode})
}

func (s *Server) handleCurrent(w http.ResponseWriter, _ *http.Request, p *principal) error {
	writeJSON(w, http.StatusOK, sessionView{User: viewUser(p.user), ExpiresAt: p.session.ExpiresAt.UTC()})
	return nil
}

// statusView is the answer of GET /console/api/sessions/status.
type statusView struct {
	Authenticated bool       `json:"authenticated"`
	User          *userView  `json:"user,omitempty"`
	ExpiresAt     *time.Time `json:"expires_at,omitempty"`
}

// handleStatus answers 200 with or without a session, so that the console can check for one before
// sign-in without an error (sessions/current answers 401 then).
func (s *Server) handleStatus(w http.ResponseWriter, r *http.Request, _ *principal) error {
	p, err := s.authenticate(w, r)
	if station.ErrorCode(err) == station.EUNAUTHORIZED {
		writeJSON(w, http.StatusOK, statusView{})
		return nil
	} else if err != nil {
		return err
	}
	u := viewUser(p.user)
	exp := p.session.ExpiresAt.UTC()
	writeJSON(w, http.StatusOK, statusView{Authenticated: true, User: &u, ExpiresAt: &exp})
	return nil
}

func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request, p *principal) error {
	if err := s.cfg.Store.CloseSession(r.Context(), p.session.ID); err != nil {
		return err
	}
	clearCookie(w)
	w.WriteHeader(http.StatusNoContent)
	return nil
}
