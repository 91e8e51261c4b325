package samsim

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tarm/serial"

	"github.com/civic-station/station/devices/idcard/sam"
	"github.com/civic-station/station/station"
)

func newSim(t *testing.T, baud int) *Sim {
	t.Helper()
	s, err := New(Config{Link: filepath.Join(t.TempDir(), "ttySAM"), Baud: baud})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// port opens the simulator's link like a driver would.
func port(t *testing.T, s *Sim, baud int) *serial.Port {
	t.Helper()
	p, err := serial.OpenPort(&serial.Config{Name: s.Link(), Baud: baud, ReadTimeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// patient turns the port's read timeouts (io.EOF) into waiting, up to a deadline.
type patient struct {
	r        io.Reader
	deadline time.Time
}

var errQuiet = errors.New("no bytes before the deadline")

func (p *patient) Read(b []byte) (int, error) {
	for time.Now().Before(p.deadline) {
		n, err := p.r.Read(b)
		if n > 0 || (err != nil && err != io.EOF) {
			return n, err
		}
	}
	return 0, errQuiet
}

// exchange sends a command and returns the whole reply frame as bytes on the wire.
func exchange(t *testing.T, p *serial.Port, cmd sam.Command, wait time.Duration) ([]byte, error) {
	t.Helper()
	if _, err := p.Write(sam.EncodeCommand(cmd)); err != nil {
		t.Fatal(err)
	}
	body, err := sam.NewDecoder(&patient{r: p, deadline: time.Now().Add(wait)}).Next()
	if err != nil {
		return nil, err
	}
	return sam.EncodeFrame(body), nil
}

// goldenFrame reads a frame from the codec's golden files: the simulator must send exactly them.
func goldenFrame(t *testing.T, name string) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "idcard", "sam", "testdata", "frames", name+".hex"))
	if err != nil {
		t.Fatal(err)
	}
	var out []byte
	for _, f := range bytes.Fields(raw) {
		var b byte
		for _, c := range f {
			b <<= 4
			switch {
			case c >= '0' && c <= '9':
				b |= c - '0'
			case c >= 'A' && c <= 'F':
				b |= c - 'A' + 10
			}
		}
		out = append(out, b)
	}
	return out
}

func TestSimulatorSpeaksTheProtocolBytes(t *testing.T) {
	s := newSim(t, 115200)
	p := port(t, s, 115200)
	tests := []struct {
		name   string
		card   bool
		cmd    sam.Command
		golden string
	}{
		{"find card without a card answers 80", false, sam.CmdFindCard, "resp-find-card-none"},
		{"select without a card answers 81", false, sam.CmdSelectCard, "resp-select-failed"},
		{"SAM status answers 90", false, sam.CmdSAMStatus, "resp-sam-status-ok"},
		{"reset SAM answers 90", false, sam.CmdResetSAM, "resp-reset-ok"},
		{"read SAM ID answers 16 bytes", false, sam.CmdReadSAMID, "resp-sam-id"},
		{"find card with a card answers 9F", true, sam.CmdFindCard, "resp-find-card-found"},
		{"select with a card answers 90 and 8 bytes", true, sam.CmdSelectCard, "resp-select-ok"},
		{"read appended address answers 70 bytes", true, sam.CmdReadAppendAddress, "resp-read-address"},
	}
	card := SampleCards()[0]
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s.Remove()
			if tt.card {
				if err := s.Place(card); err != nil {
					t.Fatal(err)
				}
			}
			got, err := exchange(t, p, tt.cmd, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if want := goldenFrame(t, tt.golden); !bytes.Equal(got, want) {
				t.Fatalf("got % X\nwant % X", got, want)
			}
		})
	}
	t.Run("read text and photo returns the card's text block", func(t *testing.T) {
		if err := s.Place(card); err != nil {
			t.Fatal(err)
		}
		for _, cmd := range []sam.Command{sam.CmdReadText, sam.CmdReadTextFinger} {
			frame, err := exchange(t, p, cmd, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			r, err := sam.ParseResponse(frame[7 : len(frame)-1])
			if err != nil || r.Err() != nil {
				t.Fatal(err, r.Err())
			}
			cd, err := sam.ParseCardData(r.Data, cmd == sam.CmdReadTextFinger)
			if err != nil {
				t.Fatal(err)
			}
			got, err := sam.DecodeText(cd.Text)
			if err != nil || got.IDNumber != card.IDNumber || !bytes.Equal(cd.Photo, FakeWLT(card.IDNumber)) {
				t.Fatalf("decoded %v (%v)", got, err)
			}
		}
	})
	t.Run("an unknown command answers 21", func(t *testing.T) {
		frame, err := exchange(t, p, sam.Command{Cmd: 0x7E, Para: 0x01}, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if frame[9] != byte(sam.BadCommand) {
			t.Fatalf("SW3 %02X", frame[9])
		}
	})
	t.Run("a command with a bad checksum answers 10", func(t *testing.T) {
		bad := sam.EncodeCommand(sam.CmdFindCard)
		bad[len(bad)-1] ^= 1
		if _, err := p.Write(bad); err != nil {
			t.Fatal(err)
		}
		body, err := sam.NewDecoder(&patient{r: p, deadline: time.Now().Add(5 * time.Second)}).Next()
		if err != nil || body[2] != byte(sam.BadChecksum) {
			t.Fatalf("got % X, %v", body, err)
		}
	})
}

func TestSimulatorIgnoresAnotherBaudRate(t *testing.T) {
	s := newSim(t, 9600)
	p := port(t, s, 115200)
	if _, err := exchange(t, p, sam.CmdSAMStatus, 500*time.Millisecond); !errors.Is(err, errQuiet) {
		t.Fatalf("got %v, want silence", err)
	}
}

// TestSimulatorPacesToTheBaudRate checks the read reply is not faster than 9600 baud allows
// (1295 bytes × 10 bits). It bounds from below only: a busy machine can only make it slower.
func TestSimulatorPacesToTheBaudRate(t *testing.T) {
	s := newSim(t, 9600)
	p := port(t, s, 9600)
	if err := s.Place(SampleCards()[0]); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	frame, err := exchange(t, p, sam.CmdReadText, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	wire := time.Duration(len(frame)) * 10 * time.Second / 9600
	if took := time.Since(start); took < wire*9/10 {
		t.Errorf("%d bytes took %v, the line needs %v", len(frame), took, wire)
	}
}

func TestFaults(t *testing.T) {
	s := newSim(t, 115200)
	p := port(t, s, 115200)
	if err := s.Place(SampleCards()[0]); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		fault Fault
		cmd   sam.Command
		check func(t *testing.T, frame []byte, err error)
	}{
		{"a bad checksum fault corrupts the checksum", Fault{Kind: FaultBadChecksum, On: "find-card"}, sam.CmdFindCard,
			func(t *testing.T, _ []byte, err error) {
				if !errors.Is(err, sam.ErrChecksum) {
					t.Fatalf("got %v", err)
				}
			}},
		{"a garbage fault still delivers the frame after the noise", Fault{Kind: FaultGarbage}, sam.CmdFindCard,
			func(t *testing.T, frame []byte, err error) {
				if err != nil || frame[9] != byte(sam.CardFound) {
					t.Fatalf("got % X, %v", frame, err)
				}
			}},
		{"a silence fault sends nothing", Fault{Kind: FaultSilence}, sam.CmdFindCard,
			func(t *testing.T, _ []byte, err error) {
				if !errors.Is(err, errQuiet) {
					t.Fatalf("got %v", err)
				}
			}},
		{"a status fault sends that status", Fault{Kind: FaultStatus, On: "select-card", Status: sam.SAMNotAuthorised}, sam.CmdSelectCard,
			func(t *testing.T, frame []byte, err error) {
				if err != nil || frame[9] != byte(sam.SAMNotAuthorised) {
					t.Fatalf("got % X, %v", frame, err)
				}
			}},
		{"a fault for another command leaves this one alone", Fault{Kind: FaultSilence, On: "read-text-photo"}, sam.CmdFindCard,
			func(t *testing.T, frame []byte, err error) {
				if err != nil {
					t.Fatal(err)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := s.Inject(tt.fault); err != nil {
				t.Fatal(err)
			}
			frame, err := exchange(t, p, tt.cmd, 700*time.Millisecond)
			tt.check(t, frame, err)
			if err := p.Flush(); err != nil {
				t.Fatal(err)
			}
		})
	}
	t.Run("a card removed mid-read sends half the reply and the card is gone", func(t *testing.T) {
		s.mu.Lock()
		s.faults = nil
		s.mu.Unlock()
		if err := s.Inject(Fault{Kind: FaultRemoveMidRead, On: "read-text-photo"}); err != nil {
			t.Fatal(err)
		}
		_, err := exchange(t, p, sam.CmdReadText, time.Second)
		if !errors.Is(err, errQuiet) || s.HasCard() {
			t.Fatalf("got %v, card still there: %v", err, s.HasCard())
		}
	})
	t.Run("faults that make no sense are refused", func(t *testing.T) {
		for _, f := range []Fault{{Kind: "melt"}, {Kind: FaultStatus, Status: sam.OK}, {Kind: FaultSilence, On: "dance"}} {
			if err := s.Inject(f); err == nil {
				t.Errorf("fault %+v accepted", f)
			}
		}
	})
}

func TestUnplugRemovesTheLinkAndReplugRestoresIt(t *testing.T) {
	s := newSim(t, 115200)
	first := s.SlavePath()
	if target, err := os.Readlink(s.Link()); err != nil || target != first {
		t.Fatalf("link → %q, %v; want %s", target, err, first)
	}
	p := port(t, s, 115200)
	if err := s.Unplug(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(s.Link()); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("link still there: %v", err)
	}
	if _, err := p.Write(sam.EncodeCommand(sam.CmdFindCard)); err == nil {
		t.Error("writing to an unplugged reader succeeded")
	}
	if err := s.Replug(); err != nil {
		t.Fatal(err)
	}
	if !s.Plugged() || s.SlavePath() == "" {
		t.Fatal("not plugged after replug")
	}
	p2 := port(t, s, 115200)
	if frame, err := exchange(t, p2, sam.CmdFindCard, 5*time.Second); err != nil || frame[9] != byte(sam.FindFailed) {
		t.Fatalf("after replug: % X, %v", frame, err)
	}
}

func TestGeneratedCardsAreValid(t *testing.T) {
	today := station.Date{Year: 2026, Month: 11, Day: 24}
	for seed := uint64(0); seed < 200; seed++ {
		c := GenerateCard(seed, today)
		if err := station.ValidateIDNumber(station.IDResident, c.IDNumber); err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		if sex, _ := station.SexFromID(station.IDResident, c.IDNumber); sex != c.Sex {
			t.Fatalf("seed %d: sex %s but number says %s", seed, c.Sex, sex)
		}
		if b, _ := station.BirthDateFromID(station.IDResident, c.IDNumber); b != c.BirthDate {
			t.Fatalf("seed %d: birth date differs from the number", seed)
		}
		if _, err := sam.EncodeText(&c.IDCard); err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
	}
	if a, b := GenerateCard(7, today), GenerateCard(7, today); a.IDNumber != b.IDNumber {
		t.Error("the same seed gave different cards")
	}
	for _, c := range SampleCards() {
		if err := station.ValidateIDNumber(c.DocumentType(), c.IDNumber); err != nil {
			t.Errorf("sample %s: %v", c.Type, err)
		}
	}
}

func TestLoadCards(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name  string
		body  string
		cards int
		ok    bool
	}{
		{"one card object loads", `{"card_type":"resident","name":"李四","sex":"female","ethnicity_code":"03","birth_date":"1970-01-02","id_number":"110101197001020024","valid_to":"长期"}`, 1, true},
		{"an array of cards loads", `[{"card_type":"resident","name":"甲"},{"card_type":"foreign_pr_2017","name_en":"DOE, JANE"}]`, 2, true},
		{"a card whose name does not fit is refused", `{"name":"一二三四五六七八九十一二三四五六"}`, 0, false},
		{"a card with a bad date is refused", `{"birth_date":"1970-13-01"}`, 0, false},
		{"a file that is not JSON is refused", `name: 张三`, 0, false},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cards, err := LoadCards(write(string(rune('a'+i))+".json", tt.body))
			if (err == nil) != tt.ok || len(cards) != tt.cards {
				t.Fatalf("got %d cards, %v", len(cards), err)
			}
		})
	}
}

