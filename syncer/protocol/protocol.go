// Package protocol holds the wire types and constants of sync protocol v1 between a station and the
// data center's hub (docs/sync-protocol.md). Both ends import it; it imports only the standard library
// and the station domain.
package protocol

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"time"

	"github.com/civic-station/station/station"
)

// Paths of protocol v1.
const (
	PathEnroll  = "/sync/v1/enroll"
	PathRecords = "/sync/v1/records"
	PathBlobs   = "/sync/v1/blobs/" // + sha256
	PathChanges = "/sync/v1/changes"
	PathMetrics = "/metrics"
)

// Headers of the blob upload.
const (
	HeaderUploadOffset   = "Upload-Offset"   // bytes of the blob the hub holds; where a PATCH chunk starts
	HeaderUploadLength   = "Upload-Length"   // the blob's total size
	HeaderUploadComplete = "Upload-Complete" // "1" when the hub holds the whole, verified blob
	HeaderChunkSHA256    = "Chunk-SHA256"    // hex SHA-256 of the PATCH body
	HeaderStationTime    = "Station-Time"    // the station's clock (RFC 3339), for the hub's skew estimate
	HeaderStationVersion = "Station-Version" // the station's software version
)

// ContentTypeBlobChunk is the content type of a PATCH body.
const ContentTypeBlobChunk = "application/offset+octet-stream"

// EnrollRequest asks the hub for a station identity. CSR is a PEM certificate request for the key the
// station generated; the key never leaves the station.
type EnrollRequest struct {
	Token   string `json:"token"`
	CSR     string `json:"csr"`
	Version string `json:"version,omitempty"`
}

// EnrollResponse is the station's identity: its ID, its client certificate (PEM, signed by the hub's
// CA) and the CA certificate (PEM) to verify the hub with from now on. RevealKey is the hub's reveal
// public key (station/revealkey, base64), to which the station seals a copy of each ID number; ""
// from a hub without one.
type EnrollResponse struct {
	StationID   string `json:"station_id"`
	StationName string `json:"station_name"`
	Certificate string `json:"certificate"`
	CA          string `json:"ca"`
	RevealKey   string `json:"reveal_key,omitempty"`
}

// Record is an outbox record on the wire.
type Record struct {
	Seq           int64           `json:"seq"`
	ID            string          `json:"id"`
	Kind          string          `json:"kind"`
	OccurredAt    time.Time       `json:"occurred_at"`
	Payload       json.RawMessage `json:"payload"`
	PayloadSHA256 string          `json:"payload_sha256"`
	Blobs         []string        `json:"blobs"`
}

// PayloadHash returns the hex SHA-256 of a payload's bytes as sent.
func PayloadHash(p []byte) string {
	h := sha256.Sum256(p)
	return hex.EncodeToString(h[:])
}

// StationReport is what the station says about itself with each upload.
type StationReport struct {
	Backlog  int       `json:"backlog"`              // records waiting, this batch included
	OldestAt time.Time `json:"oldest_at,omitzero"`   // when the oldest of them occurred
	Dead     int       `json:"dead_letters"`         // records set aside
	Version  string    `json:"version,omitempty"`    // software version
	Cursor   string    `json:"cursor,omitempty"`     // downlink cursor
	Hash     string    `json:"state_hash,omitempty"` // downlink state hash
}

// RecordsRequest is the body of POST /sync/v1/records (gzip-compressed JSON).
type RecordsRequest struct {
	Station StationReport `json:"station"`
	Records []Record      `json:"records"`
}

// Record outcomes at the hub.
const (
	StatusStored      = "stored"       // new, stored
	StatusDuplicate   = "duplicate"    // already held with the same content: success
	StatusConflict    = "conflict"     // already held with different content: quarantined, never overwritten
	StatusInvalid     = "invalid"      // malformed (e.g. payload hash mismatch): refused for good
	StatusMissingBlob = "missing_blob" // a referenced blob is not complete at the hub yet: send it, then the record again
)

// Settled reports whether an outcome is final: the station need not send the record again.
func Settled(status string) bool {
	return status == StatusStored || status == StatusDuplicate || status == StatusConflict || status == StatusInvalid
}

// Permanent reports whether an outcome is a permanent refusal (the record goes to the dead-letter list).
func Permanent(status string) bool { return status == StatusConflict || status == StatusInvalid }

// RecordResult is the hub's outcome for one record.
type RecordResult struct {
	Seq     int64  `json:"seq"`
	ID      string `json:"id"`
	Status  string `json:"status"`
	Message string `json:"message,omitempty"`
}

// RecordsResponse answers an upload. AckedThrough is the highest seq such that every record of the
// batch up to it is settled; the station may mark those acknowledged.
type RecordsResponse struct {
	AckedThrough int64          `json:"acked_through"`
	Results      []RecordResult `json:"results"`
}

// ChangesResponse answers GET /sync/v1/changes. StateHash, present when More is false, is the hash of
// the station's downlink state once it has applied everything up to NextCursor. RevealKey is the hub's
// reveal public key, as in EnrollResponse: a station enrolled before the hub had one, or whose hub
// changed it, takes it from here.
type ChangesResponse struct {
	Changes    []station.Change `json:"changes"`
	NextCursor string           `json:"next_cursor"`
	More       bool             `json:"more"`
	StateHash  string           `json:"state_hash,omitempty"`
	RevealKey  string           `json:"reveal_key,omitempty"`
}

// ErrorResponse is the body of every error answer.
type ErrorResponse struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}
