package cert

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/civic-station/station/station"
)

// MaxLibrarySize is the largest library JSON Parse accepts.
const MaxLibrarySize = 4 << 20

// Library is a versioned set of templates, at most one per code. The zero Library is empty and usable.
// Copies of a Library share its templates (a change through one shows in all; Clone makes an
// independent copy), and a Library is not safe for concurrent mutation: callers that share one guard it.
type Library struct {
	Version   int                 // the publisher's version of the whole set
	templates map[string]Template // by code
}

// libraryJSON is the JSON form of a Library.
type libraryJSON struct {
	Version   int               `json:"version"`
	Templates []json.RawMessage `json:"templates"`
}

// Parse decodes and validates a library: {"version": N, "templates": [template, …]} (see the package
// documentation for a template's fields). Unknown JSON keys are rejected. It returns a *ValidationError
// listing every problem, each naming the template's code, or the library.
func Parse(data []byte) (Library, error) {
	if len(data) > MaxLibrarySize {
		return Library{}, station.Errorf(station.ETOOLARGE, "证明模板库超过%d字节", MaxLibrarySize)
	}
	var raw libraryJSON
	if err := strictDecode(data, &raw); err != nil {
		return Library{}, &ValidationError{Problems: []Problem{{Message: "模板库JSON格式错误：" + err.Error()}}}
	}
	lib := Library{Version: raw.Version}
	var list []Problem
	if raw.Version < 1 {
		list = append(list, Problem{Message: "模板库版本号应从1开始"})
	}
	if len(raw.Templates) == 0 {
		list = append(list, Problem{Message: "模板库中没有模板"})
	}
	var templates []Template
	for i, r := range raw.Templates {
		var t Template
		if err := strictDecode(r, &t); err != nil {
			var probe struct {
				Code string `json:"code"`
			}
			_ = json.Unmarshal(r, &probe)
			code := probe.Code
			if code == "" {
				code = fmt.Sprintf("（第%d个）", i+1)
			}
			list = append(list, Problem{Code: code, Message: "JSON格式错误：" + err.Error()})
			continue
		}
		templates = append(templates, t)
	}
	list = append(list, validateSet(templates)...)
	if len(list) > 0 {
		return Library{}, &ValidationError{Problems: list}
	}
	lib.templates = make(map[string]Template, len(templates))
	for _, t := range templates {
		lib.templates[t.Code] = t.clone()
	}
	return lib, nil
}

func strictDecode(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("trailing data after the JSON value")
	}
	return nil
}

// validateSet validates each template and the uniqueness of codes.
func validateSet(templates []Template) []Problem {
	var list []Problem
	seen := map[string]bool{}
	for _, t := range templates {
		p := &problems{code: t.Code}
		if seen[t.Code] && t.Code != "" {
			p.addf("编码重复")
		}
		seen[t.Code] = true
		t.validate(p)
		list = append(list, p.list...)
	}
	return list
}

// Validate checks every template of the library and returns a *ValidationError listing every problem.
func (l Library) Validate() error {
	var list []Problem
	if l.Version < 1 {
		list = append(list, Problem{Message: "模板库版本号应从1开始"})
	}
	list = append(list, validateSet(l.Templates())...)
	if len(list) > 0 {
		return &ValidationError{Problems: list}
	}
	return nil
}

// Templates returns every template (active and withdrawn), sorted by code.
func (l Library) Templates() []Template {
	out := make([]Template, 0, len(l.templates))
	for _, t := range l.templates {
		out = append(out, t.clone())
	}
	slices.SortFunc(out, func(a, b Template) int { return strings.Compare(a.Code, b.Code) })
	return out
}

// Active returns the templates that may be issued, sorted by code.
func (l Library) Active() []Template {
	return slices.DeleteFunc(l.Templates(), func(t Template) bool { return !t.Active() })
}

// Get returns the template with the given code, active or withdrawn.
func (l Library) Get(code string) (Template, bool) {
	t, ok := l.templates[code]
	return t.clone(), ok
}

// Clone returns a copy of l that shares nothing with it.
func (l Library) Clone() Library {
	c := Library{Version: l.Version, templates: make(map[string]Template, len(l.templates))}
	for code, t := range l.templates {
		c.templates[code] = t.clone()
	}
	return c
}

// Len returns the number of templates.
func (l Library) Len() int { return len(l.templates) }

// Upsert adds t, or replaces the template with its code. It returns a *ValidationError if t is invalid,
// and ECONFLICT if the library holds the code at the same or a higher version.
func (l *Library) Upsert(t Template) error {
	if err := t.Validate(); err != nil {
		return err
	}
	if old, ok := l.templates[t.Code]; ok && t.Version <= old.Version {
		return conflict("证明模板%s的版本%d不高于已有的版本%d", t.Code, t.Version, old.Version)
	}
	if l.templates == nil {
		l.templates = map[string]Template{}
	}
	l.templates[t.Code] = t.clone()
	return nil
}

// Merge applies a library published later (by the data center) to l: each template of o that l lacks or
// holds at a lower version is taken; one held at the same version must be identical. All or nothing: on
// any conflict (o older than l, a template of o older than l's, or the same version with other content)
// l is unchanged and the error (ECONFLICT) names every conflicting code. l's version becomes o's.
func (l *Library) Merge(o Library) error {
	if err := o.Validate(); err != nil {
		return err
	}
	if o.Version < l.Version {
		return conflict("证明模板库版本%d低于已有的版本%d", o.Version, l.Version)
	}
	var conflicts []string
	for code, t := range o.templates {
		old, ok := l.templates[code]
		switch {
		case !ok || t.Version > old.Version:
		case t.Version < old.Version:
			conflicts = append(conflicts, fmt.Sprintf("%s（版本%d低于已有的%d）", code, t.Version, old.Version))
		case !reflect.DeepEqual(t, old):
			conflicts = append(conflicts, fmt.Sprintf("%s（版本%d内容不同）", code, t.Version))
		}
	}
	if len(conflicts) > 0 {
		slices.Sort(conflicts)
		return conflict("证明模板库合并冲突：%s", strings.Join(conflicts, "、"))
	}
	if l.templates == nil {
		l.templates = map[string]Template{}
	}
	for code, t := range o.templates {
		if old, ok := l.templates[code]; !ok || t.Version > old.Version {
			l.templates[code] = t.clone()
		}
	}
	l.Version = o.Version
	return nil
}

// MarshalJSON encodes the library in the form Parse reads, templates sorted by code.
func (l Library) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Version   int        `json:"version"`
		Templates []Template `json:"templates"`
	}{l.Version, l.Templates()})
}

// UnmarshalJSON decodes and validates a library as Parse does.
func (l *Library) UnmarshalJSON(data []byte) error {
	v, err := Parse(data)
	if err != nil {
		return err
	}
	*l = v
	return nil
}

//go:embed library.json
var builtInJSON []byte

// BuiltIn returns the built-in library: the certificate types a demo station and a station without a
// data center start with. It panics if the embedded library is invalid, which its test rules out.
func BuiltIn() Library {
	l, err := Parse(builtInJSON)
	if err != nil {
		panic("cert: built-in library: " + err.Error())
	}
	return l
}

func invalid(format string, args ...any) error {
	return station.Errorf(station.EINVALID, format, args...)
}

func conflict(format string, args ...any) error {
	return station.Errorf(station.ECONFLICT, format, args...)
}
