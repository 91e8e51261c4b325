package main

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
)

// errorReply is an error answer with the members programs read.
type errorReply struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field"`
	Detail  string `json:"detail"`
}

// doRaw sends body as it is with the given Content-Type ("" sends none).
func (s *testStation) doRaw(t *testing.T, method, path, token, contentType string, body []byte) response {
	t.Helper()
	req, err := http.NewRequest(method, s.URL()+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

func TestPagingIsBounded(t *testing.T) {
	s := startStation(t)
	admin := s.login(t, "admin")
	lists := []string{"/api/v1/applications", "/api/v1/audit", "/api/v1/certificates"}
	tests := []struct {
		name   string
		query  string
		status int
		field  string
	}{
		{"a page past int64 is refused", "page=9223372036854775807", 400, "page"},
		{"a page whose offset would overflow is refused", "page=92233720368547758", 400, "page"},
		{"a page past the limit is refused", "page=100001", 400, "page"},
		{"page zero is refused", "page=0", 400, "page"},
		{"a negative page is refused", "page=-1", 400, "page"},
		{"a page that is not a number is refused", "page=abc", 400, "page"},
		{"per_page past the limit is refused", "per_page=101", 400, "per_page"},
		{"a huge per_page is refused", "per_page=9223372036854775807", 400, "per_page"},
		{"per_page zero is refused", "per_page=0", 400, "per_page"},
		{"the last allowed page is an empty page", "page=100000&per_page=100", 200, ""},
		{"the first page is served", "page=1&per_page=1", 200, ""},
	}
	for _, list := range lists {
		for _, tt := range tests {
			t.Run(list+": "+tt.name, func(t *testing.T) {
				r := s.do(t, "GET", list+"?"+tt.query, admin, nil)
				if r.status != tt.status {
					t.Fatalf("status %d, want %d: %s", r.status, tt.status, r.body)
				}
				if tt.status == 200 {
					var out struct {
						Items []any `json:"items"`
						Total int   `json:"total"`
					}
					r.json(t, &out)
					if strings.Contains(tt.query, "page=100000") && len(out.Items) != 0 {
						t.Fatalf("page 100000 holds %d items of %d: the offset wrapped", len(out.Items), out.Total)
					}
					return
				}
				var e errorReply
				r.json(t, &e)
				if e.Code != "EINVALID" || e.Field != tt.field || !strings.Contains(e.Message, tt.field) || !strings.Contains(e.Message, "至") {
					t.Fatalf("error %+v: want EINVALID naming %s and its range", e, tt.field)
				}
			})
		}
	}
}

func TestWrongMethodIs405(t *testing.T) {
	s := startStation(t)
	tests := []struct {
		name, method, path, allow string
	}{
		{"GET on a POST-only route", "GET", "/api/v1/sessions", "POST"},
		{"PUT on a GET-and-POST route", "PUT", "/api/v1/applications", "GET, POST"},
		{"DELETE on a public GET route", "DELETE", "/api/v1/catalog/categories", "GET"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := s.doRaw(t, tt.method, tt.path, "", "", nil)
			if r.status != http.StatusMethodNotAllowed {
				t.Fatalf("status %d, want 405: %s", r.status, r.body)
			}
			for _, m := range strings.Split(tt.allow, ", ") {
				if !strings.Contains(r.header.Get("Allow"), m) {
					t.Fatalf("Allow %q lacks %s", r.header.Get("Allow"), m)
				}
			}
			var e errorReply
			r.json(t, &e)
			if e.Code != "EMETHOD" || !strings.Contains(e.Message, tt.method) {
				t.Fatalf("error %+v", e)
			}
		})
	}
}

func TestJSONRoutesTakeOnlyJSON(t *testing.T) {
	s := startStation(t)
	// A body the route refuses once it is parsed: a parsed body answers EINVALID naming the field, so
	// the test tells parsed from not parsed without attempting a login.
	body := []byte(`{"probe":1}`)
	for _, ct := range []string{"text/plain", "application/x-www-form-urlencoded", "", "application/json; charset=gbk"} {
		t.Run("Content-Type "+ct+" is unsupported", func(t *testing.T) {
			r := s.doRaw(t, "POST", "/api/v1/sessions", "", ct, body)
			if r.status != http.StatusUnsupportedMediaType {
				t.Fatalf("status %d, want 415: %s", r.status, r.body)
			}
			var e errorReply
			r.json(t, &e)
			if e.Code != "EUNSUPPORTED" || !strings.Contains(e.Message, "application/json") {
				t.Fatalf("error %+v", e)
			}
		})
	}
	for _, ct := range []string{"application/json", "application/json; charset=utf-8", "Application/JSON; charset=UTF-8"} {
		t.Run("Content-Type "+ct+" is parsed", func(t *testing.T) {
			r := s.doRaw(t, "POST", "/api/v1/sessions", "", ct, body)
			var e errorReply
			r.json(t, &e)
			if r.status != http.StatusBadRequest || e.Field != "probe" {
				t.Fatalf("status %d %+v, want the body parsed and its unknown field named", r.status, e)
			}
		})
	}
}

func TestBadRequestBodiesNameTheFieldForProgramsOnly(t *testing.T) {
	s := startStation(t)
	counter := s.login(t, "counter1")
	tests := []struct {
		name, path, body, field, detail string
	}{
		{"an unknown field", "/api/v1/progress", `{"number":"x","last4":"1234"}`, "last4", `unknown field "last4"`},
		{"an unknown nested field", "/api/v1/applications", `{"matter_code":"MZ-001","applicant":{"id_type":"resident","nickname":"x"}}`, "nickname", "unknown field"},
		{"a value of the wrong type", "/api/v1/sessions", `{"username":1,"password":"b"}`, "username", "must be a string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := s.do(t, "POST", tt.path, counter, tt.body)
			if r.status != 400 {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			var e errorReply
			r.json(t, &e)
			if e.Code != "EINVALID" || e.Field != tt.field || !strings.Contains(e.Detail, tt.detail) {
				t.Fatalf("error %+v: want field %q and detail %q", e, tt.field, tt.detail)
			}
			if e.Message != "提交的内容有误，请刷新页面后重试" {
				t.Fatalf("message %q is not for a person", e.Message)
			}
		})
	}
}
