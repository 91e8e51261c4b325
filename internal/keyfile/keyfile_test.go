package keyfile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRead(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k")
	made := 0
	create := func(p string) error { made++; return os.WriteFile(p, []byte("secret"), 0o600) }
	for range 2 {
		b, err := Read(path, "test key", create)
		if err != nil || string(b) != "secret" {
			t.Fatalf("read: %q %v", b, err)
		}
	}
	if made != 1 {
		t.Fatalf("created %d times, want once", made)
	}
	if err := os.Chmod(path, 0o640); err != nil {
		t.Fatal(err)
	}
	if _, err := Read(path, "test key", create); err == nil || !strings.Contains(err.Error(), "test key") || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("a group-readable key: %v", err)
	}
}
