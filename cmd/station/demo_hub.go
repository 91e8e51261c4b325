package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"runtime/debug"
	"sort"
	"time"

	"github.com/civic-station/station/station"
	"github.com/civic-station/station/syncer"
	"github.com/civic-station/station/syncer/hub"
)

// The demo's closed loop: `station run --demo` also runs a data center in the same process, with its
// data under DATA/hub, its sync listener on a free loopback port and its department console on
// --hub-console. The station enrolls with it on first start (its identity stays in DATA/sync, so a
// restart reuses it) and syncs every demoSyncInterval, so that a forwarded application reaches the
// console within seconds and the department's decision comes back as quickly.

// defaultHubConsole is where the demo's department console listens unless --hub-console says otherwise.
const defaultHubConsole = "127.0.0.1:8081"

// demoSyncInterval is the demo station's time between sync rounds (a real station waits 30 s).
const demoSyncInterval = 2 * time.Second

// demoStationName is the name the demo station enrolls under.
const demoStationName = "幸福社区服务站（演示）"

// demoDepartmentUsers names the console account of each department of the demo catalog that decides
// applications (has commitment matters): readable pinyin of the department.
var demoDepartmentUsers = map[string]string{
	"区民政局":        "minzheng",
	"区人力资源和社会保障局": "renshe",
	"区住房和城乡建设局":   "zhujian",
	"区公安分局":       "gongan",
	"区医疗保障局":      "yibao",
	"区卫生健康局":      "weijian",
	"区司法局":        "sifa",
	"区残疾人联合会":     "canlian",
	"区退役军人事务局":    "tuiyi",
	// The departments that verify certificates (the 证明核实 matters).
	"街道办事处社会事务办（民政）": "jdminzheng",
	"街道办事处卫生健康办（计生）": "jdjisheng",
	"街道劳动保障事务所":      "jdlaobao",
	"区就业创业服务中心":      "jiuye",
	"街道司法所":          "sifasuo",
	"街道人民武装部":        "wuzhuang",
	"街道办事处住房保障办":     "jdzhufang",
	"街道残疾人联合会":       "jdcanlian",
}

// demoHubUsers are the console accounts the demo hub gets: one clerk per department with commitment
// matters in the demo catalog, and the city administrator. It fails when the catalog names a
// department that demoDepartmentUsers does not know.
func demoHubUsers() ([]hub.User, error) {
	var matters []station.Matter
	if err := decodeStrict(demoCatalog, &matters); err != nil {
		return nil, fmt.Errorf("demo/catalog.json: %w", err)
	}
	seen := map[string]bool{}
	var users []hub.User
	for _, m := range matters {
		if m.Kind != station.KindCommitment || seen[m.Department] {
			continue
		}
		seen[m.Department] = true
		name, ok := demoDepartmentUsers[m.Department]
		if !ok {
			return nil, fmt.Errorf("demo hub: no console account for the department %q of matter %s", m.Department, m.Code)
		}
		users = append(users, hub.User{Username: name, DisplayName: m.Department + "审批", Role: hub.RoleClerk, Department: m.Department})
	}
	sort.Slice(users, func(i, j int) bool { return users[i].Username < users[j].Username })
	return append(users, hub.User{Username: "cityadmin", DisplayName: "市级管理员", Role: hub.RoleAdmin}), nil
}

// demoHub is the demo's in-process data center.
type demoHub struct {
	*HubMain
	users []hub.User
}

// startDemoHub starts the demo's data center, seeds its console accounts and enrolls the station with
// it (once: a restart reuses the identity in the data directory), and makes the data key seal to the
// hub's reveal key.
func (m *Main) startDemoHub(ctx context.Context) error {
	h := NewHubMain()
	h.DataDir, h.Listen, h.Console = filepath.Join(m.DataDir, "hub"), "127.0.0.1:0", m.HubConsole
	h.ConsoleListener, m.consoleLn = m.consoleLn, nil // bound by Run before anything else
	h.Hasher, h.UI, h.Logger = m.Hasher, m.UI, m.Logger.With("component", "hub")
	// The hub's clock is the real one whatever the station's: it signs certificates that TLS checks
	// against the real time.
	h.Now = time.Now
	m.demoHub = &demoHub{HubMain: h}
	if err := h.Run(ctx); err != nil {
		return err
	}
	users, err := demoHubUsers()
	if err != nil {
		return err
	}
	m.demoHub.users = users
	if err := seedHubUsers(ctx, h, users); err != nil {
		return err
	}
	if err := publishDemoNotices(ctx, h, h.Now()); err != nil {
		return err
	}
	id, err := syncer.LoadIdentity(m.DataDir)
	if errors.Is(err, syncer.ErrNotEnrolled) {
		token, err := hub.CreateToken(ctx, h.Store, h.CA, demoStationName, time.Hour, h.Now())
		if err != nil {
			return err
		}
		if id, err = syncer.Enroll(ctx, h.Server.URL(), token, m.DataDir, m.Version); err != nil {
			return fmt.Errorf("enroll with the demo hub: %w", err)
		}
		m.Logger.Info("enrolled with the demo hub", "station", id.StationID)
	} else if err != nil {
		return err
	} else if _, err := h.Store.Station(ctx, id.StationID); station.ErrorCode(err) == station.ENOTFOUND {
		return fmt.Errorf("the station is enrolled as %s with another data center, which the demo hub in %s does not know: "+
			"use a fresh data directory for the demo", id.StationID, h.DataDir)
	} else if err != nil {
		return err
	}
	// Seal to the hub's reveal key before the demo data is seeded (the syncer, which would otherwise
	// apply it, starts after the seeding).
	key, err := id.HubRevealKey()
	if err != nil {
		return fmt.Errorf("the demo hub's reveal key: %w", err)
	}
	m.Key.SetHubKey(key)
	return nil
}

