package sqlite

import (
	"errors"
	"sync/atomic"
	"syscall"

	msqlite "modernc.org/sqlite"

	"github.com/civic-station/station/station"
)

// SQLite's primary result codes for a full disk and an I/O error (the extended codes keep these in
// their low byte).
const (
	sqliteIOErr = 10
	sqliteFull  = 13
)

// isStorageFailure reports whether err comes from a full or failing disk: SQLITE_FULL, SQLITE_IOERR
// (any extended code), or ENOSPC/EIO from the file system.
func isStorageFailure(err error) bool {
	var se *msqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqliteFull, sqliteIOErr:
			return true
		}
	}
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EIO) || errors.Is(err, syscall.EDQUOT)
}

// storageHealth remembers whether the last write failed for want of a working disk.
type storageHealth struct{ failing atomic.Bool }

// translate turns a full or failing disk into ESTORAGE, the answer a caller can act on (the resident
// and the staff see why nothing was saved; the API answers 507), and records the degraded state; any
// other error passes unchanged. A nil error marks the disk healthy again.
func (h *storageHealth) translate(err error) error {
	if err == nil {
		h.failing.Store(false)
		return nil
	}
	var de *station.Error
	if errors.As(err, &de) || !isStorageFailure(err) {
		return err
	}
	h.failing.Store(true)
	return station.ErrStorageFailed()
}
