// Package blob is the station's content-addressed blob store: scanned pages, photos and PDFs kept as
// files in the data directory under their SHA-256, at blobs/ab/cdef… (the first two hex digits name a
// fan-out folder). A command that references a blob is submitted only after Put returned, and Put
// returns only once the blob is durable: the file is written to a temporary name, fsynced, renamed into
// place and the directory fsynced. A crash at any point leaves either the complete blob under its final
// name or nothing there (temporary files are cleared when the store is next opened).
//
// Files are created 0600 and directories 0700: blobs hold residents' documents.
package blob

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/civic-station/station/station"
)

// DefaultMaxSize is the largest blob Put accepts unless Options say otherwise: 64 MiB.
const DefaultMaxSize = 64 << 20

// Errors the store returns. They carry domain error codes, so the HTTP edge maps them without knowing
// this package; test for them with errors.Is.
var (
	// ErrNotFound means no blob with that hash is stored.
	ErrNotFound = &station.Error{Code: station.ENOTFOUND, Message: "文件不存在"}
	// ErrTooLarge means the content is over the store's size limit; nothing was stored.
	ErrTooLarge = &station.Error{Code: station.ETOOLARGE, Message: "文件过大"}
	// ErrInvalidHash means the name given is not 64 lowercase hex digits.
	ErrInvalidHash = &station.Error{Code: station.EINVALID, Message: "文件编号格式错误"}
	// ErrCorrupt means a stored blob's content no longer matches its hash (disk or tampering).
	ErrCorrupt = errors.New("blob content does not match its hash")
)

// Options configures a Store. The zero value is usable.
type Options struct {
	// MaxSize is the largest blob Put accepts, in bytes; 0 means DefaultMaxSize.
	MaxSize int64
	// Verify makes every reader from Open check the content against its hash, returning ErrCorrupt
	// instead of io.EOF at the end when it does not match.
	Verify bool
}

// Store is a blob store rooted at a directory. It is safe for concurrent use by one process; open one
// Store per directory.
type Store struct {
	root   string // <dir>/blobs
	tmp    string // <dir>/blobs/tmp
	max    int64
	verify bool
	peers  atomic.Pointer[peersBox] // the other boxes of the station's cluster (peers.go)
	held   *os.File                 // the lock that says this Store has the store open (lock_unix.go)
}

// Info describes a stored blob.
type Info struct {
	SHA256  string
	Size    int64
	ModTime time.Time
}

// Open opens (creating if needed) the blob store under dir/blobs and removes temporary files a
// crashed Put left behind: when no other Store has the directory open (on Unix, a lock file tells;
// another process's Put in progress keeps its file). Close releases the store.
func Open(dir string, opts Options) (*Store, error) {
	s := &Store{root: filepath.Join(dir, "blobs"), max: opts.MaxSize, verify: opts.Verify}
	s.tmp = filepath.Join(s.root, "tmp")
	if s.max <= 0 {
		s.max = DefaultMaxSize
	}
	for _, d := range []string{s.root, s.tmp} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("open blob store %s: %w", dir, err)
		}
	}
	held, alone, err := holdOpen(filepath.Join(s.tmp, openLock))
	if err != nil {
		return nil, fmt.Errorf("open blob store %s: %w", dir, err)
	}
	s.held = held
	if alone {
		if err := s.clearTemp(); err != nil {
			s.Close()
			return nil, fmt.Errorf("open blob store %s: %w", dir, err)
		}
	}
	if err := share(held); err != nil {
		s.Close()
		return nil, fmt.Errorf("open blob store %s: %w", dir, err)
	}
	return s, nil
}

// openLock is the file in the temporary folder whose lock says the store is open (there, it is in no
// backup and never taken for a blob).
const openLock = ".open"

// clearTemp removes what is in the temporary folder.
func (s *Store) clearTemp() error {
	entries, err := os.ReadDir(s.tmp)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.Name() == openLock {
			continue
		}
		if err := os.Remove(filepath.Join(s.tmp, e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("clear temporary file: %w", err)
		}
	}
	return nil
}

// Close releases the store: another Store that opens it next clears the temporary files. A Store
// is not used after Close.
func (s *Store) Close() error {
	if s.held == nil {
		return nil
	}
	err := s.held.Close()
	s.held = nil
	return err
}

// MaxSize is the largest blob Put accepts.
func (s *Store) MaxSize() int64 { return s.max }

// PutLocal stores the content read from r on this box only and returns its SHA-256 (lowercase hex)
// and size. When it returns nil the blob is durable on disk. Storing content that is already there
// succeeds and changes nothing. It returns ErrTooLarge (wrapped) when r yields more than the size
// limit.
func (s *Store) PutLocal(r io.Reader) (sum string, size int64, err error) {
	f, err := os.CreateTemp(s.tmp, "put-*")
	if err != nil {
		return "", 0, fmt.Errorf("put blob: %w", err)
	}
	tmp := f.Name()
	defer func() {
		if f != nil {
			f.Close()
		}
		if err != nil {
			os.Remove(tmp)
		}
	}()
	h := sha256.New()
	size, err = io.Copy(io.MultiWriter(f, h), io.LimitReader(r, s.max+1))
	if err != nil {
		return "", 0, fmt.Errorf("put blob: write: %w", err)
	}
	if size > s.max {
		return "", 0, fmt.Errorf("put blob: %w: over %d bytes", ErrTooLarge, s.max)
	}
	if err := f.Sync(); err != nil {
		return "", 0, fmt.Errorf("put blob: sync: %w", err)
	}
	if err := f.Close(); err != nil {
		f = nil
		return "", 0, fmt.Errorf("put blob: close: %w", err)
	}
	f = nil
	sum = hex.EncodeToString(h.Sum(nil))
	final := s.path(sum)
	if fi, err := os.Stat(final); err == nil && fi.Size() == size {
		// Already stored (a complete file: only renames put files under final names).
		os.Remove(tmp)
		return sum, size, nil
	}
	dir := filepath.Dir(final)
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
			return "", 0, fmt.Errorf("put blob: %w", err)
		}
		if err := syncDir(s.root); err != nil {
			return "", 0, fmt.Errorf("put blob: %w", err)
		}
	}
	if err := os.Rename(tmp, final); err != nil {
		return "", 0, fmt.Errorf("put blob: rename: %w", err)
	}
	if err := syncDir(dir); err != nil {
		return "", 0, fmt.Errorf("put blob: %w", err)
	}
	return sum, size, nil
}

