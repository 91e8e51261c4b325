package station

import "time"

// DiskStatus is the free space of the station's data directory against its reserve. Below the reserve
// the station refuses new input (ErrDiskLow) rather than risk a full disk; what it holds stays intact
// and the sync with the data center, logins and audit entries go on.
type DiskStatus struct {
	FreeBytes    int64     `json:"free_bytes"`    // available to the station's user
	ReserveBytes int64     `json:"reserve_bytes"` // the configured reserve
	Low          bool      `json:"low"`           // FreeBytes < ReserveBytes: new input is refused
	CheckedAt    time.Time `json:"checked_at,omitzero"`
	Error        string    `json:"error,omitempty"` // why the free space could not be read
}

// ErrDiskLow is the answer to new input while the data directory is short of its reserve.
func ErrDiskLow() *Error {
	return Errorf(ESTORAGE, "本机存储空间不足，暂停受理新业务，请联系技术人员。已有数据安全。")
}

// NeedsSpace reports whether commands of this kind are new input, which the station refuses while its
// disk is short of the reserve. The exceptions keep a full station operable and its data safe: the
// sync bookkeeping (acknowledging and pruning free space, applying downlink decisions completes work
// already taken), sessions and failed logins, audit records of reads, and account changes (a station
// admin can still disable or unlock an account). Any kind not listed, including kinds added later,
// needs space.
func (k CommandKind) NeedsSpace() bool {
	switch k {
	case CmdOutboxAck, CmdOutboxPrune, CmdOutboxDeadLetter, CmdOutboxRetry, CmdSyncApply,
		CmdSessionOpen, CmdSessionClose, CmdLoginFailed, CmdAccessRecord, CmdUserUpdate, CmdSetupRecord,
		CmdCertificatePrinted, CmdCertificatePrintFailed: // a print already on paper must be recorded
		return false
	}
	return true
}
