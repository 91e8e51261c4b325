package station

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Sync command kinds: the station's bookkeeping of the sync protocol with the data center (docs/sync-protocol.md).
// None of them travels to the data center itself.
const (
	CmdOutboxAck        CommandKind = "outbox.ack"         // the hub acknowledged records up to a seq
	CmdOutboxPrune      CommandKind = "outbox.prune"       // drop records acknowledged before a time
	CmdOutboxDeadLetter CommandKind = "outbox.dead_letter" // set aside records the hub refuses for good
	CmdOutboxRetry      CommandKind = "outbox.retry"       // put a dead letter back in the queue
	CmdSyncApply        CommandKind = "sync.apply"         // apply a page of downlink changes and store the cursor
)

// OutboxAck marks every pending outbox record with seq <= ThroughSeq as acknowledged (acked at the
// command's time). Dead letters stay as they are.
type OutboxAck struct {
	ThroughSeq int64 `json:"through_seq"`
}

// OutboxPrune deletes the outbox records acknowledged before AckedBefore. Unacknowledged records and
// dead letters are never pruned.
type OutboxPrune struct {
	AckedBefore time.Time `json:"acked_before"`
}

// DeadLetter is an outbox record the data center refused for good, or one the station cannot send.
type DeadLetter struct {
	Seq      int64     `json:"seq"`
	ID       string    `json:"id,omitempty"`       // filled in by the store
	Kind     string    `json:"kind,omitempty"`     // filled in by the store
	Code     string    `json:"code"`               // conflict, invalid, too_large, blob_missing
	Reason   string    `json:"reason,omitempty"`   // the code in Chinese (DeadLetterReason); filled in by the store
	Message  string    `json:"message"`            // why, for the technician (Chinese)
	At       time.Time `json:"at,omitzero"`        // when it was set aside; filled in by the store
	Attempts int       `json:"attempts,omitempty"` // times the record was set aside (1 + retries that failed again); filled in by the store
}

// DeadLetterRecord is a dead letter with the record itself, as a technician exports it for the data
// center's staff: the payload byte for byte, as it would travel. Personal data in it stays as the
// command holds it: ID numbers sealed (ciphertext, lookup hash and masked form), never in clear.
type DeadLetterRecord struct {
	DeadLetter
	OccurredAt    time.Time       `json:"occurred_at"`
	Payload       json.RawMessage `json:"payload"`
	PayloadSHA256 string          `json:"payload_sha256"`
}

// Dead-letter codes the syncer and the hub use.
const (
	DeadConflict    = "conflict"     // the hub holds the same record ID with other content
	DeadInvalid     = "invalid"      // the hub found the record malformed
	DeadTooLarge    = "too_large"    // the record alone is over the upload cap
	DeadBlobMissing = "blob_missing" // the station lacks a file the record refers to
)

// DeadLetterReason returns the Chinese explanation of a dead-letter code, for the technician.
func DeadLetterReason(code string) string {
	switch code {
	case DeadConflict:
		return "冲突：数据中心已有同一编号但内容不同的记录"
	case DeadInvalid:
		return "数据中心认为记录格式无效"
	case DeadTooLarge:
		return "记录超过上传大小上限"
	case DeadBlobMissing:
		return "本机缺少记录引用的文件"
	}
	return "其他原因（" + code + "）"
}

// OutboxDeadLetter moves records to the dead-letter list, so that they no longer hold up the queue.
type OutboxDeadLetter struct {
	Records []DeadLetter `json:"records"`
}

// OutboxRetry puts dead letters back in the queue (after the technician or the data center fixed the
// cause): the ones listed in Seqs, or with All every one set aside when the command applies. Exactly one
// of the two must be given.
type OutboxRetry struct {
	Seqs []int64 `json:"seqs,omitempty"`
	All  bool    `json:"all,omitempty"`
}

