package sqlitedb_test

import (
	"context"
	"database/sql"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/civic-station/station/internal/sqlitedb"
)

func TestDSNCarriesEachPragmaInOrderThenTheParams(t *testing.T) {
	got := sqlitedb.DSN("/data/station.db", []string{"journal_mode(WAL)", "busy_timeout(10000)"}, "", "_txlock=immediate", "mode=ro")
	path, query, ok := strings.Cut(got, "?")
	if !ok || path != "file:/data/station.db" {
		t.Fatalf("DSN %q: want file:/data/station.db?…", got)
	}
	q, err := url.ParseQuery(query)
	if err != nil {
		t.Fatal(err)
	}
	if p := q["_pragma"]; !slices.Equal(p, []string{"journal_mode(WAL)", "busy_timeout(10000)"}) {
		t.Errorf("pragmas %q", p)
	}
	if q.Get("_txlock") != "immediate" || q.Get("mode") != "ro" || strings.Contains(got, "&&") {
		t.Errorf("params of %q", got)
	}
}

// pragma reads one pragma's value on a connection of db.
func pragma(t *testing.T, db *sql.DB, name string) string {
	t.Helper()
	var v string
	if err := db.QueryRow(`PRAGMA ` + name).Scan(&v); err != nil {
		t.Fatalf("PRAGMA %s: %v", name, err)
	}
	return v
}

func TestOpenMakesOneWriterInWALAndQueryOnlyReaders(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "store.db")
	db, err := sqlitedb.Open(ctx, path, sqlitedb.Config{Synchronous: "NORMAL", WriterPragmas: []string{"temp_store(MEMORY)"}, Readers: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("the file: %v %v; want mode 0600", fi, err)
	}
	for _, c := range []struct {
		db          *sql.DB
		name, value string
	}{
		{db.Write, "journal_mode", "wal"},
		{db.Write, "busy_timeout", "10000"},
		{db.Write, "foreign_keys", "1"},
		{db.Write, "synchronous", "1"}, // NORMAL
		{db.Write, "temp_store", "2"},  // MEMORY
		{db.Read, "query_only", "1"},
		{db.Read, "foreign_keys", "1"},
		{db.Read, "synchronous", "1"},
		{db.Read, "temp_store", "0"}, // the writer's alone
	} {
		if got := pragma(t, c.db, c.name); got != c.value {
			t.Errorf("%s = %s, want %s", c.name, got, c.value)
		}
	}
	if n := db.Write.Stats().MaxOpenConnections; n != 1 {
		t.Errorf("the writer may open %d connections", n)
	}
	if n := db.Read.Stats().MaxOpenConnections; n != 3 {
		t.Errorf("the readers may open %d connections, want 3", n)
	}
	if _, err := db.Read.Exec(`CREATE TABLE t (a)`); err == nil {
		t.Error("a reader wrote")
	}
}

func TestSynchronousIsFullUnlessSaidOtherwise(t *testing.T) {
	db, err := sqlitedb.Open(context.Background(), filepath.Join(t.TempDir(), "store.db"), sqlitedb.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if got := pragma(t, db.Write, "synchronous"); got != "2" {
		t.Errorf("synchronous = %s, want 2 (FULL)", got)
	}
}

func TestReadOnlyOpensNoWriterAndCreatesNothing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "absent.db")
	db, err := sqlitedb.Open(context.Background(), path, sqlitedb.Config{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if db.Write != nil {
		t.Error("a read-only open made a writer")
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a read-only open created the file: %v", err)
	}
}

func TestOpenRefusesAFileThatIsNotADatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "store.db")
	if err := os.WriteFile(path, []byte(strings.Repeat("not a database ", 100)), 0o600); err != nil {
		t.Fatal(err)
	}
	if db, err := sqlitedb.Open(context.Background(), path, sqlitedb.Config{}); err == nil {
		db.Close()
		t.Fatal("opened a file that is not a database")
	}
}

func schema(files map[string]string) fstest.MapFS {
	m := fstest.MapFS{}
	for name, body := range files {
		m["migrations/"+name] = &fstest.MapFile{Data: []byte(body)}
	}
	return m
}

