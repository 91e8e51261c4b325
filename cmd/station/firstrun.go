package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/civic-station/station/internal/setupcode"
	"github.com/civic-station/station/station"
	"github.com/civic-station/station/station/argon2id"
	shttp "github.com/civic-station/station/station/http"
	"github.com/civic-station/station/syncer"
)

// The first-run setup of a real station (README “首次设置”): a station started without --demo on a
// data directory without accounts serves the setup wizard at /setup. The box's own screen needs
// nothing; a computer on the LAN needs the one-time setup code, which `station service install`,
// `station run` and `station setup code` make and print (it is stored only hashed, in
// DATA/setup-code.json). The HTTP side is in station/http (setup.go); this file is the station's side:
// the code, the enrollment, and putting the settings to use without a restart.

// firstRun implements shttp.FirstRun for a running station.
type firstRun struct{ m *Main }

var _ shttp.FirstRun = firstRun{}

// CheckCode checks typed against the setup code; an expired or missing code is replaced, and the new
// one logged.
func (f firstRun) CheckCode(typed string) (bool, error) {
	m := f.m
	ok, err := setupcode.Check(m.DataDir, m.Hasher, typed, m.Now())
	if errors.Is(err, setupcode.ErrNoCode) {
		return false, m.replaceSetupCode()
	}
	return ok, err
}

// replaceSetupCode makes a new setup code in place of an expired or missing one and logs it, which is
// where a technician finds it (journalctl -u station).
func (m *Main) replaceSetupCode() error {
	code, err := setupcode.Rotate(m.DataDir, m.Hasher, m.Now())
	if err != nil {
		return err
	}
	m.Logger.Warn("the setup code had expired or was missing; a new setup code was made", "setup_code", setupcode.Format(code),
		"valid_for", setupcode.TTL.String())
	return nil
}

// setupCodeCheck is how often a station waiting for its first-run setup looks for an expired code.
const setupCodeCheck = time.Minute

// watchSetupCode replaces the setup code when it expires, until the setup is done or ctx ends. Run
// starts it on a real station.
func (m *Main) watchSetupCode(ctx context.Context) {
	if m.Demo {
		return
	}
	m.bg.Add(1)
	go func() {
		defer m.bg.Done()
		tick := time.NewTicker(setupCodeCheck)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			done, err := m.renewSetupCode(ctx)
			if err != nil {
				m.Logger.Warn("renew the setup code", "err", err)
			} else if done {
				return
			}
		}
	}()
}

// renewSetupCode replaces an expired or missing setup code while the first-run setup is pending. It
// reports whether the setup is done (nothing more to renew).
func (m *Main) renewSetupCode(ctx context.Context) (done bool, err error) {
	pending, err := m.firstRunPending(ctx)
	if err != nil || !pending {
		return err == nil, err
	}
	valid, _, err := setupcode.Valid(m.DataDir, m.Now())
	if err != nil || valid {
		return false, err
	}
	return false, m.replaceSetupCode()
}

