//go:build linux

package main

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// mountTmpfs mounts a small tmpfs at a new directory (root only) and unmounts it when the test ends.
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a tmpfs")
	}
	dir := filepath.Join(t.TempDir(), "small")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size+",mode=0700", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs here: %v %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", "-l", dir).Run() })
	return dir
}

func freeBytes(t *testing.T, dir string) int64 {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	return int64(st.Bavail) * st.Bsize
}

// TestATrulyFullDiskAnswersESTORAGEAndLosesNothing fills a real tmpfs (with the reserve off, so SQLite
// itself runs out of space): intake answers 507 ESTORAGE, never 500; /readyz says the store is
// degraded; every acknowledged application stays readable; signing in either works or says why; and
// all of it again after a restart on the full disk. Freeing space brings the station back.
func TestATrulyFullDiskAnswersESTORAGEAndLosesNothing(t *testing.T) {
	// 24 MB: the database, and the command log's first 8 MiB segment (allocated in full when created).
	dir := filepath.Join(mountTmpfs(t, "24m"), "data")
	configure := func(m *Main) { m.DiskReserve = 0 }
	s := startStationIn(t, dir, configure)
	counter := s.login(t, "counter1")
	// Leave about 400 KB, then take applications until the disk refuses one.
	filler := filepath.Join(filepath.Dir(dir), "filler")
	if err := os.WriteFile(filler, make([]byte, max(0, freeBytes(t, dir)-400<<10)), 0o600); err != nil {
		t.Fatal(err)
	}
	var acked []string
	refused := false
	for i := 0; i < 5000 && !refused; i++ {
		body := map[string]any{
			"matter_code": "MZ-001",
			"applicant":   map[string]string{"id_type": "resident", "id_number": validID("11010119900307" + pad3(i%1000)), "name": "张三丰", "phone": "13800001234"},
			"materials":   s.requiredMaterials(t, "MZ-001"),
			"note":        strings.Repeat("备注", 200),
		}
		r := s.do(t, "POST", "/api/v1/applications", counter, body)
		switch r.status {
		case http.StatusCreated:
			var a application
			r.json(t, &a)
			acked = append(acked, a.ID)
		case http.StatusInsufficientStorage:
			if code, msg := r.errorCode(t); code != "ESTORAGE" || !strings.Contains(msg, "已有数据安全") {
				t.Fatalf("the refusal is %s %q", code, msg)
			}
			refused = true
		default:
			t.Fatalf("intake %d on a filling disk: %d %s", i, r.status, r.body)
		}
	}
	if !refused || len(acked) == 0 {
		t.Fatalf("%d intakes acknowledged, refused %v: the disk never filled", len(acked), refused)
	}
	check := func(s *testStation, when string) {
		t.Helper()
		if r := s.do(t, "GET", "/readyz", "", nil); r.status != http.StatusServiceUnavailable && r.status != http.StatusOK {
			t.Errorf("%s: /readyz %d", when, r.status)
		}
		r := s.do(t, "POST", "/api/v1/sessions", "", map[string]string{"username": "review1", "password": demoPassword})
		token := ""
		switch r.status {
		case http.StatusCreated:
			var out struct{ Token string }
			r.json(t, &out)
			token = out.Token
		case http.StatusInsufficientStorage:
			if code, msg := r.errorCode(t); code != "ESTORAGE" || msg == "" {
				t.Errorf("%s: login refused with %s %q", when, code, msg)
			}
			token = counter // the session from before the disk filled
		default:
			t.Fatalf("%s: login answered %d %s", when, r.status, r.body)
		}
		// Reads that need no audit entry go on; a staff read of a person's application is audited, so
		// on a full disk it is refused with the reason rather than made unaudited.
		if r := s.do(t, "GET", "/api/v1/catalog/matters?q=低保", "", nil); r.status != http.StatusOK {
			t.Errorf("%s: the service guide: %d %s", when, r.status, r.body)
		}
		r = s.do(t, "GET", "/api/v1/applications/"+acked[0], token, nil)
		if code, _ := r.errorCode(t); r.status != http.StatusOK && code != "ESTORAGE" {
			t.Errorf("%s: a staff read answered %d %s", when, r.status, r.body)
		}
	}
	readAll := func(s *testStation, token string) {
		t.Helper()
		for _, id := range acked {
			if r := s.do(t, "GET", "/api/v1/applications/"+id, token, nil); r.status != http.StatusOK {
				t.Fatalf("acknowledged application %s after space was freed: %d %s", id, r.status, r.body)
			}
		}
	}
	if r := s.do(t, "GET", "/readyz", "", nil); r.status != http.StatusServiceUnavailable {
		t.Errorf("/readyz on a full disk: %d, want 503", r.status)
	}
	check(s, "full disk")
	if err := s.Close(); err != nil {
		t.Logf("close on a full disk: %v", err)
	}
	s2 := startStationIn(t, dir, configure)
	check(s2, "after a restart on the full disk")
	os.Remove(filler)
	counter = s2.login(t, "counter1")
	if r := s2.do(t, "POST", "/api/v1/applications", counter, map[string]any{
		"matter_code": "MZ-001",
		"applicant":   map[string]string{"id_type": "resident", "id_number": validID("11010119900307999"), "name": "张三丰", "phone": "13800001234"},
		"materials":   s2.requiredMaterials(t, "MZ-001"),
	}); r.status != http.StatusCreated {
		t.Errorf("intake after space was freed: %d %s", r.status, r.body)
	}
	if r := s2.do(t, "GET", "/readyz", "", nil); r.status != http.StatusOK {
		t.Errorf("/readyz after space was freed: %d", r.status)
	}
	readAll(s2, counter)
}

func pad3(n int) string { return fmt.Sprintf("%03d", n) }
