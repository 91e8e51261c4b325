package syncer_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/tls"
	"database/sql"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/civic-station/station/station"
	"github.com/civic-station/station/syncer"
	"github.com/civic-station/station/syncer/hub"
	"github.com/civic-station/station/syncer/protocol"
)

func TestEnrollment(t *testing.T) {
	clk := newClock()
	h := startHub(t, clk, nil)
	ctx := context.Background()

	t.Run("a token enrolls a station once and its key and certificate are owner-only", func(t *testing.T) {
		dir := t.TempDir()
		tok := h.token(t, "幸福里服务站", time.Hour)
		id, err := syncer.Enroll(ctx, h.URL(), tok, dir, "v1")
		if err != nil {
			t.Fatal(err)
		}
		if id.StationID == "" || id.StationName != "幸福里服务站" {
			t.Errorf("identity = %+v", id)
		}
		for _, f := range []string{"station.key", "station.crt", "identity.json"} {
			fi, err := os.Stat(filepath.Join(dir, "sync", f))
			if err != nil || fi.Mode().Perm() != 0o600 {
				t.Errorf("%s: %v, mode %v", f, err, fi.Mode())
			}
		}
		if _, err := syncer.Enroll(ctx, h.URL(), tok, t.TempDir(), "v1"); station.ErrorCode(err) != station.EUNAUTHORIZED {
			t.Errorf("reused token: err = %v, want EUNAUTHORIZED", err)
		}
		if _, err := syncer.Enroll(ctx, h.URL(), h.token(t, "x", time.Hour), dir, "v1"); station.ErrorCode(err) != station.ECONFLICT {
			t.Errorf("enrolling an enrolled station: err = %v, want ECONFLICT", err)
		}
	})
	t.Run("an expired token is refused", func(t *testing.T) {
		tok := h.token(t, "过期站", time.Hour)
		clk.Advance(2 * time.Hour)
		if _, err := syncer.Enroll(ctx, h.URL(), tok, t.TempDir(), "v1"); station.ErrorCode(err) != station.EUNAUTHORIZED {
			t.Errorf("expired token: err = %v, want EUNAUTHORIZED", err)
		}
	})
	t.Run("a token pinned to another CA does not trust the hub", func(t *testing.T) {
		tok := h.token(t, "钓鱼站", time.Hour)
		secret, _, _ := strings.Cut(tok, ".")
		_, err := syncer.Enroll(ctx, h.URL(), secret+"."+strings.Repeat("ab", 32), t.TempDir(), "v1")
		if err == nil || !strings.Contains(err.Error(), "pin") {
			t.Errorf("wrong pin: err = %v", err)
		}
	})
}

// rawClient talks the protocol with a station's certificate, to send what a well-behaved syncer would not.
func rawClient(id *syncer.Identity) *http.Client {
	return &http.Client{Transport: &http.Transport{TLSClientConfig: id.TLSConfig()}}
}

