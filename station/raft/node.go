// Package raft is the station's write path: every command goes through a hashicorp/raft log and is
// applied, once committed, to the station store by a state machine (the FSM). One box runs a cluster
// of one voter on the same code path a cluster of three takes.
//
// Durability. The log (raft-wal, one fsync per append) is the record: a command is acknowledged only
// after it is committed and applied. The store's own commits skip their fsync (sqlite.WithLogSynced)
// and record the index of the last applied entry in the same transaction, so after a crash the node
// replays the log from that index on; entries at or below it are answered from their recorded outcome
// and not applied twice. docs/BENCHMARKS.md has the measurements behind that choice.
//
// Batching. Commands submitted together are appended to the log together (raft's BatchApplyCh and
// MaxAppendEntries: one fsync for the group) and applied together in one SQLite transaction (the FSM
// implements raft.BatchingFSM), which is how concurrent clients get more than one fsync per command.
//
// Snapshots. A snapshot is SQLite's online backup of the live database into a file beside it, taken
// while commands go on being applied, and streamed to raft's snapshot store; a restore streams it
// to a file and copies it into the live database page by page. Memory stays bounded either way.
package raft

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	hclog "github.com/hashicorp/go-hclog"
	hraft "github.com/hashicorp/raft"
	wal "github.com/hashicorp/raft-wal"
	"github.com/hashicorp/raft-wal/metadb"

	"github.com/civic-station/station/station"
	"github.com/civic-station/station/station/sqlite"
)

// SpaceGuard says whether the disk has room for new input (station/diskspace.Guard implements it).
type SpaceGuard interface {
	Check() error
}

// Config configures a node.
type Config struct {
	// Dir is the node's own directory (the log, the snapshots): DATA/raft.
	Dir string
	// ID names the node in the cluster; Addr is where the other nodes reach it.
	ID   string
	Addr string
	// Store is the station store the state machine applies commands to.
	Store Store
	// Space is asked before a command that is new input is proposed (station.CommandKind.NeedsSpace);
	// nil: no reserve.
	Space SpaceGuard
	// Transport carries raft's traffic between nodes; nil gives an in-memory transport that reaches
	// no one, for a box on its own.
	Transport hraft.Transport
	// Logger receives the node's and raft's log lines (default: discard).
	Logger *slog.Logger
	// Join says the node is to join an existing cluster (the leader adds it): a directory without
	// raft state then waits for the leader instead of bootstrapping a cluster of its own.
	Join bool
	// Forwarder carries a command submitted on a box that is not the leader to the leader (nil: such a
	// command is refused as EUNAVAILABLE).
	Forwarder Forwarder
	// OnLeadership is called, from a goroutine of its own, when the node becomes the leader (true) or
	// stops being it (false): the station runs its syncer on the leader only.
	OnLeadership func(leading bool)

	// Timing is raft's failure detection (default: DefaultTiming). A box on its own waits one
	// heartbeat timeout after it starts before it elects itself, unless SoloTiming is set: a node that
	// is its cluster's only voter then runs with it (SoloTiming is the one to use), and is writable at
	// once. Such a node cannot take members until it restarts with its membership's timing (raft's
	// leader lease cannot change while it runs).
	Timing     Timing
	SoloTiming Timing
	// SnapshotThreshold and TrailingLogs: see DefaultSnapshotThreshold and DefaultTrailingLogs.
	SnapshotThreshold uint64
	TrailingLogs      uint64
	// SegmentSize is the size of the log's segment files (default 8 MiB; each is allocated in full when
	// it is created).
	SegmentSize int
}

// Timing is raft's failure detection: how long a follower waits for the leader before it stands for
// election, and how long a leader goes without hearing from a quorum before it steps down.
type Timing struct {
	Heartbeat   time.Duration
	Election    time.Duration
	LeaderLease time.Duration
}

// DefaultTiming suits voters on one wired LAN: a dead leader is replaced within about a second.
var DefaultTiming = Timing{Heartbeat: 500 * time.Millisecond, Election: 500 * time.Millisecond, LeaderLease: 250 * time.Millisecond}

// SoloTiming is for a node that is its cluster's only voter: there is no one to wait for.
var SoloTiming = Timing{Heartbeat: 10 * time.Millisecond, Election: 10 * time.Millisecond, LeaderLease: 10 * time.Millisecond}

