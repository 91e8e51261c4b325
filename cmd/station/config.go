package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"sort"

	"github.com/civic-station/station/internal/flagconf"
	"github.com/civic-station/station/station/lantls"
)

// The configuration file of `station run`: every flag is also a key of the file and a STATION_…
// variable (internal/flagconf), with the precedence flag > environment > file > default.

// envPrefix is the prefix of the station's environment variables (STATION_LISTEN, STATION_DATA, …).
const envPrefix = "STATION"

// configEnv names the file through the environment, as --config does on the command line.
const configEnv = "STATION_CONFIG"

// defaultConfigPath is where `station run` looks for its file when neither --config nor
// STATION_CONFIG names one: /etc/station/station.toml, or on Windows station.toml in the
// %ProgramData%\Station folder that also holds the data directory.
func defaultConfigPath() string {
	if runtime.GOOS == "windows" {
		base := os.Getenv("ProgramData")
		if base == "" {
			base = `C:\ProgramData`
		}
		return filepath.Join(base, "Station", "station.toml")
	}
	return "/etc/station/station.toml"
}

// exampleHeader heads the file `station config example` writes.
const exampleHeader = `Station 配置文件（station run 的参数）：/etc/station/station.toml
每个配置项是 station run 的一个参数，去掉行首的 # 即生效；未知的配置项会被拒绝。
优先级：命令行参数 > 环境变量（STATION_…）> 本文件 > 默认值。
修改后运行 station config check 检查，再重启服务。`

// checkedString is a string flag whose value is checked when it is set, so that a bad value in the
// configuration file is refused with its line rather than when the station starts.
type checkedString struct {
	s     *string
	check func(string) error
}

func (c checkedString) String() string {
	if c.s == nil {
		return ""
	}
	return *c.s
}

func (c checkedString) Set(v string) error {
	if err := c.check(v); err != nil {
		return err
	}
	*c.s = v
	return nil
}

// checkHostPort accepts HOST:PORT (HOST may be empty for every address).
func checkHostPort(v string) error {
	if _, _, err := net.SplitHostPort(v); err != nil {
		return errors.New("应为 主机:端口，如 127.0.0.1:8080 或 0.0.0.0:8080")
	}
	return nil
}

// configFile reads the configuration file: path given by --config or STATION_CONFIG (explicit: a
// missing file is an error), or the default path (a missing file is no file).
func configFile(path string, explicit bool) ([]byte, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) && !explicit {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("读取配置文件 %s 失败：%w", path, err)
	}
	return data, nil
}

// configFlag adds --config to a run flag set and returns a function that, after parsing, applies the
// file and the environment to the flags the command line left unset.
func configFlag(fset *flag.FlagSet, lookup func(string) (string, bool)) func() (string, map[string]flagconf.Source, error) {
	path := fset.String("config", "", "配置文件（TOML），默认 "+defaultConfigPath())
	return func() (string, map[string]flagconf.Source, error) {
		p, explicit := *path, *path != ""
		if !explicit {
			if v, ok := lookup(configEnv); ok && v != "" {
				p, explicit = v, true
			} else {
				p = defaultConfigPath()
			}
		}
		data, err := configFile(p, explicit)
		if err != nil {
			return p, nil, err
		}
		src, err := flagconf.Apply(fset, p, data, envPrefix, func(k string) (string, bool) {
			if k == configEnv {
				return "", false // --config's own variable is read above
			}
			return lookup(k)
		})
		return p, src, err
	}
}

// configCommand is `station config example|check|show`.
func configCommand(args []string, stdout, stderr io.Writer) int {
	const help = `用法：
  station config example                 输出带说明的示例配置文件（全部配置项）
  station config check [--config FILE]   检查配置文件：指出错误的配置项、所在行和可用的值
  station config show [--config FILE]    显示 station run 将使用的每个配置项及其来源
`
	if len(args) == 0 {
		fmt.Fprint(stderr, help)
		return 2
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, help)
		return 0
	case "example":
		if isHelp(args[1:]) {
			fmt.Fprint(stdout, help)
			return 0
		}
		return configExample(stdout, stderr)
	case "check", "show":
		return configCheck(args[0], args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "未知的子命令 config %q\n\n%s", args[0], help)
	return 2
}

// exampleConfig writes the example configuration file for fset, leaving out skip (and --config).
func exampleConfig(w io.Writer, fset *flag.FlagSet, skip ...string) error {
	return flagconf.Example(w, fset, envPrefix, exampleHeader, append(skip, "config")...)
}

func configExample(stdout, stderr io.Writer) int {
	if err := exampleConfig(stdout, runFlags(NewMain(), io.Discard)); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	return 0
}

// configCheck checks the file (check) or prints every key's value and source (show), with the
// environment applied as `station run` would.
func configCheck(what string, args []string, stdout, stderr io.Writer) int {
	m := NewMain()
	fset := runFlags(m, stderr)
	apply := configFlag(fset, os.LookupEnv)
	if err := fset.Parse(args); err != nil {
		return flagExit(err)
	}
	path, src, err := apply()
	var ps flagconf.Problems
	switch {
	case errors.As(err, &ps):
		for _, p := range ps {
			fmt.Fprintln(stderr, p.Error())
		}
		fmt.Fprintf(stderr, "配置有 %d 处错误\n", len(ps))
		return 1
	case err != nil:
		fmt.Fprintln(stderr, err)
		return 1
	}
	if what == "check" {
		if bad := combinationProblems(m, src); len(bad) > 0 {
			for _, b := range bad {
				fmt.Fprintf(stderr, "%s: %s\n", path, b)
			}
			fmt.Fprintf(stderr, "配置有 %d 处错误\n", len(bad))
			return 1
		}
		fmt.Fprintf(stdout, "配置正确：%s\n", describeFile(path))
		return 0
	}
	fmt.Fprintf(stdout, "# %s\n", describeFile(path))
	var names []string
	fset.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
	sort.Strings(names)
	for _, n := range names {
		if n == "config" {
			continue
		}
		fmt.Fprintf(stdout, "%-18s %-28q %s\n", n, fset.Lookup(n).Value.String(), src[n])
	}
	return 0
}

func describeFile(path string) string {
	if _, err := os.Stat(path); err != nil {
		return path + "（不存在，使用默认值和环境变量）"
	}
	return path
}

// combinationProblems are settings each valid on its own that `station run` refuses together or in
// this place, one line each naming the key, its value and where it came from.
func combinationProblems(m *Main, src map[string]flagconf.Source) []string {
	var out []string
	if checkPlainListen(m.Listen) != nil {
		out = append(out, fmt.Sprintf("配置项 \"listen\" = %q（来自 %s）不是本机地址：明文 HTTP 只供本机使用；局域网请用配置项 listen-https（如 \":8443\"），listen 改为 \"127.0.0.1:8080\"", m.Listen, src["listen"]))
	}
	switch {
	case (m.TLSCert == "") != (m.TLSKey == ""):
		out = append(out, "配置项 \"tls-cert\" 和 \"tls-key\" 须一起设置（自备证书及其私钥），或都不设置（使用本站自建的证书）")
	case m.TLSCert != "":
		if _, _, err := lantls.LoadKeyPair(m.TLSCert, m.TLSKey); err != nil {
			out = append(out, fmt.Sprintf("配置项 \"tls-cert\"/\"tls-key\" 无法载入：%v", err))
		}
	}
	return out
}
