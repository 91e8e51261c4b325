//go:build !unix

package blob

import "os"

// holdOpen is a no-op where flock is missing: the store is taken to be open by this Store alone, as a
// station's data directory is by one process.
func holdOpen(string) (*os.File, bool, error) { return nil, true, nil }

func share(*os.File) error { return nil }
