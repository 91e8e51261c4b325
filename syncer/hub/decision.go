package hub

import (
	"context"
	"time"

	"github.com/civic-station/station/station"
)

// Decide records a department's decision on an application a station forwarded and publishes it to
// that station's feed, where the station's syncer picks it up and applies it as the department's
// transition. An application is decided once: a second decision is refused with ECONFLICT. The hub
// must hold the application's intake record from that station (ENOTFOUND otherwise). by names the
// console account that decided ("" for the command line).
func Decide(ctx context.Context, st Store, stationID string, d station.Decision, by string, now time.Time) (DecisionRecord, error) {
	if d.DecidedAt.IsZero() {
		d.DecidedAt = now
	}
	d.DecidedAt = d.DecidedAt.UTC()
	if err := d.Validate(); err != nil {
		return DecisionRecord{}, err
	}
	if _, err := st.ApplicationRecord(ctx, stationID, d.ApplicationID); err != nil {
		return DecisionRecord{}, err
	}
	c := station.Change{Key: "decision:" + d.ApplicationID, Version: string(d.Action), Type: station.ChangeDecision, Decision: &d}
	return st.Decide(ctx, DecisionRecord{StationID: stationID, Decision: d, DecidedBy: by}, c, now)
}