// OutboxRecord is a record waiting in the station's outbox.
type OutboxRecord struct {
	Seq        int64           `json:"seq"`
	ID         string          `json:"id"` // the command ID: the record's permanent key at the hub
	Kind       string          `json:"kind"`
	OccurredAt time.Time       `json:"occurred_at"`
	Payload    json.RawMessage `json:"payload"`
}

// OutboxStats summarises the outbox.
type OutboxStats struct {
	Pending     int       `json:"pending"`                // waiting to be sent (not acknowledged, not dead letters)
	OldestSeq   int64     `json:"oldest_seq,omitempty"`   // the first pending record
	OldestAt    time.Time `json:"oldest_at,omitzero"`     // when the oldest pending record occurred
	DeadLetters int       `json:"dead_letters"`           // set aside, waiting for a technician
	Acked       int       `json:"acked"`                  // acknowledged, kept until pruned
	LastAckedAt time.Time `json:"last_acked_at,omitzero"` // when the last acknowledgement was applied
}

// ChangeType says what a downlink change carries.
type ChangeType string

// Downlink change types.
const (
	ChangeMatter   ChangeType = "matter"   // one matter of the service catalog
	ChangeCalendar ChangeType = "calendar" // the working-day calendar of some years
	ChangeDecision ChangeType = "decision" // a department's decision on one of this station's applications
	ChangeNotice   ChangeType = "notice"   // a notice for the kiosk
)

// Change is one downlink change. Key names the object it sets (matter:CODE, calendar:YEAR,
// decision:APPLICATION, notice:ID); a later change of the same key supersedes an earlier one. Version
// is the hub's version string of the object; the state hash is computed over (key, version) pairs.
type Change struct {
	Key      string          `json:"key"`
	Version  string          `json:"version"`
	Type     ChangeType      `json:"type"`
	Matter   *Matter         `json:"matter,omitempty"`
	Calendar *CalendarImport `json:"calendar,omitempty"`
	Decision *Decision       `json:"decision,omitempty"`
	Notice   *Notice         `json:"notice,omitempty"`
	// The certificate system's changes (station/certificate.go).
	SigningKey *SigningKey     `json:"signing_key,omitempty"`
	Revocation *Revocation     `json:"revocation,omitempty"`
	Template   json.RawMessage `json:"template,omitempty"`
}

// Decision is a department's decision (审批结果) on an application the station forwarded.
type Decision struct {
	ApplicationID string    `json:"application_id"`
	Action        Action    `json:"action"` // ActionApprove or ActionReject
	Reason        string    `json:"reason"`
	Department    string    `json:"department"`
	DecidedAt     time.Time `json:"decided_at"`
}

// Validate checks a decision.
func (d *Decision) Validate() error {
	if strings.TrimSpace(d.ApplicationID) == "" {
		return Errorf(EINVALID, "审批结果缺少办件编号")
	}
	switch d.Action {
	case ActionApprove:
	case ActionReject:
		if len([]rune(strings.TrimSpace(d.Reason))) < 2 {
			return Errorf(EINVALID, "不予批准需要填写原因")
		}
	default:
		return Errorf(EINVALID, "审批结果只能是批准或不予批准")
	}
	return nil
}

// Notice is a notice published by the data center (通知公告).
type Notice struct {
	ID          string    `json:"id"`
	Title       string    `json:"title"`
	Body        string    `json:"body"`
	PublishedAt time.Time `json:"published_at"`        // shown from this moment
	ExpiresAt   time.Time `json:"expires_at,omitzero"` // shown until this moment; zero: until withdrawn
	Withdrawn   bool      `json:"withdrawn,omitempty"`
}

// ShownAt reports whether the notice is on the kiosk at now: published, not expired, not withdrawn.
func (n *Notice) ShownAt(now time.Time) bool {
	return !n.Withdrawn && !now.Before(n.PublishedAt) && (n.ExpiresAt.IsZero() || now.Before(n.ExpiresAt))
}

