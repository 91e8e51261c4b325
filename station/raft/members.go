package raft

import (
	"context"
	"errors"
	"fmt"
	"time"

	hraft "github.com/hashicorp/raft"
)

// The cluster's membership: who is in it, in which role, and the changes a technician makes.
//
// Roles. Voters are the always-on boxes and count for the quorum: one, or three (two voters stop
// writing when either dies, which is worse than one). Boxes switched off at night, such as kiosks,
// are non-voters: they get every entry and catch up when they return, by log or by snapshot, without
// the quorum waiting for them.
//
// A new member always starts from a snapshot (AddMember): the store of the cluster's first box may
// hold what it had before the log began (a box upgraded from before the log), which no log entry
// carries.

// Member is one box of the cluster as the node sees it.
type Member struct {
	ID     string `json:"id"`
	Addr   string `json:"addr"`
	Voter  bool   `json:"voter"`
	Leader bool   `json:"leader"`
	Self   bool   `json:"self"`
}

// Members returns the cluster's membership as the latest configuration in this node's log says.
func (n *Node) Members() ([]Member, error) {
	r := n.rf()
	fut := r.GetConfiguration()
	if err := fut.Error(); err != nil {
		return nil, fmt.Errorf("raft: membership: %w", err)
	}
	_, leader := r.LeaderWithID()
	var out []Member
	for _, s := range fut.Configuration().Servers {
		out = append(out, Member{ID: string(s.ID), Addr: string(s.Address), Voter: s.Suffrage == hraft.Voter,
			Leader: s.ID == leader, Self: string(s.ID) == n.cfg.ID})
	}
	return out, nil
}

// ID is the node's name in the cluster.
func (n *Node) ID() string { return n.cfg.ID }

// Leader returns the leader's ID and address, or "" when the node knows of none.
func (n *Node) Leader() (id, addr string) {
	a, i := n.rf().LeaderWithID()
	return string(i), string(a)
}

// IsLeader reports whether the node is the cluster's leader.
func (n *Node) IsLeader() bool { return n.rf().State() == hraft.Leader }

// Progress is how far the node is: the index of the last entry its store applied, the last entry its
// log holds, and, on a follower, when it last heard from the leader (zero on the leader).
type Progress struct {
	Applied     uint64    `json:"applied"`
	LastIndex   uint64    `json:"last_index"`
	CommitIndex uint64    `json:"commit_index"`
	LastContact time.Time `json:"last_contact,omitzero"`
	State       string    `json:"state"`
}

// Progress returns how far the node is.
func (n *Node) Progress() Progress {
	r := n.rf()
	p := Progress{Applied: n.fsm.Applied(), LastIndex: r.LastIndex(), CommitIndex: r.CommitIndex(), State: r.State().String()}
	if r.State() != hraft.Leader {
		p.LastContact = r.LastContact()
	}
	return p
}

// ErrTwoVoters is the warning that a change leaves the cluster with two voters.
var ErrTwoVoters = errors.New("two voters: the cluster stops writing when either box is down; add a third voter or make one of them a non-voter")

// AddMember adds a box to the cluster, as a voter or as a non-voter. Only the leader can. The box is
// sent a snapshot first: the log is compacted to a new snapshot before it is added. A node that ran
// as its cluster's only voter restarts raft with the cluster's timing first (leaveSolo).
func (n *Node) AddMember(ctx context.Context, id, addr string, voter bool) error {
	n.joinMu.Lock()
	defer n.joinMu.Unlock()
	if n.stopped() {
		return hraft.ErrRaftShutdown
	}
	if err := n.leaveSolo(ctx); err != nil {
		return err
	}
	r := n.rf()
	if r.State() != hraft.Leader {
		return fmt.Errorf("raft: add %s: %w", id, hraft.ErrNotLeader)
	}
	members, err := n.Members()
	if err != nil {
		return err
	}
	known := false
	for _, m := range members {
		known = known || m.ID == id
	}
	if !known {
		if err := n.compact(); err != nil {
			return fmt.Errorf("raft: add %s: %w", id, err)
		}
	}
	timeout := time.Until(deadline(ctx))
	var fut hraft.IndexFuture
	if voter {
		fut = r.AddVoter(hraft.ServerID(id), hraft.ServerAddress(addr), 0, timeout)
	} else {
		fut = r.AddNonvoter(hraft.ServerID(id), hraft.ServerAddress(addr), 0, timeout)
	}
	if err := fut.Error(); err != nil {
		return fmt.Errorf("raft: add %s: %w", id, err)
	}
	return nil
}

// Promote makes a member a voter; Demote makes it a non-voter. A voter count of two is done but
// answered with ErrTwoVoters, which the tools show as a warning.
func (n *Node) Promote(ctx context.Context, id string) error {
	m, err := n.member(id)
	if err != nil {
		return err
	}
	if m.Voter {
		return n.voterWarning()
	}
	if err := n.rf().AddVoter(hraft.ServerID(id), hraft.ServerAddress(m.Addr), 0, time.Until(deadline(ctx))).Error(); err != nil {
		return fmt.Errorf("raft: promote %s: %w", id, err)
	}
	return n.voterWarning()
}

