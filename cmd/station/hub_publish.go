package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/civic-station/station/station"
	"github.com/civic-station/station/station/cert"
	"github.com/civic-station/station/syncer/hub"
)

const hubPublishUsage = `用法：
  station hub publish catalog FILE.json [--data DIR] [--db URL]                  发布服务事项目录（事项数组，或 {"matters": […]}）
  station hub publish calendar FILE.json [--data DIR] [--db URL]                 发布工作日历（{"years": [2027], "days": […]}）
  station hub publish calendar national [--data DIR] [--db URL]                  发布内置的全国放假调休日历（与站点内置的相同，含暂定年份）
  station hub publish notice FILE.json [--station ID] [--data DIR] [--db URL]    发布通知公告（一条或数组）
  station hub publish templates FILE.json [--data DIR] [--db URL]                发布证明模板（{"version": N, "templates": […]}，含停止出具）
`

// hubPublish runs `station hub publish catalog|calendar|notice|templates FILE.json`: it reads the file strictly,
// validates everything with the station domain's rules before publishing anything, versions each
// change (a matter's version goes up by one per change of its content; a calendar year's version is
// its content hash; a notice's its content hash; a certificate template's version is above the one
// the stations hold) and appends the changes to the stations' feeds.
// What did not change is not published again, so running the same file twice is harmless.
func hubPublish(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if isHelp(args) {
		fmt.Fprint(stdout, hubPublishUsage)
		return 0
	}
	if len(args) == 0 {
		fmt.Fprint(stderr, hubPublishUsage)
		return 2
	}
	what := args[0]
	if what != "catalog" && what != "calendar" && what != "notice" && what != "templates" {
		fmt.Fprintf(stderr, "未知的发布内容 %q\n\n%s", what, hubPublishUsage)
		return 2
	}
	fs, m := hubFlags("station hub publish "+what, stderr)
	stationID := fs.String("station", "", "只发给这个站点（notice；默认发给所有站点）")
	// The file may come before or after the flags.
	var file string
	rest := args[1:]
	if len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
		file, rest = rest[0], rest[1:]
	}
	if err := fs.Parse(rest); err != nil {
		return flagExit(err)
	}
	if file == "" && fs.NArg() == 1 {
		file = fs.Arg(0)
	} else if fs.NArg() > 0 || file == "" {
		fmt.Fprint(stderr, "请给出一个 JSON 文件\n\n"+hubPublishUsage)
		return 2
	}
	if *stationID != "" && what != "notice" {
		fmt.Fprint(stderr, "--station 只用于 notice：目录和日历发给所有站点\n")
		return 2
	}
	var raw []byte
	var err error
	if what == "calendar" && file == "national" {
		raw, err = nationalCalendarFile()
	} else {
		raw, err = os.ReadFile(file)
	}
	if err != nil {
		fmt.Fprintf(stderr, "读取 %s 失败：%v\n", file, err)
		return 1
	}
	if !m.openTool(ctx, stderr) {
		return 1
	}
	defer m.Close()
	p := &publisher{ctx: ctx, store: m.Store, now: m.Now(), out: stdout}
	switch what {
	case "catalog":
		err = p.catalog(raw)
	case "calendar":
		err = p.calendar(raw)
	case "notice":
		err = p.notices(raw, *stationID)
	case "templates":
		err = p.templates(raw)
	}
	if err != nil {
		fmt.Fprintf(stderr, "%s：%s\n", file, station.ErrorMessage(err))
		if station.ErrorCode(err) == station.EINTERNAL {
			fmt.Fprintln(stderr, err)
		}
		return 1
	}
	return 0
}

// publisher publishes changes into a hub store, reading the feed's current state to version them.
type publisher struct {
	ctx   context.Context
	store hub.Store
	now   time.Time
	out   io.Writer
}

// current returns the latest change of every key in the feed of stationID ("" for the broadcast feed).
func (p *publisher) current(stationID string) (map[string]station.Change, error) {
	out := map[string]station.Change{}
	var after int64
	for {
		page, err := p.store.Changes(p.ctx, stationID, after, 500)
		if err != nil {
			return nil, fmt.Errorf("read the feed: %w", err)
		}
		for _, c := range page.Changes {
			out[c.Key] = c
		}
		if !page.More || page.Next == after {
			return out, nil
		}
		after = page.Next
	}
}

