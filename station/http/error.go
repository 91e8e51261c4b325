package http

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/civic-station/station/station"
)

// errorBody is the body of every error response.
type errorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// writeError answers with err mapped to its status. Errors that are not domain errors (and domain
// EINTERNAL errors) are logged with their cause; the client gets a generic message.
func (s *Server) writeError(c *fiber.Ctx, err error) error {
	code := station.ErrorCode(err)
	if code == station.EINTERNAL {
		s.logger.Error("request failed", "method", c.Method(), "route", c.Route().Path, "err", err)
	}
	return c.Status(station.HTTPStatus(code)).JSON(errorBody{Code: code, Message: station.ErrorMessage(err)})
}

// handleFiberError answers errors raised by Fiber itself (no such route, body over the hard limit,
// headers too large) and any error a handler did not answer.
func (s *Server) handleFiberError(c *fiber.Ctx, err error) error {
	var fe *fiber.Error
	if errors.As(err, &fe) {
		switch fe.Code {
		case fiber.StatusNotFound:
			err = station.Errorf(station.ENOTFOUND, "请求的地址不存在")
		case fiber.StatusMethodNotAllowed:
			err = station.Errorf(station.EINVALID, "该地址不支持%s请求", c.Method())
		case fiber.StatusRequestEntityTooLarge, fiber.StatusRequestHeaderFieldsTooLarge:
			err = errTooLarge()
		case fiber.StatusRequestTimeout:
			err = station.Errorf(station.EINVALID, "请求超时，请重试")
		default:
			if fe.Code < 500 {
				err = station.Errorf(station.EINVALID, "请求无效")
			}
		}
	}
	return s.writeError(c, err)
}

func errTooLarge() error {
	return station.Errorf(station.ETOOLARGE, "请求内容过大，不能超过%dKB", BodyLimit>>10)
}

// decodeJSON decodes the request body into v strictly: one JSON value, no unknown fields. Problems are
// EINVALID errors whose message names the problem in Chinese (never echoing values, which may be
// personal data).
func decodeJSON(c *fiber.Ctx, v any) error {
	body := c.Body()
	if len(bytes.TrimSpace(body)) == 0 {
		return station.Errorf(station.EINVALID, "请求体不能为空，应为JSON对象")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return station.Errorf(station.EINVALID, "请求体只能包含一个JSON对象")
	}
	return nil
}

func jsonError(err error) error {
	var (
		syntax  *json.SyntaxError
		typ     *json.UnmarshalTypeError
		domain  *station.Error
		invalid *json.InvalidUnmarshalError
	)
	switch {
	case errors.As(err, &domain):
		return domain
	case errors.As(err, &syntax):
		return station.Errorf(station.EINVALID, "请求体不是有效的JSON（第%d字节附近有语法错误）", syntax.Offset)
	case errors.As(err, &typ):
		if typ.Field == "" {
			return station.Errorf(station.EINVALID, "请求体应为JSON对象")
		}
		return station.Errorf(station.EINVALID, "字段 %q 的类型不正确，应为%s", typ.Field, jsonTypeName(typ.Type.Kind().String()))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return station.Errorf(station.EINVALID, "请求体JSON不完整")
	case errors.As(err, &invalid):
		return fmt.Errorf("decode request: %w", err)
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return station.Errorf(station.EINVALID, "未知字段 %s", name)
	}
	return station.Errorf(station.EINVALID, "请求体格式不正确")
}

func jsonTypeName(kind string) string {
	switch kind {
	case "string":
		return "字符串"
	case "bool":
		return "布尔值"
	case "slice", "array":
		return "数组"
	case "struct", "map":
		return "对象"
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64":
		return "整数"
	case "float32", "float64":
		return "数字"
	}
	return kind
}
