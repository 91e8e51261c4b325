package hub_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/civic-station/station/station"
	"github.com/civic-station/station/station/cert"
	"github.com/civic-station/station/syncer/hub"
	hubsqlite "github.com/civic-station/station/syncer/hub/sqlite"
)

func keyRecord(t *testing.T, k cert.PublicKey) json.RawMessage {
	t.Helper()
	raw, err := k.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(station.SigningKeyPublish{PublicKey: raw, StationName: "自称的名称"})
	return b
}

func TestSigningKeyChangeBindsTheKeyToTheSendingStation(t *testing.T) {
	signer, err := cert.GenerateSigner(cert.Ed25519, "station-a")
	if err != nil {
		t.Fatal(err)
	}
	a := hub.Station{ID: "station-a", Name: "幸福社区服务站"}
	c, err := hub.SigningKeyChange(a, keyRecord(t, signer.PublicKey()))
	if err != nil {
		t.Fatal(err)
	}
	var k cert.PublicKey
	if c.Type != station.ChangeSigningKey || c.Key != "signing_key:"+signer.PublicKey().KeyID || c.SigningKey.StationName != "幸福社区服务站" ||
		json.Unmarshal(c.SigningKey.PublicKey, &k) != nil || k.KeyID != signer.PublicKey().KeyID {
		t.Fatalf("change: %+v", c)
	}
	tests := []struct {
		name    string
		payload json.RawMessage
	}{
		{"a key of another station", keyRecord(t, signer.PublicKey())},
		{"not JSON", json.RawMessage(`{`)},
		{"no key", json.RawMessage(`{"public_key": {"station_id": "station-b"}}`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := hub.SigningKeyChange(hub.Station{ID: "station-b"}, tt.payload); station.ErrorCode(err) != station.EINVALID {
				t.Fatalf("error %v, want EINVALID", err)
			}
		})
	}
}

func TestPublishRevocation(t *testing.T) {
	ctx := context.Background()
	st, err := hubsqlite.Open(ctx, filepath.Join(t.TempDir(), "hub.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Date(2026, 11, 24, 2, 0, 0, 0, time.UTC)
	if err := st.CreateToken(ctx, hub.Token{Hash: "h", StationName: "幸福社区服务站", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Enroll(ctx, "h", hub.Station{ID: "station-a", CertSerial: "01", EnrolledAt: now}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		r    station.Revocation
		code string
	}{
		{"an unknown station", station.Revocation{StationID: "station-x", CertificateID: "c1", Reason: "内容不实"}, station.ENOTFOUND},
		{"no reason", station.Revocation{StationID: "station-a", CertificateID: "c1", Reason: " "}, station.EINVALID},
		{"no certificate", station.Revocation{StationID: "station-a", Reason: "内容不实"}, station.EINVALID},
		{"a revocation", station.Revocation{StationID: "station-a", CertificateID: "c1", Reason: "内容不实"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := hub.PublishRevocation(ctx, st, tt.r, now); station.ErrorCode(err) != tt.code {
				t.Fatalf("error %v, want %q", err, tt.code)
			}
		})
	}
	// Every station's feed carries it, the issuing one's and any other's.
	for _, id := range []string{"station-a", "station-b"} {
		page, err := st.Changes(ctx, id, 0, 10)
		if err != nil || len(page.Changes) != 1 {
			t.Fatalf("feed of %s: %+v %v", id, page, err)
		}
		c := page.Changes[0]
		if c.Type != station.ChangeRevocation || c.Key != "revocation:station-a:c1" || c.Revocation.Reason != "内容不实" || !c.Revocation.RevokedAt.Equal(now) {
			t.Fatalf("change: %+v", c)
		}
	}
}