// first is a schema of two migrations; brokenThird adds 0003, which works, and 0010, which fails after
// two of its statements succeeded.
var (
	first = map[string]string{
		"0001_init.sql": `CREATE TABLE a (x TEXT) STRICT; INSERT INTO a VALUES ('one');`,
		"0002_b.sql":    `CREATE TABLE b (y TEXT) STRICT;`,
	}
	brokenThird = map[string]string{
		"0001_init.sql":   first["0001_init.sql"],
		"0002_b.sql":      first["0002_b.sql"],
		"0003_c.sql":      `CREATE TABLE c (z TEXT) STRICT;`,
		"0010_broken.sql": `INSERT INTO a VALUES ('two'); CREATE TABLE d (w TEXT) STRICT; INSERT INTO no_such_table VALUES (1);`,
	}
)

func openMigrated(t *testing.T, files map[string]string) *sqlitedb.DB {
	t.Helper()
	path := filepath.Join(t.TempDir(), "store.db")
	db, err := sqlitedb.Open(context.Background(), path, sqlitedb.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	up, err := sqlitedb.Schema{FS: schema(files)}.Migrate(context.Background(), db.Write)
	if err != nil {
		t.Fatal(err)
	}
	if up.Existing || up.From != 0 || up.To != 2 || len(up.Applied) != 2 {
		t.Fatalf("a new database: %+v", up)
	}
	return db
}

// tables lists a database's tables and the rows of table a.
func tables(t *testing.T, db *sql.DB) string {
	t.Helper()
	var names, rows string
	if err := db.QueryRow(`SELECT group_concat(name, ',') FROM (SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name)`).Scan(&names); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(`SELECT group_concat(x, ',') FROM a`).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	return names + " / " + rows
}

func TestMigrationsApplyInOrderOnceEach(t *testing.T) {
	ctx := context.Background()
	db := openMigrated(t, map[string]string{
		"0002_b.sql":    `INSERT INTO a VALUES ('second');`,
		"0001_init.sql": `CREATE TABLE a (x TEXT) STRICT;`,
	})
	up, err := sqlitedb.Schema{FS: schema(first)}.Migrate(ctx, db.Write)
	if err != nil || len(up.Applied) != 0 || !up.Existing || up.To != 2 {
		t.Fatalf("again: %+v %v", up, err)
	}
	if got := tables(t, db.Write); got != "a,schema_migrations / second" {
		t.Fatalf("after: %s", got)
	}
	applied, v, err := sqlitedb.Applied(ctx, db.Read)
	if err != nil || v != 2 || !applied["migrations/0001_init.sql"] || !applied["migrations/0002_b.sql"] || len(applied) != 2 {
		t.Fatalf("recorded: %v %d %v", applied, v, err)
	}
}

// TestAFailedMigrationLeavesNothingHalfApplied upgrades a database at schema 2 to a schema whose last
// migration fails after statements that succeeded: nothing of it stays, and the database is at the
// migration before it (each migration on its own) or as it was (all in one transaction).
func TestAFailedMigrationLeavesNothingHalfApplied(t *testing.T) {
	for _, c := range []struct {
		name   string
		one    bool
		from   int
		tables string
	}{
		{"each migration on its own keeps 0003 and nothing of 0010", false, 3, "a,b,c,schema_migrations / one"},
		{"all in one transaction keeps the database as it was", true, 2, "a,b,schema_migrations / one"},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			db := openMigrated(t, first)
			var hook []int
			s := sqlitedb.Schema{FS: schema(brokenThird), OneTransaction: c.one, BeforeUpgrade: func(_ context.Context, from, to int) error {
				hook = append(hook, from, to)
				return nil
			}}
			_, err := s.Migrate(ctx, db.Write)
			var me *sqlitedb.MigrationError
			if !errors.As(err, &me) || me.Name != "migrations/0010_broken.sql" || me.From != c.from {
				t.Fatalf("want a MigrationError for 0010 at schema %d, got %v", c.from, err)
			}
			if !strings.Contains(err.Error(), "migrate migrations/0010_broken.sql: ") || !strings.Contains(err.Error(), "no_such_table") {
				t.Errorf("message: %v", err)
			}
			if !slices.Equal(hook, []int{2, 10}) {
				t.Errorf("BeforeUpgrade saw %v, want [2 10]", hook)
			}
			if got := tables(t, db.Write); got != c.tables {
				t.Errorf("after the failure: %s, want %s", got, c.tables)
			}
			if _, v, err := sqlitedb.Applied(ctx, db.Read); err != nil || v != c.from {
				t.Errorf("schema version %d %v, want %d", v, err, c.from)
			}
		})
	}
}

