package main

import (
	"bytes"
	"encoding/json"
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

func TestTextFieldsRefuseControlCharactersAndBadPhones(t *testing.T) {
	s := startStation(t)
	counter := s.login(t, "counter1")
	intake := func(name, phone string) string {
		b, err := json.Marshal(map[string]any{
			"matter_code": "MZ-001",
			"applicant":   map[string]string{"id_type": "resident", "id_number": validID("22010219800101002"), "name": name, "phone": phone},
			"materials":   s.requiredMaterials(t, "MZ-001"),
		})
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	tests := []struct {
		name, path, body string
		status           int
		message, field   string
	}{
		{"a NUL byte in a name is refused", "/api/v1/applications", intake("张\x00三", "13800001234"), 400, "申请人姓名第2个字符是不可见的控制字符", ""},
		{"an escape sequence in a name is refused", "/api/v1/applications", intake("\x1b[2J张三", "13800001234"), 400, "申请人姓名第1个字符", ""},
		{"a replacement character in a name is refused", "/api/v1/applications", intake("张\ufffd三", "13800001234"), 400, "申请人姓名第2个字符无法识别", ""},
		{"invalid UTF-8 in a name is refused and the field named", "/api/v1/applications",
			strings.Replace(intake("张QQ三", "13800001234"), "QQ", "\xff\xfe", 1), 400, "无法识别的字符", "applicant.name"},
		{"phone -1 is refused", "/api/v1/applications", intake("张三", "-1"), 400, "联系电话格式不正确", ""},
		{"a 12-digit phone is refused", "/api/v1/applications", intake("张三", "138000012345"), 400, "联系电话格式不正确", ""},
		{"a mobile phone is taken", "/api/v1/applications", intake("张三", "13800001234"), 201, "", ""},
		{"a landline with an extension is taken", "/api/v1/applications", intake("李四", "0431-8123456转12"), 201, "", ""},
		{"a NUL byte in a resident's address is refused", "/api/v1/residents",
			`{"id_type":"resident","id_number":"` + validID("22010219800101003") + `","name":"王五","address":"长春市\u0000南关区"}`, 400, "地址第4个字符", ""},
		{"a resident's phone -1 is refused", "/api/v1/residents",
			`{"id_type":"resident","id_number":"` + validID("22010219800101003") + `","name":"王五","phone":"-1"}`, 400, "电话格式不正确", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := s.do(t, "POST", tt.path, counter, tt.body)
			if r.status != tt.status {
				t.Fatalf("status %d, want %d: %s", r.status, tt.status, r.body)
			}
			if tt.status >= 300 {
				var e errorReply
				r.json(t, &e)
				if e.Code != "EINVALID" || !strings.Contains(e.Message, tt.message) || e.Field != tt.field {
					t.Fatalf("error %+v, want EINVALID %q field %q", e, tt.message, tt.field)
				}
			}
		})
	}
}

func TestHelpExitsZeroForEverySubcommand(t *testing.T) {
	commands := []string{
		"--help", "help", "run", "user", "user add", "user update", "user unlock", "devices", "devices list", "devices test", "devices test printer",
		"devices test idreader", "devices test camera", "simulate", "simulate idreader", "simulate printer", "simulate ipp",
		"enroll", "sync", "sync status", "sync dead-letters", "sync retry", "sync export", "audit", "audit verify",
		"cert", "cert list", "cert verify", "cert revoke", "cert key", "hub", "hub token", "hub token create",
		"hub publish", "hub publish catalog", "hub revoke", "hub user", "hub user add", "hub users", "hub audit",
		"hub audit verify", "hub stations", "hub records", "hub conflicts", "hub decide",
		"config", "config example", "config check", "config show", "service", "service install", "service start",
		"service stop", "service status", "service uninstall", "doctor", "backup", "backup verify", "restore",
	}
	for _, cmd := range commands {
		for _, flag := range []string{"--help", "-h"} {
			args := strings.Fields(cmd)
			if cmd != "--help" && cmd != "help" {
				args = append(args, flag)
			}
			t.Run(strings.Join(args, " "), func(t *testing.T) {
				var out, errOut bytes.Buffer
				code := run(t.Context(), args, strings.NewReader(""), &out, &errOut)
				if code != 0 {
					t.Fatalf("exit %d, want 0\n%s%s", code, out.String(), errOut.String())
				}
				if out.Len()+errOut.Len() == 0 {
					t.Fatal("no usage printed")
				}
			})
		}
	}
	t.Run("an unknown flag is still a usage error", func(t *testing.T) {
		var out bytes.Buffer
		if code := run(t.Context(), []string{"run", "--no-such-flag"}, strings.NewReader(""), &out, &out); code != 2 {
			t.Fatalf("exit %d, want 2", code)
		}
	})
}
