// Package rawinsert is the floor the write path's benchmarks measure against: one INSERT of a row
// the size of an intake per transaction, into a plain SQLite table, fsynced (WAL, synchronous=FULL),
// one writer. Nothing a station does can write a record faster than this on the same disk.
package rawinsert

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	_ "modernc.org/sqlite" // the driver
)

// Inserter inserts rows into its own database file.
type Inserter struct {
	db      *sql.DB
	payload string
	mu      sync.Mutex
	next    int
}

// Open creates the database in a directory of tb's and returns an Inserter on it.
func Open(tb testing.TB) *Inserter {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "raw.db")
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=busy_timeout(10000)&_txlock=immediate")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(`CREATE TABLE t (id TEXT PRIMARY KEY, payload TEXT NOT NULL) STRICT`); err != nil {
		tb.Fatal(err)
	}
	return &Inserter{db: db,
		payload: `{"matter_code":"MZ-001","applicant":{"name":"测试","id_number":{"cipher":"` + strings.Repeat("A", 64) + `"}}}`}
}

// Insert inserts one row in its own transaction. It is safe for concurrent use (the inserts
// serialise on the one writer).
func (r *Inserter) Insert(tb testing.TB) {
	r.mu.Lock()
	r.next++
	id := fmt.Sprintf("raw-%d", r.next)
	r.mu.Unlock()
	tx, err := r.db.Begin()
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := tx.Exec(`INSERT INTO t (id, payload) VALUES (?, ?)`, id, r.payload); err != nil {
		tb.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		tb.Fatal(err)
	}
}
