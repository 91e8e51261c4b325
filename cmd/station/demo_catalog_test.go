package main

import (
	"net/url"
	"testing"
)

// TestDemoCatalogSearchFindsThePlaceholdersExamples: the counter's search box suggests 「如 低保 /
// MZ-001 / dbsq」, and residents call matters by their everyday names; each must put the matter
// meant first in the demo catalog.
func TestDemoCatalogSearchFindsThePlaceholdersExamples(t *testing.T) {
	s := startStation(t)
	cases := []struct{ q, top string }{
		{"低保", "MZ-001"},
		{"MZ-001", "MZ-001"},
		{"dbsq", "MZ-001"},
		{"残疾证", "CL-001"},
		{"准生证", "WJ-001"},
		{"公租房", "ZJ-001"},
		{"gzf", "ZJ-001"},
		{"无房证明", "BDC-001"},
		{"居住证", "GA-002"},
		{"zdshbz", "MZ-001"},
	}
	for _, c := range cases {
		t.Run(c.q, func(t *testing.T) {
			r := s.do(t, "GET", "/api/v1/catalog/matters?q="+url.QueryEscape(c.q), "", nil)
			var list struct{ Items []struct{ Code, Name string } }
			r.json(t, &list)
			if r.status != 200 || len(list.Items) == 0 || list.Items[0].Code != c.top {
				t.Fatalf("q=%s: %d, top %v; want %s first", c.q, r.status, list.Items, c.top)
			}
		})
	}
}
