package blob_test

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/civic-station/station/station"
	"github.com/civic-station/station/station/blob"
)

func sum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

func randomBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, 1))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func openStore(t *testing.T, dir string, opts blob.Options) *blob.Store {
	t.Helper()
	s, err := blob.Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestPutStoresContentUnderItsHash(t *testing.T) {
	tests := []struct {
		name    string
		content []byte
	}{
		{"an empty blob is stored", []byte{}},
		{"a short text is stored", []byte("申请材料第一页")},
		{"a 3 MB scan is stored", randomBytes(1, 3<<20)},
	}
	dir := t.TempDir()
	s := openStore(t, dir, blob.Options{Verify: true})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, size, err := s.Put(bytes.NewReader(tt.content))
			if err != nil {
				t.Fatal(err)
			}
			want := sum(tt.content)
			if got != want || size != int64(len(tt.content)) {
				t.Fatalf("Put = %s, %d; want %s, %d", got, size, want, len(tt.content))
			}
			if _, err := os.Stat(filepath.Join(dir, "blobs", want[:2], want[2:])); err != nil {
				t.Errorf("not at blobs/ab/cdef…: %v", err)
			}
			if !s.Has(want) {
				t.Error("Has = false")
			}
			info, err := s.Stat(want)
			if err != nil || info.Size != size || info.SHA256 != want {
				t.Errorf("Stat = %+v, %v", info, err)
			}
			r, err := s.Open(want)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			back, err := io.ReadAll(r)
			if err != nil || !bytes.Equal(back, tt.content) {
				t.Errorf("read back %d bytes, err %v", len(back), err)
			}
		})
	}
}

func TestPutOfExistingContentChangesNothing(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir, blob.Options{})
	content := randomBytes(2, 10_000)
	var wg sync.WaitGroup
	sums := make([]string, 8)
	errs := make([]error, 8)
	for i := range sums {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sums[i], _, errs[i] = s.Put(bytes.NewReader(content))
		}()
	}
	wg.Wait()
	for i := range sums {
		if errs[i] != nil || sums[i] != sum(content) {
			t.Fatalf("Put %d = %s, %v", i, sums[i], errs[i])
		}
	}
	files := listFiles(t, dir)
	if len(files) != 1 {
		t.Errorf("files after 8 Puts of the same content: %v", files)
	}
}

// listFiles returns every regular file under dir, relative to it.
// listFiles lists the files under dir, but for the lock file of an open store.
func listFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() && p != filepath.Join(dir, "blobs", "tmp", ".open") {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestPutRefusesContentOverTheLimitAndLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir, blob.Options{MaxSize: 1000})
	if _, _, err := s.Put(bytes.NewReader(make([]byte, 1000))); err != nil {
		t.Fatalf("a blob at the limit: %v", err)
	}
	_, _, err := s.Put(bytes.NewReader(make([]byte, 1001)))
	if !errors.Is(err, blob.ErrTooLarge) || station.ErrorCode(err) != station.ETOOLARGE {
		t.Fatalf("a blob over the limit: %v", err)
	}
	if files := listFiles(t, dir); len(files) != 1 {
		t.Errorf("files left: %v", files)
	}
}

// failingReader yields some bytes and then an error, like a client that hangs up mid-upload.
type failingReader struct{ n int }

func (r *failingReader) Read(p []byte) (int, error) {
	if r.n <= 0 {
		return 0, errors.New("connection reset")
	}
	k := min(len(p), r.n)
	r.n -= k
	return k, nil
}

func TestPutOfAFailingReaderLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir, blob.Options{})
	if _, _, err := s.Put(&failingReader{n: 50_000}); err == nil {
		t.Fatal("Put succeeded with a failing reader")
	}
	if files := listFiles(t, dir); len(files) != 0 {
		t.Errorf("files left: %v", files)
	}
}

func TestLookupsRefuseMalformedAndMissingHashes(t *testing.T) {
	s := openStore(t, t.TempDir(), blob.Options{})
	missing := sum([]byte("never stored"))
	tests := []struct {
		name string
		sum  string
		want error
	}{
		{"an empty name is malformed", "", blob.ErrInvalidHash},
		{"a short name is malformed", missing[:10], blob.ErrInvalidHash},
		{"an uppercase name is malformed", strings.ToUpper(missing), blob.ErrInvalidHash},
		{"a path escaping the store is malformed", "../../../../etc/passwd" + missing[22:], blob.ErrInvalidHash},
		{"a well-formed name never stored is not found", missing, blob.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := s.Open(tt.sum); !errors.Is(err, tt.want) {
				t.Errorf("Open: %v, want %v", err, tt.want)
			}
			if _, err := s.Stat(tt.sum); !errors.Is(err, tt.want) {
				t.Errorf("Stat: %v, want %v", err, tt.want)
			}
			if s.Has(tt.sum) {
				t.Error("Has = true")
			}
		})
	}
}

func TestVerifyOnReadCatchesACorruptedBlob(t *testing.T) {
	dir := t.TempDir()
	content := randomBytes(3, 5000)
	h, _, err := openStore(t, dir, blob.Options{}).Put(bytes.NewReader(content))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "blobs", h[:2], h[2:])
	content[100] ^= 0xFF
	if err := os.WriteFile(path, content, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		verify  bool
		corrupt bool
	}{
		{"a reader without verification returns the changed bytes", false, false},
		{"a verifying reader reports the corruption at the end", true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := openStore(t, dir, blob.Options{Verify: tt.verify}).Open(h)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			_, err = io.ReadAll(r)
			if errors.Is(err, blob.ErrCorrupt) != tt.corrupt {
				t.Errorf("ReadAll error %v, want corrupt=%v", err, tt.corrupt)
			}
		})
	}
}

