package station

import (
	"errors"
	"fmt"
)

// Error codes. Each maps to one HTTP status (HTTPStatus), the same in the station's API and the data
// center's.
const (
	EINVALID      = "EINVALID"      // malformed or invalid input
	EUNAUTHORIZED = "EUNAUTHORIZED" // no valid session or wrong credentials
	EFORBIDDEN    = "EFORBIDDEN"    // the caller's role may not do this
	ENOTFOUND     = "ENOTFOUND"     // no such object
	EMETHOD       = "EMETHOD"       // the path exists but does not take this HTTP method
	ECONFLICT     = "ECONFLICT"     // not allowed in the current state
	ELOCKED       = "ELOCKED"       // account locked after repeated failed logins
	ETOOLARGE     = "ETOOLARGE"     // request too large
	EUNSUPPORTED  = "EUNSUPPORTED"  // the request body is not of a media type the route takes (JSON)
	ETOOMANY      = "ETOOMANY"      // too many attempts; try again later
	EUNAVAILABLE  = "EUNAVAILABLE"  // temporarily unable to serve
	EUPGRADE      = "EUPGRADE"      // the caller's software is older than the server accepts: upgrade it
	ESTORAGE      = "ESTORAGE"      // the disk is short of its reserve: new input is refused, nothing is lost
	EINTERNAL     = "EINTERNAL"     // a bug or an unexpected failure
)

// Error is a domain error: a code for programs and a message that is safe to show to the person on the
// other side of the screen (in Chinese). The cause of an internal error is never put in Message.
//
// Field and Detail, both optional, are for programs: Field names the request field the error is
// about in the API's spelling ("applicant.name"), Detail says in English what is wrong with it. Neither
// ever carries the value itself, which may be personal data.
type Error struct {
	Code    string
	Message string
	Field   string
	Detail  string
}

// ErrStoreDegraded is what a store's readiness check answers after a write failed because the disk
// is full or failing, until a write succeeds again: the station reads, but cannot take input.
var ErrStoreDegraded = errors.New("store degraded: the last write failed because the disk is full or failing")

// Error implements the error interface.
func (e *Error) Error() string {
	return fmt.Sprintf("station error: code=%s message=%s", e.Code, e.Message)
}

// Errorf returns a domain error with the given code and a formatted, displayable message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of a domain error in err's chain, EINTERNAL for any other non-nil error,
// and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the displayable message of a domain error in err's chain, and a generic message
// for any other error (whose details must be logged, not shown).
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "系统内部错误，请稍后重试或联系工作人员"
}

// httpStatusByCode maps each domain error code to its HTTP status. It is the only such mapping. The
// statuses are numbers, not net/http's names, so that the domain (and station/cert) imports no transport.
var httpStatusByCode = map[string]int{
	EINVALID:      400, // Bad Request
	EUNAUTHORIZED: 401, // Unauthorized
	EFORBIDDEN:    403, // Forbidden
	ENOTFOUND:     404, // Not Found
	EMETHOD:       405, // Method Not Allowed
	ECONFLICT:     409, // Conflict
	ELOCKED:       423, // Locked
	ETOOLARGE:     413, // Content Too Large
	EUNSUPPORTED:  415, // Unsupported Media Type
	ETOOMANY:      429, // Too Many Requests
	EUNAVAILABLE:  503, // Service Unavailable
	EUPGRADE:      426, // Upgrade Required
	ESTORAGE:      507, // Insufficient Storage
	EINTERNAL:     500, // Internal Server Error
}

// HTTPStatus returns the HTTP status of a domain error code: 500 for EINTERNAL and for an unknown code.
func HTTPStatus(code string) int {
	if st, ok := httpStatusByCode[code]; ok {
		return st
	}
	return 500
}
