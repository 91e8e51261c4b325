package cert_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNoTransportStorageOrRendering fences the package: the certificate model holds no HTTP, SQL or PDF
// code, so the store, the HTTP layer and the renderer can all use it without pulling in each other.
func TestNoTransportStorageOrRendering(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	forbidden := []string{"net/http", "database/sql", "github.com/gofiber/", "modernc.org/sqlite", "github.com/hashicorp/raft",
		"github.com/civic-station/station/station/pdf", "github.com/civic-station/station/station/sqlite",
		"github.com/civic-station/station/station/http", "github.com/gen2brain/go-fitz"}
	for _, p := range strings.Fields(string(out)) {
		for _, f := range forbidden {
			if p == f || strings.HasPrefix(p, f) && (strings.HasSuffix(f, "/") || strings.HasPrefix(p, f+"/")) {
				t.Errorf("station/cert depends on %s", p)
			}
		}
	}
}
