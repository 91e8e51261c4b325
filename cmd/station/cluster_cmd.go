package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/civic-station/station/station"
	"github.com/civic-station/station/station/cluster"
	"github.com/civic-station/station/station/lantls"
	sraft "github.com/civic-station/station/station/raft"
)

// `station cluster …`: the technician's tools for the boxes of one station. Every one but join talks
// to the station running on the box through its control port; join runs on a new box whose station
// is stopped.

const clusterUsage = `用法：
  station cluster status [--json]                    集群成员、角色、主机、落后条数、最近联系时间
  station cluster join-code                          （在主机上）生成一次性加入码，30 分钟内有效
  station cluster join 主机地址 加入码 [--nonvoter]    （在新设备上，服务站停止时）加入本站集群
  station cluster promote 名称                       把成员设为投票成员
  station cluster demote 名称                        把成员设为非投票成员（晚上关机的自助终端）
  station cluster remove 名称                        把设备移出集群
  station cluster recover --keep 名称[,名称]          （服务站停止时）投票成员过半永久损坏后，只保留存活的设备（见 docs/cluster.md）
以上命令都接受 --config FILE 和 --data DIR。
投票成员应为 1 台或 3 台：2 台时任何一台停机，全站都无法保存。
`

func clusterCommand(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || isHelp(args) {
		fmt.Fprint(stdout, clusterUsage)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	m := NewMain()
	fset := runFlags(m, stderr)
	apply := configFlag(fset, os.LookupEnv)
	asJSON := fset.Bool("json", false, "以 JSON 输出（status）")
	nonvoter := fset.Bool("nonvoter", false, "以非投票成员加入（晚上关机的自助终端）")
	keep := fset.String("keep", "", "recover：保留的设备名称，逗号分隔（须包括本机）")
	sub, rest := args[0], args[1:]
	// Flags may come before or after the positional arguments.
	var pos []string
	for len(rest) > 0 {
		if err := fset.Parse(rest); err != nil {
			return flagExit(err)
		}
		rest = fset.Args()
		if len(rest) > 0 {
			pos = append(pos, rest[0])
			rest = rest[1:]
		}
	}
	if path, _, err := apply(); err != nil {
		fmt.Fprintf(stderr, "配置错误（%s）：\n%v\n", path, err)
		return 2
	}
	var err error
	switch sub {
	case "status":
		err = clusterStatus(ctx, m.DataDir, *asJSON, stdout)
	case "join-code":
		err = clusterJoinCode(ctx, m.DataDir, stdout)
	case "join":
		if len(pos) != 2 {
			fmt.Fprint(stderr, clusterUsage)
			return 2
		}
		err = clusterJoin(ctx, m, pos[0], pos[1], !*nonvoter, stdout)
	case "recover":
		err = clusterRecover(ctx, m.DataDir, *keep, stdout)
	case "promote", "demote", "remove":
		if len(pos) != 1 {
			fmt.Fprint(stderr, clusterUsage)
			return 2
		}
		err = clusterChange(ctx, m.DataDir, sub, pos[0], stdout)
	default:
		fmt.Fprintf(stderr, "未知的子命令 %q\n\n%s", sub, clusterUsage)
		return 2
	}
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	return 0
}

// runningControl is the control port of the station running on dataDir, or an error saying it runs
// not.
func runningControl(dataDir string) (controlInfo, error) {
	info, ok, err := readControl(dataDir)
	if err != nil {
		return info, err
	}
	if !ok {
		return info, fmt.Errorf("数据目录 %s 上没有运行中的服务站：先启动它（station service start）", dataDir)
	}
	return info, nil
}

func callRunning(ctx context.Context, dataDir, method, path string, in, out any) error {
	info, err := runningControl(dataDir)
	if err != nil {
		return err
	}
	running, err := callControl(ctx, info, method, path, in, out)
	if !running {
		return fmt.Errorf("数据目录 %s 上的服务站已停止：先启动它（station service start）", dataDir)
	}
	return err
}

// clusterStatusAnswer is the control port's answer to the status.
type clusterStatusAnswer struct {
	Self    string                 `json:"self"`
	Leader  string                 `json:"leader"`
	Members []cluster.MemberStatus `json:"members"`
	Warning string                 `json:"warning,omitempty"`
	Error   string                 `json:"error,omitempty"`
}

func clusterStatus(ctx context.Context, dataDir string, asJSON bool, w io.Writer) error {
	var st clusterStatusAnswer
	if err := callRunning(ctx, dataDir, http.MethodGet, "/v1/cluster/status", nil, &st); err != nil {
		return err
	}
	if st.Error != "" {
		return errors.New(st.Error)
	}
	if asJSON {
		writeJSON(w, st)
		return nil
	}
	leader := st.Leader
	if leader == "" {
		leader = "（无：集群无法保存，检查投票成员是否过半在线）"
	}
	fmt.Fprintf(w, "本机 %s；主机 %s；成员 %d 台\n", st.Self, leader, len(st.Members))
	for _, mb := range st.Members {
		role := "非投票"
		if mb.Voter {
			role = "投票"
		}
		if mb.Leader {
			role += "·主机"
		}
		line := fmt.Sprintf("  %-16s %-21s %-8s", mb.ID, mb.Addr, role)
		switch {
		case !mb.Reachable:
			line += "  ✗ 联系不上：" + mb.Error
		case mb.Progress != nil:
			line += fmt.Sprintf("  已应用 %d，落后 %d 条", mb.Progress.Applied, mb.Lag)
			if !mb.Progress.LastContact.IsZero() && !mb.Leader {
				line += fmt.Sprintf("，%s 前联系过主机", time.Since(mb.Progress.LastContact).Round(time.Millisecond))
			}
		}
		fmt.Fprintln(w, line)
	}
	if st.Warning != "" {
		fmt.Fprintln(w, "! "+st.Warning)
	}
	return nil
}

// voterWarning is the status's warning for a cluster's voter count.
func voterWarning(members []cluster.MemberStatus) string {
	v := 0
	for _, mb := range members {
		if mb.Voter {
			v++
		}
	}
	if v == 2 {
		return twoVotersWarning
	}
	return ""
}

const twoVotersWarning = "只有 2 台投票成员：任何一台停机，全站都无法保存（比 1 台更脆弱）。请再加入一台投票成员，或把其中一台设为非投票成员（station cluster demote）。"

type joinCodeAnswer struct {
	Code    string    `json:"code"`
	Expires time.Time `json:"expires"`
	Addr    string    `json:"addr"`
}

func clusterJoinCode(ctx context.Context, dataDir string, w io.Writer) error {
	var ans joinCodeAnswer
	if err := callRunning(ctx, dataDir, http.MethodPost, "/v1/cluster/join-code", nil, &ans); err != nil {
		return err
	}
	fmt.Fprintf(w, "加入码 %s（%s 前有效，只能用一次）\n在新设备上（服务站停止时）执行：\n  station cluster join %s %s\n", ans.Code,
		ans.Expires.In(station.ChinaTime).Format("15:04"), ans.Addr, ans.Code)
	return nil
}

type memberChange struct {
	ID string `json:"id"`
}

type memberChangeAnswer struct {
	Warning string `json:"warning,omitempty"`
}

func clusterChange(ctx context.Context, dataDir, op, id string, w io.Writer) error {
	var ans memberChangeAnswer
	if err := callRunning(ctx, dataDir, http.MethodPost, "/v1/cluster/"+op, memberChange{ID: id}, &ans); err != nil {
		return err
	}
	done := map[string]string{"promote": "已设为投票成员", "demote": "已设为非投票成员", "remove": "已移出集群"}[op]
	fmt.Fprintf(w, "%s %s\n", id, done)
	if ans.Warning != "" {
		fmt.Fprintln(w, "! "+ans.Warning)
	}
	return nil
}

// clusterJoin is `station cluster join ADDR CODE` on a new box: the box's data directory must hold no
// station of its own yet (no accounts, no applications: a box just installed, or one whose first-run
// setup never ran); what it has is replaced by the cluster's.
func clusterJoin(ctx context.Context, m *Main, addr, code string, voter bool, w io.Writer) error {
	if _, err := cluster.NormalizeCode(code); err != nil {
		return err
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		addr = net.JoinHostPort(addr, strconv.Itoa(cluster.DefaultPort))
	}
	if m.ClusterListen == "" {
		return errors.New("集群端口未启用（cluster-listen 为空）：在配置文件中设置 cluster-listen，例如 \":8444\"")
	}
	if _, running, _ := submitToRunningProbe(ctx, m.DataDir); running {
		return errors.New("本机的服务站正在运行：先停止它（station service stop），再加入集群")
	}
	if err := os.MkdirAll(m.DataDir, 0o700); err != nil {
		return err
	}
	if err := checkEmptyStation(ctx, m.DataDir); err != nil {
		return err
	}
	id, err := boxName(m.DataDir, m.ClusterName)
	if err != nil {
		return err
	}
	advertise := m.ClusterAdvertise
	if advertise == "" {
		if advertise, err = cluster.AdvertiseAddr(m.ClusterListen); err != nil {
			return err
		}
	}
	jctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	ans, err := cluster.Join(jctx, addr, code, cluster.JoinRequest{ID: id, Addr: advertise, Voter: voter})
	if err != nil {
		return fmt.Errorf("加入失败：%w", err)
	}
	// The station's store and log come from the cluster (a snapshot); the box's own certificates
	// are issued again by the station's CA.
	for _, p := range []string{"station.db", "station.db-wal", "station.db-shm", "raft",
		filepath.Join("tls", lantls.ServerCertFile), filepath.Join("tls", lantls.ServerKeyFile),
		filepath.Join("tls", lantls.MemberCertFile), filepath.Join("tls", lantls.MemberKeyFile)} {
		if err := os.RemoveAll(filepath.Join(m.DataDir, p)); err != nil {
			return err
		}
	}
	if _, err := writeSecretFiles(m.DataDir, ans.Files, true); err != nil {
		return fmt.Errorf("写入本站密钥失败：%w", err)
	}
	if err := saveClusterState(m.DataDir, clusterState{ID: id, Joined: true, Voter: voter, Leader: addr}); err != nil {
		return err
	}
	role := "非投票成员"
	if voter {
		role = "投票成员（追上主机的数据后自动成为）"
	}
	fmt.Fprintf(w, "已加入主机 %s 的集群，本机名称 %s，%s。\n现在启动服务站：station service start（或 station run）。它会从主机取得全部数据。\n", ans.Leader, id, role)
	if voter && ans.Voters == 1 {
		fmt.Fprintln(w, "! "+twoVotersWarning)
	}
	return nil
}

// clusterRecover is `station cluster recover --keep …` on a stopped box whose cluster lost its quorum
// for good.
func clusterRecover(ctx context.Context, dataDir, keep string, w io.Writer) error {
	var ids []string
	for _, id := range strings.Split(keep, ",") {
		if id = strings.TrimSpace(id); id != "" {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return errors.New("用 --keep 列出存活、要保留的设备名称（station cluster status 的名称），须包括本机")
	}
	if _, running, _ := submitToRunningProbe(ctx, dataDir); running {
		return errors.New("本机的服务站正在运行：先停止它（station service stop），再恢复")
	}
	id, err := boxName(dataDir, "")
	if err != nil {
		return err
	}
	db, err := openStore(ctx, dataDir)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := sraft.Recover(ctx, sraft.Config{Dir: raftDir(dataDir), ID: id, Store: db}, ids); err != nil {
		return fmt.Errorf("恢复失败：%w", err)
	}
	fmt.Fprintf(w, "本机 %s 的集群成员已改为：%s。在每台保留的设备上执行同样的命令，然后启动服务站。\n", id, strings.Join(ids, "、"))
	return nil
}

// submitToRunningProbe reports whether a station runs on dataDir (its control port answers).
func submitToRunningProbe(ctx context.Context, dataDir string) (controlInfo, bool, error) {
	info, ok, err := readControl(dataDir)
	if !ok || err != nil {
		return info, ok, err
	}
	var st clusterStatusAnswer
	running, err := callControl(ctx, info, http.MethodGet, "/v1/cluster/status", nil, &st)
	return info, running, err
}

// checkEmptyStation refuses a data directory whose station has accounts or applications: joining
// would replace them.
func checkEmptyStation(ctx context.Context, dataDir string) error {
	if st, err := loadClusterState(dataDir); err == nil && st.Joined {
		return fmt.Errorf("本机已加入过集群（%s）。要重新加入，先在主机上 station cluster remove %s，再清空数据目录 %s", clusterFile(dataDir), st.ID, dataDir)
	}
	if _, err := os.Stat(filepath.Join(dataDir, "station.db")); err != nil {
		return nil
	}
	db, err := openStore(ctx, dataDir)
	if err != nil {
		return err
	}
	defer db.Close()
	users, err := db.Users(ctx)
	if err != nil {
		return err
	}
	if len(users) > 0 {
		return fmt.Errorf("数据目录 %s 里已有一个设置好的服务站（%d 个账号）：加入集群会替换它的数据。请换一个空的数据目录（--data），或先备份后清空", dataDir, len(users))
	}
	return nil
}

// clusterRoutes are the control port's cluster routes.
func (m *Main) clusterRoutes(mux *http.ServeMux, auth func(http.HandlerFunc) http.HandlerFunc) {
	mux.HandleFunc("GET /v1/cluster/status", auth(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, m.clusterStatus(r.Context()))
	}))
	mux.HandleFunc("POST /v1/cluster/join-code", auth(func(w http.ResponseWriter, r *http.Request) {
		ans, err := m.newJoinCode()
		if err != nil {
			http.Error(w, err.Error(), http.StatusConflict)
			return
		}
		writeJSON(w, ans)
	}))
	for _, op := range []string{"promote", "demote", "remove"} {
		mux.HandleFunc("POST /v1/cluster/"+op, auth(func(w http.ResponseWriter, r *http.Request) {
			var req memberChange
			if err := json.NewDecoder(io.LimitReader(r.Body, 4<<10)).Decode(&req); err != nil || req.ID == "" {
				http.Error(w, "bad request", http.StatusBadRequest)
				return
			}
			if !m.Log.IsLeader() {
				leader, _ := m.Log.Leader()
				http.Error(w, fmt.Sprintf("本机不是主机：请在主机 %s 上执行", leader), http.StatusConflict)
				return
			}
			var err error
			switch op {
			case "promote":
				err = m.Log.Promote(r.Context(), req.ID)
			case "demote":
				err = m.Log.Demote(r.Context(), req.ID)
			case "remove":
				err = m.Log.Remove(r.Context(), req.ID)
			}
			var ans memberChangeAnswer
			switch {
			case errors.Is(err, sraft.ErrTwoVoters):
				ans.Warning = twoVotersWarning
			case errors.Is(err, sraft.ErrNoMember):
				http.Error(w, fmt.Sprintf("集群里没有名为 %s 的设备（station cluster status 查看）", req.ID), http.StatusNotFound)
				return
			case err != nil:
				http.Error(w, err.Error(), http.StatusConflict)
				return
			}
			m.Logger.Info("cluster: membership changed", "op", op, "member", req.ID)
			writeJSON(w, ans)
		}))
	}
}

