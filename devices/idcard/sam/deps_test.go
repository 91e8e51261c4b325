package sam_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestCodecIsPure fences the codec: it may import only the standard library and the station's own
// domain packages, so the simulator and the fuzz tests never pull in serial or pty code.
func TestCodecIsPure(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	allowed := map[string]bool{
		"github.com/civic-station/station/station":            true,
		"github.com/civic-station/station/devices":            true,
		"github.com/civic-station/station/devices/idcard/sam": true,
	}
	for _, p := range strings.Fields(string(out)) {
		if !allowed[p] {
			t.Errorf("package sam depends on %s", p)
		}
	}
}
