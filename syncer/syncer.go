// Package syncer is the station's side of sync protocol v1 (docs/sync-protocol.md): it drains the
// store's outbox to the data center's hub in seq order and byte-capped batches, uploads the blobs
// records refer to first (resuming where an interrupted upload stopped), marks what the hub
// acknowledged and sets aside what it refuses for good through commands, pulls the downlink feed and
// applies each page with its cursor in one command, and detects drift by the state hash.
//
// Every change to the station's state goes through station commands (outbox.ack, outbox.dead_letter,
// outbox.prune, sync.apply), so it is audited and replicated like any other.
package syncer

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/civic-station/station/internal/atomicfile"
	"github.com/civic-station/station/station"
	"github.com/civic-station/station/station/revealkey"
	"github.com/civic-station/station/syncer/protocol"
)

// Store is what the syncer needs of the station's store (station/sqlite.DB implements it).
type Store interface {
	station.Log
	// PendingOutbox returns up to limit records waiting to be sent, in seq order.
	PendingOutbox(ctx context.Context, limit int) ([]station.OutboxRecord, error)
	// OutboxStats summarises the outbox.
	OutboxStats(ctx context.Context) (station.OutboxStats, error)
	// SyncCursor returns the downlink cursor.
	SyncCursor(ctx context.Context) (station.SyncCursor, error)
	// SyncStateHash returns the hash of the downlink state applied.
	SyncStateHash(ctx context.Context) (string, error)
}

// BlobSource opens the station's blobs by SHA-256. A blob that does not exist is reported with an
// error satisfying errors.Is(err, fs.ErrNotExist).
type BlobSource interface {
	OpenBlob(sha256 string) (io.ReadSeekCloser, int64, error)
}

// HubKeySetter takes the hub's reveal public key for the ID numbers sealed from now on
// (station/datakey.Key implements it).
type HubKeySetter interface {
	SetHubKey(*revealkey.PublicKey)
}

// Config configures a Syncer. Store and Identity (or HTTPClient and HubURL) are required.
type Config struct {
	Store    Store
	Blobs    BlobSource // nil: the station has no blobs; a record that refers to one is set aside
	Identity *Identity
	HubURL   string       // default Identity.HubURL
	Client   *http.Client // default: mutual TLS with Identity, RequestTimeout per request
	Version  string
	Logger   *slog.Logger
	Now      func() time.Time
	NewID    func() string                                    // command IDs; UUIDv7 by default
	Sleep    func(ctx context.Context, d time.Duration) error // waits between rounds; a timer by default
	Jitter   func(max time.Duration) time.Duration            // uniform in [0, max); math/rand/v2 by default

	Interval        time.Duration // between rounds when all is well (default 30s)
	BackoffBase     time.Duration // first backoff after a failure (default 1s)
	BackoffMax      time.Duration // backoff cap (default 5m)
	RequestTimeout  time.Duration // per HTTP request (default 60s)
	MaxBatchBytes   int           // records per upload, by their encoded size before compression (default 512 KiB)
	MaxBatchRecords int           // records per upload (default 500)
	ChunkSize       int           // blob chunk (default 1 MiB, the hub's default limit)
	PageSize        int           // downlink changes per page (default 200)
	Retention       time.Duration // acknowledged records kept before pruning (default 30 days; <0 never)
	PruneEvery      time.Duration // how often to prune (default 1h)
	ResyncEvery     time.Duration // at most one full resync per this period while drift persists (default 1h)
	StatusFile      string        // where to write the status after each round, for `station sync status` ("" none)
	// Limiter caps the traffic with the hub by time of day (uploads and downloads together); nil:
	// unlimited. Time spent throttled does not count against RequestTimeout.
	Limiter *Limiter
	// HubKeys gets the hub's reveal key: the one in Identity when New runs, then any other the hub
	// announces with the downlink (which is also stored in the identity). nil: the key is stored, not
	// applied.
	HubKeys HubKeySetter
}

// Status is what the technician sees of the sync (station.SyncStatus).
type Status = station.SyncStatus

// Syncer moves records up and changes down. Run it as a service; Status reports on it.
type Syncer struct {
	cfg    Config
	client *http.Client
	base   string
	kick   chan struct{}

	mu         sync.Mutex
	st         Status
	batch      int       // current record limit per batch; halves on 413
	lastPrune  time.Time // zero until the first prune
	lastResync time.Time
	revealKey  string // the hub reveal key in use, as the protocol carries it; "" when none
}

