package cluster_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/civic-station/station/station"
	"github.com/civic-station/station/station/blob"
	"github.com/civic-station/station/station/cluster"
	"github.com/civic-station/station/station/lantls"
	sraft "github.com/civic-station/station/station/raft"
	"github.com/civic-station/station/station/sqlite"
)

// testTiming is a LAN's failure detection, scaled down for tests.
var testTiming = sraft.Timing{Heartbeat: 100 * time.Millisecond, Election: 100 * time.Millisecond, LeaderLease: 50 * time.Millisecond}

var system = station.Actor{Username: "system", Role: station.RoleSystem}

var cmdSeq atomic.Int64

// matterCmd imports one matter, named by n: the test's unit of a write that every box must have.
func matterCmd(t testing.TB, n int) station.Command {
	t.Helper()
	m := station.Matter{Code: fmt.Sprintf("T-%04d", n), Name: "测试事项", Department: "区民政局", Category: "社会救助",
		Kind: station.KindCommitment, TimeLimitDays: 20, Location: "一号窗口",
		Materials: []station.Material{{Code: "M1", Name: "居民身份证", Required: true}}, Status: station.MatterActive, Version: 1}
	cmd, err := station.NewCommand(fmt.Sprintf("cmd-%07d", cmdSeq.Add(1)), station.CmdCatalogImport, time.Now(), system, station.CatalogImport{Matters: []station.Matter{m}})
	if err != nil {
		t.Fatal(err)
	}
	return cmd
}

// box is one station box with its cluster port, its store and its log node.
type box struct {
	t    *testing.T
	id   string
	dir  string
	ln   net.Listener
	addr string
	db   *sqlite.DB
	port *cluster.Port
	svc  *cluster.Service
	node *sraft.Node
	blob *blob.Store
}

func boxDir(t *testing.T) string {
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		if dir, err := os.MkdirTemp("/dev/shm", "station-cluster-"); err == nil {
			t.Cleanup(func() { os.RemoveAll(dir) })
			return dir
		}
	}
	return t.TempDir()
}

// newBox binds the box's cluster port (its address is known before it has credentials).
func newBox(t *testing.T, id string) *box {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &box{t: t, id: id, dir: boxDir(t), ln: ln, addr: ln.Addr().String()}
	t.Cleanup(b.stop)
	return b
}

func (b *box) tlsDir() string { return filepath.Join(b.dir, "tls") }

// secrets are the station's key files a joining box receives: here the CA's.
func (b *box) secrets() (map[string][]byte, error) {
	files := map[string][]byte{}
	for _, f := range []string{lantls.CACertFile, lantls.CAKeyFile} {
		data, err := os.ReadFile(filepath.Join(b.tlsDir(), f))
		if err != nil {
			return nil, err
		}
		files[filepath.Join("tls", f)] = data
	}
	return files, nil
}

// start runs the box: its member certificate (and the CA, on the first box), the port, the node.
func (b *box) start(join bool) {
	b.t.Helper()
	creds, err := lantls.EnsureMember(lantls.Options{Dir: b.tlsDir(), CAName: "test", Now: time.Now()}, b.id)
	if err != nil {
		b.t.Fatal(err)
	}
	b.svc = &cluster.Service{Creds: creds, Codes: &cluster.Codes{}, Secrets: b.secrets}
	if b.ln == nil {
		if b.ln, err = net.Listen("tcp", b.addr); err != nil {
			b.t.Fatal(err)
		}
	}
	var logger *slog.Logger
	if testing.Verbose() {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})).With("box", b.id)
	}
	b.port = cluster.Listen(b.ln, b.addr, creds, b.svc, logger)
	b.ln = nil
	if b.db, err = sqlite.Open(context.Background(), filepath.Join(b.dir, "station.db"), sqlite.WithLogSynced()); err != nil {
		b.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	b.node, err = sraft.Open(ctx, sraft.Config{Dir: filepath.Join(b.dir, "raft"), ID: b.id, Store: b.db, Join: join,
		Transport: b.port.Transport(logger), Forwarder: b.svc, Logger: logger, Timing: testTiming, SoloTiming: sraft.SoloTiming})
	if err != nil {
		b.t.Fatal(err)
	}
	if b.blob, err = blob.Open(b.dir, blob.Options{}); err != nil {
		b.t.Fatal(err)
	}
	b.svc.Blobs = b.blob
	b.blob.SetPeers(b.svc)
	b.svc.SetNode(b.node)
}

