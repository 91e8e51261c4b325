package syncer_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/civic-station/station/station"
	"github.com/civic-station/station/syncer"
)

func TestParseSchedule(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"08:00-18:00=256KiB/s,18:00-08:00=0", "08:00-18:00=256KiB/s,18:00-08:00=0"},
		{" 00:00-24:00 = 1MiB/s ", "00:00-24:00=1MiB/s"},
		{"09:30-12:00=10Mbit/s", "09:30-12:00=1.2MiB/s"},
		{"22:00-06:00=512KB/s", "22:00-06:00=500KiB/s"},
	} {
		t.Run(tc.in+" is read", func(t *testing.T) {
			s, err := syncer.ParseSchedule(tc.in)
			if err != nil || s.String() != tc.want {
				t.Fatalf("ParseSchedule(%q) = %q, %v; want %q", tc.in, s.String(), err, tc.want)
			}
		})
	}
	for _, tc := range []struct{ in, msg string }{
		{"08:00-18:00", "格式错误"},
		{"8-18=1MiB/s", "时间“8”无效"},
		{"08:00-25:00=1MiB/s", "时间“25:00”无效"},
		{"24:00-08:00=1MiB/s", "时间“24:00”无效"},
		{"08:00-08:00=1MiB/s", "起止时间相同"},
		{"08:00-18:00=fast", "速率“fast”无效"},
		{"08:00-18:00=-1KiB/s", "速率“-1KiB/s”无效"},
		{"08:00-18:00=1MiB/s,17:00-20:00=0", "重叠"},
		{"20:00-09:00=1MiB/s,08:00-10:00=0", "重叠"},
	} {
		t.Run(tc.in+" is refused in Chinese", func(t *testing.T) {
			_, err := syncer.ParseSchedule(tc.in)
			if err == nil || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("ParseSchedule(%q) = %v; want an error with %q", tc.in, err, tc.msg)
			}
		})
	}
}

func china(day, hour, minute, second int) time.Time {
	return time.Date(2026, 11, day, hour, minute, second, 0, station.ChinaTime)
}

func TestRateAtFollowsTheTimeOfDayInChina(t *testing.T) {
	s, err := syncer.ParseSchedule("08:00-18:00=256KiB/s,18:00-08:00=0,")
	if err == nil {
		t.Fatal("a trailing comma was accepted")
	}
	s, err = syncer.ParseSchedule("08:00-18:00=256KiB/s,22:00-06:00=64KiB/s")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		at    time.Time
		rate  int64
		until time.Time
	}{
		{"office hours are capped until 18:00", china(24, 9, 0, 0), 256 << 10, china(24, 18, 0, 0)},
		{"the start of a window is inside it", china(24, 8, 0, 0), 256 << 10, china(24, 18, 0, 0)},
		{"the evening gap is unlimited until 22:00", china(24, 18, 0, 0), 0, china(24, 22, 0, 0)},
		{"the night window wraps past midnight", china(24, 23, 30, 0), 64 << 10, china(25, 6, 0, 0)},
		{"after midnight the night window goes on", china(25, 1, 0, 0), 64 << 10, china(25, 6, 0, 0)},
		{"the early morning is unlimited until 08:00", china(25, 7, 59, 59), 0, china(25, 8, 0, 0)},
		{"the same instant in UTC reads China time", china(24, 9, 0, 0).UTC(), 256 << 10, china(24, 18, 0, 0)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rate, until := s.RateAt(tc.at)
			if rate != tc.rate || !until.Equal(tc.until) {
				t.Fatalf("RateAt(%s) = %d until %s; want %d until %s", tc.at, rate, until, tc.rate, tc.until)
			}
		})
	}
}

// fakeTime is a clock that moves only when the limiter sleeps; it records the sleeps.
type fakeTime struct {
	mu     sync.Mutex
	now    time.Time
	sleeps []time.Duration
}