// Validate checks a notice: an ID of at most 64 characters without spaces, a title of at most 100
// characters, a body of at most 5000, and an expiry (when given) after the publication.
func (n *Notice) Validate() error {
	id := strings.TrimSpace(n.ID)
	switch {
	case id == "" || id != n.ID || strings.ContainsAny(id, " \t\r\n") || utf8.RuneCountInString(id) > 64:
		return Errorf(EINVALID, "通知编号不能为空、不能含空格且不超过64个字符")
	case strings.TrimSpace(n.Title) == "":
		return Errorf(EINVALID, "通知%s：标题不能为空", n.ID)
	case utf8.RuneCountInString(strings.TrimSpace(n.Title)) > 100:
		return Errorf(EINVALID, "通知%s：标题不能超过100个字符", n.ID)
	case utf8.RuneCountInString(strings.TrimSpace(n.Body)) > 5000:
		return Errorf(EINVALID, "通知%s：内容不能超过5000个字符", n.ID)
	case !n.ExpiresAt.IsZero() && !n.ExpiresAt.After(n.PublishedAt):
		return Errorf(EINVALID, "通知%s：截止时间应晚于发布时间", n.ID)
	}
	return nil
}

// SyncApply applies one page of downlink changes and stores the cursor after them, in one transaction.
// FromCursor must equal the stored cursor (so a page is never applied twice or out of order). Reset
// starts a full resync: the record of applied keys is cleared before the changes are applied.
type SyncApply struct {
	FromCursor string   `json:"from_cursor"`
	Cursor     string   `json:"cursor"`
	Reset      bool     `json:"reset,omitempty"`
	Changes    []Change `json:"changes"`
}

// SyncCursor is the station's position in its downlink feed.
type SyncCursor struct {
	Cursor    string    `json:"cursor"`
	UpdatedAt time.Time `json:"updated_at,omitzero"`
	Resyncs   int       `json:"resyncs"` // full resyncs so far
}

