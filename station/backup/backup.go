// Package backup writes and restores a station's backup archive: a consistent snapshot of the
// database, the blobs (scanned pages, certificate PDFs), and the station's identity and signing keys,
// as one file encrypted with a key derived from the station's data key.
//
// The archive is a tar stream cut into 64 KiB chunks, each sealed with AES-256-GCM under a key of its
// own (the data key's BackupKey with the archive's random salt); a chunk's number and a last-chunk flag
// are bound to it, so a reordered, altered or truncated archive is refused rather than half restored.
// The tar ends with a manifest of every file's size and SHA-256, which a restore checks before anything
// replaces the data directory. The data key itself is never in the archive: keep it apart.
//
// A blob is named by the SHA-256 of its content (Source.Addressed), so a backup does not hash it
// again: its manifest entry carries the name as its SHA-256 and is marked Addressed. Nothing is lost
// by that. Every byte of the archive is authenticated by the AEAD, so a byte altered in the archive
// is refused whatever the manifest says; and verify and restore hash every file they read, blobs
// included, and compare it with the manifest, so a blob whose content no longer matches its name —
// one that rotted on the station's disk before the backup — is refused there, as its name is what the
// station will trust it by. (A backup that hashed the blob would only have recorded the rot.) The
// database and the other files are hashed as they are archived.
//
// The database snapshot is taken while the blobs are archived and goes last, after the blobs that
// appeared while it ran: every blob the snapshot refers to was stored before it, so it is in the
// archive. Readers take the entries in any order, so archives of either order restore with any
// release that reads format 1.
package backup