// demoNotice is a notice of demo/notices.json: its dates are days from today (China time), so that
// the demo always has one notice on the kiosk, one expired and one not yet published.
type demoNotice struct {
	ID        string `json:"id"`
	Title     string `json:"title"`
	Body      string `json:"body"`
	FromDays  int    `json:"from_days"`
	UntilDays int    `json:"until_days"`
}

// demoNotices are the demo's notices dated from the day of now.
func demoNotices(now time.Time) ([]station.Notice, error) {
	var list []demoNotice
	if err := decodeStrict(demoNoticesJSON, &list); err != nil {
		return nil, fmt.Errorf("demo/notices.json: %w", err)
	}
	d := now.In(station.ChinaTime)
	today := time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, station.ChinaTime)
	out := make([]station.Notice, len(list))
	for i, n := range list {
		out[i] = station.Notice{ID: n.ID, Title: n.Title, Body: n.Body,
			PublishedAt: today.AddDate(0, 0, n.FromDays).UTC(), ExpiresAt: today.AddDate(0, 0, n.UntilDays).UTC()}
	}
	return out, nil
}

// publishDemoNotices publishes the demo's notices from its data center, as `station hub publish
// notice` does; on a restart the same day nothing changes (publishing the same change appends nothing).
func publishDemoNotices(ctx context.Context, h *HubMain, now time.Time) error {
	list, err := demoNotices(now)
	if err != nil {
		return err
	}
	for _, n := range list {
		if _, err := hub.PublishNotice(ctx, h.Store, "", n, now); err != nil {
			return fmt.Errorf("demo notice %s: %w", n.ID, err)
		}
	}
	return nil
}

// seedHubUsers creates the demo console accounts that are missing. They share the demo password, so
// one hash serves them all (hashing is the slow part of a first start).
func seedHubUsers(ctx context.Context, h *HubMain, users []hub.User) error {
	var hash string
	for _, u := range users {
		if _, err := h.Store.User(ctx, u.Username); err == nil {
			continue
		} else if station.ErrorCode(err) != station.ENOTFOUND {
			return err
		}
		if hash == "" {
			var err error
			if hash, err = h.Hasher.Hash(demoPassword); err != nil {
				return err
			}
		}
		u.PasswordHash, u.CreatedAt = hash, h.Now()
		if err := h.Store.CreateUser(ctx, u); err != nil {
			return fmt.Errorf("create demo console account %s: %w", u.Username, err)
		}
	}
	if hash != "" {
		debug.FreeOSMemory() // the hash's memory (argon2id is memory-hard), as the station's seeding does
	}
	return nil
}

// demoHubSync points the syncer at the demo hub (whose port changes with every start) and makes it
// sync every demoSyncInterval; it changes nothing outside demo mode.
func (m *Main) demoHubSync() syncOption {
	return func(cfg *syncer.Config, _ **syncMonitor) {
		if m.demoHub == nil || m.demoHub.Server == nil {
			return
		}
		cfg.HubURL, cfg.Interval = m.demoHub.Server.URL(), demoSyncInterval
	}
}

// HubConsoleURL returns the demo department console's base URL, or "" when there is none.
func (m *Main) HubConsoleURL() string {
	if m.demoHub == nil || m.demoHub.ConsoleServer == nil {
		return ""
	}
	return m.demoHub.ConsoleServer.URL()
}

// printDemoHub adds the department console and its accounts to the start-up banner.
func (m *Main) printDemoHub(w io.Writer) {
	if m.demoHub == nil {
		return
	}
	if u := m.HubConsoleURL(); u != "" {
		fmt.Fprintf(w, "部门审批台（演示数据中心） %s/hub\n", u)
	}
	fmt.Fprintf(w, "审批台账号（密码均为 %s）：\n", demoPassword)
	for _, u := range m.demoHub.users {
		fmt.Fprintf(w, "  %-10s %s\n", u.Username, u.DisplayName)
	}
}

// closeDemoHub stops the demo's data center; the syncer must be stopped first.
func (m *Main) closeDemoHub() error {
	if m.demoHub == nil {
		return nil
	}
	return m.demoHub.Close()
}
