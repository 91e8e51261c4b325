package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	msqlite "modernc.org/sqlite"

	"github.com/civic-station/station/station"
)

// Logged is a command taken from the replicated command log, with its index in that log.
type Logged struct {
	Index uint64
	Cmd   station.Command
}

// Outcome is what applying one logged command produced: its result, and the domain's refusal or the
// reason it could not be applied.
type Outcome struct {
	Result station.Result
	Err    error
}

// ApplyLogged applies a batch of commands committed to the replicated log, in log order, in one
// transaction, and records the index of the last one in the same transaction (raft_applied). That
// record is what lets the store skip fsyncing each command when the log has already fsynced it
// (WithLogSync): after a crash the store is whatever SQLite kept, and the log replays every entry
// after the recorded index. An entry at or below the recorded index was applied before; it is answered
// from the command's recorded outcome and not applied again.
//
// Each command keeps the effects of Submit: domain changes, audit entry, outbox record and its own
// record, or, when the domain refuses it, only the audited refusal. A command that fails for any other
// reason is rolled back alone and answered with the error. When the disk is full or failing, nothing
// of the batch is applied and ApplyLogged returns ESTORAGE: the caller (the log's state machine) must
// apply the same batch again before any later one.
func (db *DB) ApplyLogged(ctx context.Context, batch []Logged) ([]Outcome, error) {
	out, err := db.applyLogged(ctx, batch)
	if err != nil {
		db.logger.Error("apply from the log", "entries", len(batch), "err", err)
		return nil, db.health.translate(err)
	}
	db.health.translate(nil)
	return out, nil
}

// appliedCache is the index raft_applied holds, once read or written: applying a batch then needs
// no query for it (a tenth of a one-command batch's CPU). Only the writer changes the row, under db.mu;
// a write that may not have committed, a restore and ForgetAppliedIndex make it unknown again.
type appliedCache struct {
	index uint64
	known bool
}

func (db *DB) applyLogged(ctx context.Context, batch []Logged) (_ []Outcome, err error) {
	out := make([]Outcome, len(batch))
	if len(batch) == 0 {
		return out, nil
	}
	db.mu.Lock()
	defer db.mu.Unlock()
	defer db.preparePending(context.WithoutCancel(ctx))

	if !db.applied.known {
		i, err := appliedIndex(ctx, db.read)
		if err != nil {
			return nil, err
		}
		db.applied = appliedCache{index: i, known: true}
	}
	applied := db.applied.index
	// A batch the store has applied before (raft replays the log after a start) is answered from the
	// recorded outcomes without a write transaction: a restart on a full disk must not need one.
	if batch[len(batch)-1].Index <= applied {
		for i, e := range batch {
			out[i] = replayed(ctx, db.read, e.Cmd)
		}
		return out, nil
	}

	sqlTx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("apply from the log: begin: %w", err)
	}
	defer sqlTx.Rollback()
	defer func() {
		if err != nil {
			db.applied.known = false
		}
	}()
	tx := stmtTx{Tx: sqlTx, db: db}
	var effs []effect
	last := applied
	for i, e := range batch {
		if e.Index <= applied {
			out[i] = replayed(ctx, tx, e.Cmd)
			continue
		}
		last = e.Index
		if err := checkEnvelope(e.Cmd); err != nil {
			out[i].Err = err
			continue
		}
		if _, err := tx.ExecContext(ctx, `SAVEPOINT logged`); err != nil {
			return nil, err
		}
		res, domainErr, eff, err := applyOne(ctx, tx, db, e.Cmd)
		if err != nil {
			if isStorageFailure(err) {
				return nil, err
			}
			// A command that cannot be applied for another reason (a defect) is rolled back alone:
			// the rest of the batch goes on, and replaying it later fails the same way.
			if _, rbErr := tx.ExecContext(ctx, `ROLLBACK TO logged`); rbErr != nil {
				return nil, rbErr
			}
			db.logger.Error("apply from the log", "index", e.Index, "kind", e.Cmd.Kind, "err", err)
			out[i].Err = err
		} else {
			out[i].Result = res
			if domainErr != nil {
				out[i].Err = domainErr
			}
			effs = append(effs, eff)
		}
		if _, err := tx.ExecContext(ctx, `RELEASE logged`); err != nil {
			return nil, err
		}
	}
	if last > applied {
		if _, err := tx.ExecContext(ctx, `INSERT INTO raft_applied (id, log_index) VALUES (1, ?)
			ON CONFLICT (id) DO UPDATE SET log_index = excluded.log_index`, int64(last)); err != nil {
			return nil, fmt.Errorf("apply from the log: record the index: %w", err)
		}
	}
	if err := sqlTx.Commit(); err != nil {
		return nil, fmt.Errorf("apply from the log: commit: %w", err)
	}
	db.applied.index = last
	for _, eff := range effs {
		db.changed(eff)
	}
	return out, nil
}