import (
	"archive/tar"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Keyer is the data key as the archive uses it (datakey.Key).
type Keyer interface {
	BackupKey(salt []byte) ([]byte, error)
	Fingerprint() string
}

// Source is what a backup takes from a data directory.
type Source struct {
	Dir string // the data directory
	// Snapshot writes a consistent copy of the database to a path that does not exist
	// (sqlite.DB.SnapshotTo), while the station goes on writing. It runs on a goroutine of its own
	// while the other files are archived, and is cancelled through ctx when the backup fails.
	Snapshot func(ctx context.Context, path string) error
	Database string   // the database's name in the archive and the directory, e.g. "station.db"
	Files    []string // other files to include, relative to Dir, when they exist
	Trees    []string // directories to include whole, relative to Dir (e.g. "blobs")
	// Addressed are the Trees whose files are named by the SHA-256 of their content, under fan-out
	// folders: T/ab/cdef… (the blob store). Such a file is archived without hashing, its name as its
	// SHA-256; verify and restore check its content against it. Files in them under other names are
	// hashed as any other.
	Addressed []string
	Skip      []string // relative paths inside Trees to leave out (e.g. "blobs/tmp")
	Station   string   // the station's ID or name, recorded in the manifest
	Version   string   // the binary's version, recorded in the manifest
	Now       func() time.Time
}

// Progress is reported as the archive is written or read.
type Progress struct {
	Done  int64  // bytes of files handled so far
	Total int64  // bytes of files in all (an estimate until the database snapshot is taken)
	File  string // the file being handled
}

// File is one file of the manifest.
type File struct {
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
	Mode   uint32 `json:"mode"`
	// Addressed says SHA256 is the file's content address (its name), not hashed by the backup:
	// verify and restore are the first to check the content against it.
	Addressed bool `json:"addressed,omitempty"`
}

// Manifest describes an archive; it is the last entry of the tar.
type Manifest struct {
	Format    int       `json:"format"`
	CreatedAt time.Time `json:"created_at"`
	Station   string    `json:"station,omitempty"`
	Version   string    `json:"version,omitempty"`
	Key       string    `json:"key"` // the data key's fingerprint
	// KeyIncluded says the header carries the data key sealed under a passphrase.
	KeyIncluded bool   `json:"key_included"`
	Files       []File `json:"files"`
	Bytes       int64  `json:"bytes"`
}

const (
	magic        = "STATION-BACKUP-1\n"
	manifestName = "MANIFEST.json"
	headerName   = "BACKUP.json" // the first entry: the size to expect, for a restore's progress
	chunkSize    = 64 << 10
	saltSize     = 32
)

// ErrWrongKey is returned when an archive was made with another data key.
var ErrWrongKey = errors.New("backup: the archive was made with another data key")

// ErrCorrupt is returned when an archive is altered, truncated or not an archive.
var ErrCorrupt = errors.New("backup: the archive is damaged or incomplete")

// ErrDamagedBlob is returned (wrapped, with the blob's path) when a blob's content in an archive does
// not match its name: the blob was damaged on the station's disk before the backup took it. It is
// also an ErrCorrupt.
var ErrDamagedBlob = fmt.Errorf("%w: a blob's content does not match its name (it was damaged on the station's disk before the backup)", ErrCorrupt)

// Write writes the archive of src to w, sealed under key, and returns its manifest. wrappedKey, when
// not empty, is the data key sealed under a passphrase (datakey.Key.Wrap), carried in the archive's
// header so that the passphrase alone can restore it; without it the archive holds no key. progress,
// when not nil, is called as files are added.
func Write(ctx context.Context, w io.Writer, key Keyer, wrappedKey []byte, src Source, progress func(Progress)) (*Manifest, error) {
	if src.Now == nil {
		src.Now = time.Now
	}
	if progress == nil {
		progress = func(Progress) {}
	}
	tmp, err := os.MkdirTemp(src.Dir, ".backup-")
	if err != nil {
		tmp, err = os.MkdirTemp("", "station-backup-")
		if err != nil {
			return nil, fmt.Errorf("backup: %w", err)
		}
	}
	defer os.RemoveAll(tmp)
	// The snapshot runs while the other files are archived; it is waited for before tmp goes.
	snap := filepath.Join(tmp, src.Database)
	snapCtx, cancelSnap := context.WithCancel(ctx)
	snapped := make(chan error, 1)
	go func() { snapped <- src.Snapshot(snapCtx, snap) }()
	waitSnap := sync.OnceValue(func() error { return <-snapped })
	defer waitSnap()
	defer cancelSnap()

	entries, err := src.list()
	if err != nil {
		return nil, err
	}
	var total int64
	for _, e := range entries {
		total += e.size
	}
	// Until the snapshot is taken, the live database's size stands for it.
	var dbGuess int64
	if fi, err := os.Stat(filepath.Join(src.Dir, src.Database)); err == nil {
		dbGuess = fi.Size()
	}
	total += dbGuess

	salt := make([]byte, saltSize)
	if _, err := rand.Read(salt); err != nil {
		return nil, err
	}
	aead, err := archiveCipher(key, salt)
	if err != nil {
		return nil, err
	}
	fp, err := hex.DecodeString(key.Fingerprint())
	if err != nil || len(fp) != 8 {
		return nil, errors.New("backup: bad key fingerprint")
	}
	var wl [4]byte
	binary.BigEndian.PutUint32(wl[:], uint32(len(wrappedKey)))
	head := append(append(append(append([]byte(magic), salt...), fp...), wl[:]...), wrappedKey...)
	sw := newSealWriter(w, aead)
	defer sw.stop()
	if err := sw.raw(head); err != nil {
		return nil, err
	}
	tw := tar.NewWriter(sw)
	if err := writeJSONEntry(tw, headerName, archiveHeader{Bytes: total, Files: len(entries) + 1}, src.Now()); err != nil {
		return nil, err
	}
	man := &Manifest{Format: 1, CreatedAt: src.Now().UTC(), Station: src.Station, Version: src.Version, Key: key.Fingerprint(), KeyIncluded: len(wrappedKey) > 0}
	var done int64
	taken := map[string]bool{}
	add := func(e entry) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		taken[e.rel] = true
		f, err := addFile(tw, e, func(n int64) {
			done += n
			progress(Progress{Done: done, Total: total, File: e.rel})
		})
		if errors.Is(err, fs.ErrNotExist) && e.rel != src.Database {
			total -= e.size
			return nil // a blob pruned between the listing and now
		}
		if err != nil {
			return fmt.Errorf("backup: %s: %w", e.rel, err)
		}
		total += f.Size - e.size
		man.Files = append(man.Files, f)
		man.Bytes += f.Size
		return nil
	}
	for _, e := range entries {
		if err := add(e); err != nil {
			return nil, err
		}
	}
	if err := waitSnap(); err != nil {
		return nil, fmt.Errorf("backup: snapshot the database: %w", err)
	}
	// What appeared while the snapshot ran: a blob the snapshot refers to was stored before it.
	later, err := src.list()
	if err != nil {
		return nil, err
	}
	for _, e := range later {
		if !taken[e.rel] {
			total += e.size
			if err := add(e); err != nil {
				return nil, err
			}
		}
	}
	db := entry{rel: src.Database, abs: snap}
	if fi, err := os.Stat(snap); err == nil {
		db.size = fi.Size()
	}
	total += db.size - dbGuess
	if err := add(db); err != nil {
		return nil, err
	}
	if err := writeJSONEntry(tw, manifestName, man, man.CreatedAt); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := sw.Close(); err != nil {
		return nil, err
	}
	return man, nil
}

