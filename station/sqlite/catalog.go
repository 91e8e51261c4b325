package sqlite

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/civic-station/station/station"
	"github.com/mozillazg/go-pinyin"
)

// pinyinInitials returns the lower-case initials of the Han characters in s, keeping ASCII letters and
// digits (最低生活保障 -> zdshbz).
func pinyinInitials(s string) string {
	args := pinyin.NewArgs()
	args.Style = pinyin.FirstLetter
	var b strings.Builder
	for _, r := range s {
		switch {
		case r < utf8.RuneSelf:
			if ('a' <= r && r <= 'z') || ('0' <= r && r <= '9') {
				b.WriteRune(r)
			} else if 'A' <= r && r <= 'Z' {
				b.WriteRune(r + 'a' - 'A')
			}
		default:
			if p := pinyin.SinglePinyin(r, args); len(p) > 0 {
				b.WriteString(p[0])
			}
		}
	}
	return b.String()
}

func (a *applier) catalogImport() error {
	if err := a.requireRole(a.cmd.Actor.Role == station.RoleSystem || a.cmd.Actor.Role == station.RoleStationAdmin); err != nil {
		return err
	}
	var p station.CatalogImport
	if err := a.decode(&p); err != nil {
		return err
	}
	if len(p.Matters) == 0 {
		return station.Errorf(station.EINVALID, "导入的事项目录为空")
	}
	a.eff.object = "catalog"
	seen := map[string]bool{}
	for i := range p.Matters {
		m := &p.Matters[i]
		if err := m.Validate(); err != nil {
			return err
		}
		if seen[m.Code] {
			return station.Errorf(station.EINVALID, "事项编码%s重复", m.Code)
		}
		seen[m.Code] = true
		var cur int
		err := a.tx.QueryRowContext(a.ctx, `SELECT version FROM matters WHERE code = ?`, m.Code).Scan(&cur)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if err == nil && cur > m.Version {
			return station.Errorf(station.ECONFLICT, "事项%s的版本%d早于已有版本%d", m.Code, m.Version, cur)
		}
		conds, _ := json.Marshal(nonNil(m.Conditions))
		mats, _ := json.Marshal(nonNilMaterials(m.Materials))
		aliases, _ := json.Marshal(nonNil(m.Aliases))
		if err := a.exec(`INSERT INTO matters (code, name, pinyin, aliases, department, category, kind, time_limit_days, fee_cents, fee_note, certificate, location, conditions, materials, status, version)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (code) DO UPDATE SET name = excluded.name, pinyin = excluded.pinyin, aliases = excluded.aliases, department = excluded.department,
				category = excluded.category, kind = excluded.kind, time_limit_days = excluded.time_limit_days,
				fee_cents = excluded.fee_cents, fee_note = excluded.fee_note, certificate = excluded.certificate,
				location = excluded.location, conditions = excluded.conditions, materials = excluded.materials,
				status = excluded.status, version = excluded.version`,
			m.Code, m.Name, pinyinInitials(m.Name), string(aliases), m.Department, m.Category, string(m.Kind), m.TimeLimitDays, m.FeeCents,
			m.FeeNote, boolInt(m.Certificate), m.Location, string(conds), string(mats), string(m.Status), m.Version); err != nil {
			return err
		}
	}
	a.eff.detail = fmt.Sprintf("%d matters", len(p.Matters))
	return nil
}

func (a *applier) calendarImport() error {
	if err := a.requireRole(a.cmd.Actor.Role == station.RoleSystem || a.cmd.Actor.Role == station.RoleStationAdmin); err != nil {
		return err
	}
	var p station.CalendarImport
	if err := a.decode(&p); err != nil {
		return err
	}
	if _, err := station.NewCalendar(p.Days); err != nil {
		return err
	}
	years := map[int]bool{}
	for _, y := range p.Years {
		if y < 2000 || y > 2100 {
			return station.Errorf(station.EINVALID, "年份%d无效", y)
		}
		years[y] = true
		if err := a.exec(`DELETE FROM calendar_days WHERE date LIKE ?`, fmt.Sprintf("%04d-%%", y)); err != nil {
			return err
		}
	}
	for _, d := range p.Days {
		if !years[d.Date.Year] {
			return station.Errorf(station.EINVALID, "日期%s不在导入的年份内", d.Date)
		}
		if err := a.exec(`INSERT INTO calendar_days (date, kind, name) VALUES (?, ?, ?)`, d.Date.String(), string(d.Kind), d.Name); err != nil {
			return err
		}
	}
	a.eff.object = "calendar"
	a.eff.detail = fmt.Sprintf("years %v, %d days", p.Years, len(p.Days))
	a.eff.calendarChanged = true
	return nil
}
