package sqlite_test

import (
	"context"
	"database/sql"
	"testing"

	"github.com/civic-station/station/station"
)

// tamper runs raw SQL against the database file behind the store's back, the way an intruder with
// file access would: it removes the append-only triggers first.
func tamper(t *testing.T, path string, stmts ...string) {
	t.Helper()
	raw, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	for _, s := range append([]string{`DROP TRIGGER audit_log_no_update`, `DROP TRIGGER audit_log_no_delete`}, stmts...) {
		if _, err := raw.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

func TestAuditLogRefusesUpdatesThroughSQL(t *testing.T) {
	f := newFixture(t)
	raw, err := sql.Open("sqlite", "file:"+f.db.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.Exec(`UPDATE audit_log SET actor = 'nobody' WHERE seq = 1`); err == nil {
		t.Fatal("an UPDATE of the audit log succeeded")
	}
	if _, err := raw.Exec(`DELETE FROM audit_log WHERE seq = 1`); err == nil {
		t.Fatal("a DELETE from the audit log succeeded")
	}
}

func TestAuditVerifyFindsTampering(t *testing.T) {
	cases := []struct {
		name    string
		stmts   []string
		wantBad int64
	}{
		{"an edited actor is found at its entry", []string{`UPDATE audit_log SET actor = 'someone-else' WHERE seq = 3`}, 3},
		{"an edited result is found at its entry", []string{`UPDATE audit_log SET result = 'ok' WHERE seq = 4`}, 4},
		{"an edit that recomputes nothing but the hash breaks the next link", []string{
			`UPDATE audit_log SET detail = 'x', hash = 'ffff' WHERE seq = 2`}, 2},
		{"a removed entry is found where the gap is", []string{`DELETE FROM audit_log WHERE seq = 3`}, 4},
		{"two swapped entries are found", []string{
			`UPDATE audit_log SET seq = 100 WHERE seq = 2`, `UPDATE audit_log SET seq = 2 WHERE seq = 3`, `UPDATE audit_log SET seq = 3 WHERE seq = 100`}, 2},
		{"entries cut from the end are found", []string{`DELETE FROM audit_log WHERE seq >= 5`}, 5},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t)
			ctx := context.Background()
			id := f.intake("MZ-001", validNumber(1))
			f.transition(reviewer, id, station.ActionPreReview, "")
			f.transition(staff, id, station.ActionForward, "") // refused, audited
			f.transition(reviewer, id, station.ActionForward, "")
			if r, err := f.db.VerifyAudit(ctx); err != nil || !r.OK || r.Entries != 5 {
				t.Fatalf("before tampering: %+v %v", r, err)
			}
			tamper(t, f.db.Path(), c.stmts...)
			r, err := f.db.VerifyAudit(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if r.OK {
				t.Fatal("verify did not notice")
			}
			if r.FirstBadSeq != c.wantBad {
				t.Fatalf("first bad seq = %d (%s), want %d", r.FirstBadSeq, r.Problem, c.wantBad)
			}
			if r.Problem == "" {
				t.Fatal("no problem described")
			}
		})
	}
}
