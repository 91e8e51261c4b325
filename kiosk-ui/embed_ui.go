//go:build ui

package kioskui

import (
	"embed"
	"io/fs"
)

//go:embed all:dist
var dist embed.FS

// Dist returns the built web UI (the contents of kiosk-ui/dist, with index.html
// at its root) and whether it is available. With the "ui" build tag it is.
func Dist() (fs.FS, bool) {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		return nil, false
	}
	return sub, true
}
