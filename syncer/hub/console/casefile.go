package console

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/civic-station/station/station"
	"github.com/civic-station/station/syncer/hub"
)

// The record kinds an application is folded from.
var applicationKinds = []string{
	string(station.CmdApplicationIntake), string(station.CmdApplicationTransition), string(station.CmdApplicationMaterials),
}

// caseFile is an application as the hub knows it, folded from the records its station sent: the
// application.intake record, then the application.transition and application.materials records in
// the station's order (seq). The hub never holds the station's application table; everything here is
// derived, and a field the records cannot give stays empty.
type caseFile struct {
	StationID   string
	StationName string
	ID          string
	Number      string // the station's number, SQ+date+ordinal of the day's intakes
	Matter      station.Matter
	Applicant   station.Applicant
	Materials   []station.MaterialCheck
	ReceivedAt  time.Time
	Status      station.Status
	ForwardedAt time.Time    // the last forward
	DueDate     station.Date // zero for immediate matters
	DueEstimate bool         // the hub knows no working-day calendar for the year: Monday to Friday assumed
	// DueCalendar is what the due date was computed on: CalendarOfficial, CalendarProvisional (a year
	// whose 放假调休 notice is not out: statutory holidays only, in DueProvisionalYears) or
	// CalendarWeekdays (a year without any calendar: Monday to Friday). Empty without a due date.
	DueCalendar         string
	DueProvisionalYears []int
	Timeline            []station.Event
	Decision            *hub.DecisionRecord
	hasIntake           bool
}

// statusAfter returns the status an action leads to: every action of the state machine has one.
func statusAfter(a station.Action) (station.Status, bool) {
	for _, t := range station.Transitions {
		if t.Action == a {
			return t.To, true
		}
	}
	return "", false
}

// fold applies the records of one application, in seq order.
func (c *caseFile) fold(recs []hub.Record) {
	for _, r := range recs {
		switch station.CommandKind(r.Kind) {
		case station.CmdApplicationIntake:
			var p station.ApplicationIntake
			if json.Unmarshal(r.Payload, &p) != nil {
				continue
			}
			c.hasIntake = true
			c.Matter.Code, c.Applicant, c.Materials = p.MatterCode, p.Applicant, p.Materials
			c.ReceivedAt, c.Status = r.OccurredAt, station.StatusReceived
			c.Timeline = append(c.Timeline, station.Event{At: r.OccurredAt, Action: station.ActionIntake, To: station.StatusReceived})
		case station.CmdApplicationTransition:
			var p station.ApplicationTransition
			if json.Unmarshal(r.Payload, &p) != nil {
				continue
			}
			to, ok := statusAfter(p.Action)
			if !ok {
				continue
			}
			c.Timeline = append(c.Timeline, station.Event{At: r.OccurredAt, Action: p.Action, From: c.Status, To: to, Reason: p.Reason})
			c.Status = to
			if p.Action == station.ActionForward {
				c.ForwardedAt = r.OccurredAt
			}
		case station.CmdApplicationMaterials:
			var p station.ApplicationMaterials
			if json.Unmarshal(r.Payload, &p) == nil {
				c.Materials = p.Materials
			}
		}
	}
}

// pending reports whether the application waits for its department: the latest status-changing record
// is a forward and no decision has been published.
func (c *caseFile) pending() bool { return c.Status == station.StatusForwarded && c.Decision == nil }

// decided reports whether the department's decision is known: published by the hub, or already
// applied at the station (a forwarded application that moved on to approved, rejected or completed).
func (c *caseFile) decided() bool {
	if c.Decision != nil {
		return true
	}
	if c.ForwardedAt.IsZero() {
		return false
	}
	switch c.Status {
	case station.StatusApproved, station.StatusRejected, station.StatusCompleted:
		return true
	}
	return false
}

// stationAction returns the decision the station applied (approve or reject), from its timeline.
func (c *caseFile) stationAction() *station.Event {
	for i := len(c.Timeline) - 1; i >= 0; i-- {
		if a := c.Timeline[i].Action; a == station.ActionApprove || a == station.ActionReject {
			return &c.Timeline[i]
		}
	}
	return nil
}

