// Package hub is the data center's end of sync protocol v1 (docs/sync-protocol.md): it enrolls
// stations and issues their client certificates, ingests their outbox records exactly once in effect
// (dedup by station and record ID, conflicts quarantined), receives blobs in resumable chunks, and
// serves each station its downlink feed (catalog, calendar, notices and the departments' decisions on
// its applications).
//
// The HTTP server and the rules live here; storage is behind Store, implemented by syncer/hub/sqlite
// (embedded, the default) and syncer/hub/postgres. Blobs are files in a content-addressed directory.
package hub

import (
	"context"
	"encoding/json"
	"time"

	"github.com/civic-station/station/station"
)

// Token is an enrollment token as stored: only the hash of its secret is kept.
type Token struct {
	Hash        string    `json:"hash"` // hex SHA-256 of the secret
	StationName string    `json:"station_name"`
	CreatedAt   time.Time `json:"created_at"`
	ExpiresAt   time.Time `json:"expires_at"`
	UsedAt      time.Time `json:"used_at,omitzero"`
	StationID   string    `json:"station_id,omitempty"` // the station enrolled with it
}

// Station is an enrolled station as the hub sees it.
type Station struct {
	ID           string        `json:"id"`
	Name         string        `json:"name"`
	CertSerial   string        `json:"cert_serial"` // hex serial of the only certificate accepted for it
	EnrolledAt   time.Time     `json:"enrolled_at"`
	LastSeen     time.Time     `json:"last_seen,omitzero"`
	Backlog      int           `json:"backlog"`      // records the station reported waiting
	DeadLetters  int           `json:"dead_letters"` // records the station set aside
	Version      string        `json:"version"`
	ClockSkew    time.Duration `json:"clock_skew"` // station clock minus hub clock, at the last contact
	AckedThrough int64         `json:"acked_seq"`  // the highest seq acknowledged to it
	Cursor       string        `json:"cursor"`     // the downlink cursor it reported
	StateHash    string        `json:"state_hash"` // the downlink state hash it reported
}

// Seen is what the hub learns about a station at a contact.
type Seen struct {
	At           time.Time
	Backlog      int
	DeadLetters  int
	Version      string
	ClockSkew    time.Duration
	AckedThrough int64 // 0 leaves it as it is
	Cursor       string
	StateHash    string
}

// Record is an outbox record the hub holds, under the permanent key (StationID, ID).
type Record struct {
	StationID     string          `json:"station_id"`
	ID            string          `json:"id"`
	Seq           int64           `json:"seq"`
	Kind          string          `json:"kind"`
	OccurredAt    time.Time       `json:"occurred_at"`
	Payload       json.RawMessage `json:"payload"`
	PayloadSHA256 string          `json:"payload_sha256"`
	ApplicationID string          `json:"application_id,omitempty"` // for application.* records
	ReceivedAt    time.Time       `json:"received_at"`
}

// Conflict is a record that arrived under a key the hub already holds with different content. It is
// quarantined: kept for a person to look at, never applied over the original.
type Conflict struct {
	StationID     string          `json:"station_id"`
	ID            string          `json:"id"`
	Seq           int64           `json:"seq"`
	Kind          string          `json:"kind"`
	Payload       json.RawMessage `json:"payload"`
	PayloadSHA256 string          `json:"payload_sha256"`
	HeldSHA256    string          `json:"held_sha256"` // the content the hub holds under the key
	ReceivedAt    time.Time       `json:"received_at"`
}

// RecordFilter selects records.
type RecordFilter struct {
	StationID     string   // "" for every station
	Kinds         []string // nil for every kind
	ApplicationID string   // "" for every record; else the application.* records of that application
	Limit         int      // 0 for no limit
}

// FeedPage is a page of a station's downlink feed.
type FeedPage struct {
	Changes []station.Change
	Next    int64  // the cursor after the page
	More    bool   // whether more changes follow
	Hash    string // the state hash at Next; set when More is false
}

// Store is what the hub keeps. Every method is one transaction. Errors are *station.Error for the
// caller's mistakes (ENOTFOUND, ECONFLICT, EUNAUTHORIZED), wrapped driver errors otherwise.
type Store interface {
	// CreateToken stores a new enrollment token.
	CreateToken(ctx context.Context, t Token) error
	// Enroll uses up the token with the given hash and creates the station st (its ID, serial and
	// enrollment time set; the name is taken from the token). It returns EUNAUTHORIZED for an unknown,
	// used or expired token (expired: ExpiresAt not after st.EnrolledAt).
	Enroll(ctx context.Context, tokenHash string, st Station) (Station, error)
	// Station returns one station, or ENOTFOUND.
	Station(ctx context.Context, id string) (Station, error)
	// Stations returns every station, by name.
	Stations(ctx context.Context) ([]Station, error)
	// SeeStation records a contact with a station.
	SeeStation(ctx context.Context, id string, s Seen) error
	// PutRecords stores records of one station and returns each one's outcome, in order: StatusStored,
	// StatusDuplicate (same key, same payload hash and kind) or StatusConflict (same key, different
	// content; the newcomer is quarantined as a Conflict and the held record is left untouched).
	PutRecords(ctx context.Context, recs []Record) ([]string, error)
	// Records returns records in (station, seq) order.
	Records(ctx context.Context, f RecordFilter) ([]Record, error)
	// Conflicts returns the quarantined conflicts of a station ("" for all).
	Conflicts(ctx context.Context, stationID string) ([]Conflict, error)
	// ApplicationRecord returns the application.intake record of an application of a station, or
	// ENOTFOUND.
	ApplicationRecord(ctx context.Context, stationID, applicationID string) (Record, error)
	// Publish appends a change to the feed of one station, or of every station when stationID is "",
	// and returns its position. Positions grow with commit order.
	Publish(ctx context.Context, stationID string, c station.Change, at time.Time) (int64, error)
	// Changes returns up to limit changes visible to the station after position after: for each key,
	// only its latest change. With More false, Hash is the state hash at Next.
	Changes(ctx context.Context, stationID string, after int64, limit int) (FeedPage, error)
	// ConsoleStore keeps the department console's accounts, sessions, audit log and decisions.
	ConsoleStore
	// Close releases the store.
	Close() error
}
