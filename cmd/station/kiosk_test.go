package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestKioskArgv(t *testing.T) {
	const url = "http://127.0.0.1:8080/kiosk"
	for _, c := range []struct {
		plan    kioskPlan
		rotates int
		blank   string
	}{
		{kioskPlan{URL: url}, 0, ""},
		{kioskPlan{URL: url, Rotation: 90}, 1, ""},
		{kioskPlan{URL: url, Rotation: 270, BlankMinutes: 10}, 3, "swayidle -w timeout 600 "},
	} {
		argv := kioskArgv(c.plan, "/usr/bin/chromium")
		line := strings.Join(argv, " ")
		rotates := 0
		for _, a := range argv {
			if a == "-r" {
				rotates++
			}
		}
		if argv[0] != "cage" || rotates != c.rotates {
			t.Errorf("%+v: %q rotates %d times, want %d", c.plan, line, rotates, c.rotates)
		}
		if argv[len(argv)-1] != url || !strings.Contains(line, " -- ") || !strings.Contains(line, "/usr/bin/chromium --kiosk ") ||
			!strings.Contains(line, "--incognito") || strings.Contains(line, "cage -s") {
			t.Errorf("%+v: %q", c.plan, line)
		}
		if got := strings.Contains(line, "swayidle"); got != (c.blank != "") || c.blank != "" && !strings.Contains(line, c.blank) {
			t.Errorf("%+v: blanking in %q, want %q", c.plan, line, c.blank)
		}
	}
}

// TestKioskSettingsAreConfigurationKeys: the screen settings are keys of station.toml, checked with
// the key's name and line, and `station run` accepts a file that sets them.
func TestKioskSettingsAreConfigurationKeys(t *testing.T) {
	_, out, _ := runCLI(t, "config", "example")
	for _, k := range []string{"kiosk-url", "kiosk-rotation", "kiosk-blank-minutes"} {
		if !strings.Contains(out, "# "+k+" = ") {
			t.Errorf("config example lacks %s", k)
		}
	}
	good := writeConfig(t, "kiosk-rotation = \"180\"\nkiosk-blank-minutes = \"15\"\nkiosk-url = \"http://127.0.0.1:8080/kiosk\"\n")
	if code, out, errOut := runCLI(t, "config", "check", "--config", good); code != 0 {
		t.Fatalf("good kiosk settings: %d %s %s", code, out, errOut)
	}
	bad := writeConfig(t, "kiosk-url = \"http://127.0.0.1:8080/kiosk\"\nkiosk-rotation = \"45\"\n")
	code, out, errOut := runCLI(t, "config", "check", "--config", bad)
	if code == 0 || !strings.Contains(out+errOut, ":2:") || !strings.Contains(out+errOut, "kiosk-rotation") || !strings.Contains(out+errOut, "0、90、180 或 270") {
		t.Fatalf("rotation 45: %d %s %s", code, out, errOut)
	}
}

func TestSystemdAcceptsTheKioskUnit(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze not installed")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	unit, err := renderKioskUnit(kioskUnitOptions{Executable: exe, Config: "/etc/station/station.toml", User: kioskUser})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"TTYPath=/dev/tty1", "Restart=always", "After=station.service", "kiosk run --config /etc/station/station.toml"} {
		if !strings.Contains(unit, want) {
			t.Errorf("unit lacks %q", want)
		}
	}
	verifyUnit(t, analyze, kioskUnitName, unit)
}

// TestTheKioskScreenWaitsForTheStation: waitForStation returns once the station behind the kiosk URL
// answers /readyz, and says so at once when the URL is not one.
func TestTheKioskScreenWaitsForTheStation(t *testing.T) {
	st := startStation(t)
	var out strings.Builder
	waitForStation(context.Background(), st.URL()+"/kiosk?idle=60", &out)
	if out.Len() != 0 {
		t.Fatalf("a running station: %q", out.String())
	}
	waitForStation(context.Background(), "http://[::1", &out)
	if !strings.Contains(out.String(), "kiosk-url 无效") {
		t.Fatalf("a malformed URL: %q", out.String())
	}
}

// The kiosk's Chromium policy turns the translate offer off, readable by the kiosk's user.
func TestTheKioskPolicyTurnsTranslationOff(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "policies", "managed")
	if err := writeChromiumPolicy(dir); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, chromiumPolicyFile)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var policy map[string]any
	if err := json.Unmarshal(data, &policy); err != nil {
		t.Fatalf("the policy is not JSON: %v: %s", err, data)
	}
	if v, ok := policy["TranslateEnabled"]; !ok || v != false || len(policy) != 1 {
		t.Fatalf("policy %v, want exactly TranslateEnabled false", policy)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o644 {
		t.Fatalf("the policy file: %v %v", fi, err)
	}
}
