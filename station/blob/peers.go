package blob

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"time"

	"github.com/civic-station/station/station"
)

// A station of several boxes (station/cluster) keeps each blob on a quorum of its voters before the
// command that references it is submitted: Put stores the blob here and then has the peers store it
// on enough voters, and fails when they cannot. A box that lacks a blob another box took (a
// scanned page the leader's syncer uploads, a PDF a follower prints) fetches it from the others the
// first time it is opened, and checks it against its hash before keeping it.

// Peers are the other boxes of the station's cluster.
type Peers interface {
	// Replicate has the blob sum, of size bytes, stored on a quorum of the cluster's voters, this box
	// counting if it votes; open reads the blob (again for each box).
	Replicate(ctx context.Context, sum string, size int64, open func() (io.ReadCloser, error)) error
	// Fetch reads the blob sum from a box that has it, or fails with ErrNotFound when none has.
	Fetch(ctx context.Context, sum string) (io.ReadCloser, error)
}

type peersBox struct{ p Peers }

// peerTimeout bounds a replication or a fetch.
const peerTimeout = 60 * time.Second

// SetPeers makes the store keep its blobs on the cluster's voters and fetch the ones it lacks (nil:
// this box alone).
func (s *Store) SetPeers(p Peers) {
	if p == nil {
		s.peers.Store(nil)
		return
	}
	s.peers.Store(&peersBox{p})
}

// Put stores the content read from r and returns its SHA-256 (lowercase hex) and size. When it returns
// nil the blob is durable on this box and, in a cluster, on a quorum of its voters. Storing content
// that is already there succeeds and changes nothing. It returns ErrTooLarge (wrapped) when r yields
// more than the size limit, and EUNAVAILABLE when the cluster's voters cannot take the blob.
func (s *Store) Put(r io.Reader) (string, int64, error) {
	sum, size, err := s.PutLocal(r)
	if err != nil {
		return sum, size, err
	}
	pb := s.peers.Load()
	if pb == nil {
		return sum, size, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), peerTimeout)
	defer cancel()
	if err := pb.p.Replicate(ctx, sum, size, func() (io.ReadCloser, error) { return s.OpenLocal(sum) }); err != nil {
		return "", 0, &station.Error{Code: station.EUNAVAILABLE, Message: "本站暂时无法保存文件：站内设备之间正在重新连接，请稍后再试。",
			Detail: fmt.Sprintf("blob %s on a quorum: %v", sum, err)}
	}
	return sum, size, nil
}

// fetchMissing fetches the blob sum from the peers when this box lacks it. Failures leave the blob
// missing: the caller's open then says ErrNotFound.
func (s *Store) fetchMissing(sum string) {
	pb := s.peers.Load()
	if pb == nil || !Valid(sum) || s.Has(sum) {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), peerTimeout)
	defer cancel()
	rc, err := pb.p.Fetch(ctx, sum)
	if err != nil {
		return
	}
	// Checked while it is written: content that does not match the name fails the write and leaves
	// nothing behind.
	v := &verifier{f: rc, h: sha256.New(), want: sum}
	defer v.Close()
	_, _, _ = s.PutLocal(v)
}
