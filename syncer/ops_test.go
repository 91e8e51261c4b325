package syncer_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/civic-station/station/station"
	"github.com/civic-station/station/syncer"
	"github.com/civic-station/station/syncer/hub"
	"github.com/civic-station/station/syncer/protocol"
)

var techActor = station.Actor{Username: "tech", Role: station.RoleTechnician}

func TestARetriedPoisonRecordIsSetAsideAgainAndStillBlocksNothing(t *testing.T) {
	clk := newClock()
	h := startHub(t, clk, nil)
	s := newStation(t, h, "幸福里服务站")
	for range 3 {
		s.intake("")
	}
	recs := wireRecords(t, s)
	forged := recs[1]
	forged.Payload = json.RawMessage(`{"application_id":"other"}`)
	forged.PayloadSHA256 = protocol.PayloadHash(forged.Payload)
	if code, _ := postRecords(t, rawClient(s.id), h.URL(), []protocol.Record{forged}); code != http.StatusOK {
		t.Fatalf("seeding the conflict: %d", code)
	}
	sy := s.syncer(nil)
	ctx := context.Background()
	if err := sy.SyncOnce(ctx); err != nil {
		t.Fatal(err)
	}
	// The technician retries it (say, after the data center asked to), and more records arrive behind it.
	s.submit(station.CmdOutboxRetry, techActor, station.OutboxRetry{Seqs: []int64{recs[1].Seq}})
	s.intake("")
	s.intake("")
	if st := s.stats(); st.Pending != 3 || st.DeadLetters != 0 {
		t.Fatalf("outbox after the retry = %+v", st)
	}
	if err := sy.SyncOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if st := s.stats(); st.Pending != 0 || st.DeadLetters != 1 || st.Acked != len(recs)-1+2 {
		t.Fatalf("outbox = %+v: the conflict must be set aside again and the records behind it delivered", st)
	}
	dead, err := s.db.DeadLetters(ctx)
	if err != nil || len(dead) != 1 || dead[0].Seq != recs[1].Seq || dead[0].Attempts != 2 || dead[0].Code != station.DeadConflict {
		t.Fatalf("dead letters = %+v, %v", dead, err)
	}
	st, err := sy.Status(ctx)
	if err != nil || st.DeadLetters != 1 || st.Pending != 0 || !st.Online || !st.Enrolled || st.StationName != "幸福里服务站" || st.BytesReceived == 0 {
		t.Errorf("status = %+v, %v", st, err)
	}
	if alerts := st.Alerts(clk.Now()); len(alerts) != 1 {
		t.Errorf("alerts = %q, want one for the dead letter", alerts)
	}
}

func TestARetriedRecordIsDeliveredOnceItsCauseIsFixed(t *testing.T) {
	clk := newClock()
	h := startHub(t, clk, nil)
	s := newStation(t, h, "幸福里服务站")
	scan := make([]byte, 5000)
	_, _ = rand.Read(scan)
	sum := sha256.Sum256(scan)
	sha := hex.EncodeToString(sum[:])
	s.intake(sha) // the scan is not in the blob store (lost in a disk swap, say)
	s.intake("")
	ctx := context.Background()
	sy := s.syncer(nil)
	if err := sy.SyncOnce(ctx); err != nil {
		t.Fatal(err)
	}
	dead, _ := s.db.DeadLetters(ctx)
	if len(dead) != 1 || dead[0].Code != station.DeadBlobMissing {
		t.Fatalf("dead letters = %+v", dead)
	}
	if st := s.stats(); st.Pending != 0 {
		t.Fatalf("the record behind the poison one was not delivered: %+v", st)
	}
	// The technician restores the scan from a backup and retries everything set aside.
	if got, _, err := s.blobs.Put(bytes.NewReader(scan)); err != nil || got != sha {
		t.Fatalf("restore: %s %v", got, err)
	}
	s.submit(station.CmdOutboxRetry, techActor, station.OutboxRetry{All: true})
	if err := sy.SyncOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if st := s.stats(); st.Pending != 0 || st.DeadLetters != 0 {
		t.Fatalf("outbox after the retry = %+v", st)
	}
	if !h.blobs.Has(sha) {
		t.Error("the hub does not hold the restored scan")
	}
	held, _ := h.store.Records(ctx, hub.RecordFilter{StationID: s.id.StationID})
	seen := map[string]int{}
	for _, r := range held {
		seen[r.ID]++
	}
	if seen[dead[0].ID] != 1 {
		t.Errorf("the retried record is held %d times, want once", seen[dead[0].ID])
	}
}

// TestTheSyncerUploadsUnderTheBandwidthCap sends a record with a scan through the real hub with a cap,
// with a limiter whose sleeps move the test clock instead of waiting, and checks the accounting.
func TestTheSyncerUploadsUnderTheBandwidthCap(t *testing.T) {
	clk := newClock()
	h := startHub(t, clk, nil)
	s := newStation(t, h, "幸福里服务站")
	const size = 400 << 10
	sha := s.putBlob(size)
	s.intake(sha)
	sched, err := syncer.ParseSchedule("00:00-24:00=128KiB/s")
	if err != nil {
		t.Fatal(err)
	}
	var slept time.Duration
	l := syncer.NewLimiter(sched, clk.Now, func(ctx context.Context, d time.Duration) error {
		slept += d
		clk.Advance(d)
		return ctx.Err()
	})
	sy := s.syncer(func(c *syncer.Config) { c.Limiter = l; c.ChunkSize = 64 << 10 })
	ctx := context.Background()
	if err := sy.SyncOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if !h.blobs.Has(sha) || s.stats().Pending != 0 {
		t.Fatalf("not delivered: blob %v, outbox %+v", h.blobs.Has(sha), s.stats())
	}
	st, _ := sy.Status(ctx)
	ls := l.Stats()
	if ls.Bytes < size || ls.Bytes < st.BytesSent+st.BytesReceived {
		t.Errorf("the limiter counted %d bytes; the syncer sent %d and received %d", ls.Bytes, st.BytesSent, st.BytesReceived)
	}
	const rate = 128 << 10
	if want := time.Duration(float64(ls.Bytes-rate/10) / rate * float64(time.Second)); ls.Waited < want-time.Millisecond || slept != ls.Waited {
		t.Errorf("the limiter slept %s (sleeper saw %s) for %d bytes at %d B/s; want at least %s", ls.Waited, slept, ls.Bytes, rate, want)
	}
	if st.BandwidthLimit != rate {
		t.Errorf("status bandwidth limit = %d", st.BandwidthLimit)
	}
}