func (b *box) stop() {
	if b.node != nil {
		b.node.Close()
		b.node = nil
	}
	if b.port != nil {
		b.port.Close()
		b.port = nil
	}
	if b.db != nil {
		b.db.Close()
		b.db = nil
	}
	if b.ln != nil {
		b.ln.Close()
		b.ln = nil
	}
}

// join lets b into the cluster whose leader is l, as the station's tools do: the code, the key files
// written, the box started, promoted once it has caught up.
func (b *box) join(l *box, voter bool) {
	b.t.Helper()
	code, _, err := l.svc.Codes.New()
	if err != nil {
		b.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ans, err := cluster.Join(ctx, l.addr, strings.ToLower(code), cluster.JoinRequest{ID: b.id, Addr: b.addr, Voter: voter})
	if err != nil {
		b.t.Fatal(err)
	}
	for name, data := range ans.Files {
		path := filepath.Join(b.dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			b.t.Fatal(err)
		}
		if err := os.WriteFile(path, data, 0o600); err != nil {
			b.t.Fatal(err)
		}
	}
	b.start(true)
	if voter {
		if err := b.svc.PromoteWhenCaughtUp(ctx, 20*time.Millisecond); err != nil {
			b.t.Fatalf("%s: promote: %v", b.id, err)
		}
	}
}

func submit(t *testing.T, b *box, cmd station.Command) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := b.node.Submit(ctx, cmd); err != nil {
		t.Fatalf("submit on %s: %v", b.id, err)
	}
}

func hasMatter(t *testing.T, b *box, n int) bool {
	t.Helper()
	m, err := b.db.Matter(context.Background(), fmt.Sprintf("T-%04d", n))
	if err != nil && station.ErrorCode(err) != station.ENOTFOUND {
		t.Fatal(err)
	}
	return m != nil
}

// eventually waits up to 10 s for cond.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	end := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(end) {
			t.Fatalf("not within 10 s: %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func voters(t *testing.T, b *box) int {
	ms, err := b.node.Members()
	if err != nil {
		t.Fatal(err)
	}
	v := 0
	for _, m := range ms {
		if m.Voter {
			v++
		}
	}
	return v
}

