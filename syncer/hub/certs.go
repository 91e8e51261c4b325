package hub

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/civic-station/station/station"
	"github.com/civic-station/station/station/cert"
)

// The certificate system at the hub: every station's signing key is distributed to every other
// station, so that any station verifies any station's certificates offline; revocations decided at the
// data center reach every station the same way.

// SigningKeyChange builds the broadcast change that distributes the key a station sent in a
// signing_key.publish record. The key must be bound to the station that sent it (authenticated by its
// client certificate); the station's ID and name come from the hub's registry, not from the record.
// It returns EINVALID for a payload that is not a valid key of that station.
func SigningKeyChange(st Station, payload json.RawMessage) (station.Change, error) {
	var p station.SigningKeyPublish
	if err := json.Unmarshal(payload, &p); err != nil {
		return station.Change{}, station.Errorf(station.EINVALID, "签名公钥记录格式错误")
	}
	var k cert.PublicKey
	if err := json.Unmarshal(p.PublicKey, &k); err != nil {
		return station.Change{}, station.Errorf(station.EINVALID, "签名公钥格式错误")
	}
	if k.StationID != st.ID {
		return station.Change{}, station.Errorf(station.EINVALID, "签名公钥所属服务站（%s）不是上报的站点（%s）", k.StationID, st.ID)
	}
	raw, err := k.MarshalJSON()
	if err != nil {
		return station.Change{}, err
	}
	return station.Change{Key: "signing_key:" + k.KeyID, Version: "1", Type: station.ChangeSigningKey,
		SigningKey: &station.SigningKey{StationID: st.ID, StationName: st.Name, PublicKey: raw}}, nil
}

// PublishSigningKey publishes the key of a signing_key.publish record of station st to every station.
func PublishSigningKey(ctx context.Context, store Store, st Station, payload json.RawMessage, now time.Time) (int64, error) {
	c, err := SigningKeyChange(st, payload)
	if err != nil {
		return 0, err
	}
	return store.Publish(ctx, "", c, now)
}

// afterIngest acts on a record the hub holds (stored now, or a repeat of one it stored, in case the
// first time ended before this ran): a station's signing key is distributed. A key the hub refuses is
// logged and left; an error means the store failed, and the station should send the record again.
func (s *Server) afterIngest(ctx context.Context, st Station, rec Record) error {
	if station.CommandKind(rec.Kind) != station.CmdSigningKeyPublish {
		return nil
	}
	_, err := PublishSigningKey(ctx, s.cfg.Store, st, rec.Payload, s.cfg.Now())
	if code := station.ErrorCode(err); code != "" && code != station.EINTERNAL {
		s.cfg.Logger.Warn("signing key not distributed", "station", st.ID, "record", rec.ID, "err", err)
		return nil
	}
	return err
}

// PublishRevocation publishes a certificate's revocation to every station: the issuing station marks
// its certificate revoked, the others answer verification of it as revoked. The station must be
// enrolled (ENOTFOUND otherwise); RevokedAt defaults to now.
func PublishRevocation(ctx context.Context, store Store, r station.Revocation, now time.Time) (int64, error) {
	r.StationID, r.CertificateID, r.Reason = strings.TrimSpace(r.StationID), strings.TrimSpace(r.CertificateID), strings.TrimSpace(r.Reason)
	if r.RevokedAt.IsZero() {
		r.RevokedAt = now
	}
	r.RevokedAt = r.RevokedAt.UTC()
	if err := r.Validate(); err != nil {
		return 0, err
	}
	if _, err := store.Station(ctx, r.StationID); err != nil {
		return 0, err
	}
	c := station.Change{Key: "revocation:" + r.StationID + ":" + r.CertificateID, Version: "1", Type: station.ChangeRevocation, Revocation: &r}
	return store.Publish(ctx, "", c, now)
}

// PublishTemplate publishes a certificate template to every station. The template must be valid on its
// own; a station applies it only when its version is above the one the station holds (built-in or
// published before), so the publisher chooses the version (see `station hub publish templates`).
func PublishTemplate(ctx context.Context, store Store, t cert.Template, now time.Time) (int64, error) {
	if err := t.Validate(); err != nil {
		return 0, err
	}
	raw, err := json.Marshal(t)
	if err != nil {
		return 0, err
	}
	c := station.Change{Key: "template:" + t.Code, Version: strconv.Itoa(t.Version), Type: station.ChangeTemplate, Template: raw}
	return store.Publish(ctx, "", c, now)
}
