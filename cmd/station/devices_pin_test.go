package main

import (
	"strings"
	"testing"
)

// udevadm info --query=property --name=/dev/ttyUSB0 for a CH340 reader on a Debian 12 box.
const ch340Props = `DEVPATH=/devices/pci0000:00/0000:00:14.0/usb1/1-2/1-2:1.0/ttyUSB0/tty/ttyUSB0
DEVNAME=/dev/ttyUSB0
MAJOR=188
MINOR=0
SUBSYSTEM=tty
ID_BUS=usb
ID_VENDOR_ID=1a86
ID_MODEL_ID=7523
ID_PATH=pci-0000:00:14.0-usb-0:2:1.0
ID_PATH_TAG=pci-0000_00_14_0-usb-0_2_1_0
DEVLINKS=/dev/serial/by-path/pci-0000:00:14.0-usb-0:2:1.0-port0 /dev/station-serial-pci-0000_00_14_0-usb-0_2_1_0
`

func TestPinningADeviceWritesOneRulePerRole(t *testing.T) {
	tag, err := idPathTag(ch340Props)
	if err != nil || tag != "pci-0000_00_14_0-usb-0_2_1_0" {
		t.Fatalf("tag %q %v", tag, err)
	}
	if _, err := idPathTag("DEVNAME=/dev/pts/3\nSUBSYSTEM=tty\n"); err == nil {
		t.Fatal("a pty got a USB port")
	}
	rules := withPin("", "station-idreader", pinRule(tag, "station-idreader"))
	rules = withPin(rules, "station-ticket-printer", pinRule("pci-0000_00_14_0-usb-0_3_1_0", "station-ticket-printer"))
	// The reader moves to another port: its line is replaced, the printer's kept.
	rules = withPin(rules, "station-idreader", pinRule("pci-0000_00_14_0-usb-0_4_1_0", "station-idreader"))
	lines := strings.Split(strings.TrimSpace(rules), "\n")
	var body []string
	for _, l := range lines {
		if !strings.HasPrefix(l, "#") {
			body = append(body, l)
		}
	}
	want := []string{
		`SUBSYSTEM=="tty", ENV{ID_PATH_TAG}=="pci-0000_00_14_0-usb-0_3_1_0", SYMLINK+="station-ticket-printer"`,
		`SUBSYSTEM=="tty", ENV{ID_PATH_TAG}=="pci-0000_00_14_0-usb-0_4_1_0", SYMLINK+="station-idreader"`,
	}
	if strings.Join(body, "\n") != strings.Join(want, "\n") {
		t.Fatalf("rules:\n%s", rules)
	}
	if code, _, errOut := runCLI(t, "devices", "pin", "scanner", "/dev/ttyUSB0"); code != 2 || !strings.Contains(errOut, "未知的设备角色") {
		t.Fatalf("unknown role: %d %s", code, errOut)
	}
}