// TestBoxesJoinOverTLSAndAFollowerWritesThroughTheLeader is the whole join: a box on its own (with a
// lone voter's timing) takes two more by join code over the cluster port; what the first box had
// before they joined reaches them by snapshot; a write on a follower goes to the leader and is
// readable on the follower as soon as Submit returns; killing the leader leaves two voters that go on.
func TestBoxesJoinOverTLSAndAFollowerWritesThroughTheLeader(t *testing.T) {
	b1, b2, b3 := newBox(t, "box1"), newBox(t, "box2"), newBox(t, "box3")
	b1.start(false)
	for i := range 5 {
		submit(t, b1, matterCmd(t, i))
	}
	b2.join(b1, true)
	if got := voters(t, b1); got != 2 {
		t.Fatalf("voters after the second box: %d, want 2", got)
	}
	b3.join(b1, true)
	if got := voters(t, b1); got != 3 {
		t.Fatalf("voters after the third box: %d, want 3", got)
	}
	for _, b := range []*box{b2, b3} {
		for i := range 5 {
			if !hasMatter(t, b, i) {
				t.Errorf("%s lacks matter %d written before it joined", b.id, i)
			}
		}
	}
	// A write on a follower.
	if b2.node.IsLeader() {
		t.Fatal("box2 leads: the test wants a follower")
	}
	submit(t, b2, matterCmd(t, 100))
	if !hasMatter(t, b2, 100) {
		t.Error("the follower that submitted does not read its own write")
	}
	eventually(t, "box1 and box3 have the follower's write", func() bool { return hasMatter(t, b1, 100) && hasMatter(t, b3, 100) })

	st, err := b1.svc.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(st) != 3 {
		t.Fatalf("status: %d members, want 3", len(st))
	}
	for _, m := range st {
		if !m.Reachable || m.Progress == nil || !m.Voter {
			t.Errorf("status of %s: %+v", m.ID, m)
		}
	}

	// A blob a follower takes is on a quorum of voters when Put returns, and on all three soon after;
	// one only a box has is fetched by another that opens it; content that does not match its name
	// is not kept.
	sum, _, err := b2.blob.Put(strings.NewReader("第一页扫描件"))
	if err != nil {
		t.Fatal(err)
	}
	if n := holders(sum, b1, b2, b3); n < 2 {
		t.Errorf("the blob is on %d boxes when Put returns, want a quorum of 2", n)
	}
	eventually(t, "the blob on every box", func() bool { return holders(sum, b1, b2, b3) == 3 })
	only, _, err := b3.blob.PutLocal(strings.NewReader("只在三号机上"))
	if err != nil {
		t.Fatal(err)
	}
	if got := readBlob(t, b1, only); got != "只在三号机上" {
		t.Errorf("fetched blob = %q", got)
	}
	bad, _, _ := b3.blob.PutLocal(strings.NewReader("原样"))
	if err := os.WriteFile(filepath.Join(b3.dir, "blobs", bad[:2], bad[2:]), []byte("被篡改"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := b2.blob.Open(bad); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("a blob whose content does not match its name: %v, want ErrNotFound", err)
	}
	if b2.blob.Has(bad) {
		t.Error("the box kept a blob that does not match its name")
	}

	// The leader dies: the other two elect one and take writes on either box.
	b1.stop()
	eventually(t, "a new leader", func() bool { return b2.node.IsLeader() || b3.node.IsLeader() })
	submit(t, b3, matterCmd(t, 101))
	submit(t, b2, matterCmd(t, 102))
	eventually(t, "both boxes have both writes", func() bool {
		return hasMatter(t, b2, 101) && hasMatter(t, b3, 101) && hasMatter(t, b2, 102) && hasMatter(t, b3, 102)
	})
	// Two voters of three still take a blob.
	if _, _, err := b3.blob.Put(strings.NewReader("第二页")); err != nil {
		t.Errorf("a blob with two voters of three up: %v", err)
	}
	// One alone does not.
	b2.stop()
	if _, _, err := b3.blob.Put(strings.NewReader("第三页")); station.ErrorCode(err) != station.EUNAVAILABLE {
		t.Errorf("a blob with one voter of three up: %v, want EUNAVAILABLE", err)
	}
}

// holders counts the boxes that store the blob sum themselves.
func holders(sum string, boxes ...*box) int {
	n := 0
	for _, b := range boxes {
		if b.blob != nil && b.blob.Has(sum) {
			n++
		}
	}
	return n
}

func readBlob(t *testing.T, b *box, sum string) string {
	t.Helper()
	rc, err := b.blob.Open(sum)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// TestAJoinCodeIsSpentOnceAndAWrongOneIsRefused: the code works once; a wrong code is refused and,
// after MaxCodeFailures wrong tries, the right one no longer works either.
func TestAJoinCodeIsSpentOnceAndAWrongOneIsRefused(t *testing.T) {
	b1, b2 := newBox(t, "box1"), newBox(t, "box2")
	b1.start(false)
	ctx := context.Background()
	code, _, err := b1.svc.Codes.New()
	if err != nil {
		t.Fatal(err)
	}
	req := cluster.JoinRequest{ID: "box2", Addr: b2.addr}
	if _, err := cluster.Join(ctx, b1.addr, "0000-0000-0000-0000", req); err == nil || !strings.Contains(err.Error(), "403") {
		t.Fatalf("wrong code: %v, want a 403 refusal", err)
	}
	if _, err := cluster.Join(ctx, b1.addr, code, req); err != nil {
		t.Fatalf("right code: %v", err)
	}
	req.ID = "box3"
	if _, err := cluster.Join(ctx, b1.addr, code, req); err == nil {
		t.Fatal("a spent code let a second box in")
	}
	code, _, _ = b1.svc.Codes.New()
	for range cluster.MaxCodeFailures {
		cluster.Join(ctx, b1.addr, "0000-0000-0000-0001", req)
	}
	if _, err := cluster.Join(ctx, b1.addr, code, req); err == nil {
		t.Fatal("the code still worked after too many wrong tries")
	}
	if _, err := cluster.NormalizeCode("12"); err == nil {
		t.Error("a short code was accepted")
	}
	if c, err := cluster.NormalizeCode("abcd-efgh-ijkl-mnop"); err != nil || c != "ABCDEFGH1JK1MN0P" {
		t.Errorf("NormalizeCode = %q, %v", c, err)
	}
}

// TestAJoinerRefusesAHostThatDoesNotKnowTheCode: a box in the middle that answers the join without
// the code gets nothing written: the joiner checks the leader's proof.
func TestAJoinerRefusesAHostThatDoesNotKnowTheCode(t *testing.T) {
	impostor := newBox(t, "impostor")
	impostor.start(false)
	// The impostor has a code of its own, not the one the technician typed: its proof is wrong.
	impostor.svc.Codes.New()
	_, err := cluster.Join(context.Background(), impostor.addr, "ABCD-EFGH-JKMN-PQRS", cluster.JoinRequest{ID: "box2", Addr: "127.0.0.1:1"})
	if err == nil {
		t.Fatal("joined a host that does not know the code")
	}
}

// TestTheClusterPortRefusesStrangers: raft's protocol without a member certificate, or with one from
// another station's CA, gets no connection; neither do the members' requests.
func TestTheClusterPortRefusesStrangers(t *testing.T) {
	b1 := newBox(t, "box1")
	b1.start(false)
	// No certificate.
	c, err := tls.Dial("tcp", b1.addr, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"station-raft/1"}})
	if err == nil {
		c.SetReadDeadline(time.Now().Add(2 * time.Second))
		_, err = c.Read(make([]byte, 1))
		c.Close()
	}
	if err == nil {
		t.Error("a raft connection without a member certificate stayed open")
	}
	// Another station's member.
	other, err := lantls.EnsureMember(lantls.Options{Dir: filepath.Join(t.TempDir(), "tls"), CAName: "other", Now: time.Now()}, "box9")
	if err != nil {
		t.Fatal(err)
	}
	svc := &cluster.Service{Creds: other}
	if _, _, err := svc.Forward(context.Background(), b1.addr, matterCmd(t, 1)); err == nil || !errors.Is(err, sraft.ErrForwardAgain) {
		t.Errorf("another station's member forwarded a command: %v", err)
	}
	if hasMatter(t, b1, 1) {
		t.Error("another station's command was applied")
	}
}

