package main

import (
	"flag"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/civic-station/station/station"
)

var updateREADME = flag.Bool("update-readme", false, "rewrite the README's demo facts from the demo's data")

// TestREADMEDescribesTheDemo keeps what the README says about the demo — the catalog's size and the
// console's accounts — the same as what the demo seeds: both come from cmd/station/demo/.
func TestREADMEDescribesTheDemo(t *testing.T) {
	var matters []station.Matter
	if err := decodeStrict(demoCatalog, &matters); err != nil {
		t.Fatal(err)
	}
	depts := map[string]bool{}
	for _, m := range matters {
		depts[m.Department] = true
	}
	users, err := demoHubUsers()
	if err != nil {
		t.Fatal(err)
	}
	var table strings.Builder
	table.WriteString("| account | role | department |\n|---|---|---|\n")
	for _, u := range users {
		dept := u.Department
		if dept == "" {
			dept = "（全市）"
		}
		fmt.Fprintf(&table, "| `%s` | %s | %s |\n", u.Username, u.DisplayName, dept)
	}
	want := map[string]string{
		"catalog":   fmt.Sprintf("%d community matters (事项) from %d departments", len(matters), len(depts)),
		"hub-users": "\n" + table.String(),
	}
	path := "../../README.md"
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	for name, body := range want {
		re := regexp.MustCompile(`(?s)(<!-- demo:` + name + ` -->)(.*?)(<!-- /demo:` + name + ` -->)`)
		m := re.FindStringSubmatch(text)
		if m == nil {
			t.Fatalf("README.md has no <!-- demo:%s --> block", name)
		}
		if m[2] == body {
			continue
		}
		if *updateREADME {
			text = re.ReplaceAllLiteralString(text, m[1]+body+m[3])
			continue
		}
		t.Errorf("README.md's demo:%s block says %q, the demo seeds %q (go test ./cmd/station -run READMEDescribes -update-readme)", name, m[2], body)
	}
	if *updateREADME {
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
