//go:build !ui

// Package kioskui embeds the built kiosk, counter and setup web UIs.
//
// The real assets are embedded only when building with the "ui" tag after
// `npm run build` has produced kiosk-ui/dist; without the tag this placeholder
// lets `go build` and `go test ./...` work on a clone that has no node.
package kioskui

import "io/fs"

// Dist returns the built web UI (the contents of kiosk-ui/dist) and whether it
// is available. Without the "ui" build tag it returns nil, false.
func Dist() (fs.FS, bool) {
	return nil, false
}
