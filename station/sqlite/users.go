package sqlite

import (
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/civic-station/station/station"
)

func (a *applier) accessRecord() error {
	var p station.AccessRecord
	if err := a.decode(&p); err != nil {
		return err
	}
	if p.Object == "" || !strings.Contains(p.Object, ":") {
		return station.Errorf(station.EINVALID, "访问记录缺少对象")
	}
	a.eff.object = p.Object
	a.eff.auditAction = "read." + p.Purpose
	a.eff.detail = p.Purpose
	return nil
}

func (a *applier) userCreate() error {
	if err := a.requireRole(station.CanManageUsers(a.cmd.Actor.Role)); err != nil {
		return err
	}
	var p station.UserCreate
	if err := a.decode(&p); err != nil {
		return err
	}
	return a.insertUser(p)
}

// insertUser creates the account p after checking it.
func (a *applier) insertUser(p station.UserCreate) error {
	a.eff.object = "user:" + p.Username
	if err := station.ValidateUsername(p.Username); err != nil {
		return err
	}
	if !p.Role.IsStaffRole() {
		return station.Errorf(station.EINVALID, "角色“%s”无效", p.Role)
	}
	if err := station.CheckText("显示名称", p.DisplayName, 50, true); err != nil {
		return err
	}
	if !strings.HasPrefix(p.PasswordHash, "$argon2id$") {
		return station.Errorf(station.EINVALID, "密码哈希格式无效")
	}
	var n int
	if err := a.tx.QueryRowContext(a.ctx, `SELECT count(*) FROM users WHERE username = ?`, p.Username).Scan(&n); err != nil {
		return err
	} else if n > 0 {
		return station.Errorf(station.ECONFLICT, "用户名%s已存在", p.Username)
	}
	a.eff.objectID = p.Username
	a.eff.detail = string(p.Role)
	return a.exec(`INSERT INTO users (username, display_name, role, password_hash, created_at) VALUES (?, ?, ?, ?, ?)`,
		p.Username, p.DisplayName, string(p.Role), p.PasswordHash, formatTime(a.cmd.At))
}

// activeAdmin reports whether username is an enabled station administrator.
func (a *applier) activeAdmin(username string) (bool, error) {
	var n int
	err := a.tx.QueryRowContext(a.ctx, `SELECT count(*) FROM users WHERE username = ? AND role = ? AND disabled = 0`,
		username, string(station.RoleStationAdmin)).Scan(&n)
	return n > 0, err
}

func (a *applier) userUpdate() error {
	if err := a.requireRole(station.CanManageUsers(a.cmd.Actor.Role)); err != nil {
		return err
	}
	var p station.UserUpdate
	if err := a.decode(&p); err != nil {
		return err
	}
	a.eff.object, a.eff.objectID = "user:"+p.Username, p.Username
	var n int
	if err := a.tx.QueryRowContext(a.ctx, `SELECT count(*) FROM users WHERE username = ?`, p.Username).Scan(&n); err != nil {
		return err
	} else if n == 0 {
		return station.Errorf(station.ENOTFOUND, "用户%s不存在", p.Username)
	}
	wasAdmin, err := a.activeAdmin(p.Username)
	if err != nil {
		return err
	}
	var changed []string
	if p.DisplayName != nil {
		if err := station.CheckText("显示名称", *p.DisplayName, 50, true); err != nil {
			return err
		}
		if err := a.exec(`UPDATE users SET display_name = ? WHERE username = ?`, *p.DisplayName, p.Username); err != nil {
			return err
		}
		changed = append(changed, "display_name")
	}
	if p.Role != nil {
		if !p.Role.IsStaffRole() {
			return station.Errorf(station.EINVALID, "角色“%s”无效", *p.Role)
		}
		if err := a.exec(`UPDATE users SET role = ? WHERE username = ?`, string(*p.Role), p.Username); err != nil {
			return err
		}
		changed = append(changed, "role="+string(*p.Role))
	}
	if p.Disabled != nil {
		if err := a.exec(`UPDATE users SET disabled = ? WHERE username = ?`, boolInt(*p.Disabled), p.Username); err != nil {
			return err
		}
		changed = append(changed, fmt.Sprintf("disabled=%t", *p.Disabled))
	}
	if p.PasswordHash != nil {
		if !strings.HasPrefix(*p.PasswordHash, "$argon2id$") {
			return station.Errorf(station.EINVALID, "密码哈希格式无效")
		}
		if err := a.exec(`UPDATE users SET password_hash = ? WHERE username = ?`, *p.PasswordHash, p.Username); err != nil {
			return err
		}
		changed = append(changed, "password")
	}
	if p.Unlock {
		if err := a.exec(`UPDATE users SET failed_logins = 0, locked_until = NULL WHERE username = ?`, p.Username); err != nil {
			return err
		}
		if err := a.exec(`DELETE FROM login_failures WHERE username = ?`, p.Username); err != nil {
			return err
		}
		changed = append(changed, "unlock")
	}
	if wasAdmin && (p.Role != nil || p.Disabled != nil) {
		// The station must keep an administrator: without one nobody can manage accounts, read the
		// audit or revoke a certificate over the API.
		var admins int
		if err := a.tx.QueryRowContext(a.ctx, `SELECT count(*) FROM users WHERE role = ? AND disabled = 0`, string(station.RoleStationAdmin)).Scan(&admins); err != nil {
			return err
		}
		if admins == 0 {
			return station.ErrLastAdmin()
		}
	}
	if p.Disabled != nil && *p.Disabled || p.PasswordHash != nil || p.Role != nil {
		// A disabled account, a new password or a new role ends the account's sessions.
		if err := a.exec(`UPDATE sessions SET closed_at = ?, close_reason = 'account changed' WHERE username = ? AND closed_at IS NULL`,
			formatTime(a.cmd.At), p.Username); err != nil {
			return err
		}
	}
	a.eff.detail = strings.Join(changed, ",")
	return nil
}

