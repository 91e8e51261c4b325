package station

import (
	"context"
	"encoding/json"
	"time"
)

// CommandKind names what a command does.
type CommandKind string

// Command kinds.
const (
	CmdCatalogImport         CommandKind = "catalog.import"
	CmdCalendarImport        CommandKind = "calendar.import"
	CmdResidentUpsert        CommandKind = "resident.upsert"
	CmdApplicationIntake     CommandKind = "application.intake"
	CmdApplicationTransition CommandKind = "application.transition"
	CmdApplicationMaterials  CommandKind = "application.materials"
	CmdAccessRecord          CommandKind = "access.record" // a staff read of personal data
	CmdUserCreate            CommandKind = "user.create"
	CmdUserUpdate            CommandKind = "user.update"
	CmdLoginFailed           CommandKind = "login.failed"
	CmdSessionOpen           CommandKind = "session.open"
	CmdSessionClose          CommandKind = "session.close"
)

// Command is a state change, fixed before it is applied: its ID, time, actor and every random value
// (IDs, tokens, ciphertexts) are chosen by the caller, so applying the same command to the same state
// always has the same result. Commands are what the replicated log carries.
type Command struct {
	ID      string          `json:"id"` // UUIDv7
	Kind    CommandKind     `json:"kind"`
	At      time.Time       `json:"at"`
	Actor   Actor           `json:"actor"`
	Payload json.RawMessage `json:"payload"`
}

// NewCommand builds a command with the payload encoded as JSON.
func NewCommand(id string, kind CommandKind, at time.Time, actor Actor, payload any) (Command, error) {
	b, err := json.Marshal(payload)
	if err != nil {
		return Command{}, err
	}
	return Command{ID: id, Kind: kind, At: at.UTC(), Actor: actor, Payload: b}, nil
}

// Result is what applying a command produced.
type Result struct {
	AuditSeq int64  `json:"audit_seq"` // the audit entry recording the command
	ObjectID string `json:"object_id"` // the object created or changed, if any
}

// Log commits commands and applies them to the store. A single box uses a local log; a cluster a
// replicated one. Submit returns only after the command is durable and applied; a domain error from
// applying it is returned as the error (and the rejected command is still audited).
type Log interface {
	Submit(ctx context.Context, cmd Command) (Result, error)
}

// CatalogImport replaces or adds matters; each matter's version must not go backwards.
type CatalogImport struct {
	Matters []Matter `json:"matters"`
}

// CalendarImport sets the exceptional days of the given years (all existing days of those years are
// replaced).
type CalendarImport struct {
	Years []int         `json:"years"`
	Days  []CalendarDay `json:"days"`
}

// ResidentUpsert creates or updates a resident identified by the document's lookup hash.
type ResidentUpsert struct {
	ResidentID string   `json:"resident_id"` // used when the resident is new
	IDNumber   SealedID `json:"id_number"`
	Name       string   `json:"name"`
	Sex        Sex      `json:"sex"`
	Ethnicity  string   `json:"ethnicity"`
	BirthDate  Date     `json:"birth_date"`
	Address    string   `json:"address"`
	Community  string   `json:"community"`
	Grid       string   `json:"grid"`
	Phone      string   `json:"phone"`
	Tags       []string `json:"tags"`
	// RegisteredSince is when the resident was registered in this community; zero when unknown.
	RegisteredSince Date `json:"registered_since,omitzero"`
}

// ApplicationIntake takes an application (受理).
type ApplicationIntake struct {
	ApplicationID string          `json:"application_id"`
	MatterCode    string          `json:"matter_code"`
	Applicant     Applicant       `json:"applicant"`
	Materials     []MaterialCheck `json:"materials"`
	Note          string          `json:"note"`
	// Deferral is 容缺受理: required materials missing, accepted explicitly (CheckIntakeMaterials).
	Deferral *Deferral `json:"deferral,omitempty"`
}

// ApplicationTransition moves an application along the state machine.
type ApplicationTransition struct {
	ApplicationID string `json:"application_id"`
	Action        Action `json:"action"`
	Reason        string `json:"reason"`
}

// ApplicationMaterials updates an application's materials checklist.
type ApplicationMaterials struct {
	ApplicationID string          `json:"application_id"`
	Materials     []MaterialCheck `json:"materials"`
}

// AccessRecord records that a staff member read personal data (a read is not a state change of the
// domain, but it is one of the audit log).
type AccessRecord struct {
	Object  string `json:"object"`  // resident:ID or application:ID
	Purpose string `json:"purpose"` // e.g. lookup, view, reveal
}

// UserCreate creates a station account.
type UserCreate struct {
	Username     string `json:"username"`
	DisplayName  string `json:"display_name"`
	Role         Role   `json:"role"`
	PasswordHash string `json:"password_hash"`
}

// UserUpdate changes an account; nil fields are left as they are.
type UserUpdate struct {
	Username     string  `json:"username"`
	DisplayName  *string `json:"display_name,omitempty"`
	Role         *Role   `json:"role,omitempty"`
	Disabled     *bool   `json:"disabled,omitempty"`
	PasswordHash *string `json:"password_hash,omitempty"`
	Unlock       bool    `json:"unlock,omitempty"`
}

// LoginFailed records a failed login from an address: the MaxFailedLogins-th in a row from it locks
// that address out of the account, the MaxAccountFailures-th from anywhere the account.
type LoginFailed struct {
	Username string `json:"username"`
	Address  string `json:"address,omitempty"` // the client's IP address
}

// SessionOpen records a successful login. The caller has verified the password; Apply refuses a
// locked or disabled account.
type SessionOpen struct {
	SessionID string    `json:"session_id"`
	TokenHash string    `json:"token_hash"`
	Username  string    `json:"username"`
	ExpiresAt time.Time `json:"expires_at"`
	Address   string    `json:"address,omitempty"` // the client's IP address: its failure count starts again
}

// SessionClose ends a session (logout or idle expiry).
type SessionClose struct {
	SessionID string `json:"session_id"`
	Reason    string `json:"reason"` // logout, idle
}
