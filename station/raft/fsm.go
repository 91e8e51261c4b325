package raft

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	hraft "github.com/hashicorp/raft"

	"github.com/civic-station/station/station"
	"github.com/civic-station/station/station/sqlite"
)

// Store is what the state machine needs of the station store (station/sqlite.DB).
type Store interface {
	ApplyLogged(ctx context.Context, batch []sqlite.Logged) ([]sqlite.Outcome, error)
	AppliedIndex(ctx context.Context) (uint64, error)
	SnapshotTo(ctx context.Context, path string) error
	RestoreFrom(ctx context.Context, path string) error
	ForgetAppliedIndex(ctx context.Context) error
}

// fsm applies committed log entries to the store: a batch of entries (as many as raft committed
// together) in one SQLite transaction.
type fsm struct {
	store  Store
	tmp    string // a directory for snapshot files, on the same disk as the store
	logger *slog.Logger

	// stash holds, in log order, committed command entries the store could not apply (a full or
	// failing disk). Nothing after them is applied before them: a later batch joins the stash until
	// it drains, which retryStash tries every second and every new batch tries first. While the stash
	// is not empty the store is behind the log: no snapshot is taken, and new input is refused before
	// it reaches the log (Node.Submit).
	mu    sync.Mutex
	stash []sqlite.Logged

	applied atomic.Uint64 // the index of the last entry the store has applied
}

// loadApplied reads the index the store has applied.
func (f *fsm) loadApplied(ctx context.Context) error {
	i, err := f.store.AppliedIndex(ctx)
	if err != nil {
		return fmt.Errorf("raft: %w", err)
	}
	f.applied.Store(i)
	return nil
}

// Applied is the index of the last entry the store has applied.
func (f *fsm) Applied() uint64 { return f.applied.Load() }

// waitApplied waits until the store has applied index, for at most max or until ctx ends, and reports
// whether it has.
func (f *fsm) waitApplied(ctx context.Context, index uint64, max time.Duration) bool {
	end := time.Now().Add(max)
	for f.applied.Load() < index {
		if time.Now().After(end) || ctx.Err() != nil {
			return false
		}
		time.Sleep(2 * time.Millisecond)
	}
	return true
}

// advance records that the store has applied up to index.
func (f *fsm) advance(index uint64) {
	for {
		cur := f.applied.Load()
		if index <= cur || f.applied.CompareAndSwap(cur, index) {
			return
		}
	}
}

var _ hraft.BatchingFSM = (*fsm)(nil)

// Apply applies one entry.
func (f *fsm) Apply(l *hraft.Log) any { return f.ApplyBatch([]*hraft.Log{l})[0] }

