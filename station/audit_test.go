package station

import (
	"testing"
	"time"
)

func chain(n int) []AuditEntry {
	prev := AuditGenesis
	var out []AuditEntry
	for i := 1; i <= n; i++ {
		e := AuditEntry{Seq: int64(i), At: time.Date(2026, 11, 24, 9, 0, i, 0, time.UTC), Actor: "counter1",
			Role: RoleStaff, Action: "application.intake", Object: "application:x", Result: "ok", PrevHash: prev}
		e.Hash = e.ComputeHash()
		prev = e.Hash
		out = append(out, e)
	}
	return out
}

func verify(entries []AuditEntry, headSeq int64, headHash string) AuditReport {
	v := NewAuditVerifier()
	for _, e := range entries {
		v.Add(e)
	}
	return v.Finish(headSeq, headHash)
}

func TestAuditVerifier(t *testing.T) {
	good := chain(5)
	head := good[4]
	cases := []struct {
		name   string
		mutate func([]AuditEntry) []AuditEntry
		bad    int64
	}{
		{"an intact chain verifies", func(e []AuditEntry) []AuditEntry { return e }, 0},
		{"a changed field is found at its entry", func(e []AuditEntry) []AuditEntry { e[2].Actor = "x"; return e }, 3},
		{"fields shifted between columns are found", func(e []AuditEntry) []AuditEntry {
			e[1].Action, e[1].Object = e[1].Action+"a", e[1].Object[1:]
			return e
		}, 2},
		{"a removed entry is found", func(e []AuditEntry) []AuditEntry { return append(e[:1], e[2:]...) }, 3},
		{"swapped entries are found", func(e []AuditEntry) []AuditEntry { e[1], e[2] = e[2], e[1]; return e }, 3},
		{"a cut tail is found against the head", func(e []AuditEntry) []AuditEntry { return e[:3] }, 4},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := verify(c.mutate(append([]AuditEntry(nil), good...)), head.Seq, head.Hash)
			if r.OK != (c.bad == 0) || r.FirstBadSeq != c.bad {
				t.Fatalf("report = %+v, want first bad %d", r, c.bad)
			}
		})
	}
}