// Readdress records a member's new address (a box whose DHCP lease changed), keeping its role. The
// leader makes the change; a member already at addr is left alone.
func (n *Node) Readdress(ctx context.Context, id, addr string) error {
	m, err := n.member(id)
	if err != nil {
		return err
	}
	if m.Addr == addr {
		return nil
	}
	timeout := time.Until(deadline(ctx))
	var fut hraft.IndexFuture
	if m.Voter {
		fut = n.rf().AddVoter(hraft.ServerID(id), hraft.ServerAddress(addr), 0, timeout)
	} else {
		fut = n.rf().AddNonvoter(hraft.ServerID(id), hraft.ServerAddress(addr), 0, timeout)
	}
	if err := fut.Error(); err != nil {
		return fmt.Errorf("raft: readdress %s: %w", id, err)
	}
	n.cfg.Logger.Info("raft: a member's address changed", "member", id, "from", m.Addr, "to", addr)
	return nil
}

// Demote makes a voter a non-voter. The last voter cannot be demoted.
func (n *Node) Demote(ctx context.Context, id string) error {
	m, err := n.member(id)
	if err != nil {
		return err
	}
	if !m.Voter {
		return n.voterWarning()
	}
	if n.voters() <= 1 {
		return fmt.Errorf("raft: demote %s: it is the only voter", id)
	}
	if err := n.rf().DemoteVoter(hraft.ServerID(id), 0, time.Until(deadline(ctx))).Error(); err != nil {
		return fmt.Errorf("raft: demote %s: %w", id, err)
	}
	return n.voterWarning()
}

// Remove takes a member out of the cluster. The last voter cannot be removed; a leader that removes
// itself hands the leadership over first.
func (n *Node) Remove(ctx context.Context, id string) error {
	m, err := n.member(id)
	if err != nil {
		return err
	}
	if m.Voter && n.voters() <= 1 {
		return fmt.Errorf("raft: remove %s: it is the only voter", id)
	}
	if err := n.rf().RemoveServer(hraft.ServerID(id), 0, time.Until(deadline(ctx))).Error(); err != nil {
		return fmt.Errorf("raft: remove %s: %w", id, err)
	}
	return n.voterWarning()
}

// ErrNoMember says the cluster has no member of that name.
var ErrNoMember = errors.New("no such member")

func (n *Node) member(id string) (Member, error) {
	members, err := n.Members()
	if err != nil {
		return Member{}, err
	}
	for _, m := range members {
		if m.ID == id {
			return m, nil
		}
	}
	return Member{}, fmt.Errorf("raft: %s: %w", id, ErrNoMember)
}

func (n *Node) voters() int {
	members, _ := n.Members()
	v := 0
	for _, m := range members {
		if m.Voter {
			v++
		}
	}
	return v
}

// voterWarning is ErrTwoVoters when the cluster has two voters.
func (n *Node) voterWarning() error {
	if n.voters() == 2 {
		return ErrTwoVoters
	}
	return nil
}

// compact takes a snapshot and drops the whole log up to it, so that a member added next is sent the
// snapshot. The log keeps its usual tail again from the next snapshot on.
func (n *Node) compact() error {
	r := n.rf()
	rc := r.ReloadableConfig()
	keep := rc.TrailingLogs
	rc.TrailingLogs = 0
	if err := r.ReloadConfig(rc); err != nil {
		return err
	}
	defer func() {
		rc.TrailingLogs = keep
		_ = r.ReloadConfig(rc)
	}()
	if err := r.Snapshot().Error(); err != nil && !errors.Is(err, hraft.ErrNothingNewToSnapshot) {
		return fmt.Errorf("snapshot: %w", err)
	}
	return nil
}

// leaveSolo restarts raft with the cluster's timing on a node that runs with a lone voter's: a
// leader's lease cannot change while raft runs, and a lone voter's is too short for a network.
// Commands submitted meanwhile wait and are proposed again once the node leads with the new timing.
func (n *Node) leaveSolo(ctx context.Context) error {
	if !n.soloTimed {
		return nil
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if err := n.raft.Shutdown().Error(); err != nil {
		return fmt.Errorf("raft: restart with the cluster's timing: %w", err)
	}
	n.soloTimed = false
	r, err := hraft.NewRaft(n.raftConfig(HCLog(n.cfg.Logger)), n.fsm, logStore{n.wal}, n.wal, n.snaps, n.trans)
	if err != nil {
		return fmt.Errorf("raft: restart with the cluster's timing: %w", err)
	}
	n.raft = r
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for r.State() != hraft.Leader {
		select {
		case <-ctx.Done():
			return fmt.Errorf("raft: restart with the cluster's timing: no leader: %w", ctx.Err())
		case <-t.C:
		}
	}
	n.cfg.Logger.Info("raft runs with the cluster's timing", "heartbeat", n.cfg.Timing.Heartbeat)
	return r.Barrier(time.Until(deadline(ctx))).Error()
}

// watchLeadership calls on when the node becomes the leader or stops being it, until the node stops.
func (n *Node) watchLeadership(on func(bool)) {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	leading := false
	for {
		select {
		case <-n.stop:
			if leading {
				on(false)
			}
			return
		case <-t.C:
		}
		if now := n.IsLeader(); now != leading {
			leading = now
			on(now)
		}
	}
}
