package http

import (
	"encoding"
	"encoding/json"
	nethttp "net/http"
	"reflect"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/civic-station/station/station"
)

// openAPIDocument builds the OpenAPI 3.0.3 document from the route table. Schemas are derived from the
// Go types of request and response bodies by their JSON encoding.
func (s *Server) openAPIDocument() map[string]any {
	g := &schemaGen{components: map[string]any{}}
	paths := map[string]any{}
	for _, r := range routeTable() {
		op := map[string]any{
			"summary":     r.summary,
			"tags":        []string{r.tag},
			"operationId": operationID(r.method, r.path),
		}
		var params []any
		for _, seg := range strings.Split(r.path, "/") {
			if name, ok := strings.CutPrefix(seg, ":"); ok {
				params = append(params, map[string]any{"name": name, "in": "path", "required": true, "schema": map[string]any{"type": "string"}})
			}
		}
		for _, q := range r.query {
			params = append(params, map[string]any{"name": q.name, "in": "query", "description": q.description, "schema": map[string]any{"type": "string"}})
		}
		if params != nil {
			op["parameters"] = params
		}
		if r.body != nil {
			op["requestBody"] = map[string]any{
				"required": true,
				"content":  map[string]any{"application/json": map[string]any{"schema": g.schema(reflect.TypeOf(r.body))}},
			}
		}
		ok := map[string]any{"description": fiberStatusText(r.status)}
		switch {
		case r.reply != nil:
			ok["content"] = map[string]any{"application/json": map[string]any{"schema": g.schema(reflect.TypeOf(r.reply))}}
		case r.path == "/metrics" || r.path == "/healthz" || r.path == "/readyz":
			ok["content"] = map[string]any{"text/plain": map[string]any{"schema": map[string]any{"type": "string"}}}
		case strings.HasSuffix(r.path, "openapi.json"):
			ok["content"] = map[string]any{"application/json": map[string]any{"schema": map[string]any{"type": "object"}}}
		}
		responses := map[string]any{itoa(r.status): ok, "default": map[string]any{"$ref": "#/components/responses/Error"}}
		op["responses"] = responses
		if r.public {
			op["security"] = []any{}
		} else {
			op["security"] = []any{map[string]any{"bearerAuth": []string{}}, map[string]any{"cookieAuth": []string{}}}
			roles := "任何已登录账号"
			if r.roles != nil {
				names := make([]string, len(r.roles))
				for i, role := range r.roles {
					names[i] = string(role)
				}
				roles = strings.Join(names, ", ")
				op["x-roles"] = names
			}
			op["description"] = "角色：" + roles
		}
		p := openAPIPath(r.path)
		item, _ := paths[p].(map[string]any)
		if item == nil {
			item = map[string]any{}
			paths[p] = item
		}
		item[strings.ToLower(r.method)] = op
	}
	g.schema(reflect.TypeOf(errorBody{}))
	g.components["Error"] = g.components["ErrorBody"]
	delete(g.components, "ErrorBody")
	return map[string]any{
		"openapi": "3.0.3",
		"info": map[string]any{
			"title":       "Station API",
			"version":     s.version,
			"description": "社区便民服务站接口。错误一律返回 {\"code\",\"message\"}，code 与 HTTP 状态一一对应（见 docs/api.md）。",
		},
		"paths": paths,
		"components": map[string]any{
			"schemas": g.components,
			"securitySchemes": map[string]any{
				"bearerAuth": map[string]any{"type": "http", "scheme": "bearer"},
				"cookieAuth": map[string]any{"type": "apiKey", "in": "cookie", "name": SessionCookie},
			},
			"responses": map[string]any{
				"Error": map[string]any{
					"description": "错误",
					"content":     map[string]any{"application/json": map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/Error"}}},
				},
			},
		},
	}
}

func (s *Server) handleOpenAPI(c *fiber.Ctx) error {
	return c.JSON(s.openAPIDocument())
}

func operationID(method, path string) string {
	var b strings.Builder
	b.WriteString(strings.ToLower(method))
	for _, seg := range strings.Split(strings.TrimPrefix(path, "/api/v1"), "/") {
		seg = strings.TrimPrefix(seg, ":")
		seg = strings.NewReplacer(".", "_", "-", "_").Replace(seg)
		if seg != "" {
			b.WriteString("_" + seg)
		}
	}
	return b.String()
}

func fiberStatusText(code int) string {
	if t := nethttp.StatusText(code); t != "" {
		return t
	}
	return itoa(code)
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// schemaGen derives JSON schemas from Go types, naming struct types as components.
type schemaGen struct {
	components map[string]any
}

var (
	timeType          = reflect.TypeOf(time.Time{})
	dateType          = reflect.TypeOf(station.Date{})
	rawMessageType    = reflect.TypeOf(json.RawMessage{})
	textMarshalerType = reflect.TypeOf((*encoding.TextMarshaler)(nil)).Elem()
)

// enums lists the values of the domain's string enumerations.
func enumOf(t reflect.Type) []string {
	var vals []string
	switch t {
	case reflect.TypeOf(station.Status("")):
		for _, v := range station.Statuses {
			vals = append(vals, string(v))
		}
	case reflect.TypeOf(station.IDType("")):
		for _, v := range station.IDTypes {
			vals = append(vals, string(v))
		}
	case reflect.TypeOf(station.Role("")):
		for _, v := range []station.Role{station.RoleStaff, station.RoleReviewer, station.RoleStationAdmin, station.RoleTechnician, station.RoleDepartment, station.RoleSystem, station.RoleResident} {
			vals = append(vals, string(v))
		}
	case reflect.TypeOf(station.TicketStatus("")):
		for _, v := range station.TicketStatuses {
			vals = append(vals, string(v))
		}
	case reflect.TypeOf(station.Priority("")):
		vals = []string{string(station.PriorityNone), string(station.PriorityAppointment), string(station.PriorityElderly), string(station.PriorityDisabled)}
	case reflect.TypeOf(station.MatterKind("")):
		vals = []string{string(station.KindImmediate), string(station.KindCommitment)}
	case reflect.TypeOf(station.DeadlineState("")):
		vals = []string{string(station.DeadlineNone), string(station.DeadlineOK), string(station.DeadlineDueSoon), string(station.DeadlineOverdue)}
	case reflect.TypeOf(station.Sex("")):
		vals = []string{string(station.SexUnknown), string(station.SexMale), string(station.SexFemale)}
	case reflect.TypeOf(station.Action("")):
		vals = append(vals, string(station.ActionIntake))
		seen := map[station.Action]bool{}
		for _, tr := range station.Transitions {
			if !seen[tr.Action] {
				seen[tr.Action] = true
				vals = append(vals, string(tr.Action))
			}
		}
	}
	return vals
}

func (g *schemaGen) schema(t reflect.Type) map[string]any {
	switch {
	case t == timeType:
		return map[string]any{"type": "string", "format": "date-time"}
	case t == dateType:
		return map[string]any{"type": "string", "format": "date"}
	case t == rawMessageType:
		return map[string]any{}
	case t.Kind() != reflect.Pointer && t.Implements(textMarshalerType):
		return map[string]any{"type": "string"}
	}
	switch t.Kind() {
	case reflect.Pointer:
		s := g.schema(t.Elem())
		if ref, ok := s["$ref"]; ok {
			return map[string]any{"allOf": []any{map[string]any{"$ref": ref}}, "nullable": true}
		}
		out := map[string]any{"nullable": true}
		for k, v := range s {
			out[k] = v
		}
		return out
	case reflect.String:
		s := map[string]any{"type": "string"}
		if vals := enumOf(t); vals != nil {
			s["enum"] = vals
		}
		return s
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.Slice, reflect.Array:
		return map[string]any{"type": "array", "items": g.schema(t.Elem())}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": g.schema(t.Elem())}
	case reflect.Struct:
		name := schemaName(t)
		ref := map[string]any{"$ref": "#/components/schemas/" + name}
		if _, ok := g.components[name]; ok {
			return ref
		}
		g.components[name] = map[string]any{} // placeholder against recursion
		g.components[name] = g.object(t)
		return ref
	}
	return map[string]any{}
}

func (g *schemaGen) object(t reflect.Type) map[string]any {
	props := map[string]any{}
	var required []string
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if name == "" {
			name = f.Name
		}
		props[name] = g.schema(f.Type)
		if !strings.Contains(opts, "omitempty") && f.Type.Kind() != reflect.Pointer {
			required = append(required, name)
		}
	}
	s := map[string]any{"type": "object", "properties": props}
	if required != nil {
		s["required"] = required
	}
	return s
}

// schemaName names a component after its Go type: exported domain types keep their name, the
// package's own view types are capitalized (residentView → ResidentView).
func schemaName(t reflect.Type) string {
	name := t.Name()
	if name == "" {
		return "Object"
	}
	return strings.ToUpper(name[:1]) + name[1:]
}
