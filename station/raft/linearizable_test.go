package raft_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	hraft "github.com/hashicorp/raft"

	"github.com/civic-station/station/station"
	sraft "github.com/civic-station/station/station/raft"
)

// The linearizability check: clients take applications and move them along while the cluster loses
// boxes and leaders, every call is recorded with when it started and when its answer came, and
// porcupine searches for one order of the calls, each at a point between its start and its answer,
// that a single station applying them one by one would answer the same way.

// linDays are the days the commands are dated: each has its own sequence of numbers.
var linDays = [...]time.Time{testAt, testAt.Add(24 * time.Hour)}

// linApps is how many shared applications a day has. The clients work on a window of linWindow of
// them that moves on every linShift, so there are always some early in the flow to argue about.
const (
	linApps   = 40
	linWindow = 3
	linShift  = 300 * time.Millisecond
)

// linReason is the reason given with every transition (some need one).
const linReason = "材料已核"

var reviewer = station.Actor{Username: "reviewer1", Role: station.RoleReviewer}

// linActions are the transitions the clients try: on a commitment matter a reviewer may take each of
// them from some status, and two of them on the same application often conflict.
var linActions = []station.Action{station.ActionPreReview, station.ActionForward, station.ActionApprove, station.ActionReject,
	station.ActionReturn, station.ActionResubmit, station.ActionComplete, station.ActionWithdraw}

type linKind int

const (
	linIntake     linKind = iota // take an application: its number is the day's next
	linTransition                // move an application along
	linRead                      // an application's status, read once the cluster has settled
	linCount                     // how many numbers a day has issued, read once the cluster has settled
)

// linInput is an operation of the history.
type linInput struct {
	Kind   linKind
	Day    int            // index in linDays
	App    int            // a shared application of the day; -1 for an intake of a new one
	ID     string         // the application's ID
	Action station.Action // linTransition
}

// linOutput is what an operation answered.
type linOutput struct {
	Unknown bool           // no answer: the command may or may not have been applied
	Code    string         // the refusal's code; "" when it was applied
	Number  string         // linIntake: the number the application was given
	Status  station.Status // linRead; "" when the application does not exist
	Count   int            // linCount
}

// linState is one day of the station, as a single box applying the commands in order would have it.
type linState struct {
	issued int                     // numbers issued
	status [linApps]station.Status // the shared applications; "" before their intake
}

// linModel is the specification: an intake that is applied issues exactly the day's next number (so
// none is duplicated or skipped) and is refused as ECONFLICT when the application exists; a
// transition is applied or refused as the state machine (station.Transit) says for the application's
// status at that point, ENOTFOUND before its intake.
//
// An operation whose outcome is unknown returns at infinity: it may take effect at any point after its
// call, or never (a command that never reached the log). The model says so as a choice where the
// checker places it: applied there, or without effect — which is the same as placing it after
// everything else. Saying it as a choice (porcupine's nondeterministic model) spares the checker a
// search: a deterministic model would apply the operation wherever it is placed and find out only
// from the reads at the end that it should have gone last.
var linModel = (&porcupine.NondeterministicModel{
	Partition: func(history []porcupine.Operation) [][]porcupine.Operation {
		parts := make([][]porcupine.Operation, len(linDays))
		for _, op := range history {
			d := op.Input.(linInput).Day
			parts[d] = append(parts[d], op)
		}
		return parts
	},
	Init: func() []any { return []any{linState{}} },
	Step: func(state, input, output any) []any {
		s, in, out := state.(linState), input.(linInput), output.(linOutput)
		switch in.Kind {
		case linRead:
			if out.Status != s.status[in.App] {
				return nil
			}
			return []any{s}
		case linCount:
			if out.Count != s.issued {
				return nil
			}
			return []any{s}
		}
		next, code := linApply(s, in)
		switch {
		case out.Unknown && next != s:
			return []any{next, s}
		case out.Unknown:
			return []any{s}
		case out.Code != code:
			return nil
		case in.Kind == linIntake && code == "" && out.Number != station.ApplicationNumber(station.DateOf(linDays[in.Day]), next.issued):
			return nil
		}
		return []any{next}
	},
	DescribeOperation: func(input, output any) string {
		in, out := input.(linInput), output.(linOutput)
		var op, ans string
		switch in.Kind {
		case linIntake:
			op, ans = "intake "+in.ID, out.Number
		case linTransition:
			op, ans = string(in.Action)+" "+in.ID, "ok"
		case linRead:
			op, ans = "read "+in.ID, string(out.Status)
		case linCount:
			op, ans = "count", fmt.Sprint(out.Count)
		}
		switch {
		case out.Unknown:
			ans = "?"
		case out.Code != "":
			ans = out.Code
		case ans == "":
			ans = "-"
		}
		return op + " → " + ans
	},
	DescribeState: func(state any) string {
		s := state.(linState)
		var b strings.Builder
		fmt.Fprintf(&b, "issued %d", s.issued)
		for i, st := range s.status {
			if st != "" {
				fmt.Fprintf(&b, "; s%02d %s", i, st)
			}
		}
		return b.String()
	},
}).ToModel()