// Snapshot and log retention, for a station's write rate: a busy station writes a few thousand
// commands a day (intakes, transitions, sessions, audited reads), a few kB each. A snapshot copies the
// whole database (a second or two per GB), so it is taken only every DefaultSnapshotThreshold entries
// — every few days — and DefaultTrailingLogs entries are kept after it, so that a kiosk switched off
// for a night or a weekend catches up from the log rather than by a whole snapshot. The log then holds
// at most some 20,000 entries: tens of MB.
const (
	DefaultSnapshotThreshold = 8192
	DefaultTrailingLogs      = 10240
)

// Node is one box's member of the station's cluster. It implements station.Log.
type Node struct {
	cfg   Config
	wal   *wal.WAL
	fsm   *fsm
	meta  *metadb.BoltMetaDB
	stop  chan struct{}
	close sync.Once

	// The raft instance and how it was made: a box that was its cluster's only voter restarts raft
	// with the cluster's timing when a member joins (leaveSolo).
	mu        sync.RWMutex
	raft      *hraft.Raft
	soloTimed bool // runs with cfg.SoloTiming
	snaps     hraft.SnapshotStore
	trans     hraft.Transport
	joinMu    sync.Mutex // one membership change at a time
}

var _ station.Log = (*Node)(nil)

// Open starts the node in cfg.Dir. A directory without raft state is bootstrapped as a cluster of
// this node alone, the voter (a station's first box, and a box upgraded from before the log existed:
// its store keeps everything and the log starts after it). When the store is older than the newest
// snapshot (it lost commits the log had fsynced and then compacted), the snapshot is restored into it
// first. Open returns once the node has a leader if it is its cluster's only voter.
func Open(ctx context.Context, cfg Config) (*Node, error) {
	if cfg.ID == "" {
		return nil, errors.New("raft: the node needs an ID")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Timing == (Timing{}) {
		cfg.Timing = DefaultTiming
	}
	if cfg.SnapshotThreshold == 0 {
		cfg.SnapshotThreshold = DefaultSnapshotThreshold
	}
	if cfg.TrailingLogs == 0 {
		cfg.TrailingLogs = DefaultTrailingLogs
	}
	if cfg.SegmentSize == 0 {
		cfg.SegmentSize = 8 << 20
	}
	if cfg.Addr == "" {
		cfg.Addr = cfg.ID
	}
	for _, d := range []string{cfg.Dir, filepath.Join(cfg.Dir, "wal"), filepath.Join(cfg.Dir, "tmp")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("raft: %w", err)
		}
	}
	// Files a crash left half-made.
	if olds, _ := filepath.Glob(filepath.Join(cfg.Dir, "tmp", "*")); len(olds) > 0 {
		for _, o := range olds {
			os.RemoveAll(o)
		}
	}
	hl := HCLog(cfg.Logger)
	// The log's metadata store is ours to close: the WAL's Close leaves it open, and its file lock
	// then keeps the next Open in this process waiting.
	meta := &metadb.BoltMetaDB{}
	w, err := wal.Open(filepath.Join(cfg.Dir, "wal"), wal.WithSegmentSize(cfg.SegmentSize), wal.WithLogger(hl.Named("wal")), wal.WithMetaStore(meta))
	if err != nil {
		meta.Close()
		return nil, fmt.Errorf("raft: open the log: %w", err)
	}
	n := &Node{cfg: cfg, wal: w, meta: meta, stop: make(chan struct{})}
	snaps, err := hraft.NewFileSnapshotStoreWithLogger(cfg.Dir, 2, hl.Named("snapshot"))
	if err != nil {
		n.closeLog()
		return nil, fmt.Errorf("raft: open the snapshots: %w", err)
	}
	f := &fsm{store: cfg.Store, tmp: filepath.Join(cfg.Dir, "tmp"), logger: cfg.Logger}
	n.fsm = f
	if err := catchUpFromSnapshot(ctx, cfg.Store, snaps, f); err != nil {
		n.closeLog()
		return nil, err
	}
	if err := f.loadApplied(ctx); err != nil {
		n.closeLog()
		return nil, err
	}
	var trans hraft.Transport
	switch t := cfg.Transport.(type) {
	case nil:
		_, trans = hraft.NewInmemTransport(hraft.ServerAddress(cfg.Addr))
	case preVoter:
		trans = keepOpenPreVote{t}
	default:
		trans = keepOpen{t}
	}
	n.snaps, n.trans = snaps, trans
	logs := logStore{w}
	rc := n.raftConfig(hl)
	has, err := hraft.HasExistingState(logs, w, snaps)
	if err != nil {
		n.closeLog()
		return nil, fmt.Errorf("raft: %w", err)
	}
	if !has {
		// A new log: whatever index the store recorded belongs to a log that is gone.
		if err := cfg.Store.ForgetAppliedIndex(ctx); err != nil {
			n.closeLog()
			return nil, fmt.Errorf("raft: %w", err)
		}
	}
	if !has && !cfg.Join {
		boot := hraft.Configuration{Servers: []hraft.Server{{Suffrage: hraft.Voter, ID: hraft.ServerID(cfg.ID), Address: trans.LocalAddr()}}}
		if err := hraft.BootstrapCluster(rc, logs, w, snaps, trans, boot); err != nil {
			n.closeLog()
			return nil, fmt.Errorf("raft: bootstrap: %w", err)
		}
	}
	probe := n.raftConfig(hclog.NewNullLogger())
	members, err := hraft.GetConfiguration(probe, f, logs, w, snaps, trans)
	if err != nil {
		n.closeLog()
		return nil, fmt.Errorf("raft: read the membership: %w", err)
	}
	solo := soleVoter(members, cfg.ID)
	if solo && cfg.SoloTiming != (Timing{}) {
		n.soloTimed = true
		rc = n.raftConfig(hl)
	}
	n.raft, err = hraft.NewRaft(rc, f, logs, w, snaps, trans)
	if err != nil {
		n.closeLog()
		return nil, fmt.Errorf("raft: start: %w", err)
	}
	go f.retryStash(n.stop)
	if cfg.OnLeadership != nil {
		go n.watchLeadership(cfg.OnLeadership)
	}

	if solo {
		// Writable at once, and the store holds every committed entry (the log's replay of what the
		// store lost is done) before anyone reads it.
		if err := n.waitLeader(ctx); err != nil {
			n.Close()
			return nil, err
		}
		if err := n.raft.Barrier(time.Until(deadline(ctx))).Error(); err != nil {
			n.Close()
			return nil, fmt.Errorf("raft: replay the log: %w", err)
		}
		// A box given a network address since the log began (or a new one): the membership says
		// where the others reach it.
		if self := trans.LocalAddr(); memberAddr(members, cfg.ID) != self {
			if err := n.raft.AddVoter(hraft.ServerID(cfg.ID), self, 0, time.Until(deadline(ctx))).Error(); err != nil {
				n.Close()
				return nil, fmt.Errorf("raft: record the address %s: %w", self, err)
			}
		}
	}
	return n, nil
}

