package hub

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/civic-station/station/station"
)

// Role is what a department console account may do.
type Role string

// Console roles.
const (
	// RoleClerk is a department's clerk (审批人员): sees the applications forwarded to the department
	// and decides them.
	RoleClerk Role = "clerk"
	// RoleAdmin is the city administrator (市级管理员): sees every station's health and the
	// quarantined conflicts.
	RoleAdmin Role = "admin"
)

// Roles lists the console roles.
var Roles = []Role{RoleClerk, RoleAdmin}

// Label returns the Chinese name of a role.
func (r Role) Label() string {
	switch r {
	case RoleClerk:
		return "审批人员"
	case RoleAdmin:
		return "市级管理员"
	}
	return string(r)
}

// Valid reports whether r is a console role.
func (r Role) Valid() bool { return r == RoleClerk || r == RoleAdmin }

// User is a department console account, kept in the hub's store so that every hub process sharing a
// database knows it. The login policy is the station's: station.MaxFailedLogins failures in a row lock
// the account for station.LockoutDuration; a session ends after station.SessionIdle without a request
// and in any case after station.SessionMaxAge.
type User struct {
	Username     string    `json:"username"`
	DisplayName  string    `json:"display_name"`
	Role         Role      `json:"role"`
	Department   string    `json:"department,omitempty"` // a clerk's department, as the catalog names it (区民政局)
	PasswordHash string    `json:"-"`                    // PHC-format argon2id hash
	Disabled     bool      `json:"disabled"`
	FailedLogins int       `json:"failed_logins"`
	LockedUntil  time.Time `json:"locked_until,omitzero"`
	CreatedAt    time.Time `json:"created_at"`
}

// Locked reports whether the account is locked at time now.
func (u *User) Locked(now time.Time) bool { return now.Before(u.LockedUntil) }

// Validate checks a new account: the username's shape, a known role, a department for a clerk and
// none for an administrator, and a password hash.
func (u *User) Validate() error {
	if err := station.ValidateUsername(u.Username); err != nil {
		return err
	}
	if !u.Role.Valid() {
		return station.Errorf(station.EINVALID, "角色“%s”无效，应为 clerk（审批人员）或 admin（市级管理员）", u.Role)
	}
	u.Department = strings.TrimSpace(u.Department)
	switch {
	case u.Role == RoleClerk && u.Department == "":
		return station.Errorf(station.EINVALID, "审批人员必须指定所属部门")
	case u.Role == RoleAdmin && u.Department != "":
		return station.Errorf(station.EINVALID, "市级管理员不属于某个部门")
	case utf8.RuneCountInString(u.Department) > 100 || utf8.RuneCountInString(u.DisplayName) > 50:
		return station.Errorf(station.EINVALID, "部门名称不超过100个字符，显示名称不超过50个字符")
	case u.PasswordHash == "":
		return station.Errorf(station.EINVALID, "缺少密码")
	}
	return nil
}

// Session is a signed-in console session. Only the hash of its token is stored.
type Session struct {
	ID        string    `json:"id"`
	TokenHash string    `json:"-"` // hex SHA-256 of the token
	Username  string    `json:"username"`
	CreatedAt time.Time `json:"created_at"`
	LastSeen  time.Time `json:"last_seen"` // the last request, to within a minute (for the idle timeout)
	ExpiresAt time.Time `json:"expires_at"`
}

// AuditFilter selects console audit entries.
type AuditFilter struct {
	After  int64  // entries with a larger seq
	Actor  string // "" for every actor
	Object string // "" for every object
	Limit  int    // 0 for no limit
}

// DecisionRecord is a department's decision as the hub keeps it: at most one per application.
type DecisionRecord struct {
	StationID string           `json:"station_id"`
	Decision  station.Decision `json:"decision"`
	DecidedBy string           `json:"decided_by"` // the console account, or "" for `station hub decide`
	FeedSeq   int64            `json:"feed_seq"`   // its position in the station's downlink feed
}

// DecisionFilter selects decisions.
type DecisionFilter struct {
	StationID     string // "" for every station
	ApplicationID string // "" for every application
	Department    string // "" for every department
}

// ConsoleStore is what the department console keeps in the hub's store: accounts, sessions, the
// console's audit log and the decisions. Part of Store; every method is one transaction.
type ConsoleStore interface {
	// CreateUser stores a new account; ECONFLICT when the username is taken.
	CreateUser(ctx context.Context, u User) error
	// User returns one account, or ENOTFOUND.
	User(ctx context.Context, username string) (User, error)
	// Users returns every account, by username.
	Users(ctx context.Context) ([]User, error)
	// LoginFailed counts a failed login at time at and returns the account after it: after
	// station.MaxFailedLogins failures in a row the account is locked until at+station.LockoutDuration
	// and the count starts again. ENOTFOUND for an unknown account.
	LoginFailed(ctx context.Context, username string, at time.Time) (User, error)
	// OpenSession stores a new session, resets the account's failure count and drops sessions that
	// expired before s.CreatedAt. ENOTFOUND for an unknown account.
	OpenSession(ctx context.Context, s Session) error
	// Session returns the session with the given token hash, or ENOTFOUND.
	Session(ctx context.Context, tokenHash string) (Session, error)
	// TouchSession records a request of session id at time at.
	TouchSession(ctx context.Context, id string, at time.Time) error
	// CloseSession ends a session (logout or idle timeout); closing one that is gone is not an error.
	CloseSession(ctx context.Context, id string) error

	// AppendAudit appends an entry to the console's hash-chained audit log (station.AuditEntry: the
	// store sets Seq, PrevHash and Hash) and returns it as stored.
	AppendAudit(ctx context.Context, e station.AuditEntry) (station.AuditEntry, error)
	// Audit returns entries in seq order.
	Audit(ctx context.Context, f AuditFilter) ([]station.AuditEntry, error)
	// AuditHead returns the last entry's seq and hash (0 and station.AuditGenesis when empty).
	AuditHead(ctx context.Context) (int64, string, error)

	// Decide stores the decision on an application and publishes change c to the station's feed, in
	// one transaction. A second decision on the same application is refused with ECONFLICT and
	// publishes nothing. It returns the record with its feed position.
	Decide(ctx context.Context, d DecisionRecord, c station.Change, at time.Time) (DecisionRecord, error)
	// Decisions returns decisions, oldest first.
	Decisions(ctx context.Context, f DecisionFilter) ([]DecisionRecord, error)
}
