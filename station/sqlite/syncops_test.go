package sqlite_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/civic-station/station/station"
	"github.com/civic-station/station/station/datakey"
	"github.com/civic-station/station/station/diskspace"
	"github.com/civic-station/station/station/sqlite"
)

func TestDeadLettersCountAttemptsAndARetryPutsThemBack(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	number := validNumber(3)
	f.intake("RS-002", number)
	f.intake("RS-002", validNumber(4))
	pending, err := f.db.PendingOutbox(ctx, 10)
	if err != nil || len(pending) != 3 { // the catalog import and two intakes
		t.Fatalf("pending = %d, %v", len(pending), err)
	}
	poison := pending[1]
	setAside := func() {
		f.mustSubmit(station.CmdOutboxDeadLetter, system, station.OutboxDeadLetter{Records: []station.DeadLetter{
			{Seq: poison.Seq, Code: station.DeadConflict, Message: "数据中心已有同一编号的不同记录"}}})
	}
	setAside()

	dead, err := f.db.DeadLetters(ctx)
	if err != nil || len(dead) != 1 {
		t.Fatalf("dead letters = %+v, %v", dead, err)
	}
	d := dead[0]
	if d.Seq != poison.Seq || d.ID != poison.ID || d.Kind != string(station.CmdApplicationIntake) || d.Attempts != 1 ||
		d.Reason != station.DeadLetterReason(station.DeadConflict) || !d.At.Equal(f.now) {
		t.Errorf("dead letter = %+v", d)
	}
	if st, _ := f.db.OutboxStats(ctx); st.Pending != 2 || st.DeadLetters != 1 {
		t.Errorf("stats = %+v: a dead letter must not count as pending", st)
	}
	for _, key := range []string{poison.ID, "2"} {
		if got, err := f.db.DeadLetter(ctx, key); err != nil || got.Seq != poison.Seq {
			t.Errorf("DeadLetter(%q) = %+v, %v", key, got, err)
		}
	}
	if _, err := f.db.DeadLetter(ctx, "999"); station.ErrorCode(err) != station.ENOTFOUND {
		t.Errorf("DeadLetter(999) = %v", err)
	}

	t.Run("the export carries the payload as sent, with the ID number sealed", func(t *testing.T) {
		recs, err := f.db.DeadLetterRecords(ctx)
		if err != nil || len(recs) != 1 {
			t.Fatalf("records = %+v, %v", recs, err)
		}
		sum := sha256.Sum256(recs[0].Payload)
		if recs[0].PayloadSHA256 != hex.EncodeToString(sum[:]) || string(recs[0].Payload) != string(poison.Payload) {
			t.Errorf("payload %s, hash %s", recs[0].Payload, recs[0].PayloadSHA256)
		}
		if strings.Contains(string(recs[0].Payload), number) {
			t.Error("the exported payload holds the ID number in clear")
		}
	})

	t.Run("only technicians, station admins and the system may retry", func(t *testing.T) {
		if _, err := f.submit(station.CmdOutboxRetry, staff, station.OutboxRetry{Seqs: []int64{poison.Seq}}); station.ErrorCode(err) != station.EFORBIDDEN {
			t.Errorf("retry by staff = %v", err)
		}
		if _, err := f.submit(station.CmdOutboxRetry, tech, station.OutboxRetry{}); station.ErrorCode(err) != station.EINVALID {
			t.Errorf("retry of nothing = %v", err)
		}
		if _, err := f.submit(station.CmdOutboxRetry, tech, station.OutboxRetry{Seqs: []int64{1}, All: true}); station.ErrorCode(err) != station.EINVALID {
			t.Errorf("retry of some and all = %v", err)
		}
	})

	f.mustSubmit(station.CmdOutboxRetry, tech, station.OutboxRetry{Seqs: []int64{poison.Seq}})
	if st, _ := f.db.OutboxStats(ctx); st.Pending != 3 || st.DeadLetters != 0 {
		t.Fatalf("stats after a retry = %+v", st)
	}
	setAside() // refused again
	setAside() // the same answer twice does not count twice
	if dead, _ := f.db.DeadLetters(ctx); len(dead) != 1 || dead[0].Attempts != 2 {
		t.Fatalf("dead letters after a second refusal = %+v", dead)
	}
	f.mustSubmit(station.CmdOutboxRetry, admin, station.OutboxRetry{All: true})
	if st, _ := f.db.OutboxStats(ctx); st.Pending != 3 || st.DeadLetters != 0 {
		t.Fatalf("stats after retrying all = %+v", st)
	}
	entries, _, err := f.db.AuditEntries(ctx, station.AuditFilter{Action: string(station.CmdOutboxRetry), Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	ok := 0
	for _, e := range entries {
		if e.Result == "ok" {
			ok++
		}
	}
	if ok != 2 {
		t.Errorf("%d successful retries audited, want 2: %+v", ok, entries)
	}
}

// counts is what a refused command must leave untouched.
type counts struct {
	applications, audit, pending int
}

func (f *fixture) counts() counts {
	f.t.Helper()
	ctx := context.Background()
	_, apps, err := f.db.Applications(ctx, station.ApplicationFilter{Limit: 1})
	if err != nil {
		f.t.Fatal(err)
	}
	_, audit, err := f.db.AuditEntries(ctx, station.AuditFilter{Limit: 1})
	if err != nil {
		f.t.Fatal(err)
	}
	st, err := f.db.OutboxStats(ctx)
	if err != nil {
		f.t.Fatal(err)
	}
	return counts{applications: apps, audit: audit, pending: st.Pending}
}

// TestShortOfSpaceTheStoreRefusesInputAndKeepsSyncing uses the real free space of the test's
// temporary directory: a reserve above it stands for a full disk.
func TestShortOfSpaceTheStoreRefusesInputAndKeepsSyncing(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	guard := diskspace.New(dir, 0, diskspace.Options{})
	db, err := sqlite.Open(ctx, filepath.Join(dir, "station.db"), sqlite.WithSpaceGuard(guard))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	key, err := datakey.Load(filepath.Join(dir, "datakey"))
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, db: db, key: key, now: newFixture(t).now}
	f.mustSubmit(station.CmdCatalogImport, system, station.CatalogImport{Matters: testMatters()})
	app := f.intake("MZ-001", validNumber(1))
	pending, _ := db.PendingOutbox(ctx, 10)

	free, err := diskspace.Free(dir)
	if err != nil {
		t.Fatal(err)
	}
	guard.SetReserve(free + 1<<40)
	before := f.counts()
	sealed, _ := f.key.Seal(station.IDResident, validNumber(2))
	refused := []struct {
		kind    station.CommandKind
		actor   station.Actor
		payload any
	}{
		{station.CmdApplicationIntake, staff, station.ApplicationIntake{ApplicationID: "app-new", MatterCode: "RS-002",
			Applicant: station.Applicant{IDNumber: sealed, IDLast4: "0000", Name: "李四", Phone: "13800002222"},
			Materials: []station.MaterialCheck{{Code: "M1", Provided: true}}}},
		{station.CmdApplicationTransition, reviewer, station.ApplicationTransition{ApplicationID: app, Action: station.ActionForward}},
		{station.CmdResidentUpsert, staff, station.ResidentUpsert{ResidentID: "r-new", IDNumber: sealed, Name: "李四"}},
		{station.CmdApplicationMaterials, staff, station.ApplicationMaterials{ApplicationID: app}},
		{station.CmdCatalogImport, system, station.CatalogImport{Matters: testMatters()}},
	}
	for _, c := range refused {
		t.Run(string(c.kind)+" is refused with ESTORAGE", func(t *testing.T) {
			_, err := f.submit(c.kind, c.actor, c.payload)
			if station.ErrorCode(err) != station.ESTORAGE || !strings.Contains(station.ErrorMessage(err), "已有数据安全") {
				t.Fatalf("err = %v", err)
			}
		})
	}
	if after := f.counts(); after != before {
		t.Fatalf("counts changed by refused input: before %+v, after %+v", before, after)
	}
	if rep, err := db.VerifyAudit(ctx); err != nil || !rep.OK {
		t.Fatalf("audit chain = %+v, %v", rep, err)
	}

	t.Run("the sync bookkeeping and audit records of reads go on", func(t *testing.T) {
		f.mustSubmit(station.CmdAccessRecord, staff, station.AccessRecord{Object: "application:" + app, Purpose: "view"})
		f.mustSubmit(station.CmdOutboxDeadLetter, system, station.OutboxDeadLetter{Records: []station.DeadLetter{{Seq: pending[0].Seq, Code: "invalid", Message: "格式无效"}}})
		f.mustSubmit(station.CmdOutboxRetry, tech, station.OutboxRetry{All: true})
		f.mustSubmit(station.CmdOutboxAck, system, station.OutboxAck{ThroughSeq: pending[len(pending)-1].Seq})
		f.mustSubmit(station.CmdOutboxPrune, system, station.OutboxPrune{AckedBefore: f.now.Add(1)})
		f.mustSubmit(station.CmdSyncApply, system, station.SyncApply{FromCursor: "", Cursor: "1", Changes: []station.Change{{
			Key: "notice:n1", Version: "v1", Type: station.ChangeNotice,
			Notice: &station.Notice{ID: "n1", Title: "停电通知", Body: "周六上午停电", PublishedAt: f.now}}}})
		if n, _ := db.Notices(ctx, f.now); len(n) != 1 {
			t.Errorf("notices = %+v", n)
		}
		if st, _ := db.OutboxStats(ctx); st.Pending != 1 || st.Acked != 0 { // the access record waits; the rest was acked and pruned
			t.Errorf("outbox = %+v", st)
		}
	})

	guard.SetReserve(1 << 20)
	f.intake("RS-002", validNumber(5))
	if after := f.counts(); after.applications != before.applications+1 {
		t.Errorf("applications = %d after lowering the reserve, want %d", after.applications, before.applications+1)
	}
	if rep, err := db.VerifyAudit(ctx); err != nil || !rep.OK {
		t.Fatalf("audit chain = %+v, %v", rep, err)
	}
}

// TestNoticesShowBetweenPublicationAndExpiry: a kiosk shows a notice from its publication until its
// expiry; an expired one and one published for later are held but not shown.
func TestNoticesShowBetweenPublicationAndExpiry(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	day := 24 * time.Hour
	notice := func(id string, from, until time.Duration) station.Change {
		n := &station.Notice{ID: id, Title: "通知" + id, Body: "内容", PublishedAt: f.now.Add(from)}
		if until != 0 {
			n.ExpiresAt = f.now.Add(until)
		}
		return station.Change{Key: "notice:" + id, Version: "v1", Type: station.ChangeNotice, Notice: n}
	}
	f.mustSubmit(station.CmdSyncApply, system, station.SyncApply{FromCursor: "", Cursor: "1", Changes: []station.Change{
		notice("current", -day, 30*day), notice("expired", -40*day, -10*day), notice("future", 7*day, 0), notice("open", -2*day, 0),
	}})
	ids := func(at time.Time) string {
		ns, err := f.db.Notices(ctx, at)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, n := range ns {
			out = append(out, n.ID)
		}
		return strings.Join(out, ",")
	}
	if got := ids(f.now); got != "current,open" {
		t.Errorf("shown now: %s, want current,open", got)
	}
	if got := ids(f.now.Add(8 * day)); got != "future,current,open" {
		t.Errorf("shown in 8 days: %s, want future,current,open", got)
	}
	if got := ids(f.now.Add(31 * day)); got != "future,open" {
		t.Errorf("shown in 31 days: %s, want future,open", got)
	}
	// A notice that expires before it is published is refused (the page goes on; the change is
	// recorded as refused, and an update of a held notice to such a range leaves the held one).
	bad := notice("current", -day, -2*day)
	bad.Version = "v2"
	f.mustSubmit(station.CmdSyncApply, system, station.SyncApply{FromCursor: "1", Cursor: "2", Changes: []station.Change{bad}})
	if got := ids(f.now); got != "current,open" {
		t.Errorf("after a refused update: %s, want current,open", got)
	}
}
