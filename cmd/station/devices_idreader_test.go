package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/civic-station/station/devices/sim/samsim"
	"github.com/civic-station/station/station"
	"github.com/civic-station/station/station/sqlite"
)

// startIDReaderSim runs `station simulate idreader --link …` in the background and returns the link
// and control paths once the simulator answers.
func startIDReaderSim(t *testing.T, baud string) (link, control string) {
	t.Helper()
	dir := t.TempDir()
	link = filepath.Join(dir, "ttySAM")
	control = filepath.Join(dir, "sam.ctl")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	var out, errb bytes.Buffer
	go func() {
		done <- simulateIDReader(ctx, []string{"--link", link, "--control", control, "--baud", baud}, &out, &errb)
	}()
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("simulator exited %d: %s", code, errb.String())
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := samsim.Send(context.Background(), control, samsim.Request{Op: "status"}); err == nil {
			return link, control
		}
		if time.Now().After(deadline) {
			t.Fatalf("simulator did not start: %s", errb.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func runCmd(t *testing.T, f func(context.Context, []string, io.Writer, io.Writer) int, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := f(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func writeCard(t *testing.T, c samsim.Card) string {
	t.Helper()
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "card.json")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestDevicesTestIDReader(t *testing.T) {
	link, control := startIDReaderSim(t, "115200")
	resident := samsim.SampleCards()[0]
	foreign := samsim.SampleCards()[3]

	t.Run("with no card on the reader it fails with a Chinese message", func(t *testing.T) {
		code, _, stderr := runCmd(t, devicesTestIDReader, "--port", link)
		if code != 1 || !strings.Contains(stderr, "未检测到身份证，请将证件放在读卡区") {
			t.Fatalf("exit %d, stderr %q", code, stderr)
		}
	})

	if code, _, stderr := runCmd(t, simulateIDReader, "--control", control, "--place", writeCard(t, resident)); code != 0 {
		t.Fatalf("place: exit %d: %s", code, stderr)
	}

	t.Run("JSON output has the agreed keys and a masked number", func(t *testing.T) {
		code, stdout, stderr := runCmd(t, devicesTestIDReader, "--port", link, "--json")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		var got map[string]string
		if err := json.Unmarshal([]byte(stdout), &got); err != nil {
			t.Fatalf("%v in %s", err, stdout)
		}
		want := map[string]string{
			"card_type": "resident", "name": "张伟明", "name_en": "", "sex": "male", "ethnicity": "汉",
			"birth_date": "1985-03-17", "address": resident.Address,
			"id_number": station.MaskIDNumber(resident.IDNumber), "authority": "北京市公安局朝阳分局",
			"valid_from": "2015-06-01", "valid_to": "2035-06-01", "nationality": "",
		}
		if len(got) != len(want) {
			t.Errorf("keys %v", got)
		}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s = %q, want %q", k, got[k], v)
			}
		}
		if strings.Contains(stdout+stderr, resident.IDNumber) {
			t.Error("the full number was printed without --reveal")
		}
	})

	t.Run("--reveal without a station database to audit it in shows nothing", func(t *testing.T) {
		code, stdout, stderr := runCmd(t, devicesTestIDReader, "--port", link, "--json", "--reveal", "--data", t.TempDir())
		if code != 1 || strings.Contains(stdout+stderr, resident.IDNumber) {
			t.Fatalf("exit %d\nstdout %s\nstderr %s", code, stdout, stderr)
		}
	})

	t.Run("--reveal prints the full number, warns on stderr and is audited", func(t *testing.T) {
		dir := t.TempDir()
		if code := run(context.Background(), []string{"user", "add", "--data", dir, "--username", "zhangwei", "--role", "technician"},
			strings.NewReader("correct horse battery\n"), io.Discard, io.Discard); code != 0 {
			t.Fatal("could not create the station database")
		}
		code, stdout, stderr := runCmd(t, devicesTestIDReader, "--port", link, "--json", "--reveal", "--data", dir)
		if code != 0 || !strings.Contains(stdout, `"id_number": "`+resident.IDNumber+`"`) || !strings.Contains(stderr, "完整证件号码") {
			t.Fatalf("exit %d\nstdout %s\nstderr %s", code, stdout, stderr)
		}
		db, err := sqlite.Open(context.Background(), filepath.Join(dir, "station.db"), sqlite.ReadOnly())
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		entries, _, err := db.AuditEntries(context.Background(), station.AuditFilter{Action: "read.reveal"})
		if err != nil || len(entries) != 1 || entries[0].Actor != "console" || !strings.HasPrefix(entries[0].Object, "idcard:") {
			t.Fatalf("the reveal is not in the audit log: %+v %v", entries, err)
		}
	})

	t.Run("text output has Chinese labels", func(t *testing.T) {
		code, stdout, stderr := runCmd(t, devicesTestIDReader, "--port", link, "--baud", "115200")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		for _, want := range []string{"证件类型：居民身份证", "姓名：张伟明", "性别：男", "民族：汉", "出生日期：1985-03-17",
			"证件号码：" + station.MaskIDNumber(resident.IDNumber), "有效期限：2015-06-01 至 2035-06-01", "115200 baud"} {
			if !strings.Contains(stdout, want) {
				t.Errorf("output lacks %q:\n%s", want, stdout)
			}
		}
	})

	t.Run("a 2023 foreign permanent resident card shows its English name and nationality", func(t *testing.T) {
		code, stdout, stderr := runCmd(t, simulateIDReader, "--control", control, "--place", writeCard(t, foreign))
		if code != 0 || !strings.Contains(stdout, "已先取走原有的证件") {
			t.Fatalf("place on an occupied reader: exit %d, %q, %s; want that the old card was taken away", code, stdout, stderr)
		}
		code, stdout, stderr = runCmd(t, devicesTestIDReader, "--port", link, "--json")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		var got map[string]string
		if err := json.Unmarshal([]byte(stdout), &got); err != nil {
			t.Fatal(err)
		}
		if got["card_type"] != "foreign_pr_2023" || got["name_en"] != foreign.NameEN || got["nationality"] != "ESP" || got["sex"] != "female" {
			t.Errorf("got %v", got)
		}
	})

	t.Run("after --remove the reader reports no card", func(t *testing.T) {
		if code, _, stderr := runCmd(t, simulateIDReader, "--control", control, "--remove"); code != 0 {
			t.Fatalf("remove: %s", stderr)
		}
		if code, _, stderr := runCmd(t, devicesTestIDReader, "--port", link); code != 1 || !strings.Contains(stderr, "未检测到身份证") {
			t.Fatalf("exit %d: %s", code, stderr)
		}
	})

	t.Run("with no reader on the port it says so", func(t *testing.T) {
		code, _, stderr := runCmd(t, devicesTestIDReader, "--port", filepath.Join(t.TempDir(), "ttyUSB0"))
		if code != 1 || !strings.Contains(stderr, "未连接身份证读卡器") {
			t.Fatalf("exit %d: %s", code, stderr)
		}
	})

	t.Run("an unplugged simulator is not connected, and back after replug", func(t *testing.T) {
		if code, _, stderr := runCmd(t, simulateIDReader, "--control", control, "--unplug"); code != 0 {
			t.Fatalf("unplug: %s", stderr)
		}
		if code, _, stderr := runCmd(t, devicesTestIDReader, "--port", link); code != 1 || !strings.Contains(stderr, "未连接") {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		if code, _, stderr := runCmd(t, simulateIDReader, "--control", control, "--replug"); code != 0 {
			t.Fatalf("replug: %s", stderr)
		}
		if code, _, stderr := runCmd(t, simulateIDReader, "--control", control, "--index", "1"); code != 0 {
			t.Fatalf("place by index: %s", stderr)
		}
		if code, stdout, stderr := runCmd(t, devicesTestIDReader, "--port", link); code != 0 || !strings.Contains(stdout, "通行证号码：H12345678") {
			t.Fatalf("exit %d: %s%s", code, stdout, stderr)
		}
	})
}

func TestDevicesTestIDReaderProbesTheBaudRate(t *testing.T) {
	link, control := startIDReaderSim(t, "9600")
	if code, _, stderr := runCmd(t, simulateIDReader, "--control", control, "--index", "0"); code != 0 {
		t.Fatalf("place: %s", stderr)
	}
	code, stdout, stderr := runCmd(t, devicesTestIDReader, "--port", link)
	if code != 0 || !strings.Contains(stdout, "9600 baud") {
		t.Fatalf("exit %d: %s%s", code, stdout, stderr)
	}
}

func TestSimulateIDReaderUsage(t *testing.T) {
	tests := []struct {
		name string
		args []string
	}{
		{"no flags is a usage error", nil},
		{"placing and removing at once is a usage error", []string{"--control", "x", "--remove", "--unplug"}},
		{"a stray argument is a usage error", []string{"--link", "x", "extra"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if code, _, _ := runCmd(t, simulateIDReader, tt.args...); code != 2 {
				t.Fatalf("exit %d, want 2", code)
			}
		})
	}
	t.Run("controlling a simulator that is not running fails clearly", func(t *testing.T) {
		code, _, stderr := runCmd(t, simulateIDReader, "--control", filepath.Join(t.TempDir(), "none.ctl"), "--remove")
		if code != 1 || !strings.Contains(stderr, "找不到模拟读卡器") {
			t.Fatalf("exit %d: %s", code, stderr)
		}
	})
}