// New returns a syncer for cfg.
func New(cfg Config) (*Syncer, error) {
	if cfg.Store == nil {
		return nil, errors.New("syncer: no store")
	}
	if cfg.HubURL == "" && cfg.Identity != nil {
		cfg.HubURL = cfg.Identity.HubURL
	}
	if cfg.HubURL == "" {
		return nil, errors.New("syncer: no hub URL")
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&cfg.Interval, 30*time.Second)
	def(&cfg.BackoffBase, time.Second)
	def(&cfg.BackoffMax, 5*time.Minute)
	def(&cfg.RequestTimeout, 60*time.Second)
	def(&cfg.Retention, 30*24*time.Hour)
	def(&cfg.PruneEvery, time.Hour)
	def(&cfg.ResyncEvery, time.Hour)
	if cfg.MaxBatchBytes <= 0 {
		cfg.MaxBatchBytes = 512 << 10
	}
	if cfg.MaxBatchRecords <= 0 {
		cfg.MaxBatchRecords = 500
	}
	if cfg.ChunkSize <= 0 {
		cfg.ChunkSize = 1 << 20
	}
	if cfg.PageSize <= 0 {
		cfg.PageSize = 200
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.NewID == nil {
		cfg.NewID = func() string { return uuid.Must(uuid.NewV7()).String() }
	}
	if cfg.Sleep == nil {
		cfg.Sleep = sleepTimer
	}
	if cfg.Jitter == nil {
		cfg.Jitter = func(max time.Duration) time.Duration {
			if max <= 0 {
				return 0
			}
			return time.Duration(rand.Int64N(int64(max)))
		}
	}
	client := cfg.Client
	if client == nil {
		if cfg.Identity == nil {
			return nil, errors.New("syncer: no identity")
		}
		client = &http.Client{Transport: &http.Transport{TLSClientConfig: cfg.Identity.TLSConfig(), ForceAttemptHTTP2: true,
			MaxIdleConnsPerHost: 2, IdleConnTimeout: 90 * time.Second, ResponseHeaderTimeout: cfg.RequestTimeout}}
	}
	s := &Syncer{cfg: cfg, client: client, base: cfg.HubURL, kick: make(chan struct{}, 1), batch: cfg.MaxBatchRecords}
	s.st.HubURL, s.st.Enrolled = cfg.HubURL, true
	if cfg.Identity != nil {
		s.st.StationID, s.st.StationName = cfg.Identity.StationID, cfg.Identity.StationName
		s.revealKey = cfg.Identity.RevealKey
		if key, err := cfg.Identity.HubRevealKey(); err != nil {
			cfg.Logger.Warn("the stored hub reveal key is unusable; waiting for the hub to announce it again", "err", err)
			s.revealKey = ""
		} else if key != nil && cfg.HubKeys != nil {
			cfg.HubKeys.SetHubKey(key)
		}
	}
	return s, nil
}

func sleepTimer(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Close releases the syncer's idle connections to the hub. Run must have returned.
func (s *Syncer) Close() error {
	s.client.CloseIdleConnections()
	return nil
}

// Kick asks for a round soon (after new records, say); it never blocks.
func (s *Syncer) Kick() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// Run syncs until ctx ends: a round, then a wait of Interval (or less, when kicked); after a failed
// round, a backoff with full jitter doubling up to BackoffMax, or the hub's Retry-After when it gave one.
func (s *Syncer) Run(ctx context.Context) error {
	failures := 0
	for {
		err := s.SyncOnce(ctx)
		if ctx.Err() != nil {
			return nil
		}
		var wait time.Duration
		if err == nil {
			failures = 0
			wait = s.cfg.Interval
		} else {
			failures++
			wait = s.backoff(failures, err)
			s.cfg.Logger.Warn("sync failed", "err", err, "retry_in", wait.Round(time.Millisecond))
		}
		wctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() {
			defer close(done)
			select {
			case <-s.kick:
				if err == nil {
					cancel()
				}
			case <-wctx.Done():
			}
		}()
		serr := s.cfg.Sleep(wctx, wait)
		cancel()
		<-done
		if ctx.Err() != nil {
			return nil
		}
		_ = serr
	}
}

// backoff returns the wait after the n-th failure in a row: when the hub sent Retry-After, at least
// that and less than twice that (uniform), so that stations the hub turned away together do not come
// back together; else full jitter, uniform in [0, min(BackoffMax, BackoffBase·2^(n-1))).
func (s *Syncer) backoff(n int, err error) time.Duration {
	var he *hubError
	if errors.As(err, &he) && he.RetryAfter > 0 {
		return he.RetryAfter + s.cfg.Jitter(he.RetryAfter)
	}
	if errors.As(err, &he) && he.Code == station.EUPGRADE { // nothing changes until someone upgrades the station
		return s.cfg.BackoffMax
	}
	ceil := s.cfg.BackoffMax
	if n < 31 {
		if d := s.cfg.BackoffBase << (n - 1); d > 0 && d < ceil {
			ceil = d
		}
	}
	return s.cfg.Jitter(ceil)
}

// SyncOnce runs one round: upload every pending record, pull every downlink change, prune when due.
func (s *Syncer) SyncOnce(ctx context.Context) error {
	s.mu.Lock()
	s.st.LastAttempt = s.cfg.Now()
	s.mu.Unlock()
	err := s.upload(ctx)
	if err == nil {
		err = s.pull(ctx)
	}
	if err == nil {
		err = s.prune(ctx)
	}
	s.mu.Lock()
	if err != nil {
		s.st.LastError = err.Error()
		var he *hubError
		if s.st.UpgradeRequired = errors.As(err, &he) && he.Code == station.EUPGRADE; s.st.UpgradeRequired {
			s.st.LastError = he.Message // the hub's own words: which version it wants
		}
		s.st.ConsecutiveKO++
	} else {
		s.st.LastError, s.st.ConsecutiveKO, s.st.UpgradeRequired = "", 0, false
		s.st.LastSuccess = s.cfg.Now()
	}
	s.mu.Unlock()
	if s.cfg.StatusFile != "" {
		if st, serr := s.Status(ctx); serr == nil {
			b, _ := json.MarshalIndent(st, "", "  ")
			if werr := atomicfile.WriteFile(s.cfg.StatusFile, b, 0o600); werr != nil {
				s.cfg.Logger.Warn("write sync status", "err", werr)
			}
		}
	}
	return err
}

// Status returns the sync status: the outbox and the downlink cursor as the store holds them, with
// what the syncer saw of the hub.
func (s *Syncer) Status(ctx context.Context) (Status, error) {
	s.mu.Lock()
	st := s.st
	s.mu.Unlock()
	st.Online = !st.LastSuccess.IsZero() && st.ConsecutiveKO == 0
	if s.cfg.Limiter != nil {
		st.BandwidthLimit = s.cfg.Limiter.Rate()
	}
	return StoreStatus(ctx, s.cfg.Store, s.cfg.Now(), st)
}

// StatusStore is what StoreStatus reads.
type StatusStore interface {
	OutboxStats(ctx context.Context) (station.OutboxStats, error)
	SyncCursor(ctx context.Context) (station.SyncCursor, error)
}

// StoreStatus completes st with what the store holds: the outbox figures and the downlink cursor. A
// station that runs no syncer (not enrolled) reports StoreStatus of a zero Status.
func StoreStatus(ctx context.Context, store StatusStore, now time.Time, st Status) (Status, error) {
	stats, err := store.OutboxStats(ctx)
	if err != nil {
		return Status{}, err
	}
	cur, err := store.SyncCursor(ctx)
	if err != nil {
		return Status{}, err
	}
	st.Pending, st.DeadLetters, st.Acked, st.OldestUnsent = stats.Pending, stats.DeadLetters, stats.Acked, stats.OldestAt
	st.OldestAge = 0
	if !stats.OldestAt.IsZero() {
		st.OldestAge = station.Seconds(now.Sub(stats.OldestAt))
	}
	st.Cursor, st.CursorAt, st.Resyncs = cur.Cursor, cur.UpdatedAt, cur.Resyncs
	return st, nil
}

func (s *Syncer) submit(ctx context.Context, kind station.CommandKind, payload any) error {
	cmd, err := station.NewCommand(s.cfg.NewID(), kind, s.cfg.Now(), station.Actor{Username: "syncer", Role: station.RoleSystem}, payload)
	if err != nil {
		return err
	}
	if _, err := s.cfg.Store.Submit(ctx, cmd); err != nil {
		return fmt.Errorf("%s: %w", kind, err)
	}
	return nil
}

// do sends a request to the hub and returns the response body of a 2xx answer, or a *hubError. With a
// bandwidth cap, the request and response bodies go through the limiter, and the time they wait does
// not count against RequestTimeout.
func (s *Syncer) do(ctx context.Context, req *http.Request) (*http.Response, []byte, error) {
	l := s.cfg.Limiter
	var extend func(time.Duration)
	var cancel context.CancelFunc
	if l == nil {
		ctx, cancel = context.WithTimeout(ctx, s.cfg.RequestTimeout)
	} else {
		ctx, extend, cancel = stretchTimeout(ctx, s.cfg.RequestTimeout)
	}
	defer cancel()
	req = req.WithContext(ctx)
	req.Header.Set(protocol.HeaderStationTime, s.cfg.Now().UTC().Format(time.RFC3339Nano))
	if s.cfg.Version != "" {
		req.Header.Set(protocol.HeaderStationVersion, s.cfg.Version)
	}
	if l != nil && req.Body != nil && req.Body != http.NoBody {
		body, getBody := req.Body, req.GetBody
		req.Body = limitedBody{l.Reader(ctx, body, extend), body}
		if getBody != nil {
			req.GetBody = func() (io.ReadCloser, error) {
				b, err := getBody()
				if err != nil {
					return nil, err
				}
				return limitedBody{l.Reader(ctx, b, extend), b}, nil
			}
		}
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("%s %s: %w", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	var rd io.Reader = resp.Body
	if l != nil {
		rd = l.Reader(ctx, resp.Body, extend)
	}
	body, err := io.ReadAll(io.LimitReader(rd, 64<<20))
	s.mu.Lock()
	s.st.BytesReceived += int64(len(body))
	s.mu.Unlock()
	if err != nil {
		return nil, nil, fmt.Errorf("%s %s: %w", req.Method, req.URL.Path, err)
	}
	if d, err := http.ParseTime(resp.Header.Get("Date")); err == nil {
		s.mu.Lock()
		s.st.ClockSkew = station.Seconds(d.Sub(s.cfg.Now().Truncate(time.Second)))
		s.mu.Unlock()
	}
	if resp.StatusCode/100 != 2 {
		return resp, body, hubErrorFrom(resp, body, s.cfg.Now())
	}
	return resp, body, nil
}

// stretchTimeout is context.WithTimeout(parent, d) whose deadline extend pushes back, so that the time a
// request spends throttled by the bandwidth cap does not count against its timeout.
func stretchTimeout(parent context.Context, d time.Duration) (context.Context, func(time.Duration), context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(parent)
	var mu sync.Mutex
	deadline := time.Now().Add(d)
	t := time.AfterFunc(d, func() { cancel(context.DeadlineExceeded) })
	extend := func(by time.Duration) {
		mu.Lock()
		defer mu.Unlock()
		deadline = deadline.Add(by)
		t.Reset(time.Until(deadline))
	}
	return ctx, extend, func() {
		t.Stop()
		cancel(context.Canceled)
	}
}

func (s *Syncer) addSent(n int64) {
	s.mu.Lock()
	s.st.BytesSent += n
	s.mu.Unlock()
}

// deadLetter sets records aside with one command.
func (s *Syncer) deadLetter(ctx context.Context, dl []station.DeadLetter) error {
	if len(dl) == 0 {
		return nil
	}
	for _, d := range dl {
		s.cfg.Logger.Warn("record set aside", "seq", d.Seq, "code", d.Code, "reason", d.Message)
	}
	return s.submit(ctx, station.CmdOutboxDeadLetter, station.OutboxDeadLetter{Records: dl})
}

// upload sends every pending record.
func (s *Syncer) upload(ctx context.Context) error {
	for {
		s.mu.Lock()
		limit := s.batch
		s.mu.Unlock()
		recs, err := s.cfg.Store.PendingOutbox(ctx, limit)
		if err != nil {
			return err
		}
		if len(recs) == 0 {
			return nil
		}
		stats, err := s.cfg.Store.OutboxStats(ctx)
		if err != nil {
			return err
		}
		batch, size, dead := s.fill(recs)
		if len(dead) > 0 {
			if err := s.deadLetter(ctx, dead); err != nil {
				return err
			}
			continue
		}
		// Blobs first: a record counts at the hub only once its blobs are complete there.
		var blobDead []station.DeadLetter
		for i := range batch {
			for _, sha := range batch[i].Blobs {
				err := s.uploadBlob(ctx, sha)
				if errors.Is(err, os.ErrNotExist) {
					blobDead = append(blobDead, station.DeadLetter{Seq: batch[i].Seq, Code: station.DeadBlobMissing, Message: "本地缺少引用的文件 " + sha})
					break
				} else if err != nil {
					return err
				}
			}
		}
		if len(blobDead) > 0 {
			if err := s.deadLetter(ctx, blobDead); err != nil {
				return err
			}
			continue
		}
		cur, _ := s.cfg.Store.SyncCursor(ctx)
		hash, _ := s.cfg.Store.SyncStateHash(ctx)
		resp, err := s.sendBatch(ctx, protocol.RecordsRequest{Records: batch, Station: protocol.StationReport{
			Backlog: stats.Pending, OldestAt: stats.OldestAt, Dead: stats.DeadLetters, Version: s.cfg.Version, Cursor: cur.Cursor, Hash: hash}})
		var he *hubError
		if errors.As(err, &he) && he.Status == http.StatusRequestEntityTooLarge {
			if len(batch) == 1 {
				if err := s.deadLetter(ctx, []station.DeadLetter{{Seq: batch[0].Seq, Code: station.DeadTooLarge, Message: "记录超过数据中心允许的大小"}}); err != nil {
					return err
				}
				continue
			}
			s.mu.Lock()
			s.batch = max(1, len(batch)/2)
			s.mu.Unlock()
			s.cfg.Logger.Info("batch too large; halving", "records", len(batch), "bytes", size)
			continue
		}
		if err != nil {
			return err
		}
		progressed, err := s.settle(ctx, batch, resp)
		if err != nil {
			return err
		}
		if !progressed {
			return fmt.Errorf("hub settled none of %d records (first: %s)", len(batch), firstStatus(resp))
		}
		s.mu.Lock()
		s.batch = min(s.cfg.MaxBatchRecords, s.batch*2)
		s.mu.Unlock()
	}
}

func firstStatus(resp protocol.RecordsResponse) string {
	for _, r := range resp.Results {
		if !protocol.Settled(r.Status) {
			return r.Status + " " + r.Message
		}
	}
	return ""
}

// fill turns pending records into a batch of at most MaxBatchBytes (at least one record). A first record
// that alone exceeds the cap is returned as a dead letter instead.
func (s *Syncer) fill(recs []station.OutboxRecord) ([]protocol.Record, int, []station.DeadLetter) {
	var batch []protocol.Record
	size := 0
	for _, r := range recs {
		payload := compactJSON(r.Payload)
		w := protocol.Record{Seq: r.Seq, ID: r.ID, Kind: r.Kind, OccurredAt: r.OccurredAt, Payload: payload,
			PayloadSHA256: protocol.PayloadHash(payload), Blobs: station.BlobRefs(payload)}
		if w.Blobs == nil {
			w.Blobs = []string{}
		}
		n := len(payload) + 200 + 65*len(w.Blobs)
		if len(batch) == 0 && n > s.cfg.MaxBatchBytes {
			return nil, 0, []station.DeadLetter{{Seq: r.Seq, Code: station.DeadTooLarge, Message: "记录超过单批上传上限"}}
		}
		if len(batch) > 0 && size+n > s.cfg.MaxBatchBytes {
			break
		}
		batch = append(batch, w)
		size += n
	}
	return batch, size, nil
}

func compactJSON(p []byte) json.RawMessage {
	var b bytes.Buffer
	if err := json.Compact(&b, p); err != nil {
		return json.RawMessage(p)
	}
	return b.Bytes()
}

func (s *Syncer) sendBatch(ctx context.Context, body protocol.RecordsRequest) (protocol.RecordsResponse, error) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	enc := json.NewEncoder(zw)
	enc.SetEscapeHTML(false) // payloads travel byte for byte, as hashed
	if err := enc.Encode(body); err != nil {
		return protocol.RecordsResponse{}, err
	}
	if err := zw.Close(); err != nil {
		return protocol.RecordsResponse{}, err
	}
	n := int64(buf.Len())
	req, err := http.NewRequest(http.MethodPost, s.base+protocol.PathRecords, &buf)
	if err != nil {
		return protocol.RecordsResponse{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Content-Encoding", "gzip")
	_, raw, err := s.do(ctx, req)
	s.addSent(n)
	if err != nil {
		return protocol.RecordsResponse{}, err
	}
	var resp protocol.RecordsResponse
	if err := json.Unmarshal(raw, &resp); err != nil {
		return resp, fmt.Errorf("records: bad answer: %w", err)
	}
	return resp, nil
}

// settle applies the hub's answer: records refused for good become dead letters, then everything up to
// the acknowledged seq is marked acknowledged. It reports whether the queue moved.
func (s *Syncer) settle(ctx context.Context, batch []protocol.Record, resp protocol.RecordsResponse) (bool, error) {
	var dead []station.DeadLetter
	for _, r := range resp.Results {
		if protocol.Permanent(r.Status) {
			dead = append(dead, station.DeadLetter{Seq: r.Seq, Code: r.Status, Message: r.Message})
		}
	}
	if err := s.deadLetter(ctx, dead); err != nil {
		return false, err
	}
	if resp.AckedThrough > 0 {
		if resp.AckedThrough > batch[len(batch)-1].Seq {
			return false, fmt.Errorf("hub acknowledged seq %d beyond the batch (last %d)", resp.AckedThrough, batch[len(batch)-1].Seq)
		}
		if err := s.submit(ctx, station.CmdOutboxAck, station.OutboxAck{ThroughSeq: resp.AckedThrough}); err != nil {
			return false, err
		}
		n := int64(0)
		for _, r := range batch {
			if r.Seq <= resp.AckedThrough {
				n++
			}
		}
		s.mu.Lock()
		s.st.RecordsAcked += n
		s.mu.Unlock()
	}
	return resp.AckedThrough > 0 || len(dead) > 0, nil
}

// uploadBlob makes sure the hub holds the whole blob: it asks for the stored offset and sends the rest
// in checksummed chunks. An error satisfying errors.Is(err, os.ErrNotExist) means the station lacks it.
func (s *Syncer) uploadBlob(ctx context.Context, sha string) error {
	head, err := http.NewRequest(http.MethodHead, s.base+protocol.PathBlobs+sha, nil)
	if err != nil {
		return err
	}
	resp, _, err := s.do(ctx, head)
	if err != nil {
		return err
	}
	if resp.Header.Get(protocol.HeaderUploadComplete) == "1" {
		return nil
	}
	off, err := strconv.ParseInt(resp.Header.Get(protocol.HeaderUploadOffset), 10, 64)
	if err != nil {
		return fmt.Errorf("blob %s: bad offset from hub", sha)
	}
	if s.cfg.Blobs == nil {
		return fmt.Errorf("blob %s: %w", sha, os.ErrNotExist)
	}
	f, size, err := s.cfg.Blobs.OpenBlob(sha)
	if err != nil {
		return fmt.Errorf("blob %s: %w", sha, err)
	}
	defer f.Close()
	if off > size {
		return fmt.Errorf("blob %s: hub holds %d bytes of %d", sha, off, size)
	}
	chunk := make([]byte, s.cfg.ChunkSize)
	for off < size || size == 0 {
		if _, err := f.Seek(off, io.SeekStart); err != nil {
			return err
		}
		n, err := io.ReadFull(f, chunk[:min(int64(len(chunk)), size-off)])
		if err != nil {
			return fmt.Errorf("blob %s: read: %w", sha, err)
		}
		req, err := http.NewRequest(http.MethodPatch, s.base+protocol.PathBlobs+sha, bytes.NewReader(chunk[:n]))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", protocol.ContentTypeBlobChunk)
		req.Header.Set(protocol.HeaderUploadOffset, strconv.FormatInt(off, 10))
		req.Header.Set(protocol.HeaderUploadLength, strconv.FormatInt(size, 10))
		req.Header.Set(protocol.HeaderChunkSHA256, protocol.PayloadHash(chunk[:n]))
		resp, _, err := s.do(ctx, req)
		s.addSent(int64(n))
		var he *hubError
		if errors.As(err, &he) && he.Status == http.StatusConflict {
			// The hub holds a different amount (an earlier chunk landed after all): go on from there.
			if o, perr := strconv.ParseInt(resp.Header.Get(protocol.HeaderUploadOffset), 10, 64); perr == nil {
				off = o
				continue
			}
		}
		if err != nil {
			return fmt.Errorf("blob %s at %d: %w", sha, off, err)
		}
		if resp.Header.Get(protocol.HeaderUploadComplete) == "1" {
			return nil
		}
		if off, err = strconv.ParseInt(resp.Header.Get(protocol.HeaderUploadOffset), 10, 64); err != nil {
			return fmt.Errorf("blob %s: bad offset from hub", sha)
		}
		if size == 0 {
			break
		}
	}
	return nil
}

// pull applies downlink pages until caught up, then checks the state hash; a mismatch starts a full
// resync (at most once per ResyncEvery while it persists).
func (s *Syncer) pull(ctx context.Context) error {
	reset := false
	for {
		cur, err := s.cfg.Store.SyncCursor(ctx)
		if err != nil {
			return err
		}
		from := cur.Cursor
		if reset {
			from = ""
		}
		q := url.Values{"cursor": {from}, "limit": {strconv.Itoa(s.cfg.PageSize)}}
		req, err := http.NewRequest(http.MethodGet, s.base+protocol.PathChanges+"?"+q.Encode(), nil)
		if err != nil {
			return err
		}
		_, raw, err := s.do(ctx, req)
		if err != nil {
			return err
		}
		var page protocol.ChangesResponse
		if err := json.Unmarshal(raw, &page); err != nil {
			return fmt.Errorf("changes: bad answer: %w", err)
		}
		if err := s.adoptRevealKey(page.RevealKey); err != nil {
			return err
		}
		if len(page.Changes) > 0 || page.NextCursor != cur.Cursor || reset {
			if err := s.submit(ctx, station.CmdSyncApply, station.SyncApply{FromCursor: cur.Cursor, Cursor: page.NextCursor, Reset: reset, Changes: page.Changes}); err != nil {
				return err
			}
		}
		reset = false
		if page.More {
			continue
		}
		local, err := s.cfg.Store.SyncStateHash(ctx)
		if err != nil {
			return err
		}
		drift := page.StateHash != "" && local != page.StateHash
		s.mu.Lock()
		s.st.Drift = drift
		due := s.lastResync.IsZero() || s.cfg.Now().Sub(s.lastResync) >= s.cfg.ResyncEvery
		if drift && due {
			s.lastResync = s.cfg.Now()
		}
		s.mu.Unlock()
		if !drift {
			return nil
		}
		if !due {
			s.cfg.Logger.Warn("downlink state still differs from the hub's after a resync", "local", local, "hub", page.StateHash)
			return nil
		}
		s.cfg.Logger.Warn("downlink state differs from the hub's; full resync", "local", local, "hub", page.StateHash)
		reset = true
	}
}

// adoptRevealKey takes a reveal key the hub announced, when it is not the one in use: it is stored in
// the identity first, then applied to the seals that follow. A malformed key is logged and ignored (the
// station goes on sealing as before); a key that cannot be stored fails the round.
func (s *Syncer) adoptRevealKey(announced string) error {
	s.mu.Lock()
	current := s.revealKey
	s.mu.Unlock()
	if announced == "" || announced == current {
		return nil
	}
	key, err := revealkey.ParsePublicKey(announced)
	if err != nil {
		s.cfg.Logger.Warn("the hub announced a malformed reveal key; ignored", "err", err)
		return nil
	}
	if s.cfg.Identity != nil {
		if err := s.cfg.Identity.saveRevealKey(announced); err != nil {
			return err
		}
	}
	if s.cfg.HubKeys != nil {
		s.cfg.HubKeys.SetHubKey(key)
	}
	s.mu.Lock()
	s.revealKey = announced
	s.mu.Unlock()
	s.cfg.Logger.Info("hub reveal key adopted: new ID numbers carry a copy for the data center", "fingerprint", key.Fingerprint())
	return nil
}

// prune drops acknowledged records older than Retention, at most once per PruneEvery.
func (s *Syncer) prune(ctx context.Context) error {
	if s.cfg.Retention < 0 {
		return nil
	}
	now := s.cfg.Now()
	s.mu.Lock()
	due := s.lastPrune.IsZero() || now.Sub(s.lastPrune) >= s.cfg.PruneEvery
	s.mu.Unlock()
	if !due {
		return nil
	}
	stats, err := s.cfg.Store.OutboxStats(ctx)
	if err != nil {
		return err
	}
	if stats.Acked > 0 {
		if err := s.submit(ctx, station.CmdOutboxPrune, station.OutboxPrune{AckedBefore: now.Add(-s.cfg.Retention)}); err != nil {
			return err
		}
	}
	s.mu.Lock()
	s.lastPrune = now
	s.mu.Unlock()
	return nil
}