// linApply applies an intake or a transition to a day of the station, and returns the day after it
// and the refusal's code ("" when it is applied).
func linApply(s linState, in linInput) (linState, string) {
	next := s
	switch in.Kind {
	case linIntake:
		if in.App >= 0 && s.status[in.App] != "" {
			return s, station.ECONFLICT
		}
		next.issued++
		if in.App >= 0 {
			next.status[in.App] = station.StatusReceived
		}
	case linTransition:
		if s.status[in.App] == "" {
			return s, station.ENOTFOUND
		}
		t, err := station.Transit(station.KindCommitment, s.status[in.App], in.Action, reviewer.Role, linReason)
		if err != nil {
			return s, station.ErrorCode(err)
		}
		next.status[in.App] = t.To
	}
	return next, ""
}

// viaKey carries, in a submission's context, the box the client submitted through.
type viaKey struct{}

// forwarder carries a follower's command to the leader in process, as the cluster port does between
// stations (station/cluster.Service.Forward). A box that is down or cut off cannot forward or be
// forwarded to: that answers "try again", as a connection that fails does.
type forwarder struct {
	mu    sync.Mutex
	boxes []*box
	cut   map[string]bool
}

func (f *forwarder) Forward(ctx context.Context, leader string, cmd station.Command) (station.Result, uint64, error) {
	via, _ := ctx.Value(viaKey{}).(string)
	f.mu.Lock()
	var n *sraft.Node
	for _, b := range f.boxes {
		if b.id == leader {
			n = b.running()
		}
	}
	cut := f.cut[leader] || f.cut[via]
	f.mu.Unlock()
	if n == nil || cut {
		return station.Result{}, 0, fmt.Errorf("%w: %s is unreachable from %s", sraft.ErrForwardAgain, leader, via)
	}
	res, index, err := n.SubmitHere(ctx, cmd)
	if errors.Is(err, hraft.ErrNotLeader) {
		return station.Result{}, 0, fmt.Errorf("%w: %s is no longer the leader", sraft.ErrForwardAgain, leader)
	}
	return res, index, err
}

func (f *forwarder) setCut(b *box, cut bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cut[b.id] = cut
}

// history records the operations of the clients.
type history struct {
	start   time.Time
	mu      sync.Mutex
	ops     []porcupine.Operation
	unknown int            // operations recorded as never answered
	learnt  int            // operations whose outcome only a resubmission of the same command told
	causes  map[string]int // why outcomes were unknown
}

// now is the time since the start on the monotonic clock.
func (h *history) now() int64 { return int64(time.Since(h.start)) }

func (h *history) add(op porcupine.Operation, learnt bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.ops = append(h.ops, op)
	if op.Output.(linOutput).Unknown {
		h.unknown++
	}
	if learnt {
		h.learnt++
	}
}

