package diskspace_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/civic-station/station/station"
	"github.com/civic-station/station/station/blob"
	"github.com/civic-station/station/station/diskspace"
)

// levelCounter counts log records by level.
type levelCounter struct {
	mu     sync.Mutex
	counts map[slog.Level]int
}

func (h *levelCounter) Enabled(context.Context, slog.Level) bool { return true }
func (h *levelCounter) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.counts == nil {
		h.counts = map[slog.Level]int{}
	}
	h.counts[r.Level]++
	return nil
}
func (h *levelCounter) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *levelCounter) WithGroup(string) slog.Handler      { return h }
func (h *levelCounter) count(l slog.Level) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.counts[l]
}

func TestFreeReadsTheRealFileSystem(t *testing.T) {
	free, err := diskspace.Free(t.TempDir())
	if err != nil || free <= 0 {
		t.Fatalf("Free = %d, %v", free, err)
	}
	if _, err := diskspace.Free("/no/such/directory/here"); err == nil {
		t.Error("Free of a missing directory did not fail")
	}
}

func TestAReserveAboveTheFreeSpaceRefusesInputUntilLowered(t *testing.T) {
	dir := t.TempDir()
	free, err := diskspace.Free(dir)
	if err != nil {
		t.Fatal(err)
	}
	logs := &levelCounter{}
	var changes []station.DiskStatus
	g := diskspace.New(dir, free+(1<<40), diskspace.Options{Logger: slog.New(logs), OnChange: func(st station.DiskStatus) { changes = append(changes, st) }})

	for range 3 {
		err := g.Check()
		if station.ErrorCode(err) != station.ESTORAGE || !strings.Contains(station.ErrorMessage(err), "存储空间不足") {
			t.Fatalf("Check with the reserve above the free space = %v", err)
		}
	}
	if st := g.Status(); !st.Low || st.FreeBytes <= 0 || st.ReserveBytes != free+(1<<40) {
		t.Errorf("status = %+v", st)
	}
	if n := logs.count(slog.LevelError); n != 1 {
		t.Errorf("%d error log records for one transition, want 1", n)
	}

	g.SetReserve(1 << 20)
	if err := g.Check(); err != nil {
		t.Fatalf("Check after lowering the reserve = %v", err)
	}
	if len(changes) != 2 || !changes[0].Low || changes[1].Low {
		t.Errorf("changes = %+v, want low then recovered", changes)
	}
	if n := logs.count(slog.LevelInfo); n != 1 {
		t.Errorf("%d info log records for the recovery, want 1", n)
	}
}

func TestAnUnreadableDiskDoesNotStopInput(t *testing.T) {
	logs := &levelCounter{}
	g := diskspace.New(t.TempDir(), 1<<20, diskspace.Options{Logger: slog.New(logs),
		Free: func(string) (int64, error) { return 0, errors.New("statfs: input/output error") }})
	for range 2 {
		if err := g.Check(); err != nil {
			t.Fatalf("Check = %v", err)
		}
	}
	if st := g.Last(); st.Error == "" || st.Low {
		t.Errorf("status = %+v", st)
	}
	if n := logs.count(slog.LevelError); n != 1 {
		t.Errorf("%d error records for the same failure, want 1", n)
	}
}

func TestGuardedBlobsRefuseWritesButServeReads(t *testing.T) {
	dir := t.TempDir()
	store, err := blob.Open(dir, blob.Options{})
	if err != nil {
		t.Fatal(err)
	}
	g := diskspace.New(dir, 0, diskspace.Options{})
	b := g.Blobs(store)
	sha, _, err := b.Put(strings.NewReader("第一页"))
	if err != nil {
		t.Fatal(err)
	}
	g.SetReserve(1 << 62)
	if _, _, err := b.Put(strings.NewReader("第二页")); station.ErrorCode(err) != station.ESTORAGE {
		t.Fatalf("Put short of space = %v", err)
	}
	n := 0
	if err := store.Walk(func(blob.Info) error { n++; return nil }); err != nil || n != 1 {
		t.Errorf("%d blobs stored (%v), want only the first", n, err)
	}
	r, err := b.Open(sha)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if got, _ := io.ReadAll(r); !bytes.Equal(got, []byte("第一页")) {
		t.Errorf("read %q", got)
	}
}