// decodeFile decodes a published file strictly (decodeStrict), with errors in Chinese.
func decodeFile(raw []byte, v any) error {
	err := decodeStrict(raw, v)
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &syn):
		return station.Errorf(station.EINVALID, "不是有效的JSON（第%d字节附近有语法错误）", syn.Offset)
	case errors.As(err, &typ):
		return station.Errorf(station.EINVALID, "字段 %q 的类型不正确", typ.Field)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return station.Errorf(station.EINVALID, "未知字段 %s", strings.TrimPrefix(err.Error(), "json: unknown field "))
	}
	var de *station.Error
	if errors.As(err, &de) {
		return de
	}
	return station.Errorf(station.EINVALID, "JSON 格式不正确")
}

// isArray reports whether raw holds a JSON array.
func isArray(raw []byte) bool {
	t := bytes.TrimSpace(raw)
	return len(t) > 0 && t[0] == '['
}

// sameJSON reports whether a and b encode to the same JSON.
func sameJSON(a, b any) bool {
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(x, y)
}

// catalog publishes the matters of a catalog file. A matter whose content differs from the feed's gets
// the feed's version plus one (or the file's version, if higher); an unchanged one is skipped.
func (p *publisher) catalog(raw []byte) error {
	var matters []station.Matter
	if isArray(raw) {
		if err := decodeFile(raw, &matters); err != nil {
			return err
		}
	} else {
		var imp station.CatalogImport
		if err := decodeFile(raw, &imp); err != nil {
			return err
		}
		matters = imp.Matters
	}
	if len(matters) == 0 {
		return station.Errorf(station.EINVALID, "目录中没有事项")
	}
	feed, err := p.current("")
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	var todo []station.Matter
	for _, m := range matters {
		if seen[m.Code] {
			return station.Errorf(station.EINVALID, "事项编码%s重复", m.Code)
		}
		seen[m.Code] = true
		held := feed["matter:"+m.Code].Matter
		if held != nil {
			a, b := m, *held
			a.Version, b.Version = 0, 0
			if sameJSON(a, b) && m.Version <= held.Version {
				fmt.Fprintf(p.out, "事项 %s（%s）未变化，版本仍为 %d\n", m.Code, m.Name, held.Version)
				continue
			}
			m.Version = max(m.Version, held.Version+1)
		} else {
			m.Version = max(m.Version, 1)
		}
		if err := m.Validate(); err != nil {
			return err
		}
		todo = append(todo, m)
	}
	for _, m := range todo {
		if _, err := hub.PublishMatter(p.ctx, p.store, m, p.now); err != nil {
			return err
		}
		fmt.Fprintf(p.out, "已发布事项 %s（%s），版本 %d\n", m.Code, m.Name, m.Version)
	}
	fmt.Fprintf(p.out, "目录：发布 %d 项，未变化 %d 项。各站点下次同步时生效。\n", len(todo), len(matters)-len(todo))
	return nil
}

// nationalCalendarFile is the built-in national calendar (station.NationalCalendar, the one every
// station is seeded with) as a calendar file, every year it covers included.
func nationalCalendarFile() ([]byte, error) {
	days, years := station.NationalCalendar()
	imp := station.CalendarImport{Days: days}
	for y := range years {
		imp.Years = append(imp.Years, y)
	}
	slices.Sort(imp.Years)
	return json.Marshal(imp)
}

// calendar publishes the working-day calendar of the years of a calendar file, one change per year,
// versioned by its content hash; a year whose days did not change is skipped.
func (p *publisher) calendar(raw []byte) error {
	var imp station.CalendarImport
	if err := decodeFile(raw, &imp); err != nil {
		return err
	}
	if _, err := station.NewCalendar(imp.Days); err != nil {
		return err
	}
	years := slices.Clone(imp.Years)
	for _, d := range imp.Days {
		if !slices.Contains(years, d.Date.Year) {
			if len(imp.Years) > 0 {
				return station.Errorf(station.EINVALID, "日期%s不在所列年份内", d.Date)
			}
			years = append(years, d.Date.Year)
		}
	}
	if len(years) == 0 {
		return station.Errorf(station.EINVALID, "日历中没有年份")
	}
	slices.Sort(years)
	feed, err := p.current("")
	if err != nil {
		return err
	}
	byYear := map[int][]station.CalendarDay{}
	for _, y := range years {
		if y < 2000 || y > 2100 {
			return station.Errorf(station.EINVALID, "年份%d无效", y)
		}
		byYear[y] = []station.CalendarDay{}
	}
	for _, d := range imp.Days {
		byYear[d.Date.Year] = append(byYear[d.Date.Year], d)
	}
	for _, y := range years {
		days := byYear[y]
		slices.SortFunc(days, func(a, b station.CalendarDay) int { return strings.Compare(a.Date.String(), b.Date.String()) })
		if held := feed["calendar:"+strconv.Itoa(y)].Calendar; held != nil && sameJSON(held.Days, days) {
			fmt.Fprintf(p.out, "%d年日历未变化\n", y)
			continue
		}
		if _, err := hub.PublishCalendar(p.ctx, p.store, y, days, p.now); err != nil {
			return err
		}
		fmt.Fprintf(p.out, "已发布%d年日历（%d个调整日）\n", y, len(days))
	}
	return nil
}

