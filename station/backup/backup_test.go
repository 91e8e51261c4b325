package backup

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/civic-station/station/station/datakey"
)

func newKey(t *testing.T) *datakey.Key {
	t.Helper()
	master := make([]byte, 32)
	rand.Read(master)
	k, err := datakey.New(master)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func write(t *testing.T, dir, rel string, data []byte) {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// dataDir is a data directory with a database, blobs (one over several chunks), an upload in
// progress that a backup leaves out, and the identity files.
func dataDir(t *testing.T) (string, Source, map[string][]byte) {
	dir := t.TempDir()
	files := map[string][]byte{
		"station.db":           randomBytes(200_000),
		"blobs/ab/abcdef":      randomBytes(300_001),
		"blobs/cd/cdef01":      []byte("small"),
		"sync/station.key":     []byte("-----BEGIN PRIVATE KEY-----\n"),
		"sync/identity.json":   []byte(`{"station_id":"s1"}`),
		"cert-signing.pem":     []byte("signing key"),
		"blobs/tmp/partial-01": []byte("an upload in progress"),
	}
	for rel, b := range files {
		write(t, dir, rel, b)
	}
	src := Source{
		Dir: dir, Database: "station.db",
		Snapshot: func(_ context.Context, p string) error {
			return os.WriteFile(p, files["station.db"], 0o600)
		},
		Files:   []string{"cert-signing.pem", "sync/identity.json", "sync/station.key", "sync/absent.crt"},
		Trees:   []string{"blobs"},
		Skip:    []string{"blobs/tmp"},
		Station: "s1", Version: "test",
		Now: func() time.Time { return time.Date(2026, 12, 7, 3, 0, 0, 0, time.UTC) },
	}
	delete(files, "blobs/tmp/partial-01")
	return dir, src, files
}

func TestARoundTripRestoresEveryFileAndReportsProgress(t *testing.T) {
	key := newKey(t)
	_, src, files := dataDir(t)
	var archive bytes.Buffer
	var last Progress
	man, err := Write(context.Background(), &archive, key, nil, src, func(p Progress) { last = p })
	if err != nil {
		t.Fatal(err)
	}
	if len(man.Files) != len(files) || last.Done != last.Total || last.Total != man.Bytes {
		t.Errorf("manifest has %d files (want %d), progress %+v, bytes %d", len(man.Files), len(files), last, man.Bytes)
	}
	if bytes.Contains(archive.Bytes(), []byte("signing key")) || bytes.Contains(archive.Bytes(), files["blobs/ab/abcdef"][:64]) {
		t.Error("the archive holds a file in clear")
	}
	out := filepath.Join(t.TempDir(), "restored")
	var rp Progress
	got, err := extract(bytes.NewReader(archive.Bytes()), key, out, func(p Progress) { rp = p })
	if err != nil {
		t.Fatal(err)
	}
	if got.Station != "s1" || got.Key != key.Fingerprint() || rp.Done != rp.Total || rp.Total != man.Bytes {
		t.Errorf("restored manifest %+v, progress %+v", got, rp)
	}
	for rel, want := range files {
		b, err := os.ReadFile(filepath.Join(out, filepath.FromSlash(rel)))
		if err != nil || !bytes.Equal(b, want) {
			t.Errorf("%s: restored %d bytes, %v; want %d", rel, len(b), err, len(want))
		}
	}
	if _, err := os.Stat(filepath.Join(out, "blobs", "tmp")); err == nil {
		t.Error("the upload in progress was restored")
	}
}

func TestAnotherKeyIsRefused(t *testing.T) {
	_, src, _ := dataDir(t)
	var archive bytes.Buffer
	if _, err := Write(context.Background(), &archive, newKey(t), nil, src, nil); err != nil {
		t.Fatal(err)
	}
	_, err := extract(&archive, newKey(t), t.TempDir(), nil)
	if !errors.Is(err, ErrWrongKey) {
		t.Errorf("err = %v, want ErrWrongKey", err)
	}
}

// TestADamagedOrTruncatedArchiveRestoresNothing flips bytes and cuts the archive at many places, the
// last chunk included: every one is refused and leaves the target directory empty.
func TestADamagedOrTruncatedArchiveRestoresNothing(t *testing.T) {
	key := newKey(t)
	_, src, _ := dataDir(t)
	var archive bytes.Buffer
	if _, err := Write(context.Background(), &archive, key, nil, src, nil); err != nil {
		t.Fatal(err)
	}
	a := archive.Bytes()
	header := len(magic) + saltSize + 8
	cases := map[string][]byte{}
	for _, at := range []int{header, header + 3, header + 100, len(a) / 2, len(a) - 20, len(a) - 1} {
		b := bytes.Clone(a)
		b[at] ^= 0x40
		cases["flip at "+itoa(at)] = b
	}
	for _, at := range []int{header, header + 4 + chunkSize + 16, len(a) / 2, len(a) - 4 - 16 - 1, lastChunkStart(t, a, header)} {
		cases["cut at "+itoa(at)] = a[:at]
	}
	for name, b := range cases {
		t.Run(name, func(t *testing.T) {
			out := t.TempDir()
			_, err := extract(bytes.NewReader(b), key, out, nil)
			if !errors.Is(err, ErrCorrupt) {
				t.Errorf("err = %v, want ErrCorrupt", err)
			}
			ar, err := Open(bytes.NewReader(b))
			if err == nil {
				_, err = ar.Verify(context.Background(), key, nil)
			}
			if !errors.Is(err, ErrCorrupt) {
				t.Errorf("verify: err = %v, want ErrCorrupt", err)
			}
			if ents, _ := os.ReadDir(out); len(ents) != 0 {
				t.Errorf("%d entries left in the target", len(ents))
			}
		})
	}
}

// lastChunkStart is the offset of the archive's last sealed chunk: cutting there leaves a stream of
// whole chunks with no last-chunk flag.
func lastChunkStart(t *testing.T, a []byte, off int) int {
	t.Helper()
	for {
		size := int(a[off])<<24 | int(a[off+1])<<16 | int(a[off+2])<<8 | int(a[off+3])
		next := off + 4 + size
		if next >= len(a) {
			return off
		}
		off = next
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestExtractRefusesANonEmptyDirectory(t *testing.T) {
	key := newKey(t)
	_, src, _ := dataDir(t)
	var archive bytes.Buffer
	if _, err := Write(context.Background(), &archive, key, nil, src, nil); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	write(t, out, "station.db", []byte("today's data"))
	if _, err := extract(&archive, key, out, nil); err == nil {
		t.Fatal("extracted over an existing data directory")
	}
	if b, _ := os.ReadFile(filepath.Join(out, "station.db")); string(b) != "today's data" {
		t.Error("the existing file was touched")
	}
}

// extract opens and extracts an archive.
func extract(r io.Reader, key Keyer, dir string, progress func(Progress)) (*Manifest, error) {
	ar, err := Open(r)
	if err != nil {
		return nil, err
	}
	return ar.Extract(context.Background(), key, dir, progress)
}

func TestVerifyReadsEverythingAndWritesNothing(t *testing.T) {
	key := newKey(t)
	_, src, files := dataDir(t)
	var archive bytes.Buffer
	wrapped, err := key.Wrap([]byte("a passphrase for the key"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Write(context.Background(), &archive, key, wrapped, src, nil); err != nil {
		t.Fatal(err)
	}
	ar, err := Open(bytes.NewReader(archive.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ar.WrappedKey, wrapped) || ar.KeyFingerprint() != key.Fingerprint() {
		t.Fatal("the header does not carry the wrapped key and the fingerprint")
	}
	man, err := ar.Verify(context.Background(), key, nil)
	if err != nil || len(man.Files) != len(files) || !man.KeyIncluded {
		t.Errorf("Verify = %+v, %v", man, err)
	}
}

// addressedDir is a data directory whose blob store holds blobs under their SHA-256, and one file under
// another name; the database is small and goes last.
func addressedDir(t *testing.T, blobs ...[]byte) (string, Source) {
	dir := t.TempDir()
	db := randomBytes(10_000)
	write(t, dir, "station.db", db)
	write(t, dir, "blobs/ab/readme.txt", []byte("not a blob name"))
	for _, b := range blobs {
		write(t, dir, blobPath(b), b)
	}
	src := Source{
		Dir: dir, Database: "station.db",
		Snapshot:  func(_ context.Context, p string) error { return os.WriteFile(p, db, 0o600) },
		Trees:     []string{"blobs"},
		Addressed: []string{"blobs"},
		Skip:      []string{"blobs/tmp"},
	}
	return dir, src
}

func blobPath(b []byte) string {
	s := sha256.Sum256(b)
	h := hex.EncodeToString(s[:])
	return "blobs/" + h[:2] + "/" + h[2:]
}

func TestABlobIsTakenByItsNameAndAnyOtherFileByItsHash(t *testing.T) {
	blob := randomBytes(100_000)
	_, src := addressedDir(t, blob)
	var archive bytes.Buffer
	man, err := Write(context.Background(), &archive, newKey(t), nil, src, nil)
	if err != nil {
		t.Fatal(err)
	}
	byPath := map[string]File{}
	for _, f := range man.Files {
		byPath[f.Path] = f
	}
	rel := blobPath(blob)
	if f := byPath[rel]; !f.Addressed || f.SHA256 != strings.ReplaceAll(strings.TrimPrefix(rel, "blobs/"), "/", "") {
		t.Errorf("blob: %+v", f)
	}
	sum := sha256.Sum256([]byte("not a blob name"))
	if f := byPath["blobs/ab/readme.txt"]; f.Addressed || f.SHA256 != hex.EncodeToString(sum[:]) {
		t.Errorf("other file: %+v", f)
	}
	if last := man.Files[len(man.Files)-1]; last.Path != "station.db" || last.Addressed {
		t.Errorf("last entry %+v, want the database", last)
	}
}

// TestARottedSourceBlobIsRefusedAtVerifyAndRestore: a blob whose content no longer matches its name
// (the station's disk) is archived as it is — the backup does not hash blobs — and verify and restore
// refuse the archive, naming the blob, and restore leaves nothing behind.
func TestARottedSourceBlobIsRefusedAtVerifyAndRestore(t *testing.T) {
	key := newKey(t)
	blob := randomBytes(200_000)
	dir, src := addressedDir(t, blob)
	rotted := bytes.Clone(blob)
	rotted[123_456] ^= 1
	write(t, dir, blobPath(blob), rotted)
	var archive bytes.Buffer
	if _, err := Write(context.Background(), &archive, key, nil, src, nil); err != nil {
		t.Fatal(err)
	}
	ar, err := Open(bytes.NewReader(archive.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ar.Verify(context.Background(), key, nil); !errors.Is(err, ErrDamagedBlob) || !strings.Contains(err.Error(), blobPath(blob)) {
		t.Errorf("verify: err = %v, want ErrCorrupt naming the blob", err)
	}
	out := t.TempDir()
	if _, err := extract(bytes.NewReader(archive.Bytes()), key, out, nil); !errors.Is(err, ErrCorrupt) {
		t.Errorf("restore: err = %v, want ErrCorrupt", err)
	}
	if ents, _ := os.ReadDir(out); len(ents) != 0 {
		t.Errorf("%d entries left in the target", len(ents))
	}
}

// TestAByteFlippedInABlobInTheArchiveIsRefused flips bytes inside the sealed chunks of a blob (the
// blob comes right after the archive's header entry; the database is small and last).
func TestAByteFlippedInABlobInTheArchiveIsRefused(t *testing.T) {
	key := newKey(t)
	_, src := addressedDir(t, randomBytes(1<<20))
	src.Trees, src.Addressed = []string{"blobs/"}, []string{"blobs/"}
	os.Remove(filepath.Join(src.Dir, "blobs", "ab", "readme.txt"))
	var archive bytes.Buffer
	if _, err := Write(context.Background(), &archive, key, nil, src, nil); err != nil {
		t.Fatal(err)
	}
	a := archive.Bytes()
	for _, at := range []int{len(a) / 4, len(a) / 2, len(a) * 3 / 4} {
		b := bytes.Clone(a)
		b[at] ^= 0x01
		ar, err := Open(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ar.Verify(context.Background(), key, nil); !errors.Is(err, ErrCorrupt) {
			t.Errorf("flip at %d: verify: err = %v, want ErrCorrupt", at, err)
		}
		out := t.TempDir()
		if _, err := extract(bytes.NewReader(b), key, out, nil); !errors.Is(err, ErrCorrupt) {
			t.Errorf("flip at %d: restore: err = %v, want ErrCorrupt", at, err)
		}
		if ents, _ := os.ReadDir(out); len(ents) != 0 {
			t.Errorf("flip at %d: %d entries left in the target", at, len(ents))
		}
	}
}

// TestABlobStoredWhileTheSnapshotRunsIsInTheArchive: the snapshot runs while the blobs are archived;
// a blob stored meanwhile, which the snapshot may refer to, is taken after it.
func TestABlobStoredWhileTheSnapshotRunsIsInTheArchive(t *testing.T) {
	key := newKey(t)
	early, late := randomBytes(70_000), randomBytes(80_000)
	dir, src := addressedDir(t, early)
	release := make(chan struct{})
	snapshot := src.Snapshot
	src.Snapshot = func(ctx context.Context, p string) error {
		<-release // the listing is done
		write(t, dir, blobPath(late), late)
		return snapshot(ctx, p)
	}
	var archive bytes.Buffer
	man, err := Write(context.Background(), &archive, key, nil, src, func(p Progress) {
		select {
		case <-release:
		default:
			close(release)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "restored")
	if _, err := extract(bytes.NewReader(archive.Bytes()), key, out, nil); err != nil {
		t.Fatal(err)
	}
	for _, b := range [][]byte{early, late} {
		if got, err := os.ReadFile(filepath.Join(out, filepath.FromSlash(blobPath(b)))); err != nil || !bytes.Equal(got, b) {
			t.Errorf("%s: %d bytes, %v", blobPath(b), len(got), err)
		}
	}
	if len(man.Files) != 4 {
		t.Errorf("manifest has %d files, want 4", len(man.Files))
	}
}

// failingWriter fails once more than n bytes were written to it.
type failingWriter struct{ n int }

func (w *failingWriter) Write(p []byte) (int, error) {
	if w.n -= len(p); w.n < 0 {
		return 0, errors.New("disk full")
	}
	return len(p), nil
}

func TestAFailedWriteOrASnapshotFailureEndsTheBackup(t *testing.T) {
	key := newKey(t)
	_, src := addressedDir(t, randomBytes(3<<20))
	if _, err := Write(context.Background(), &failingWriter{n: 1 << 20}, key, nil, src, nil); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("write failure: err = %v", err)
	}
	src.Snapshot = func(context.Context, string) error { return errors.New("database locked") }
	if _, err := Write(context.Background(), io.Discard, key, nil, src, nil); err == nil || !strings.Contains(err.Error(), "database locked") {
		t.Errorf("snapshot failure: err = %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	src.Snapshot = func(ctx context.Context, _ string) error { <-ctx.Done(); return ctx.Err() }
	if _, err := Write(ctx, io.Discard, key, nil, src, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: err = %v", err)
	}
}

// TestProgressEndsAtTheTotalWhenTheSnapshotIsLargerThanTheLiveFile: the archive's header takes the
// live database's size for the snapshot's (the write-ahead log is not in it); the backup's and the
// restore's progress still end with done equal to the total.
func TestProgressEndsAtTheTotalWhenTheSnapshotIsLargerThanTheLiveFile(t *testing.T) {
	key := newKey(t)
	_, src := addressedDir(t, randomBytes(50_000))
	for name, snapshot := range map[string]func(context.Context, string) error{
		"larger":  func(_ context.Context, p string) error { return os.WriteFile(p, randomBytes(300_000), 0o600) },
		"smaller": func(_ context.Context, p string) error { return os.WriteFile(p, randomBytes(3_000), 0o600) },
	} {
		t.Run(name, func(t *testing.T) {
			src.Snapshot = snapshot
			var archive bytes.Buffer
			var bp, rp Progress
			man, err := Write(context.Background(), &archive, key, nil, src, func(p Progress) { bp = p })
			if err != nil {
				t.Fatal(err)
			}
			if _, err := extract(&archive, key, filepath.Join(t.TempDir(), "r"), func(p Progress) { rp = p }); err != nil {
				t.Fatal(err)
			}
			for _, p := range []Progress{bp, rp} {
				if p.Done != man.Bytes || p.Total != man.Bytes {
					t.Errorf("last progress %+v, want done and total %d", p, man.Bytes)
				}
			}
		})
	}
}