func TestControlSocket(t *testing.T) {
	dir := t.TempDir()
	link := filepath.Join(dir, "ttySAM")
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, RunConfig{Link: link, Ready: func(_, control string) { ready <- control }})
	}()
	var control string
	select {
	case control = <-ready:
	case err := <-done:
		t.Fatal(err)
	}
	send := func(req Request) Reply {
		t.Helper()
		rep, err := Send(context.Background(), control, req)
		if err != nil {
			t.Fatalf("%s: %v", req.Op, err)
		}
		return rep
	}
	card := SampleCards()[1]
	if rep := send(Request{Op: "place", Card: &card}); !rep.Card || !rep.Plugged || rep.Cards != 8 {
		t.Errorf("after place: %+v", rep)
	}
	if rep := send(Request{Op: "remove"}); rep.Card {
		t.Errorf("after remove: %+v", rep)
	}
	two, three := 2, 3
	if rep := send(Request{Op: "place", Index: &two}); !rep.Card || rep.Swapped {
		t.Errorf("after place by index: %+v", rep)
	}
	if rep := send(Request{Op: "place", Index: &three}); !rep.Card || !rep.Swapped {
		t.Errorf("a place on an occupied reader must say it swapped the cards: %+v", rep)
	}
	if rep := send(Request{Op: "fault", Fault: &Fault{Kind: FaultSilence, On: "find-card"}}); !rep.OK {
		t.Errorf("fault: %+v", rep)
	}
	if rep := send(Request{Op: "unplug"}); rep.Plugged {
		t.Errorf("after unplug: %+v", rep)
	}
	if rep := send(Request{Op: "replug"}); !rep.Plugged || rep.Path == "" {
		t.Errorf("after replug: %+v", rep)
	}
	nine := 9
	if _, err := Send(context.Background(), control, Request{Op: "place", Index: &nine}); err == nil {
		t.Error("placing card 9 of 8 succeeded")
	}
	if _, err := Send(context.Background(), control, Request{Op: "fly"}); err == nil {
		t.Error("an unknown op succeeded")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{link, control} {
		if _, err := os.Lstat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s left behind: %v", p, err)
		}
	}
}