// memberAddr is id's address in the membership, or "".
func memberAddr(c hraft.Configuration, id string) hraft.ServerAddress {
	for _, s := range c.Servers {
		if string(s.ID) == id {
			return s.Address
		}
	}
	return ""
}

// logStore is the log as raft reads it. raft-wal keeps entries that were truncated from the head
// readable while they share a segment with live ones; raft must see them gone, or it replicates a
// new member from the log's first entries instead of sending it the snapshot that holds them.
type logStore struct{ *wal.WAL }

// GetLog returns entry index, or hraft.ErrLogNotFound when it is before the log's first.
func (l logStore) GetLog(index uint64, log *hraft.Log) error {
	first, err := l.WAL.FirstIndex()
	if err != nil {
		return err
	}
	if index < first {
		return hraft.ErrLogNotFound
	}
	return l.WAL.GetLog(index, log)
}

// keepOpen is a transport raft does not close when it shuts down, so that a node can restart raft on
// it (leaveSolo); Node.Close closes it.
type keepOpen struct{ hraft.Transport }

// Close does nothing: the transport outlives the raft instance.
func (keepOpen) Close() error { return nil }

// preVoter is a transport that carries raft's pre-vote (a box cut off from the others asks before it
// disrupts them with an election when it comes back).
type preVoter interface {
	hraft.Transport
	hraft.WithPreVote
}

// keepOpenPreVote is keepOpen for a transport that carries pre-votes.
type keepOpenPreVote struct{ preVoter }

