package raft_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	hraft "github.com/hashicorp/raft"

	"github.com/civic-station/station/station"
	sraft "github.com/civic-station/station/station/raft"
)

var kiosk = station.Actor{Username: "kiosk", Role: station.RoleResident}

// leaderNode returns the node of the box that leads now, nil when none does.
func (c *cluster) leaderNode() *sraft.Node {
	for _, b := range c.boxes {
		if n := b.running(); n != nil && n.Raft().State() == hraft.Leader {
			return n
		}
	}
	return nil
}

func TestTicketsIssuedConcurrentlyThroughAClusterHaveUniqueNumbersOnEveryBox(t *testing.T) {
	c := newCluster(t, 3, 0, sraft.Config{})
	admin := station.Actor{Username: "admin", Role: station.RoleStationAdmin}
	for _, code := range []string{"A", "B"} {
		submit(t, c.leader(5*time.Second).node, command(t, station.CmdQueueLineSet, admin,
			station.QueueLineSet{Line: station.QueueLine{Code: code, Name: "业务" + code, Prefix: code, Active: true}}))
	}

	const workers, each = 16, 5
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				cmd := command(t, station.CmdQueueTicketIssue, kiosk, station.QueueTicketIssue{
					TicketID: fmt.Sprintf("w%d-%d", w, i), Line: []string{"A", "B"}[(w+i)%2], Channel: station.ChannelKiosk})
				// The same command again after a failure: the store applies a command ID once.
				var err error
				for try := 0; try < 50; try++ {
					n := c.leaderNode()
					if n == nil {
						time.Sleep(10 * time.Millisecond)
						continue
					}
					ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
					_, err = n.Submit(ctx, cmd)
					cancel()
					if err == nil {
						break
					}
				}
				if err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	c.settle(10 * time.Second)

	day := station.DateOf(testAt)
	var first []station.Ticket
	for _, b := range c.boxes {
		ts, err := b.db.TicketsOfDay(context.Background(), day)
		if err != nil {
			t.Fatal(err)
		}
		if len(ts) != workers*each {
			t.Fatalf("%s has %d tickets; want %d", b.id, len(ts), workers*each)
		}
		numbers := map[string]string{}
		perLine := map[string]int{}
		for _, tk := range ts {
			if other, dup := numbers[tk.Number]; dup {
				t.Fatalf("%s: number %s given to %s and %s", b.id, tk.Number, other, tk.ID)
			}
			numbers[tk.Number] = tk.ID
			perLine[tk.Line]++
		}
		for line, n := range perLine {
			for seq := 1; seq <= n; seq++ {
				if numbers[station.TicketNumber(line, seq)] == "" {
					t.Fatalf("%s: number %s skipped", b.id, station.TicketNumber(line, seq))
				}
			}
		}
		if first == nil {
			first = ts
			continue
		}
		for i := range ts {
			if ts[i].ID != first[i].ID || ts[i].Number != first[i].Number {
				t.Fatalf("%s: ticket %d is %s %s; box1 has %s %s", b.id, i, ts[i].ID, ts[i].Number, first[i].ID, first[i].Number)
			}
		}
	}
}
