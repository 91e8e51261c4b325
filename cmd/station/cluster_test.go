package main

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/civic-station/station/station"
	"github.com/civic-station/station/station/argon2id"
	"github.com/civic-station/station/station/cluster"
	sraft "github.com/civic-station/station/station/raft"
)

// clusterTiming is a LAN's failure detection, scaled down for tests.
var clusterTiming = sraft.Timing{Heartbeat: 150 * time.Millisecond, Election: 150 * time.Millisecond, LeaderLease: 75 * time.Millisecond}

// freeAddr is a loopback address with a port free a moment ago: a joining box names its cluster
// address before it listens.
func freeAddr(t testing.TB) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// joinedStation joins a new box (a Main that is not the demo) to the cluster of the running leader,
// with the tools a technician uses: `station cluster join-code` on the leader, `station cluster join`
// on the box, then `station run`.
func joinedStation(t *testing.T, leader *testStation, name string) *testStation {
	t.Helper()
	ctx := context.Background()
	var out bytes.Buffer
	if err := clusterJoinCode(ctx, leader.DataDir, &out); err != nil {
		t.Fatal(err)
	}
	cmd := regexp.MustCompile(`station cluster join (\S+) (\S+)`).FindStringSubmatch(out.String())
	if cmd == nil {
		t.Fatalf("join-code printed no command: %s", out.String())
	}
	m := NewMain()
	m.DataDir = t.TempDir()
	m.Listen = "127.0.0.1:0"
	m.ClusterListen = freeAddr(t)
	m.ClusterName = name
	m.RaftTiming = clusterTiming
	m.Hasher = argon2id.Hasher{Params: argon2id.TestParams}
	m.Now = leader.clock.Now
	m.Logger = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn})).With("box", name)
	out.Reset()
	if err := clusterJoin(ctx, m, cmd[1], cmd[2], true, &out); err != nil {
		t.Fatalf("join %s: %v", name, err)
	}
	if !strings.Contains(out.String(), "已加入") {
		t.Fatalf("join printed: %s", out.String())
	}
	if err := m.Run(ctx); err != nil {
		t.Fatalf("run %s: %v", name, err)
	}
	t.Cleanup(func() { m.Close() })
	return &testStation{Main: m, clock: leader.clock}
}

func (s *testStation) syncing() bool {
	s.syncMu.Lock()
	defer s.syncMu.Unlock()
	return s.stopSync != nil
}

func isVoter(t *testing.T, s *testStation, name string) bool {
	ms, err := s.Log.Members()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.ID == name {
			return m.Voter
		}
	}
	return false
}

