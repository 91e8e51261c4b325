package sqlite

import (
	"context"
	"database/sql"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
)

// TestMigration0007KeepsTheRegister migrates a database that holds certificates issued under
// migration 0005 (numbered at issue) to 0007, which rebuilds the certificates table so that serial and
// payload may be NULL: every certificate and print survives, with its serial, and foreign keys still
// hold.
func TestMigration0007KeepsTheRegister(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "station.db")
	raw, err := sql.Open("sqlite", dsn(path, []string{"foreign_keys(1)"}, ""))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.ExecContext(ctx, `CREATE TABLE schema_migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL) STRICT`); err != nil {
		t.Fatal(err)
	}
	names, _ := fs.Glob(migrationFS, "migrations/*.sql")
	for _, name := range names {
		if migrationNumber(name) > 5 {
			continue
		}
		body, _ := fs.ReadFile(migrationFS, name)
		if _, err := raw.ExecContext(ctx, string(body)); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if _, err := raw.ExecContext(ctx, `INSERT INTO schema_migrations VALUES (?, '2026-11-24T00:00:00Z')`, name); err != nil {
			t.Fatal(err)
		}
	}
	for _, q := range []string{
		`INSERT INTO residents VALUES ('r1', 'resident', 'c', 'i', '2201**0241', '王桂芬', 'female', '汉', '1941-03-12', '幸福小区', '幸福社区', '', '', '[]', 't', 't', '')`,
		`INSERT INTO certificates (id, serial, type_code, type_name, category, template_version, resident_id, subject_name_masked,
			subject_id_masked, text, inputs, content_hash, payload, pdf_sha256, issue_date, valid_until, channel, status, print_count,
			created_at, created_by, issued_at, updated_at)
		VALUES ('c1', 'ZM20261124-0001', 'MS-001', '居住证明', 'livelihood', 1, 'r1', '王**', '2201**0241', '{"title":"居住证明"}', '{}',
			'ab', 'C1.x', 'cd', '2026-11-24', '', 'kiosk', 'issued', 1, '2026-11-24T01:00:00Z', 'kiosk', '2026-11-24T01:01:00Z', '2026-11-24T01:01:00Z')`,
		`INSERT INTO certificate_prints VALUES ('c1', 1, '2026-11-24T01:01:00Z', 'kiosk', 0, 'A4', 'cd', 'ok', '')`,
	} {
		if _, err := raw.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	raw.Close()

	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	c, err := db.Certificate(ctx, "c1")
	if err != nil || c.Serial != "ZM20261124-0001" || c.Payload != "C1.x" || c.PrintCount != 1 || c.IssuedAt == nil {
		t.Fatalf("after the migration: %+v %v", c, err)
	}
	prints, err := db.CertificatePrints(ctx, "c1")
	if err != nil || len(prints) != 1 || prints[0].Result != "ok" {
		t.Fatalf("prints: %+v %v", prints, err)
	}
	var fk int
	if err := db.read.QueryRowContext(ctx, `SELECT count(*) FROM pragma_foreign_key_check`).Scan(&fk); err != nil || fk != 0 {
		t.Fatalf("foreign key check: %d %v", fk, err)
	}
	var ddl string
	if err := db.read.QueryRowContext(ctx, `SELECT sql FROM sqlite_master WHERE name = 'certificate_prints'`).Scan(&ddl); err != nil ||
		!strings.Contains(ddl, "REFERENCES certificates (id)") {
		t.Fatalf("certificate_prints: %s %v", ddl, err)
	}
}
