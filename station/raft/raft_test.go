package raft_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	hraft "github.com/hashicorp/raft"

	"github.com/civic-station/station/station"
	"github.com/civic-station/station/station/datakey"
	sraft "github.com/civic-station/station/station/raft"
	"github.com/civic-station/station/station/sqlite"
)

var (
	system = station.Actor{Username: "system", Role: station.RoleSystem}
	staff  = station.Actor{Username: "counter1", Role: station.RoleStaff}
)

var testAt = time.Date(2026, 11, 24, 2, 0, 0, 0, time.UTC) // Tuesday 10:00 Beijing

var cmdSeq atomic.Int64

func matters() []station.Matter {
	return []station.Matter{{Code: "MZ-001", Name: "最低生活保障申请", Department: "区民政局", Category: "社会救助",
		Kind: station.KindCommitment, TimeLimitDays: 20, Location: "一号窗口",
		Materials: []station.Material{{Code: "M1", Name: "居民身份证", Required: true}},
		Status:    station.MatterActive, Version: 1}}
}

func command(t testing.TB, kind station.CommandKind, actor station.Actor, payload any) station.Command {
	t.Helper()
	cmd, err := station.NewCommand(fmt.Sprintf("cmd-%07d", cmdSeq.Add(1)), kind, testAt, actor, payload)
	if err != nil {
		t.Fatal(err)
	}
	return cmd
}

// key seals the applicants' ID numbers of the test commands.
var key *datakey.Key

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "station-raft-test-")
	if err != nil {
		panic(err)
	}
	if key, err = datakey.Load(filepath.Join(dir, "datakey")); err != nil {
		panic(err)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func validNumber(seq int) string {
	first := fmt.Sprintf("220104199003%02d%03d", 1+seq%28, 100+seq%900)
	return first + string(station.CheckDigit(first))
}

// intake is an application.intake command for a new application.
func intake(t testing.TB, seq int) station.Command {
	t.Helper()
	number := validNumber(seq)
	sealed, err := key.Seal(station.IDResident, number)
	if err != nil {
		t.Fatal(err)
	}
	return command(t, station.CmdApplicationIntake, staff, station.ApplicationIntake{
		ApplicationID: fmt.Sprintf("app-%d", seq), MatterCode: "MZ-001",
		Applicant: station.Applicant{IDNumber: sealed, IDLast4: station.IDLast4(number), Name: "王小明"},
		Materials: []station.MaterialCheck{{Code: "M1", Provided: true}},
	})
}

// box is one station box: its store and its raft node, in a directory that outlives restarts.
type box struct {
	t     testing.TB
	dir   string
	id    string
	db    *sqlite.DB
	node  *sraft.Node
	trans *hraft.InmemTransport

	mu   sync.Mutex
	live *sraft.Node // node, for the goroutines of a test: nil while the box is down
}

// running returns the box's node, nil while it is down.
func (b *box) running() *sraft.Node {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.live
}

func openStore(t testing.TB, dir string) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(dir, "station.db"), sqlite.WithLogSynced())
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// start opens the box's store and node. trans is nil for a box on its own.
func (b *box) start(cfg sraft.Config) {
	b.t.Helper()
	b.db = openStore(b.t, b.dir)
	cfg.Dir = filepath.Join(b.dir, "raft")
	cfg.ID = b.id
	cfg.Store = b.db
	if cfg.Timing == (sraft.Timing{}) {
		cfg.Timing = testTiming
	}
	if b.trans != nil {
		cfg.Transport = b.trans
	}
	if cfg.Logger == nil && testing.Verbose() {
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})).With("box", b.id)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var err error
	b.node, err = sraft.Open(ctx, cfg)
	if err != nil {
		b.db.Close()
		b.t.Fatal(err)
	}
	b.mu.Lock()
	b.live = b.node
	b.mu.Unlock()
}

func (b *box) stop() {
	b.t.Helper()
	b.mu.Lock()
	b.live = nil
	b.mu.Unlock()
	if b.node != nil {
		if err := b.node.Close(); err != nil {
			b.t.Errorf("close node %s: %v", b.id, err)
		}
		b.node = nil
	}
	if b.db != nil {
		b.db.Close()
		b.db = nil
	}
}

