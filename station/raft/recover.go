package raft

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"

	hclog "github.com/hashicorp/go-hclog"
	hraft "github.com/hashicorp/raft"
	wal "github.com/hashicorp/raft-wal"
	"github.com/hashicorp/raft-wal/metadb"
)

// Recover forces the membership of a stopped node to keep, the boxes that survive (this one among
// them), when the cluster has lost its quorum for good: a dead disk on two voters of three. It is
// raft's manual recovery (hashicorp/raft's RecoverCluster; what a peers.json file does in Consul and
// rqlite): every entry in this node's log counts as committed and is applied to the store, a
// snapshot is taken with the new membership, and the log is truncated. Run it with the same keep on
// every surviving box, then start them; a lone survivor is a cluster of one again and writable at
// once. Entries that only the lost boxes had are gone.
func Recover(ctx context.Context, cfg Config, keep []string) error {
	if len(keep) == 0 {
		return errors.New("raft: recover: name the boxes that stay")
	}
	self := false
	for _, id := range keep {
		self = self || id == cfg.ID
	}
	if !self {
		return fmt.Errorf("raft: recover: this box (%s) must be among those that stay", cfg.ID)
	}
	if cfg.Timing == (Timing{}) {
		cfg.Timing = DefaultTiming
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	meta := &metadb.BoltMetaDB{}
	defer meta.Close()
	w, err := wal.Open(filepath.Join(cfg.Dir, "wal"), wal.WithMetaStore(meta))
	if err != nil {
		return fmt.Errorf("raft: recover: open the log: %w", err)
	}
	defer w.Close()
	snaps, err := hraft.NewFileSnapshotStoreWithLogger(cfg.Dir, 2, hclog.NewNullLogger())
	if err != nil {
		return fmt.Errorf("raft: recover: %w", err)
	}
	n := &Node{cfg: cfg}
	f := &fsm{store: cfg.Store, tmp: filepath.Join(cfg.Dir, "tmp"), logger: cfg.Logger}
	logs := logStore{w}
	_, trans := hraft.NewInmemTransport("")
	probe := n.raftConfig(hclog.NewNullLogger())
	current, err := hraft.GetConfiguration(probe, f, logs, w, snaps, trans)
	if err != nil {
		return fmt.Errorf("raft: recover: read the membership: %w", err)
	}
	var next hraft.Configuration
	for _, id := range keep {
		addr := memberAddr(current, id)
		if addr == "" {
			return fmt.Errorf("raft: recover: %s: %w", id, ErrNoMember)
		}
		next.Servers = append(next.Servers, hraft.Server{Suffrage: hraft.Voter, ID: hraft.ServerID(id), Address: addr})
	}
	if err := hraft.RecoverCluster(probe, f, logs, w, snaps, trans, next); err != nil {
		return fmt.Errorf("raft: recover: %w", err)
	}
	return nil
}
