package cluster

import (
	"context"
	"errors"
	"time"

	sraft "github.com/civic-station/station/station/raft"
)

// Reaping: a box gone for longer than the station allows is taken out of the cluster by the leader,
// so that a kiosk thrown away or a counter terminal replaced does not stay a member for ever. A
// non-voter (a kiosk switched off at night) is reaped after NonvoterAfter; a voter only after
// VoterAfter, which is off by default: taking a voter out changes the quorum, which a technician
// decides (station cluster remove).

// ReapPolicy says after how long a member that cannot be reached is removed (0: never).
type ReapPolicy struct {
	VoterAfter    time.Duration
	NonvoterAfter time.Duration
}

// Reap checks the members every interval while this box leads, and removes those unreachable for
// longer than the policy allows, until ctx ends. A member's absence is counted from when this box,
// as the leader, first found it unreachable.
func (s *Service) Reap(ctx context.Context, interval time.Duration, p ReapPolicy, now func() time.Time) {
	if p.VoterAfter <= 0 && p.NonvoterAfter <= 0 {
		return
	}
	gone := map[string]time.Time{}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		n := s.getNode()
		if n == nil || !n.IsLeader() {
			clear(gone)
			continue
		}
		st, err := s.Status(ctx)
		if err != nil {
			continue
		}
		seen := map[string]bool{}
		for _, m := range st {
			seen[m.ID] = true
			if m.Self || m.Reachable {
				delete(gone, m.ID)
				continue
			}
			since, ok := gone[m.ID]
			if !ok {
				gone[m.ID] = now()
				continue
			}
			after := p.NonvoterAfter
			if m.Voter {
				after = p.VoterAfter
			}
			if after <= 0 || now().Sub(since) < after {
				continue
			}
			if err := n.Remove(ctx, m.ID); err != nil && !errors.Is(err, sraft.ErrTwoVoters) {
				s.logger().Warn("cluster: reap a member gone too long", "member", m.ID, "err", err)
				continue
			}
			s.logger().Warn("cluster: a member gone too long was removed", "member", m.ID, "voter", m.Voter, "gone_since", since)
			delete(gone, m.ID)
		}
		for id := range gone {
			if !seen[id] {
				delete(gone, id)
			}
		}
	}
}
