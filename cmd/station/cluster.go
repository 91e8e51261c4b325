package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/civic-station/station/internal/atomicfile"
	"github.com/civic-station/station/station"
	"github.com/civic-station/station/station/cluster"
	shttp "github.com/civic-station/station/station/http"
	"github.com/civic-station/station/station/lantls"
	sraft "github.com/civic-station/station/station/raft"
	"github.com/civic-station/station/syncer"
)

// The station's cluster in the running station: the cluster port (station/cluster) that carries the
// log between boxes, the box's name and role in DATA/cluster.json, the station's key files a joining
// box receives, and the syncer, which runs on the leader only.

// defaultClusterListen is the cluster port's default in `station run` (the demo's is loopback).
var defaultClusterListen = fmt.Sprintf(":%d", cluster.DefaultPort)

const demoClusterListen = "127.0.0.1:0"

// registerClusterFlags adds the cluster flags of `station run`.
func (m *Main) registerClusterFlags(fs *flag.FlagSet) {
	m.ClusterListen = defaultClusterListen
	fs.Var(checkedString{&m.ClusterListen, checkClusterListen}, "cluster-listen", "集群端口 HOST:PORT：本站的其他设备（柜台、自助终端）经它同步数据（双向 TLS 认证；演示模式默认 127.0.0.1:0），空字符串为不启用")
	fs.Var(checkedString{&m.ClusterAdvertise, checkClusterAdvertise}, "cluster-advertise", "其他设备连接本机集群端口所用的地址 HOST:PORT（默认本机第一个局域网地址）")
	fs.Var(checkedString{&m.ClusterName, checkClusterName}, "cluster-name", "本机在集群中的名称（默认主机名；首次启动后记录在数据目录 cluster.json，之后不变）")
	m.ClusterReap = cluster.ReapPolicy{NonvoterAfter: 7 * 24 * time.Hour}
	fs.DurationVar(&m.ClusterReap.NonvoterAfter, "cluster-reap-nonvoter-after", m.ClusterReap.NonvoterAfter, "非投票成员（自助终端）联系不上多久后由主机移出集群，如 168h；0 为不移出")
	fs.DurationVar(&m.ClusterReap.VoterAfter, "cluster-reap-voter-after", 0, "投票成员联系不上多久后由主机移出集群；0（默认）为不自动移出，由技术员决定（station cluster remove）")
}

func checkClusterListen(v string) error {
	if v == "" {
		return nil
	}
	if _, _, err := net.SplitHostPort(v); err != nil {
		return errors.New("应为 主机:端口，如 :8444 或 192.168.1.10:8444；空字符串为不启用集群端口")
	}
	return nil
}

func checkClusterAdvertise(v string) error {
	if v == "" {
		return nil
	}
	host, port, err := net.SplitHostPort(v)
	if err != nil || host == "" || port == "0" {
		return errors.New("应为其他设备能连到的 主机:端口，如 192.168.1.10:8444")
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		return errors.New("应为其他设备能连到的地址，不能是 0.0.0.0 或 ::")
	}
	return nil
}

func checkClusterName(v string) error {
	if v != "" && !clusterName(v) {
		return errors.New("只能用字母、数字、点、横线和下划线，最长 63 个字符，如 counter-2")
	}
	return nil
}

// clusterName reports whether v may name a box.
func clusterName(v string) bool {
	if len(v) == 0 || len(v) > 63 {
		return false
	}
	for i, r := range v {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || i > 0 && strings.ContainsRune("._-", r)
		if !ok {
			return false
		}
	}
	return true
}

// clusterFile is where a box keeps its name in the cluster and what it joined as.
func clusterFile(dataDir string) string { return filepath.Join(dataDir, "cluster.json") }

// clusterState is DATA/cluster.json.
type clusterState struct {
	ID string `json:"id"`
	// Joined: the box joined another box's cluster (`station cluster join`) and waits for its leader
	// rather than starting a cluster of its own; Voter: it asked to be a voter, which it becomes once
	// it has caught up.
	Joined bool   `json:"joined,omitempty"`
	Voter  bool   `json:"voter,omitempty"`
	Leader string `json:"leader,omitempty"` // the cluster port it joined through
}

func loadClusterState(dataDir string) (clusterState, error) {
	var st clusterState
	b, err := os.ReadFile(clusterFile(dataDir))
	if errors.Is(err, fs.ErrNotExist) {
		return st, nil
	} else if err != nil {
		return st, err
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, fmt.Errorf("%s: %w", clusterFile(dataDir), err)
	}
	return st, nil
}

func saveClusterState(dataDir string, st clusterState) error {
	b, _ := json.MarshalIndent(st, "", "  ")
	return atomicfile.WriteFile(clusterFile(dataDir), append(b, '\n'), 0o600)
}

