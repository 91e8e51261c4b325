package cert

// Verification reason codes (Verification.Reason).
const (
	ReasonGenuine            = "genuine"             // the signature verifies with the issuing station's key
	ReasonMalformed          = "malformed"           // not a payload: bad prefix, bad base64, truncated, extra bytes, invalid field
	ReasonUnsupportedVersion = "unsupported_version" // a payload format this program does not know (C2. …)
	ReasonUnknownStation     = "unknown_station"     // no key of the issuing station is held
	ReasonUnknownKey         = "unknown_key"         // the station is known but not the key that signed
	ReasonStationMismatch    = "station_mismatch"    // the key belongs to another station than the payload names
	ReasonBadSignature       = "bad_signature"       // the signature does not verify: the payload was altered or forged
)

var reasonMessages = map[string]string{
	ReasonGenuine:            "签名验证通过：该证明由下列服务站开具，内容未被改动。",
	ReasonMalformed:          "二维码内容不完整或格式错误，无法确认该证明为真实证明。请核对原件，或到开具证明的服务站核实。",
	ReasonUnsupportedVersion: "二维码的格式版本不受本系统支持，无法验证。请到开具证明的服务站核实。",
	ReasonUnknownStation:     "本系统没有开具该证明的服务站的公钥，无法确认真伪。请到开具证明的服务站核实。",
	ReasonUnknownKey:         "开具该证明所用的签名密钥未在本系统登记，无法确认真伪。请到开具证明的服务站核实。",
	ReasonStationMismatch:    "签名密钥与二维码中的服务站不符，该证明不是真实证明。",
	ReasonBadSignature:       "签名验证失败，二维码内容可能被篡改或伪造，该证明不是真实证明。",
}

// Verification is the answer to "is this QR payload genuine?".
type Verification struct {
	Genuine bool   `json:"genuine"`
	Reason  string `json:"reason"`  // one of the Reason codes
	Message string `json:"message"` // the reason in Chinese, for the verification page and CLI
	// Payload holds the signed claims, only when Genuine. Whether the certificate was since revoked is
	// for the caller to look up by Payload.CertificateID.
	Payload *Payload `json:"payload,omitempty"`
	// StationID and KeyID are what a decodable payload claims, also when not genuine (to say which
	// station's key is missing); they are unauthenticated and must not be shown as facts.
	StationID string `json:"station_id,omitempty"`
	KeyID     string `json:"key_id,omitempty"`
}

// Verify checks a QR payload against the public keys in keys. It never returns an error and never panics:
// any input that is not a genuine payload (tampered, truncated, forged, signed with an unknown or another
// station's key, not base64) gives Genuine false with a reason code and a Chinese message. Input longer
// than MaxPayloadLen is rejected before it is decoded, so time and memory are bounded. A nil keys knows
// no station.
func Verify(payload string, keys KeyRing) Verification {
	p, body, sig, reason := decodePayload(payload)
	if reason != "" {
		return failed(reason, Payload{})
	}
	if keys == nil || !keys.HasStation(p.StationID) {
		return failed(ReasonUnknownStation, p)
	}
	k, ok := keys.Key(p.KeyID)
	if !ok {
		return failed(ReasonUnknownKey, p)
	}
	if k.StationID != p.StationID {
		return failed(ReasonStationMismatch, p)
	}
	if k.Algorithm != p.Algorithm || !verifySignature(k, signedMessage(body), sig) {
		return failed(ReasonBadSignature, p)
	}
	return Verification{Genuine: true, Reason: ReasonGenuine, Message: reasonMessages[ReasonGenuine],
		Payload: &p, StationID: p.StationID, KeyID: p.KeyID}
}

func failed(reason string, p Payload) Verification {
	return Verification{Reason: reason, Message: reasonMessages[reason], StationID: p.StationID, KeyID: p.KeyID}
}
