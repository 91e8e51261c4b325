package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/civic-station/station/station"
	"github.com/civic-station/station/station/sqlite"
	"github.com/civic-station/station/syncer/hub"
)

// The station's cluster as real processes: a hub (`station hub`) and three boxes (`station run`),
// each its own process with its own data directory and loopback ports, built and joined with the
// commands a technician types. The in-process test (TestAStationOfThreeBoxes) shares one address
// space and stops its leader politely; here the leader is SIGKILLed in the middle of a stream of
// intakes, with a hub that outlives it.

// TestAStationOfThreeProcessesLosesNothingWhenTheLeaderIsKilled: box 1 is enrolled with the hub,
// takes a few applications on its own and delivers them (a restart starts a sync round at once: a
// station syncs every 30 s otherwise), then boxes 2 and 3 join by code and become voters. Six clerks
// take applications on all three boxes (the followers forward to the leader) while the leader is
// killed with SIGKILL, another box leads, and the killed box is started again on its data directory
// and catches up. Once the cluster and the hub have settled:
//   - every acknowledged intake is on all three boxes, with the number it was acknowledged with, and
//     the boxes hold the same applications;
//   - no application was made that no clerk asked for, none twice for one request, no number twice;
//   - the hub holds one intake record for each application on the boxes and none other, with no two
//     records under one sequence number and no conflict; it received again only records that were in
//     flight when the leader died (none that an earlier round had delivered);
//   - at each moment only the leader ran a syncer, and the new leader took over from the
//     replicated outbox (the killed one's rounds before the kill, the new one's after);
//   - every box's audit chain verifies.
func TestAStationOfThreeProcessesLosesNothingWhenTheLeaderIsKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("a hub and three stations as processes")
	}
	began := time.Now()
	r := newProcRig(t)
	work := t.TempDir()
	step := func(what string) { t.Logf("%6.2fs %s", time.Since(began).Seconds(), what) }

	// The hub, with a one-matter catalog, and box 1 enrolled with it.
	p := startProcStation(t, r, work)
	boxes, b1, materials, hubDir, hubAddr := p.boxes, p.boxes[0], p.materials, p.hubDir, p.hubAddr
	step("hub and box 1 up, enrolled, catalog in")

	var k atomic.Int64 // a different applicant for every intake
	ilog := &intakeLog{}
	for i := range 5 {
		if tr := b1.intake(fmt.Sprintf("单机-%d", i), k.Add(1), materials); tr.status != http.StatusCreated {
			t.Fatalf("intake on box 1 alone: %d %s", tr.status, tr.body)
		} else {
			ilog.add(tr)
		}
	}
	b1.stop(t)
	b1.start(t)
	b1.waitReady(t)
	waitEvery(t, "box 1 delivered its applications after its restart", 15*time.Second, 100*time.Millisecond, func() bool {
		st, ok := b1.syncStatus()
		return ok && !st.LastSuccess.IsZero() && st.Pending == 0
	})
	step("box 1 took 5 applications alone and delivered them after a restart")

	for _, b := range boxes[1:] {
		r.join(t, b1, b)
	}
	if st, ok := r.clusterStatus(b1); !ok || st.Leader == "" || len(st.Members) != 3 {
		t.Fatalf("the cluster before the stream: %+v", st)
	}
	step("boxes 2 and 3 joined by code and are voters")

	// Who runs a syncer, sampled on every box until the end.
	samples := &syncSamples{}
	pollCtx, stopPolling := context.WithCancel(context.Background())
	var pollDone sync.WaitGroup
	pollDone.Add(1)
	go func() {
		defer pollDone.Done()
		samples.poll(pollCtx, boxes)
	}()
	defer func() { stopPolling(); pollDone.Wait() }()

	// The stream: two clerks on each box.
	writeCtx, stopWriting := context.WithCancel(context.Background())
	var writers sync.WaitGroup
	for w := range 6 {
		b := boxes[w%3]
		writers.Add(1)
		go func() {
			defer writers.Done()
			for i := 0; writeCtx.Err() == nil; i++ {
				tr := b.intake(fmt.Sprintf("流-%d-%d", w, i), k.Add(1), materials)
				ilog.add(tr)
				if tr.status != http.StatusCreated {
					time.Sleep(100 * time.Millisecond)
				}
			}
		}()
	}
	defer func() { stopWriting(); writers.Wait() }()
	streamAt := time.Now()
	waitEvery(t, "every box acknowledges intakes", 20*time.Second, 50*time.Millisecond, func() bool {
		for _, b := range boxes {
			if ilog.acked(b.name, streamAt) < 10 {
				return false
			}
		}
		return time.Since(streamAt) > 2*time.Second
	})
	step(fmt.Sprintf("stream running: %d acknowledged", ilog.ackedTotal()))

	// Kill the leader, with no handover.
	st, ok := r.clusterStatus(b1)
	if !ok || st.Leader == "" {
		t.Fatalf("no leader before the kill: %+v", st)
	}
	old := boxes[slices.IndexFunc(boxes, func(b *procBox) bool { return b.name == st.Leader })]
	killAt := time.Now()
	old.kill()
	step("SIGKILL " + old.name + ", the leader")
	var failover time.Duration
	waitEvery(t, "a write on another box after the kill", 30*time.Second, 10*time.Millisecond, func() bool {
		at, ok := ilog.firstAckStartedAfter(killAt, old.name, false)
		failover = at.Sub(killAt)
		return ok
	})
	var next *procBox
	for _, b := range boxes {
		if b == old {
			continue
		}
		if st, ok := r.clusterStatus(b); ok && st.Leader != "" && st.Leader != old.name {
			next = boxes[slices.IndexFunc(boxes, func(b *procBox) bool { return b.name == st.Leader })]
			break
		}
	}
	if next == nil {
		t.Fatal("no box says which box leads now")
	}
	t.Logf("failover: the first write started after the kill was acknowledged %v after it; %s leads", failover.Round(time.Millisecond), next.name)
	step("new leader " + next.name)

	time.Sleep(time.Second)
	restartAt := time.Now()
	old.start(t)
	old.waitReady(t)
	waitEvery(t, "the restarted box takes intakes again", 30*time.Second, 20*time.Millisecond, func() bool {
		return ilog.acked(old.name, restartAt) >= 5
	})
	step(fmt.Sprintf("%s restarted on its data directory and takes intakes again (%v after its start)", old.name, time.Since(restartAt).Round(time.Millisecond)))
	time.Sleep(time.Second)
	stopWriting()
	writers.Wait()
	step(fmt.Sprintf("stream stopped: %d tries, %d acknowledged", ilog.count(), ilog.ackedTotal()))

	// Settle: every member caught up, the outbox empty at the hub.
	waitEvery(t, "all three boxes voters, reachable and caught up", 30*time.Second, 250*time.Millisecond, func() bool {
		st, ok := r.clusterStatus(next)
		if !ok || st.Leader != next.name || len(st.Members) != 3 {
			return false
		}
		for _, m := range st.Members {
			if !m.Voter || !m.Reachable || m.Lag != 0 {
				return false
			}
		}
		ost, ok := r.clusterStatus(old)
		return ok && ost.Leader == next.name
	})
	step("cluster settled")
	waitEvery(t, "the hub has acknowledged the whole outbox (a round every 30 s)", 45*time.Second, 250*time.Millisecond, func() bool {
		st, ok := next.syncStatus()
		return ok && st.Pending == 0
	})
	step("outbox delivered")
	for _, b := range boxes {
		if b == next {
			continue
		}
		// A follower's counter shows the station's sync as the leader sees it.
		if st, ok := b.syncStatus(); !ok || !st.Enrolled || st.SyncedBy != next.name || st.LastSuccess.IsZero() {
			t.Errorf("%s's sync status: %+v, want the leader %s's, enrolled and with a success", b.name, st, next.name)
		}
	}
	stopPolling()
	pollDone.Wait()

	dups, ingested := hubDedupMetrics(t, hubDir, hubAddr)
	var hubRecords []hub.Record
	if err := json.Unmarshal([]byte(r.tool("", "hub", "records", "--json", "--data", hubDir)), &hubRecords); err != nil {
		t.Fatalf("hub records: %v", err)
	}
	var conflicts []hub.Conflict
	if err := json.Unmarshal([]byte(r.tool("", "hub", "conflicts", "--data", hubDir)), &conflicts); err != nil {
		t.Fatalf("hub conflicts: %v", err)
	}
	for _, b := range boxes {
		b.stop(t)
	}
	p.hub.stopProc(t)
	step("all processes stopped")

	// What the hub holds.
	tries := ilog.all()
	attempted := map[string]bool{}
	for _, tr := range tries {
		attempted[tr.note] = true
	}
	hubApps := map[string]string{}  // application ID → note
	hubNotes := map[string]string{} // note → application ID
	seqs := map[int64]string{}
	inFlight := 0
	others := map[string]int{} // the other records by kind
	for _, rec := range hubRecords {
		if other, ok := seqs[rec.Seq]; ok {
			t.Errorf("the hub holds two records under seq %d: %s and %s", rec.Seq, other, rec.ID)
		}
		seqs[rec.Seq] = rec.ID
		if !rec.ReceivedAt.After(killAt) && rec.ReceivedAt.After(killAt.Add(-3*time.Second)) {
			inFlight++
		}
		if rec.Kind != string(station.CmdApplicationIntake) {
			others[rec.Kind]++
			continue
		}
		var p station.ApplicationIntake
		if err := json.Unmarshal(rec.Payload, &p); err != nil {
			t.Fatalf("intake record %s: %v", rec.ID, err)
		}
		if p.ApplicationID != rec.ApplicationID {
			t.Errorf("intake record %s: application %q, payload %q", rec.ID, rec.ApplicationID, p.ApplicationID)
		}
		if _, ok := hubApps[p.ApplicationID]; ok {
			t.Errorf("the hub holds application %s twice", p.ApplicationID)
		}
		if other, ok := hubNotes[p.Note]; ok {
			t.Errorf("one intake request (%q) made two applications at the hub: %s and %s", p.Note, other, p.ApplicationID)
		}
		if !attempted[p.Note] {
			t.Errorf("the hub holds application %s (%q), which no clerk asked for", p.ApplicationID, p.Note)
		}
		hubApps[p.ApplicationID], hubNotes[p.Note] = p.Note, p.ApplicationID
	}
	if len(conflicts) != 0 {
		t.Errorf("the hub quarantined %d records as conflicts: %+v", len(conflicts), conflicts)
	}
	t.Logf("hub: %d records (%d intakes, others %v); %d received again (dedup hits); %d received in the 3 s before the kill",
		len(hubRecords), len(hubApps), others, dups, inFlight)
	if ingested != int64(len(hubRecords)) {
		t.Errorf("the hub stored %d records for the first time but holds %d", ingested, len(hubRecords))
	}
	if dups > int64(inFlight) {
		t.Errorf("the hub received %d records again, more than the %d in flight when the leader died: the new leader did not carry on from the replicated acknowledgements", dups, inFlight)
	}

	// Every acknowledged intake at the hub and on each box, with its number.
	acked := map[string]intakeTry{}
	numbers := map[string]string{}
	for _, tr := range tries {
		if tr.status != http.StatusCreated {
			continue
		}
		acked[tr.id] = tr
		if other, ok := numbers[tr.number]; ok {
			t.Errorf("number %s acknowledged for %s and %s", tr.number, other, tr.id)
		}
		numbers[tr.number] = tr.id
		if note, ok := hubApps[tr.id]; !ok {
			t.Errorf("acknowledged intake %s (%s, %q on %s) never reached the hub", tr.id, tr.number, tr.note, tr.box)
		} else if note != tr.note {
			t.Errorf("acknowledged intake %s: %q at the hub, %q acknowledged", tr.id, note, tr.note)
		}
	}
	ids := map[string]string{} // every application the hub holds or a clerk was told of → its note
	for id, note := range hubApps {
		ids[id] = note
	}
	for id, tr := range acked {
		ids[id] = tr.note
	}
	ctx := context.Background()
	held := map[string]string{} // application ID → its number on the boxes read so far
	for _, b := range boxes {
		db, err := openStationDB(ctx, b.dir, sqlite.ReadOnly())
		if err != nil {
			t.Fatal(err)
		}
		apps, err := allApplications(ctx, db)
		if err != nil {
			t.Fatalf("%s: %v", b.name, err)
		}
		if len(apps) != len(hubApps) {
			t.Errorf("%s holds %d applications, the hub %d", b.name, len(apps), len(hubApps))
		}
		boxNumbers := map[string]string{}
		for _, a := range apps {
			if other, ok := boxNumbers[a.Number]; ok {
				t.Errorf("%s gave number %s to %s and %s", b.name, a.Number, other, a.ID)
			}
			boxNumbers[a.Number] = a.ID
		}
		for id, note := range ids {
			a, ok := apps[id]
			if !ok {
				t.Errorf("%s lacks application %s (%q)", b.name, id, note)
				continue
			}
			if a.Note != note {
				t.Errorf("%s: application %s has note %q, want %q", b.name, id, a.Note, note)
			}
			if tr, ok := acked[id]; ok && tr.number != a.Number {
				t.Errorf("%s: application %s has number %s, acknowledged as %s", b.name, id, a.Number, tr.number)
			}
			if n, ok := held[id]; ok && n != a.Number {
				t.Errorf("%s: application %s has number %s, another box %s", b.name, id, a.Number, n)
			}
			held[id] = a.Number
		}
		db.Close()
		if out := r.tool("", "audit", "verify", "--data", b.dir); !strings.Contains(out, "审计日志完好") {
			t.Errorf("%s: audit verify: %s", b.name, out)
		}
	}

	// Only the leader synced: the old one before the kill, the new one after; never two at once.
	oldSeen, nextSeen := samples.check(t, old.name, next.name, killAt)
	t.Logf("syncer seen running in %d samples on %s before the kill and %d on %s after it; no sample on another box",
		oldSeen, old.name, nextSeen, next.name)

	statuses := map[int]int{}
	for _, tr := range tries {
		statuses[tr.status]++
	}
	t.Logf("%d intake requests: %d acknowledged, by status %v (0: no answer); %d applications in all: %d requests left unanswered by the kill were applied",
		len(tries), len(acked), statuses, len(hubApps), len(hubApps)-len(acked))
	for _, b := range boxes {
		if b == old {
			continue
		}
		if at, ok := ilog.firstAckStartedAfter(killAt, b.name, true); ok {
			t.Logf("%s: the first request started after the kill was acknowledged %v after it", b.name, at.Sub(killAt).Round(time.Millisecond))
		}
	}
	for _, tr := range tries {
		if tr.status >= 400 && tr.status < 500 {
			t.Errorf("intake on %s refused as the client's mistake: %d %s", tr.box, tr.status, tr.body)
			break
		}
	}
	step("checked")
}

