package syncer

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/civic-station/station/internal/bytesize"
	"github.com/civic-station/station/station"
)

// Schedule is a bandwidth cap by time of day, in China Standard Time: windows [from, to) of the day,
// each with a rate in bytes per second, where 0 means unlimited. A window may wrap past midnight
// (18:00-08:00). Times no window covers are unlimited; so is the zero Schedule.
type Schedule struct {
	windows []bandwidthWindow
}

type bandwidthWindow struct {
	from, to int   // minutes since midnight; to may be 1440 (24:00)
	rate     int64 // bytes per second; 0 unlimited
	text     string
}

const minutesPerDay = 24 * 60

// covers reports whether the window covers minute m of the day.
func (w bandwidthWindow) covers(m int) bool {
	if w.from < w.to {
		return m >= w.from && m < w.to
	}
	return m >= w.from || m < w.to // wraps past midnight
}

// ParseSchedule reads a schedule such as "08:00-18:00=256KiB/s,18:00-08:00=0": comma-separated
// windows HH:MM-HH:MM=RATE, where RATE is bytes per second with an optional unit (KiB/s, MiB/s, KB/s,
// …), bits per second (kbit/s, Mbit/s), or 0 for unlimited. Windows must not overlap. The empty string
// is the unlimited schedule. Errors are in Chinese, for the technician who typed the value.
func ParseSchedule(s string) (Schedule, error) {
	var sched Schedule
	if strings.TrimSpace(s) == "" {
		return sched, nil
	}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		span, rateText, ok := strings.Cut(part, "=")
		fromText, toText, ok2 := strings.Cut(span, "-")
		if !ok || !ok2 {
			return Schedule{}, fmt.Errorf("带宽时段“%s”格式错误，应为 HH:MM-HH:MM=速率，例如 08:00-18:00=256KiB/s", part)
		}
		from, err := parseClock(fromText, false)
		if err != nil {
			return Schedule{}, fmt.Errorf("带宽时段“%s”：%w", part, err)
		}
		to, err := parseClock(toText, true)
		if err != nil {
			return Schedule{}, fmt.Errorf("带宽时段“%s”：%w", part, err)
		}
		if from == to%minutesPerDay && !(from == 0 && to == minutesPerDay) {
			return Schedule{}, fmt.Errorf("带宽时段“%s”：起止时间相同（全天请写 00:00-24:00）", part)
		}
		rate, err := parseRate(rateText)
		if err != nil {
			return Schedule{}, fmt.Errorf("带宽时段“%s”：%w", part, err)
		}
		w := bandwidthWindow{from: from, to: to, rate: rate, text: part}
		for _, o := range sched.windows {
			if overlaps(w, o) {
				return Schedule{}, fmt.Errorf("带宽时段“%s”与“%s”重叠", part, o.text)
			}
		}
		sched.windows = append(sched.windows, w)
	}
	return sched, nil
}

func overlaps(a, b bandwidthWindow) bool {
	for m := range minutesPerDay {
		if a.covers(m) && b.covers(m) {
			return true
		}
	}
	return false
}

// parseClock reads HH:MM; 24:00 only as an end.
func parseClock(s string, end bool) (int, error) {
	s = strings.TrimSpace(s)
	h, m, ok := strings.Cut(s, ":")
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if !ok || err1 != nil || err2 != nil || len(m) != 2 || hh < 0 || mm < 0 || mm > 59 || hh > 24 || (hh == 24 && (mm != 0 || !end)) {
		return 0, fmt.Errorf("时间“%s”无效，应为 00:00 至 24:00", s)
	}
	return hh*60 + mm, nil
}

// parseRate reads a rate in bytes per second (256KiB/s, 1MiB/s, 500KB/s, 4096) or bits per second
// (10Mbit/s, 512kbit/s); 0 is unlimited.
func parseRate(s string) (int64, error) {
	t := strings.TrimSpace(s)
	lower := strings.ToLower(t)
	lower = strings.TrimSuffix(strings.TrimSuffix(lower, "/s"), "ps")
	for _, u := range []struct {
		suffix string
		factor float64
	}{{"gbit", 1e9 / 8}, {"mbit", 1e6 / 8}, {"kbit", 1e3 / 8}, {"bit", 1.0 / 8}} {
		if num, ok := strings.CutSuffix(lower, u.suffix); ok {
			v, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
			if err != nil || v < 0 {
				return 0, fmt.Errorf("速率“%s”无效（示例：256KiB/s、1MiB/s、10Mbit/s，0 表示不限速）", t)
			}
			return int64(v * u.factor), nil
		}
	}
	n, err := bytesize.Parse(lower)
	if err != nil {
		return 0, fmt.Errorf("速率“%s”无效（示例：256KiB/s、1MiB/s、10Mbit/s，0 表示不限速）", t)
	}
	return n, nil
}

// IsZero reports whether the schedule never limits.
func (s Schedule) IsZero() bool {
	for _, w := range s.windows {
		if w.rate > 0 {
			return false
		}
	}
	return true
}

// String returns the schedule as ParseSchedule reads it.
func (s Schedule) String() string {
	parts := make([]string, len(s.windows))
	for i, w := range s.windows {
		rate := "0"
		if w.rate > 0 {
			rate = bytesize.Format(w.rate) + "/s"
		}
		parts[i] = fmt.Sprintf("%02d:%02d-%02d:%02d=%s", w.from/60, w.from%60, w.to/60, w.to%60, rate)
	}
	return strings.Join(parts, ",")
}