// ApplyBatch applies the command entries of a batch and answers each with its sqlite.Outcome (nil for
// raft's own entries). An entry whose command cannot be decoded is answered with an error and applied
// as nothing, on every box alike. Entries the store cannot take go to the stash and are answered
// with station.ErrStorageDeferred: they are committed and take effect once the disk has room.
func (f *fsm) ApplyBatch(logs []*hraft.Log) []any {
	out := make([]any, len(logs))
	batch := make([]sqlite.Logged, 0, len(logs))
	pos := make([]int, 0, len(logs))
	for i, l := range logs {
		if l.Type != hraft.LogCommand {
			continue
		}
		var cmd station.Command
		if err := json.Unmarshal(l.Data, &cmd); err != nil {
			out[i] = sqlite.Outcome{Err: fmt.Errorf("log entry %d: not a command: %w", l.Index, err)}
			continue
		}
		batch = append(batch, sqlite.Logged{Index: l.Index, Cmd: cmd})
		pos = append(pos, i)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(batch) == 0 {
		if len(f.stash) == 0 {
			f.advance(logs[len(logs)-1].Index)
		}
		return out
	}
	if !f.drainLocked() {
		return f.stashLocked(batch, pos, out)
	}
	res, err := f.store.ApplyLogged(context.Background(), batch)
	if err != nil {
		f.logger.Error("cannot apply committed commands; they wait for the disk", "first", batch[0].Index, "entries", len(batch), "err", err)
		return f.stashLocked(batch, pos, out)
	}
	for j, o := range res {
		out[pos[j]] = o
	}
	f.advance(logs[len(logs)-1].Index)
	return out
}

// stashLocked puts batch behind the stash and answers its commands (at pos in out) that they wait.
func (f *fsm) stashLocked(batch []sqlite.Logged, pos []int, out []any) []any {
	f.stash = append(f.stash, batch...)
	for _, i := range pos {
		out[i] = sqlite.Outcome{Err: station.ErrStorageDeferred()}
	}
	return out
}

// drainLocked applies the stash, and reports whether it is empty. The outcomes were answered when the
// entries were stashed.
func (f *fsm) drainLocked() bool {
	if len(f.stash) == 0 {
		return true
	}
	if _, err := f.store.ApplyLogged(context.Background(), f.stash); err != nil {
		return false
	}
	f.logger.Info("the commands that waited for the disk are applied", "entries", len(f.stash), "last", f.stash[len(f.stash)-1].Index)
	f.advance(f.stash[len(f.stash)-1].Index)
	f.stash = nil
	return true
}

// behind reports whether committed entries wait in the stash.
func (f *fsm) behind() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.stash) > 0
}

// retryStash tries to drain the stash every second until stop is closed.
func (f *fsm) retryStash(stop <-chan struct{}) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			f.mu.Lock()
			f.drainLocked()
			f.mu.Unlock()
		}
	}
}

// errBehind refuses a snapshot while the store is behind the log.
var errBehind = errors.New("the store is behind the log (a full or failing disk): no snapshot until it catches up")

// Snapshot returns at once; the copy of the database is made by Persist while commands go on being
// applied. The copy is therefore at least as new as the index raft labels it with, never older; that
// is safe because the store records the index it has applied and skips entries at or below it when
// raft replays the log after the snapshot's label.
func (f *fsm) Snapshot() (hraft.FSMSnapshot, error) {
	if f.behind() {
		return nil, errBehind
	}
	return &snapshot{f: f}, nil
}

// Restore replaces the store's content with a snapshot: streamed to a file beside the database, then
// copied in page by page, so memory stays bounded whatever the database's size.
func (f *fsm) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	tmp, err := os.CreateTemp(f.tmp, "restore-*.db")
	if err != nil {
		return fmt.Errorf("restore snapshot: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := io.Copy(tmp, rc); err != nil {
		tmp.Close()
		return fmt.Errorf("restore snapshot: receive: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("restore snapshot: %w", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.store.RestoreFrom(context.Background(), tmp.Name()); err != nil {
		return fmt.Errorf("restore snapshot: %w", err)
	}
	f.stash = nil // raft installs a snapshot newer than anything it handed to Apply
	i, err := f.store.AppliedIndex(context.Background())
	if err != nil {
		return fmt.Errorf("restore snapshot: %w", err)
	}
	f.applied.Store(i)
	return nil
}

type snapshot struct{ f *fsm }

// Persist copies the live database (SQLite's online backup: writers go on) into a file beside it and
// streams that file into the sink.
func (s *snapshot) Persist(sink hraft.SnapshotSink) error {
	err := s.persist(sink)
	if err != nil {
		sink.Cancel()
		return err
	}
	return sink.Close()
}

func (s *snapshot) persist(w io.Writer) error {
	dir, err := os.MkdirTemp(s.f.tmp, "snapshot-")
	if err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "station.db")
	if err := s.f.store.SnapshotTo(context.Background(), path); err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	file, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	defer file.Close()
	if _, err := io.Copy(w, file); err != nil {
		return fmt.Errorf("snapshot: write: %w", err)
	}
	return nil
}

// Release is called when raft is done with the snapshot; Persist already removed its file.
func (s *snapshot) Release() {}
