package main

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/civic-station/station/internal/atomicfile"
	"github.com/civic-station/station/internal/sessiontoken"
	"github.com/civic-station/station/station"
	sraft "github.com/civic-station/station/station/raft"
	"github.com/civic-station/station/station/sqlite"
)

// The write path: every command goes through the station's raft log (station/raft). A running station
// owns the log; a tool at the box's shell (`station user`, `cert revoke`, `sync retry` …) submits its
// command through the running station's control port, or, when no station runs on the data directory,
// opens the log itself. Either way the command reaches the store through the log, as every other one.

// raftDir is the log's directory in a data directory.
func raftDir(dataDir string) string { return filepath.Join(dataDir, "raft") }

// nodeID is the box's name in the station's cluster: the host name, which a technician recognises.
func nodeID() string {
	if h, err := os.Hostname(); err == nil && h != "" {
		return h
	}
	return "station"
}

// openStore opens the station database for the log: its commits skip the fsync the log has done.
func openStore(ctx context.Context, dataDir string, opts ...sqlite.Option) (*sqlite.DB, error) {
	return sqlite.Open(ctx, filepath.Join(dataDir, "station.db"), append([]sqlite.Option{sqlite.WithLogSynced()}, opts...)...)
}

// openLog starts the box's log node on db, with cfg's transport, timing and callbacks: the box's name
// from DATA/cluster.json (boxName), a lone voter's timing while it has no company.
func openLog(ctx context.Context, dataDir string, db *sqlite.DB, cfg sraft.Config) (*sraft.Node, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if cfg.ID == "" {
		id, err := boxName(dataDir, "")
		if err != nil {
			return nil, err
		}
		cfg.ID = id
	}
	cfg.Dir, cfg.Store, cfg.SoloTiming = raftDir(dataDir), db, sraft.SoloTiming
	n, err := sraft.Open(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("打开命令日志失败：%w", err)
	}
	return n, nil
}

// loggedStore is the store with its Submit going through the log: what the syncer, which reads the
// store and submits its bookkeeping, is given.
type loggedStore struct {
	*sqlite.DB
	log station.Log
}

// Submit submits cmd through the log.
func (s loggedStore) Submit(ctx context.Context, cmd station.Command) (station.Result, error) {
	return s.log.Submit(ctx, cmd)
}

// controlFile is where a running station says how its shell tools reach it: the address of its
// control port on loopback and the token it takes (owner-only, like the data directory).
func controlFile(dataDir string) string { return filepath.Join(dataDir, "control.json") }

type controlInfo struct {
	Addr  string `json:"addr"`
	Token string `json:"token"`
}

// controlServer takes commands from the box's shell tools on a loopback port, for the log.
type controlServer struct {
	srv   *http.Server
	ln    net.Listener
	file  string
	token string
}

// startControl opens the control port and writes the control file. routes adds more of the port's
// routes (the cluster's), each behind the token.
func startControl(dataDir string, log station.Log, logger *slog.Logger, routes func(mux *http.ServeMux, auth func(http.HandlerFunc) http.HandlerFunc)) (*controlServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("control port: %w", err)
	}
	token, err := sessiontoken.New()
	if err != nil {
		ln.Close()
		return nil, err
	}
	c := &controlServer{ln: ln, file: controlFile(dataDir), token: token}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/submit", c.auth(func(w http.ResponseWriter, r *http.Request) { c.submit(w, r, log) }))
	if routes != nil {
		routes(mux, c.auth)
	}
	c.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelDebug)}
	b, _ := json.Marshal(controlInfo{Addr: ln.Addr().String(), Token: token})
	if err := atomicfile.WriteFile(c.file, b, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("control file: %w", err)
	}
	go c.srv.Serve(ln)
	return c, nil
}

// Close stops the control port and removes the control file.
func (c *controlServer) Close() error {
	os.Remove(c.file)
	return c.srv.Close()
}

// controlAnswer is the control port's answer to a submitted command.
type controlAnswer struct {
	Result station.Result `json:"result"`
	Error  *station.Error `json:"error,omitempty"`
	Fault  string         `json:"fault,omitempty"` // an error that is not the domain's
}

// auth lets only a caller with the control file's token through.
func (c *controlServer) auth(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		got := []byte(r.Header.Get("Authorization"))
		if subtle.ConstantTimeCompare(got, []byte("Bearer "+c.token)) != 1 {
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		}
		h(w, r)
	}
}