func postRecords(t *testing.T, c *http.Client, url string, recs []protocol.Record) (int, protocol.RecordsResponse) {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_ = json.NewEncoder(zw).Encode(protocol.RecordsRequest{Records: recs})
	zw.Close()
	req, _ := http.NewRequest(http.MethodPost, url+protocol.PathRecords, &buf)
	req.Header.Set("Content-Encoding", "gzip")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out protocol.RecordsResponse
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func wireRecords(t *testing.T, s *testStation) []protocol.Record {
	t.Helper()
	recs, err := s.db.PendingOutbox(context.Background(), 1000)
	if err != nil {
		t.Fatal(err)
	}
	var out []protocol.Record
	for _, r := range recs {
		out = append(out, protocol.Record{Seq: r.Seq, ID: r.ID, Kind: r.Kind, OccurredAt: r.OccurredAt, Payload: r.Payload,
			PayloadSHA256: protocol.PayloadHash(r.Payload), Blobs: station.BlobRefs(r.Payload)})
	}
	return out
}

func TestUplinkDeliversOnceAndAResendIsSuccess(t *testing.T) {
	clk := newClock()
	h := startHub(t, clk, nil)
	s := newStation(t, h, "幸福里服务站")
	for range 3 {
		s.intake("")
	}
	recs := wireRecords(t, s)
	c := rawClient(s.id)
	code, first := postRecords(t, c, h.URL(), recs)
	if code != http.StatusOK || first.AckedThrough != recs[len(recs)-1].Seq {
		t.Fatalf("first upload: %d %+v", code, first)
	}
	// The acknowledgement was lost: the syncer sends everything again, and it all counts as delivered.
	sy := s.syncer(nil)
	if err := sy.SyncOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st := s.stats(); st.Pending != 0 || st.Acked != len(recs) {
		t.Errorf("outbox after resend = %+v", st)
	}
	held, err := h.store.Records(context.Background(), hub.RecordFilter{StationID: s.id.StationID})
	if err != nil || len(held) != len(recs) {
		t.Fatalf("hub holds %d records, want %d (%v)", len(held), len(recs), err)
	}
	for i, r := range held {
		if r.ID != recs[i].ID || r.Seq != recs[i].Seq || !bytes.Equal(r.Payload, recs[i].Payload) {
			t.Errorf("record %d = %s/%d, want %s/%d byte for byte", i, r.ID, r.Seq, recs[i].ID, recs[i].Seq)
		}
	}
	metrics := getMetrics(t, h)
	if !strings.Contains(metrics, "station_hub_records_duplicate_total 4") || !strings.Contains(metrics, "station_hub_records_ingested_total 4") {
		t.Errorf("metrics:\n%s", metrics)
	}
	st, err := h.store.Station(context.Background(), s.id.StationID)
	if err != nil || st.AckedThrough != recs[len(recs)-1].Seq || st.Version != "test" {
		t.Errorf("hub's view of the station = %+v, %v", st, err)
	}
	// The acknowledgement went through a command: it is in the audit log.
	entries, _, err := s.db.AuditEntries(context.Background(), station.AuditFilter{Action: string(station.CmdOutboxAck), Limit: 10})
	if err != nil || len(entries) != 1 {
		t.Errorf("outbox.ack audit entries = %d, %v", len(entries), err)
	}
}

func getMetrics(t *testing.T, h *testHub) string {
	t.Helper()
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: h.ca.Pool()}}}
	resp, err := c.Get(h.URL() + protocol.PathMetrics)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func TestConflictIsQuarantinedAndTheDeadLetterDoesNotBlock(t *testing.T) {
	clk := newClock()
	h := startHub(t, clk, nil)
	s := newStation(t, h, "幸福里服务站")
	for range 4 {
		s.intake("")
	}
	recs := wireRecords(t, s)
	// The hub already holds record 2's ID with other content (say, from a station restored from an old
	// backup that reused the ID).
	forged := recs[2]
	forged.Payload = json.RawMessage(`{"application_id":"other"}`)
	forged.PayloadSHA256 = protocol.PayloadHash(forged.Payload)
	if code, _ := postRecords(t, rawClient(s.id), h.URL(), []protocol.Record{forged}); code != http.StatusOK {
		t.Fatalf("seeding the conflict: %d", code)
	}

	if err := s.syncer(nil).SyncOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	st := s.stats()
	if st.Pending != 0 || st.DeadLetters != 1 || st.Acked != len(recs)-1 {
		t.Fatalf("outbox = %+v: the conflict must be set aside and the records behind it delivered", st)
	}
	dead, err := s.db.DeadLetters(context.Background())
	if err != nil || len(dead) != 1 || dead[0].Seq != recs[2].Seq || dead[0].Code != protocol.StatusConflict || dead[0].Message == "" {
		t.Fatalf("dead letters = %+v, %v", dead, err)
	}
	conf, err := h.store.Conflicts(context.Background(), s.id.StationID)
	if err != nil || len(conf) != 1 || conf[0].ID != recs[2].ID || !bytes.Equal(conf[0].Payload, recs[2].Payload) {
		t.Fatalf("hub conflicts = %+v, %v", conf, err)
	}
	held, _ := h.store.Records(context.Background(), hub.RecordFilter{StationID: s.id.StationID})
	for _, r := range held {
		if r.ID == forged.ID && !bytes.Equal(r.Payload, forged.Payload) {
			t.Errorf("the held record was overwritten: %s", r.Payload)
		}
	}
	// A new record after the dead letter goes through as usual.
	s.intake("")
	if err := s.syncer(nil).SyncOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st := s.stats(); st.Pending != 0 || st.DeadLetters != 1 {
		t.Errorf("outbox after a new record = %+v", st)
	}
}

