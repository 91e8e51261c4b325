package station

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// CertStatus is the state of an issued certificate (社区证明). The certificate model itself — templates,
// preconditions, the signed QR payload — is package station/cert; this file holds what the store and
// the commands need.
type CertStatus string

// Certificate statuses. A certificate counts as issued only once the printer confirmed it.
const (
	CertAwaitingApproval CertStatus = "awaiting_approval" // 待部门核实: an application waits for the department
	CertPendingPrint     CertStatus = "pending_print"     // 待打印
	CertIssued           CertStatus = "issued"            // 已出具: printed and confirmed, counted
	CertVoided           CertStatus = "voided"            // 已作废: by staff, with a reason
	CertRevoked          CertStatus = "revoked"           // 已撤销: by the station admin or the data center
)

// Label returns the Chinese label of a certificate status.
func (s CertStatus) Label() string {
	switch s {
	case CertAwaitingApproval:
		return "待部门核实"
	case CertPendingPrint:
		return "待打印"
	case CertIssued:
		return "已出具"
	case CertVoided:
		return "已作废"
	case CertRevoked:
		return "已撤销"
	}
	return string(s)
}

// CanPrint returns nil when a certificate in status s may be printed — for the first time, or with
// reprint as a 补打 of an issued one — and otherwise ECONFLICT saying why not.
func (s CertStatus) CanPrint(reprint bool) error {
	switch {
	case s == CertAwaitingApproval:
		return Errorf(ECONFLICT, "该证明正在等待部门核实，核实通过后才能打印")
	case s == CertVoided || s == CertRevoked:
		return Errorf(ECONFLICT, "该证明%s，不能打印", s.Label())
	case reprint && s != CertIssued:
		return Errorf(ECONFLICT, "该证明尚未出具，不能补打，请先打印")
	case !reprint && s == CertIssued:
		return Errorf(ECONFLICT, "该证明已打印出具；如需再次打印，请到柜台办理补打")
	}
	return nil
}

// Valid reports whether s is a known status.
func (s CertStatus) Valid() bool {
	switch s {
	case CertAwaitingApproval, CertPendingPrint, CertIssued, CertVoided, CertRevoked:
		return true
	}
	return false
}

// Certificate command kinds. All of them are audited and travel to the data center.
const (
	CmdCertificateIssue       CommandKind = "certificate.issue"        // record a certificate to be printed, unnumbered, with its preview
	CmdCertificateNumber      CommandKind = "certificate.number"       // give it the day's next serial, at its first print
	CmdCertificateSign        CommandKind = "certificate.sign"         // record the numbered text, signed QR payload and PDF that is printed
	CmdCertificatePrinted     CommandKind = "certificate.printed"      // the printer confirmed a print (or a 补打 reprint)
	CmdCertificatePrintFailed CommandKind = "certificate.print_failed" // a print failed: audited, not counted
	CmdCertificateVoid        CommandKind = "certificate.void"         // staff void a certificate, with a reason
	CmdCertificateRevoke      CommandKind = "certificate.revoke"       // the station admin revokes one, with a reason
	CmdSigningKeyPublish      CommandKind = "signing_key.publish"      // the station's certificate signing key, for the hub to distribute
	CmdRatingRecord           CommandKind = "rating.record"            // a resident's rating (好差评) at the kiosk
)

// Channels a certificate is requested through.
const (
	ChannelKiosk   = "kiosk"
	ChannelCounter = "counter"
)

// CertificateMatterCategory is the catalog category of the matters through which certificates that need
// a department's verification become applications: one matter per department, whose department is the
// template's department (e.g. 街道司法所证明核实).
const CertificateMatterCategory = "证明核实"

// CertificateText is the filled text of a certificate, in the JSON form of station/cert's Filled: what
// was printed and what the content hash covers. Reprints are drawn from it.
type CertificateText struct {
	Code      string   `json:"code"`
	Version   int      `json:"version"`
	Title     string   `json:"title"`
	Body      []string `json:"body"`
	Seal      string   `json:"seal"`
	Signature string   `json:"signature,omitempty"`
	Footer    []string `json:"footer,omitempty"`
}

