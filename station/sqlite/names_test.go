package sqlite

import (
	"io/fs"

	"github.com/civic-station/station/internal/sqlitedb"
)

// The tests of this package build DSNs and walk the migrations with these; the code they stand for
// lives in internal/sqlitedb.

func dsn(path string, pragmas []string, extra string) string {
	return sqlitedb.DSN(path, pragmas, extra)
}

func migrationNames(fsys fs.FS) ([]string, error) { return sqlitedb.Schema{FS: fsys}.Names() }

func migrationNumber(name string) int { return sqlitedb.Number(name) }