// boxName is the box's name in the cluster: the one recorded in cluster.json, else name (the flag),
// else the host name; recorded on first use, so that a changed host name does not make the box a
// stranger to its own log.
func boxName(dataDir, name string) (string, error) {
	st, err := loadClusterState(dataDir)
	if err != nil {
		return "", err
	}
	if st.ID != "" {
		return st.ID, nil
	}
	if st.ID = name; st.ID == "" {
		st.ID = nodeID()
	}
	if !clusterName(st.ID) {
		return "", fmt.Errorf("本机名称 %q 不能用作集群中的名称：请用 cluster-name 配置一个（字母、数字、点、横线、下划线）", st.ID)
	}
	if err := saveClusterState(dataDir, st); err != nil {
		return "", err
	}
	return st.ID, nil
}

// secretFiles are the station's key files a joining box receives, by their path in the data
// directory: the data key (the store's sealed fields), the certificate signing key, the sync
// identity (when enrolled), and the station CA (HTTPS and the members' certificates). The box's own
// HTTPS and member certificates are not among them: each box issues its own.
func secretFiles(dataDir string) (map[string][]byte, error) {
	names := []string{"datakey", certKeyFile, certStationFile, filepath.Join("tls", lantls.CACertFile), filepath.Join("tls", lantls.CAKeyFile)}
	if ents, err := os.ReadDir(filepath.Join(dataDir, "sync")); err == nil {
		for _, e := range ents {
			if e.Type().IsRegular() && !strings.HasSuffix(e.Name(), ".tmp") && e.Name() != filepath.Base(syncStatusFile(dataDir)) {
				names = append(names, filepath.Join("sync", e.Name()))
			}
		}
	}
	files := map[string][]byte{}
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join(dataDir, n))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		} else if err != nil {
			return nil, err
		}
		files[filepath.ToSlash(n)] = b
	}
	return files, nil
}

// writeSecretFiles writes the station's key files a box received into dataDir (owner-only), each
// atomically; existing files are replaced only when replace is set.
func writeSecretFiles(dataDir string, files map[string][]byte, replace bool) (int, error) {
	written := 0
	for name, data := range files {
		clean := filepath.Clean(filepath.FromSlash(name))
		if filepath.IsAbs(clean) || strings.HasPrefix(clean, "..") {
			return written, fmt.Errorf("key file %q: not inside the data directory", name)
		}
		path := filepath.Join(dataDir, clean)
		if _, err := os.Stat(path); err == nil && !replace {
			continue
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return written, err
		}
		if err := atomicfile.WriteFile(path, data, 0o600); err != nil {
			return written, err
		}
		written++
	}
	return written, nil
}

// startCluster opens the cluster port on the listener Run bound: the member certificate (and the
// station CA when there is none yet), the service that answers the other boxes. The log node comes
// next, on the port's transport.
func (m *Main) startCluster() error {
	if m.clusterLn == nil {
		return nil
	}
	opts := m.tlsOptions(false)
	creds, err := lantls.EnsureMember(opts, m.boxID)
	if err != nil {
		return fmt.Errorf("集群证书无法载入或签发 / cluster certificate: %w", err)
	}
	advertise := m.ClusterAdvertise
	if advertise == "" {
		_, port, _ := net.SplitHostPort(m.clusterLn.Addr().String())
		host, _, _ := net.SplitHostPort(m.ClusterListen)
		if advertise, err = cluster.AdvertiseAddr(net.JoinHostPort(host, port)); err != nil {
			return err
		}
	}
	m.Cluster = &cluster.Service{Creds: creds, Codes: &cluster.Codes{Now: m.Now},
		Secrets: func() (map[string][]byte, error) { return secretFiles(m.DataDir) },
		Logger:  m.Logger.With("component", "cluster")}
	m.clusterPort = cluster.Listen(m.clusterLn, advertise, creds, m.Cluster, m.Logger.With("component", "cluster"))
	m.clusterLn = nil // the port owns it now
	return nil
}

// logConfig is the log node's configuration for this box.
func (m *Main) logConfig() (sraft.Config, error) {
	st, err := loadClusterState(m.DataDir)
	if err != nil {
		return sraft.Config{}, err
	}
	cfg := sraft.Config{Join: st.Joined, OnLeadership: m.leadershipChanged}
	if m.clusterPort != nil {
		cfg.Addr = m.clusterPort.Advertise()
		cfg.Transport = m.clusterPort.Transport(m.Logger.With("component", "log"))
		cfg.Forwarder = m.Cluster
	}
	return cfg, nil
}

// reapInterval is how often the leader looks for members gone too long.
const reapInterval = time.Minute

// afterLogOpen hands the node and the blob store to the cluster service, and has a box that joined as a voter ask for
// its vote once it has caught up.
func (m *Main) afterLogOpen(ctx context.Context) {
	if m.Cluster == nil {
		return
	}
	// Blobs on a quorum of voters, fetched from the others when missing; set before SetNode, which
	// lets the other boxes' requests in.
	m.Cluster.Blobs = m.Blobs
	m.Blobs.SetPeers(m.Cluster)
	m.Cluster.SetNode(m.Log)
	m.bg.Add(1)
	go func() {
		defer m.bg.Done()
		m.Cluster.Reap(ctx, reapInterval, m.ClusterReap, m.Now)
	}()
	// A box whose address changed while it was off (DHCP) has the leader record the new one.
	m.bg.Add(1)
	go func() {
		defer m.bg.Done()
		m.Cluster.Announce(ctx, m.clusterPort.Advertise(), 2*time.Second)
	}()
	st, err := loadClusterState(m.DataDir)
	if err != nil || !st.Voter {
		return
	}
	m.bg.Add(1)
	go func() {
		defer m.bg.Done()
		if err := m.Cluster.PromoteWhenCaughtUp(ctx, time.Second); err == nil {
			m.Logger.Info("this box is a voter of the station's cluster")
		}
	}()
}