// CertificateIssue records a certificate the resident or staff asked for, before it is printed: its
// text filled for the preview, the inputs, and the preview PDF (durable in the blob store before the
// command). It carries no serial and no signed payload: a certificate is numbered when it is printed
// (CertificateNumber, then CertificateSign), so a preview that is never printed leaves no gap in the
// day's register. With ApplicationID the certificate waits for that application's approval
// (awaiting_approval); without, it waits for the printer (pending_print).
type CertificateIssue struct {
	CertificateID     string            `json:"certificate_id"`
	TypeCode          string            `json:"type_code"`
	TypeName          string            `json:"type_name"`
	Category          string            `json:"category"` // the template's category code (livelihood …)
	TemplateVersion   int               `json:"template_version"`
	ResidentID        string            `json:"resident_id"`
	SubjectNameMasked string            `json:"subject_name_masked"`
	SubjectIDMasked   string            `json:"subject_id_masked"`
	Filled            CertificateText   `json:"filled"` // as previewed, with PreviewSerial for the serial
	Inputs            map[string]string `json:"inputs"`
	PDFSHA256         string            `json:"pdf_sha256"` // the preview PDF in the blob store
	IssueDate         Date              `json:"issue_date"` // the preview's day; numbering sets the issue day
	ValidUntil        Date              `json:"valid_until"`
	ApplicationID     string            `json:"application_id,omitempty"`
	Channel           string            `json:"channel"` // kiosk or counter
}

// PreviewSerial stands for the serial on a preview: the number is given when the certificate is printed.
const PreviewSerial = "打印时生成"

// CertificateNumber gives a printable certificate that has no serial yet the next serial of the day of
// the command (China time), in the transaction that applies it: the serial is a function of the
// register's state, so numbers are unique and gap-free per day however many boxes issue at once. The
// command changes the issue date to that day.
type CertificateNumber struct {
	CertificateID string `json:"certificate_id"`
}

// CertificateSign records what is printed on a numbered certificate: the text filled with its serial
// and issue date, the signed QR payload and the PDF (durable in the blob store before the command).
// Serial must be the serial the certificate was given; the record is the data center's copy of the
// register entry.
type CertificateSign struct {
	CertificateID   string          `json:"certificate_id"`
	Serial          string          `json:"serial"`
	TemplateVersion int             `json:"template_version"`
	Filled          CertificateText `json:"filled"`
	ContentHash     string          `json:"content_hash"` // hex SHA-256 (station/cert ContentHash)
	Payload         string          `json:"payload"`      // the signed QR payload
	PDFSHA256       string          `json:"pdf_sha256"`
	IssueDate       Date            `json:"issue_date"`
	ValidUntil      Date            `json:"valid_until"` // zero when the type states no validity
}

// CertificatePrinted records that the printer confirmed a print. Reprint (补打) prints the PDF
// PDFSHA256 carries, drawn with the 补打 mark; a first print prints the issued PDF.
type CertificatePrinted struct {
	CertificateID string `json:"certificate_id"`
	Reprint       bool   `json:"reprint"`
	Printer       string `json:"printer"`
	PDFSHA256     string `json:"pdf_sha256"`
}

// CertificatePrintFailed records a print the printer did not confirm. It changes nothing but the
// certificate's failure count: the certificate stays pending_print and may be printed again.
type CertificatePrintFailed struct {
	CertificateID string `json:"certificate_id"`
	Reprint       bool   `json:"reprint,omitempty"`
	Code          string `json:"code"`   // paper_out, not_confirmed, not_connected, timeout, error
	Reason        string `json:"reason"` // in Chinese
}

// CertificateVoid voids a certificate (作废), with a reason.
type CertificateVoid struct {
	CertificateID string `json:"certificate_id"`
	Reason        string `json:"reason"`
}

// CertificateRevoke revokes a certificate (撤销), with a reason.
type CertificateRevoke struct {
	CertificateID string `json:"certificate_id"`
	Reason        string `json:"reason"`
}