// procStation is a hub with a one-matter catalog and the three boxes of a station, of which box 1
// runs, enrolled with the hub, with the clerk's account and session.
type procStation struct {
	boxes           []*procBox
	materials       []map[string]any
	hubDir, hubAddr string
	hub             *child
}

func startProcStation(t testing.TB, r *procRig, work string) procStation {
	t.Helper()
	p := procStation{hubDir: filepath.Join(work, "hub"), hubAddr: freeAddr(t)}
	p.hub = r.spawn("hub", "hub", "--data", p.hubDir, "--listen", p.hubAddr, "--console", "")
	waitEvery(t, "the hub listens", 15*time.Second, 50*time.Millisecond, func() bool {
		r.mustRun(p.hub)
		return strings.Contains(p.hub.out.String(), "数据中心已启动")
	})
	var matter station.Matter
	matter, p.materials = procCatalogMatter(t)
	catalog := filepath.Join(work, "catalog.json")
	writeJSONFile(t, catalog, []station.Matter{matter})
	r.tool("", "hub", "publish", "catalog", catalog, "--data", p.hubDir)
	token := strings.TrimSpace(r.tool("", "hub", "token", "create", "--station-name", "幸福社区服务站", "--data", p.hubDir))
	p.boxes = []*procBox{r.box("box1", work), r.box("box2", work), r.box("box3", work)}
	b1 := p.boxes[0]
	r.tool("", "enroll", "--hub", "https://"+p.hubAddr, "--token", token, "--data", b1.dir)
	b1.start(t)
	b1.waitReady(t)
	r.tool(procPassword+"\n", "user", "add", "--data", b1.dir, "--username", "clerk", "--role", string(station.RoleStaff))
	waitEvery(t, "box 1 has the hub's catalog", 15*time.Second, 100*time.Millisecond, func() bool {
		code, _ := b1.call(http.MethodGet, "/api/v1/catalog/matters/"+matter.Code, nil, nil)
		return code == http.StatusOK
	})
	b1.login(t)
	return p
}