// TestALostQuorumIsRecoveredOnTheSurvivor: two voters of three die for good; the survivor refuses
// writes (EUNAVAILABLE), and after sraft.Recover keeps it alone it starts as a cluster of one with
// everything it had, and takes writes again.
func TestALostQuorumIsRecoveredOnTheSurvivor(t *testing.T) {
	b1, b2, b3 := newBox(t, "box1"), newBox(t, "box2"), newBox(t, "box3")
	b1.start(false)
	submit(t, b1, matterCmd(t, 1))
	b2.join(b1, true)
	b3.join(b1, true)
	submit(t, b1, matterCmd(t, 2))
	b2.stop()
	b3.stop()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	_, err := b1.node.Submit(ctx, matterCmd(t, 3))
	cancel()
	if station.ErrorCode(err) != station.EUNAVAILABLE {
		t.Fatalf("a write with one voter of three: %v, want EUNAVAILABLE", err)
	}
	b1.stop()

	db, err := sqlite.Open(context.Background(), filepath.Join(b1.dir, "station.db"), sqlite.WithLogSynced())
	if err != nil {
		t.Fatal(err)
	}
	if err := sraft.Recover(context.Background(), sraft.Config{Dir: filepath.Join(b1.dir, "raft"), ID: "box1", Store: db}, []string{"box2"}); err == nil {
		t.Error("recover without this box among those that stay succeeded")
	}
	if err := sraft.Recover(context.Background(), sraft.Config{Dir: filepath.Join(b1.dir, "raft"), ID: "box1", Store: db}, []string{"box1"}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	b1.start(false)
	if got := voters(t, b1); got != 1 {
		t.Fatalf("voters after the recovery: %d, want 1", got)
	}
	submit(t, b1, matterCmd(t, 4))
	for _, n := range []int{1, 2, 4} {
		if !hasMatter(t, b1, n) {
			t.Errorf("matter %d missing after the recovery", n)
		}
	}
}

// TestTheLeaderReapsAKioskGoneTooLong: a non-voter unreachable for longer than the policy is taken
// out; the members that answer stay.
func TestTheLeaderReapsAKioskGoneTooLong(t *testing.T) {
	b1, b2, kiosk := newBox(t, "box1"), newBox(t, "box2"), newBox(t, "kiosk")
	b1.start(false)
	b2.join(b1, false)
	kiosk.join(b1, false)
	eventually(t, "three members", func() bool { ms, _ := b1.node.Members(); return len(ms) == 3 })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go b1.svc.Reap(ctx, 20*time.Millisecond, cluster.ReapPolicy{NonvoterAfter: 200 * time.Millisecond}, time.Now)
	time.Sleep(300 * time.Millisecond)
	if ms, _ := b1.node.Members(); len(ms) != 3 {
		t.Fatalf("a member that is up was reaped: %+v", ms)
	}
	kiosk.stop()
	eventually(t, "the kiosk reaped", func() bool {
		ms, _ := b1.node.Members()
		for _, m := range ms {
			if m.ID == "kiosk" {
				return false
			}
		}
		return true
	})
	if ms, _ := b1.node.Members(); len(ms) != 2 {
		t.Errorf("members after reaping: %+v", ms)
	}
}

// addrOf is the address b's configuration holds for the member id.
func addrOf(t *testing.T, b *box, id string) string {
	t.Helper()
	ms, err := b.node.Members()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.ID == id {
			return m.Addr
		}
	}
	return ""
}