// entry is a file to archive.
type entry struct {
	rel, abs string
	size     int64  // when listed
	address  string // the SHA-256 it is named by (Source.Addressed), or ""
}

// list lists the files of src to archive but the database, the trees' files sorted by name.
func (src *Source) list() ([]entry, error) {
	var entries []entry
	for _, f := range src.Files {
		abs := filepath.Join(src.Dir, f)
		if fi, err := os.Stat(abs); err == nil && fi.Mode().IsRegular() {
			entries = append(entries, entry{rel: filepath.ToSlash(f), abs: abs, size: fi.Size()})
		}
	}
	skip := map[string]bool{}
	for _, s := range src.Skip {
		skip[filepath.ToSlash(s)] = true
	}
	addressed := map[string]bool{}
	for _, t := range src.Addressed {
		addressed[filepath.ToSlash(filepath.Clean(t))] = true
	}
	n := len(entries)
	for _, t := range src.Trees {
		root := filepath.Join(src.Dir, t)
		tree := filepath.ToSlash(filepath.Clean(t))
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if errors.Is(err, fs.ErrNotExist) && p == root {
				return fs.SkipDir
			}
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(src.Dir, p)
			rel = filepath.ToSlash(rel)
			if skip[rel] {
				if d.IsDir() {
					return fs.SkipDir
				}
				return nil
			}
			if !d.Type().IsRegular() {
				return nil
			}
			fi, err := d.Info()
			if errors.Is(err, fs.ErrNotExist) {
				return nil // removed meanwhile
			}
			if err != nil {
				return err
			}
			e := entry{rel: rel, abs: p, size: fi.Size()}
			if addressed[tree] {
				e.address, _ = contentAddress(tree, rel)
			}
			entries = append(entries, e)
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("backup: list %s: %w", t, err)
		}
	}
	sort.SliceStable(entries[n:], func(i, j int) bool { return entries[n+i].rel < entries[n+j].rel })
	return entries, nil
}

// contentAddress is the SHA-256 (hex) that rel, a path in the addressed tree, names — tree/ab/cdef…
// — and whether it names one.
func contentAddress(tree, rel string) (string, bool) {
	rest, ok := strings.CutPrefix(rel, tree+"/")
	if !ok || len(rest) != 65 || rest[2] != '/' {
		return "", false
	}
	sum := rest[:2] + rest[3:]
	for i := 0; i < len(sum); i++ {
		if c := sum[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return "", false
		}
	}
	return sum, true
}

// archiveHeader is the archive's first entry.
type archiveHeader struct {
	Bytes int64 `json:"bytes"`
	Files int   `json:"files"`
}

