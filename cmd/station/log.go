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

// openLog starts the box's log node on db.
func openLog(ctx context.Context, dataDir string, db *sqlite.DB, space sraft.SpaceGuard, logger *slog.Logger, timing sraft.Timing) (*sraft.Node, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	n, err := sraft.Open(ctx, sraft.Config{Dir: raftDir(dataDir), ID: nodeID(), Store: db, Space: space, Logger: logger,
		Timing: timing, SoloTiming: sraft.SoloTiming})
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

// startControl opens the control port and writes the control file.
func startControl(dataDir string, log station.Log, logger *slog.Logger) (*controlServer, error) {
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
	mux.HandleFunc("POST /v1/submit", func(w http.ResponseWriter, r *http.Request) { c.submit(w, r, log) })
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

func (c *controlServer) submit(w http.ResponseWriter, r *http.Request, log station.Log) {
	got := []byte(r.Header.Get("Authorization"))
	if subtle.ConstantTimeCompare(got, []byte("Bearer "+c.token)) != 1 {
		http.Error(w, "forbidden", http.StatusForbidden)
		return
	}
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
		n, err := openLog(ctx, dataDir, db, nil, slog.New(slog.DiscardHandler), sraft.DefaultTiming)
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
	return o.node.Submit(ctx, cmd)
}

// shellLogWait is how long a shell tool waits for the log's lock.
const shellLogWait = 10 * time.Second

// submitToRunning submits cmd through the control port of the station running on dataDir. running is
// false when no station runs there (no control file, or nothing listens at its address: a station
// that stopped without removing it).
func submitToRunning(ctx context.Context, dataDir string, cmd station.Command) (res station.Result, running bool, err error) {
	b, err := os.ReadFile(controlFile(dataDir))
	if errors.Is(err, os.ErrNotExist) {
		return res, false, nil
	} else if err != nil {
		return res, true, fmt.Errorf("读取 %s 失败：%w", controlFile(dataDir), err)
	}
	var info controlInfo
	if err := json.Unmarshal(b, &info); err != nil {
		return res, true, fmt.Errorf("%s 内容无效：%w", controlFile(dataDir), err)
	}
	body, err := json.Marshal(cmd)
	if err != nil {
		return res, true, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+info.Addr+"/v1/submit", bytes.NewReader(body))
	if err != nil {
		return res, true, err
	}
	req.Header.Set("Authorization", "Bearer "+info.Token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		var op *net.OpError
		if errors.As(err, &op) && op.Op == "dial" {
			return res, false, nil // a control file left by a station that is gone
		}
		return res, true, fmt.Errorf("提交到运行中的服务站失败：%w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		return res, true, fmt.Errorf("运行中的服务站拒绝了命令：%s %s", resp.Status, bytes.TrimSpace(msg))
	}
	var ans controlAnswer
	if err := json.NewDecoder(resp.Body).Decode(&ans); err != nil {
		return res, true, fmt.Errorf("运行中的服务站的回答无效：%w", err)
	}
	switch {
	case ans.Error != nil:
		return ans.Result, true, ans.Error
	case ans.Fault != "":
		return ans.Result, true, errors.New(ans.Fault)
	}
	return ans.Result, true, nil
}