// TestABoxWhoseAddressChangedTellsTheCluster: a voter that comes back on another address (a DHCP
// lease that changed overnight) has the leader change its entry, and gets what was written while it
// was away and what is written after; no member can give another's address.
func TestABoxWhoseAddressChangedTellsTheCluster(t *testing.T) {
	b1, b2, b3 := newBox(t, "box1"), newBox(t, "box2"), newBox(t, "box3")
	b1.start(false)
	b2.join(b1, true)
	b3.join(b1, true)
	submit(t, b1, matterCmd(t, 1))
	b3.stop()
	submit(t, b1, matterCmd(t, 2))

	old := b3.addr
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b3.ln, b3.addr = ln, ln.Addr().String()
	b3.start(true)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := b3.svc.Announce(ctx, b3.addr, 50*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	for _, b := range []*box{b1, b2} {
		eventually(t, b.id+" knows box3's new address", func() bool { return addrOf(t, b, "box3") == b3.addr })
	}
	eventually(t, "box3 has what was written while it was away", func() bool { return hasMatter(t, b3, 2) })
	submit(t, b2, matterCmd(t, 3))
	eventually(t, "box3 has what was written after", func() bool { return hasMatter(t, b3, 3) })

	// box2 tries to send box3's traffic back to the old address: refused, whoever leads.
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: cluster.ClientTLS(b2.svc.Creds, "http/1.1")}}
	for _, target := range []*box{b1, b3} {
		body := strings.NewReader(fmt.Sprintf(`{"id":"box3","addr":%q}`, old))
		resp, err := client.Post("https://"+target.addr+"/cluster/v1/address", "application/json", body)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Fatalf("box2 giving box3's address to %s: %s, want 403", target.id, resp.Status)
		}
	}
	if got := addrOf(t, b1, "box3"); got != b3.addr {
		t.Fatalf("box3's address became %s", got)
	}
}