// catalog answers what the hub knows of a station's matters and working days: the matters and
// calendars the hub published to every station, and the catalog and calendar imports the station
// itself sent. For a matter both know, the higher version wins (the station's on a tie).
type catalog struct {
	published map[string]station.Matter
	days      map[int][]station.CalendarDay // by year: the published working-day calendars
	stations  map[string]*stationCatalog
}

type stationCatalog struct {
	matters map[string]station.Matter
	days    map[int][]station.CalendarDay
	cal     *station.Calendar
	known   map[int]bool // years with a known calendar
}

// loadCatalog reads the published catalog and calendars, and the catalog and calendar imports of one
// station (of every station with stationID "").
func loadCatalog(ctx context.Context, st hub.Store, stationID string) (*catalog, error) {
	cat := &catalog{published: map[string]station.Matter{}, days: map[int][]station.CalendarDay{}, stations: map[string]*stationCatalog{}}
	for after := int64(0); ; {
		// Station "" has no feed of its own: this reads the broadcast changes only.
		page, err := st.Changes(ctx, "", after, 500)
		if err != nil {
			return nil, fmt.Errorf("console: published catalog: %w", err)
		}
		for _, c := range page.Changes {
			switch {
			case c.Type == station.ChangeMatter && c.Matter != nil:
				cat.published[c.Matter.Code] = *c.Matter
			case c.Type == station.ChangeCalendar && c.Calendar != nil:
				addDays(cat.days, c.Calendar)
			}
		}
		if !page.More {
			break
		}
		after = page.Next
	}
	recs, err := st.Records(ctx, hub.RecordFilter{StationID: stationID,
		Kinds: []string{string(station.CmdCatalogImport), string(station.CmdCalendarImport)}})
	if err != nil {
		return nil, fmt.Errorf("console: station catalogs: %w", err)
	}
	for _, r := range recs {
		sc := cat.station(r.StationID)
		switch station.CommandKind(r.Kind) {
		case station.CmdCatalogImport:
			var p station.CatalogImport
			if json.Unmarshal(r.Payload, &p) != nil {
				continue
			}
			for _, m := range p.Matters {
				sc.matters[m.Code] = m
			}
		case station.CmdCalendarImport:
			var p station.CalendarImport
			if json.Unmarshal(r.Payload, &p) == nil {
				addDays(sc.days, &p)
			}
		}
	}
	return cat, nil
}

func addDays(into map[int][]station.CalendarDay, imp *station.CalendarImport) {
	for _, y := range imp.Years {
		into[y] = nil
	}
	for _, d := range imp.Days {
		into[d.Date.Year] = append(into[d.Date.Year], d)
	}
}

func (cat *catalog) station(id string) *stationCatalog {
	sc := cat.stations[id]
	if sc == nil {
		sc = &stationCatalog{matters: map[string]station.Matter{}, days: map[int][]station.CalendarDay{}}
		cat.stations[id] = sc
	}
	return sc
}

// matter returns the matter a station applied with, and whether the hub knows it.
func (cat *catalog) matter(stationID, code string) (station.Matter, bool) {
	own, ok1 := cat.station(stationID).matters[code]
	pub, ok2 := cat.published[code]
	switch {
	case ok1 && (!ok2 || own.Version >= pub.Version):
		return own, true
	case ok2:
		return pub, true
	}
	return station.Matter{Code: code}, false
}

// calendar returns a station's working-day calendar (its own imports over the published ones) and
// which years it really knows.
func (cat *catalog) calendar(stationID string) (*station.Calendar, map[int]bool) {
	sc := cat.station(stationID)
	if sc.cal != nil {
		return sc.cal, sc.known
	}
	// The national calendar every station starts from, then what the hub published, then the
	// station's own imports: each replaces a year's days. A year known only provisionally (the
	// statutory holidays before the State Council's notice) gives estimated due dates.
	national, official := station.NationalCalendar()
	years := map[int][]station.CalendarDay{}
	sc.known = map[int]bool{}
	for y, ok := range official {
		years[y] = []station.CalendarDay{}
		sc.known[y] = ok
	}
	for _, d := range national {
		years[d.Date.Year] = append(years[d.Date.Year], d)
	}
	for y, d := range cat.days {
		years[y] = d
		sc.known[y] = true
	}
	for y, d := range sc.days {
		years[y] = d
		sc.known[y] = true
	}
	var days []station.CalendarDay
	for _, d := range years {
		days = append(days, d...)
	}
	cal, err := station.NewCalendar(days)
	if err != nil { // an inconsistent mix of imports: fall back to the ordinary week
		cal, _ = station.NewCalendar(nil)
		sc.known = map[int]bool{}
	}
	sc.cal = cal
	return cal, sc.known
}