func writeJSONEntry(tw *tar.Writer, name string, v any, mod time.Time) error {
	body, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o600, Size: int64(len(body)), ModTime: mod, Format: tar.FormatPAX}); err != nil {
		return err
	}
	_, err = tw.Write(body)
	return err
}

// copyBlock is the unit addFile reads, hashes and archives.
const copyBlock = 1 << 20

var blockPool = sync.Pool{New: func() any { b := make([]byte, copyBlock); return &b }}

// addFile copies one file into the tar, hashing it as it goes unless it is named by its hash.
func addFile(tw *tar.Writer, e entry, progress func(int64)) (File, error) {
	f, err := os.Open(e.abs)
	if err != nil {
		return File{}, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return File{}, err
	}
	hdr := &tar.Header{Name: e.rel, Mode: int64(fi.Mode().Perm()), Size: fi.Size(), ModTime: fi.ModTime(), Format: tar.FormatPAX}
	if err := tw.WriteHeader(hdr); err != nil {
		return File{}, err
	}
	var n int64
	var sum string
	if e.address != "" {
		sum = e.address
		n, err = copyBlocks(tw, io.LimitReader(f, fi.Size()), progress)
	} else {
		n, sum, err = copyHashing(tw, io.LimitReader(f, fi.Size()), progress)
	}
	if err != nil {
		return File{}, err
	}
	if n != fi.Size() {
		return File{}, fmt.Errorf("file shrank while it was copied (%d of %d bytes)", n, fi.Size())
	}
	return File{Path: e.rel, Size: n, SHA256: sum, Mode: uint32(fi.Mode().Perm()), Addressed: e.address != ""}, nil
}

// copyBlocks copies src to dst in blocks; progress gets each block's size.
func copyBlocks(dst io.Writer, src io.Reader, progress func(int64)) (int64, error) {
	b := blockPool.Get().(*[]byte)
	defer blockPool.Put(b)
	var n int64
	for {
		k, rerr := io.ReadFull(src, *b)
		if k > 0 {
			if _, err := dst.Write((*b)[:k]); err != nil {
				return n, err
			}
			n += int64(k)
			progress(int64(k))
		}
		if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
			return n, nil
		}
		if rerr != nil {
			return n, rerr
		}
	}
}

// copyHashing copies src to dst in blocks and returns the bytes copied and their SHA-256 (hex). The
// hash runs on another goroutine, a block behind the copy, so that on two cores SHA-256 overlaps the
// sealing or opening of the archive and the file I/O. progress gets each block's size.
func copyHashing(dst io.Writer, src io.Reader, progress func(int64)) (int64, string, error) {
	h := sha256.New()
	blocks := make(chan *[]byte, 4)
	hashed := make(chan struct{})
	go func() {
		defer close(hashed)
		for b := range blocks {
			h.Write(*b)
			*b = (*b)[:cap(*b)]
			blockPool.Put(b)
		}
	}()
	var n int64
	var err error
	for {
		b := blockPool.Get().(*[]byte)
		k, rerr := io.ReadFull(src, *b)
		if k > 0 {
			if _, err = dst.Write((*b)[:k]); err != nil {
				blockPool.Put(b)
				break
			}
			n += int64(k)
			progress(int64(k))
			*b = (*b)[:k]
			blocks <- b
		} else {
			blockPool.Put(b)
		}
		if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
			break
		}
		if rerr != nil {
			err = rerr
			break
		}
	}
	close(blocks)
	<-hashed
	return n, hex.EncodeToString(h.Sum(nil)), err
}