func TestAStationCannotWriteAsAnother(t *testing.T) {
	clk := newClock()
	h := startHub(t, clk, nil)
	a := newStation(t, h, "甲站")
	b := newStation(t, h, "乙站")
	a.intake("")
	b.intake("")
	recsA := wireRecords(t, a)
	// Station B sends A's records: they are stored as B's, whatever they say.
	if code, resp := postRecords(t, rawClient(b.id), h.URL(), recsA); code != http.StatusOK || resp.AckedThrough == 0 {
		t.Fatalf("B's upload: %d %+v", code, resp)
	}
	heldA, _ := h.store.Records(context.Background(), hub.RecordFilter{StationID: a.id.StationID})
	heldB, _ := h.store.Records(context.Background(), hub.RecordFilter{StationID: b.id.StationID})
	if len(heldA) != 0 || len(heldB) != len(recsA) {
		t.Errorf("A holds %d, B holds %d: the certificate must decide the station", len(heldA), len(heldB))
	}
	// No certificate, or one the hub did not issue, gets nowhere.
	anon := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: h.ca.Pool()}}}
	if code, _ := postRecords(t, anon, h.URL(), recsA); code != http.StatusUnauthorized {
		t.Errorf("no certificate: %d, want 401", code)
	}
	stranger := newClock()
	other := startHub(t, stranger, nil)
	c := newStation(t, other, "外站")
	cfg := c.id.TLSConfig()
	cfg.RootCAs = h.ca.Pool()
	if _, err := (&http.Client{Transport: &http.Transport{TLSClientConfig: cfg}}).Get(h.URL() + protocol.PathChanges); err == nil {
		t.Errorf("a certificate from another CA was accepted")
	}
}

func TestResumableBlobUpload(t *testing.T) {
	clk := newClock()
	h := startHub(t, clk, nil)
	s := newStation(t, h, "幸福里服务站")
	const size, chunk = 1<<20 + 123, 64 << 10
	sha := s.putBlob(size)
	s.intake(sha)
	proxy := startCutProxy(t, h.Addr().String())
	proxy.budget.Store(200 << 10) // each connection dies after ~3 chunks
	sy := s.syncer(func(c *syncer.Config) { c.HubURL = proxy.URL(); c.ChunkSize = chunk })

	failures := 0
	for {
		err := sy.SyncOnce(context.Background())
		if err == nil {
			break
		}
		failures++
		if failures > 60 {
			t.Fatalf("no progress after %d interruptions: %v", failures, err)
		}
	}
	if failures < 3 {
		t.Fatalf("only %d interruptions; the test did not interrupt the upload", failures)
	}
	if !h.blobs.Has(sha) {
		t.Fatal("the hub does not hold the complete blob")
	}
	st, _ := sy.Status(context.Background())
	// Each interruption costs at most the chunk in flight; nothing starts over from zero.
	if limit := int64(size + failures*chunk + 4096); st.BytesSent > limit {
		t.Errorf("sent %d bytes for a %d-byte blob with %d interruptions (limit %d)", st.BytesSent, size, failures, limit)
	}
	if s.stats().Pending != 0 {
		t.Errorf("record not delivered: %+v", s.stats())
	}
}

func TestARecordCountsOnlyOnceItsBlobIsComplete(t *testing.T) {
	clk := newClock()
	h := startHub(t, clk, nil)
	s := newStation(t, h, "幸福里服务站")
	sha := s.putBlob(1000)
	s.intake(sha)
	code, resp := postRecords(t, rawClient(s.id), h.URL(), wireRecords(t, s))
	if last := resp.Results[len(resp.Results)-1]; code != http.StatusOK || last.Status != protocol.StatusMissingBlob || resp.AckedThrough >= last.Seq {
		t.Fatalf("record without its blob: %d %+v", code, resp)
	}
	// A station that lost the blob sets the record aside instead of retrying forever.
	if err := os.Remove(filepath.Join(s.dir, "blobs", sha[:2], sha[2:])); err != nil {
		t.Fatal(err)
	}
	if err := s.syncer(nil).SyncOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	if dead, _ := s.db.DeadLetters(context.Background()); len(dead) != 1 || dead[0].Code != "blob_missing" {
		t.Errorf("dead letters = %+v", dead)
	}
}

