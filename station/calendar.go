package station

import (
	"fmt"
	"sort"
	"time"
)

// ChinaTime is China Standard Time (UTC+8, no daylight saving). Calendar days, due dates and
// application numbers are in this zone. A fixed zone is used so no tzdata is needed on the box.
var ChinaTime = time.FixedZone("CST", 8*60*60)

// Date is a calendar day without a time of day or a zone.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// DateOf returns the calendar day of t in China Standard Time.
func DateOf(t time.Time) Date {
	t = t.In(ChinaTime)
	return Date{t.Year(), t.Month(), t.Day()}
}

// ParseDate parses a YYYY-MM-DD date.
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return Date{}, Errorf(EINVALID, "日期格式应为YYYY-MM-DD")
	}
	return Date{t.Year(), t.Month(), t.Day()}, nil
}

// String returns the date as YYYY-MM-DD.
func (d Date) String() string { return fmt.Sprintf("%04d-%02d-%02d", d.Year, d.Month, d.Day) }

// IsZero reports whether d is the zero Date.
func (d Date) IsZero() bool { return d == Date{} }

func (d Date) time() time.Time { return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC) }

// AddDays returns the date n calendar days after d (before it if n is negative).
func (d Date) AddDays(n int) Date {
	t := d.time().AddDate(0, 0, n)
	return Date{t.Year(), t.Month(), t.Day()}
}

// Before reports whether d is earlier than o.
func (d Date) Before(o Date) bool { return d.time().Before(o.time()) }

// After reports whether d is later than o.
func (d Date) After(o Date) bool { return d.time().After(o.time()) }

// Weekday returns the day of the week of d.
func (d Date) Weekday() time.Weekday { return d.time().Weekday() }

// MarshalText encodes d as YYYY-MM-DD, and the zero Date as an empty string.
func (d Date) MarshalText() ([]byte, error) {
	if d.IsZero() {
		return []byte{}, nil
	}
	return []byte(d.String()), nil
}

// UnmarshalText decodes a YYYY-MM-DD date; an empty string is the zero Date.
func (d *Date) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*d = Date{}
		return nil
	}
	v, err := ParseDate(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// DayKind says how the official calendar overrides the ordinary week for one date.
type DayKind string

// Day kinds.
const (
	DayHoliday DayKind = "holiday" // a public holiday or a day off in a holiday arrangement (放假)
	DayWorkday DayKind = "workday" // a weekend day that is a working day (调休上班)
)

// CalendarDay is one exception to the ordinary Monday–Friday week.
type CalendarDay struct {
	Date Date    `json:"date"`
	Kind DayKind `json:"kind"`
	Name string  `json:"name"` // e.g. 春节, 国庆节
}

// Calendar answers working-day questions. Weekends are days off and Monday–Friday are working days,
// except where the calendar's days say otherwise. The days are data: seeded with the State Council's
// arrangements and updated from the data center.
type Calendar struct {
	days map[Date]DayKind
	from Date // first and last date covered by the data, for diagnostics
	to   Date
}

// NewCalendar builds a calendar from its exceptional days. It returns EINVALID for an unknown kind or a
// date listed twice.
func NewCalendar(days []CalendarDay) (*Calendar, error) {
	c := &Calendar{days: make(map[Date]DayKind, len(days))}
	for _, d := range days {
		if d.Kind != DayHoliday && d.Kind != DayWorkday {
			return nil, Errorf(EINVALID, "日历日期%s的类型“%s”无效", d.Date, d.Kind)
		}
		if _, dup := c.days[d.Date]; dup {
			return nil, Errorf(EINVALID, "日历日期%s重复", d.Date)
		}
		c.days[d.Date] = d.Kind
	}
	dates := make([]Date, 0, len(days))
	for d := range c.days {
		dates = append(dates, d)
	}
	sort.Slice(dates, func(i, j int) bool { return dates[i].Before(dates[j]) })
	if len(dates) > 0 {
		c.from, c.to = dates[0], dates[len(dates)-1]
	}
	return c, nil
}

// IsWorkingDay reports whether d is a working day.
func (c *Calendar) IsWorkingDay(d Date) bool {
	switch c.days[d] {
	case DayHoliday:
		return false
	case DayWorkday:
		return true
	}
	wd := d.Weekday()
	return wd != time.Saturday && wd != time.Sunday
}

// AddWorkingDays returns the n-th working day after start. The day of receipt is not counted (a time
// limit starts the next day), so AddWorkingDays(d, 0) is d itself. n must not be negative.
func (c *Calendar) AddWorkingDays(start Date, n int) Date {
	d := start
	for n > 0 {
		d = d.AddDays(1)
		if c.IsWorkingDay(d) {
			n--
		}
	}
	return d
}

// WorkingDaysBetween counts the working days after from up to and including to; 0 on the same day.
// When to is before from it returns minus the working days after to up to and including from.
func (c *Calendar) WorkingDaysBetween(from, to Date) int {
	if to.Before(from) {
		return -c.WorkingDaysBetween(to, from)
	}
	n := 0
	for d := from.AddDays(1); !d.After(to); d = d.AddDays(1) {
		if c.IsWorkingDay(d) {
			n++
		}
	}
	return n
}

// DeadlineState classifies how close an open application is to its legal time limit.
type DeadlineState string

// Deadline states.
const (
	DeadlineNone    DeadlineState = "none"     // no time limit, or already closed
	DeadlineOK      DeadlineState = "ok"       // more than DueSoonDays working days left
	DeadlineDueSoon DeadlineState = "due_soon" // DueSoonDays working days or fewer left (including the due day itself)
	DeadlineOverdue DeadlineState = "overdue"  // the due date has passed
)

// DueSoonDays is the warning threshold in working days.
const DueSoonDays = 2

// Deadline classifies an open application due on due, as seen on today, and returns the working days
// left after today up to the due date (negative when overdue).
func (c *Calendar) Deadline(today, due Date) (DeadlineState, int) {
	if due.IsZero() {
		return DeadlineNone, 0
	}
	left := c.WorkingDaysBetween(today, due)
	switch {
	case today.After(due):
		return DeadlineOverdue, left
	case left <= DueSoonDays:
		return DeadlineDueSoon, left
	}
	return DeadlineOK, left
}
