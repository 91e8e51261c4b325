package main

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/civic-station/station/station"
)

// The demo data: a service catalog and residents, loaded by `station run --demo`.
var (
	//go:embed demo/catalog.json
	demoCatalog []byte
	//go:embed demo/notices.json
	demoNoticesJSON []byte
	//go:embed demo/residents.json
	demoResidents []byte
)

// demoPassword is the password of every demo account.
const demoPassword = "station-demo"

type demoUser struct {
	username    string
	displayName string
	role        station.Role
}

// demoUsers are the accounts demo mode creates, one per staff role.
func demoUsers() []demoUser {
	return []demoUser{
		{"counter1", "柜台一", station.RoleStaff},
		{"review1", "审核员", station.RoleReviewer},
		{"admin", "站点管理员", station.RoleStationAdmin},
		{"tech", "技术员", station.RoleTechnician},
	}
}

// demoResident is one entry of demo/residents.json.
type demoResident struct {
	IDType    station.IDType `json:"id_type"`
	IDNumber  string         `json:"id_number"`
	Name      string         `json:"name"`
	Sex       station.Sex    `json:"sex"`
	Ethnicity string         `json:"ethnicity"`
	BirthDate station.Date   `json:"birth_date"`
	Address   string         `json:"address"`
	Community string         `json:"community"`
	Grid      string         `json:"grid"`
	Phone     string         `json:"phone"`
	Tags      []string       `json:"tags"`
	// RegisteredSince is when the resident was registered in the community; RegisteredDaysAgo instead
	// counts back from the day the demo is seeded, so a recent arrival stays recent (under the 6 months
	// 居住证明 needs).
	RegisteredSince   station.Date `json:"registered_since"`
	RegisteredDaysAgo int          `json:"registered_days_ago"`
}