func (h *history) cause(err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	cause := station.ErrorCode(err)
	var de *station.Error
	if errors.As(err, &de) && de.Detail != "" {
		cause, _, _ = strings.Cut(de.Detail, ":")
	}
	h.causes[cause]++
}

// linClient takes applications and moves them along through boxes of its choosing until stop.
type linClient struct {
	t       *testing.T
	c       *cluster
	h       *history
	id      int
	clients *atomic.Int64 // hands out new client IDs
	fresh   *atomic.Int64 // numbers the new applications' IDs
	sealed  station.SealedID
	last4   string

	walkAway bool // from the next operation whose outcome is unknown
}

func (cl *linClient) run(stop <-chan struct{}) {
	for {
		select {
		case <-stop:
			return
		default:
		}
		in := cl.pick()
		cmd, err := cl.command(in)
		if err != nil {
			cl.t.Error(err)
			return
		}
		call := cl.h.now()
		out, known := cl.submit(in, cmd)
		// The outcome is unknown: the command may still be applied. Every other time the client
		// submits the same command again, which applies it at most once and answers its outcome;
		// the other times it walks away, as a clerk who does not check may.
		tries := 0
		if !known {
			cl.walkAway = !cl.walkAway
		}
		for ; !known && !cl.walkAway && tries < 3; tries++ {
			out, known = cl.submit(in, cmd)
		}
		op := porcupine.Operation{ClientId: cl.id, Input: in, Call: call, Output: out, Return: cl.h.now()}
		if !known {
			// It is left pending for ever, and the client goes on as a new one (one operation at a
			// time per client).
			op.Return = math.MaxInt64
			cl.id = int(cl.clients.Add(1)) - 1
		}
		cl.h.add(op, known && tries > 0)
	}
}

// pick chooses the next operation: new applications, intakes of the shared ones (taken twice, the
// second is refused) and transitions of the shared ones.
func (cl *linClient) pick() linInput {
	in := linInput{Day: rand.N(len(linDays))}
	window := min(int(time.Since(cl.h.start)/linShift), linApps-linWindow)
	in.App = window + rand.N(linWindow)
	switch r := rand.N(100); {
	case r < 25:
		in.Kind, in.App = linIntake, -1
		in.ID = fmt.Sprintf("lin-%d-f%04d", in.Day, cl.fresh.Add(1))
		return in
	case r < 40:
		in.Kind = linIntake
	default:
		in.Kind, in.Action = linTransition, linActions[rand.N(len(linActions))]
	}
	in.ID = fmt.Sprintf("lin-%d-s%02d", in.Day, in.App)
	return in
}

func (cl *linClient) command(in linInput) (station.Command, error) {
	id := fmt.Sprintf("cmd-%07d", cmdSeq.Add(1))
	at := linDays[in.Day]
	if in.Kind == linTransition {
		return station.NewCommand(id, station.CmdApplicationTransition, at, reviewer,
			station.ApplicationTransition{ApplicationID: in.ID, Action: in.Action, Reason: linReason})
	}
	return station.NewCommand(id, station.CmdApplicationIntake, at, staff, station.ApplicationIntake{
		ApplicationID: in.ID, MatterCode: "MZ-001",
		Applicant: station.Applicant{IDNumber: cl.sealed, IDLast4: cl.last4, Name: "王小明"},
		Materials: []station.MaterialCheck{{Code: "M1", Provided: true}},
	})
}

// submit submits cmd once through a running box chosen at random, and says whether the outcome is
// known. An intake's number is filled in once the cluster has settled (numbers never change).
func (cl *linClient) submit(in linInput, cmd station.Command) (linOutput, bool) {
	var b *box
	var n *sraft.Node
	for n == nil {
		b = cl.c.boxes[rand.N(len(cl.c.boxes))]
		n = b.running()
	}
	ctx, cancel := context.WithTimeout(context.WithValue(context.Background(), viaKey{}, b.id), time.Second)
	defer cancel()
	res, err := n.Submit(ctx, cmd)
	var de *station.Error
	switch {
	case err == nil:
		if res.ObjectID != in.ID {
			cl.t.Errorf("%s %s answered the object %q", cmd.Kind, in.ID, res.ObjectID)
		}
		return linOutput{}, true
	case errors.As(err, &de) && (de.Code == station.ECONFLICT || de.Code == station.ENOTFOUND):
		return linOutput{Code: de.Code}, true
	case errors.As(err, &de) && de.Code != station.EUNAVAILABLE:
		cl.t.Errorf("%s %s through %s: an answer the model has no room for: %v", cmd.Kind, in.ID, b.id, err)
	}
	cl.h.cause(err)
	return linOutput{Unknown: true}, false
}

