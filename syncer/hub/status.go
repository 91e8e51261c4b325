package hub

import (
	"net/http"

	"github.com/civic-station/station/station"
)

// statusByCode maps each domain error code to its HTTP status, as the station's API does
// (docs/sync-protocol.md, "Load and failures"). The sync protocol and the department console share it.
var statusByCode = map[string]int{
	station.EINVALID:      http.StatusBadRequest,
	station.EUNAUTHORIZED: http.StatusUnauthorized,
	station.EFORBIDDEN:    http.StatusForbidden,
	station.ENOTFOUND:     http.StatusNotFound,
	station.ECONFLICT:     http.StatusConflict,
	station.ELOCKED:       http.StatusLocked,
	station.ETOOLARGE:     http.StatusRequestEntityTooLarge,
	station.ETOOMANY:      http.StatusTooManyRequests,
	station.EUNAVAILABLE:  http.StatusServiceUnavailable,
	station.ESTORAGE:      http.StatusInsufficientStorage,
}

// HTTPStatus returns the HTTP status of a domain error code; 500 for EINTERNAL and unknown codes.
func HTTPStatus(code string) int {
	if st, ok := statusByCode[code]; ok {
		return st
	}
	return http.StatusInternalServerError
}
