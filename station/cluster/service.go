package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	hraft "github.com/hashicorp/raft"

	"github.com/civic-station/station/station"
	"github.com/civic-station/station/station/lantls"
	sraft "github.com/civic-station/station/station/raft"
)

// Service is a box's side of the cluster: it answers the other members' requests on the cluster port
// (ServeHTTP), forwards this box's commands to the leader (Forward), and gathers the members'
// progress (Status).
type Service struct {
	Creds *lantls.MemberState
	Codes *Codes
	// Secrets returns the station's key files, by their path in the data directory, for a box that
	// joins.
	Secrets func() (map[string][]byte, error)
	Logger  *slog.Logger
	// Blobs is the box's blob store, which the other boxes put blobs to and fetch them from (blobs.go).
	Blobs LocalBlobs
	// SyncStatus is the status of the syncer running on this box (the leader's), which the other
	// members show as theirs; nil or an error while it runs none.
	SyncStatus func(context.Context) (station.SyncStatus, error)

	mu     sync.RWMutex
	node   *sraft.Node
	client *http.Client
	once   sync.Once
}

// SetNode gives the service the box's log node once it runs (the node needs the port's transport
// first).
func (s *Service) SetNode(n *sraft.Node) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.node = n
}

func (s *Service) getNode() *sraft.Node {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.node
}

func (s *Service) logger() *slog.Logger {
	if s.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Logger
}

// httpClient is the client members call each other with: the member certificate, the others' checked.
func (s *Service) httpClient() *http.Client {
	s.once.Do(func() {
		s.client = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
			TLSClientConfig:     ClientTLS(s.Creds, httpProto),
			MaxIdleConnsPerHost: 4,
			IdleConnTimeout:     time.Minute,
		}}
	})
	return s.client
}

// ServeHTTP answers the other members (and a box that joins).
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.TLS == nil {
		http.Error(w, "TLS only", http.StatusBadRequest)
		return
	}
	if r.Method == http.MethodPost && r.URL.Path == "/cluster/v1/join" {
		s.join(w, r)
		return
	}
	peer, err := lantls.VerifyMember(rawChain(r), s.Creds.Pool, time.Now())
	if err != nil {
		writeJSON(w, http.StatusForbidden, errorAnswer{Error: "member certificate required: " + err.Error()})
		return
	}
	n := s.getNode()
	if n == nil {
		writeJSON(w, http.StatusServiceUnavailable, errorAnswer{Error: "the box is starting"})
		return
	}
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/cluster/v1/submit":
		s.submit(w, r, n)
	case r.Method == http.MethodGet && r.URL.Path == "/cluster/v1/progress":
		writeJSON(w, http.StatusOK, progressAnswer{ID: n.ID(), Progress: n.Progress()})
	case r.Method == http.MethodPost && r.URL.Path == "/cluster/v1/promote":
		s.promote(w, r, n, peer)
	case r.Method == http.MethodPost && r.URL.Path == "/cluster/v1/address":
		s.readdress(w, r, n, peer)
	case r.Method == http.MethodGet && r.URL.Path == "/cluster/v1/sync-status":
		s.syncStatus(w, r)
	case strings.HasPrefix(r.URL.Path, blobPath):
		s.serveBlob(w, r, peer)
	case r.Method == http.MethodGet && r.URL.Path == "/cluster/v1/secrets":
		files, err := s.Secrets()
		if err != nil {
			writeJSON(w, http.StatusInternalServerError, errorAnswer{Error: err.Error()})
			return
		}
		s.logger().Info("cluster: the station's keys given to a member", "member", peer)
		writeJSON(w, http.StatusOK, JoinAnswer{Files: files})
	default:
		http.NotFound(w, r)
	}
}

func rawChain(r *http.Request) [][]byte {
	var raw [][]byte
	for _, c := range r.TLS.PeerCertificates {
		raw = append(raw, c.Raw)
	}
	return raw
}

type errorAnswer struct {
	Error string `json:"error"`
}