func TestIntakesAndTransitionsUnderFaultsAreLinearizable(t *testing.T) {
	const (
		clients = 6
		faults  = 9 * time.Second
	)
	fw := &forwarder{cut: map[string]bool{}}
	c := newCluster(t, 3, 0, sraft.Config{Forwarder: fw})
	fw.mu.Lock()
	fw.boxes = c.boxes
	fw.mu.Unlock()
	number := validNumber(7)
	sealed, err := key.Seal(station.IDResident, number)
	if err != nil {
		t.Fatal(err)
	}

	h := &history{start: time.Now(), causes: map[string]int{}}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var ids, fresh atomic.Int64
	ids.Store(clients)
	for i := range clients {
		cl := &linClient{t: t, c: c, h: h, id: i, clients: &ids, fresh: &fresh, sealed: sealed, last4: station.IDLast4(number)}
		wg.Go(func() { cl.run(stop) })
	}
	stopped := false
	stopClients := func() {
		if !stopped {
			stopped = true
			close(stop)
			wg.Wait()
		}
	}
	defer stopClients() // also when a fault below fails the test

	// The faults, one at a time: the leader cut off, a follower cut off, the leader's power gone.
	pause := func() { time.Sleep(time.Duration(150+rand.N(250)) * time.Millisecond) }
	var done []string
	for i := 0; time.Since(h.start) < faults; i++ {
		pause()
		l := c.leader(5 * time.Second)
		switch i % 3 {
		case 0:
			fw.setCut(l, true)
			c.cut(l)
			pause()
			c.heal(l)
			fw.setCut(l, false)
			done = append(done, "cut leader "+l.id)
		case 1:
			f := c.boxes[rand.N(len(c.boxes))]
			for f == l {
				f = c.boxes[rand.N(len(c.boxes))]
			}
			fw.setCut(f, true)
			c.cut(f)
			pause()
			c.heal(f)
			fw.setCut(f, false)
			done = append(done, "cut follower "+f.id)
		case 2:
			c.kill(l)
			pause()
			c.up(l, true)
			done = append(done, "killed leader "+l.id)
		}
	}
	stopClients()
	c.settle(15 * time.Second)
	ops := h.ops
	t.Logf("faults: %s", strings.Join(done, ", "))
	t.Logf("%d operations, %d answered only when resubmitted, %d never answered; unknown outcomes by cause %v",
		len(ops), h.learnt, h.unknown, h.causes)
	if len(ops) < 200 {
		t.Fatalf("only %d operations: too few for the check to mean much", len(ops))
	}

	// Every box holds the same applications, and each day's numbers run from 1 with no gap and no
	// number twice; the audit chains are whole and as long.
	ctx := context.Background()
	held := make([]map[string]station.Application, len(c.boxes)) // by number
	var audit0 station.AuditReport
	for i, b := range c.boxes {
		audit, err := b.db.VerifyAudit(ctx)
		if err != nil || !audit.OK {
			t.Fatalf("%s: audit chain %+v %v", b.id, audit, err)
		}
		if i == 0 {
			audit0 = audit
		} else if audit.Entries != audit0.Entries {
			t.Fatalf("%s has %d audit entries, %s %d", b.id, audit.Entries, c.boxes[0].id, audit0.Entries)
		}
		held[i] = map[string]station.Application{}
		for _, day := range linDays {
			d := station.DateOf(day)
			_, total, err := b.db.Applications(ctx, station.ApplicationFilter{Query: dayPrefix(day), Limit: 1})
			if err != nil {
				t.Fatal(err)
			}
			for seq := 1; seq <= total; seq++ {
				a, err := b.db.ApplicationByNumber(ctx, station.ApplicationNumber(d, seq))
				if err != nil {
					t.Fatalf("%s holds %d applications of %s but not the number %d: %v", b.id, total, d, seq, err)
				}
				held[i][a.Number] = *a
			}
		}
		if i == 0 {
			continue
		}
		if len(held[i]) != len(held[0]) {
			t.Fatalf("%s holds %d applications, %s %d", b.id, len(held[i]), c.boxes[0].id, len(held[0]))
		}
		for num, a := range held[0] {
			if o := held[i][num]; o.ID != a.ID || o.Status != a.Status {
				t.Fatalf("%s: %s is %s (%s), on %s %s (%s)", b.id, num, o.ID, o.Status, c.boxes[0].id, a.ID, a.Status)
			}
		}
	}
	byID := map[string]station.Application{}
	for _, a := range held[0] {
		byID[a.ID] = a
	}
	if len(byID) != len(held[0]) {
		t.Fatalf("%d numbers for %d applications", len(held[0]), len(byID))
	}

	// The numbers the applied intakes issued, and what the settled cluster holds, read at the end.
	for i, op := range ops {
		in, out := op.Input.(linInput), op.Output.(linOutput)
		if in.Kind == linIntake && !out.Unknown && out.Code == "" {
			a, ok := byID[in.ID]
			if !ok {
				t.Errorf("the acknowledged intake of %s is lost", in.ID)
			}
			out.Number = a.Number
			ops[i].Output = out
		}
	}
	end, reader := h.now(), int(ids.Add(1))-1
	for day := range linDays {
		ops = append(ops, porcupine.Operation{ClientId: reader, Input: linInput{Kind: linCount, Day: day},
			Call: end, Output: linOutput{Count: countDay(held[0], linDays[day])}, Return: end})
		for app := range linApps {
			id := fmt.Sprintf("lin-%d-s%02d", day, app)
			ops = append(ops, porcupine.Operation{ClientId: reader, Input: linInput{Kind: linRead, Day: day, App: app, ID: id},
				Call: end, Output: linOutput{Status: byID[id].Status}, Return: end})
		}
	}

	checking := time.Now()
	res, info := porcupine.CheckOperationsVerbose(linModel, ops, 30*time.Second)
	t.Logf("the checker answered %s in %v", res, time.Since(checking).Round(time.Millisecond))
	if res != porcupine.Ok {
		path := filepath.Join(t.ArtifactDir(), "linearizability.html")
		if err := porcupine.VisualizePath(linModel, info, path); err != nil {
			t.Errorf("visualize: %v", err)
		}
		t.Logf("the history and the longest linearizations found: %s (kept with go test -artifacts)", path)
		switch res {
		case porcupine.Illegal:
			t.Fatalf("the history of %d operations is not linearizable", len(ops))
		default:
			t.Fatalf("the checker could not decide within 30 s (%s)", res)
		}
	}
}

