// Package flagconf fills a command's flags from a TOML configuration file and the environment, so that
// every flag of `station run` is also a key of /etc/station/station.toml and a STATION_… variable.
//
// Precedence, highest first: a flag given on the command line, the environment, the file, the flag's
// default. The file is flat: each key is a flag's name (`listen = "0.0.0.0:8080"`, `disk-reserve =
// "512MiB"`, `demo = false`). Unknown keys, tables, arrays and values of the wrong kind are errors that
// name the key and its line; nothing is silently ignored.
package flagconf

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/pelletier/go-toml/v2/unstable"
)

// Source says where a flag's value came from.
type Source int

// The sources of a value, lowest precedence first.
const (
	FromDefault Source = iota
	FromFile
	FromEnv
	FromFlag
)

// String names the source as `station config show` prints it.
func (s Source) String() string {
	switch s {
	case FromFile:
		return "file"
	case FromEnv:
		return "env"
	case FromFlag:
		return "flag"
	}
	return "default"
}

// Problem is one thing wrong with a configuration file or variable: where it is and what is allowed.
type Problem struct {
	File string // the file's name, or the variable's name for the environment
	Line int    // 1-based; 0 when the problem has no line (the environment)
	Key  string // the key or variable, "" for a syntax error
	Msg  string // what is wrong and what is allowed, in Chinese for the technician
}

func (p Problem) Error() string {
	if p.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Msg)
	}
	return fmt.Sprintf("%s: %s", p.File, p.Msg)
}

// Problems is every problem found, in file order; it is an error when it is not empty.
type Problems []Problem

func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.Error()
	}
	return strings.Join(lines, "\n")
}

// setting is one key = value of the file, checked against the flag it names.
type setting struct {
	key   string
	value string
	line  int
}