func (a *applier) loginFailed() error {
	var p station.LoginFailed
	if err := a.decode(&p); err != nil {
		return err
	}
	a.eff.object = "user:" + p.Username
	var failed int
	err := a.tx.QueryRowContext(a.ctx, `SELECT failed_logins FROM users WHERE username = ?`, p.Username).Scan(&failed)
	if errors.Is(err, sql.ErrNoRows) {
		a.eff.detail = "unknown user"
		return nil
	} else if err != nil {
		return err
	}
	var pair int
	var lockedUntil sql.NullString
	err = a.tx.QueryRowContext(a.ctx, `SELECT failures, locked_until FROM login_failures WHERE username = ? AND address = ?`,
		p.Username, p.Address).Scan(&pair, &lockedUntil)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	if until, err := parseTime(lockedUntil.String); lockedUntil.Valid && err == nil && !a.cmd.At.Before(until) {
		pair = 0 // the lock has run out: the address starts again
	}
	failed, pair = failed+1, pair+1
	a.eff.detail = fmt.Sprintf("failure %d from %s, %d in all", pair, p.Address, failed)
	var lockPair any
	if pair >= station.MaxFailedLogins {
		lockPair = formatTime(a.cmd.At.Add(station.LockoutDuration))
		a.eff.detail += ", address locked out"
	}
	if err := a.exec(`INSERT INTO login_failures (username, address, failures, last_at, locked_until) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (username, address) DO UPDATE SET failures = excluded.failures, last_at = excluded.last_at, locked_until = excluded.locked_until`,
		p.Username, p.Address, pair, formatTime(a.cmd.At), lockPair); err != nil {
		return err
	}
	if failed >= station.MaxAccountFailures {
		a.eff.detail += ", account locked"
		return a.exec(`UPDATE users SET failed_logins = 0, locked_until = ? WHERE username = ?`,
			formatTime(a.cmd.At.Add(station.LockoutDuration)), p.Username)
	}
	return a.exec(`UPDATE users SET failed_logins = ? WHERE username = ?`, failed, p.Username)
}

func (a *applier) sessionOpen() error {
	var p station.SessionOpen
	if err := a.decode(&p); err != nil {
		return err
	}
	a.eff.object, a.eff.objectID = "user:"+p.Username, p.SessionID
	u, err := scanUser(a.tx.QueryRowContext(a.ctx, userSelect+` WHERE username = ?`, p.Username))
	if errors.Is(err, sql.ErrNoRows) {
		return station.Errorf(station.EUNAUTHORIZED, "用户名或密码错误")
	} else if err != nil {
		return err
	}
	if u.Disabled {
		return station.Errorf(station.EUNAUTHORIZED, "用户名或密码错误")
	}
	if u.Locked(a.cmd.At) {
		return station.LockedError(*u.LockedUntil, a.cmd.At)
	}
	if p.SessionID == "" || len(p.TokenHash) != 64 || !p.ExpiresAt.After(a.cmd.At) {
		return station.Errorf(station.EINVALID, "会话信息无效")
	}
	if err := a.exec(`UPDATE users SET failed_logins = 0, locked_until = NULL WHERE username = ?`, p.Username); err != nil {
		return err
	}
	if err := a.exec(`DELETE FROM login_failures WHERE username = ? AND address = ?`, p.Username, p.Address); err != nil {
		return err
	}
	return a.exec(`INSERT INTO sessions (id, token_hash, username, created_at, expires_at) VALUES (?, ?, ?, ?, ?)`,
		p.SessionID, p.TokenHash, p.Username, formatTime(a.cmd.At), formatTime(p.ExpiresAt))
}

func (a *applier) sessionClose() error {
	var p station.SessionClose
	if err := a.decode(&p); err != nil {
		return err
	}
	var username string
	err := a.tx.QueryRowContext(a.ctx, `SELECT username FROM sessions WHERE id = ? AND closed_at IS NULL`, p.SessionID).Scan(&username)
	if errors.Is(err, sql.ErrNoRows) {
		return station.Errorf(station.ENOTFOUND, "会话不存在或已结束")
	} else if err != nil {
		return err
	}
	a.eff.object, a.eff.objectID = "user:"+username, p.SessionID
	a.eff.detail = p.Reason
	return a.exec(`UPDATE sessions SET closed_at = ?, close_reason = ? WHERE id = ?`, formatTime(a.cmd.At), p.Reason, p.SessionID)
}