// join joins b to the cluster of leader with the technician's commands, starts it, waits until it
// is a voter and logs the clerk in on it.
func (r *procRig) join(t testing.TB, leader, b *procBox) {
	t.Helper()
	out := r.tool("", "cluster", "join-code", "--config", r.config, "--data", leader.dir)
	m := regexp.MustCompile(`station cluster join (\S+) (\S+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("join-code printed no command: %s", out)
	}
	if out := r.tool("", append([]string{"cluster", "join", m[1], m[2]}, b.clusterFlags(r.config)...)...); !strings.Contains(out, "已加入") {
		t.Fatalf("join %s printed: %s", b.name, out)
	}
	b.start(t)
	b.waitReady(t)
	waitEvery(t, b.name+" is a voter", 30*time.Second, 250*time.Millisecond, func() bool {
		st, ok := r.clusterStatus(leader)
		return ok && st.voter(b.name)
	})
	b.login(t)
}

// allApplications reads every application of a stopped station's store, page by page.
func allApplications(ctx context.Context, db *sqlite.DB) (map[string]station.Application, error) {
	out := map[string]station.Application{}
	for offset := 0; ; offset += 200 {
		page, total, err := db.Applications(ctx, station.ApplicationFilter{Offset: offset, Limit: 200})
		if err != nil {
			return nil, err
		}
		for _, a := range page {
			out[a.ID] = a
		}
		if len(page) < 200 {
			if len(out) != total {
				return nil, fmt.Errorf("paging gave %d distinct applications of %d", len(out), total)
			}
			return out, nil
		}
	}
}

// procPassword is the clerk's password on the boxes of the process test.
const procPassword = "clerk-password-1"

// procCatalogMatter is the demo's MZ-001 as the hub publishes it (active), with every required
// material of it provided, as an intake's checklist.
func procCatalogMatter(t testing.TB) (station.Matter, []map[string]any) {
	t.Helper()
	var matters []station.Matter
	if err := decodeStrict(demoCatalog, &matters); err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(matters, func(m station.Matter) bool { return m.Code == "MZ-001" })
	if i < 0 {
		t.Fatal("the demo catalog has no MZ-001")
	}
	m := matters[i]
	m.Status, m.Version = station.MatterActive, 1
	var checks []map[string]any
	for _, mat := range m.Materials {
		if mat.Required {
			checks = append(checks, map[string]any{"code": mat.Code, "provided": true})
		}
	}
	return m, checks
}

// waitEvery polls cond every interval until it holds, or fails the test after d.
func waitEvery(t testing.TB, what string, d, every time.Duration, cond func() bool) {
	t.Helper()
	end := time.Now().Add(d)
	for !cond() {
		if time.Now().After(end) {
			t.Fatalf("not within %s: %s", d, what)
		}
		time.Sleep(every)
	}
}

// procRig runs the station binary as the test's child processes and kills what still runs when the
// test ends, printing every process's output when it failed.
type procRig struct {
	t        testing.TB
	bin      string
	config   string // an empty station.toml: no file of the host's applies
	children []*child
}

func newProcRig(t testing.TB) *procRig {
	r := &procRig{t: t, bin: processTestBinary(t), config: filepath.Join(t.TempDir(), "station.toml")}
	if err := os.WriteFile(r.config, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, c := range r.children {
			if c.running() {
				_ = c.cmd.Process.Kill()
				<-c.done
			}
		}
		if t.Failed() {
			for _, c := range r.children {
				t.Logf("output of %s:\n%s", c.name, c.out.String())
			}
		}
	})
	return r
}

// processTestBinary is the station binary the process tests run: $STATION_BIN when set, else one
// built from this package. It is built without the race detector even under -race: four processes
// built with it take the two cores a CI box has and slow the failover they are tested on, and the
// in-process cluster tests run the same code with it.
func processTestBinary(t testing.TB) string {
	t.Helper()
	if bin := os.Getenv("STATION_BIN"); bin != "" {
		abs, err := filepath.Abs(bin)
		if err != nil {
			t.Fatal(err)
		}
		return abs
	}
	bin := filepath.Join(t.TempDir(), "station")
	start := time.Now()
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	t.Logf("built the station binary in %v", time.Since(start).Round(time.Millisecond))
	return bin
}

// childEnv is the test's environment without the station's own variables (STATION_* set flags) and
// systemd's notification socket.
func childEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "STATION_") && !strings.HasPrefix(kv, "NOTIFY_SOCKET=") {
			env = append(env, kv)
		}
	}
	return env
}

// child is one process of the test, which may be started again once it has exited.
type child struct {
	name string
	bin  string
	args []string
	out  lockedBuffer // the output of every run, in order
	cmd  *exec.Cmd
	done chan struct{} // closed when the current run has exited
	runs int
}

func (r *procRig) spawn(name string, args ...string) *child {
	c := &child{name: name, bin: r.bin, args: args}
	r.children = append(r.children, c)
	c.start(r.t)
	return c
}

func (c *child) start(t testing.TB) {
	t.Helper()
	c.runs++
	fmt.Fprintf(&c.out, "=== %s, run %d, %s: station %s\n", c.name, c.runs, time.Now().Format(time.TimeOnly+".000"), strings.Join(c.args, " "))
	cmd := exec.Command(c.bin, c.args...)
	cmd.Env = childEnv()
	cmd.Stdout, cmd.Stderr = &c.out, &c.out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", c.name, err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	c.cmd, c.done = cmd, done
}

func (c *child) running() bool {
	if c.done == nil {
		return false
	}
	select {
	case <-c.done:
		return false
	default:
		return true
	}
}

// kill ends the process with SIGKILL and waits for it.
func (c *child) kill() {
	_ = c.cmd.Process.Signal(syscall.SIGKILL)
	<-c.done
}

// stopProc ends the process as systemd does (SIGTERM) and checks that it exits cleanly.
func (c *child) stopProc(t testing.TB) {
	t.Helper()
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(20 * time.Second):
		c.kill()
		t.Errorf("%s did not stop within 20 s of SIGTERM", c.name)
		return
	}
	if code := c.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("%s exited with %d after SIGTERM", c.name, code)
	}
}

// mustRun fails the test when c has exited.
func (r *procRig) mustRun(c *child) {
	r.t.Helper()
	if !c.running() {
		r.t.Fatalf("%s exited: %v", c.name, c.cmd.ProcessState)
	}
}

// tool runs a one-shot station command with stdin and returns its standard output; it fails the
// test when the command fails.
func (r *procRig) tool(stdin string, args ...string) string {
	r.t.Helper()
	cmd := exec.Command(r.bin, args...)
	cmd.Env = childEnv()
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		r.t.Fatalf("station %s: %v\n%s%s", strings.Join(args, " "), err, out.String(), errb.String())
	}
	return out.String()
}

// clusterStatus is `station cluster status --json` on b; ok is false when it fails (the box is
// starting, or down).
func (r *procRig) clusterStatus(b *procBox) (clusterStatusAnswer, bool) {
	var st clusterStatusAnswer
	cmd := exec.Command(r.bin, "cluster", "status", "--json", "--config", r.config, "--data", b.dir)
	cmd.Env = childEnv()
	out, err := cmd.Output()
	if err != nil || json.Unmarshal(out, &st) != nil || st.Error != "" {
		return st, false
	}
	return st, true
}

// voter reports whether the status lists id as a voter.
func (st clusterStatusAnswer) voter(id string) bool {
	for _, m := range st.Members {
		if m.ID == id {
			return m.Voter
		}
	}
	return false
}

// procBox is a box of the station as a process: its data directory, its plain HTTP port on
// loopback, its cluster port, and the clerk's session on it.
type procBox struct {
	*child
	rig                          *procRig
	name, dir, http, clusterAddr string
	token                        string
}

func (r *procRig) box(name, work string) *procBox {
	b := &procBox{rig: r, name: name, dir: filepath.Join(work, name), http: freeAddr(r.t), clusterAddr: freeAddr(r.t)}
	b.child = &child{name: name, bin: r.bin, args: append([]string{"run", "--listen", b.http, "--listen-https", ""}, b.clusterFlags(r.config)...)}
	r.children = append(r.children, b.child)
	return b
}

// clusterFlags are the flags `station run` and `station cluster join` share on this box.
func (b *procBox) clusterFlags(config string) []string {
	return []string{"--config", config, "--data", b.dir, "--cluster-listen", b.clusterAddr, "--cluster-advertise", b.clusterAddr, "--cluster-name", b.name}
}

func (b *procBox) stop(t testing.TB) { b.stopProc(t) }

// waitReady waits until the box answers /readyz.
func (b *procBox) waitReady(t testing.TB) {
	t.Helper()
	waitEvery(t, b.name+" is ready", 30*time.Second, 50*time.Millisecond, func() bool {
		b.rig.mustRun(b.child)
		code, _ := b.call(http.MethodGet, "/readyz", nil, nil)
		return code == http.StatusOK
	})
}

var procClient = &http.Client{Timeout: 10 * time.Second}

// call sends a JSON request to the box and decodes a 2xx answer into out; it returns the status (0
// when there was no answer) and the body.
func (b *procBox) call(method, path string, body, out any) (int, []byte) {
	var rd io.Reader
	if body != nil {
		enc, _ := json.Marshal(body)
		rd = bytes.NewReader(enc)
	}
	req, err := http.NewRequest(method, "http://"+b.http+path, rd)
	if err != nil {
		return 0, []byte(err.Error())
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if b.token != "" {
		req.Header.Set("Authorization", "Bearer "+b.token)
	}
	resp, err := procClient.Do(req)
	if err != nil {
		return 0, []byte(err.Error())
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, []byte(err.Error())
	}
	if out != nil && resp.StatusCode/100 == 2 {
		if err := json.Unmarshal(raw, out); err != nil {
			return 0, []byte(err.Error())
		}
	}
	return resp.StatusCode, raw
}

func (b *procBox) login(t testing.TB) {
	t.Helper()
	var s struct{ Token string }
	code, body := b.call(http.MethodPost, "/api/v1/sessions", map[string]string{"username": "clerk", "password": procPassword}, &s)
	if code != http.StatusCreated || s.Token == "" {
		t.Fatalf("login on %s: %d %s", b.name, code, body)
	}
	b.token = s.Token
}

// syncStatus is the box's sync status as the counter's strip reads it. A box that runs no syncer
// answers with the leader's, naming it (SyncedBy), or its store's figures, without a last attempt.
func (b *procBox) syncStatus() (station.SyncStatus, bool) {
	var v struct{ Sync station.SyncStatus }
	code, _ := b.call(http.MethodGet, "/api/v1/sync/status", nil, &v)
	return v.Sync, code == http.StatusOK
}

// intakeTry is one intake request and its answer.
type intakeTry struct {
	note       string // unique to the request: what ties an application to the request that made it
	box        string
	start, end time.Time
	status     int // 0: no answer
	body       string
	id, number string
}

// intake takes an application for the k-th applicant on the box.
func (b *procBox) intake(note string, k int64, materials []map[string]any) intakeTry {
	birth := time.Date(1950, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, int(k))
	req := map[string]any{
		"matter_code": "MZ-001",
		"applicant": map[string]string{"id_type": "resident", "id_number": validID("110101" + birth.Format("20060102") + "123"),
			"name": "王小明", "phone": "13800001234"},
		"materials": materials,
		"note":      note,
	}
	tr := intakeTry{note: note, box: b.name, start: time.Now()}
	var a struct{ ID, Number string }
	code, body := b.call(http.MethodPost, "/api/v1/applications", req, &a)
	tr.end, tr.status, tr.id, tr.number = time.Now(), code, a.ID, a.Number
	if code != http.StatusCreated {
		tr.body = string(body)
	}
	return tr
}

// intakeLog is every intake request of the test.
type intakeLog struct {
	mu    sync.Mutex
	tries []intakeTry
}

func (l *intakeLog) add(tr intakeTry) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.tries = append(l.tries, tr)
}

func (l *intakeLog) all() []intakeTry {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.tries)
}

func (l *intakeLog) count() int { return len(l.all()) }

func (l *intakeLog) ackedTotal() int {
	n := 0
	for _, tr := range l.all() {
		if tr.status == http.StatusCreated {
			n++
		}
	}
	return n
}

// acked counts the acknowledged requests on box started after since.
func (l *intakeLog) acked(box string, since time.Time) int {
	n := 0
	for _, tr := range l.all() {
		if tr.box == box && tr.status == http.StatusCreated && tr.start.After(since) {
			n++
		}
	}
	return n
}

// firstAckStartedAfter is when the first request started after at was acknowledged: on box when on
// is set, else on any box but that one.
func (l *intakeLog) firstAckStartedAfter(at time.Time, box string, on bool) (time.Time, bool) {
	var first time.Time
	for _, tr := range l.all() {
		if (tr.box == box) == on && tr.status == http.StatusCreated && tr.start.After(at) && (first.IsZero() || tr.end.Before(first)) {
			first = tr.end
		}
	}
	return first, !first.IsZero()
}

// syncSamples records which boxes run a syncer, sampled over their sync status.
type syncSamples struct {
	sweeps [][]syncSample
}

type syncSample struct {
	at  time.Time
	box string
}

// poll samples every box every 100 ms until ctx ends: a box runs a syncer when its status has a
// last attempt (a box without one answers with its store's figures).
func (s *syncSamples) poll(ctx context.Context, boxes []*procBox) {
	for ctx.Err() == nil {
		var sweep []syncSample
		for _, b := range boxes {
			if st, ok := b.syncStatus(); ok && !st.LastAttempt.IsZero() && st.SyncedBy == "" {
				sweep = append(sweep, syncSample{at: time.Now(), box: b.name})
			}
		}
		s.sweeps = append(s.sweeps, sweep)
		select {
		case <-ctx.Done():
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// check fails the test when a sweep saw two syncers, or a syncer on a box other than old before
// the kill and next after it; it returns how often each was seen.
func (s *syncSamples) check(t testing.TB, old, next string, killAt time.Time) (oldSeen, nextSeen int) {
	t.Helper()
	for _, sweep := range s.sweeps {
		if len(sweep) > 1 {
			t.Errorf("two boxes ran a syncer at once: %+v", sweep)
		}
		for _, x := range sweep {
			switch {
			case x.box == old && x.at.Before(killAt):
				oldSeen++
			case x.box == next && x.at.After(killAt):
				nextSeen++
			default:
				t.Errorf("%s ran a syncer at %s, %v from the kill (%s led before it, %s after)", x.box, x.at.Format(time.TimeOnly+".000"), x.at.Sub(killAt), old, next)
			}
		}
	}
	if oldSeen == 0 || nextSeen == 0 {
		t.Errorf("syncer seen on %s before the kill %d times, on %s after it %d times: want both", old, oldSeen, next, nextSeen)
	}
	return oldSeen, nextSeen
}

// hubDedupMetrics reads the hub's /metrics (loopback, over its TLS with its CA): how many records
// it received again (dedup hits) and how many it stored for the first time.
func hubDedupMetrics(t testing.TB, hubDir, hubAddr string) (dups, records int64) {
	t.Helper()
	ca, err := os.ReadFile(filepath.Join(hubDir, "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(ca) {
		t.Fatal("the hub's ca.crt holds no certificate")
	}
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := c.Get("https://" + hubAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	metric := func(name string) int64 {
		m := regexp.MustCompile(`(?m)^` + name + ` (\d+)$`).FindSubmatch(body)
		if m == nil {
			t.Fatalf("the hub's /metrics has no %s:\n%s", name, body)
		}
		n, _ := strconv.ParseInt(string(m[1]), 10, 64)
		return n
	}
	return metric("station_hub_records_duplicate_total"), metric("station_hub_records_ingested_total")
}