func TestAFailedBeforeUpgradeAppliesNothing(t *testing.T) {
	ctx := context.Background()
	db := openMigrated(t, first)
	before := tables(t, db.Write)
	refused := errors.New("no room for the snapshot")
	s := sqlitedb.Schema{FS: schema(brokenThird), BeforeUpgrade: func(context.Context, int, int) error { return refused }}
	if _, err := s.Migrate(ctx, db.Write); err != refused {
		t.Fatalf("want the hook's error as it is, got %v", err)
	}
	if got := tables(t, db.Write); got != before {
		t.Errorf("after: %s, before: %s", got, before)
	}
}

func TestBeforeUpgradeIsNotCalledForANewDatabase(t *testing.T) {
	db, err := sqlitedb.Open(context.Background(), filepath.Join(t.TempDir(), "store.db"), sqlitedb.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	s := sqlitedb.Schema{FS: schema(first), BeforeUpgrade: func(context.Context, int, int) error {
		t.Error("BeforeUpgrade called for an empty database")
		return nil
	}}
	if _, err := s.Migrate(context.Background(), db.Write); err != nil {
		t.Fatal(err)
	}
}

// TestADatabaseFromANewerVersionIsRefused: a database that holds a migration the program lacks is
// refused before anything is applied, even a migration the program has and the database has not.
func TestADatabaseFromANewerVersionIsRefused(t *testing.T) {
	ctx := context.Background()
	db := openMigrated(t, first)
	newer := map[string]string{"0003_c.sql": brokenThird["0003_c.sql"]}
	for k, v := range first {
		newer[k] = v
	}
	if _, err := (sqlitedb.Schema{FS: schema(newer)}).Migrate(ctx, db.Write); err != nil {
		t.Fatal(err)
	}
	before := tables(t, db.Write)

	older := map[string]string{"0002_other.sql": `CREATE TABLE other (o TEXT) STRICT;`}
	older["0001_init.sql"] = first["0001_init.sql"]
	for _, one := range []bool{false, true} {
		_, err := sqlitedb.Schema{FS: schema(older), OneTransaction: one}.Migrate(ctx, db.Write)
		var ne *sqlitedb.NewerError
		if !errors.As(err, &ne) || ne.Database != 3 || ne.Program != 2 ||
			!slices.Equal(ne.Unknown, []string{"migrations/0002_b.sql", "migrations/0003_c.sql"}) {
			t.Fatalf("want a NewerError 3 > 2 naming 0002_b and 0003_c, got %#v", err)
		}
		if !strings.Contains(err.Error(), "database schema 3 is newer than this program's 2") {
			t.Errorf("message: %v", err)
		}
		if got := tables(t, db.Write); got != before {
			t.Errorf("a refused database changed: %s, before: %s", got, before)
		}
	}
}

func TestNamesAreInTheOrderOfTheirNumbers(t *testing.T) {
	s := sqlitedb.Schema{FS: schema(map[string]string{"10_ten.sql": "", "0009_nine.sql": "", "2_two.sql": ""})}
	names, err := s.Names()
	if err != nil || !slices.Equal(names, []string{"migrations/2_two.sql", "migrations/0009_nine.sql", "migrations/10_ten.sql"}) {
		t.Fatalf("names %v %v", names, err)
	}
	if v := s.Version(); v != 10 {
		t.Errorf("version %d, want 10", v)
	}
	if v := (sqlitedb.Schema{FS: fstest.MapFS{}}).Version(); v != 0 {
		t.Errorf("an empty schema's version %d", v)
	}
}
