package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/civic-station/station/internal/sqlitedb"
)

// checkpointEvery is how often the background checkpointer copies the WAL into the database file.
const checkpointEvery = 500 * time.Millisecond

// checkpointer copies the WAL into the database file on a connection of its own, off the write path:
// under the log (WithLogSynced) the writer's commits do not fsync, and SQLite's automatic checkpoint
// would then put the whole fsync of the database file into whichever commit crosses the WAL's
// threshold (the write path's p99). A passive checkpoint blocks neither the writer nor the readers.
type checkpointer struct {
	conn *sql.DB
	stop chan struct{}
	done chan struct{}
}

func startCheckpointer(path string) (*checkpointer, error) {
	conn, err := sql.Open("sqlite", sqlitedb.DSN(path, []string{sqlitedb.BusyTimeout, "synchronous(NORMAL)"}))
	if err != nil {
		return nil, err
	}
	conn.SetMaxOpenConns(1)
	c := &checkpointer{conn: conn, stop: make(chan struct{}), done: make(chan struct{})}
	go c.run()
	return c, nil
}

func (c *checkpointer) run() {
	defer close(c.done)
	t := time.NewTicker(checkpointEvery)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
			// A failure (a busy database, a full disk) is tried again at the next tick; the WAL keeps
			// every commit meanwhile.
			_, _ = c.conn.ExecContext(context.Background(), `PRAGMA wal_checkpoint(PASSIVE)`)
		}
	}
}

func (c *checkpointer) close() error {
	close(c.stop)
	<-c.done
	return c.conn.Close()
}
