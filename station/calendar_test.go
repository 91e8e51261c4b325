package station

import (
	"testing"
	"time"
)

func date(t *testing.T, s string) Date {
	t.Helper()
	d, err := ParseDate(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// calendar2026 is the 2026 Spring Festival and National Day arrangement (the same data the store seeds).
func calendar2026(t *testing.T) *Calendar {
	t.Helper()
	var days []CalendarDay
	span := func(from, to string, kind DayKind) {
		for d := date(t, from); !d.After(date(t, to)); d = d.AddDays(1) {
			days = append(days, CalendarDay{Date: d, Kind: kind})
		}
	}
	span("2026-02-14", "2026-02-14", DayWorkday)
	span("2026-02-15", "2026-02-23", DayHoliday)
	span("2026-02-28", "2026-02-28", DayWorkday)
	span("2026-09-20", "2026-09-20", DayWorkday)
	span("2026-09-25", "2026-09-27", DayHoliday)
	span("2026-10-01", "2026-10-07", DayHoliday)
	span("2026-10-10", "2026-10-10", DayWorkday)
	c, err := NewCalendar(days)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestAddWorkingDays(t *testing.T) {
	c := calendar2026(t)
	cases := []struct {
		name  string
		start string
		n     int
		want  string
	}{
		{"zero days is the same day", "2026-11-24", 0, "2026-11-24"},
		{"one day from a Tuesday is Wednesday", "2026-11-24", 1, "2026-11-25"},
		{"a Friday plus one skips the weekend", "2026-11-27", 1, "2026-11-30"},
		{"counting from a Saturday starts on Monday", "2026-11-28", 1, "2026-11-30"},
		{"the make-up Saturday before Spring Festival counts", "2026-02-13", 1, "2026-02-14"},
		{"the Spring Festival week is skipped", "2026-02-14", 1, "2026-02-24"},
		{"five days across Spring Festival", "2026-02-12", 5, "2026-02-26"},
		{"the make-up Saturday after Spring Festival counts", "2026-02-27", 1, "2026-02-28"},
		{"the make-up Sunday before National Day counts", "2026-09-18", 1, "2026-09-20"},
		{"Mid-Autumn is skipped", "2026-09-24", 1, "2026-09-28"},
		{"the National Day week is skipped", "2026-09-30", 1, "2026-10-08"},
		{"the make-up Saturday after National Day counts", "2026-10-09", 1, "2026-10-10"},
		{"20 working days from an ordinary Monday", "2026-11-02", 20, "2026-11-30"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := c.AddWorkingDays(date(t, tc.start), tc.n); got != date(t, tc.want) {
				t.Fatalf("AddWorkingDays(%s, %d) = %s, want %s", tc.start, tc.n, got, tc.want)
			}
		})
	}
}

func TestWorkingDaysBetweenIsTheInverseOfAddWorkingDays(t *testing.T) {
	c := calendar2026(t)
	start := date(t, "2026-01-01")
	for i := 0; i < 360; i += 7 {
		from := start.AddDays(i)
		for _, n := range []int{0, 1, 2, 5, 20} {
			to := c.AddWorkingDays(from, n)
			if got := c.WorkingDaysBetween(from, to); got != n {
				t.Fatalf("WorkingDaysBetween(%s, %s) = %d, want %d", from, to, got, n)
			}
			if got := c.WorkingDaysBetween(to, from); got != -n {
				t.Fatalf("WorkingDaysBetween(%s, %s) = %d, want %d", to, from, got, -n)
			}
		}
	}
}

func TestDeadline(t *testing.T) {
	c := calendar2026(t)
	due := date(t, "2026-02-26") // Thursday after Spring Festival
	cases := []struct {
		name  string
		today string
		state DeadlineState
		left  int
	}{
		{"three working days before is ok", "2026-02-23", DeadlineOK, 3},
		{"across the holiday four working days remain", "2026-02-13", DeadlineOK, 4},
		{"two working days before is due soon", "2026-02-24", DeadlineDueSoon, 2},
		{"the due day itself is due soon", "2026-02-26", DeadlineDueSoon, 0},
		{"the day after is overdue", "2026-02-27", DeadlineOverdue, -1},
		{"the weekend after is overdue", "2026-03-01", DeadlineOverdue, -2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			state, left := c.Deadline(date(t, tc.today), due)
			if state != tc.state || left != tc.left {
				t.Fatalf("Deadline(%s) = %s %d, want %s %d", tc.today, state, left, tc.state, tc.left)
			}
		})
	}
	if s, _ := c.Deadline(date(t, "2026-02-24"), Date{}); s != DeadlineNone {
		t.Fatalf("no due date gives %s", s)
	}
}

func TestNewCalendarRefusesBadData(t *testing.T) {
	d := Date{Year: 2026, Month: time.May, Day: 1}
	if _, err := NewCalendar([]CalendarDay{{Date: d, Kind: "party"}}); ErrorCode(err) != EINVALID {
		t.Fatalf("unknown kind: %v", err)
	}
	if _, err := NewCalendar([]CalendarDay{{Date: d, Kind: DayHoliday}, {Date: d, Kind: DayWorkday}}); ErrorCode(err) != EINVALID {
		t.Fatalf("duplicate date: %v", err)
	}
}

func TestDateOfUsesChinaStandardTime(t *testing.T) {
	// 2026-11-24 17:30 UTC is already 2026-11-25 01:30 in Beijing.
	got := DateOf(time.Date(2026, 11, 24, 17, 30, 0, 0, time.UTC))
	if got.String() != "2026-11-25" {
		t.Fatalf("DateOf = %s", got)
	}
}

func TestCompletedOnTime(t *testing.T) {
	due := date(t, "2026-11-30")
	if !CompletedOnTime(due, time.Date(2026, 11, 30, 15, 59, 0, 0, time.UTC)) { // 23:59 Beijing
		t.Fatal("completed on the due day is on time")
	}
	if CompletedOnTime(due, time.Date(2026, 11, 30, 16, 1, 0, 0, time.UTC)) { // 00:01 next day
		t.Fatal("completed the next day is late")
	}
}

func TestNationalCalendar(t *testing.T) {
	days, years := NationalCalendar()
	if !years[2026] {
		t.Error("2026 is not official")
	}
	if official, ok := years[2027]; !ok || official {
		t.Errorf("2027: listed %v, official %v; want listed and provisional", ok, official)
	}
	cal, err := NewCalendar(days)
	if err != nil {
		t.Fatal(err)
	}
	// 2026-02-14 is a Saturday made a working day for the Spring Festival; 2027-01-01 is New Year.
	if !cal.IsWorkingDay(Date{2026, 2, 14}) || cal.IsWorkingDay(Date{2027, 1, 1}) || cal.IsWorkingDay(Date{2026, 10, 1}) {
		t.Error("the national calendar misses a make-up day or a holiday")
	}
	for _, d := range days {
		if _, ok := years[d.Date.Year]; !ok {
			t.Errorf("%s is in a year the calendar does not list", d.Date)
		}
	}
}
