package station

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"sort"
	"strings"
	"time"
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
	Seq     int64     `json:"seq"`
	ID      string    `json:"id,omitempty"`   // filled in by the store
	Kind    string    `json:"kind,omitempty"` // filled in by the store
	Code    string    `json:"code"`           // conflict, invalid, too_large, blob_missing
	Message string    `json:"message"`        // why, for the technician (Chinese)
	At      time.Time `json:"at,omitzero"`    // filled in by the store
}

// OutboxDeadLetter moves records to the dead-letter list, so that they no longer hold up the queue.
type OutboxDeadLetter struct {
	Records []DeadLetter `json:"records"`
}

// OutboxRetry puts dead letters back in the queue (after the technician or the data center fixed the
// cause).
type OutboxRetry struct {
	Seqs []int64 `json:"seqs"`
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
	PublishedAt time.Time `json:"published_at"`
	Withdrawn   bool      `json:"withdrawn,omitempty"`
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
