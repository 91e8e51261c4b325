package raft_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	hraft "github.com/hashicorp/raft"

	"github.com/civic-station/station/station"
	sraft "github.com/civic-station/station/station/raft"
)

// testTiming is a LAN's failure detection, scaled down for tests.
var testTiming = sraft.Timing{Heartbeat: 100 * time.Millisecond, Election: 100 * time.Millisecond, LeaderLease: 100 * time.Millisecond}

// cluster is several boxes in one process on in-memory transports that the test can cut.
type cluster struct {
	t     *testing.T
	boxes []*box
	cfg   sraft.Config
}

func newCluster(t *testing.T, voters, nonvoters int, cfg sraft.Config) *cluster {
	t.Helper()
	if cfg.Timing == (sraft.Timing{}) {
		cfg.Timing = testTiming
	}
	c := &cluster{t: t, cfg: cfg}
	for i := range voters + nonvoters {
		b := newBox(t, fmt.Sprintf("box%d", i+1))
		c.boxes = append(c.boxes, b)
	}
	for i, b := range c.boxes {
		c.up(b, i > 0)
	}
	submit(t, c.boxes[0].node, command(t, station.CmdCatalogImport, system, station.CatalogImport{Matters: matters()}))
	// As the station's join does: a non-voter first, a voter once it has caught up, one box at a time
	// (a voter that is still installing its snapshot would hold up the next change's commit).
	ctx := context.Background()
	for i, b := range c.boxes[1:] {
		c.change("add "+b.id, func(l *box) error { return l.node.AddMember(ctx, b.id, b.id, false) })
		end := time.Now().Add(10 * time.Second)
		for appliedIndex(t, b.db) < appliedIndex(t, c.leader(5*time.Second).db) {
			if time.Now().After(end) {
				t.Fatalf("%s did not catch up", b.id)
			}
			time.Sleep(5 * time.Millisecond)
		}
		if i+1 < voters {
			c.change("promote "+b.id, func(l *box) error { return l.node.Promote(ctx, b.id) })
		}
	}
	return c
}

// change makes a membership change through whichever box leads: on a busy machine (-race, two
// cores, other packages' tests) a leader can lose its lease while it commits a change, and a change
// that failed so is made again through the next leader.
func (c *cluster) change(what string, do func(l *box) error) {
	c.t.Helper()
	end := time.Now().Add(20 * time.Second)
	for {
		err := do(c.leader(5 * time.Second))
		if err == nil || errors.Is(err, sraft.ErrTwoVoters) {
			return
		}
		if (!errors.Is(err, hraft.ErrLeadershipLost) && !errors.Is(err, hraft.ErrNotLeader)) || time.Now().After(end) {
			c.t.Fatalf("%s: %v", what, err)
		}
		c.t.Logf("%s: %v; again", what, err)
	}
}

// up starts b on a fresh transport connected both ways to every box that runs.
func (c *cluster) up(b *box, join bool) {
	c.t.Helper()
	_, b.trans = hraft.NewInmemTransportWithTimeout(hraft.ServerAddress(b.id), 200*time.Millisecond)
	for _, o := range c.boxes {
		if o != b && o.node != nil {
			b.trans.Connect(hraft.ServerAddress(o.id), o.trans)
			o.trans.Connect(hraft.ServerAddress(b.id), b.trans)
		}
	}
	cfg := c.cfg
	cfg.Join = join
	b.start(cfg)
}

// cut isolates b: no raft traffic reaches it or leaves it.
func (c *cluster) cut(b *box) {
	b.trans.DisconnectAll()
	for _, o := range c.boxes {
		if o != b && o.trans != nil {
			o.trans.Disconnect(hraft.ServerAddress(b.id))
		}
	}
}

// heal reconnects b to every box that runs.
func (c *cluster) heal(b *box) {
	for _, o := range c.boxes {
		if o != b && o.node != nil {
			b.trans.Connect(hraft.ServerAddress(o.id), o.trans)
			o.trans.Connect(hraft.ServerAddress(b.id), b.trans)
		}
	}
}

// kill cuts b off and stops it, as a box whose power goes: no handover reaches anyone.
func (c *cluster) kill(b *box) {
	c.cut(b)
	b.stop()
}