func TestA413HalvesTheBatch(t *testing.T) {
	clk := newClock()
	h := startHub(t, clk, func(c *hub.Config) { c.MaxBatchBytes = 6 << 10 })
	s := newStation(t, h, "幸福里服务站")
	for range 20 {
		s.intake("")
	}
	sy := s.syncer(func(c *syncer.Config) { c.MaxBatchBytes = 1 << 20 })
	if err := sy.SyncOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st := s.stats(); st.Pending != 0 || st.DeadLetters != 0 {
		t.Errorf("outbox = %+v", st)
	}
	if m := getMetrics(t, h); strings.Contains(m, "station_hub_batches_too_large_total 0") {
		t.Errorf("the hub never refused a batch; the test tests nothing:\n%s", m)
	}
}

func TestBusyHubAnswers503AndTheStationHonoursRetryAfter(t *testing.T) {
	clk := newClock()
	h := startHub(t, clk, func(c *hub.Config) { c.MaxActive = 1; c.RetryAfter = 7 * time.Second })
	s := newStation(t, h, "幸福里服务站")
	s.intake("")

	// Hold the only place: a chunk upload whose body never comes.
	pr, pw := io.Pipe()
	req, _ := http.NewRequest(http.MethodPatch, h.URL()+protocol.PathBlobs+strings.Repeat("a", 64), pr)
	req.Header.Set(protocol.HeaderUploadOffset, "0")
	req.Header.Set(protocol.HeaderUploadLength, "10")
	req.Header.Set(protocol.HeaderChunkSHA256, strings.Repeat("b", 64))
	held := make(chan struct{})
	go func() {
		defer close(held)
		if resp, err := rawClient(s.id).Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	waitFor(t, func() bool { return strings.Contains(getMetrics(t, h), "station_hub_active_syncs 1") })

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mu sync.Mutex
	var waits []time.Duration
	sy := s.syncer(func(c *syncer.Config) {
		c.Sleep = func(ctx context.Context, d time.Duration) error {
			mu.Lock()
			waits = append(waits, d)
			n := len(waits)
			mu.Unlock()
			switch {
			case n == 1:
				pw.CloseWithError(errors.New("released")) // the hub is free again
				<-held
				waitFor(t, func() bool { return strings.Contains(getMetrics(t, h), "station_hub_active_syncs 0") })
			case s.stats().Pending == 0 || n > 5:
				cancel()
			}
			return nil
		}
	})
	if err := sy.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if len(waits) < 2 || waits[0] < 7*time.Second || waits[0] >= 14*time.Second {
		t.Fatalf("waits = %v, want the hub's Retry-After (7s) plus a jitter below 7s first", waits)
	}
	if st := s.stats(); st.Pending != 0 {
		t.Errorf("not delivered after the hub freed up: %+v", st)
	}
	if m := getMetrics(t, h); strings.Contains(m, "station_hub_busy_total 0") {
		t.Errorf("no 503 counted:\n%s", m)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for range 500 {
		if cond() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("condition not reached")
}

func TestADepartmentDecisionReachesTheStationWithItsCursor(t *testing.T) {
	clk := newClock()
	h := startHub(t, clk, nil)
	s := newStation(t, h, "幸福里服务站")
	app := s.intake("")
	s.submit(station.CmdApplicationTransition, reviewerActor, station.ApplicationTransition{ApplicationID: app, Action: station.ActionPreReview})
	s.submit(station.CmdApplicationTransition, reviewerActor, station.ApplicationTransition{ApplicationID: app, Action: station.ActionForward})
	sy := s.syncer(nil)
	ctx := context.Background()
	if err := sy.SyncOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := h.PublishDecision(ctx, s.id.StationID, station.Decision{ApplicationID: "app-nope", Action: station.ActionApprove}); station.ErrorCode(err) != station.ENOTFOUND {
		t.Errorf("decision on an application the hub does not hold: %v", err)
	}
	seq, err := h.PublishDecision(ctx, s.id.StationID, station.Decision{ApplicationID: app, Action: station.ActionApprove, Department: "区民政局"})
	if err != nil {
		t.Fatal(err)
	}
	if err := sy.SyncOnce(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := s.db.Application(ctx, app)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != station.StatusApproved {
		t.Fatalf("status = %s, want approved", got.Status)
	}
	last := got.Timeline[len(got.Timeline)-1]
	if last.Role != station.RoleDepartment || last.Actor != "区民政局" || last.Action != station.ActionApprove {
		t.Errorf("last event = %+v", last)
	}
	cur, err := s.db.SyncCursor(ctx)
	if err != nil || cur.Cursor != formatInt(seq) {
		t.Errorf("cursor = %+v, want %d", cur, seq)
	}
	// The change and the cursor moved in one command: one audit entry, and replaying a page from an old
	// cursor is refused without touching anything.
	entries, _, _ := s.db.AuditEntries(ctx, station.AuditFilter{Action: string(station.CmdSyncApply), Limit: 10})
	if len(entries) != 1 || !strings.Contains(entries[0].Detail, "1 changes") {
		t.Errorf("sync.apply audit = %+v", entries)
	}
	d := station.Decision{ApplicationID: app, Action: station.ActionReject, Reason: "材料不全", Department: "区民政局"}
	stale, _ := station.NewCommand("stale-page", station.CmdSyncApply, clk.Now(), systemActor, station.SyncApply{FromCursor: "", Cursor: "99",
		Changes: []station.Change{{Key: "decision:" + app, Version: "reject", Type: station.ChangeDecision, Decision: &d}}})
	if _, err := s.db.Submit(ctx, stale); station.ErrorCode(err) != station.ECONFLICT {
		t.Errorf("stale page: %v, want ECONFLICT", err)
	}
	if again, _ := s.db.Application(ctx, app); again.Status != station.StatusApproved {
		t.Errorf("a refused page changed the application: %s", again.Status)
	}
	if st, _ := sy.Status(ctx); st.Drift {
		t.Errorf("drift after a clean sync: %+v", st)
	}
}

func formatInt(n int64) string { return strconv.FormatInt(n, 10) }

func TestDriftForcesAFullResyncThatConverges(t *testing.T) {
	clk := newClock()
	h := startHub(t, clk, nil)
	s := newStation(t, h, "幸福里服务站")
	ctx := context.Background()
	m := station.Matter{Code: "MZ-001", Name: "最低生活保障申请（新版）", Department: "区民政局", Category: "社会救助", Kind: station.KindCommitment,
		TimeLimitDays: 15, FeeNote: "不收费", Location: "一号窗口", Materials: []station.Material{{Code: "M1", Name: "居民身份证", Required: true}},
		Status: station.MatterActive, Version: 2}
	if _, err := hub.PublishMatter(ctx, h.store, m, clk.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := hub.PublishNotice(ctx, h.store, "", station.Notice{ID: "n1", Title: "春节期间服务安排"}, clk.Now()); err != nil {
		t.Fatal(err)
	}
	sy := s.syncer(nil)
	if err := sy.SyncOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.db.Matter(ctx, "MZ-001"); got.Version != 2 || got.TimeLimitDays != 15 {
		t.Fatalf("matter after sync = %+v", got)
	}
	// Someone edits the catalog behind the feed's back (an old backup, a manual fix).
	raw, err := sql.Open("sqlite", filepath.Join(s.dir, "station.db"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`UPDATE matters SET version = 1, time_limit_days = 30 WHERE code = 'MZ-001'`); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	if err := sy.SyncOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.db.Matter(ctx, "MZ-001"); got.Version != 2 || got.TimeLimitDays != 15 {
		t.Errorf("matter after resync = %+v", got)
	}
	st, _ := sy.Status(ctx)
	if st.Drift || st.Resyncs != 1 {
		t.Errorf("status after resync = %+v", st)
	}
	if n, _ := s.db.Notices(ctx, time.Now()); len(n) != 1 {
		t.Errorf("notices = %+v", n)
	}
}

func TestAcknowledgedRecordsArePrunedAfterTheRetention(t *testing.T) {
	clk := newClock()
	h := startHub(t, clk, nil)
	s := newStation(t, h, "幸福里服务站")
	s.intake("")
	sy := s.syncer(func(c *syncer.Config) { c.Retention = 24 * time.Hour; c.PruneEvery = time.Minute })
	ctx := context.Background()
	if err := sy.SyncOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if st := s.stats(); st.Acked != 2 {
		t.Fatalf("acked = %+v", st)
	}
	clk.Advance(25 * time.Hour)
	s.intake("")
	if err := sy.SyncOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if st := s.stats(); st.Acked != 1 || st.Pending != 0 {
		t.Errorf("after the retention: %+v (the two old records pruned, the new one kept)", st)
	}
}
