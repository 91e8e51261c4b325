package main

import (
	"bytes"
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/civic-station/station/station"
	"github.com/civic-station/station/syncer"
	"github.com/civic-station/station/syncer/hub"
)

// kick asks the station's syncer for a round now.
func (s *testStation) kick(t *testing.T) {
	t.Helper()
	sy := s.syncMon.sy.Load()
	if sy == nil {
		t.Fatal("no syncer runs")
	}
	sy.Kick()
}

// TestCertificateKeysAndRevocationsTravelThroughTheHub runs two stations and a hub with the real
// commands: each station's signing key reaches the hub, which distributes it, so that the second
// station verifies the first one's certificate offline; a revocation published at the hub marks the
// certificate revoked at the issuing station and at the other.
func TestCertificateKeysAndRevocationsTravelThroughTheHub(t *testing.T) {
	ctx := context.Background()
	h := NewHubMain()
	h.DataDir, h.Listen = t.TempDir(), "127.0.0.1:0"
	h.Logger = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if err := h.Run(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	enroll := func(name string) (string, string) {
		dir := t.TempDir()
		token, err := hub.CreateToken(ctx, h.Store, h.CA, name, time.Hour, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		id, err := syncer.Enroll(ctx, h.Server.URL(), token, dir, "test")
		if err != nil {
			t.Fatal(err)
		}
		return dir, id.StationID
	}
	dirA, idA := enroll("幸福社区服务站")
	dirB, _ := enroll("红旗社区服务站")
	a, b := startStationIn(t, dirA, nil), startStationIn(t, dirB, nil)

	keyA := a.Certs.Signer().PublicKey()
	if keyA.StationID != idA {
		t.Fatalf("station A signs as %q, enrolled as %q", keyA.StationID, idA)
	}
	eventually(t, "station B learns station A's key through the hub", func() bool {
		a.kick(t)
		b.kick(t)
		k, err := b.DB.SigningKey(ctx, keyA.KeyID)
		return err == nil && !k.Own && k.StationID == idA && k.StationName == "幸福社区服务站"
	})
	recs, err := h.Store.Records(ctx, hub.RecordFilter{StationID: idA, Kinds: []string{string(station.CmdSigningKeyPublish)}})
	if err != nil || len(recs) != 1 {
		t.Fatalf("the hub holds %d signing_key.publish records of station A (%v)", len(recs), err)
	}

	a.placeCard(t, "王桂芬")
	var c certView
	if r := a.do(t, "POST", "/api/v1/kiosk/certificates", "", map[string]any{"type_code": "MS-001", "inputs": residenceInputs}); r.status != 201 {
		t.Fatalf("issue at A: %d %s", r.status, r.body)
	} else {
		r.json(t, &c)
	}
	if r := a.do(t, "POST", "/api/v1/kiosk/certificates/"+c.ID+"/print", "", nil); r.status != 200 {
		t.Fatalf("print at A: %d %s", r.status, r.body)
	} else {
		r.json(t, &c)
	}
	if v := b.verify(t, c.Payload); !v.Genuine || v.Status != "valid" || v.StationID != idA || v.StationName != "幸福社区服务站" {
		t.Fatalf("station B verifies station A's certificate as %+v", v)
	}

	var out, errb bytes.Buffer
	if code := hubCommand(ctx, []string{"revoke", "--data", h.DataDir, "--station", idA, "--certificate", c.ID, "--reason", "数据中心核查：居住信息不实"}, nil, &out, &errb); code != 0 {
		t.Fatalf("station hub revoke: %d %s", code, errb.String())
	}
	if code := hubCommand(ctx, []string{"revoke", "--data", h.DataDir, "--station", "no-such-station", "--certificate", c.ID, "--reason", "核查"}, nil, &out, &errb); code != 1 {
		t.Fatalf("a revocation for an unknown station: %d", code)
	}
	eventually(t, "the revocation reaches both stations", func() bool {
		a.kick(t)
		b.kick(t)
		own, err := a.DB.Certificate(ctx, c.ID)
		_, revErr := b.DB.Revocation(ctx, idA, c.ID)
		return err == nil && own.Status == station.CertRevoked && revErr == nil
	})
	for name, s := range map[string]*testStation{"the issuing station": a, "another station": b} {
		if v := s.verify(t, c.Payload); !v.Genuine || v.Status != "revoked" {
			t.Errorf("%s verifies the revoked certificate as %+v", name, v)
		}
	}
}
