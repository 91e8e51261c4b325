package sqlitedb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	msqlite "modernc.org/sqlite"
)

// Snapshot writes a consistent copy of the whole database at src to dst, which must not exist, while
// writers go on: SQLite's online backup copies every page in one step inside one read transaction
// (WAL readers do not block the writer), WAL content included. It is several times faster than
// VACUUM INTO, which rebuilds every b-tree; the copy keeps the source's free pages. The copy is
// created 0600 and written without a journal or fsyncs (a new file that nobody reads until it is
// complete): the caller fsyncs it when it needs to be durable.
func Snapshot(ctx context.Context, src, dst string) error {
	f, err := os.OpenFile(dst, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("snapshot to %s: %w", dst, err)
	}
	f.Close()
	for try := 1; ; try++ {
		err = snapshot(ctx, src, dst)
		// The source's connection is the backup API's own, without a busy timeout: a read lock it
		// cannot take at once (a checkpoint resetting the WAL) is tried again.
		if err == nil || !IsBusy(err) || try == 5 {
			break
		}
		select {
		case <-ctx.Done():
			err = ctx.Err()
		case <-time.After(time.Duration(try) * 50 * time.Millisecond):
			continue
		}
		break
	}
	if err != nil {
		os.Remove(dst)
		return fmt.Errorf("snapshot %s to %s: %w", src, dst, err)
	}
	return nil
}

// snapshot copies the database at src into the empty file dst: the copy's connection is opened here
// with its journal and fsyncs off and pulls the pages from src (the backup API's "restore"
// direction), since the API opens the other side's connection without pragmas.
func snapshot(ctx context.Context, src, dst string) error {
	db, err := sql.Open("sqlite", DSN(dst, []string{"journal_mode(OFF)", "synchronous(OFF)"}))
	if err != nil {
		return err
	}
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		rc, ok := dc.(interface {
			NewRestore(srcURI string) (*msqlite.Backup, error)
		})
		if !ok {
			return fmt.Errorf("the driver connection %T has no online backup", dc)
		}
		// Read-only: the snapshot cannot change the database whoever runs it.
		b, err := rc.NewRestore("file:" + src + "?mode=ro")
		if err != nil {
			return err
		}
		for {
			more, err := b.Step(-1)
			if err != nil {
				b.Finish()
				return err
			}
			if !more {
				return b.Finish()
			}
		}
	})
}

// SQLite's primary result codes for a lock another connection holds (the extended codes keep these
// in their low byte).
const (
	sqliteBusy   = 5
	sqliteLocked = 6
)

// IsBusy reports whether err is SQLITE_BUSY or SQLITE_LOCKED: a lock another connection holds.
func IsBusy(err error) bool {
	var se *msqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqliteBusy, sqliteLocked:
			return true
		}
	}
	return false
}

// UpgradeBackup snapshots the database at src into dir (created 0700) as NAME-schemaNNNN-TIME.db, the
// schema version it is at before an upgrade, fsyncs it, keeps the newest keep such snapshots of name,
// and returns the new one's path. A store calls it from Schema.BeforeUpgrade.
func UpgradeBackup(ctx context.Context, src, dir, name string, from, keep int) (string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	path := filepath.Join(dir, fmt.Sprintf("%s-schema%04d-%s.db", name, from, time.Now().UTC().Format("20060102T150405.000Z")))
	if err := Snapshot(ctx, src, path); err != nil {
		return "", err
	}
	if err := syncFile(path); err != nil {
		os.Remove(path)
		return "", err
	}
	pruneUpgradeBackups(dir, name, keep)
	return path, nil
}

func syncFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	err = f.Sync()
	return errors.Join(err, f.Close())
}

// pruneUpgradeBackups removes all but the newest keep NAME-schema*.db files of dir.
func pruneUpgradeBackups(dir, name string, keep int) {
	matches, _ := filepath.Glob(filepath.Join(dir, name+"-schema*.db"))
	type snap struct {
		path string
		mod  time.Time
	}
	var snaps []snap
	for _, m := range matches {
		if fi, err := os.Stat(m); err == nil {
			snaps = append(snaps, snap{m, fi.ModTime()})
		}
	}
	sort.Slice(snaps, func(i, j int) bool { return snaps[i].mod.After(snaps[j].mod) })
	for i := keep; i < len(snaps); i++ {
		os.Remove(snaps[i].path)
	}
}
