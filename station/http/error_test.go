package http

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	nethttp "net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"

	"github.com/civic-station/station/station"
)

func TestErrorMapping(t *testing.T) {
	var logs bytes.Buffer
	s := NewServer(Config{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	tests := []struct {
		name    string
		err     error
		status  int
		code    string
		message string
		logged  bool
	}{
		{"an invalid input is 400", station.Errorf(station.EINVALID, "身份证号码校验位错误"), 400, "EINVALID", "身份证号码校验位错误", false},
		{"a missing session is 401", station.Errorf(station.EUNAUTHORIZED, "请先登录"), 401, "EUNAUTHORIZED", "请先登录", false},
		{"a forbidden action is 403", station.Errorf(station.EFORBIDDEN, "无权"), 403, "EFORBIDDEN", "无权", false},
		{"a missing object is 404", station.Errorf(station.ENOTFOUND, "不存在"), 404, "ENOTFOUND", "不存在", false},
		{"a state conflict is 409", station.Errorf(station.ECONFLICT, "冲突"), 409, "ECONFLICT", "冲突", false},
		{"a locked account is 423", station.Errorf(station.ELOCKED, "锁定"), 423, "ELOCKED", "锁定", false},
		{"a large body is 413", station.Errorf(station.ETOOLARGE, "过大"), 413, "ETOOLARGE", "过大", false},
		{"an unavailable store is 503", station.Errorf(station.EUNAVAILABLE, "未就绪"), 503, "EUNAVAILABLE", "未就绪", false},
		{"a wrapped domain error keeps its code", fmt.Errorf("intake: %w", station.Errorf(station.ECONFLICT, "冲突")), 409, "ECONFLICT", "冲突", false},
		{"any other error is a generic 500 with the cause logged", errors.New("disk on fire"), 500, "EINTERNAL", "系统内部错误，请稍后重试或联系工作人员", true},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logs.Reset()
			path := fmt.Sprintf("/test/%d", i)
			err := tt.err
			s.app.Get(path, s.instrument(path), func(*fiber.Ctx) error { return err })
			resp, terr := s.app.Test(httptest.NewRequest(nethttp.MethodGet, path, nil))
			if terr != nil {
				t.Fatal(terr)
			}
			b, _ := io.ReadAll(resp.Body)
			var body errorBody
			if err := json.Unmarshal(b, &body); err != nil {
				t.Fatalf("%v: %s", err, b)
			}
			if resp.StatusCode != tt.status || body.Code != tt.code || body.Message != tt.message {
				t.Fatalf("got %d %+v", resp.StatusCode, body)
			}
			if strings.Contains(string(b), "disk on fire") {
				t.Fatal("the cause leaked to the client")
			}
			if got := strings.Contains(logs.String(), "disk on fire"); got != tt.logged {
				t.Fatalf("logged = %v: %s", got, logs.String())
			}
		})
	}
}
