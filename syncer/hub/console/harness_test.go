package console_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/civic-station/station/devices/scan"
	"github.com/civic-station/station/station"
	"github.com/civic-station/station/station/argon2id"
	"github.com/civic-station/station/station/blob"
	"github.com/civic-station/station/station/datakey"
	"github.com/civic-station/station/station/revealkey"
	"github.com/civic-station/station/station/sqlite"
	"github.com/civic-station/station/syncer"
	"github.com/civic-station/station/syncer/hub"
	"github.com/civic-station/station/syncer/hub/console"
	hubsqlite "github.com/civic-station/station/syncer/hub/sqlite"
)

// password is every test account's password.
const password = "correct horse battery"

// clock is a clock the tests move by hand. It starts at the real time, because TLS checks
// certificates against the real clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// env is a real hub (sync server and console on 127.0.0.1:0, SQLite store in a temporary directory)
// and one real station enrolled with it.
type env struct {
	t         *testing.T
	clock     *clock
	store     *hubsqlite.Store
	revealKey *revealkey.PrivateKey
	hub       *hub.Server
	console   *console.Server

	db    *sqlite.DB
	key   *datakey.Key
	blobs *blob.Store
	id    *syncer.Identity
	sy    *syncer.Syncer
	n     atomic.Int64
}