func (c *controlServer) submit(w http.ResponseWriter, r *http.Request, log station.Log) {
	var cmd station.Command
	if err := json.NewDecoder(io.LimitReader(r.Body, 8<<20)).Decode(&cmd); err != nil {
		http.Error(w, "bad command", http.StatusBadRequest)
		return
	}
	// The shell acts in the console's name only: it cannot put a staff member's name on a change.
	if cmd.Actor.Username != consoleActor.Username {
		http.Error(w, "the shell submits as the console", http.StatusForbidden)
		return
	}
	res, err := log.Submit(r.Context(), cmd)
	ans := controlAnswer{Result: res}
	var de *station.Error
	switch {
	case errors.As(err, &de):
		ans.Error = de
	case err != nil:
		ans.Fault = err.Error()
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(ans)
}

// submitFromShell submits cmd to the station in dataDir: through the running station's control port,
// or, when none runs there, through a log node the tool opens on the data directory for the one
// command.
func submitFromShell(ctx context.Context, dataDir string, cmd station.Command) (station.Result, error) {
	res, running, err := submitToRunning(ctx, dataDir, cmd)
	if running {
		return res, err
	}
	db, err := openStore(ctx, dataDir)
	if err != nil {
		return station.Result{}, err
	}
	defer db.Close()
	// A station that runs without its control file (it could not write it) holds the log's lock, and
	// opening the log would wait for it for ever: give up after a while and say so.
	type opened struct {
		node *sraft.Node
		err  error
	}
	ch := make(chan opened, 1)
	go func() {
		n, err := openLog(ctx, dataDir, db, sraft.Config{Logger: slog.New(slog.DiscardHandler)})
		ch <- opened{n, err}
	}()
	var o opened
	select {
	case o = <-ch:
	case <-time.After(shellLogWait):
		return station.Result{}, fmt.Errorf("命令日志被占用：服务站似乎正在运行，但没有留下联系方式（%s）。请检查磁盘空间后重启服务站再试。", controlFile(dataDir))
	}
	if o.err != nil {
		return station.Result{}, o.err
	}
	defer o.node.Close()
	if members, err := o.node.Members(); err == nil && len(members) > 1 {
		return station.Result{}, errors.New("本机属于多台设备组成的集群：请先启动服务站（station service start）再执行，命令会经运行中的服务站提交")
	}
	return o.node.Submit(ctx, cmd)
}

// shellLogWait is how long a shell tool waits for the log's lock.
const shellLogWait = 10 * time.Second

// readControl reads the control file of the station running on dataDir; ok is false when there is
// none.
func readControl(dataDir string) (info controlInfo, ok bool, err error) {
	b, err := os.ReadFile(controlFile(dataDir))
	if errors.Is(err, os.ErrNotExist) {
		return info, false, nil
	} else if err != nil {
		return info, true, fmt.Errorf("读取 %s 失败：%w", controlFile(dataDir), err)
	}
	if err := json.Unmarshal(b, &info); err != nil {
		return info, true, fmt.Errorf("%s 内容无效：%w", controlFile(dataDir), err)
	}
	return info, true, nil
}

// callControl calls the control port at info with in as the JSON body (nil: none) and decodes the
// answer into out. running is false when nothing listens there (a station that is gone).
func callControl(ctx context.Context, info controlInfo, method, path string, in, out any) (running bool, err error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return true, err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://"+info.Addr+path, body)
	if err != nil {
		return true, err
	}
	req.Header.Set("Authorization", "Bearer "+info.Token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		var op *net.OpError
		if errors.As(err, &op) && op.Op == "dial" {
			return false, nil // a control file left by a station that is gone
		}
		return true, fmt.Errorf("连接运行中的服务站失败：%w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		return true, fmt.Errorf("运行中的服务站拒绝了请求：%s %s", resp.Status, bytes.TrimSpace(msg))
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return true, fmt.Errorf("运行中的服务站的回答无效：%w", err)
	}
	return true, nil
}

// submitToRunning submits cmd through the control port of the station running on dataDir. running is
// false when no station runs there (no control file, or nothing listens at its address: a station
// that stopped without removing it).
func submitToRunning(ctx context.Context, dataDir string, cmd station.Command) (res station.Result, running bool, err error) {
	info, ok, err := readControl(dataDir)
	if !ok || err != nil {
		return res, ok, err
	}
	var ans controlAnswer
	if running, err := callControl(ctx, info, http.MethodPost, "/v1/submit", cmd, &ans); !running || err != nil {
		return res, running, err
	}
	switch {
	case ans.Error != nil:
		return ans.Result, true, ans.Error
	case ans.Fault != "":
		return ans.Result, true, errors.New(ans.Fault)
	}
	return ans.Result, true, nil
}
