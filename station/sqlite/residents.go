package sqlite

import (
	"database/sql"
	"encoding/json"
	"errors"

	"github.com/civic-station/station/station"
)

func validSealed(s station.SealedID) error {
	if !s.Type.Valid() || s.Cipher == "" || len(s.Index) != 64 || s.Masked == "" {
		return station.Errorf(station.EINVALID, "证件信息不完整")
	}
	return nil
}

func (a *applier) residentUpsert() error {
	if err := a.requireRole(station.CanTakeApplications(a.cmd.Actor.Role) || a.cmd.Actor.Role == station.RoleSystem); err != nil {
		return err
	}
	var p station.ResidentUpsert
	if err := a.decode(&p); err != nil {
		return err
	}
	if err := validSealed(p.IDNumber); err != nil {
		return err
	}
	for _, c := range []struct {
		what string
		v    string
		max  int
		req  bool
	}{{"姓名", p.Name, 50, true}, {"民族", p.Ethnicity, 20, false}, {"地址", p.Address, 200, false},
		{"社区", p.Community, 50, false}, {"网格", p.Grid, 50, false}} {
		if err := station.CheckText(c.what, c.v, c.max, c.req); err != nil {
			return err
		}
	}
	if err := station.ValidatePhone("电话", p.Phone); err != nil {
		return err
	}
	switch p.Sex {
	case station.SexMale, station.SexFemale, station.SexUnknown:
	default:
		return station.Errorf(station.EINVALID, "性别无效")
	}
	tags, _ := json.Marshal(nonNil(p.Tags))
	now := formatTime(a.cmd.At)
	var id string
	err := a.tx.QueryRowContext(a.ctx, `SELECT id FROM residents WHERE id_index = ?`, p.IDNumber.Index).Scan(&id)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		if p.ResidentID == "" {
			return station.Errorf(station.EINVALID, "缺少居民编号")
		}
		id = p.ResidentID
		err = a.exec(`INSERT INTO residents (id, id_type, id_cipher, id_index, id_masked, name, sex, ethnicity, birth_date, address, community, grid, phone, tags, registered_since, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			id, string(p.IDNumber.Type), p.IDNumber.Cipher, p.IDNumber.Index, p.IDNumber.Masked, p.Name, string(p.Sex), p.Ethnicity,
			dateText(p.BirthDate), p.Address, p.Community, p.Grid, p.Phone, string(tags), dateText(p.RegisteredSince), now, now)
	case err == nil:
		err = a.exec(`UPDATE residents SET name = ?, sex = ?, ethnicity = ?, birth_date = ?, address = ?, community = ?, grid = ?, phone = ?, tags = ?, registered_since = ?, updated_at = ? WHERE id = ?`,
			p.Name, string(p.Sex), p.Ethnicity, dateText(p.BirthDate), p.Address, p.Community, p.Grid, p.Phone, string(tags), dateText(p.RegisteredSince), now, id)
	}
	if err != nil {
		return err
	}
	a.eff.object, a.eff.objectID = "resident:"+id, id
	return nil
}
