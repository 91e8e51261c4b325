package http

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"strconv"
	"strings"
	"syscall"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"github.com/civic-station/station/station"
)

// errorBody is the body of every error response: the code for programs, the message for people (in
// Chinese, safe to show on a screen), and, when the error is about one request field, that field's
// name as the API spells it and what is wrong with it in English.
type errorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
	Detail  string `json:"detail,omitempty"`
}

// writeError answers with err mapped to its status. Errors that are not domain errors (and domain
// EINTERNAL errors) are logged with their cause; the client gets a generic message.
func (s *Server) writeError(c *fiber.Ctx, err error) error {
	code := station.ErrorCode(err)
	if code == station.EINTERNAL && (errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)) {
		// A file the request writes (a scanned page, a PDF) did not fit: the same answer as the store's.
		s.logger.Error("request failed: disk full", "method", c.Method(), "route", c.Route().Path, "err", err)
		err = station.Errorf(station.ESTORAGE, "本机存储空间已满，本次操作未保存，已有数据安全。请联系技术人员。")
		code = station.ESTORAGE
	}
	if code == station.EINTERNAL {
		s.logger.Error("request failed", "method", c.Method(), "route", c.Route().Path, "err", err)
	}
	body := errorBody{Code: code, Message: station.ErrorMessage(err)}
	var e *station.Error
	if errors.As(err, &e) {
		body.Field, body.Detail = e.Field, e.Detail
	}
	return c.Status(station.HTTPStatus(code)).JSON(body)
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
			// Fiber has set Allow to the methods the path takes.
			err = &station.Error{Code: station.EMETHOD, Message: fmt.Sprintf("该地址不支持%s请求", c.Method()),
				Detail: fmt.Sprintf("method %s not allowed; see the Allow header", c.Method())}
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

// msgBadRequestBody is the message a person sees when a screen sent a body the API does not take (a
// field it does not know, a value of the wrong type): the screen is older or newer than the station.
const msgBadRequestBody = "提交的内容有误，请刷新页面后重试"

// decodeJSON decodes the request body into v strictly: Content-Type application/json (EUNSUPPORTED
// otherwise), UTF-8, one JSON value, no unknown fields. Other problems are EINVALID errors whose message
// names the problem in Chinese and, where one field is at fault, whose Field and Detail name it for
// programs (never echoing values, which may be personal data).
func decodeJSON(c *fiber.Ctx, v any) error {
	body := c.Body()
	if len(bytes.TrimSpace(body)) == 0 {
		return station.Errorf(station.EINVALID, "请求体不能为空，应为JSON对象")
	}
	if err := checkJSONMediaType(c.Get(fiber.HeaderContentType)); err != nil {
		return err
	}
	if !utf8.Valid(body) {
		return &station.Error{Code: station.EINVALID, Message: "提交的内容含有无法识别的字符，请检查后重新输入",
			Field: jsonFieldAt(body, invalidUTF8At(body)), Detail: "the request body is not valid UTF-8"}
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
		return &station.Error{Code: station.EINVALID, Message: msgBadRequestBody, Field: typ.Field,
			Detail: fmt.Sprintf("field %q must be %s", typ.Field, jsonTypeName(typ.Type.Kind().String()))}
	case errors.Is(err, io.ErrUnexpectedEOF):
		return station.Errorf(station.EINVALID, "请求体JSON不完整")
	case errors.As(err, &invalid):
		return fmt.Errorf("decode request: %w", err)
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		field, _ := strconv.Unquote(name)
		return &station.Error{Code: station.EINVALID, Message: msgBadRequestBody, Field: field,
			Detail: fmt.Sprintf("unknown field %s", name)}
	}
	return station.Errorf(station.EINVALID, "请求体格式不正确")
}

// jsonTypeName names a Go kind as a JSON type, for Detail.
func jsonTypeName(kind string) string {
	switch kind {
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	case "slice", "array":
		return "an array"
	case "struct", "map":
		return "an object"
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64":
		return "an integer"
	case "float32", "float64":
		return "a number"
	}
	return kind
}

// checkJSONMediaType refuses a Content-Type other than application/json (with no charset or UTF-8):
// a body sent as text/plain or a form is not parsed as JSON.
func checkJSONMediaType(header string) error {
	mt, params, err := mime.ParseMediaType(header)
	if err == nil && mt == fiber.MIMEApplicationJSON {
		if cs, ok := params["charset"]; !ok || strings.EqualFold(cs, "utf-8") {
			return nil
		}
	}
	detail := "Content-Type must be application/json"
	if err == nil && len(mt) <= 64 {
		detail += ", not " + mt
	}
	return &station.Error{Code: station.EUNSUPPORTED, Message: "请求内容类型应为 application/json", Detail: detail}
}

// invalidUTF8At returns the offset of the first byte of body that is not valid UTF-8.
func invalidUTF8At(body []byte) int {
	for i := 0; i < len(body); {
		r, n := utf8.DecodeRune(body[i:])
		if r == utf8.RuneError && n == 1 {
			return i
		}
		i += n
	}
	return len(body)
}

// jsonFieldAt returns the path ("applicant.name", "materials[2].code") of the key or value of the JSON
// document body that covers offset, or "" when none does (or body is not JSON).
func jsonFieldAt(body []byte, offset int) string {
	type frame struct {
		object  bool
		wantKey bool
		key     string
		index   int
	}
	var stack []frame
	path := func() string {
		var b strings.Builder
		for _, f := range stack {
			if f.object {
				if b.Len() > 0 {
					b.WriteByte('.')
				}
				b.WriteString(f.key)
			} else {
				fmt.Fprintf(&b, "[%d]", f.index)
			}
		}
		return b.String()
	}
	beginValue := func() {
		if n := len(stack); n > 0 && !stack[n-1].object {
			stack[n-1].index++
		}
	}
	endValue := func() {
		if n := len(stack); n > 0 && stack[n-1].object {
			stack[n-1].wantKey = true
		}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	for {
		tok, err := dec.Token()
		if err != nil {
			return ""
		}
		if d, ok := tok.(json.Delim); ok {
			switch d {
			case '{', '[':
				beginValue()
				stack = append(stack, frame{object: d == '{', wantKey: true, index: -1})
			default:
				stack = stack[:len(stack)-1]
				endValue()
			}
			continue
		}
		isKey := len(stack) > 0 && stack[len(stack)-1].object && stack[len(stack)-1].wantKey
		if isKey {
			stack[len(stack)-1].key, _ = tok.(string)
			stack[len(stack)-1].wantKey = false
		} else {
			beginValue()
		}
		if dec.InputOffset() > int64(offset) {
			return path()
		}
		if !isKey {
			endValue()
		}
	}
}