func archiveCipher(key Keyer, salt []byte) (cipher.AEAD, error) {
	k, err := key.BackupKey(salt)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(k)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// chunkNonce is the nonce of chunk i; the key is unique to the archive, so a counter is safe.
func chunkNonce(i uint64) []byte {
	n := make([]byte, 12)
	binary.BigEndian.PutUint64(n[4:], i)
	return n
}

func chunkAD(i uint64, last bool) []byte {
	ad := make([]byte, 9)
	binary.BigEndian.PutUint64(ad, i)
	if last {
		ad[8] = 1
	}
	return ad
}

// sealWriter cuts what is written into chunks and seals each one: a 4-byte length, then the sealed
// chunk. Close seals the last chunk (possibly empty) with the last-chunk flag. Sealed chunks are
// gathered into batches of about 1 MiB that a goroutine of its own writes, so that sealing goes on
// while a write waits for the disk; stop ends that goroutine when the archive is abandoned.
type sealWriter struct {
	aead   cipher.AEAD
	buf    []byte // the chunk being filled
	out    []byte // the batch being filled
	n      uint64
	full   chan []byte // batches for the writer
	free   chan []byte // batches written
	done   chan struct{}
	failed atomic.Bool
	err    error // the writer's first error, read after done
	closed bool
}

// sealBatch is the size of a batch of sealed chunks.
const sealBatch = 16 * (4 + chunkSize + 16)

func newSealWriter(w io.Writer, aead cipher.AEAD) *sealWriter {
	s := &sealWriter{
		aead: aead, buf: make([]byte, 0, chunkSize), out: make([]byte, 0, sealBatch),
		full: make(chan []byte, 2), free: make(chan []byte, 3), done: make(chan struct{}),
	}
	for range 2 {
		s.free <- make([]byte, 0, sealBatch)
	}
	go func() {
		defer close(s.done)
		for b := range s.full {
			if s.err == nil {
				if _, s.err = w.Write(b); s.err != nil {
					s.failed.Store(true)
				}
			}
			s.free <- b[:0]
		}
	}()
	return s
}

// raw writes p to the output unsealed: the archive's header.
func (s *sealWriter) raw(p []byte) error {
	if cap(s.out)-len(s.out) < len(p) {
		if err := s.send(); err != nil {
			return err
		}
	}
	s.out = append(s.out, p...)
	return nil
}

func (s *sealWriter) Write(p []byte) (int, error) {
	written := 0
	for len(p) > 0 {
		if len(s.buf) == 0 && len(p) >= chunkSize {
			// A whole chunk: sealed where it is, without the copy into buf. (The last chunk,
			// which Close seals with the flag, is the possibly empty rest in buf.)
			if err := s.seal(p[:chunkSize], false); err != nil {
				return written, err
			}
			p, written = p[chunkSize:], written+chunkSize
			continue
		}
		k := min(chunkSize-len(s.buf), len(p))
		s.buf = append(s.buf, p[:k]...)
		p, written = p[k:], written+k
		if len(s.buf) == chunkSize {
			if err := s.flush(false); err != nil {
				return written, err
			}
		}
	}
	return written, nil
}

func (s *sealWriter) flush(last bool) error {
	if err := s.seal(s.buf, last); err != nil {
		return err
	}
	s.buf = s.buf[:0]
	return nil
}

// seal seals chunk as the next chunk into the batch.
func (s *sealWriter) seal(chunk []byte, last bool) error {
	if cap(s.out)-len(s.out) < 4+len(chunk)+s.aead.Overhead() {
		if err := s.send(); err != nil {
			return err
		}
	}
	at := len(s.out) + 4
	s.out = s.aead.Seal(append(s.out, 0, 0, 0, 0), chunkNonce(s.n), chunk, chunkAD(s.n, last))
	binary.BigEndian.PutUint32(s.out[at-4:], uint32(len(s.out)-at))
	s.n++
	return nil
}

// send hands the batch to the writer and takes an empty one.
func (s *sealWriter) send() error {
	if s.failed.Load() {
		return s.stop()
	}
	s.full <- s.out
	s.out = <-s.free
	return nil
}

// Close seals the last chunk, writes what is left and returns the first write error.
func (s *sealWriter) Close() error {
	if err := s.flush(true); err != nil {
		return err
	}
	if err := s.send(); err != nil {
		return err
	}
	return s.stop()
}

// stop waits for the writer to finish and returns its first error.
func (s *sealWriter) stop() error {
	if !s.closed {
		s.closed = true
		close(s.full)
		<-s.done
	}
	return s.err
}

// openReader reads and opens the chunks sealWriter wrote; it returns ErrCorrupt for anything altered
// and for an archive that ends before its last chunk. A goroutine of its own reads and opens up to
// openAhead chunks ahead of the reader; close ends it.
type openReader struct {
	chunks chan openedChunk
	free   chan []byte
	quit   chan struct{}
	done   chan struct{}
	cur    []byte // what is left of the current chunk
	held   []byte // the current chunk's buffer
	err    error
}

type openedChunk struct {
	pt  []byte
	err error
}

const openAhead = 16

func newOpenReader(r io.Reader, aead cipher.AEAD) *openReader {
	o := &openReader{
		chunks: make(chan openedChunk, openAhead), free: make(chan []byte, openAhead+1),
		quit: make(chan struct{}), done: make(chan struct{}),
	}
	for range openAhead + 1 {
		o.free <- make([]byte, 0, chunkSize)
	}
	go func() {
		defer close(o.done)
		defer close(o.chunks)
		ct := make([]byte, chunkSize+aead.Overhead())
		for n := uint64(0); ; n++ {
			var pt []byte
			select {
			case pt = <-o.free:
			case <-o.quit:
				return
			}
			pt, last, err := openChunk(r, aead, n, ct, pt)
			select {
			case o.chunks <- openedChunk{pt, err}:
			case <-o.quit:
				return
			}
			if last || err != nil {
				return
			}
		}
	}()
	return o
}

// openChunk reads chunk n from r into ct and opens it into pt, reporting whether it is the last.
func openChunk(r io.Reader, aead cipher.AEAD, n uint64, ct, pt []byte) ([]byte, bool, error) {
	var l [4]byte
	if _, err := io.ReadFull(r, l[:]); err != nil {
		return pt, false, ErrCorrupt
	}
	size := binary.BigEndian.Uint32(l[:])
	if size < uint32(aead.Overhead()) || size > chunkSize+uint32(aead.Overhead()) {
		return pt, false, ErrCorrupt
	}
	ct = ct[:size]
	if _, err := io.ReadFull(r, ct); err != nil {
		return pt, false, ErrCorrupt
	}
	out, err := aead.Open(pt[:0], chunkNonce(n), ct, chunkAD(n, false))
	if err == nil {
		return out, false, nil
	}
	out, err = aead.Open(pt[:0], chunkNonce(n), ct, chunkAD(n, true))
	if err != nil {
		return pt, false, ErrCorrupt
	}
	return out, true, nil
}

func (o *openReader) Read(p []byte) (int, error) {
	for len(o.cur) == 0 {
		if o.err != nil {
			return 0, o.err
		}
		if o.held != nil {
			o.free <- o.held[:0]
			o.held = nil
		}
		c, ok := <-o.chunks
		switch {
		case !ok:
			o.err = io.EOF
		case c.err != nil:
			o.err = c.err
		default:
			o.cur, o.held = c.pt, c.pt
		}
	}
	n := copy(p, o.cur)
	o.cur = o.cur[n:]
	return n, nil
}

// close stops the goroutine that reads ahead.
func (o *openReader) close() {
	close(o.quit)
	<-o.done
}

// Reader is an archive whose header has been read: it says which data key it needs and may carry
// that key sealed under a passphrase.
type Reader struct {
	r          io.Reader
	salt       []byte
	key        string // the data key's fingerprint
	WrappedKey []byte // the data key sealed under a passphrase, or nil
}

// Open reads an archive's header from r.
func Open(r io.Reader) (*Reader, error) {
	head := make([]byte, len(magic)+saltSize+8+4)
	if _, err := io.ReadFull(r, head); err != nil || string(head[:len(magic)]) != magic {
		return nil, fmt.Errorf("%w: not a station backup archive", ErrCorrupt)
	}
	off := len(magic)
	ar := &Reader{r: r, salt: head[off : off+saltSize], key: hex.EncodeToString(head[off+saltSize : off+saltSize+8])}
	if n := binary.BigEndian.Uint32(head[off+saltSize+8:]); n > 0 {
		if n > 4096 {
			return nil, fmt.Errorf("%w: header", ErrCorrupt)
		}
		ar.WrappedKey = make([]byte, n)
		if _, err := io.ReadFull(r, ar.WrappedKey); err != nil {
			return nil, fmt.Errorf("%w: header", ErrCorrupt)
		}
	}
	return ar, nil
}

// KeyFingerprint is the fingerprint of the data key the archive needs.
func (ar *Reader) KeyFingerprint() string { return ar.key }

// tar opens the archive's tar stream; the caller calls stop when done with it.
func (ar *Reader) tar(key Keyer) (tr *tar.Reader, stop func(), err error) {
	if key.Fingerprint() != ar.key {
		return nil, nil, fmt.Errorf("%w (archive key %s, this key %s)", ErrWrongKey, ar.key, key.Fingerprint())
	}
	aead, err := archiveCipher(key, ar.salt)
	if err != nil {
		return nil, nil, err
	}
	o := newOpenReader(ar.r, aead)
	return tar.NewReader(o), o.close, nil
}

// Extract reads the archive into dir, which must be empty or not exist, checking every file against
// the manifest; on any error it removes what it wrote. It returns the manifest.
func (ar *Reader) Extract(ctx context.Context, key Keyer, dir string, progress func(Progress)) (*Manifest, error) {
	tr, stop, err := ar.tar(key)
	if err != nil {
		return nil, err
	}
	defer stop()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	if ents, _ := os.ReadDir(dir); len(ents) > 0 {
		return nil, fmt.Errorf("backup: extract into %s: the directory is not empty", dir)
	}
	syncer := newFileSyncer()
	man, err := walk(ctx, tr, func(rel string) (io.WriteCloser, error) {
		dst := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
			return nil, err
		}
		f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, err
		}
		return syncer.file(f), nil
	}, progress)
	if serr := syncer.wait(); err == nil {
		err = serr
	}
	if err != nil {
		cleanDir(dir)
		return nil, err
	}
	return man, nil
}

