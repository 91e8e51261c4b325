package station

import (
	"errors"
	"strings"
)

// First-run setup (首次设置): a real station starts with no accounts; the setup wizard gives it its
// name, its community and its first administrator in one command, CmdStationSetup.

// Command kinds of the first-run setup.
const (
	// CmdStationSetup completes the first-run setup (payload StationSetup). It is refused with
	// ECONFLICT once the station has any account, so it succeeds at most once.
	CmdStationSetup CommandKind = "station.setup"
	// CmdSetupRecord records a step of the first-run setup in the audit log (payload SetupRecord):
	// a setup code accepted or refused, an enrollment with the data center.
	CmdSetupRecord CommandKind = "setup.record"
)

// SetupActor is the actor of what the first-run wizard does: nobody is signed in yet.
var SetupActor = Actor{Username: "setup-wizard", Role: RoleSystem}

// StationSettings are what the station knows about itself beyond its flags: its name and community,
// set by the first-run setup. Empty fields are unset.
type StationSettings struct {
	Name      string `json:"name"`      // 站点名称, e.g. 幸福社区便民服务站
	Community string `json:"community"` // 所在社区, printed on certificates, e.g. 幸福社区
}

// Validate checks the settings: both are required single-line texts of at most 40 characters. The
// error names the field in the API's spelling (station_name, community).
func (s StationSettings) Validate() error {
	for _, f := range []struct{ field, what, value string }{
		{"station_name", "站点名称", s.Name},
		{"community", "所在社区", s.Community},
	} {
		if err := CheckText(f.what, f.value, 40, true); err != nil {
			return WithField(err, f.field)
		}
		if strings.TrimSpace(f.value) != f.value {
			return &Error{Code: EINVALID, Message: f.what + "的开头和结尾不能有空格", Field: f.field, Detail: "leading or trailing space"}
		}
	}
	return nil
}

// WithField returns a copy of the domain error in err naming field (in the API's spelling) as the one
// at fault, unless it names one already; other errors are returned as they are.
func WithField(err error, field string) error {
	var e *Error
	if !errors.As(err, &e) {
		return err
	}
	c := *e
	if c.Field == "" {
		c.Field = field
		if c.Detail == "" {
			c.Detail = "invalid " + field
		}
	}
	return &c
}

// StationSetup is the payload of CmdStationSetup: the station's settings and its first administrator
// (Admin.Role must be RoleStationAdmin).
type StationSetup struct {
	Settings StationSettings `json:"settings"`
	Admin    UserCreate      `json:"admin"`
}

// SetupRecord is the payload of CmdSetupRecord.
type SetupRecord struct {
	Event   SetupEvent `json:"event"`
	Address string     `json:"address"`          // the client's address
	Detail  string     `json:"detail,omitempty"` // e.g. the data center's station ID, or why enrollment failed
}

// SetupEvent is what a SetupRecord records.
type SetupEvent string

// Setup events.
const (
	SetupCodeAccepted SetupEvent = "code_accepted"
	SetupCodeRefused  SetupEvent = "code_refused"
	SetupEnrolled     SetupEvent = "enrolled"
	SetupEnrollFailed SetupEvent = "enroll_failed"
)

// Valid reports whether e is a known setup event.
func (e SetupEvent) Valid() bool {
	switch e {
	case SetupCodeAccepted, SetupCodeRefused, SetupEnrolled, SetupEnrollFailed:
		return true
	}
	return false
}

// ErrSetupDone is the answer of every first-run endpoint once the station has been set up.
func ErrSetupDone() *Error {
	return &Error{Code: ECONFLICT, Message: "本站已完成首次设置。请用站点管理员或技术人员账号登录设置页。",
		Detail: "first-run setup already completed"}
}
