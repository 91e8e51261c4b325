package station

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestSyncStatusTravelsWithSecondsAndRoundTrips(t *testing.T) {
	st := SyncStatus{Enrolled: true, Pending: 3, OldestAge: Seconds(95*time.Second + 400*time.Millisecond),
		ClockSkew: Seconds(-2 * time.Second), BandwidthLimit: 256 << 10}
	b, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"oldest_unsent_age_seconds":95`, `"clock_skew_seconds":-2`, `"bandwidth_limit":262144`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("%s lacks %s", b, want)
		}
	}
	var back SyncStatus
	if err := json.Unmarshal(b, &back); err != nil || back.OldestAge.Duration() != 95*time.Second || back.ClockSkew.Duration() != -2*time.Second {
		t.Errorf("round trip = %+v, %v", back, err)
	}
}

func TestSyncStatusAlerts(t *testing.T) {
	now := time.Date(2026, 11, 24, 2, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		st   SyncStatus
		want int
	}{
		{"a station that is not enrolled and holds no dead letter is fine", SyncStatus{Pending: 100}, 0},
		{"dead letters alert enrolled or not", SyncStatus{DeadLetters: 2}, 1},
		{"a first round still running is no alert", SyncStatus{Enrolled: true, LastAttempt: now}, 0},
		{"a first round that failed alerts", SyncStatus{Enrolled: true, LastAttempt: now, ConsecutiveKO: 1}, 1},
		{"a recent success is fine", SyncStatus{Enrolled: true, LastSuccess: now.Add(-10 * time.Minute)}, 0},
		{"no success for over an hour alerts", SyncStatus{Enrolled: true, LastSuccess: now.Add(-61 * time.Minute)}, 1},
		{"drift alerts", SyncStatus{Enrolled: true, LastSuccess: now, Drift: true}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.st.Alerts(now); len(got) != tc.want {
				t.Fatalf("alerts = %q, want %d", got, tc.want)
			}
		})
	}
}

func TestWhatNeedsDiskSpace(t *testing.T) {
	for _, k := range []CommandKind{CmdApplicationIntake, CmdApplicationTransition, CmdApplicationMaterials,
		CmdResidentUpsert, CmdCatalogImport, CmdCalendarImport, CmdUserCreate, "some.future_kind"} {
		if !k.NeedsSpace() {
			t.Errorf("%s is new input but does not need space", k)
		}
	}
	for _, k := range []CommandKind{CmdOutboxAck, CmdOutboxPrune, CmdOutboxDeadLetter, CmdOutboxRetry,
		CmdSyncApply, CmdSessionOpen, CmdSessionClose, CmdLoginFailed, CmdAccessRecord, CmdUserUpdate} {
		if k.NeedsSpace() {
			t.Errorf("%s would be refused on a full disk", k)
		}
	}
	if err := ErrDiskLow(); err.Code != ESTORAGE || !strings.Contains(err.Message, "已有数据安全") {
		t.Errorf("ErrDiskLow = %+v", err)
	}
}

func TestNoticeValidate(t *testing.T) {
	ok := Notice{ID: "n-2027-01", Title: "春节期间服务安排", Body: "照常开放"}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, n := range map[string]Notice{
		"no ID":       {Title: "标题"},
		"space in ID": {ID: "n 1", Title: "标题"},
		"no title":    {ID: "n1", Title: "  "},
		"long title":  {ID: "n1", Title: strings.Repeat("长", 101)},
		"long body":   {ID: "n1", Title: "标题", Body: strings.Repeat("字", 5001)},
		"ID over 64":  {ID: strings.Repeat("n", 65), Title: "标题"},
		"padded ID":   {ID: " n1", Title: "标题"},
	} {
		if err := n.Validate(); ErrorCode(err) != EINVALID {
			t.Errorf("%s: Validate = %v", name, err)
		}
	}
}