// StateHash returns the state hash of a set of (key, version) pairs: the hex SHA-256 of the lines
// "key=version\n" in key order. The hub computes it over its feed, the station over what it applied.
func StateHash(items map[string]string) string {
	keys := make([]string, 0, len(items))
	for k := range items {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	h := sha256.New()
	for _, k := range keys {
		h.Write([]byte(k))
		h.Write([]byte{'='})
		h.Write([]byte(items[k]))
		h.Write([]byte{'\n'})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// BlobRefs returns the blobs a record payload refers to: the values of every object key named
// "sha256" or ending in "_sha256" that are 64 lower-case hex digits, in order of appearance, without
// repeats. This is the convention by which commands reference scans, photos and PDFs.
func BlobRefs(payload json.RawMessage) []string {
	var v any
	if err := json.Unmarshal(payload, &v); err != nil {
		return nil
	}
	var out []string
	seen := map[string]bool{}
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			keys := make([]string, 0, len(x))
			for k := range x {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				if s, ok := x[k].(string); ok && (k == "sha256" || strings.HasSuffix(k, "_sha256")) && IsSHA256(s) {
					if !seen[s] {
						seen[s] = true
						out = append(out, s)
					}
					continue
				}
				walk(x[k])
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(v)
	return out
}

// IsSHA256 reports whether s is a SHA-256 in lower-case hex.
func IsSHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// SyncStatus is what the technician and the counter see of the station's sync with the data center
// (`station sync status`, GET /api/v1/sync/status, /metrics).
type SyncStatus struct {
	Enrolled     bool      `json:"enrolled"`
	StationID    string    `json:"station_id,omitempty"`
	StationName  string    `json:"station_name,omitempty"`
	HubURL       string    `json:"hub_url,omitempty"`
	Online       bool      `json:"online"`                    // the last round reached the hub and finished
	Pending      int       `json:"pending"`                   // records waiting to be sent
	OldestUnsent time.Time `json:"oldest_unsent,omitzero"`    // when the oldest of them occurred
	OldestAge    Seconds   `json:"oldest_unsent_age_seconds"` // how long it has waited
	DeadLetters  int       `json:"dead_letters"`              // records set aside
	Acked        int       `json:"acked"`                     // acknowledged, kept until pruned
	LastAttempt  time.Time `json:"last_attempt,omitzero"`     // start of the last round
	LastSuccess  time.Time `json:"last_success,omitzero"`     // end of the last round that succeeded
	LastError    string    `json:"last_error,omitempty"`      // why the last round failed
	// UpgradeRequired: the hub refused this station's software version as older than its minimum
	// (LastError is the hub's message); nothing syncs until the station is upgraded.
	UpgradeRequired bool      `json:"upgrade_required,omitempty"`
	BytesSent       int64     `json:"bytes_sent"`         // record batches (compressed) and blob chunks since start
	BytesReceived   int64     `json:"bytes_received"`     // answers from the hub since start
	RecordsAcked    int64     `json:"records_acked"`      // acknowledged by the hub since start
	ClockSkew       Seconds   `json:"clock_skew_seconds"` // hub clock minus station clock (from the hub's Date header)
	Cursor          string    `json:"cursor"`             // downlink cursor
	CursorAt        time.Time `json:"cursor_updated_at,omitzero"`
	Drift           bool      `json:"drift"`                // the last state hash did not match the hub's
	Resyncs         int       `json:"resyncs"`              // full resyncs so far
	ConsecutiveKO   int       `json:"consecutive_failures"` // failed rounds in a row
	BandwidthLimit  int64     `json:"bandwidth_limit"`      // bytes per second allowed now; 0 means unlimited
	// SyncedBy names the box of the station's cluster whose syncer these figures are (the leader's)
	// when it is not this box; "" on the box that syncs.
	SyncedBy string `json:"synced_by,omitempty"`
}

// Seconds is a duration that travels in JSON as a whole number of seconds.
type Seconds time.Duration

// Duration returns s as a time.Duration.
func (s Seconds) Duration() time.Duration { return time.Duration(s) }

// MarshalJSON writes whole seconds, rounded towards zero.
func (s Seconds) MarshalJSON() ([]byte, error) {
	return strconv.AppendInt(nil, int64(time.Duration(s)/time.Second), 10), nil
}

// UnmarshalJSON reads a number of seconds.
func (s *Seconds) UnmarshalJSON(b []byte) error {
	var v float64
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*s = Seconds(v * float64(time.Second))
	return nil
}

// SyncStaleAfter is how long without a successful sync makes an enrolled station's status an alert.
const SyncStaleAfter = time.Hour

// Alerts returns what in the status needs a person's attention, in Chinese; none when all is well.
// An enrolled station alerts on dead letters, on no successful sync for SyncStaleAfter, and on drift.
func (s SyncStatus) Alerts(now time.Time) []string {
	var out []string
	if s.DeadLetters > 0 {
		out = append(out, fmt.Sprintf("有%d条记录被搁置，请技术人员处理", s.DeadLetters))
	}
	if s.Enrolled {
		switch {
		case s.LastSuccess.IsZero() && s.ConsecutiveKO > 0:
			out = append(out, "尚未与数据中心同步成功")
		case !s.LastSuccess.IsZero() && now.Sub(s.LastSuccess) > SyncStaleAfter:
			out = append(out, fmt.Sprintf("已超过%d小时未与数据中心同步", int(now.Sub(s.LastSuccess).Hours())))
		}
		if s.Drift {
			out = append(out, "本地下行数据与数据中心不一致")
		}
	}
	return out
}

// WriteDeadLetterExport writes dead letters with their records as JSON lines, one record per line, for
// the data center's staff (`station sync export`, GET /api/v1/sync/dead-letters/export).
func WriteDeadLetterExport(w io.Writer, recs []DeadLetterRecord) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false) // payloads stay byte for byte as hashed
	for _, r := range recs {
		if err := enc.Encode(r); err != nil {
			return fmt.Errorf("export dead letter %d: %w", r.Seq, err)
		}
	}
	return nil
}
