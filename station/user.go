package station

import (
	"math"
	"regexp"
	"time"
	"unicode/utf8"
)

// Role is what a user may do.
type Role string

// Roles. RoleDepartment is not a station account: it is the actor of decisions that arrive from a
// department through the data center.
const (
	RoleStaff        Role = "staff"         // counter staff (工作人员)
	RoleReviewer     Role = "reviewer"      // initial review (初审)
	RoleStationAdmin Role = "station_admin" // station administrator
	RoleTechnician   Role = "technician"    // installs and maintains the box (运维)
	RoleDepartment   Role = "department"    // a department's decision relayed by the hub
	RoleSystem       Role = "system"        // the station itself (seeding, sync)
	RoleResident     Role = "resident"      // a resident at the kiosk
)

// StaffRoles are the roles a station account can have.
var StaffRoles = []Role{RoleStaff, RoleReviewer, RoleStationAdmin, RoleTechnician}

// Label returns the Chinese name of a role.
func (r Role) Label() string {
	switch r {
	case RoleStaff:
		return "工作人员"
	case RoleReviewer:
		return "审核人员"
	case RoleStationAdmin:
		return "站点管理员"
	case RoleTechnician:
		return "技术人员"
	case RoleDepartment:
		return "审批部门"
	case RoleSystem:
		return "系统"
	case RoleResident:
		return "居民"
	}
	return string(r)
}

// IsStaffRole reports whether r can be given to a station account.
func (r Role) IsStaffRole() bool { return hasRole(StaffRoles, r) }

// Login policy (等级保护 2.0: failed-login handling and idle logout).
const (
	MaxFailedLogins    = 5                // failures in a row from one address before that address is locked out of the account
	MaxAccountFailures = 20               // failures in a row from anywhere before the account itself locks
	SlowDownAfter      = 3                // from this failure on, an address waits before its next try (LoginDelay)
	LockoutDuration    = 15 * time.Minute // how long a lock lasts
	SessionIdle        = 15 * time.Minute // a staff session ends after this long without a request
	SessionMaxAge      = 12 * time.Hour   // and in any case after this long
	MinPasswordLen     = 10
)

// ErrLastAdmin is the answer to demoting or disabling the station's last enabled administrator:
// ECONFLICT, with what to do instead.
func ErrLastAdmin() *Error {
	return Errorf(ECONFLICT, "这是本站最后一个可用的站点管理员账号，不能降级或停用。请先把另一位工作人员设为站点管理员。")
}

// LockedError is what a login into an account locked until until is told at now: ELOCKED, with the
// minutes left rounded up (at least one). A second of slack absorbs the time between the failure's
// command and the answer, so a fresh 15-minute lock reads 15, not 16.
func LockedError(until, now time.Time) error {
	minutes := max(int(math.Ceil((until.Sub(now) - time.Second).Minutes())), 1)
	return Errorf(ELOCKED, "登录失败次数过多，已暂时锁定，请%d分钟后再试；如需立即解锁，请联系站点管理员", minutes)
}

// LoginDelay is how long an address waits after its failures-th failure in a row before it may try
// again: nothing before SlowDownAfter, then 2, 4, 8 … seconds (at most a minute).
func LoginDelay(failures int) time.Duration {
	if failures < SlowDownAfter {
		return 0
	}
	return min(time.Duration(1<<(failures-SlowDownAfter+1))*time.Second, time.Minute)
}

// BadPasswordError is the answer to a wrong password (or an unknown user: the same answer) with left
// tries before the address is locked out.
func BadPasswordError(left int) error {
	if left <= 0 {
		return Errorf(EUNAUTHORIZED, "用户名或密码错误")
	}
	return Errorf(EUNAUTHORIZED, "用户名或密码错误，还可尝试%d次", left)
}

// LoginAttempts is what the store knows of an account's failed logins from one address.
type LoginAttempts struct {
	Failures    int        // in a row from this address
	LastAt      time.Time  // the latest of them
	LockedUntil *time.Time // this address is locked out of the account until then
}

// User is a station account.
type User struct {
	Username     string     `json:"username"`
	DisplayName  string     `json:"display_name"`
	Role         Role       `json:"role"`
	PasswordHash string     `json:"-"` // PHC-format argon2id hash
	Disabled     bool       `json:"disabled"`
	FailedLogins int        `json:"failed_logins"`
	LockedUntil  *time.Time `json:"locked_until,omitempty"`
	CreatedAt    time.Time  `json:"created_at"`
}

// Locked reports whether the account is locked at time now.
func (u *User) Locked(now time.Time) bool { return u.LockedUntil != nil && now.Before(*u.LockedUntil) }

var usernameRE = regexp.MustCompile(`^[a-z][a-z0-9_.-]{2,31}$`)

// ValidateUsername checks the shape of a username.
func ValidateUsername(name string) error {
	if !usernameRE.MatchString(name) {
		return Errorf(EINVALID, "用户名应为3至32位小写字母、数字、下划线、点或连字符，并以字母开头")
	}
	return nil
}

// ValidatePassword checks a new password against the policy.
func ValidatePassword(pw string) error {
	n := utf8.RuneCountInString(pw)
	if n < MinPasswordLen || n > 128 {
		return Errorf(EINVALID, "密码长度应为%d至128个字符", MinPasswordLen)
	}
	return nil
}

// Session is a logged-in staff member's session. The token itself is never stored, only its hash.
type Session struct {
	ID        string    `json:"id"`
	TokenHash string    `json:"-"`
	Username  string    `json:"username"`
	Role      Role      `json:"role"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
}

// Actor is who issues a command.
type Actor struct {
	Username string `json:"username"`
	Role     Role   `json:"role"`
}

// CanManageUsers reports whether role may create and change station accounts.
func CanManageUsers(r Role) bool { return r == RoleStationAdmin || r == RoleSystem }