// Verify reads the whole archive and checks every file against the manifest, writing nothing.
func (ar *Reader) Verify(ctx context.Context, key Keyer, progress func(Progress)) (*Manifest, error) {
	tr, stop, err := ar.tar(key)
	if err != nil {
		return nil, err
	}
	defer stop()
	return walk(ctx, tr, func(string) (io.WriteCloser, error) { return nopCloser{io.Discard}, nil }, progress)
}

// fileSyncer fsyncs and closes extracted files on two goroutines while the extraction goes on, then
// the directories that hold them: a journal commit per file in line made a restore of many blobs
// several times slower. At most a few dozen files wait open.
type fileSyncer struct {
	files chan *os.File
	wg    sync.WaitGroup
	mu    sync.Mutex
	err   error
	dirs  map[string]bool
}

func newFileSyncer() *fileSyncer {
	s := &fileSyncer{files: make(chan *os.File, 32), dirs: map[string]bool{}}
	for range 2 {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			for f := range s.files {
				err := f.Sync()
				if cerr := f.Close(); err == nil {
					err = cerr
				}
				s.mu.Lock()
				s.err = errors.Join(s.err, err)
				s.dirs[filepath.Dir(f.Name())] = true
				s.mu.Unlock()
			}
		}()
	}
	return s
}

