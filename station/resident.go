package station

// Sex of a person as recorded on identity documents (GB/T 2261.1).
type Sex string

// Sexes.
const (
	SexUnknown Sex = "unknown"
	SexMale    Sex = "male"
	SexFemale  Sex = "female"
)

// Resident tags used by the station's programmes. Tags are free text; these are the common ones.
const (
	TagLowIncome   = "低保"
	TagDisabled    = "残疾"
	TagEmptyNest   = "空巢老人"
	TagLivingAlone = "独居"
	TagVeteran     = "退役军人"
	TagAged80      = "高龄"
)

// SealedID is a document number as the store keeps it: encrypted, with a keyed hash for lookup and the
// masked form for display. The plain number exists only in memory, never in the database or logs.
//
// Hub, when set, is a second copy of the number that only the data center can open: HPKE-sealed to the
// hub's reveal public key (station/revealkey), bound to Type and Index. Only an application's
// applicant gets one (Sealer.HubCopy): it travels to the hub inside the synced intake record so that a
// department clerk can reveal the number on purpose. The station's own tables do not keep it, and a
// number sealed before the station knew the hub's key has none.
type SealedID struct {
	Type   IDType `json:"type"`
	Cipher string `json:"cipher"`        // base64 AES-256-GCM ciphertext (nonce prefixed)
	Index  string `json:"index"`         // hex HMAC-SHA256 of type and number, for lookup
	Masked string `json:"masked"`        // 2201**********123X
	Hub    string `json:"hub,omitempty"` // base64 HPKE ciphertext to the hub's reveal key; "" without one
}

// Sealer encrypts document numbers and computes their lookup hashes with the station's data key.
type Sealer interface {
	// Seal encrypts a validated, normalized document number. Encryption is randomized, so Seal must run
	// before a Command is built, never inside Apply.
	Seal(t IDType, number string) (SealedID, error)
	// HubCopy returns s with the data center's copy (SealedID.Hub) added, for an application's applicant:
	// the number, opened with the data key, sealed to the hub's reveal key. Without a known reveal key,
	// or when s has a copy already, it returns s as it is. Randomized like Seal: call it before a Command
	// is built. It fails if s does not open with the data key.
	HubCopy(s SealedID) (SealedID, error)
	// Open decrypts a sealed number. It fails if the ciphertext was altered or made with another key.
	Open(s SealedID) (string, error)
	// Index returns the lookup hash of a number, equal to Seal(t, number).Index.
	Index(t IDType, number string) string
}

// SealApplicant seals an application's applicant's number: Seal, then HubCopy, so that the data
// center can reveal it when it knows the hub's reveal key. Like Seal, it runs before a Command is built.
func SealApplicant(s Sealer, t IDType, number string) (SealedID, error) {
	sealed, err := s.Seal(t, number)
	if err != nil {
		return SealedID{}, err
	}
	return s.HubCopy(sealed)
}

// Resident is a person the station serves.
type Resident struct {
	ID        string   `json:"id"`
	IDNumber  SealedID `json:"-"`
	Name      string   `json:"name"`
	Sex       Sex      `json:"sex"`
	Ethnicity string   `json:"ethnicity"`
	BirthDate Date     `json:"birth_date"`
	Address   string   `json:"address"`
	Community string   `json:"community"`
	Grid      string   `json:"grid"`
	Phone     string   `json:"phone"`
	Tags      []string `json:"tags"`
	// RegisteredSince is when the resident was registered as living in this community (居住登记); zero
	// when unknown. Certificate preconditions count months from it.
	RegisteredSince Date `json:"registered_since"`
}
