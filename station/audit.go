package station

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// AuditEntry is one record of the audit log: who did what to which object, when, and with what result.
// Entries form a hash chain: each Hash covers the entry's fields and the previous entry's Hash, so an
// edited, removed, inserted or reordered entry breaks the chain from that point on.
type AuditEntry struct {
	Seq      int64     `json:"seq"`
	At       time.Time `json:"at"`
	Actor    string    `json:"actor"`
	Role     Role      `json:"role"`
	Action   string    `json:"action"` // a command kind or a read such as resident.read
	Object   string    `json:"object"` // type:id, never personal data
	Result   string    `json:"result"` // "ok" or the error code
	Detail   string    `json:"detail"` // non-personal context (e.g. the transition)
	PrevHash string    `json:"prev_hash"`
	Hash     string    `json:"hash"`
}

// AuditGenesis is the PrevHash of the first entry.
const AuditGenesis = "0000000000000000000000000000000000000000000000000000000000000000"

// ComputeHash returns the chain hash of e given e.PrevHash. The encoding is length-prefixed so no field
// can bleed into another.
func (e *AuditEntry) ComputeHash() string {
	var b strings.Builder
	for _, f := range []string{
		strconv.FormatInt(e.Seq, 10), e.At.UTC().Format(time.RFC3339Nano), e.Actor, string(e.Role),
		e.Action, e.Object, e.Result, e.Detail, e.PrevHash,
	} {
		b.WriteString(strconv.Itoa(len(f)))
		b.WriteByte(':')
		b.WriteString(f)
		b.WriteByte(';')
	}
	sum := sha256.Sum256([]byte(b.String()))
	return hex.EncodeToString(sum[:])
}

// AuditReport is the result of verifying an audit chain.
type AuditReport struct {
	OK          bool   `json:"ok"`
	Entries     int64  `json:"entries"`
	FirstBadSeq int64  `json:"first_bad_seq,omitempty"`
	Problem     string `json:"problem,omitempty"`
}

// AuditVerifier checks a chain one entry at a time, in the order stored.
type AuditVerifier struct {
	n        int64
	prevHash string
	report   AuditReport
}

// NewAuditVerifier returns a verifier for a chain that starts at the genesis.
func NewAuditVerifier() *AuditVerifier {
	return &AuditVerifier{prevHash: AuditGenesis, report: AuditReport{OK: true}}
}

// Add checks the next entry and reports whether the chain is still intact. After the first problem it
// keeps counting entries but records nothing more.
func (v *AuditVerifier) Add(e AuditEntry) bool {
	v.n++
	v.report.Entries = v.n
	if !v.report.OK {
		return false
	}
	fail := func(format string, args ...any) bool {
		v.report.OK = false
		v.report.FirstBadSeq = e.Seq
		v.report.Problem = fmt.Sprintf(format, args...)
		return false
	}
	switch {
	case e.Seq != v.n:
		if e.Seq > v.n {
			return fail("entry %d expected at position %d but found %d: entries removed or reordered", v.n, v.n, e.Seq)
		}
		return fail("entry %d found at position %d: entries duplicated or reordered", e.Seq, v.n)
	case e.PrevHash != v.prevHash:
		return fail("entry %d does not link to the entry before it: an entry before it was removed, inserted or edited", e.Seq)
	case e.ComputeHash() != e.Hash:
		return fail("entry %d was modified: its content does not match its hash", e.Seq)
	}
	v.prevHash = e.Hash
	return true
}

// Report returns the verification result so far.
func (v *AuditVerifier) Report() AuditReport { return v.report }

// Finish checks the end of the chain against the separately stored head (the last sequence number and
// hash the store recorded), which detects entries removed from the end.
func (v *AuditVerifier) Finish(headSeq int64, headHash string) AuditReport {
	if v.report.OK && (headSeq != v.n || (headSeq > 0 && headHash != v.prevHash)) {
		v.report.OK = false
		v.report.FirstBadSeq = v.n + 1
		if headSeq > v.n {
			v.report.FirstBadSeq = v.n + 1
			v.report.Problem = fmt.Sprintf("the log ends at entry %d but the head records entry %d: entries removed from the end", v.n, headSeq)
		} else {
			v.report.FirstBadSeq = headSeq
			v.report.Problem = fmt.Sprintf("the head records entry %d (hash %.12s…) but the log does not end there", headSeq, headHash)
		}
	}
	return v.report
}