// Close does nothing: the transport outlives the raft instance.
func (keepOpenPreVote) Close() error { return nil }

func (n *Node) raftConfig(hl hclog.Logger) *hraft.Config {
	t := n.cfg.Timing
	if n.soloTimed {
		t = n.cfg.SoloTiming
	}
	c := hraft.DefaultConfig()
	c.LocalID = hraft.ServerID(n.cfg.ID)
	c.Logger = hl.Named("raft")
	c.HeartbeatTimeout = t.Heartbeat
	c.ElectionTimeout = t.Election
	c.LeaderLeaseTimeout = t.LeaderLease
	c.CommitTimeout = 5 * time.Millisecond
	c.BatchApplyCh = true
	c.MaxAppendEntries = 64
	c.SnapshotThreshold = n.cfg.SnapshotThreshold
	c.TrailingLogs = n.cfg.TrailingLogs
	c.NoSnapshotRestoreOnStart = true // the store is durable itself: catchUpFromSnapshot decides
	c.NoLegacyTelemetry = true
	return c
}

// soleVoter reports whether id is the only voter of the membership.
func soleVoter(c hraft.Configuration, id string) bool {
	voters := 0
	self := false
	for _, s := range c.Servers {
		if s.Suffrage == hraft.Voter {
			voters++
			self = self || string(s.ID) == id
		}
	}
	return voters == 1 && self
}

// catchUpFromSnapshot restores the newest snapshot into the store when the store has applied less
// than the snapshot holds. Raft starts replaying the log after the newest snapshot's index
// (NoSnapshotRestoreOnStart), so the store must be at least that new.
func catchUpFromSnapshot(ctx context.Context, store Store, snaps hraft.SnapshotStore, f *fsm) error {
	list, err := snaps.List()
	if err != nil {
		return fmt.Errorf("raft: list the snapshots: %w", err)
	}
	if len(list) == 0 {
		return nil
	}
	applied, err := store.AppliedIndex(ctx)
	if err != nil {
		return fmt.Errorf("raft: %w", err)
	}
	if applied >= list[0].Index {
		return nil
	}
	_, rc, err := snaps.Open(list[0].ID)
	if err != nil {
		return fmt.Errorf("raft: open snapshot %s: %w", list[0].ID, err)
	}
	if err := f.Restore(rc); err != nil {
		return fmt.Errorf("raft: the store has applied up to %d, the newest snapshot holds %d: %w", applied, list[0].Index, err)
	}
	return nil
}

// waitLeader waits until the cluster has a leader.
func (n *Node) waitLeader(ctx context.Context) error {
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for {
		if addr, _ := n.rf().LeaderWithID(); addr != "" {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("raft: no leader: %w", ctx.Err())
		case <-t.C:
		}
	}
}

// deadline is ctx's deadline, or submitTimeout from now.
func deadline(ctx context.Context) time.Time {
	if d, ok := ctx.Deadline(); ok {
		return d
	}
	return time.Now().Add(submitTimeout)
}

// submitTimeout bounds a submission whose context has no deadline.
const submitTimeout = 30 * time.Second

// Submit proposes cmd to the log and returns once it is committed and applied: the result, or the
// domain's refusal (which is applied, and audited, like any outcome). A command that is new input is
// refused before it reaches the log while the disk is short of its reserve.
//
// On a box that is not the leader the command goes to the leader (Config.Forwarder), and Submit
// returns once this box's store has applied it too, so that what the user does next here sees it.
//
// While the cluster has no leader, or the leader changes under the proposal, Submit proposes the
// command again until ctx ends: the store applies a command ID once and answers a repeat with the
// first outcome, so a proposal that did reach the log before the change is not applied twice. When
// ctx ends first, the answer is EUNAVAILABLE.
func (n *Node) Submit(ctx context.Context, cmd station.Command) (station.Result, error) {
	res, _, err := n.submit(ctx, cmd, true)
	return res, err
}

// SubmitHere is Submit without forwarding, for the leader's side of a forwarded command: it also
// returns the index of the command's entry, and on a box that is not the leader it fails with an
// error that wraps hraft.ErrNotLeader.
func (n *Node) SubmitHere(ctx context.Context, cmd station.Command) (station.Result, uint64, error) {
	return n.submit(ctx, cmd, false)
}