// leader waits for a running box that leads, and returns it.
func (c *cluster) leader(timeout time.Duration) *box {
	c.t.Helper()
	end := time.Now().Add(timeout)
	for time.Now().Before(end) {
		for _, b := range c.boxes {
			if b.node != nil && b.node.Raft().State() == hraft.Leader {
				return b
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	c.t.Fatalf("no leader within %v", timeout)
	return nil
}

// settle waits until every running box has applied what the leader has.
func (c *cluster) settle(timeout time.Duration) {
	c.t.Helper()
	end := time.Now().Add(timeout)
	l := c.leader(timeout)
	if err := l.node.Raft().Barrier(timeout).Error(); err != nil {
		c.t.Fatal(err)
	}
	// What the leader's store holds (raft's own applied index counts entries handed to the state
	// machine, not entries it has finished applying).
	want := appliedIndex(c.t, l.db)
	for {
		behind := ""
		for _, b := range c.boxes {
			if b.node != nil && appliedIndex(c.t, b.db) < want {
				behind = b.id
			}
		}
		if behind == "" {
			return
		}
		if time.Now().After(end) {
			c.t.Fatalf("%s has not caught up with the leader within %v", behind, timeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// writer submits intakes to whichever box leads until stopped, and records which were acknowledged.
type writer struct {
	mu    sync.Mutex
	acked []string // application IDs
	by    []string // the box that acknowledged each
	at    []time.Time
	tried int
	errs  map[string]int
}

func (w *writer) run(t *testing.T, c *cluster, stop <-chan struct{}, first int) {
	seq := first
	for {
		select {
		case <-stop:
			return
		default:
		}
		var l *sraft.Node
		var lid string
		for _, b := range c.boxes {
			if n := b.running(); n != nil && n.Raft().State() == hraft.Leader {
				l, lid = n, b.id
			}
		}
		if l == nil {
			time.Sleep(2 * time.Millisecond)
			continue
		}
		seq++
		cmd := intake(t, seq)
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, err := l.Submit(ctx, cmd)
		cancel()
		w.mu.Lock()
		w.tried++
		if err == nil {
			w.acked = append(w.acked, fmt.Sprintf("app-%d", seq))
			w.by = append(w.by, lid)
			w.at = append(w.at, time.Now())
		} else {
			if w.errs == nil {
				w.errs = map[string]int{}
			}
			w.errs[station.ErrorCode(err)]++
		}
		w.mu.Unlock()
	}
}

func TestKillingTheLeaderMidStreamLosesNoAcknowledgedWrite(t *testing.T) {
	c := newCluster(t, 3, 0, sraft.Config{})
	stop := make(chan struct{})
	w := &writer{}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		w.run(t, c, stop, 1000)
	}()
	var failovers []time.Duration
	for range 4 {
		time.Sleep(150 * time.Millisecond)
		old := c.leader(5 * time.Second)
		killed := time.Now()
		c.kill(old)
		// A new leader among the two left, and a write through it.
		for took := time.Duration(0); took == 0; {
			w.mu.Lock()
			for i := len(w.at) - 1; i >= 0 && w.at[i].After(killed); i-- {
				if w.by[i] != old.id {
					took = w.at[i].Sub(killed)
				}
			}
			w.mu.Unlock()
			if time.Since(killed) > 10*time.Second {
				t.Fatalf("no write acknowledged within 10 s of killing the leader %s", old.id)
			}
			if took > 0 {
				failovers = append(failovers, took)
			}
			time.Sleep(time.Millisecond)
		}
		c.up(old, true) // it comes back and catches up
	}
	close(stop)
	wg.Wait()
	c.settle(10 * time.Second)
	t.Logf("failover (leader killed to the next acknowledged write): %v; %d writes tried, %d acknowledged, refusals by code %v",
		failovers, w.tried, len(w.acked), w.errs)
	for _, b := range c.boxes {
		for _, id := range w.acked {
			if _, err := b.db.Application(context.Background(), id); err != nil {
				t.Fatalf("%s lost acknowledged application %s: %v", b.id, id, err)
			}
		}
		audit, err := b.db.VerifyAudit(context.Background())
		if err != nil || !audit.OK {
			t.Fatalf("%s: audit chain %+v %v", b.id, audit, err)
		}
	}
	// Every box holds the same state: the same applications and the same audit head.
	want := countApplications(t, c.boxes[0].db)
	head0, _ := c.boxes[0].db.VerifyAudit(context.Background())
	for _, b := range c.boxes[1:] {
		if got := countApplications(t, b.db); got != want {
			t.Fatalf("%s has %d applications, box1 %d", b.id, got, want)
		}
		if head, _ := b.db.VerifyAudit(context.Background()); head.Entries != head0.Entries {
			t.Fatalf("%s has %d audit entries, box1 %d", b.id, head.Entries, head0.Entries)
		}
	}
}

func TestAMinorityRefusesWritesAndCatchesUpAfterHealing(t *testing.T) {
	c := newCluster(t, 3, 0, sraft.Config{})
	for i := range 5 {
		submit(t, c.leader(time.Second).node, intake(t, 2000+i))
	}
	c.settle(5 * time.Second)
	lonely := c.leader(time.Second) // the leader itself ends up in the minority
	c.cut(lonely)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	_, err := lonely.node.Submit(ctx, intake(t, 2100))
	cancel()
	var de *station.Error
	if !errors.As(err, &de) || de.Code != station.EUNAVAILABLE {
		t.Fatalf("a write on the minority side: want EUNAVAILABLE, got %v", err)
	}
	// The majority elects a leader and takes writes.
	var majority *box
	end := time.Now().Add(5 * time.Second)
	for majority == nil && time.Now().Before(end) {
		for _, b := range c.boxes {
			if b != lonely && b.node.Raft().State() == hraft.Leader {
				majority = b
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	if majority == nil {
		t.Fatal("the majority elected no leader")
	}
	for i := range 5 {
		submit(t, majority.node, intake(t, 2200+i))
	}
	c.heal(lonely)
	c.settle(5 * time.Second)
	if got := countApplications(t, lonely.db); got != 10 {
		t.Fatalf("the healed box has %d applications, want 10", got)
	}
	if _, err := lonely.db.Application(context.Background(), "app-2100"); err == nil {
		t.Fatal("the write refused on the minority side was applied after all")
	}
}

// A kiosk switched off for the night joins as a non-voter; while it is off the log is compacted past
// what it had, so it catches up by a snapshot.
func TestANonVoterOffForTheNightCatchesUpBySnapshot(t *testing.T) {
	// Small log segments: the log drops only whole segments, so a big one would keep the kiosk's entries.
	c := newCluster(t, 1, 1, sraft.Config{SnapshotThreshold: 20, TrailingLogs: 5, SegmentSize: 16 << 10})
	kiosk := c.boxes[1]
	submit(t, c.boxes[0].node, intake(t, 3000))
	c.settle(5 * time.Second)
	if got := countApplications(t, kiosk.db); got != 1 {
		t.Fatalf("the kiosk has %d applications, want 1", got)
	}
	c.kill(kiosk)
	for i := range 150 {
		submit(t, c.boxes[0].node, intake(t, 3001+i))
	}
	if err := c.boxes[0].node.Raft().Snapshot().Error(); err != nil {
		t.Fatal(err)
	}
	c.up(kiosk, true)
	c.settle(10 * time.Second)
	if got := countApplications(t, kiosk.db); got != 151 {
		t.Fatalf("the kiosk has %d applications after the night, want 151", got)
	}
	if kiosk.node.Raft().Stats()["last_snapshot_index"] == "0" {
		t.Fatal("the kiosk caught up without a snapshot: the test did not compact the log past it")
	}
}

func TestEveryBoxRestartingKeepsTheState(t *testing.T) {
	c := newCluster(t, 3, 0, sraft.Config{})
	for i := range 10 {
		submit(t, c.leader(time.Second).node, intake(t, 4000+i))
	}
	c.settle(5 * time.Second)
	for _, b := range c.boxes {
		c.kill(b)
	}
	for _, b := range c.boxes {
		c.up(b, true)
	}
	submit(t, c.leader(10*time.Second).node, intake(t, 4100))
	c.settle(5 * time.Second)
	for _, b := range c.boxes {
		if got := countApplications(t, b.db); got != 11 {
			t.Fatalf("%s has %d applications after everyone restarted, want 11", b.id, got)
		}
	}
}
