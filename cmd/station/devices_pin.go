package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// `station devices pin ROLE DEVICE`: a stable name for one device by the USB port it is plugged into.
// The package's rules name every USB-serial bridge /dev/station-serial-<port>; pinning writes a local
// rule that also names the one at DEVICE's port by its role (/dev/station-idreader,
// /dev/station-ticket-printer), so the configuration can say idreader = "/dev/station-idreader" and
// the reader is found however the kernel numbers it after a replug.

// pinRoles are the roles a device can be pinned as, with the name it gets.
var pinRoles = map[string]string{
	"idreader":       "station-idreader",
	"ticket-printer": "station-ticket-printer",
}

// localRulesPath is the technician's rules file; the package never writes it and removal keeps it.
const localRulesPath = "/etc/udev/rules.d/62-station-local.rules"

const localRulesHeader = `# Stable names for this box's devices, written by "station devices pin" (one line per role).
# Each names the USB-serial device plugged into one USB port (ID_PATH_TAG) by its role.
`

// pinRule is the udev rule naming the tty at the USB port tag as link.
func pinRule(tag, link string) string {
	return fmt.Sprintf(`SUBSYSTEM=="tty", ENV{ID_PATH_TAG}=="%s", SYMLINK+="%s"`, tag, link)
}

// idPathTag reads ID_PATH_TAG from `udevadm info --query=property` output.
func idPathTag(props string) (string, error) {
	sc := bufio.NewScanner(strings.NewReader(props))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "ID_PATH_TAG="); ok && v != "" {
			return v, nil
		}
	}
	return "", errors.New("udev 没有给出此设备的 USB 端口（ID_PATH_TAG）：它不是 USB 串口设备？")
}

// withPin returns the rules file text with link's rule replaced by rule (other roles' lines and any
// other lines kept, in order).
func withPin(old, link, rule string) string {
	var lines []string
	for _, l := range strings.Split(old, "\n") {
		if l == "" || strings.HasPrefix(l, "#") || strings.Contains(l, `SYMLINK+="`+link+`"`) {
			continue
		}
		lines = append(lines, l)
	}
	lines = append(lines, rule)
	return localRulesHeader + strings.Join(lines, "\n") + "\n"
}

func devicesPin(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("station devices pin", flag.ContinueOnError)
	fs.SetOutput(stderr)
	rules := fs.String("rules", localRulesPath, "规则文件")
	if len(args) < 2 {
		fmt.Fprintln(stderr, "用法：station devices pin idreader|ticket-printer /dev/ttyUSB0 [--rules FILE]")
		return 2
	}
	role, dev := args[0], args[1]
	if err := fs.Parse(args[2:]); err != nil {
		return flagExit(err)
	}
	link, ok := pinRoles[role]
	if !ok {
		fmt.Fprintf(stderr, "未知的设备角色 %q：应为 idreader 或 ticket-printer\n", role)
		return 2
	}
	out, err := exec.Command("udevadm", "info", "--query=property", "--name="+dev).Output()
	if err != nil {
		fmt.Fprintf(stderr, "udevadm 查询 %s 失败：%v（设备是否插好？）\n", dev, err)
		return 1
	}
	tag, err := idPathTag(string(out))
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	old, err := os.ReadFile(*rules)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if err := os.MkdirAll(filepath.Dir(*rules), 0o755); err == nil {
		err = os.WriteFile(*rules, []byte(withPin(string(old), link, pinRule(tag, link))), 0o644)
	}
	if err != nil {
		fmt.Fprintf(stderr, "写入 %s 失败：%v\n", *rules, err)
		return 1
	}
	_ = execQuiet("udevadm", "control", "--reload-rules")
	_ = execQuiet("udevadm", "trigger", "--subsystem-match=tty")
	fmt.Fprintf(stdout, "已固定：插在此 USB 口（%s）上的设备名为 /dev/%s；配置文件中写 %s = \"/dev/%s\"\n", tag, link, role, link)
	return 0
}