func decodeStrict(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

func (m *Main) submit(ctx context.Context, kind station.CommandKind, payload any) error {
	return m.submitAs(ctx, kind, m.Now(), systemActor, payload)
}

func (m *Main) submitAs(ctx context.Context, kind station.CommandKind, at time.Time, actor station.Actor, payload any) error {
	cmd, err := station.NewCommand(uuid.Must(uuid.NewV7()).String(), kind, at, actor, payload)
	if err != nil {
		return err
	}
	_, err = m.Log.Submit(ctx, cmd)
	return err
}

// seedDemo imports the demo catalog when the catalog is empty, and adds the demo residents and
// accounts that are missing. It returns the demo accounts.
func (m *Main) seedDemo(ctx context.Context) ([]demoUser, error) {
	users := demoUsers()
	// Hash the missing accounts' passwords in the background while the catalog and residents load.
	hashes := make([]string, len(users))
	hashErrs := make([]error, len(users))
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	for i, u := range users {
		if _, err := m.DB.User(ctx, u.username); err == nil {
			continue
		} else if station.ErrorCode(err) != station.ENOTFOUND {
			return nil, err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			hashes[i], hashErrs[i] = m.Hasher.Hash(demoPassword)
		}()
	}
	var residents []demoResident
	err := m.seedCatalog(ctx)
	if err == nil {
		err = m.seedQueueLines(ctx)
	}
	if err == nil {
		residents, err = m.seedResidents(ctx)
	}
	wg.Wait()
	if err != nil {
		return nil, err
	}
	for i, u := range users {
		if hashes[i] == "" {
			if hashErrs[i] != nil {
				return nil, hashErrs[i]
			}
			continue
		}
		create := station.UserCreate{Username: u.username, DisplayName: u.displayName, Role: u.role, PasswordHash: hashes[i]}
		if err := m.submit(ctx, station.CmdUserCreate, create); err != nil {
			return nil, fmt.Errorf("create demo account %s: %w", u.username, err)
		}
	}
	if err := m.seedApplications(ctx, residents); err != nil {
		return nil, fmt.Errorf("seed demo applications: %w", err)
	}
	return users, nil
}

func (m *Main) seedCatalog(ctx context.Context) error {
	existing, err := m.DB.Matters(ctx, station.MatterFilter{IncludeWithdrawn: true})
	if err != nil || len(existing) > 0 {
		return err
	}
	var matters []station.Matter
	if err := decodeStrict(demoCatalog, &matters); err != nil {
		return fmt.Errorf("demo/catalog.json: %w", err)
	}
	for i := range matters {
		matters[i].Status, matters[i].Version = station.MatterActive, 1
	}
	if err := m.submit(ctx, station.CmdCatalogImport, station.CatalogImport{Matters: matters}); err != nil {
		return fmt.Errorf("import demo catalog: %w", err)
	}
	m.Logger.Info("demo catalog imported", "matters", len(matters))
	return nil
}

// demoQueueLines are the demo station's service lines (排队业务), by the catalog's categories.
var demoQueueLines = []station.QueueLine{
	{Code: "A", Name: "综合业务", Prefix: "A", Active: true, MatterCategories: []string{"户籍与证明", "证明核实", "法律服务", "住房保障"}},
	{Code: "B", Name: "社保医保", Prefix: "B", Active: true, MatterCategories: []string{"社会保险", "医疗保障", "就业创业"}},
	{Code: "C", Name: "民政服务", Prefix: "C", Active: true, MatterCategories: []string{"社会救助", "养老服务", "残疾人服务", "退役军人服务", "生育与计生"}},
}

// seedQueueLines sets up the demo's service lines on a station that has none.
func (m *Main) seedQueueLines(ctx context.Context) error {
	lines, err := m.DB.QueueLines(ctx)
	if err != nil || len(lines) > 0 {
		return err
	}
	for _, l := range demoQueueLines {
		if err := m.submit(ctx, station.CmdQueueLineSet, station.QueueLineSet{Line: l}); err != nil {
			return fmt.Errorf("set up demo queue line %s: %w", l.Code, err)
		}
	}
	return nil
}

// loadDemoResidents decodes demo/residents.json.
func loadDemoResidents() ([]demoResident, error) {
	var residents []demoResident
	if err := decodeStrict(demoResidents, &residents); err != nil {
		return nil, fmt.Errorf("demo/residents.json: %w", err)
	}
	return residents, nil
}

func (m *Main) seedResidents(ctx context.Context) ([]demoResident, error) {
	residents, err := loadDemoResidents()
	if err != nil {
		return nil, err
	}
	added := 0
	for i, r := range residents {
		number := station.NormalizeIDNumber(r.IDNumber)
		if err := station.ValidateIDNumber(r.IDType, number); err != nil {
			return nil, fmt.Errorf("demo/residents.json entry %d: %w", i, err)
		}
		if _, err := m.DB.ResidentByIndex(ctx, m.Key.Index(r.IDType, number)); err == nil {
			continue
		} else if station.ErrorCode(err) != station.ENOTFOUND {
			return nil, err
		}
		sealed, err := m.Key.Seal(r.IDType, number)
		if err != nil {
			return nil, err
		}
		up := station.ResidentUpsert{
			ResidentID: uuid.Must(uuid.NewV7()).String(), IDNumber: sealed, Name: r.Name, Sex: r.Sex,
			Ethnicity: r.Ethnicity, BirthDate: r.BirthDate, Address: r.Address, Community: r.Community,
			Grid: r.Grid, Phone: r.Phone, Tags: r.Tags, RegisteredSince: r.RegisteredSince,
		}
		if r.RegisteredDaysAgo > 0 {
			up.RegisteredSince = station.DateOf(m.Now()).AddDays(-r.RegisteredDaysAgo)
		}
		if err := m.submit(ctx, station.CmdResidentUpsert, up); err != nil {
			return nil, fmt.Errorf("demo/residents.json entry %d: %w", i, err)
		}
		added++
	}
	if added > 0 {
		m.Logger.Info("demo residents added", "residents", added)
	}
	return residents, nil
}
