package http

import (
	"encoding/json"
	"sort"
	"strings"
	"testing"
)

// TestOpenAPIMatchesRoutes checks that the document lists exactly the routes Fiber serves under /api/v1
// and the operational endpoints.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	s := NewServer(Config{Version: "test"})
	b, err := json.Marshal(s.openAPIDocument())
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.OpenAPI != "3.0.3" {
		t.Fatalf("openapi = %q", doc.OpenAPI)
	}
	documented := map[string]bool{}
	for path, ops := range doc.Paths {
		for method := range ops {
			documented[strings.ToUpper(method)+" "+path] = true
		}
	}
	served := map[string]bool{}
	for _, r := range s.app.GetRoutes(true) {
		if r.Method == "HEAD" {
			continue // Fiber adds HEAD to every GET
		}
		if strings.HasPrefix(r.Path, "/api/v1/") || strings.HasPrefix(r.Path, "/verify/") || strings.HasPrefix(r.Path, "/queue/follow/") || r.Path == "/healthz" || r.Path == "/readyz" || r.Path == "/metrics" {
			served[r.Method+" "+openAPIPath(r.Path)] = true
		}
	}
	t.Run("every served route is documented", func(t *testing.T) {
		for _, k := range sortedKeys(served) {
			if !documented[k] {
				t.Errorf("%s is served but not in the document", k)
			}
		}
	})
	t.Run("every documented route is served", func(t *testing.T) {
		for _, k := range sortedKeys(documented) {
			if !served[k] {
				t.Errorf("%s is documented but not served", k)
			}
		}
	})
	t.Run("bodies refer to component schemas that exist", func(t *testing.T) {
		var full map[string]any
		_ = json.Unmarshal(b, &full)
		schemas := full["components"].(map[string]any)["schemas"].(map[string]any)
		for _, ref := range refs(full) {
			name := strings.TrimPrefix(ref, "#/components/schemas/")
			if strings.HasPrefix(ref, "#/components/schemas/") && schemas[name] == nil {
				t.Errorf("dangling reference %s", ref)
			}
		}
		for _, want := range []string{"ApplicationView", "IntakeRequest", "Matter", "ResidentView", "Error"} {
			if schemas[want] == nil {
				t.Errorf("schema %s missing", want)
			}
		}
	})
}

func refs(v any) []string {
	var out []string
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if s, ok := e.(string); ok && k == "$ref" {
				out = append(out, s)
			}
			out = append(out, refs(e)...)
		}
	case []any:
		for _, e := range x {
			out = append(out, refs(e)...)
		}
	}
	return out
}

func sortedKeys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func TestRoutesTable(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range routeTable() {
		key := r.method + " " + r.path
		t.Run(key+" is declared once with a handler and a summary", func(t *testing.T) {
			if seen[key] {
				t.Fatal("duplicate route")
			}
			seen[key] = true
			if r.handle == nil || r.summary == "" || r.tag == "" || r.status == 0 {
				t.Fatalf("incomplete route %+v", r)
			}
			if r.public && r.roles != nil {
				t.Fatal("a public route lists roles")
			}
		})
	}
}
