package console

import (
	"reflect"
	"testing"

	"github.com/civic-station/station/station"
)

// TestDueCalendar: a due date counted within official years is official; one that reaches into a
// year whose 放假调休 notice is not out is provisional and names the year; one that reaches a year
// without any calendar is counted Monday to Friday.
func TestDueCalendar(t *testing.T) {
	_, known := station.NationalCalendar()
	if !known[2026] || known[2027] {
		t.Fatalf("calendar_national.json: official %v; these cases assume 2026 official and 2027 provisional", known)
	}
	for _, tt := range []struct {
		from, to    int
		want        string
		provisional []int
	}{
		{2026, 2026, CalendarOfficial, nil},
		{2026, 2027, CalendarProvisional, []int{2027}},
		{2027, 2027, CalendarProvisional, []int{2027}},
		{2027, 2028, CalendarWeekdays, []int{2027}},
		{2030, 2030, CalendarWeekdays, nil},
	} {
		got, years := dueCalendar(known, tt.from, tt.to)
		if got != tt.want || !reflect.DeepEqual(years, tt.provisional) {
			t.Errorf("dueCalendar(%d–%d) = %s %v, want %s %v", tt.from, tt.to, got, years, tt.want, tt.provisional)
		}
	}
}

// TestCalendarYears: the console lists the national calendar's years with their status; a year the
// hub published a calendar for counts as official.
func TestCalendarYears(t *testing.T) {
	cat := &catalog{days: map[int][]station.CalendarDay{}}
	if got, want := cat.calendarYears(), []calendarYear{{2026, CalendarOfficial}, {2027, CalendarProvisional}}; !reflect.DeepEqual(got, want) {
		t.Errorf("calendarYears() = %v, want %v", got, want)
	}
	cat.days[2027] = []station.CalendarDay{}
	if got, want := cat.calendarYears(), []calendarYear{{2026, CalendarOfficial}, {2027, CalendarOfficial}}; !reflect.DeepEqual(got, want) {
		t.Errorf("with 2027 published: calendarYears() = %v, want %v", got, want)
	}
}
