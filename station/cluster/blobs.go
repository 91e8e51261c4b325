package cluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/civic-station/station/station/blob"
)

// Blobs across the boxes: a blob a box takes is put to the other voters before the command that
// references it is submitted, and counts as stored once a quorum of voters has it (blob.Peers); a box
// that lacks a blob fetches it from the others.

// LocalBlobs is the part of a box's blob store the other boxes use: this box's copy only, so that
// two boxes that both lack a blob do not ask each other for ever.
type LocalBlobs interface {
	PutLocal(r io.Reader) (string, int64, error)
	OpenLocal(sum string) (io.ReadCloser, error)
}

const blobPath = "/cluster/v1/blobs/"

var _ blob.Peers = (*Service)(nil)

func (s *Service) serveBlob(w http.ResponseWriter, r *http.Request, peer string) {
	sum := strings.TrimPrefix(r.URL.Path, blobPath)
	if !blob.Valid(sum) || s.Blobs == nil {
		http.NotFound(w, r)
		return
	}
	switch r.Method {
	case http.MethodGet:
		rc, err := s.Blobs.OpenLocal(sum)
		if err != nil {
			http.NotFound(w, r)
			return
		}
		defer rc.Close()
		w.Header().Set("Content-Type", "application/octet-stream")
		io.Copy(w, rc)
	case http.MethodPut:
		got, _, err := s.Blobs.PutLocal(r.Body)
		if err != nil {
			writeJSON(w, http.StatusInsufficientStorage, errorAnswer{Error: err.Error()})
			return
		}
		if got != sum {
			// Stored under its own name, which nothing references: harmless, and said.
			s.logger().Warn("cluster: a member put a blob under another name", "member", peer, "name", sum, "content", got)
			writeJSON(w, http.StatusBadRequest, errorAnswer{Error: "content does not match the name"})
			return
		}
		writeJSON(w, http.StatusOK, errorAnswer{})
	default:
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

// Replicate puts the blob to the other voters until a quorum of voters has it.
func (s *Service) Replicate(ctx context.Context, sum string, size int64, open func() (io.ReadCloser, error)) error {
	n := s.getNode()
	if n == nil {
		return errors.New("the box is starting")
	}
	members, err := n.Members()
	if err != nil {
		return err
	}
	voters, have := 0, 0
	var others []string
	for _, m := range members {
		if !m.Voter {
			continue
		}
		voters++
		if m.Self {
			have++
		} else {
			others = append(others, m.Addr)
		}
	}
	quorum := voters/2 + 1
	// Every other voter is sent the blob; Replicate returns once a quorum has it, and the rest of the
	// puts go on after it returns.
	acks := make(chan error, len(others))
	if len(others) > 0 {
		bg, cancel := context.WithTimeout(context.WithoutCancel(ctx), blobPutTimeout)
		go func() {
			defer cancel()
			s.putToAll(bg, others, sum, size, open, acks)
		}()
	}
	var errs []error
	for range others {
		if have >= quorum {
			return nil
		}
		select {
		case err := <-acks:
			if err != nil {
				errs = append(errs, err)
				continue
			}
			have++
		case <-ctx.Done():
			errs = append(errs, ctx.Err())
			return fmt.Errorf("blob %s on %d of %d voters, %d needed: %w", sum, have, voters, quorum, errors.Join(errs...))
		}
	}
	if have >= quorum {
		return nil
	}
	return fmt.Errorf("blob %s on %d of %d voters, %d needed: %w", sum, have, voters, quorum, errors.Join(errs...))
}

// blobPutTimeout bounds the put of a blob to one member.
const blobPutTimeout = 2 * time.Minute

// putToAll puts the blob to each address at once and reports each outcome on acks.
func (s *Service) putToAll(ctx context.Context, addrs []string, sum string, size int64, open func() (io.ReadCloser, error), acks chan<- error) {
	var wg sync.WaitGroup
	for _, addr := range addrs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := s.putBlob(ctx, addr, sum, size, open)
			if err != nil {
				s.logger().Warn("cluster: put a blob to a member", "addr", addr, "err", err)
			}
			acks <- err
		}()
	}
	wg.Wait()
}

func (s *Service) putBlob(ctx context.Context, addr, sum string, size int64, open func() (io.ReadCloser, error)) error {
	rc, err := open()
	if err != nil {
		return err
	}
	defer rc.Close()
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, "https://"+addr+blobPath+sum, rc)
	if err != nil {
		return err
	}
	req.ContentLength = size
	resp, err := s.httpClient().Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	if resp.StatusCode != http.StatusOK {
		return answerError(resp.StatusCode, b)
	}
	return nil
}

// Fetch reads the blob from the first member that has it, the leader first.
func (s *Service) Fetch(ctx context.Context, sum string) (io.ReadCloser, error) {
	n := s.getNode()
	if n == nil {
		return nil, blob.ErrNotFound
	}
	members, err := n.Members()
	if err != nil {
		return nil, err
	}
	_, leader := n.Leader()
	addrs := []string{}
	if leader != "" {
		addrs = append(addrs, leader)
	}
	for _, m := range members {
		if !m.Self && m.Addr != leader {
			addrs = append(addrs, m.Addr)
		}
	}
	for _, addr := range addrs {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+addr+blobPath+sum, nil)
		if err != nil {
			return nil, err
		}
		resp, err := s.httpClient().Do(req)
		if err != nil {
			continue
		}
		if resp.StatusCode == http.StatusOK {
			return resp.Body, nil
		}
		resp.Body.Close()
	}
	return nil, fmt.Errorf("blob %s: %w on any member", sum, blob.ErrNotFound)
}
