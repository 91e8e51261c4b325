//go:build unix

package diskspace

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// Free returns the bytes of the file system holding dir that an unprivileged process may use (statfs
// f_bavail × f_bsize: the root-reserved blocks do not count).
func Free(dir string) (int64, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return 0, fmt.Errorf("statfs %s: %w", dir, err)
	}
	return int64(st.Bavail) * int64(st.Bsize), nil
}