func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	end := time.Now().Add(d)
	for !cond() {
		if time.Now().After(end) {
			t.Fatalf("not within %s: %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestAStationOfThreeBoxes is the cluster as a technician builds it and the staff use it: the demo
// station (its store, accounts and enrollment) takes two more boxes by join code; they get its data
// and keys and become voters once caught up; a clerk logs in on a follower and takes an application,
// which reaches the leader; only the leader syncs; when the leader stops, another box leads, syncs,
// and takes the next application.
func TestAStationOfThreeBoxes(t *testing.T) {
	if testing.Short() {
		t.Skip("three stations")
	}
	s1 := startStationIn(t, t.TempDir(), func(m *Main) {
		m.ClusterListen, m.ClusterName, m.RaftTiming = "127.0.0.1:0", "box1", clusterTiming
	})
	s2 := joinedStation(t, s1, "box2")
	waitFor(t, "box2 is a voter", 20*time.Second, func() bool { return isVoter(t, s1, "box2") })
	s3 := joinedStation(t, s1, "box3")
	waitFor(t, "box3 is a voter", 20*time.Second, func() bool { return isVoter(t, s1, "box3") })

	// The status the technician reads.
	var out bytes.Buffer
	if err := clusterStatus(context.Background(), s1.DataDir, false, &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"本机 box1；主机 box1；成员 3 台", "box2", "box3", "投票·主机"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("status lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "联系不上") {
		t.Errorf("status: a member unreachable:\n%s", out.String())
	}

	if r := doctorLine(t, s1, clusterCheck); r.Status != checkOK || !strings.Contains(r.Detail, "3 台") {
		t.Errorf("doctor on a healthy cluster: %+v", r)
	}

	// A clerk on a follower.
	before := countApplications(t, s1)
	token := s2.login(t, "counter1")
	a := s2.intake(t, token, "MZ-001", validID("22010419900307123"))
	if got := s2.do(t, "GET", "/api/v1/applications/"+a.ID, token, nil); got.status != 200 {
		t.Errorf("the follower does not read the application it took: %d %s", got.status, got.body)
	}
	waitFor(t, "the leader has the follower's application", 5*time.Second, func() bool { return countApplications(t, s1) == before+1 })

	if !s1.syncing() || s2.syncing() || s3.syncing() {
		t.Errorf("syncing: box1 %v, box2 %v, box3 %v; want the leader only", s1.syncing(), s2.syncing(), s3.syncing())
	}
	// The follower's counter shows the station's sync as the leader sees it, naming the leader.
	var st struct{ Sync station.SyncStatus }
	s2.do(t, "GET", "/api/v1/sync/status", token, nil).json(t, &st)
	if st.Sync.SyncedBy != "box1" {
		t.Errorf("the follower's sync status: %+v, want box1's", st.Sync)
	}

	// The leader stops (it hands over first).
	if err := s1.Close(); err != nil {
		t.Fatal(err)
	}
	var next, other *testStation
	waitFor(t, "a new leader", 5*time.Second, func() bool {
		switch {
		case s2.Log.IsLeader():
			next, other = s2, s3
		case s3.Log.IsLeader():
			next, other = s3, s2
		}
		return next != nil
	})
	waitFor(t, "the new leader syncs", 5*time.Second, next.syncing)
	if r := doctorLine(t, next, clusterCheck); r.Status != checkFail || !strings.Contains(r.Detail, "box1") {
		t.Errorf("doctor with a voter down: %+v", r)
	}
	if other.syncing() {
		t.Error("the follower syncs too")
	}
	token = other.login(t, "counter1")
	other.intake(t, token, "MZ-001", validID("22010419900308123"))
	waitFor(t, "the new leader has it", 5*time.Second, func() bool { return countApplications(t, next) == before+2 })
}

// TestJoiningRefusesAStationThatHasData: `station cluster join` on a box whose own station has
// accounts says so and changes nothing.
func TestJoiningRefusesAStationThatHasData(t *testing.T) {
	s := startStation(t)
	m := NewMain()
	m.DataDir = s.DataDir
	m.ClusterListen = freeAddr(t)
	s.Close()
	err := clusterJoin(context.Background(), m, "127.0.0.1:1", "ABCD-EFGH-JKMN-PQRS", true, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "已有一个设置好的服务站") {
		t.Fatalf("join over a station with accounts: %v", err)
	}
	if err := clusterJoin(context.Background(), m, "127.0.0.1:1", "too-short", true, &bytes.Buffer{}); err == nil {
		t.Fatal("a malformed code was taken")
	}
}

func countApplications(t *testing.T, s *testStation) int {
	t.Helper()
	_, n, err := s.DB.Applications(context.Background(), station.ApplicationFilter{Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// doctorLine runs the doctor's cluster check on s and returns its line.
func doctorLine(t *testing.T, s *testStation, name string) checkResult {
	t.Helper()
	d := &doctor{m: s.Main, now: time.Now}
	d.checkCluster(context.Background())
	for _, r := range d.results {
		if r.Name == name {
			return r
		}
	}
	t.Fatalf("doctor has no %s line: %+v", name, d.results)
	return checkResult{}
}

// TestDoctorJudgesTheCluster: each state of a cluster gets its mark.
func TestDoctorJudgesTheCluster(t *testing.T) {
	member := func(id string, voter, reachable bool) cluster.MemberStatus {
		return cluster.MemberStatus{Member: sraft.Member{ID: id, Voter: voter}, Reachable: reachable}
	}
	for _, tc := range []struct {
		name   string
		st     clusterStatusAnswer
		status string
		want   string
	}{
		{"alone", clusterStatusAnswer{Self: "box1", Leader: "box1", Members: []cluster.MemberStatus{member("box1", true, true)}}, checkOK, "单台设备"},
		{"no leader", clusterStatusAnswer{Self: "box1", Members: []cluster.MemberStatus{member("box1", true, true), member("box2", true, false), member("box3", true, false)}}, checkFail, "没有主机"},
		{"voter down", clusterStatusAnswer{Self: "box1", Leader: "box1", Members: []cluster.MemberStatus{member("box1", true, true), member("box2", true, true), member("box3", true, false)}}, checkFail, "box3"},
		{"two voters", clusterStatusAnswer{Self: "box1", Leader: "box1", Warning: twoVotersWarning, Members: []cluster.MemberStatus{member("box1", true, true), member("box2", true, true)}}, checkWarn, "2 台投票成员"},
		{"kiosk off", clusterStatusAnswer{Self: "box1", Leader: "box1", Members: []cluster.MemberStatus{member("box1", true, true), member("kiosk", false, false)}}, checkWarn, "kiosk"},
		{"healthy", clusterStatusAnswer{Self: "box1", Leader: "box1", Members: []cluster.MemberStatus{member("box1", true, true), member("box2", true, true), member("box3", true, true)}}, checkOK, "3 台"},
	} {
		d := &doctor{}
		d.addCluster(tc.st)
		if len(d.results) != 1 || d.results[0].Status != tc.status || !strings.Contains(d.results[0].Detail, tc.want) {
			t.Errorf("%s: %+v, want %s with %q", tc.name, d.results, tc.status, tc.want)
		}
	}
}