func (n *Node) submit(ctx context.Context, cmd station.Command, forward bool) (station.Result, uint64, error) {
	if cmd.Kind.NeedsSpace() {
		if n.fsm.behind() {
			return station.Result{}, 0, station.ErrStorageFailed()
		}
		if n.cfg.Space != nil {
			if err := n.cfg.Space.Check(); err != nil {
				return station.Result{}, 0, err
			}
		}
	}
	data, err := json.Marshal(cmd)
	if err != nil {
		return station.Result{}, 0, fmt.Errorf("submit %s: %w", cmd.Kind, err)
	}
	end := deadline(ctx)
	pause := 5 * time.Millisecond
	for {
		o, index, err := n.propose(ctx, data, end)
		if err == nil {
			return o.Result, index, o.Err
		}
		if errors.Is(err, hraft.ErrNotLeader) && !forward {
			return station.Result{}, 0, fmt.Errorf("submit %s: %w", cmd.Kind, err)
		}
		if errors.Is(err, hraft.ErrNotLeader) && n.cfg.Forwarder != nil {
			if addr, _ := n.rf().LeaderWithID(); addr != "" {
				res, index, ferr := n.cfg.Forwarder.Forward(ctx, string(addr), cmd)
				if !errors.Is(ferr, ErrForwardAgain) {
					if index > 0 {
						n.fsm.waitApplied(ctx, index, readYourWritesWait)
					}
					return res, index, ferr
				}
				err = ferr
			}
		}
		if !retryable(err) || time.Until(end) < pause {
			return station.Result{}, 0, n.proposeError(cmd, err)
		}
		select {
		case <-ctx.Done():
			return station.Result{}, 0, n.proposeError(cmd, ctx.Err())
		case <-n.stop:
			return station.Result{}, 0, n.proposeError(cmd, hraft.ErrRaftShutdown)
		case <-time.After(pause):
		}
		pause = min(2*pause, 100*time.Millisecond)
	}
}

// readYourWritesWait bounds how long a box waits for its own store to apply a command it forwarded;
// a box that lags more than that answers anyway (the command is committed).
const readYourWritesWait = 2 * time.Second

// Forwarder carries a command from a box that is not the leader to the leader, which submits it
// (Node.SubmitHere) and answers its outcome and its entry's index. An error that wraps
// ErrForwardAgain says the command may be proposed again (the leader could not be reached or is no
// longer the leader); any other error is the command's outcome.
type Forwarder interface {
	Forward(ctx context.Context, leader string, cmd station.Command) (station.Result, uint64, error)
}

// ErrForwardAgain marks a forwarding that may be tried again.
var ErrForwardAgain = errors.New("forward to the leader: try again")

// propose appends data to the log and waits for its outcome, or for ctx.
func (n *Node) propose(ctx context.Context, data []byte, end time.Time) (sqlite.Outcome, uint64, error) {
	fut := n.rf().Apply(data, time.Until(end))
	done := make(chan error, 1)
	go func() { done <- fut.Error() }()
	select {
	case err := <-done:
		if errors.Is(err, hraft.ErrRaftShutdown) && !n.stopped() {
			err = errRestarting
		}
		if err != nil {
			return sqlite.Outcome{}, 0, err
		}
	case <-ctx.Done():
		return sqlite.Outcome{}, 0, errOutcomeUnknown
	}
	o, ok := fut.Response().(sqlite.Outcome)
	if !ok {
		return sqlite.Outcome{}, 0, fmt.Errorf("unexpected response %T", fut.Response())
	}
	return o, fut.Index(), nil
}

// errRestarting says raft is being restarted under the node (leaveSolo): the proposal did not reach
// the log.
var errRestarting = errors.New("raft restarts")

// stopped reports whether Close was called.
func (n *Node) stopped() bool {
	select {
	case <-n.stop:
		return true
	default:
		return false
	}
}

// errOutcomeUnknown says the caller stopped waiting before the command's outcome was known: it may
// still be applied.
var errOutcomeUnknown = errors.New("stopped waiting for the outcome")