// leadershipChanged runs the syncer on the leader only: the outbox is replicated, so a new leader
// carries on where the old one stopped (the hub takes every record once, by its ID).
func (m *Main) leadershipChanged(leading bool) {
	m.syncMu.Lock()
	defer m.syncMu.Unlock()
	if m.closing || m.syncCtx == nil {
		return
	}
	switch {
	case leading && m.stopSync == nil:
		m.fetchMissingSecrets(m.syncCtx)
		stop, err := startSyncer(m.syncCtx, m.DataDir, m.store(), m.Blobs, m.Logger, m.Now, m.syncOptions()...)
		if err != nil {
			m.Logger.Error("start the syncer on the new leader", "err", err)
			return
		}
		m.stopSync = stop
		m.Logger.Info("this box leads the station's cluster: it syncs with the data center")
	case !leading && m.stopSync != nil:
		m.stopSync()
		m.stopSync = nil
		m.Logger.Info("this box no longer leads: the syncer stops here")
	}
}

// fetchMissingSecrets gets the sync identity from another member when this box lacks it: the station
// enrolled after the box joined.
func (m *Main) fetchMissingSecrets(ctx context.Context) {
	if m.Cluster == nil {
		return
	}
	if _, err := syncer.LoadIdentity(m.DataDir); !errors.Is(err, syncer.ErrNotEnrolled) {
		return
	}
	members, err := m.Log.Members()
	if err != nil {
		return
	}
	for _, mb := range members {
		if mb.Self {
			continue
		}
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		files, err := m.Cluster.FetchSecrets(ctx, mb.Addr)
		cancel()
		if err != nil {
			continue
		}
		if _, ok := files["sync/identity.json"]; !ok {
			continue
		}
		if n, err := writeSecretFiles(m.DataDir, files, false); err == nil && n > 0 {
			m.Logger.Info("the station's sync identity copied from another box", "from", mb.ID, "files", n)
			return
		}
	}
}

// clusterPage is the cluster as the setup page shows it (shttp.Cluster).
type clusterPage struct{ m *Main }

var _ shttp.Cluster = clusterPage{}

// ClusterStatus returns the members with their progress.
func (p clusterPage) ClusterStatus(ctx context.Context) (shttp.ClusterView, error) {
	st := p.m.clusterStatus(ctx)
	if st.Error != "" {
		return shttp.ClusterView{}, station.Errorf(station.EUNAVAILABLE, "读取集群状态失败：%s", st.Error)
	}
	v := shttp.ClusterView{Enabled: p.m.Cluster != nil, Self: st.Self, Leader: st.Leader, Warning: st.Warning, Members: []shttp.ClusterMember{}}
	for _, mb := range st.Members {
		cm := shttp.ClusterMember{ID: mb.ID, Addr: mb.Addr, Voter: mb.Voter, Leader: mb.Leader, Self: mb.Self,
			Reachable: mb.Reachable, Lag: mb.Lag, Error: mb.Error}
		if pr := mb.Progress; pr != nil {
			cm.Applied = pr.Applied
			if !pr.LastContact.IsZero() && !mb.Leader {
				lc := pr.LastContact
				cm.LastContact = &lc
			}
		}
		v.Members = append(v.Members, cm)
	}
	return v, nil
}

// NewJoinCode makes a join code on the leader.
func (p clusterPage) NewJoinCode(context.Context) (shttp.JoinCodeView, error) {
	ans, err := p.m.newJoinCode()
	if err != nil {
		return shttp.JoinCodeView{}, err
	}
	return shttp.JoinCodeView{Code: ans.Code, Expires: ans.Expires, Addr: ans.Addr,
		Command: fmt.Sprintf("station cluster join %s %s", ans.Addr, ans.Code)}, nil
}

// staleAfter is how long a follower goes without a word from the leader before its screens say that
// what they show may be behind.
const staleAfter = 10 * time.Second

// Stale says when what this box shows may be behind the station's.
func (p clusterPage) Stale() string {
	n := p.m.Log
	if n == nil || n.IsLeader() {
		return ""
	}
	if id, _ := n.Leader(); id == "" {
		return "本机联系不上主机：显示的数据可能不是最新的，新业务暂时无法保存。"
	}
	pr := n.Progress()
	if since := time.Since(pr.LastContact); !pr.LastContact.IsZero() && since > staleAfter {
		return fmt.Sprintf("本机已 %d 秒未与主机同步：显示的数据可能不是最新的。", int(since.Seconds()))
	}
	return ""
}
