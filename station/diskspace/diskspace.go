// Package diskspace keeps the station from filling its disk: a Guard compares the free space of the
// data directory with a reserve and, below it, refuses new input with station.ErrDiskLow. What the
// station already holds is never dropped or truncated to make room; the technician frees space and
// the station takes input again on the next request, without a restart.
//
// The store asks the guard before it applies a command that creates records (station.CommandKind
// NeedsSpace), and the blob store in front of the HTTP layer asks it before writing a file. The free
// space is read with statfs (GetDiskFreeSpaceEx on Windows) on every check: it is a cheap system call
// and a cached answer could let a burst of scans through.
package diskspace

import (
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/civic-station/station/internal/bytesize"
	"github.com/civic-station/station/station"
)

// DefaultReserve is the reserve `station run` keeps unless --disk-reserve says otherwise.
const DefaultReserve = 256 << 20

// Options configures a Guard. The zero value is usable.
type Options struct {
	Logger *slog.Logger     // default: discard
	Now    func() time.Time // default: time.Now
	// Free returns the bytes available in dir; default: the file system's answer (statfs).
	Free func(dir string) (int64, error)
	// OnChange is called (outside the guard's lock) when the disk goes below the reserve or back above it.
	OnChange func(station.DiskStatus)
}

// Guard watches the free space of one directory. It is safe for concurrent use.
type Guard struct {
	dir     string
	opts    Options
	reserve atomic.Int64

	mu   sync.Mutex
	last station.DiskStatus
	// readErr is the last error reading the free space, logged once until it changes.
	readErr string
}

// New returns a guard for dir with the given reserve in bytes (0 disables the refusal but still reports
// the free space).
func New(dir string, reserve int64, opts Options) *Guard {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Free == nil {
		opts.Free = Free
	}
	g := &Guard{dir: dir, opts: opts}
	g.reserve.Store(max(0, reserve))
	return g
}

// SetReserve changes the reserve; the next check uses it.
func (g *Guard) SetReserve(n int64) { g.reserve.Store(max(0, n)) }

// Reserve returns the reserve in bytes.
func (g *Guard) Reserve() int64 { return g.reserve.Load() }

// Check reads the free space and returns station.ErrDiskLow when it is below the reserve. When the free
// space cannot be read it lets the input through (the error is logged and shown in Status): refusing
// every application because of a monitoring failure would be worse than the risk it guards against,
// and the store refuses a write the disk cannot take without corrupting anything.
func (g *Guard) Check() error {
	if st := g.Status(); st.Low {
		return station.ErrDiskLow()
	}
	return nil
}

// Status reads the free space now and returns it with the reserve. Going below the reserve logs an
// error once and calls OnChange; going back above it logs and calls OnChange again.
func (g *Guard) Status() station.DiskStatus {
	reserve := g.reserve.Load()
	free, err := g.opts.Free(g.dir)
	st := station.DiskStatus{FreeBytes: free, ReserveBytes: reserve, CheckedAt: g.opts.Now(), Low: err == nil && free < reserve}
	if err != nil {
		st.Error = err.Error()
	}
	g.mu.Lock()
	changed := st.Low != g.last.Low
	logErr := err != nil && st.Error != g.readErr
	g.readErr = st.Error
	g.last = st
	g.mu.Unlock()
	if logErr {
		g.opts.Logger.Error("cannot read the free disk space; new input is not limited", "dir", g.dir, "err", err)
	}
	if changed {
		if st.Low {
			g.opts.Logger.Error("disk space below the reserve: refusing new input until space is freed",
				"dir", g.dir, "free", bytesize.Format(free), "reserve", bytesize.Format(reserve))
		} else {
			g.opts.Logger.Info("disk space back above the reserve: taking new input again",
				"dir", g.dir, "free", bytesize.Format(free), "reserve", bytesize.Format(reserve))
		}
		if g.opts.OnChange != nil {
			g.opts.OnChange(st)
		}
	}
	return st
}

// Last returns the status of the last check without reading the disk (the zero status before any).
func (g *Guard) Last() station.DiskStatus {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.last
}

// BlobStore is the part of a blob store a guard stands in front of.
type BlobStore interface {
	Put(r io.Reader) (sha256 string, size int64, err error)
	Open(sha256 string) (io.ReadCloser, error)
}

// Blobs returns b with Put refused with station.ErrDiskLow while the disk is short of the reserve;
// reads pass through.
func (g *Guard) Blobs(b BlobStore) BlobStore { return guardedBlobs{b, g} }

type guardedBlobs struct {
	BlobStore
	g *Guard
}

func (b guardedBlobs) Put(r io.Reader) (string, int64, error) {
	if err := b.g.Check(); err != nil {
		return "", 0, err
	}
	return b.BlobStore.Put(r)
}