// EnvName is the environment variable for a flag: STATION_ + the name in capitals, "-" as "_"
// (prefix "STATION": disk-reserve → STATION_DISK_RESERVE).
func EnvName(prefix, flagName string) string {
	return prefix + "_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// Check parses a configuration file and sets fs's flags from it, returning every problem (nil when there
// is none): syntax errors, unknown or repeated keys, tables and arrays, values of the wrong kind, and
// values the flag itself refuses. It changes fs: pass a FlagSet made for the check.
func Check(fs *flag.FlagSet, name string, data []byte) Problems {
	settings, problems := parse(fs, name, data)
	for _, s := range settings {
		if err := fs.Set(s.key, s.value); err != nil {
			problems = append(problems, valueProblem(fs.Lookup(s.key), name, s.line, err))
		}
	}
	return sortProblems(problems)
}

// Apply sets every flag of the parsed fs that was not given on the command line from the environment
// (lookup, usually os.LookupEnv, with prefix) or else from the file (data; nil for none), and returns
// where each flag's value came from. On an error, a Problems naming each bad key and line or variable,
// the flags are partly set and the caller should stop.
func Apply(fs *flag.FlagSet, name string, data []byte, prefix string, lookup func(string) (string, bool)) (map[string]Source, error) {
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	settings, problems := parse(fs, name, data)
	sources := map[string]Source{}
	fs.VisitAll(func(f *flag.Flag) {
		sources[f.Name] = FromDefault
		if given[f.Name] {
			sources[f.Name] = FromFlag
			return
		}
		env := EnvName(prefix, f.Name)
		if v, ok := lookup(env); ok {
			if err := f.Value.Set(v); err != nil {
				problems = append(problems, Problem{File: env, Key: f.Name, Msg: fmt.Sprintf("环境变量 %s 的值 %q 无效：%v（%s）", env, v, err, allowed(f))})
			}
			sources[f.Name] = FromEnv
			return
		}
		if s, ok := settings[f.Name]; ok {
			if err := f.Value.Set(s.value); err != nil {
				problems = append(problems, valueProblem(f, name, s.line, err))
			}
			sources[f.Name] = FromFile
		}
	})
	if len(problems) > 0 {
		return nil, sortProblems(problems)
	}
	return sources, nil
}

func valueProblem(f *flag.Flag, file string, line int, err error) Problem {
	return Problem{File: file, Line: line, Key: f.Name, Msg: fmt.Sprintf("配置项 %q 的值无效：%v（%s）", f.Name, err, allowed(f))}
}

func sortProblems(ps Problems) Problems {
	if len(ps) == 0 {
		return nil
	}
	sort.SliceStable(ps, func(i, j int) bool { return ps[i].Line < ps[j].Line })
	return ps
}

// isBool reports whether f is a boolean flag (given as -demo, written as demo = true).
func isBool(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// parse reads the file's key = value lines and checks each against fs's flags.
func parse(fs *flag.FlagSet, name string, data []byte) (map[string]setting, Problems) {
	settings := map[string]setting{}
	var problems Problems
	if len(data) == 0 {
		return settings, nil
	}
	var p unstable.Parser
	p.Reset(data)
	lineOf := func(r unstable.Range) int { return p.Shape(r).Start.Line }
	for p.NextExpression() {
		e := p.Expression()
		switch e.Kind {
		case unstable.KeyValue:
		case unstable.Table, unstable.ArrayTable:
			k := joinKey(e.Key())
			problems = append(problems, Problem{File: name, Line: keyLine(e, lineOf), Key: k,
				Msg: fmt.Sprintf("不支持分节 [%s]：配置文件只有“配置项 = 值”，每个配置项是 station run 的一个参数", k)})
			continue
		default:
			continue
		}
		key := joinKey(e.Key())
		line := keyLine(e, lineOf)
		f := fs.Lookup(key)
		if f == nil {
			msg := fmt.Sprintf("未知的配置项 %q", key)
			if s := closest(fs, key); s != "" {
				msg += fmt.Sprintf("，是不是 %q？", s)
			}
			msg += "（全部配置项见 station config example）"
			problems = append(problems, Problem{File: name, Line: line, Key: key, Msg: msg})
			continue
		}
		if prev, dup := settings[key]; dup {
			problems = append(problems, Problem{File: name, Line: line, Key: key, Msg: fmt.Sprintf("配置项 %q 重复（第 %d 行已设置）", key, prev.line)})
			continue
		}
		v, err := scalar(e.Value(), isBool(f), isNumber(f))
		if err != nil {
			problems = append(problems, valueProblem(f, name, line, err))
			continue
		}
		settings[key] = setting{key: key, value: v, line: line}
	}
	if err := p.Error(); err != nil {
		line := 0
		var pe *unstable.ParserError
		if errors.As(err, &pe) {
			line = errorLine(&p, pe.Highlight)
		}
		msg := "TOML 格式错误：" + err.Error()
		problems = append(problems, Problem{File: name, Line: line, Msg: msg})
	}
	return settings, problems
}

// errorLine is the line of a parser error's highlighted bytes, or 0. The highlight is a subslice of
// the input by the parser's contract; should a parser bug break it, the line is left out rather than
// letting Range panic.
func errorLine(p *unstable.Parser, highlight []byte) (line int) {
	if len(highlight) == 0 {
		return 0
	}
	defer func() {
		if recover() != nil {
			line = 0
		}
	}()
	return p.Shape(p.Range(highlight)).Start.Line
}

func joinKey(it unstable.Iterator) string {
	var parts []string
	for it.Next() {
		parts = append(parts, string(it.Node().Data))
	}
	return strings.Join(parts, ".")
}

func keyLine(e *unstable.Node, lineOf func(unstable.Range) int) int {
	it := e.Key()
	if it.Next() {
		return lineOf(it.Node().Raw)
	}
	return 0
}

// isNumber reports whether f holds a plain number (a TOML integer or float is then accepted besides a
// string).
func isNumber(f *flag.Flag) bool {
	g, ok := f.Value.(flag.Getter)
	if !ok {
		return false
	}
	switch g.Get().(type) {
	case int, int64, uint, uint64, float64:
		return true
	}
	return false
}

// scalar turns a TOML value into the text a flag's Set takes.
func scalar(v *unstable.Node, wantBool, number bool) (string, error) {
	switch v.Kind {
	case unstable.Bool:
		if !wantBool {
			return "", errors.New("应为带引号的文字，不是 true/false")
		}
		return string(v.Data), nil
	case unstable.String:
		if wantBool {
			return "", errors.New("应为 true 或 false（不带引号）")
		}
		return string(v.Data), nil
	case unstable.Integer:
		if wantBool {
			return "", errors.New("应为 true 或 false")
		}
		if !number {
			return "", errors.New("应为带引号的文字")
		}
		n, err := strconv.ParseInt(strings.ReplaceAll(string(v.Data), "_", ""), 0, 64)
		if err != nil {
			return "", errors.New("整数超出范围")
		}
		return strconv.FormatInt(n, 10), nil
	case unstable.Float:
		if wantBool {
			return "", errors.New("应为 true 或 false")
		}
		if !number {
			return "", errors.New("应为带引号的文字")
		}
		return strings.ReplaceAll(string(v.Data), "_", ""), nil
	case unstable.Array:
		return "", errors.New("不支持数组")
	case unstable.InlineTable:
		return "", errors.New("不支持表")
	}
	return "", fmt.Errorf("不支持 %s 类型的值", v.Kind)
}

// allowed says what a flag takes, for an error message.
func allowed(f *flag.Flag) string {
	if isBool(f) {
		return "可用值：true 或 false"
	}
	if f.DefValue == "" {
		return "用途：" + f.Usage + "，默认不设置"
	}
	return fmt.Sprintf("用途：%s，默认 %s", f.Usage, strconv.Quote(f.DefValue))
}

// closest returns the flag name nearest to key (edit distance ≤ 2), or "".
func closest(fs *flag.FlagSet, key string) string {
	best, bestD := "", 3
	fs.VisitAll(func(f *flag.Flag) {
		if d := distance(key, f.Name); d < bestD {
			best, bestD = f.Name, d
		}
	})
	return best
}

// distance is the Levenshtein distance between a and b.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// Example writes a configuration file with every flag of fs as a commented-out key set to its default,
// preceded by its usage and environment variable, so that a technician uncomments what the box needs.
// skip names flags that have no place in a file (such as the file's own path).
func Example(w io.Writer, fs *flag.FlagSet, prefix, header string, skip ...string) error {
	var b bytes.Buffer
	for _, line := range strings.Split(strings.TrimRight(header, "\n"), "\n") {
		fmt.Fprintf(&b, "# %s\n", line)
	}
	omit := map[string]bool{}
	for _, s := range skip {
		omit[s] = true
	}
	fs.VisitAll(func(f *flag.Flag) {
		if omit[f.Name] {
			return
		}
		fmt.Fprintf(&b, "\n# %s（环境变量 %s）\n", f.Usage, EnvName(prefix, f.Name))
		if isBool(f) {
			def := f.DefValue
			if def == "" {
				def = "false"
			}
			fmt.Fprintf(&b, "# %s = %s\n", f.Name, def)
			return
		}
		fmt.Fprintf(&b, "# %s = %s\n", f.Name, strconv.Quote(f.DefValue))
	})
	_, err := w.Write(b.Bytes())
	return err
}