// file wraps f: its Close hands it to the syncer.
func (s *fileSyncer) file(f *os.File) io.WriteCloser { return syncedFile{f, s} }

type syncedFile struct {
	*os.File
	s *fileSyncer
}

func (f syncedFile) Close() error {
	f.s.files <- f.File
	return nil
}

// wait syncs what is left, then the directories, and returns the first failure.
func (s *fileSyncer) wait() error {
	close(s.files)
	s.wg.Wait()
	if s.err != nil || runtime.GOOS == "windows" { // Windows cannot flush a directory handle; NTFS journals its metadata itself
		return s.err
	}
	for d := range s.dirs {
		f, err := os.Open(d)
		if err != nil {
			return err
		}
		err = f.Sync()
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	return nil
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

func cleanDir(dir string) {
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		os.RemoveAll(filepath.Join(dir, e.Name()))
	}
}

// walk reads every entry of the archive's tar into the writer create gives for it, hashing as it goes,
// and checks the result against the manifest at the end.
func walk(ctx context.Context, tr *tar.Reader, create func(rel string) (io.WriteCloser, error), progress func(Progress)) (*Manifest, error) {
	got := map[string]File{}
	var done int64
	var head archiveHeader
	hdr, err := tr.Next()
	if err != nil || hdr.Name != headerName {
		return nil, fmt.Errorf("%w: no archive header", ErrCorrupt)
	}
	if err := json.NewDecoder(io.LimitReader(tr, 1<<20)).Decode(&head); err != nil {
		return nil, fmt.Errorf("%w: archive header: %v", ErrCorrupt, err)
	}
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil, fmt.Errorf("%w: no manifest", ErrCorrupt)
		}
		if err != nil {
			return nil, corrupt(err)
		}
		if hdr.Name == manifestName {
			var man Manifest
			if err := json.NewDecoder(io.LimitReader(tr, 64<<20)).Decode(&man); err != nil {
				return nil, fmt.Errorf("%w: manifest: %v", ErrCorrupt, err)
			}
			if _, err := tr.Next(); err != io.EOF {
				return nil, fmt.Errorf("%w: entries after the manifest", ErrCorrupt)
			}
			if err := checkManifest(&man, got); err != nil {
				return nil, err
			}
			if progress != nil && done != head.Bytes {
				progress(Progress{Done: done, Total: done}) // the header's size was an estimate
			}
			return &man, nil
		}
		rel := path.Clean(hdr.Name)
		if hdr.Typeflag != tar.TypeReg || rel != hdr.Name || rel == ".." || strings.HasPrefix(rel, "../") || path.IsAbs(rel) || rel == headerName {
			return nil, fmt.Errorf("%w: unexpected entry %q", ErrCorrupt, hdr.Name)
		}
		if _, dup := got[rel]; dup {
			return nil, fmt.Errorf("%w: %s twice", ErrCorrupt, rel)
		}
		f, err := create(rel)
		if err != nil {
			return nil, err
		}
		n, sum, err := copyHashing(f, tr, func(n int64) {
			done += n
			if progress != nil {
				// The header's size took the live database's for the snapshot's.
				progress(Progress{Done: done, Total: max(head.Bytes, done), File: rel})
			}
		})
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, corrupt(err)
		}
		got[rel] = File{Path: rel, Size: n, SHA256: sum}
	}
}

func corrupt(err error) error {
	if errors.Is(err, ErrCorrupt) {
		return err
	}
	return fmt.Errorf("%w: %v", ErrCorrupt, err)
}

func checkManifest(man *Manifest, got map[string]File) error {
	if man.Format != 1 {
		return fmt.Errorf("backup: archive format %d is newer than this station understands", man.Format)
	}
	if len(man.Files) != len(got) {
		return fmt.Errorf("%w: the manifest lists %d files, the archive holds %d", ErrCorrupt, len(man.Files), len(got))
	}
	for _, f := range man.Files {
		g, ok := got[f.Path]
		if f.Addressed && path.Base(path.Dir(f.Path))+path.Base(f.Path) != f.SHA256 {
			return fmt.Errorf("%w: %s: the manifest gives it another hash than its name", ErrCorrupt, f.Path)
		}
		if ok && f.Addressed && g.Size == f.Size && g.SHA256 != f.SHA256 {
			return fmt.Errorf("%w: %s", ErrDamagedBlob, f.Path)
		}
		if !ok || g.Size != f.Size || g.SHA256 != f.SHA256 {
			return fmt.Errorf("%w: %s does not match the manifest", ErrCorrupt, f.Path)
		}
	}
	return nil
}
