package station_test

import (
	"net/http"
	"testing"

	"github.com/civic-station/station/station"
)

func TestHTTPStatus(t *testing.T) {
	tests := []struct {
		name string
		code string
		want int
	}{
		{"an invalid input is 400", station.EINVALID, http.StatusBadRequest},
		{"a missing session is 401", station.EUNAUTHORIZED, http.StatusUnauthorized},
		{"a forbidden action is 403", station.EFORBIDDEN, http.StatusForbidden},
		{"a missing object is 404", station.ENOTFOUND, http.StatusNotFound},
		{"a state conflict is 409", station.ECONFLICT, http.StatusConflict},
		{"a large body is 413", station.ETOOLARGE, http.StatusRequestEntityTooLarge},
		{"a locked account is 423", station.ELOCKED, http.StatusLocked},
		{"too many attempts are 429", station.ETOOMANY, http.StatusTooManyRequests},
		{"an internal error is 500", station.EINTERNAL, http.StatusInternalServerError},
		{"an unavailable service is 503", station.EUNAVAILABLE, http.StatusServiceUnavailable},
		{"a disk short of its reserve is 507", station.ESTORAGE, http.StatusInsufficientStorage},
		{"an unknown code is 500", "ESOMETHINGNEW", http.StatusInternalServerError},
		{"no code is 500", "", http.StatusInternalServerError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := station.HTTPStatus(tt.code); got != tt.want {
				t.Errorf("HTTPStatus(%q) = %d, want %d", tt.code, got, tt.want)
			}
		})
	}
}
