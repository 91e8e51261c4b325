package hub

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/civic-station/station/station"
)

// BlobStore keeps blobs on disk by SHA-256: complete, verified blobs under objects/, uploads in progress
// under partial/STATION/, one file per blob and station, so that two stations sending the same blob do
// not mix their bytes. Every append is fsynced before it is acknowledged.
type BlobStore struct {
	dir   string
	mu    sync.Mutex
	locks map[string]*sync.Mutex
}

// ErrOffset is returned by Append when the chunk does not start where the stored part ends.
var ErrOffset = errors.New("blob: offset does not match the stored part")

// ErrBlobHash is returned by Append when the complete blob does not have the SHA-256 it was sent under;
// the stored part is discarded.
var ErrBlobHash = errors.New("blob: content does not match its SHA-256")

// OpenBlobStore opens (creating) a blob store in dir.
func OpenBlobStore(dir string) (*BlobStore, error) {
	for _, d := range []string{filepath.Join(dir, "objects"), filepath.Join(dir, "partial")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("open blob store: %w", err)
		}
	}
	return &BlobStore{dir: dir, locks: map[string]*sync.Mutex{}}, nil
}

func (b *BlobStore) objectPath(sha string) string {
	return filepath.Join(b.dir, "objects", sha[:2], sha)
}

func (b *BlobStore) partialPath(stationID, sha string) string {
	return filepath.Join(b.dir, "partial", stationID, sha)
}

func (b *BlobStore) lock(key string) func() {
	b.mu.Lock()
	l, ok := b.locks[key]
	if !ok {
		l = &sync.Mutex{}
		b.locks[key] = l
	}
	b.mu.Unlock()
	l.Lock()
	return l.Unlock
}

func checkNames(stationID, sha string) error {
	if !station.IsSHA256(sha) {
		return station.Errorf(station.EINVALID, "文件摘要格式错误")
	}
	if stationID == "" || strings.ContainsAny(stationID, `/\.`) {
		return station.Errorf(station.EINVALID, "站点编号无效")
	}
	return nil
}

// Has reports whether the complete blob is stored.
func (b *BlobStore) Has(sha string) bool {
	if !station.IsSHA256(sha) {
		return false
	}
	_, err := os.Stat(b.objectPath(sha))
	return err == nil
}

// Open opens a complete blob.
func (b *BlobStore) Open(sha string) (*os.File, error) {
	if !station.IsSHA256(sha) {
		return nil, station.Errorf(station.EINVALID, "文件摘要格式错误")
	}
	return os.Open(b.objectPath(sha))
}

// Offset returns how many bytes of the blob the station has uploaded, and whether the blob is complete
// (then offset is its size).
func (b *BlobStore) Offset(stationID, sha string) (int64, bool, error) {
	if err := checkNames(stationID, sha); err != nil {
		return 0, false, err
	}
	if fi, err := os.Stat(b.objectPath(sha)); err == nil {
		return fi.Size(), true, nil
	}
	fi, err := os.Stat(b.partialPath(stationID, sha))
	if errors.Is(err, os.ErrNotExist) {
		return 0, false, nil
	} else if err != nil {
		return 0, false, err
	}
	return fi.Size(), false, nil
}

// Append appends chunk at offset to the station's upload of the blob whose total size is total. When
// the upload reaches total bytes, the whole blob is verified against sha and moved into place. It
// returns the new offset and whether the blob is complete. ErrOffset (with the stored offset returned)
// means the chunk does not start where the stored part ends; ErrBlobHash that the complete content is
// wrong.
func (b *BlobStore) Append(stationID, sha string, offset, total int64, chunk []byte) (int64, bool, error) {
	if err := checkNames(stationID, sha); err != nil {
		return 0, false, err
	}
	unlock := b.lock(stationID + "/" + sha)
	defer unlock()
	if fi, err := os.Stat(b.objectPath(sha)); err == nil {
		_ = os.Remove(b.partialPath(stationID, sha))
		return fi.Size(), true, nil
	}
	if total < 0 || offset < 0 || offset+int64(len(chunk)) > total {
		return 0, false, station.Errorf(station.EINVALID, "分块超出文件长度")
	}
	ppath := b.partialPath(stationID, sha)
	if err := os.MkdirAll(filepath.Dir(ppath), 0o700); err != nil {
		return 0, false, err
	}
	f, err := os.OpenFile(ppath, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return 0, false, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, false, err
	}
	if fi.Size() != offset {
		return fi.Size(), false, ErrOffset
	}
	if _, err := f.WriteAt(chunk, offset); err != nil {
		return offset, false, err
	}
	if err := f.Sync(); err != nil {
		return offset, false, err
	}
	end := offset + int64(len(chunk))
	if end < total {
		return end, false, nil
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return end, false, err
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return end, false, err
	}
	if hex.EncodeToString(h.Sum(nil)) != sha {
		f.Close()
		_ = os.Remove(ppath)
		return 0, false, ErrBlobHash
	}
	opath := b.objectPath(sha)
	if err := os.MkdirAll(filepath.Dir(opath), 0o700); err != nil {
		return end, false, err
	}
	if err := os.Rename(ppath, opath); err != nil {
		return end, false, err
	}
	if d, err := os.Open(filepath.Dir(opath)); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return end, true, nil
}