// retryable reports whether a proposal failed only because the cluster had, or lost, no leader.
func retryable(err error) bool {
	return errors.Is(err, hraft.ErrNotLeader) || errors.Is(err, hraft.ErrLeadershipLost) ||
		errors.Is(err, hraft.ErrLeadershipTransferInProgress) || errors.Is(err, hraft.ErrEnqueueTimeout) ||
		errors.Is(err, ErrForwardAgain) || errors.Is(err, errRestarting)
}

// proposeError says why a command did not reach the log, in words a resident or a clerk can act on.
func (n *Node) proposeError(cmd station.Command, err error) error {
	n.cfg.Logger.Warn("submit", "kind", cmd.Kind, "err", err)
	switch {
	case errors.Is(err, errOutcomeUnknown), errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return &station.Error{Code: station.EUNAVAILABLE, Message: "本站暂时无法确认是否已保存，请稍后查询核对，不要重复办理。", Detail: "outcome unknown: " + err.Error()}
	case errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EIO), errors.Is(err, syscall.EDQUOT):
		return station.ErrStorageFailed() // the log could not take it
	case retryable(err), errors.Is(err, hraft.ErrRaftShutdown):
		return &station.Error{Code: station.EUNAVAILABLE, Message: "本站暂时无法保存：站内设备之间正在重新连接，请稍后再试。", Detail: "no raft leader: " + err.Error()}
	}
	return fmt.Errorf("submit %s: %w", cmd.Kind, err)
}

// Raft returns the underlying raft node, for the cluster's tools and tests.
func (n *Node) Raft() *hraft.Raft { return n.rf() }

// rf is the running raft instance.
func (n *Node) rf() *hraft.Raft {
	n.mu.RLock()
	defer n.mu.RUnlock()
	return n.raft
}

// handOver transfers the leadership to another voter before the leader stops, so that the cluster
// does not wait an election timeout to notice it is gone.
func (n *Node) handOver() {
	r := n.rf()
	if r.State() != hraft.Leader {
		return
	}
	if fut := r.GetConfiguration(); fut.Error() != nil || soleVoter(fut.Configuration(), n.cfg.ID) {
		return
	}
	fut := r.LeadershipTransfer()
	done := make(chan error, 1)
	go func() { done <- fut.Error() }()
	select {
	case err := <-done:
		if err != nil {
			n.cfg.Logger.Warn("raft: leadership handover", "err", err)
		}
	case <-time.After(2 * n.cfg.Timing.Election):
		n.cfg.Logger.Warn("raft: leadership handover timed out")
	}
}

// closeLog closes the log of a node that did not start.
func (n *Node) closeLog() {
	n.wal.Close()
	n.meta.Close()
}

// Close stops the node. The store stays open (its owner closes it).
func (n *Node) Close() error {
	var err error
	n.close.Do(func() {
		close(n.stop)
		n.joinMu.Lock() // not while raft restarts
		defer n.joinMu.Unlock()
		if r := n.rf(); r != nil {
			n.handOver()
			err = r.Shutdown().Error()
		}
		if c, ok := n.cfg.Transport.(hraft.WithClose); ok {
			if cerr := c.Close(); err == nil {
				err = cerr
			}
		}
		if cerr := n.wal.Close(); err == nil {
			err = cerr
		}
		if cerr := n.meta.Close(); err == nil {
			err = cerr
		}
	})
	return err
}

// HCLog hands raft's log lines (hclog) to slog, as lines of the component "raft".
func HCLog(l *slog.Logger) hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{
		Name:            "station",
		Level:           hclog.Info,
		Output:          &slogWriter{l: l},
		DisableTime:     true,
		IncludeLocation: false,
	})
}

// slogWriter turns each line hclog writes into one slog record.
type slogWriter struct {
	mu  sync.Mutex
	l   *slog.Logger
	buf []byte
}

func (w *slogWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			return len(p), nil
		}
		line := strings.TrimSpace(string(w.buf[:i]))
		w.buf = w.buf[i+1:]
		level := slog.LevelInfo
		switch {
		case strings.HasPrefix(line, "[ERROR]"):
			level = slog.LevelError
		case strings.HasPrefix(line, "[WARN]"):
			level = slog.LevelWarn
		case strings.HasPrefix(line, "[DEBUG]"), strings.HasPrefix(line, "[TRACE]"):
			level = slog.LevelDebug
		}
		w.l.Log(context.Background(), level, line, "component", "raft")
	}
}

var _ io.Writer = (*slogWriter)(nil)