// syncDir fsyncs a directory, making the names created or renamed in it durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync dir %s: %w", dir, err)
	}
	return nil
}

// path is where the blob with hash sum lives. sum must be valid.
func (s *Store) path(sum string) string {
	return filepath.Join(s.root, sum[:2], sum[2:])
}

// Valid reports whether sum is a well-formed blob name: 64 lowercase hex digits.
func Valid(sum string) bool {
	if len(sum) != 64 {
		return false
	}
	for i := 0; i < len(sum); i++ {
		c := sum[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// Open opens the blob with hash sum for reading, fetched from another box first when this one lacks
// it (SetPeers); the caller closes it. With Options.Verify the reader returns ErrCorrupt at the end if
// the content does not match. It returns ErrInvalidHash or ErrNotFound (wrapped).
func (s *Store) Open(sum string) (io.ReadCloser, error) {
	s.fetchMissing(sum)
	return s.OpenLocal(sum)
}

// OpenLocal is Open without asking other boxes.
func (s *Store) OpenLocal(sum string) (io.ReadCloser, error) {
	if !Valid(sum) {
		return nil, fmt.Errorf("open blob %q: %w", sum, ErrInvalidHash)
	}
	f, err := os.Open(s.path(sum))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("open blob %s: %w", sum, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("open blob %s: %w", sum, err)
	}
	if !s.verify {
		return f, nil
	}
	return &verifier{f: f, h: sha256.New(), want: sum}, nil
}

// OpenBlob opens the blob with hash sum for reading from any offset and returns its size: what the
// syncer needs to resume an upload where the data center's copy stops. It returns ErrInvalidHash, or
// ErrNotFound wrapped together with fs.ErrNotExist.
func (s *Store) OpenBlob(sum string) (io.ReadSeekCloser, int64, error) {
	s.fetchMissing(sum)
	if !Valid(sum) {
		return nil, 0, fmt.Errorf("open blob %q: %w", sum, ErrInvalidHash)
	}
	f, err := os.Open(s.path(sum))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, 0, fmt.Errorf("open blob %s: %w (%w)", sum, ErrNotFound, fs.ErrNotExist)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("open blob %s: %w", sum, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("open blob %s: %w", sum, err)
	}
	return f, fi.Size(), nil
}

// verifier hashes what is read and checks the hash at the end.
type verifier struct {
	f    io.ReadCloser
	h    hash.Hash
	want string
}

func (v *verifier) Read(p []byte) (int, error) {
	n, err := v.f.Read(p)
	v.h.Write(p[:n])
	if errors.Is(err, io.EOF) {
		if got := hex.EncodeToString(v.h.Sum(nil)); got != v.want {
			return n, fmt.Errorf("blob %s: %w (content hashes to %s)", v.want, ErrCorrupt, got)
		}
	}
	return n, err
}

func (v *verifier) Close() error { return v.f.Close() }

// Stat describes the blob with hash sum (fetched from another box first when this one lacks it). It
// returns ErrInvalidHash or ErrNotFound (wrapped).
func (s *Store) Stat(sum string) (Info, error) {
	s.fetchMissing(sum)
	return s.statLocal(sum)
}

func (s *Store) statLocal(sum string) (Info, error) {
	if !Valid(sum) {
		return Info{}, fmt.Errorf("stat blob %q: %w", sum, ErrInvalidHash)
	}
	fi, err := os.Stat(s.path(sum))
	if errors.Is(err, fs.ErrNotExist) {
		return Info{}, fmt.Errorf("stat blob %s: %w", sum, ErrNotFound)
	}
	if err != nil {
		return Info{}, fmt.Errorf("stat blob %s: %w", sum, err)
	}
	return Info{SHA256: sum, Size: fi.Size(), ModTime: fi.ModTime()}, nil
}

// Has reports whether the blob with hash sum is stored on this box. A malformed hash is never stored.
func (s *Store) Has(sum string) bool {
	_, err := s.statLocal(sum)
	return err == nil
}

// Walk calls fn for every stored blob, in no particular order, stopping at the first error fn returns.
// Files under the fan-out folders whose names are not blob names are skipped.
func (s *Store) Walk(fn func(Info) error) error {
	dirs, err := os.ReadDir(s.root)
	if err != nil {
		return fmt.Errorf("walk blobs: %w", err)
	}
	for _, d := range dirs {
		if !d.IsDir() || len(d.Name()) != 2 {
			continue
		}
		files, err := os.ReadDir(filepath.Join(s.root, d.Name()))
		if err != nil {
			return fmt.Errorf("walk blobs: %w", err)
		}
		for _, f := range files {
			sum := d.Name() + f.Name()
			if !Valid(sum) || strings.ContainsRune(f.Name(), '.') {
				continue
			}
			fi, err := f.Info()
			if err != nil {
				continue // removed meanwhile
			}
			if err := fn(Info{SHA256: sum, Size: fi.Size(), ModTime: fi.ModTime()}); err != nil {
				return err
			}
		}
	}
	return nil
}
