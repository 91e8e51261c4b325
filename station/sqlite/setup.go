package sqlite

import (
	"context"
	"fmt"

	"github.com/civic-station/station/station"
)

// Keys of the settings table.
const (
	settingStationName = "station.name"
	settingCommunity   = "station.community"
)

// stationSetup applies CmdStationSetup: the first administrator and the station's settings, in one
// transaction, and only while the station has no account at all.
func (a *applier) stationSetup() error {
	if err := a.requireRole(a.cmd.Actor.Role == station.RoleSystem); err != nil {
		return err
	}
	var p station.StationSetup
	if err := a.decode(&p); err != nil {
		return err
	}
	a.eff.object = "station"
	var n int
	if err := a.tx.QueryRowContext(a.ctx, `SELECT count(*) FROM users`).Scan(&n); err != nil {
		return err
	} else if n > 0 {
		return station.ErrSetupDone()
	}
	if err := p.Settings.Validate(); err != nil {
		return err
	}
	if p.Admin.Role != station.RoleStationAdmin {
		return station.Errorf(station.EINVALID, "首次设置只能创建站点管理员账号")
	}
	if err := a.insertUser(p.Admin); err != nil {
		return err
	}
	for _, kv := range [][2]string{{settingStationName, p.Settings.Name}, {settingCommunity, p.Settings.Community}} {
		if err := a.exec(`INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?)
			ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
			kv[0], kv[1], formatTime(a.cmd.At)); err != nil {
			return err
		}
	}
	a.eff.object, a.eff.objectID = "station", p.Admin.Username
	a.eff.detail = fmt.Sprintf("admin %s, station %s, community %s", p.Admin.Username, p.Settings.Name, p.Settings.Community)
	return nil
}

// setupRecord applies CmdSetupRecord: nothing but its audit entry, whose action names the event.
func (a *applier) setupRecord() error {
	if err := a.requireRole(a.cmd.Actor.Role == station.RoleSystem); err != nil {
		return err
	}
	var p station.SetupRecord
	if err := a.decode(&p); err != nil {
		return err
	}
	if !p.Event.Valid() {
		return station.Errorf(station.EINVALID, "未知的设置事件“%s”", p.Event)
	}
	a.eff.object = "setup"
	a.eff.auditAction = "setup." + string(p.Event)
	a.eff.detail = "from " + p.Address
	if p.Detail != "" {
		a.eff.detail += ": " + p.Detail
	}
	return nil
}

// Settings returns the station's stored settings; fields never set are empty.
func (db *DB) Settings(ctx context.Context) (station.StationSettings, error) {
	var s station.StationSettings
	rows, err := db.read.QueryContext(ctx, `SELECT key, value FROM settings WHERE key IN (?, ?)`, settingStationName, settingCommunity)
	if err != nil {
		return s, fmt.Errorf("read settings: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return s, fmt.Errorf("read settings: %w", err)
		}
		switch k {
		case settingStationName:
			s.Name = v
		case settingCommunity:
			s.Community = v
		}
	}
	return s, rows.Err()
}
