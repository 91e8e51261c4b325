package station

import (
	"net/http"
	"testing"
)

func TestHTTPStatus(t *testing.T) {
	tests := []struct {
		name string
		code string
		want int
	}{
		{"an invalid input is 400", EINVALID, http.StatusBadRequest},
		{"a missing session is 401", EUNAUTHORIZED, http.StatusUnauthorized},
		{"a forbidden action is 403", EFORBIDDEN, http.StatusForbidden},
		{"a missing object is 404", ENOTFOUND, http.StatusNotFound},
		{"a state conflict is 409", ECONFLICT, http.StatusConflict},
		{"a method the path does not take is 405", EMETHOD, http.StatusMethodNotAllowed},
		{"a large body is 413", ETOOLARGE, http.StatusRequestEntityTooLarge},
		{"a body that is not JSON is 415", EUNSUPPORTED, http.StatusUnsupportedMediaType},
		{"a locked account is 423", ELOCKED, http.StatusLocked},
		{"too many attempts are 429", ETOOMANY, http.StatusTooManyRequests},
		{"an internal error is 500", EINTERNAL, http.StatusInternalServerError},
		{"an unavailable service is 503", EUNAVAILABLE, http.StatusServiceUnavailable},
		{"software below the minimum is 426", EUPGRADE, http.StatusUpgradeRequired},
		{"a disk short of its reserve is 507", ESTORAGE, http.StatusInsufficientStorage},
		{"an unknown code is 500", "ESOMETHINGNEW", http.StatusInternalServerError},
		{"no code is 500", "", http.StatusInternalServerError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := HTTPStatus(tt.code); got != tt.want {
				t.Errorf("HTTPStatus(%q) = %d, want %d", tt.code, got, tt.want)
			}
		})
	}
}