// SigningKeyPublish records the station's certificate signing key and sends it to the data center,
// which distributes it to every station (a downlink ChangeSigningKey). PublicKey is the JSON form of
// station/cert's PublicKey.
type SigningKeyPublish struct {
	PublicKey   json.RawMessage `json:"public_key"`
	StationName string          `json:"station_name,omitempty"`
}

// Rating subjects.
const (
	RateCertificate = "certificate"
	RateApplication = "application"
)

// RatingRecord is a resident's rating of a service (好差评): 1 不满意, 2 基本满意, 3 满意.
type RatingRecord struct {
	RatingID string `json:"rating_id"`
	Subject  string `json:"subject"` // certificate or application
	ObjectID string `json:"object_id"`
	Score    int    `json:"score"`
	Channel  string `json:"channel"`
}

// ScoreLabel returns the Chinese label of a rating score, "" for an invalid one.
func ScoreLabel(score int) string {
	switch score {
	case 1:
		return "不满意"
	case 2:
		return "基本满意"
	case 3:
		return "满意"
	}
	return ""
}

// Certificate is an issued certificate as the store keeps it. The subject appears only masked; the
// full name is in Text (it is printed on the certificate) and must not be logged.
type Certificate struct {
	ID                string            `json:"id"`
	Serial            string            `json:"serial"` // "" until the certificate is numbered at its first print
	TypeCode          string            `json:"type_code"`
	TypeName          string            `json:"type_name"`
	Category          string            `json:"category"`
	TemplateVersion   int               `json:"template_version"`
	ResidentID        string            `json:"resident_id"`
	SubjectNameMasked string            `json:"subject_name_masked"`
	SubjectIDMasked   string            `json:"subject_id_masked"`
	Text              CertificateText   `json:"text"`
	Inputs            map[string]string `json:"inputs"`
	ContentHash       string            `json:"content_hash"`
	Payload           string            `json:"payload"`    // "" until numbered
	PDFSHA256         string            `json:"pdf_sha256"` // the preview PDF until numbered
	IssueDate         Date              `json:"issue_date"`
	ValidUntil        Date              `json:"valid_until"`
	ApplicationID     string            `json:"application_id,omitempty"`
	ApplicationNumber string            `json:"application_number,omitempty"`
	Channel           string            `json:"channel"`
	Status            CertStatus        `json:"status"`
	PrintCount        int               `json:"print_count"`    // confirmed prints, reprints included
	PrintFailures     int               `json:"print_failures"` // prints the printer did not confirm
	Reason            string            `json:"reason,omitempty"`
	CreatedAt         time.Time         `json:"created_at"`
	CreatedBy         string            `json:"created_by"`
	IssuedAt          *time.Time        `json:"issued_at,omitempty"` // the first confirmed print
	UpdatedAt         time.Time         `json:"updated_at"`
}

// Numbered reports whether the certificate has its serial (it was sent to a printer at least once).
func (c *Certificate) Numbered() bool { return c.Serial != "" }

// CertificateFilter selects certificates, newest first. Previews that were never printed (pending_print
// without a serial or an application) are not certificates of the register and are not listed.
type CertificateFilter struct {
	ResidentID string
	Status     CertStatus
	Offset     int
	Limit      int
}

// CertificateRequest is a request to check or issue a certificate for a resident.
type CertificateRequest struct {
	ResidentID   string
	TypeCode     string
	Inputs       map[string]string
	Channel      string // kiosk or counter
	Actor        Actor
	CardVerified bool // the identity was read from the ID card at this visit (or checked by staff in person)
}

// CertificateSerial formats the serial of the seq-th certificate of day d: ZM20261124-0001.
func CertificateSerial(d Date, seq int) string {
	return fmt.Sprintf("ZM%04d%02d%02d-%04d", d.Year, d.Month, d.Day, seq)
}

