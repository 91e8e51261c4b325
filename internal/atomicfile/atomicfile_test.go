package atomicfile_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/civic-station/station/internal/atomicfile"
)

func TestWriteFileReplacesContentWithTheGivenMode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	for _, content := range []string{"first", "second, longer"} {
		if err := atomicfile.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(path)
		if err != nil || string(got) != content {
			t.Fatalf("read %q, %v; want %q", got, err, content)
		}
	}
	fi, _ := os.Stat(path)
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v", fi.Mode().Perm())
	}
	if _, err := os.Stat(path + ".tmp"); !os.IsNotExist(err) {
		t.Fatal("the temporary file was left behind")
	}
}

func TestWriteFileIntoAMissingFolderFailsAndLeavesNothing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "missing", "state.json")
	if err := atomicfile.WriteFile(path, []byte("x"), 0o600); err == nil {
		t.Fatal("writing into a missing folder succeeded")
	}
}