func (f *fakeTime) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fakeTime) Sleep(ctx context.Context, d time.Duration) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
	f.sleeps = append(f.sleeps, d)
	return ctx.Err()
}

func TestTheLimiterSwitchesRateAtTheBoundary(t *testing.T) {
	s, err := syncer.ParseSchedule("08:00-18:00=1KiB/s")
	if err != nil {
		t.Fatal(err)
	}
	clk := &fakeTime{now: china(24, 17, 59, 58)}
	l := syncer.NewLimiter(s, clk.Now, clk.Sleep)
	// 100 KiB would take 100 s at 1 KiB/s; two seconds later the cap ends.
	if err := l.Wait(context.Background(), 100<<10, nil); err != nil {
		t.Fatal(err)
	}
	st := l.Stats()
	if st.Bytes != 100<<10 || st.Waited != 2*time.Second || !clk.Now().Equal(china(24, 18, 0, 0)) {
		t.Fatalf("stats %+v, clock %s: the limiter must stop throttling at 18:00", st, clk.Now())
	}
	if err := l.Wait(context.Background(), 1<<20, nil); err != nil || l.Stats().Waited != 2*time.Second {
		t.Errorf("after 18:00 the limiter waited %s more (%v)", l.Stats().Waited-2*time.Second, err)
	}
	if l.Rate() != 0 {
		t.Errorf("Rate() = %d after 18:00", l.Rate())
	}
}

func TestTheLimiterHonoursACancelledContext(t *testing.T) {
	s, _ := syncer.ParseSchedule("00:00-24:00=1KiB/s")
	l := syncer.NewLimiter(s, nil, nil) // the real clock and timer
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := l.Wait(ctx, 1<<20, nil); err == nil {
		t.Fatal("Wait for 1 MiB at 1 KiB/s returned without error on a cancelled context")
	}
}

// TestTheLimiterCapsARealHTTPTransfer uploads and downloads through a real HTTP server with the request
// and response bodies wrapped, and checks the limiter's accounting: every byte counted, and the sleeps
// it asked for add up to what the rate requires.
func TestTheLimiterCapsARealHTTPTransfer(t *testing.T) {
	const n = 300 << 10
	const rate = 64 << 10
	payload := make([]byte, n)
	_, _ = rand.Read(payload)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, err := io.ReadAll(r.Body)
		if err != nil || !bytes.Equal(got, payload) {
			http.Error(w, "bad upload", http.StatusBadRequest)
			return
		}
		_, _ = w.Write(payload)
	}))
	defer srv.Close()

	s, _ := syncer.ParseSchedule("00:00-24:00=64KiB/s")
	clk := &fakeTime{now: china(24, 10, 0, 0)}
	l := syncer.NewLimiter(s, clk.Now, clk.Sleep)
	ctx := context.Background()
	var told time.Duration
	onSleep := func(d time.Duration) { told += d }
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, srv.URL, l.Reader(ctx, bytes.NewReader(payload), onSleep))
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = n
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(l.Reader(ctx, resp.Body, onSleep))
	if err != nil || resp.StatusCode != http.StatusOK || !bytes.Equal(got, payload) {
		t.Fatalf("transfer: %d, %d bytes, %v", resp.StatusCode, len(got), err)
	}

	st := l.Stats()
	if st.Bytes != 2*n {
		t.Errorf("the limiter counted %d bytes, want %d", st.Bytes, 2*n)
	}
	// The bucket starts with a tenth of a second of traffic; everything else must be paid by sleeping.
	perByte := float64(time.Second) / rate
	minWait := time.Duration((float64(2*n)-float64(rate)/10)*perByte) - time.Millisecond
	maxWait := time.Duration(float64(2*n)*perByte) + 10*time.Millisecond
	if st.Waited < minWait || st.Waited > maxWait {
		t.Errorf("the limiter slept %s in total, want between %s and %s", st.Waited, minWait, maxWait)
	}
	if told != st.Waited {
		t.Errorf("onSleep was told %s, the limiter slept %s", told, st.Waited)
	}
}
