package http

import (
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/civic-station/station/station"
)

// userView is an account as the station admin sees it.
type userView struct {
	Username     string       `json:"username"`
	DisplayName  string       `json:"display_name"`
	Role         station.Role `json:"role"`
	Disabled     bool         `json:"disabled"`
	FailedLogins int          `json:"failed_logins"`
	LockedUntil  *time.Time   `json:"locked_until"`
	CreatedAt    time.Time    `json:"created_at"`
}

func viewUser(u *station.User, now time.Time) userView {
	v := userView{Username: u.Username, DisplayName: u.DisplayName, Role: u.Role, Disabled: u.Disabled,
		FailedLogins: u.FailedLogins, CreatedAt: u.CreatedAt.UTC()}
	if u.Locked(now) {
		t := u.LockedUntil.UTC()
		v.LockedUntil = &t
	}
	return v
}

type userList struct {
	Items []userView `json:"items"`
}

func (s *Server) handleUsers(c *fiber.Ctx) error {
	users, err := s.store.Users(c.UserContext())
	if err != nil {
		return err
	}
	now := s.now()
	out := userList{Items: make([]userView, 0, len(users))}
	for i := range users {
		out.Items = append(out.Items, viewUser(&users[i], now))
	}
	return c.JSON(out)
}

type userCreateRequest struct {
	Username    string       `json:"username"`
	DisplayName string       `json:"display_name"`
	Role        station.Role `json:"role"`
	Password    string       `json:"password"`
}

func validateRole(r station.Role) error {
	if !r.IsStaffRole() {
		return station.Errorf(station.EINVALID, "角色应为staff、reviewer、station_admin或technician")
	}
	return nil
}

func (s *Server) handleUserCreate(c *fiber.Ctx) error {
	var req userCreateRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if err := station.ValidateUsername(req.Username); err != nil {
		return err
	}
	if strings.TrimSpace(req.DisplayName) == "" {
		return station.Errorf(station.EINVALID, "请输入显示名称")
	}
	if err := validateRole(req.Role); err != nil {
		return err
	}
	if err := station.ValidatePassword(req.Password); err != nil {
		return err
	}
	hash, err := s.hasher.Hash(req.Password)
	if err != nil {
		return err
	}
	create := station.UserCreate{Username: req.Username, DisplayName: strings.TrimSpace(req.DisplayName), Role: req.Role, PasswordHash: hash}
	if _, err := s.submit(c.UserContext(), station.CmdUserCreate, caller(c).actor(), create); err != nil {
		return err
	}
	u, err := s.store.User(c.UserContext(), req.Username)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(viewUser(u, s.now()))
}

type userUpdateRequest struct {
	DisplayName *string       `json:"display_name,omitempty"`
	Role        *station.Role `json:"role,omitempty"`
	Disabled    *bool         `json:"disabled,omitempty"`
	Password    *string       `json:"password,omitempty"`
	Unlock      bool          `json:"unlock,omitempty"`
}

func (s *Server) handleUserUpdate(c *fiber.Ctx) error {
	var req userUpdateRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	up := station.UserUpdate{Username: c.Params("username"), DisplayName: req.DisplayName, Role: req.Role, Disabled: req.Disabled, Unlock: req.Unlock}
	if req.DisplayName != nil && strings.TrimSpace(*req.DisplayName) == "" {
		return station.Errorf(station.EINVALID, "显示名称不能为空")
	}
	if req.Role != nil {
		if err := validateRole(*req.Role); err != nil {
			return err
		}
	}
	if req.Password != nil {
		if err := station.ValidatePassword(*req.Password); err != nil {
			return err
		}
		hash, err := s.hasher.Hash(*req.Password)
		if err != nil {
			return err
		}
		up.PasswordHash = &hash
	}
	if _, err := s.submit(c.UserContext(), station.CmdUserUpdate, caller(c).actor(), up); err != nil {
		return err
	}
	u, err := s.store.User(c.UserContext(), up.Username)
	if err != nil {
		return err
	}
	return c.JSON(viewUser(u, s.now()))
}
