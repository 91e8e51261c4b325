package main

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkFailover measures the station's failover as a distribution: three `station run`
// processes on the cluster's TLS port with the production timing (sraft.DefaultTiming: a 500 ms
// heartbeat and election timeout), a clerk on every box taking applications without pause; each
// round SIGKILLs the leader (no handover: a power cut) and times the kill to the first acknowledged
// intake that started after it on another box, then starts the killed box again and waits until it
// is a voter that has caught up. `make bench-failover` runs 20 rounds; docs/BENCHMARKS.md has the
// figures.
func BenchmarkFailover(b *testing.B) {
	r := newProcRig(b)
	work := b.TempDir()
	p := startProcStation(b, r, work)
	boxes := p.boxes
	for _, bx := range boxes[1:] {
		r.join(b, boxes[0], bx)
	}
	var k atomic.Int64
	var times []time.Duration
	b.ResetTimer()
	for round := range b.N {
		st, ok := r.clusterStatus(boxes[0])
		if !ok || st.Leader == "" {
			b.Fatalf("round %d: no leader: %+v", round, st)
		}
		leader := boxes[slices.IndexFunc(boxes, func(x *procBox) bool { return x.name == st.Leader })]

		ilog := &intakeLog{}
		ctx, stop := context.WithCancel(context.Background())
		var writers sync.WaitGroup
		for _, bx := range boxes {
			writers.Add(1)
			go func() {
				defer writers.Done()
				for i := 0; ctx.Err() == nil; i++ {
					tr := bx.intake(fmt.Sprintf("切换-%d-%s-%d", round, bx.name, i), k.Add(1), p.materials)
					ilog.add(tr)
					if tr.status != http.StatusCreated {
						time.Sleep(10 * time.Millisecond)
					}
				}
			}()
		}
		since := time.Now()
		waitEvery(b, "every box acknowledges intakes", 20*time.Second, 20*time.Millisecond, func() bool {
			for _, bx := range boxes {
				if ilog.acked(bx.name, since) < 3 {
					return false
				}
			}
			return true
		})

		killAt := time.Now()
		leader.kill()
		var d time.Duration
		waitEvery(b, "a write on another box after the kill", 30*time.Second, 5*time.Millisecond, func() bool {
			at, ok := ilog.firstAckStartedAfter(killAt, leader.name, false)
			d = at.Sub(killAt)
			return ok
		})
		times = append(times, d)
		stop()
		writers.Wait()

		b.StopTimer()
		leader.start(b)
		leader.waitReady(b)
		waitEvery(b, leader.name+" is back, a voter, caught up", 60*time.Second, 100*time.Millisecond, func() bool {
			st, ok := r.clusterStatus(leader)
			if !ok || st.Leader == "" || len(st.Members) != 3 {
				return false
			}
			for _, m := range st.Members {
				if !m.Voter || !m.Reachable || m.Lag != 0 {
					return false
				}
			}
			return true
		})
		b.StartTimer()
	}
	b.StopTimer()
	slices.Sort(times)
	q := func(f float64) time.Duration { return times[min(len(times)-1, int(f*float64(len(times))))] }
	b.ReportMetric(float64(q(0.5).Milliseconds()), "p50-ms")
	b.ReportMetric(float64(q(0.9).Milliseconds()), "p90-ms")
	b.ReportMetric(float64(times[0].Milliseconds()), "min-ms")
	b.ReportMetric(float64(times[len(times)-1].Milliseconds()), "max-ms")
	rounded := make([]string, len(times))
	for i, t := range times {
		rounded[i] = t.Round(time.Millisecond).String()
	}
	b.Logf("%d kills of the leader, kill to the first acknowledged write on another box, sorted: %v", len(times), rounded)
}