// numbers returns the station's application numbers by application ID, derived from its intake
// records: the station numbers each day's intakes 1, 2, 3… in the order it took them, which is the
// order of their seq (every intake travels, none is pruned before the hub acknowledged it).
func numbers(intakes []hub.Record) map[string]string {
	sort.SliceStable(intakes, func(i, j int) bool {
		if intakes[i].StationID != intakes[j].StationID {
			return intakes[i].StationID < intakes[j].StationID
		}
		return intakes[i].Seq < intakes[j].Seq
	})
	type day struct {
		station string
		date    station.Date
	}
	count := map[day]int{}
	out := map[string]string{}
	for _, r := range intakes {
		d := day{r.StationID, station.DateOf(r.OccurredAt)}
		count[d]++
		out[r.StationID+"/"+r.ApplicationID] = station.ApplicationNumber(d.date, count[d])
	}
	return out
}

// complete fills in what the catalog and the station's other records give: the matter, the material
// names, the number and the due date.
func (c *caseFile) complete(cat *catalog, nums map[string]string) {
	if m, ok := cat.matter(c.StationID, c.Matter.Code); ok {
		c.Matter = m
		names := map[string]station.Material{}
		for _, mat := range m.Materials {
			names[mat.Code] = mat
		}
		for i := range c.Materials {
			if mat, ok := names[c.Materials[i].Code]; ok {
				c.Materials[i].Name, c.Materials[i].Required = mat.Name, mat.Required
			}
		}
	}
	c.Number = nums[c.StationID+"/"+c.ID]
	if c.Matter.TimeLimitDays > 0 && !c.ReceivedAt.IsZero() {
		cal, known := cat.calendar(c.StationID)
		start := station.DateOf(c.ReceivedAt)
		for _, e := range c.Timeline {
			if e.Action == station.ActionResubmit {
				start = station.DateOf(e.At) // the time limit starts again when the missing materials arrive
			}
		}
		c.DueDate = station.DueDate(cal, start, c.Matter.TimeLimitDays)
		c.DueEstimate = !known[start.Year] || !known[c.DueDate.Year]
		c.DueCalendar, c.DueProvisionalYears = dueCalendar(known, start.Year, c.DueDate.Year)
	}
}

// What a due date was computed on (applicationItem.DueCalendar).
const (
	CalendarOfficial    = "official"
	CalendarProvisional = "provisional"
	CalendarWeekdays    = "weekdays"
)

// dueCalendar says what a due date counted from a day in year from to a day in year to was computed
// on, given which years the station's calendar knows (true: official or imported; false: only the
// national provisional arrangement; absent: none), and the provisional years among them.
func dueCalendar(known map[int]bool, from, to int) (string, []int) {
	status := CalendarOfficial
	var provisional []int
	for y := from; y <= to; y++ {
		ok, listed := known[y]
		switch {
		case !listed:
			status = CalendarWeekdays
		case !ok:
			provisional = append(provisional, y)
			if status == CalendarOfficial {
				status = CalendarProvisional
			}
		}
	}
	return status, provisional
}

// calendarYears is the working-day calendar the console counts with, year by year, as a clerk reads
// it: official when the State Council's notice is in it (or the hub published the year), provisional
// while only the statutory holidays are known.
func (cat *catalog) calendarYears() []calendarYear {
	_, official := station.NationalCalendar()
	for y := range cat.days {
		official[y] = true
	}
	out := make([]calendarYear, 0, len(official))
	for y, ok := range official {
		s := CalendarOfficial
		if !ok {
			s = CalendarProvisional
		}
		out = append(out, calendarYear{Year: y, Status: s})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Year < out[j].Year })
	return out
}