func TestFilesAreOwnerOnly(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	s := openStore(t, dir, blob.Options{})
	h, _, err := s.Put(strings.NewReader("身份证复印件"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		path string
		want fs.FileMode
	}{
		{"the blobs folder is 0700", filepath.Join(dir, "blobs"), 0o700 | fs.ModeDir},
		{"a fan-out folder is 0700", filepath.Join(dir, "blobs", h[:2]), 0o700 | fs.ModeDir},
		{"a blob file is 0600", filepath.Join(dir, "blobs", h[:2], h[2:]), 0o600},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fi, err := os.Stat(tt.path)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode() != tt.want {
				t.Errorf("mode %v, want %v", fi.Mode(), tt.want)
			}
		})
	}
}

func TestASecondStoreKeepsTheFirstOnesPutInProgress(t *testing.T) {
	dir := t.TempDir()
	first := openStore(t, dir, blob.Options{})
	left := filepath.Join(dir, "blobs", "tmp", "put-123")
	if err := os.WriteFile(left, []byte("half a page"), 0o600); err != nil {
		t.Fatal(err)
	}
	// While another Store has it open (another process of the same data directory, such as a
	// syncer run beside the station in the sync tests), its Put in progress keeps its file.
	openStore(t, dir, blob.Options{})
	if _, err := os.Stat(left); err != nil && runtime.GOOS != "windows" {
		t.Errorf("a second Store removed the first one's temporary file: %v", err)
	}
	first.Close()
}

// A Store that opens the store alone clears it, whoever closed it before or died with it open.
func TestTheLastStoreOpenClearsTemporaryFiles(t *testing.T) {
	dir := t.TempDir()
	openStore(t, dir, blob.Options{}).Close()
	left := filepath.Join(dir, "blobs", "tmp", "put-123")
	if err := os.WriteFile(left, []byte("half a page"), 0o600); err != nil {
		t.Fatal(err)
	}
	openStore(t, dir, blob.Options{})
	if _, err := os.Stat(left); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("temporary file still there: %v", err)
	}
}

// TestCrashChild is the child side of TestKilledWhilePuttingLeavesOnlyWholeBlobs: it stores blobs of
// random sizes as fast as it can and prints "PUT sum" after each Put returns.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv("STATION_BLOB_CRASH_DIR")
	if dir == "" {
		t.Skip("run only as the child of the crash test")
	}
	s, err := blob.Open(dir, blob.Options{})
	if err != nil {
		fmt.Println("ERR", err)
		os.Exit(2)
	}
	out := bufio.NewWriter(os.Stdout)
	seed := uint64(os.Getpid())
	for i := uint64(0); ; i++ {
		r := rand.New(rand.NewPCG(seed, i))
		content := randomBytes(seed<<20|i, 1+r.IntN(300_000))
		h, _, err := s.Put(bytes.NewReader(content))
		if err != nil {
			fmt.Fprintln(out, "ERR", err)
			out.Flush()
			os.Exit(2)
		}
		fmt.Fprintln(out, "PUT", h)
		out.Flush()
	}
}

// TestKilledWhilePuttingLeavesOnlyWholeBlobs kills a process that is storing blobs with SIGKILL at
// varying moments, several times over the same store, and checks that every file under a final name
// hashes to that name and that every blob whose Put returned is there.
func TestKilledWhilePuttingLeavesOnlyWholeBlobs(t *testing.T) {
	if testing.Short() {
		t.Skip("crash loop skipped in -short mode")
	}
	dir := t.TempDir()
	acked := map[string]bool{}
	for round := 0; round < 8; round++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.v=false")
		cmd.Env = append(os.Environ(), "STATION_BLOB_CRASH_DIR="+dir)
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Let it store a number of blobs that varies by round, then kill it mid-flight.
		sc := bufio.NewScanner(stdout)
		want := 5 + round*7
		for n := 0; n < want && sc.Scan(); {
			line := sc.Text()
			if h, ok := strings.CutPrefix(line, "PUT "); ok {
				acked[h] = true
				n++
			} else if strings.HasPrefix(line, "ERR") {
				t.Fatalf("child: %s", line)
			}
		}
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		// Lines already written before the kill are acknowledged too.
		for sc.Scan() {
			if h, ok := strings.CutPrefix(sc.Text(), "PUT "); ok {
				acked[h] = true
			}
		}
		cmd.Wait()
	}
	s := openStore(t, dir, blob.Options{Verify: true})
	whole := 0
	err := s.Walk(func(info blob.Info) error {
		b, err := os.ReadFile(filepath.Join(dir, "blobs", info.SHA256[:2], info.SHA256[2:]))
		if err != nil {
			return err
		}
		if got := sum(b); got != info.SHA256 {
			t.Errorf("blob %s holds content hashing to %s (%d bytes)", info.SHA256, got, len(b))
		}
		whole++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for h := range acked {
		if !s.Has(h) {
			t.Errorf("blob %s was acknowledged but is missing", h)
		}
	}
	if tmp, _ := os.ReadDir(filepath.Join(dir, "blobs", "tmp")); len(tmp) != 1 || tmp[0].Name() != ".open" {
		t.Errorf("temporary files left after reopening: %v", tmp)
	}
	t.Logf("%d blobs acknowledged, %d whole blobs on disk", len(acked), whole)
}
