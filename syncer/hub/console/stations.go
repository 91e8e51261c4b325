package console

import (
	"net/http"
	"time"
)

// lateAfter is how long a station may stay silent before the console shows it as offline.
const lateAfter = time.Hour

// stationView is a station's health as the city administrator sees it.
type stationView struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	EnrolledAt  time.Time `json:"enrolled_at"`
	LastSeen    time.Time `json:"last_seen,omitzero"`
	LagSeconds  float64   `json:"lag_seconds"` // since the last sync; since enrollment when it never synced
	Backlog     int       `json:"backlog"`
	DeadLetters int       `json:"dead_letters"`
	Version     string    `json:"version"`
	ClockSkewMS int64     `json:"clock_skew_ms"` // the station's clock minus the hub's
	AckedSeq    int64     `json:"acked_seq"`
	Conflicts   int       `json:"conflicts"`
	Health      string    `json:"health"` // ok, late, never, attention (dead letters, conflicts or clock skew)
	HealthLabel string    `json:"health_label"`
}

var healthLabels = map[string]string{"ok": "正常", "late": "离线", "never": "从未同步", "attention": "需处理"}

func (s *Server) handleStations(w http.ResponseWriter, r *http.Request, _ *principal) error {
	ctx := r.Context()
	list, err := s.cfg.Store.Stations(ctx)
	if err != nil {
		return err
	}
	conflicts, err := s.cfg.Store.Conflicts(ctx, "")
	if err != nil {
		return err
	}
	perStation := map[string]int{}
	for _, c := range conflicts {
		perStation[c.StationID]++
	}
	now := s.cfg.Now()
	out := struct {
		Items []stationView `json:"items"`
	}{Items: []stationView{}}
	for _, st := range list {
		v := stationView{ID: st.ID, Name: st.Name, EnrolledAt: st.EnrolledAt, LastSeen: st.LastSeen, Backlog: st.Backlog,
			DeadLetters: st.DeadLetters, Version: st.Version, ClockSkewMS: st.ClockSkew.Milliseconds(), AckedSeq: st.AckedThrough,
			Conflicts: perStation[st.ID]}
		switch {
		case st.LastSeen.IsZero():
			v.LagSeconds, v.Health = now.Sub(st.EnrolledAt).Seconds(), "never"
		case now.Sub(st.LastSeen) > lateAfter:
			v.LagSeconds, v.Health = now.Sub(st.LastSeen).Seconds(), "late"
		default:
			v.LagSeconds, v.Health = now.Sub(st.LastSeen).Seconds(), "ok"
		}
		if v.Health == "ok" && (v.DeadLetters > 0 || v.Conflicts > 0 || st.ClockSkew.Abs() > 5*time.Minute) {
			v.Health = "attention"
		}
		v.HealthLabel = healthLabels[v.Health]
		out.Items = append(out.Items, v)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// conflictView is a quarantined conflict without its payload, which may hold personal data: the
// administrator sees which record of which station, and the two content hashes.
type conflictView struct {
	StationID   string    `json:"station_id"`
	StationName string    `json:"station_name"`
	ID          string    `json:"id"`
	Seq         int64     `json:"seq"`
	Kind        string    `json:"kind"`
	PayloadSHA  string    `json:"payload_sha256"`
	HeldSHA     string    `json:"held_sha256"`
	ReceivedAt  time.Time `json:"received_at"`
}

func (s *Server) handleConflicts(w http.ResponseWriter, r *http.Request, _ *principal) error {
	ctx := r.Context()
	list, err := s.cfg.Store.Conflicts(ctx, r.URL.Query().Get("station"))
	if err != nil {
		return err
	}
	stations, err := s.cfg.Store.Stations(ctx)
	if err != nil {
		return err
	}
	names := map[string]string{}
	for _, st := range stations {
		names[st.ID] = st.Name
	}
	out := struct {
		Items []conflictView `json:"items"`
	}{Items: []conflictView{}}
	for _, c := range list {
		out.Items = append(out.Items, conflictView{StationID: c.StationID, StationName: names[c.StationID], ID: c.ID, Seq: c.Seq,
			Kind: c.Kind, PayloadSHA: c.PayloadSHA256, HeldSHA: c.HeldSHA256, ReceivedAt: c.ReceivedAt})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
