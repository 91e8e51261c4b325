package flagconf

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"strings"
	"testing"
	"time"
)

// testFlags is a small `station run`: a string, a bool, an int and a duration flag.
type testFlags struct {
	listen  string
	demo    bool
	workers int
	idle    time.Duration
}

func newFlags() (*flag.FlagSet, *testFlags) {
	v := &testFlags{}
	fs := flag.NewFlagSet("station run", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&v.listen, "listen", "127.0.0.1:8080", "监听地址 HOST:PORT")
	fs.BoolVar(&v.demo, "demo", false, "演示模式")
	fs.IntVar(&v.workers, "workers", 4, "工作线程数")
	fs.DurationVar(&v.idle, "idle-timeout", 15*time.Minute, "空闲登出时间")
	return fs, v
}

func env(vars map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
}

func TestPrecedenceIsFlagThenEnvThenFileThenDefault(t *testing.T) {
	fs, v := newFlags()
	if err := fs.Parse([]string{"-listen", "0.0.0.0:9000"}); err != nil {
		t.Fatal(err)
	}
	file := []byte("listen = \"10.0.0.1:1\"\nworkers = 8\ndemo = true\n")
	src, err := Apply(fs, "station.toml", file, "STATION", env(map[string]string{"STATION_WORKERS": "16", "STATION_LISTEN": "10.0.0.2:2"}))
	if err != nil {
		t.Fatal(err)
	}
	if v.listen != "0.0.0.0:9000" || src["listen"] != FromFlag {
		t.Errorf("listen = %q from %s, want the command line's", v.listen, src["listen"])
	}
	if v.workers != 16 || src["workers"] != FromEnv {
		t.Errorf("workers = %d from %s, want the environment's 16", v.workers, src["workers"])
	}
	if !v.demo || src["demo"] != FromFile {
		t.Errorf("demo = %v from %s, want the file's true", v.demo, src["demo"])
	}
	if v.idle != 15*time.Minute || src["idle-timeout"] != FromDefault {
		t.Errorf("idle-timeout = %v from %s, want the default", v.idle, src["idle-timeout"])
	}
}

func TestProblemsNameTheKeyItsLineAndWhatIsAllowed(t *testing.T) {
	cases := []struct {
		name string
		file string
		line int
		want []string
		more int // problems after the first one
	}{
		{"an unknown key, with the nearest name", "demo = false\nlistn = \"x\"\n", 2, []string{`未知的配置项 "listn"`, `是不是 "listen"`}, 0},
		{"a key given twice", "workers = 2\n\nworkers = 3\n", 3, []string{`配置项 "workers" 重复（第 1 行已设置）`}, 0},
		{"a quoted bool", "demo = \"yes\"\n", 1, []string{`"demo" 的值无效`, "true 或 false"}, 0},
		{"a bool where text is wanted", "listen = true\n", 1, []string{`"listen" 的值无效`, "带引号的文字"}, 0},
		{"a value the flag refuses", "# comment\nidle-timeout = \"15 minutes\"\n", 2, []string{`"idle-timeout" 的值无效`, `默认 "15m0s"`}, 0},
		{"a table, and the key inside it", "[kiosk]\nrotation = 90\n", 1, []string{"不支持分节 [kiosk]"}, 1},
		{"a number where text is wanted", "listen = 8080\n", 1, []string{`"listen" 的值无效`, "带引号的文字"}, 0},
		{"an array", "listen = [\"a\", \"b\"]\n", 1, []string{"不支持数组"}, 0},
		{"a dotted key", "listen.port = 1\n", 1, []string{`未知的配置项 "listen.port"`}, 0},
		{"a syntax error", "demo = false\nlisten = \"unterminated\n", 2, []string{"TOML 格式错误"}, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fs, _ := newFlags()
			ps := Check(fs, "station.toml", []byte(c.file))
			if len(ps) != 1+c.more {
				t.Fatalf("problems = %v, want %d", ps, 1+c.more)
			}
			if ps[0].Line != c.line {
				t.Errorf("line = %d, want %d (%s)", ps[0].Line, c.line, ps[0])
			}
			for _, w := range c.want {
				if !strings.Contains(ps[0].Error(), w) {
					t.Errorf("%q lacks %q", ps[0].Error(), w)
				}
			}
			if !strings.HasPrefix(ps[0].Error(), "station.toml:") {
				t.Errorf("%q does not start with the file name", ps[0].Error())
			}
		})
	}
}

func TestApplyRefusesABadFileOrVariable(t *testing.T) {
	fs, _ := newFlags()
	_ = fs.Parse(nil)
	_, err := Apply(fs, "station.toml", []byte("workers = \"many\"\nbogus = 1\n"), "STATION", env(map[string]string{"STATION_DEMO": "perhaps"}))
	var ps Problems
	if !errors.As(err, &ps) || len(ps) != 3 {
		t.Fatalf("err = %v, want three problems", err)
	}
	text := err.Error()
	for _, w := range []string{"STATION_DEMO", `"perhaps"`, "station.toml:1:", `"workers"`, "station.toml:2:", `"bogus"`} {
		if !strings.Contains(text, w) {
			t.Errorf("%q lacks %q", text, w)
		}
	}
}

func TestAnEmptyOrMissingFileChangesNothing(t *testing.T) {
	for _, data := range [][]byte{nil, []byte("# only a comment\n\n")} {
		fs, v := newFlags()
		_ = fs.Parse(nil)
		src, err := Apply(fs, "station.toml", data, "STATION", env(nil))
		if err != nil || v.listen != "127.0.0.1:8080" || src["listen"] != FromDefault {
			t.Errorf("Apply(%q) = %v, %v; listen %q", data, src, err, v.listen)
		}
	}
}

func TestTheExampleIsAValidFileWithEveryKey(t *testing.T) {
	fs, _ := newFlags()
	var b bytes.Buffer
	if err := Example(&b, fs, "STATION", "Station 配置文件\n第二行"); err != nil {
		t.Fatal(err)
	}
	text := b.String()
	for _, w := range []string{"# Station 配置文件\n# 第二行\n", `# listen = "127.0.0.1:8080"`, "# demo = false", "STATION_IDLE_TIMEOUT", "# workers = \"4\""} {
		if !strings.Contains(text, w) {
			t.Errorf("example lacks %q:\n%s", w, text)
		}
	}
	// Uncommenting every key gives a file that checks clean and keeps the defaults.
	var uncommented []string
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(line, "# ") && strings.Contains(line, " = ") {
			line = strings.TrimPrefix(line, "# ")
		}
		uncommented = append(uncommented, line)
	}
	check, v := newFlags()
	if ps := Check(check, "example.toml", []byte(strings.Join(uncommented, "\n"))); ps != nil {
		t.Fatalf("the uncommented example has problems: %v", ps)
	}
	if v.workers != 4 || v.idle != 15*time.Minute {
		t.Errorf("the example's values are not the defaults: %+v", v)
	}
}

func TestEnvName(t *testing.T) {
	if got := EnvName("STATION", "disk-reserve"); got != "STATION_DISK_RESERVE" {
		t.Errorf("EnvName = %q", got)
	}
}
