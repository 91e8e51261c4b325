package lantls_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestOnlyTheStandardLibrary fences the package: its certificates come from crypto/x509 and
// crypto/tls alone, and its one module dependency is the atomic file writer.
func TestOnlyTheStandardLibrary(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, p := range strings.Fields(string(out)) {
		if p != "github.com/civic-station/station/station/lantls" && p != "github.com/civic-station/station/internal/atomicfile" {
			t.Errorf("station/lantls depends on %s", p)
		}
	}
}
