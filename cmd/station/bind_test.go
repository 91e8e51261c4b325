package main

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestATakenPortStopsTheStartBeforeItTouchesTheData: with the station's or the demo console's port
// held by another program, `station run --demo` says which address and which flag, in Chinese and
// English, exits 1, and leaves no data directory behind.
func TestATakenPortStopsTheStartBeforeItTouchesTheData(t *testing.T) {
	held, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	addr := held.Addr().String()
	t.Setenv("STATION_CONFIG", writeConfig(t, "# none\n"))
	for _, c := range []struct{ flag, listen, console string }{
		{"--listen", addr, "127.0.0.1:0"},
		{"--hub-console", "127.0.0.1:0", addr},
	} {
		t.Run(c.flag, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "data")
			code, _, stderr := runCLI(t, "run", "--demo", "--data", dir, "--listen", c.listen, "--hub-console", c.console)
			if code != 1 {
				t.Fatalf("exit %d, want 1: %s", code, stderr)
			}
			for _, want := range []string{"无法启动：" + addr + " 地址已被占用", "请用 " + c.flag + " 换一个地址", "address already in use", "cannot start: " + addr} {
				if !strings.Contains(stderr, want) {
					t.Errorf("stderr lacks %q:\n%s", want, stderr)
				}
			}
			if _, err := os.Stat(dir); err == nil {
				t.Error("the refused start created the data directory")
			}
		})
	}
}
