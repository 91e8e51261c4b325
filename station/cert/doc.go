// Package cert is the certificate model of a station (社区证明): certificate templates and the library
// that holds them, declarative preconditions, the filled text of a certificate, and the signed payload a
// certificate's QR code carries so that anyone holding the station public keys can check, offline, that
// a printed certificate is genuine.
//
// The package holds no HTTP, SQL or PDF code. It imports package station for Date, Sex, Resident and the
// error codes, and github.com/emmansun/gmsm for SM2.
//
// # Using it
//
// Issuing a certificate, as the HTTP layer and the store will do it:
//
//	lib := cert.BuiltIn()                          // or cert.Parse(json from the data center)
//	t, ok := lib.Get("MS-001")                     // withdrawn templates are found too (for history)
//	subj := cert.SubjectOf(resident, registeredSince, cardVerified)
//	res := t.Check(subj, history, station.DateOf(now))
//	if !res.Allowed { show res.Failures(): each has a Chinese Reason and Advice }
//	if res.NeedsApproval { start an application for res.Department; print after approval }
//	values := t.Values(subj, stationInfo, typedInputs, cert.Issue{Serial: serial, Date: today})
//	filled, err := t.Fill(values)                  // EINVALID naming every missing or too long value
//	hash := cert.ContentHash(filled, serial)
//	qr, err := signer.Sign(cert.Payload{CertificateID: id, TypeCode: t.Code,
//		SubjectName: station.MaskName(name), SubjectID: masked, IssueDate: today, ContentHash: hash})
//	// station/pdf lays out filled (Title, Paragraphs = Body [+ Signature], Issuer = Seal, Footer) with
//	// serial, today and qr; the store records id, serial, hash and qr.
//
// Verifying one, on any station, the hub or the command line:
//
//	v := cert.Verify(qr, keys)                     // keys: a KeySet or the store's KeyRing
//	if v.Genuine { v.Payload has the claims; look up revocation by v.Payload.CertificateID }
//	else { v.Reason is a code, v.Message says it in Chinese }
//
// The signing key: cert.LoadOrCreateSigner(path, cert.Ed25519 or cert.SM2, stationID) keeps it in a
// 0600 PEM (PKCS #8) file; Signer.PublicKey() is what the station publishes to the data center, which
// distributes every station's key (PublicKey's JSON form) to the others.
//
// # Template JSON
//
// A library is {"version": N, "templates": [...]}. A template:
//
//	{
//	  "code": "MS-001",                  // [A-Z][A-Z0-9]*(-[A-Z0-9]+)*, at most 16 characters, unique
//	  "name": "居住证明",
//	  "category": "livelihood",          // livelihood 民生, family_planning 计生, labour 劳动保障,
//	                                     // judicial 司法, political_review 政审, housing 房屋, other 其他
//	  "purpose": "证明居民在本社区实际居住……",
//	  "fields": [
//	    {"key": "name", "label": "姓名", "source": "resident"},
//	    {"key": "station_community", "label": "社区", "source": "station"},
//	    {"key": "purpose", "label": "用途", "source": "input", "max_len": 40, "hint": "如：办理居住证"}
//	  ],
//	  "rules": [{"type": "card_verified"}, {"type": "registered_months_min", "months": 6}],
//	  "needs_department": false,         // true: issuing starts an application "department" must approve
//	  "department": "",
//	  "validity_days": 30,               // 0: no stated validity
//	  "layout": {
//	    "title": "居住证明",
//	    "body": "兹证明{{name}}……\n特此证明。",   // paragraphs separated by \n
//	    "seal": "{{station_community}}居民委员会（盖章）",  // one line, the issuer over the seal
//	    "signature": "经办人：________",                 // one line
//	    "footer": "本证明自开具之日起{{validity_days}}日内有效（至{{valid_until}}）。"
//	  },
//	  "version": 1,                      // an update of the same code must have a higher version
//	  "status": "active",                // or "withdrawn", with "withdrawn_reason"
//	  "withdrawn_reason": ""
//	}
//
// Field sources: "resident" keys are those of ResidentKeys (name, id_masked, sex, birth_date, age,
// ethnicity, address, community); "station" keys those of StationKeys (station_name,
// station_community, station_address, station_phone); "input" fields are typed at issue time and need a
// max_len (they may be "optional"). IssueKeys (serial, issue_date, and with a validity period
// valid_until and validity_days) need no declaration. A placeholder that names nothing, a declared field
// the layout does not use, a malformed "{{", an unknown rule type or parameter, an unknown category, a
// duplicate code, a missing title, body or seal, and any unknown JSON key are rejected at load; Parse
// and Validate return a *ValidationError listing every problem with the template's code.
//
// # Preconditions
//
// Rules are data; each type takes exactly one parameter (or none):
//
//	{"type": "registered_months_min", "months": 6}  registered in this community at least 6 months
//	{"type": "age_min", "years": 60}                at least 60 full years old (周岁)
//	{"type": "age_max", "years": 24}                at most 24 full years old
//	{"type": "has_tag", "tag": "低保"}              the resident's record holds the tag
//	{"type": "lacks_tag", "tag": "失信被执行人"}    the record does not hold the tag
//	{"type": "no_repeat_days", "days": 30}          no certificate of this type issued in the last 30 days
//	{"type": "card_verified"}                       the identity was read from the ID card at this visit
//	{"type": "sex", "sex": "female"}                male or female
//	{"type": "field_present", "field": "address"}   the record has the item (a resident key but age)
//
// Any rule may carry "advice", replacing the default "what to do instead" text. Dates follow 民法典
// art. 202: N months after 31 August is the last day of the target month when it has no 31st, so the 6
// months are complete on that day, and a person born on 29 February is a year older on 28 February of a
// common year. A certificate issued on day D blocks a no_repeat_days N rule through day D+N-1. Missing
// data (unknown registration date, birth date or sex) is its own outcome, "missing_data", which sends the
// resident to the counter; it never passes silently.
//
// # QR payload
//
// "C1." followed by base64url (no padding) of:
//
//	algorithm      1 byte: 1 Ed25519, 2 SM2
//	key id         8 bytes: SHA-256 of the public key's PKIX encoding, first 8 bytes
//	certificate id 1 byte kind + 16-byte UUID, or kind 0 + 1 length byte + UTF-8 (≤ 64 bytes)
//	type code      1 length byte + ASCII
//	subject name   1 length byte + UTF-8, masked (张*)
//	subject id     1 length byte + ASCII, masked (2201**********123X)
//	issue date     2 bytes big-endian: days since 2000-01-01
//	station id     as certificate id
//	content hash   16 bytes: ContentHash(filled, serial)[:16], SHA-256 of the printed text and serial
//	signature      64 bytes: Ed25519, or SM2 r‖s (SM3 with user id 1234567812345678), over
//	               "station/cert payload v1\x00" followed by every byte above
//
// With UUIDs for the certificate and station ids a payload is about 210 characters. Verify bounds its
// input to MaxPayloadLen characters and reports every failure as a reason code, never an error.
package cert