// clusterStatus is the cluster as this box sees it, with every member's progress.
func (m *Main) clusterStatus(ctx context.Context) clusterStatusAnswer {
	ans := clusterStatusAnswer{Self: m.Log.ID()}
	ans.Leader, _ = m.Log.Leader()
	var err error
	if m.Cluster != nil {
		ans.Members, err = m.Cluster.Status(ctx)
	} else {
		ans.Members, err = localStatus(m.Log)
	}
	if err != nil {
		ans.Error = err.Error()
	}
	ans.Warning = voterWarning(ans.Members)
	return ans
}

// newJoinCode makes a join code on the leader.
func (m *Main) newJoinCode() (joinCodeAnswer, error) {
	if m.Cluster == nil {
		return joinCodeAnswer{}, station.Errorf(station.ECONFLICT, "本机未启用集群端口（配置项 cluster-listen）")
	}
	if !m.Log.IsLeader() {
		leader, addr := m.Log.Leader()
		return joinCodeAnswer{}, station.Errorf(station.ECONFLICT, "本机不是主机：请在主机 %s（%s）上生成加入码", leader, addr)
	}
	code, expires, err := m.Cluster.Codes.New()
	if err != nil {
		return joinCodeAnswer{}, err
	}
	m.Logger.Info("cluster: a join code was made", "expires", expires)
	return joinCodeAnswer{Code: code, Expires: expires, Addr: m.clusterPort.Advertise()}, nil
}

// localStatus is the status of a box without a cluster port: itself alone.
func localStatus(n *sraft.Node) ([]cluster.MemberStatus, error) {
	members, err := n.Members()
	if err != nil {
		return nil, err
	}
	p := n.Progress()
	out := make([]cluster.MemberStatus, len(members))
	for i, mb := range members {
		out[i].Member = mb
		if mb.Self {
			out[i].Reachable, out[i].Progress = true, &p
		} else {
			out[i].Error = "集群端口未启用"
		}
	}
	return out, nil
}
