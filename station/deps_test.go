package station_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestStandardLibraryOnly fences the domain: package station may import only the standard library.
func TestStandardLibraryOnly(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, p := range strings.Fields(string(out)) {
		if p != "github.com/civic-station/station/station" {
			t.Errorf("package station depends on non-standard package %s", p)
		}
	}
}