// dayPrefix is the part of the numbers of day that the day's applications share: SQ20261124-.
func dayPrefix(day time.Time) string {
	num := station.ApplicationNumber(station.DateOf(day), 0)
	return num[:strings.LastIndexByte(num, '-')+1]
}

// countDay counts the applications numbered on day.
func countDay(held map[string]station.Application, day time.Time) int {
	n := 0
	for num := range held {
		if strings.HasPrefix(num, dayPrefix(day)) {
			n++
		}
	}
	return n
}

// The checker can fail: hand-built histories a correct station could not have produced are
// refused, and the ones it could have are accepted.
func TestTheLinearizabilityModelRejectsADuplicateNumber(t *testing.T) {
	num := func(seq int) string { return station.ApplicationNumber(station.DateOf(linDays[0]), seq) }
	intake := func(id string) linInput { return linInput{Kind: linIntake, App: -1, ID: id} }
	shared := func(app int) linInput { return linInput{Kind: linIntake, App: app, ID: fmt.Sprintf("s%02d", app)} }
	move := func(app int, a station.Action) linInput {
		return linInput{Kind: linTransition, App: app, ID: fmt.Sprintf("s%02d", app), Action: a}
	}
	op := func(client int, in linInput, call int64, out linOutput, ret int64) porcupine.Operation {
		return porcupine.Operation{ClientId: client, Input: in, Call: call, Output: out, Return: ret}
	}
	ok := linOutput{}
	forwardedS0 := []porcupine.Operation{
		op(0, shared(0), 0, linOutput{Number: num(1)}, 1),
		op(0, move(0, station.ActionPreReview), 2, ok, 3),
		op(0, move(0, station.ActionForward), 4, ok, 5),
	}
	for _, tc := range []struct {
		name string
		ops  []porcupine.Operation
		want porcupine.CheckResult
	}{
		{"two concurrent intakes that issued the same number are refused", []porcupine.Operation{
			op(0, intake("a"), 0, linOutput{Number: num(1)}, 10),
			op(1, intake("b"), 1, linOutput{Number: num(1)}, 11),
		}, porcupine.Illegal},
		{"concurrent intakes may take their numbers in either order", []porcupine.Operation{
			op(0, intake("a"), 0, linOutput{Number: num(2)}, 10),
			op(1, intake("b"), 1, linOutput{Number: num(1)}, 11),
		}, porcupine.Ok},
		{"a later intake that got an earlier number is refused", []porcupine.Operation{
			op(0, intake("a"), 0, linOutput{Number: num(2)}, 1),
			op(1, intake("b"), 2, linOutput{Number: num(1)}, 3),
		}, porcupine.Illegal},
		{"a skipped number is refused", []porcupine.Operation{
			op(0, intake("a"), 0, linOutput{Number: num(1)}, 1),
			op(0, intake("b"), 2, linOutput{Number: num(3)}, 3),
		}, porcupine.Illegal},
		{"an intake never answered may have taken the number skipped", []porcupine.Operation{
			op(0, intake("a"), 0, linOutput{Number: num(1)}, 1),
			op(1, intake("x"), 1, linOutput{Unknown: true}, math.MaxInt64),
			op(0, intake("b"), 2, linOutput{Number: num(3)}, 3),
		}, porcupine.Ok},
		{"an intake never answered may not have been applied at all", []porcupine.Operation{
			op(1, intake("x"), 0, linOutput{Unknown: true}, math.MaxInt64),
			op(0, intake("a"), 1, linOutput{Number: num(1)}, 2),
			op(0, linInput{Kind: linCount}, 3, linOutput{Count: 1}, 3),
		}, porcupine.Ok},
		{"an application approved and rejected by two reviewers is refused", append(forwardedS0[:3:3],
			op(1, move(0, station.ActionApprove), 6, ok, 9),
			op(2, move(0, station.ActionReject), 7, ok, 8),
		), porcupine.Illegal},
		{"of two concurrent decisions one wins and the other conflicts", append(forwardedS0[:3:3],
			op(1, move(0, station.ActionApprove), 6, ok, 9),
			op(2, move(0, station.ActionReject), 7, linOutput{Code: station.ECONFLICT}, 8),
			op(0, linInput{Kind: linRead, App: 0}, 10, linOutput{Status: station.StatusApproved}, 10),
		), porcupine.Ok},
		{"a transition that did not find an application taken before it is refused", []porcupine.Operation{
			op(0, shared(1), 0, linOutput{Number: num(1)}, 1),
			op(1, move(1, station.ActionPreReview), 2, linOutput{Code: station.ENOTFOUND}, 3),
		}, porcupine.Illegal},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := porcupine.CheckOperationsTimeout(linModel, tc.ops, 5*time.Second); got != tc.want {
				t.Fatalf("the checker answers %s, want %s", got, tc.want)
			}
		})
	}
}