// ParseCertificateSerial returns the day and sequence of a serial, or false when s is not one.
func ParseCertificateSerial(s string) (Date, int, bool) {
	day, seq, ok := strings.Cut(strings.TrimPrefix(s, "ZM"), "-")
	if !ok || !strings.HasPrefix(s, "ZM") || len(day) != 8 || len(seq) != 4 || !digits(day) || !digits(seq) {
		return Date{}, 0, false
	}
	d, err := ParseDate(day[:4] + "-" + day[4:6] + "-" + day[6:])
	if err != nil || d.String() != day[:4]+"-"+day[4:6]+"-"+day[6:] {
		return Date{}, 0, false
	}
	n, _ := strconv.Atoi(seq)
	if n < 1 {
		return Date{}, 0, false
	}
	return d, n, true
}

// Downlink change types of the certificate system.
const (
	ChangeSigningKey ChangeType = "signing_key" // a station's certificate signing key (Change.SigningKey)
	ChangeRevocation ChangeType = "revocation"  // a certificate revoked by the data center (Change.Revocation)
	ChangeTemplate   ChangeType = "template"    // a certificate template (Change.Template, station/cert's JSON form)
)

// SigningKey is a station's certificate signing key as the data center distributes it. The hub sets
// StationID and StationName from its own registry, never from what the station claimed.
type SigningKey struct {
	StationID   string          `json:"station_id"`
	StationName string          `json:"station_name,omitempty"`
	PublicKey   json.RawMessage `json:"public_key"` // station/cert PublicKey JSON
}

// Revocation is a certificate revoked by the data center (or by the issuing station, relayed).
type Revocation struct {
	StationID     string    `json:"station_id"`
	CertificateID string    `json:"certificate_id"`
	Reason        string    `json:"reason"`
	RevokedAt     time.Time `json:"revoked_at"`
}

// Validate checks a revocation.
func (r *Revocation) Validate() error {
	switch {
	case strings.TrimSpace(r.StationID) == "" || len(r.StationID) > 64:
		return Errorf(EINVALID, "撤销记录缺少服务站编号")
	case strings.TrimSpace(r.CertificateID) == "" || len(r.CertificateID) > 64:
		return Errorf(EINVALID, "撤销记录缺少证明编号")
	case len([]rune(strings.TrimSpace(r.Reason))) < 2 || len([]rune(r.Reason)) > 500:
		return Errorf(EINVALID, "撤销证明需要填写原因（2至500个字）")
	}
	return nil
}

// Verification statuses of a certificate's QR payload, as /verify and `station cert verify` report them.
const (
	VerifyValid      = "valid"       // genuine, issued, neither revoked nor voided
	VerifyRevoked    = "revoked"     // genuine but revoked
	VerifyVoided     = "voided"      // genuine but voided by the issuing station
	VerifyNotGenuine = "not_genuine" // not signed by a known station key, altered, malformed, or never issued
)

// CertificateVerification is the answer to "is this printed certificate genuine and still valid?". The
// subject appears masked as the payload carries it.
type CertificateVerification struct {
	Genuine     bool   `json:"genuine"`
	Status      string `json:"status"`      // valid, revoked, voided or not_genuine
	ReasonCode  string `json:"reason_code"` // station/cert's reason codes, or revoked, voided, not_issued, unknown_certificate
	Message     string `json:"message"`     // in Chinese
	TypeCode    string `json:"type_code,omitempty"`
	TypeName    string `json:"type_name,omitempty"`
	SubjectName string `json:"subject_name,omitempty"`
	SubjectID   string `json:"subject_id,omitempty"`
	StationID   string `json:"station_id,omitempty"`
	StationName string `json:"station_name,omitempty"`
	IssueDate   *Date  `json:"issue_date,omitempty"`
	ValidUntil  *Date  `json:"valid_until,omitempty"` // known for the station's own certificates
	Reason      string `json:"reason,omitempty"`      // why it was revoked or voided (for staff and the CLI, not the public page)
}

// SigningKeyInfo is a public key in the station's key ring: its own, or one the data center
// distributed.
type SigningKeyInfo struct {
	KeyID       string    `json:"key_id"`
	StationID   string    `json:"station_id"`
	StationName string    `json:"station_name"`
	Algorithm   string    `json:"algorithm"`
	PublicKey   []byte    `json:"public_key"` // PKIX
	Own         bool      `json:"own"`
	AddedAt     time.Time `json:"added_at"`
}