type progressAnswer struct {
	ID       string         `json:"id"`
	Progress sraft.Progress `json:"progress"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// answerError reads an error answer.
func answerError(status int, body []byte) error {
	var e errorAnswer
	if json.Unmarshal(body, &e) == nil && e.Error != "" {
		return fmt.Errorf("主机拒绝（%d）：%s", status, e.Error)
	}
	return fmt.Errorf("主机拒绝（%d）：%s", status, bytes.TrimSpace(body))
}

func (s *Service) join(w http.ResponseWriter, r *http.Request) {
	bind, err := binding(*r.TLS)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, errorAnswer{Error: err.Error()})
		return
	}
	var req JoinRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, 64<<10)).Decode(&req); err != nil {
		writeJSON(w, http.StatusBadRequest, errorAnswer{Error: "bad join request"})
		return
	}
	code, ok := s.Codes.use(req.Proof, bind)
	if !ok {
		s.logger().Warn("cluster: join refused: wrong or expired code", "remote", r.RemoteAddr)
		writeJSON(w, http.StatusForbidden, errorAnswer{Error: "加入码不对或已失效，请在主机上重新生成（station cluster join-code）"})
		return
	}
	if err := checkJoin(req); err != nil {
		writeJSON(w, http.StatusBadRequest, errorAnswer{Error: err.Error()})
		return
	}
	n := s.getNode()
	if n == nil || !n.IsLeader() {
		writeJSON(w, http.StatusMisdirectedRequest, errorAnswer{Error: "这台不是主机：请在主机上生成加入码"})
		return
	}
	members, err := n.Members()
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, errorAnswer{Error: err.Error()})
		return
	}
	voters := 0
	for _, m := range members {
		if m.Voter {
			voters++
		}
		if m.ID == req.ID {
			writeJSON(w, http.StatusConflict, errorAnswer{Error: fmt.Sprintf("集群里已有名为 %s 的设备：换一个名称（--name），或先在主机上 station cluster remove %s", req.ID, req.ID)})
			return
		}
	}
	files, err := s.Secrets()
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, errorAnswer{Error: err.Error()})
		return
	}
	// A non-voter first, whatever it asked: it counts for the quorum only once it has caught up.
	if err := n.AddMember(r.Context(), req.ID, req.Addr, false); err != nil {
		writeJSON(w, http.StatusServiceUnavailable, errorAnswer{Error: "添加设备失败：" + err.Error()})
		return
	}
	s.logger().Info("cluster: a box joined", "member", req.ID, "addr", req.Addr, "voter", req.Voter)
	writeJSON(w, http.StatusOK, JoinAnswer{Proof: codeProof(code, "server", bind), Leader: n.ID(), Voters: voters, Files: files})
}

type promoteRequest struct {
	ID string `json:"id"`
}

// promote makes the asking member a voter: a member asks for itself only, once it has caught up.
func (s *Service) promote(w http.ResponseWriter, r *http.Request, n *sraft.Node, peer string) {
	var req promoteRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, 4<<10)).Decode(&req); err != nil || req.ID != peer {
		writeJSON(w, http.StatusForbidden, errorAnswer{Error: "a member asks to be promoted for itself only"})
		return
	}
	if !n.IsLeader() {
		writeJSON(w, http.StatusMisdirectedRequest, errorAnswer{Error: "not the leader"})
		return
	}
	err := n.Promote(r.Context(), req.ID)
	if err != nil && !errors.Is(err, sraft.ErrTwoVoters) {
		writeJSON(w, http.StatusServiceUnavailable, errorAnswer{Error: err.Error()})
		return
	}
	s.logger().Info("cluster: a member became a voter", "member", req.ID)
	writeJSON(w, http.StatusOK, errorAnswer{})
}

// syncStatus answers with this box's syncer's status, for a member that does not sync itself.
func (s *Service) syncStatus(w http.ResponseWriter, r *http.Request) {
	if s.SyncStatus == nil {
		writeJSON(w, http.StatusNotFound, errorAnswer{Error: "this box does not sync"})
		return
	}
	st, err := s.SyncStatus(r.Context())
	if err != nil {
		writeJSON(w, http.StatusServiceUnavailable, errorAnswer{Error: err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, st)
}

// LeaderSyncStatus asks the leader for its syncer's status (only the leader syncs), and names the
// leader in it (SyncedBy). It fails on the leader itself and while there is none.
func (s *Service) LeaderSyncStatus(ctx context.Context) (station.SyncStatus, error) {
	n := s.getNode()
	if n == nil {
		return station.SyncStatus{}, errors.New("cluster: the box is starting")
	}
	id, addr := n.Leader()
	if addr == "" || id == n.ID() {
		return station.SyncStatus{}, errors.New("cluster: no other box leads")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+addr+"/cluster/v1/sync-status", nil)
	if err != nil {
		return station.SyncStatus{}, err
	}
	resp, err := s.httpClient().Do(req)
	if err != nil {
		return station.SyncStatus{}, fmt.Errorf("cluster: the leader's sync status: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK {
		return station.SyncStatus{}, fmt.Errorf("cluster: the leader's sync status: %w", answerError(resp.StatusCode, body))
	}
	var st station.SyncStatus
	if err := json.Unmarshal(body, &st); err != nil {
		return station.SyncStatus{}, fmt.Errorf("cluster: the leader's sync status: %w", err)
	}
	st.SyncedBy = id
	return st, nil
}

type addressRequest struct {
	ID   string `json:"id"`
	Addr string `json:"addr"`
}

// readdress records the asking member's new address: a member speaks for itself only.
func (s *Service) readdress(w http.ResponseWriter, r *http.Request, n *sraft.Node, peer string) {
	var req addressRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, 4<<10)).Decode(&req); err != nil || req.ID != peer {
		writeJSON(w, http.StatusForbidden, errorAnswer{Error: "a member gives its own address only"})
		return
	}
	if _, _, err := net.SplitHostPort(req.Addr); err != nil {
		writeJSON(w, http.StatusBadRequest, errorAnswer{Error: "address: " + err.Error()})
		return
	}
	if !n.IsLeader() {
		writeJSON(w, http.StatusMisdirectedRequest, errorAnswer{Error: "not the leader"})
		return
	}
	if err := n.Readdress(r.Context(), req.ID, req.Addr); err != nil {
		status := http.StatusServiceUnavailable
		if errors.Is(err, sraft.ErrNoMember) {
			status = http.StatusNotFound
		}
		writeJSON(w, status, errorAnswer{Error: err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, errorAnswer{})
}

// Announce makes sure the cluster knows this box at addr (a box whose address changed while it was
// off: the others would go on calling the old one). Until its entry says addr it asks every other
// member, every interval, for the leader is among them and the others refuse; a leader changes its
// own entry. It returns once the entry is right, or when ctx ends.
func (s *Service) Announce(ctx context.Context, addr string, interval time.Duration) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if n := s.getNode(); n != nil {
			if done, err := s.announce(ctx, n, addr); done {
				return err
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// announce is one round of Announce; done says the entry is right (or cannot be).
func (s *Service) announce(ctx context.Context, n *sraft.Node, addr string) (done bool, err error) {
	members, err := n.Members()
	if err != nil {
		return false, nil
	}
	var others []string
	for _, m := range members {
		if m.Self && m.Addr == addr {
			return true, nil
		}
		if !m.Self {
			others = append(others, m.Addr)
		}
	}
	if len(others) == len(members) {
		return true, fmt.Errorf("cluster: %s is not a member", n.ID())
	}
	if n.IsLeader() {
		if err := n.Readdress(ctx, n.ID(), addr); err != nil {
			s.logger().Warn("cluster: record this box's address", "err", err)
		}
		return false, nil
	}
	body, _ := json.Marshal(addressRequest{ID: n.ID(), Addr: addr})
	for _, o := range others {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, "https://"+o+"/cluster/v1/address", bytes.NewReader(body))
		if err != nil {
			return true, err
		}
		resp, err := s.httpClient().Do(req)
		if err != nil {
			continue
		}
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
		resp.Body.Close()
		switch resp.StatusCode {
		case http.StatusOK:
			s.logger().Info("cluster: this box's new address recorded", "addr", addr, "by", o)
		case http.StatusMisdirectedRequest:
		default:
			s.logger().Warn("cluster: record this box's address", "at", o, "err", answerError(resp.StatusCode, b))
		}
	}
	return false, nil
}

// submitAnswer is the leader's answer to a forwarded command.
type submitAnswer struct {
	Result    station.Result `json:"result"`
	Index     uint64         `json:"index"`
	Error     *station.Error `json:"error,omitempty"`
	Fault     string         `json:"fault,omitempty"`
	NotLeader bool           `json:"not_leader,omitempty"`
}

func (s *Service) submit(w http.ResponseWriter, r *http.Request, n *sraft.Node) {
	var cmd station.Command
	if err := json.NewDecoder(io.LimitReader(r.Body, 8<<20)).Decode(&cmd); err != nil {
		writeJSON(w, http.StatusBadRequest, errorAnswer{Error: "bad command"})
		return
	}
	res, index, err := n.SubmitHere(r.Context(), cmd)
	ans := submitAnswer{Result: res, Index: index}
	var de *station.Error
	switch {
	case errors.Is(err, hraft.ErrNotLeader):
		ans.NotLeader = true
	case errors.As(err, &de):
		ans.Error = de
	case err != nil:
		ans.Fault = err.Error()
	}
	writeJSON(w, http.StatusOK, ans)
}

var _ sraft.Forwarder = (*Service)(nil)

// Forward submits cmd on the leader at addr (its cluster port).
func (s *Service) Forward(ctx context.Context, leader string, cmd station.Command) (station.Result, uint64, error) {
	body, err := json.Marshal(cmd)
	if err != nil {
		return station.Result{}, 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "https://"+leader+"/cluster/v1/submit", bytes.NewReader(body))
	if err != nil {
		return station.Result{}, 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.httpClient().Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return station.Result{}, 0, &station.Error{Code: station.EUNAVAILABLE, Message: "本站暂时无法确认是否已保存，请稍后查询核对，不要重复办理。", Detail: "forwarded, outcome unknown: " + err.Error()}
		}
		return station.Result{}, 0, fmt.Errorf("%w: %v", sraft.ErrForwardAgain, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil || resp.StatusCode != http.StatusOK {
		return station.Result{}, 0, fmt.Errorf("%w: %s %v", sraft.ErrForwardAgain, resp.Status, err)
	}
	var ans submitAnswer
	if err := json.Unmarshal(b, &ans); err != nil {
		return station.Result{}, 0, fmt.Errorf("forward: the leader's answer: %w", err)
	}
	switch {
	case ans.NotLeader:
		return station.Result{}, 0, fmt.Errorf("%w: %s is no longer the leader", sraft.ErrForwardAgain, leader)
	case ans.Error != nil:
		return ans.Result, ans.Index, ans.Error
	case ans.Fault != "":
		return ans.Result, ans.Index, errors.New(ans.Fault)
	}
	return ans.Result, ans.Index, nil
}

// MemberStatus is one member as the technician's status shows it.
type MemberStatus struct {
	sraft.Member
	Reachable bool            `json:"reachable"`
	Progress  *sraft.Progress `json:"progress,omitempty"`
	// Lag is how many entries the member's store is behind this box's log.
	Lag   uint64 `json:"lag"`
	Error string `json:"error,omitempty"`
}

// Status gathers every member's progress: this box's own, the others' over the cluster port.
func (s *Service) Status(ctx context.Context) ([]MemberStatus, error) {
	n := s.getNode()
	if n == nil {
		return nil, errors.New("the box is starting")
	}
	members, err := n.Members()
	if err != nil {
		return nil, err
	}
	self := n.Progress()
	out := make([]MemberStatus, len(members))
	var wg sync.WaitGroup
	for i, m := range members {
		out[i].Member = m
		if m.Self {
			p := self
			out[i].Reachable, out[i].Progress = true, &p
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			p, err := s.progressOf(ctx, m.Addr)
			if err != nil {
				out[i].Error = err.Error()
				return
			}
			out[i].Reachable, out[i].Progress = true, &p
		}()
	}
	wg.Wait()
	for i := range out {
		if p := out[i].Progress; p != nil && self.LastIndex > p.Applied {
			out[i].Lag = self.LastIndex - p.Applied
		}
	}
	return out, nil
}

func (s *Service) progressOf(ctx context.Context, addr string) (sraft.Progress, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+addr+"/cluster/v1/progress", nil)
	if err != nil {
		return sraft.Progress{}, err
	}
	resp, err := s.httpClient().Do(req)
	if err != nil {
		return sraft.Progress{}, err
	}
	defer resp.Body.Close()
	var ans progressAnswer
	if resp.StatusCode != http.StatusOK {
		return sraft.Progress{}, fmt.Errorf("%s", resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&ans); err != nil {
		return sraft.Progress{}, err
	}
	return ans.Progress, nil
}

// PromoteWhenCaughtUp asks the leader to make this box a voter once its store has applied what the
// leader has committed, checking every interval until it is a voter or ctx ends.
func (s *Service) PromoteWhenCaughtUp(ctx context.Context, interval time.Duration) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
		n := s.getNode()
		if n == nil {
			continue
		}
		members, err := n.Members()
		if err != nil {
			continue
		}
		for _, m := range members {
			if m.Self && m.Voter {
				return nil
			}
		}
		p := n.Progress()
		_, leader := n.Leader()
		if leader == "" || p.CommitIndex == 0 || p.Applied < p.CommitIndex || time.Since(p.LastContact) > 5*time.Second {
			continue
		}
		body, _ := json.Marshal(promoteRequest{ID: n.ID()})
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, "https://"+leader+"/cluster/v1/promote", bytes.NewReader(body))
		if err != nil {
			return err
		}
		resp, err := s.httpClient().Do(req)
		if err != nil {
			s.logger().Warn("cluster: ask to become a voter", "err", err)
			continue
		}
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			s.logger().Warn("cluster: ask to become a voter", "err", answerError(resp.StatusCode, b))
		}
	}
}

// FetchSecrets asks the member at addr for the station's key files (a box that lacks one, such as
// the sync identity of an enrollment made after it joined).
func (s *Service) FetchSecrets(ctx context.Context, addr string) (map[string][]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+addr+"/cluster/v1/secrets", nil)
	if err != nil {
		return nil, err
	}
	resp, err := s.httpClient().Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, answerError(resp.StatusCode, b)
	}
	var ans JoinAnswer
	if err := json.Unmarshal(b, &ans); err != nil {
		return nil, err
	}
	return ans.Files, nil
}
