package ipp_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDriverNeedsNoCgo fences the driver: it renders nothing itself (Options.Rasterize is injected),
// so no package outside the standard library that it depends on may use cgo, MuPDF least of all.
func TestDriverNeedsNoCgo(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}} {{len .CgoFiles}}{{end}}", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for line := range strings.Lines(string(out)) {
		path, cgoFiles, _ := strings.Cut(strings.TrimSpace(line), " ")
		if path == "" {
			continue
		}
		if cgoFiles != "0" || strings.Contains(path, "go-fitz") || strings.Contains(path, "station/pdf") {
			t.Errorf("package ipp depends on %s (%s cgo files)", path, cgoFiles)
		}
	}
}
