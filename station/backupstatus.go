package station

import "time"

// BackupStatus is the state of the station's scheduled backups (the `backup_*` keys of the
// configuration), for the setup page and `station doctor`.
type BackupStatus struct {
	Enabled     bool      `json:"enabled"`
	At          string    `json:"at,omitempty"`   // the daily time, HH:MM China time
	To          string    `json:"to,omitempty"`   // the destination directory (e.g. a USB disk's mount point)
	Keep        int       `json:"keep,omitempty"` // how many backups the destination keeps
	KeyIncluded bool      `json:"key_included"`   // the backups carry the data key sealed under a passphrase
	NextAt      time.Time `json:"next_at,omitzero"`
	LastAttempt time.Time `json:"last_attempt,omitzero"`
	LastSuccess time.Time `json:"last_success,omitzero"`
	LastFile    string    `json:"last_file,omitempty"`  // the newest good backup
	LastBytes   int64     `json:"last_bytes,omitempty"` // its size
	LastTook    Seconds   `json:"last_took_seconds,omitempty"`
	LastError   string    `json:"last_error,omitempty"` // why the last attempt failed (Chinese); "" when it succeeded
}

// BackupOverdue is how long after the last good backup a daily schedule counts as failing.
const BackupOverdue = 49 * time.Hour

// Alert returns what needs a technician's attention about the scheduled backups, in Chinese, or "".
func (b BackupStatus) Alert(now time.Time) string {
	switch {
	case !b.Enabled:
		return ""
	case b.LastError != "":
		return "定时备份失败：" + b.LastError
	case !b.LastSuccess.IsZero() && now.Sub(b.LastSuccess) > BackupOverdue:
		return "定时备份已超过两天没有成功"
	}
	return ""
}
