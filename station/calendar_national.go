package station

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"sync"
)

// The national working-day calendar (全国年节及纪念日放假办法 and the State Council's yearly 放假调休
// notice) that every station and the data center start from: one file, read by both. A year listed as
// official has the published arrangement, make-up working days included; a provisional year has only
// the statutory holidays until the notice appears, and due dates in it are estimates.
//
//go:embed calendar_national.json
var nationalCalendarJSON []byte

var national = sync.OnceValues(func() (nationalCalendar, error) {
	var c nationalCalendar
	if err := json.Unmarshal(nationalCalendarJSON, &c); err != nil {
		return c, fmt.Errorf("calendar_national.json: %w", err)
	}
	if _, err := NewCalendar(c.Days); err != nil {
		return c, fmt.Errorf("calendar_national.json: %w", err)
	}
	return c, nil
})

type nationalCalendar struct {
	Official    []int         `json:"official"`
	Provisional []int         `json:"provisional"`
	Days        []CalendarDay `json:"days"`
}

// NationalCalendar returns the national calendar's exceptional days and, for each year it covers,
// whether the year's arrangement is official (true) or provisional (false).
func NationalCalendar() ([]CalendarDay, map[int]bool) {
	c, err := national()
	if err != nil {
		panic(err) // the embedded file is checked by TestNationalCalendar
	}
	years := map[int]bool{}
	for _, y := range c.Provisional {
		years[y] = false
	}
	for _, y := range c.Official {
		years[y] = true
	}
	return append([]CalendarDay(nil), c.Days...), years
}