// RateAt returns the rate in force at t (bytes per second, 0 unlimited) and the time it may next
// change (a window's start or end).
func (s Schedule) RateAt(t time.Time) (rate int64, until time.Time) {
	local := t.In(station.ChinaTime)
	day := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, station.ChinaTime)
	m := local.Hour()*60 + local.Minute()
	for _, w := range s.windows {
		if w.covers(m) {
			rate = w.rate
			break
		}
	}
	var bounds []int
	for _, w := range s.windows {
		bounds = append(bounds, w.from, w.to%minutesPerDay)
	}
	if len(bounds) == 0 {
		return 0, t.Add(24 * time.Hour)
	}
	slices.Sort(bounds)
	next := bounds[0] + minutesPerDay // the first boundary tomorrow
	for _, b := range bounds {
		if b > m {
			next = b
			break
		}
	}
	return rate, day.Add(time.Duration(next) * time.Minute)
}

// LimiterStats is a limiter's accounting since it was made.
type LimiterStats struct {
	Bytes  int64         // bytes that went through
	Waited time.Duration // total time it asked to sleep
}

// Limiter is a token bucket whose rate follows a Schedule. One limiter caps the syncer's traffic in
// both directions together (request bodies and response bodies), since both share the station's line.
// The bucket holds a tenth of a second of traffic; a read larger than that goes into debt, which the
// following sleep pays, so that the average rate is the cap whatever the read sizes. Sleeps stop at
// the schedule's boundaries, where the rate is read again. It is safe for concurrent use.
type Limiter struct {
	sched Schedule
	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration) error

	mu     sync.Mutex
	tokens float64 // may be negative: debt
	last   time.Time
	stats  LimiterStats
}

// NewLimiter returns a limiter for sched. now and sleep are the clock and the way to wait (time.Now
// and a timer when nil); tests inject both.
func NewLimiter(sched Schedule, now func() time.Time, sleep func(ctx context.Context, d time.Duration) error) *Limiter {
	if now == nil {
		now = time.Now
	}
	if sleep == nil {
		sleep = sleepTimer
	}
	return &Limiter{sched: sched, now: now, sleep: sleep}
}

// Schedule returns the limiter's schedule.
func (l *Limiter) Schedule() Schedule { return l.sched }

// Rate returns the rate in force now (bytes per second, 0 unlimited).
func (l *Limiter) Rate() int64 {
	r, _ := l.sched.RateAt(l.now())
	return r
}

// Stats returns the limiter's accounting.
func (l *Limiter) Stats() LimiterStats {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.stats
}

func burst(rate int64) float64 { return max(float64(rate)/10, 1) }

// refill adds the tokens earned since the last call at rate; l.mu is held.
func (l *Limiter) refill(now time.Time, rate int64) {
	if l.last.IsZero() {
		l.tokens = burst(rate)
	} else if d := now.Sub(l.last); d > 0 && rate > 0 {
		l.tokens = min(burst(rate), l.tokens+d.Seconds()*float64(rate))
	}
	l.last = now
}

// Wait takes n bytes from the bucket, sleeping as long as the rate requires. onSleep, when not nil, is
// told each sleep before it starts (a request's deadline does not count throttling).
func (l *Limiter) Wait(ctx context.Context, n int, onSleep func(time.Duration)) error {
	if n <= 0 {
		return nil
	}
	l.mu.Lock()
	now := l.now()
	rate, until := l.sched.RateAt(now)
	l.refill(now, rate)
	l.stats.Bytes += int64(n)
	if rate == 0 {
		l.tokens = max(l.tokens, 0) // unlimited: no debt carries over
		l.mu.Unlock()
		return nil
	}
	l.tokens -= float64(n)
	for l.tokens < 0 {
		wait := time.Duration(-l.tokens / float64(rate) * float64(time.Second))
		if d := until.Sub(now); d < wait {
			wait = d // the rate changes first: read it again there
		}
		wait = max(wait, time.Millisecond)
		l.stats.Waited += wait
		l.mu.Unlock()
		if onSleep != nil {
			onSleep(wait)
		}
		if err := l.sleep(ctx, wait); err != nil {
			return err
		}
		l.mu.Lock()
		now = l.now()
		rate, until = l.sched.RateAt(now)
		l.refill(now, rate)
		if rate == 0 {
			l.tokens = 0
			break
		}
	}
	l.mu.Unlock()
	return nil
}

// Reader returns r with every read paid for with Wait. onSleep is as for Wait.
func (l *Limiter) Reader(ctx context.Context, r io.Reader, onSleep func(time.Duration)) io.Reader {
	return &limitedReader{ctx: ctx, r: r, l: l, onSleep: onSleep}
}

type limitedReader struct {
	ctx     context.Context
	r       io.Reader
	l       *Limiter
	onSleep func(time.Duration)
}

func (lr *limitedReader) Read(p []byte) (int, error) {
	n, err := lr.r.Read(p)
	if n > 0 {
		if werr := lr.l.Wait(lr.ctx, n, lr.onSleep); werr != nil {
			return n, werr
		}
	}
	return n, err
}

// limitedBody is a request or response body read through a limiter.
type limitedBody struct {
	io.Reader
	io.Closer
}