// calendarYear is one year of the console's working-day calendar.
type calendarYear struct {
	Year   int    `json:"year"`
	Status string `json:"status"` // official or provisional
}

// loadCases folds every application the hub holds (of one station, or of all with stationID "").
func loadCases(ctx context.Context, st hub.Store, stationID string) ([]*caseFile, error) {
	cases, _, err := loadCasesCatalog(ctx, st, stationID)
	return cases, err
}

// loadCasesCatalog is loadCases that also returns the catalog the cases were completed with.
func loadCasesCatalog(ctx context.Context, st hub.Store, stationID string) ([]*caseFile, *catalog, error) {
	recs, err := st.Records(ctx, hub.RecordFilter{StationID: stationID, Kinds: applicationKinds})
	if err != nil {
		return nil, nil, fmt.Errorf("console: application records: %w", err)
	}
	cat, err := loadCatalog(ctx, st, stationID)
	if err != nil {
		return nil, nil, err
	}
	decisions, err := st.Decisions(ctx, hub.DecisionFilter{StationID: stationID})
	if err != nil {
		return nil, nil, fmt.Errorf("console: decisions: %w", err)
	}
	stations, err := st.Stations(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("console: stations: %w", err)
	}
	names := map[string]string{}
	for _, s := range stations {
		names[s.ID] = s.Name
	}
	byApp := map[string][]hub.Record{}
	var order []string
	var intakes []hub.Record
	for _, r := range recs { // (station, seq) order
		if r.ApplicationID == "" {
			continue
		}
		k := r.StationID + "/" + r.ApplicationID
		if _, ok := byApp[k]; !ok {
			order = append(order, k)
		}
		byApp[k] = append(byApp[k], r)
		if r.Kind == string(station.CmdApplicationIntake) {
			intakes = append(intakes, r)
		}
	}
	nums := numbers(intakes)
	decided := map[string]*hub.DecisionRecord{}
	for i := range decisions {
		d := &decisions[i]
		decided[d.StationID+"/"+d.Decision.ApplicationID] = d
	}
	out := make([]*caseFile, 0, len(order))
	for _, k := range order {
		first := byApp[k][0]
		c := &caseFile{StationID: first.StationID, StationName: names[first.StationID], ID: first.ApplicationID, Decision: decided[k]}
		c.fold(byApp[k])
		if !c.hasIntake {
			continue // transitions whose intake has not arrived yet
		}
		c.complete(cat, nums)
		out = append(out, c)
	}
	return out, cat, nil
}

// loadCase folds one application of one station; ENOTFOUND when the hub does not hold its intake.
func loadCase(ctx context.Context, st hub.Store, stationID, id string) (*caseFile, error) {
	recs, err := st.Records(ctx, hub.RecordFilter{StationID: stationID, ApplicationID: id, Kinds: applicationKinds})
	if err != nil {
		return nil, fmt.Errorf("console: application records: %w", err)
	}
	c := &caseFile{StationID: stationID, ID: id}
	c.fold(recs)
	if !c.hasIntake {
		return nil, errNoApplication
	}
	s, err := st.Station(ctx, stationID)
	if err != nil {
		return nil, err
	}
	c.StationName = s.Name
	intakes, err := st.Records(ctx, hub.RecordFilter{StationID: stationID, Kinds: []string{string(station.CmdApplicationIntake)}})
	if err != nil {
		return nil, fmt.Errorf("console: intake records: %w", err)
	}
	cat, err := loadCatalog(ctx, st, stationID)
	if err != nil {
		return nil, err
	}
	c.complete(cat, numbers(intakes))
	ds, err := st.Decisions(ctx, hub.DecisionFilter{StationID: stationID, ApplicationID: id})
	if err != nil {
		return nil, fmt.Errorf("console: decisions: %w", err)
	}
	if len(ds) > 0 {
		c.Decision = &ds[0]
	}
	return c, nil
}

// errNoApplication is the answer for an application the hub does not hold, or one of another
// department: a clerk cannot tell the two apart.
var errNoApplication = station.Errorf(station.ENOTFOUND, "没有找到该办件")
