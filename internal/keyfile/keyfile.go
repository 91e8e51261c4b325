// Package keyfile reads private key files (the station's data key, the hub's reveal key): made on
// first use, readable by their owner only.
package keyfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// Read returns the contents of the key file at path, calling create first when there is none (create
// must write it with mode 0600). what names the key in errors ("data key"). It refuses a file that
// group or others can access.
func Read(path, what string, create func(path string) error) ([]byte, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		if err := create(path); err != nil {
			return nil, err
		}
		b, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, fmt.Errorf("read %s %s: %w", what, path, err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("stat %s %s: %w", what, path, err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%s %s has mode %v: it must be readable by its owner only (chmod 600)", what, path, fi.Mode().Perm())
	}
	return b, nil
}