// replayed answers a log entry the store applied before from the command's recorded outcome.
func replayed(ctx context.Context, tx querier, cmd station.Command) Outcome {
	res, prevErr, ok, err := previousOutcome(ctx, tx, cmd.ID)
	switch {
	case err != nil:
		return Outcome{Err: err}
	case !ok:
		// Applied before but not recorded: it was refused before it reached the domain (a malformed
		// envelope, or a defect that rolled it back).
		return Outcome{Err: station.Errorf(station.EINVALID, "命令未能执行")}
	}
	return Outcome{Result: res, Err: prevErr}
}

func appliedIndex(ctx context.Context, q querier) (uint64, error) {
	var n int64
	err := q.QueryRowContext(ctx, `SELECT log_index FROM raft_applied WHERE id = 1`).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read the applied log index: %w", err)
	}
	return uint64(n), nil
}

// AppliedIndex returns the index of the last log entry the store has applied (0 for none: a store
// that has never been run under the replicated log, such as one from before it existed).
func (db *DB) AppliedIndex(ctx context.Context) (uint64, error) {
	return appliedIndex(ctx, db.read)
}

// RestoreFrom replaces the whole content of the live database with the database file at path (a
// snapshot taken by SnapshotTo on this or another box), page by page through SQLite's backup API on
// the writer: memory stays bounded whatever the size, readers see the old content until the copy
// commits and the new content after, and a failed copy leaves the old content. The file's schema must
// be one this program knows; it is brought up to date like any store when it is older.
func (db *DB) RestoreFrom(ctx context.Context, path string) error {
	db.mu.Lock()
	defer db.mu.Unlock()
	conn, err := db.write.Conn(ctx)
	if err != nil {
		return fmt.Errorf("restore %s from %s: %w", db.path, path, err)
	}
	err = conn.Raw(func(dc any) error {
		rc, ok := dc.(interface {
			NewRestore(srcURI string) (*msqlite.Backup, error)
		})
		if !ok {
			return fmt.Errorf("the driver connection %T cannot restore", dc)
		}
		b, err := rc.NewRestore("file:" + path + "?mode=ro")
		if err != nil {
			return err
		}
		for {
			more, err := b.Step(1024)
			if err != nil {
				b.Finish()
				return err
			}
			if !more {
				return b.Finish()
			}
		}
	})
	conn.Close()
	if err != nil {
		return db.health.translate(fmt.Errorf("restore %s from %s: %w", db.path, path, err))
	}
	db.stmtMu.Lock()
	for q, st := range db.stmts {
		st.Close()
		delete(db.stmts, q)
	}
	db.stmtMu.Unlock()
	db.calMu.Lock()
	db.cal = nil
	db.calMu.Unlock()
	db.applied.known = false
	if err := db.migrate(ctx, db.schema); err != nil {
		return err
	}
	return nil
}

// ForgetAppliedIndex clears the recorded log index: the store is about to start a new log (its old
// log is gone, as after `station restore`, which restores the database alone), whose indexes start
// again from 1 and must not be mistaken for entries applied before.
func (db *DB) ForgetAppliedIndex(ctx context.Context) error {
	db.mu.Lock()
	defer db.mu.Unlock()
	db.applied.known = false
	if _, err := db.write.ExecContext(ctx, `DELETE FROM raft_applied`); err != nil {
		return db.health.translate(fmt.Errorf("forget the applied log index: %w", err))
	}
	return nil
}