var (
	systemActor   = station.Actor{Username: "system", Role: station.RoleSystem}
	staffActor    = station.Actor{Username: "counter1", Role: station.RoleStaff}
	reviewerActor = station.Actor{Username: "review1", Role: station.RoleReviewer}
	hasher        = argon2id.Hasher{Params: argon2id.TestParams}
)

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	e := &env{t: t, clock: &clock{now: time.Now().UTC().Truncate(time.Second)}}
	logger := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))

	hubDir := t.TempDir()
	var err error
	if e.store, err = hubsqlite.Open(ctx, filepath.Join(hubDir, "hub.db")); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.store.Close() })
	ca, err := hub.LoadOrCreateCA(hubDir, e.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	hubBlobs, err := hub.OpenBlobStore(filepath.Join(hubDir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	if e.revealKey, err = revealkey.Load(filepath.Join(hubDir, revealkey.FileName)); err != nil {
		t.Fatal(err)
	}
	e.hub = hub.New(hub.Config{Store: e.store, Blobs: hubBlobs, CA: ca, Now: e.clock.Now, Logger: logger, RevealKey: e.revealKey.Public()})
	if err := e.hub.Open("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.hub.Close() })
	e.console = console.New(console.Config{Store: e.store, Blobs: hubBlobs, Hasher: hasher, Decisions: e.hub, Revealer: e.revealKey,
		Now: e.clock.Now, Logger: logger})
	if err := e.console.Open("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.console.Close() })
	for _, u := range []hub.User{
		{Username: "minzheng", DisplayName: "民政局审批", Role: hub.RoleClerk, Department: "区民政局"},
		{Username: "renshe", DisplayName: "人社局审批", Role: hub.RoleClerk, Department: "区人社局"},
		{Username: "cityadmin", DisplayName: "市级管理员", Role: hub.RoleAdmin},
	} {
		if u.PasswordHash, err = hasher.Hash(password); err != nil {
			t.Fatal(err)
		}
		u.CreatedAt = e.clock.Now()
		if err := e.store.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}

	dir := t.TempDir()
	if e.db, err = sqlite.Open(ctx, filepath.Join(dir, "station.db")); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.db.Close() })
	if e.key, err = datakey.Load(filepath.Join(dir, "datakey")); err != nil {
		t.Fatal(err)
	}
	if e.blobs, err = blob.Open(dir, blob.Options{}); err != nil {
		t.Fatal(err)
	}
	e.submit(station.CmdCatalogImport, systemActor, station.CatalogImport{Matters: []station.Matter{
		{Code: "MZ-001", Name: "最低生活保障申请", Department: "区民政局", Category: "社会救助", Kind: station.KindCommitment,
			TimeLimitDays: 20, FeeNote: "不收费", Location: "一号窗口", Status: station.MatterActive, Version: 1,
			Materials: []station.Material{{Code: "M1", Name: "居民身份证", Required: true}, {Code: "M2", Name: "收入证明", Required: true}}},
		{Code: "RS-002", Name: "就业困难人员认定", Department: "区人社局", Category: "就业创业", Kind: station.KindCommitment,
			TimeLimitDays: 10, FeeNote: "不收费", Location: "二号窗口", Status: station.MatterActive, Version: 1,
			Materials: []station.Material{{Code: "M1", Name: "居民身份证", Required: true}}},
	}})
	tok, err := e.hub.CreateToken(ctx, "幸福里服务站", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if e.id, err = syncer.Enroll(ctx, e.hub.URL(), tok, dir, "test"); err != nil {
		t.Fatal(err)
	}
	if e.sy, err = syncer.New(syncer.Config{Store: e.db, Identity: e.id, Blobs: e.blobs, Now: e.clock.Now, Logger: logger, Version: "test",
		HubKeys: e.key}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.sy.Close() })
	return e
}

func (e *env) submit(kind station.CommandKind, actor station.Actor, payload any) {
	e.t.Helper()
	cmd, err := station.NewCommand(fmt.Sprintf("cmd-%06d", e.n.Add(1)), kind, e.clock.Now(), actor, payload)
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.db.Submit(context.Background(), cmd); err != nil {
		e.t.Fatalf("%s: %v", kind, err)
	}
}

// applicantNumber is the ID number of every applicant intake uses.
const applicantNumber = "110101199003070018"

// intake takes an application for a matter, for an applicant with the given name.
func (e *env) intake(matter, name string) string {
	e.t.Helper()
	number := applicantNumber
	sealed, err := station.SealApplicant(e.key, station.IDResident, number)
	if err != nil {
		e.t.Fatal(err)
	}
	id := fmt.Sprintf("app-%06d", e.n.Add(1))
	materials := []station.MaterialCheck{{Code: "M1", Provided: true}}
	if matter == "MZ-001" {
		materials = append(materials, station.MaterialCheck{Code: "M2", Provided: true})
	}
	e.submit(station.CmdApplicationIntake, staffActor, station.ApplicationIntake{ApplicationID: id, MatterCode: matter,
		Applicant: station.Applicant{IDNumber: sealed, IDLast4: station.IDLast4(number), Name: name, Phone: "13800001111"},
		Materials: materials})
	return id
}

// forward takes an application through initial review to the department.
func (e *env) forward(id string) {
	e.t.Helper()
	e.submit(station.CmdApplicationTransition, reviewerActor, station.ApplicationTransition{ApplicationID: id, Action: station.ActionPreReview})
	e.submit(station.CmdApplicationTransition, reviewerActor, station.ApplicationTransition{ApplicationID: id, Action: station.ActionForward})
}

// attachScan puts a scanned PDF of the given pages on material M1, as the counter's scan does.
func (e *env) attachScan(id string, pages int) string {
	e.t.Helper()
	var jpegs [][]byte
	for i := range pages {
		img := image.NewGray(image.Rect(0, 0, 210, 297))
		for y := range 297 {
			for x := range 210 {
				img.SetGray(x, y, color.Gray{Y: uint8(255 - (x+y+40*i)%64)})
			}
		}
		var b bytes.Buffer
		if err := jpeg.Encode(&b, img, nil); err != nil {
			e.t.Fatal(err)
		}
		jpegs = append(jpegs, b.Bytes())
	}
	pdf, err := scan.PDF(jpegs)
	if err != nil {
		e.t.Fatal(err)
	}
	sha, _, err := e.blobs.Put(bytes.NewReader(pdf))
	if err != nil {
		e.t.Fatal(err)
	}
	e.submit(station.CmdApplicationMaterials, staffActor, station.ApplicationMaterials{ApplicationID: id,
		Materials: []station.MaterialCheck{{Code: "M1", Provided: true, BlobSHA: sha}, {Code: "M2", Provided: true}}})
	return sha
}

// sync runs one round of the station's syncer: records and blobs up, the feed down.
func (e *env) sync() {
	e.t.Helper()
	if err := e.sy.SyncOnce(context.Background()); err != nil {
		e.t.Fatalf("sync: %v", err)
	}
}

// response is an answer from the console.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

func (r response) code(t *testing.T) string {
	t.Helper()
	var e struct{ Code string }
	r.json(t, &e)
	return e.Code
}

// do sends a request to the console with a Bearer token ("" for none); a string body is sent as is.
func (e *env) do(method, path, token string, body any) response {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		enc, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(enc)
	}
	req, err := http.NewRequest(method, e.console.URL()+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

func (e *env) login(username string) string {
	e.t.Helper()
	r := e.do("POST", "/console/api/sessions", "", map[string]string{"username": username, "password": password})
	if r.status != http.StatusCreated {
		e.t.Fatalf("login %s: %d %s", username, r.status, r.body)
	}
	var out struct{ Token string }
	r.json(e.t, &out)
	return out.Token
}
