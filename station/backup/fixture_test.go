package backup

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/civic-station/station/station/datakey"
)

// The fixture was written by the writer of the release before blobs were taken by their content
// address (the database first, every file hashed), and is kept as that release wrote it: rewrite it
// only on purpose, for a new format.
var update = flag.Bool("update", false, "rewrite testdata/format1.stationbak with this writer")

// fixtureKey is the data key of the archives in testdata: fixed, as they are.
func fixtureKey(t *testing.T) *datakey.Key {
	t.Helper()
	k, err := datakey.New(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// fixtureFiles is what testdata/format1.stationbak holds: a database over several chunks, a blob
// under its content address, a file in blobs/ under another name, and an identity file.
func fixtureFiles() map[string][]byte {
	r := rand.NewChaCha8([32]byte{1})
	db := make([]byte, 150_000)
	r.Read(db)
	blob := make([]byte, 70_000)
	r.Read(blob)
	sum := sha256.Sum256(blob)
	addr := hex.EncodeToString(sum[:])
	return map[string][]byte{
		"station.db":                         db,
		"blobs/" + addr[:2] + "/" + addr[2:]: blob,
		"blobs/ab/not-an-address":            []byte("a file in blobs/ under another name"),
		"sync/identity.json":                 []byte(`{"station_id":"s1"}`),
	}
}

func TestWriteFormat1Fixture(t *testing.T) {
	if !*update {
		t.Skip("-update not given")
	}
	dir := t.TempDir()
	files := fixtureFiles()
	for rel, b := range files {
		write(t, dir, rel, b)
	}
	src := Source{
		Dir: dir, Database: "station.db",
		Snapshot: func(_ context.Context, p string) error { return os.WriteFile(p, files["station.db"], 0o600) },
		Files:    []string{"sync/identity.json"},
		Trees:    []string{"blobs"},
		Station:  "s1", Version: "v0.9.0",
		Now: func() time.Time { return time.Date(2026, 12, 7, 3, 0, 0, 0, time.UTC) },
	}
	var archive bytes.Buffer
	if _, err := Write(context.Background(), &archive, fixtureKey(t), nil, src, nil); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join("testdata", "format1.stationbak"), archive.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestAFormat1ArchiveStillRestores reads the archive the previous writer made: verify and restore
// accept it, every file as it was.
func TestAFormat1ArchiveStillRestores(t *testing.T) {
	a, err := os.ReadFile(filepath.Join("testdata", "format1.stationbak"))
	if err != nil {
		t.Fatal(err)
	}
	key := fixtureKey(t)
	ar, err := Open(bytes.NewReader(a))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ar.Verify(context.Background(), key, nil); err != nil {
		t.Fatalf("verify: %v", err)
	}
	out := filepath.Join(t.TempDir(), "restored")
	man, err := extract(bytes.NewReader(a), key, out, nil)
	if err != nil {
		t.Fatal(err)
	}
	files := fixtureFiles()
	if man.Format != 1 || man.Station != "s1" || len(man.Files) != len(files) {
		t.Errorf("manifest %+v", man)
	}
	for rel, want := range files {
		b, err := os.ReadFile(filepath.Join(out, filepath.FromSlash(rel)))
		if err != nil || !bytes.Equal(b, want) {
			t.Errorf("%s: restored %d bytes, %v; want %d", rel, len(b), err, len(want))
		}
	}
}