// Enroll enrolls the station with the data center, as `station enroll` does. A station enrolled
// already (a setup that enrolled and then failed to commit, tried again) keeps its identity.
func (f firstRun) Enroll(ctx context.Context, hubURL, token string) (shttp.Enrollment, error) {
	if id, err := syncer.LoadIdentity(f.m.DataDir); err == nil {
		f.m.Logger.Info("the setup wizard found the station enrolled already", "station", id.StationID)
		return shttp.Enrollment{StationID: id.StationID, StationName: id.StationName}, nil
	} else if !errors.Is(err, syncer.ErrNotEnrolled) {
		return shttp.Enrollment{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	id, err := syncer.Enroll(ctx, hubURL, token, f.m.DataDir, f.m.Version)
	if err != nil {
		return shttp.Enrollment{}, err
	}
	f.m.Logger.Info("enrolled with the data center by the setup wizard", "hub", hubURL, "station", id.StationID)
	return shttp.Enrollment{StationID: id.StationID, StationName: id.StationName}, nil
}

// Completed invalidates the setup code, gives the certificates the station's name and community (and,
// after an enrollment, the key for its new ID) and starts the syncer when the station is enrolled.
func (f firstRun) Completed(ctx context.Context, _ station.StationSettings) (bool, error) {
	m := f.m
	errCode := setupcode.Remove(m.DataDir)
	info, err := m.certStation(ctx)
	if err != nil {
		return false, errors.Join(errCode, err)
	}
	if err := m.Certs.SetStation(info); err != nil {
		return false, errors.Join(errCode, err)
	}
	if err := m.startCertificates(ctx); err != nil {
		return false, errors.Join(errCode, fmt.Errorf("certificate signing key: %w", err))
	}
	syncing, err := m.restartSyncer(ctx)
	return syncing, errors.Join(errCode, err)
}

// restartSyncer starts the syncer anew (a station just enrolled) and reports whether one runs.
func (m *Main) restartSyncer(ctx context.Context) (bool, error) {
	if _, err := syncer.LoadIdentity(m.DataDir); errors.Is(err, syncer.ErrNotEnrolled) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	m.syncMu.Lock()
	defer m.syncMu.Unlock()
	if m.stopSync != nil {
		m.stopSync()
		m.stopSync = nil
	}
	if !m.Log.IsLeader() {
		return false, nil // the leader syncs (leadershipChanged)
	}
	stop, err := startSyncer(ctx, m.DataDir, m.store(), m.Blobs, m.Logger, m.Now, m.syncOptions()...)
	if err != nil {
		m.stopSync = nil
		return false, err
	}
	m.stopSync = stop
	return true, nil
}

// firstRunPending reports whether the station waits for its first-run setup: not the demo, and no
// account yet.
func (m *Main) firstRunPending(ctx context.Context) (bool, error) {
	if m.Demo {
		return false, nil
	}
	users, err := m.DB.Users(ctx)
	return len(users) == 0, err
}

// setupBanner prints how to reach the first-run wizard. A valid code cannot be printed again (only
// its hash is kept): it says where it was shown and how to make a new one. A missing or expired code
// is replaced and printed.
func (m *Main) setupBanner(w io.Writer) error {
	u := m.URL()
	ok, until, err := setupcode.Valid(m.DataDir, m.Now())
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "首次设置：本站还没有任何账号。在本机屏幕打开 %s/setup 即可开始；\n", u)
	lan := "从局域网内的电脑设置"
	if h := m.HTTPSURL(); h != "" {
		lan = "从局域网内的电脑打开 " + h + "/setup 设置"
	}
	if ok {
		fmt.Fprintf(w, "  %s需输入设置码（安装服务时已显示，%s 前有效）。\n  忘记了设置码：在本机运行 station setup code --data %s 生成新的设置码。\n",
			lan, until.In(station.ChinaTime).Format("2006-01-02 15:04"), m.DataDir)
		m.Logger.Info("first-run setup pending", "setup", u+"/setup", "setup_code_valid_until", until)
		return nil
	}
	code, err := setupcode.Rotate(m.DataDir, m.Hasher, m.Now())
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "  %s需输入设置码：%s（%s内有效，只显示这一次）\n", lan, setupcode.Format(code), durationCN(setupcode.TTL))
	m.Logger.Info("first-run setup pending", "setup", u+"/setup", "setup_code", setupcode.Format(code), "valid_for", setupcode.TTL.String())
	return nil
}

// durationCN writes a whole number of hours in Chinese.
func durationCN(d time.Duration) string { return fmt.Sprintf("%d小时", int(d.Hours())) }

// setupCommand runs `station setup code --data DIR`: it makes a new setup code (the old one stops
// working) and prints it, while the station still waits for its first-run setup.
func setupCommand(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	const usage = "用法：station setup code [--data DIR]    生成新的首次设置码（旧的设置码随即失效）\n"
	if isHelp(args) {
		fmt.Fprint(stdout, usage)
		return 0
	}
	if len(args) == 0 || args[0] != "code" {
		fmt.Fprint(stderr, usage)
		return 2
	}
	fs, dir := dataFlags("station setup code", stderr, nil)
	if err := fs.Parse(args[1:]); err != nil {
		return flagExit(err)
	}
	if _, err := os.Stat(filepath.Join(*dir, "station.db")); err == nil {
		db, err := openStationDB(ctx, *dir)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		users, err := db.Users(ctx)
		db.Close()
		if err != nil {
			fmt.Fprintf(stderr, "读取账号失败：%v\n", err)
			return 1
		}
		if len(users) > 0 {
			fmt.Fprintln(stderr, station.ErrSetupDone().Message)
			return 1
		}
	} else if _, err := os.Stat(*dir); err != nil {
		fmt.Fprintf(stderr, "找不到数据目录 %s：%v\n", *dir, err)
		return 1
	}
	code, err := newSetupCode(*dir, time.Now())
	if err != nil {
		fmt.Fprintf(stderr, "生成设置码失败：%v\n", err)
		return 1
	}
	printSetupCode(stdout, code)
	return 0
}

// newSetupCode makes a new setup code in dir with the production hashing parameters; the file gets
// the owner of dir (the service's user when root runs the command).
func newSetupCode(dir string, now time.Time) (string, error) {
	code, err := setupcode.Rotate(dir, argon2id.Hasher{}, now)
	if err != nil {
		return "", err
	}
	if err := copyOwner(dir, setupcode.Path(dir)); err != nil {
		return "", err
	}
	return code, nil
}

func printSetupCode(w io.Writer, code string) {
	fmt.Fprintf(w, "首次设置码：%s（%s内有效，只显示这一次；旧的设置码已失效）\n"+
		"  在本机屏幕打开 /setup 无需设置码；从局域网内的电脑打开 https://本机地址:8443/setup 时输入它。\n",
		setupcode.Format(code), durationCN(setupcode.TTL))
}