// notices publishes one notice or an array of them, to every station or to one.
func (p *publisher) notices(raw []byte, stationID string) error {
	var list []station.Notice
	if isArray(raw) {
		if err := decodeFile(raw, &list); err != nil {
			return err
		}
	} else {
		var n station.Notice
		if err := decodeFile(raw, &n); err != nil {
			return err
		}
		list = []station.Notice{n}
	}
	if len(list) == 0 {
		return station.Errorf(station.EINVALID, "文件中没有通知")
	}
	seen := map[string]bool{}
	for i := range list {
		if err := list[i].Validate(); err != nil {
			return err
		}
		if seen[list[i].ID] {
			return station.Errorf(station.EINVALID, "通知编号%s重复", list[i].ID)
		}
		seen[list[i].ID] = true
	}
	feed, err := p.current(stationID)
	if err != nil {
		return err
	}
	for _, n := range list {
		if held := feed["notice:"+n.ID].Notice; held != nil {
			a := n
			if a.PublishedAt.IsZero() {
				a.PublishedAt = held.PublishedAt // a file without a time republishes nothing
			}
			if sameJSON(a, *held) {
				fmt.Fprintf(p.out, "通知 %s（%s）未变化\n", n.ID, n.Title)
				continue
			}
		}
		if _, err := hub.PublishNotice(p.ctx, p.store, stationID, n, p.now); err != nil {
			return err
		}
		verb := "已发布"
		if n.Withdrawn {
			verb = "已撤回"
		}
		fmt.Fprintf(p.out, "%s通知 %s（%s）\n", verb, n.ID, n.Title)
	}
	return nil
}

// templates publishes the certificate templates of a library file (station/cert's JSON form, validated
// whole before anything is published). A template whose content is what the stations already hold
// (the feed's latest, or else the built-in library) is skipped; a changed one gets a version above both,
// since a station refuses a template that does not raise the version it has. Withdrawing a type is
// publishing it with "status": "withdrawn" and the reason.
func (p *publisher) templates(raw []byte) error {
	lib, err := cert.Parse(raw)
	if err != nil {
		return err
	}
	feed, err := p.current("")
	if err != nil {
		return err
	}
	builtIn := cert.BuiltIn()
	published := 0
	for _, t := range lib.Templates() {
		held, heldVersion := t, 0
		var found bool
		if c, ok := feed["template:"+t.Code]; ok && c.Template != nil {
			var h cert.Template
			if err := json.Unmarshal(c.Template, &h); err != nil {
				return fmt.Errorf("feed template %s: %w", t.Code, err)
			}
			held, heldVersion, found = h, h.Version, true
		} else if b, ok := builtIn.Get(t.Code); ok {
			held, heldVersion, found = b, b.Version, true
		}
		if found {
			a, b := t, held
			a.Version, b.Version = 0, 0
			if sameJSON(a, b) && t.Version <= heldVersion {
				fmt.Fprintf(p.out, "证明模板 %s（%s）未变化，版本仍为 %d\n", t.Code, t.Name, heldVersion)
				continue
			}
			t.Version = max(t.Version, heldVersion+1)
		}
		if _, err := hub.PublishTemplate(p.ctx, p.store, t, p.now); err != nil {
			return err
		}
		published++
		verb := "已发布"
		if t.Status == cert.StatusWithdrawn {
			verb = "已停止出具"
		}
		fmt.Fprintf(p.out, "%s证明模板 %s（%s），版本 %d\n", verb, t.Code, t.Name, t.Version)
	}
	fmt.Fprintf(p.out, "证明模板：发布 %d 项，未变化 %d 项。各站点下次同步时生效。\n", published, lib.Len()-published)
	return nil
}
