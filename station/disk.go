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

// ErrStorageFailed is the answer to a change the disk could not take (full or failing): nothing of it
// was saved.
func ErrStorageFailed() *Error {
	return Errorf(ESTORAGE, "本机存储空间已满或磁盘故障，本次操作未保存，已有数据安全。请联系技术人员。")
}

// ErrStorageDeferred is the answer to a change the station's log has recorded but its database could
// not take yet (full or failing disk): it takes effect by itself once the disk has room again, so it
// must not be made a second time.
func ErrStorageDeferred() *Error {
	return Errorf(ESTORAGE, "本机存储空间已满或磁盘故障：本次操作已记录，存储恢复后自动生效，请勿重复办理。已有数据安全，请联系技术人员。")
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