// boxDir is a directory for a box's files: on /dev/shm when the machine has it, so that the tests
// measure raft's logic and not a disk another job keeps busy (an fsync behind a neighbour's sync can
// take seconds, longer than any election timeout a test waits for).
func boxDir(t testing.TB) string {
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		dir, err := os.MkdirTemp("/dev/shm", "station-raft-")
		if err == nil {
			t.Cleanup(func() { os.RemoveAll(dir) })
			return dir
		}
	}
	return t.TempDir()
}

func newBox(t testing.TB, id string) *box {
	b := &box{t: t, dir: boxDir(t), id: id}
	t.Cleanup(b.stop)
	return b
}

func submit(t testing.TB, l station.Log, cmd station.Command) station.Result {
	t.Helper()
	res, err := l.Submit(context.Background(), cmd)
	if err != nil {
		t.Fatalf("%s: %v", cmd.Kind, err)
	}
	return res
}

func countApplications(t testing.TB, db *sqlite.DB) int {
	t.Helper()
	_, n, err := db.Applications(context.Background(), station.ApplicationFilter{Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func appliedIndex(t testing.TB, db *sqlite.DB) uint64 {
	t.Helper()
	n, err := db.AppliedIndex(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestABoxOnItsOwnIsAClusterOfOneVoterAndKeepsEverythingOverARestart(t *testing.T) {
	b := newBox(t, "box1")
	b.start(sraft.Config{})
	if st := b.node.Raft().State(); st != hraft.Leader {
		t.Fatalf("a box on its own is its cluster's leader once Open returns; it is %s", st)
	}
	submit(t, b.node, command(t, station.CmdCatalogImport, system, station.CatalogImport{Matters: matters()}))
	var results []station.Result
	var cmds []station.Command
	for i := range 20 {
		cmd := intake(t, i)
		cmds = append(cmds, cmd)
		results = append(results, submit(t, b.node, cmd))
	}
	// A domain refusal is an outcome: audited, returned as the domain error, nothing changed.
	bad := command(t, station.CmdApplicationTransition, staff, station.ApplicationTransition{ApplicationID: "app-0", Action: station.ActionApprove})
	_, err := b.node.Submit(context.Background(), bad)
	var de *station.Error
	if !errors.As(err, &de) || de.Code == station.EINTERNAL {
		t.Fatalf("a transition the domain refuses: want its *station.Error, got %v", err)
	}
	if got := countApplications(t, b.db); got != 20 {
		t.Fatalf("%d applications, want 20", got)
	}
	before := appliedIndex(t, b.db)
	if before < 22 {
		t.Fatalf("applied index %d after 22 commands", before)
	}

	b.stop()
	b.start(sraft.Config{})
	if got := countApplications(t, b.db); got != 20 {
		t.Fatalf("after the restart: %d applications, want 20", got)
	}
	// The same command again answers its first outcome and applies nothing.
	if res := submit(t, b.node, cmds[3]); res != results[3] {
		t.Fatalf("a resubmitted command: %+v, want its first result %+v", res, results[3])
	}
	if got := countApplications(t, b.db); got != 20 {
		t.Fatalf("a resubmitted intake applied again: %d applications", got)
	}
	submit(t, b.node, intake(t, 100))
	if got := countApplications(t, b.db); got != 21 {
		t.Fatalf("%d applications, want 21", got)
	}
	if after := appliedIndex(t, b.db); after <= before {
		t.Fatalf("applied index %d after a restart and two more commands, was %d", after, before)
	}
	audit, err := b.db.VerifyAudit(context.Background())
	if err != nil || !audit.OK {
		t.Fatalf("audit chain: %+v %v", audit, err)
	}
}

func TestAStoreFromBeforeTheLogBecomesAOneVoterClusterWithNothingLost(t *testing.T) {
	b := newBox(t, "box1")
	// The store as the release before the log wrote it: commands applied directly.
	db, err := sqlite.Open(context.Background(), filepath.Join(b.dir, "station.db"))
	if err != nil {
		t.Fatal(err)
	}
	submit(t, db, command(t, station.CmdCatalogImport, system, station.CatalogImport{Matters: matters()}))
	for i := range 5 {
		submit(t, db, intake(t, i))
	}
	db.Close()

	b.start(sraft.Config{})
	if got := countApplications(t, b.db); got != 5 {
		t.Fatalf("after the upgrade: %d applications, want 5", got)
	}
	submit(t, b.node, intake(t, 5))
	if got := countApplications(t, b.db); got != 6 {
		t.Fatalf("%d applications, want 6", got)
	}
	if appliedIndex(t, b.db) == 0 {
		t.Fatal("the store records no applied index after a command through the log")
	}
}

// `station restore` brings back the database without its log: the new log's indexes start from 1
// again, below the index the store recorded under the old one, and must be applied all the same.
func TestAStoreWhoseLogIsGoneStartsANewOne(t *testing.T) {
	b := newBox(t, "box1")
	b.start(sraft.Config{})
	submit(t, b.node, command(t, station.CmdCatalogImport, system, station.CatalogImport{Matters: matters()}))
	for i := range 30 {
		submit(t, b.node, intake(t, i))
	}
	b.stop()
	if err := os.RemoveAll(filepath.Join(b.dir, "raft")); err != nil {
		t.Fatal(err)
	}
	b.start(sraft.Config{})
	for i := 30; i < 35; i++ {
		submit(t, b.node, intake(t, i))
	}
	if got := countApplications(t, b.db); got != 35 {
		t.Fatalf("%d applications, want 35: the new log's first entries were taken for old ones", got)
	}
}

// A crash can take the store's last commits (they were not fsynced: the log was): the log replays
// them on the next start. Here the store file is rolled back to a copy taken midway.
func TestTheLogReplaysWhatTheStoreLostInACrash(t *testing.T) {
	b := newBox(t, "box1")
	b.start(sraft.Config{})
	submit(t, b.node, command(t, station.CmdCatalogImport, system, station.CatalogImport{Matters: matters()}))
	for i := range 10 {
		submit(t, b.node, intake(t, i))
	}
	old := filepath.Join(t.TempDir(), "old.db")
	if err := b.db.SnapshotTo(context.Background(), old); err != nil {
		t.Fatal(err)
	}
	for i := 10; i < 25; i++ {
		submit(t, b.node, intake(t, i))
	}
	want := appliedIndex(t, b.db)
	b.stop()
	for _, suffix := range []string{"", "-wal", "-shm"} {
		os.Remove(filepath.Join(b.dir, "station.db"+suffix))
	}
	copyFile(t, old, filepath.Join(b.dir, "station.db"))

	b.start(sraft.Config{})
	if got := appliedIndex(t, b.db); got < want {
		t.Fatalf("after the replay the store has applied up to %d, want %d", got, want)
	}
	if got := countApplications(t, b.db); got != 25 {
		t.Fatalf("after the replay: %d applications, want 25", got)
	}
	audit, err := b.db.VerifyAudit(context.Background())
	if err != nil || !audit.OK || audit.Entries < 26 {
		t.Fatalf("audit chain after the replay: %+v %v", audit, err)
	}
}

// When the store lost more than the log still holds (the log was compacted after a snapshot), the
// snapshot is restored into it first and the log replays the rest.
func TestAStoreOlderThanTheNewestSnapshotIsRestoredFromIt(t *testing.T) {
	b := newBox(t, "box1")
	cfg := sraft.Config{SnapshotThreshold: 5, TrailingLogs: 2}
	b.start(cfg)
	submit(t, b.node, command(t, station.CmdCatalogImport, system, station.CatalogImport{Matters: matters()}))
	empty := filepath.Join(t.TempDir(), "empty.db")
	if err := b.db.SnapshotTo(context.Background(), empty); err != nil {
		t.Fatal(err)
	}
	for i := range 30 {
		submit(t, b.node, intake(t, i))
	}
	if err := b.node.Raft().Snapshot().Error(); err != nil {
		t.Fatal(err)
	}
	for i := 30; i < 33; i++ {
		submit(t, b.node, intake(t, i))
	}
	b.stop()
	for _, suffix := range []string{"", "-wal", "-shm"} {
		os.Remove(filepath.Join(b.dir, "station.db"+suffix))
	}
	copyFile(t, empty, filepath.Join(b.dir, "station.db"))

	b.start(cfg)
	if got := countApplications(t, b.db); got != 33 {
		t.Fatalf("after restoring the snapshot and replaying the log: %d applications, want 33", got)
	}
}

func copyFile(t testing.TB, from, to string) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}
