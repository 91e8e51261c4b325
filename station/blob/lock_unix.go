//go:build unix

package blob

import (
	"errors"
	"os"
	"syscall"
)

// holdOpen marks the blob store at path as open by this Store for as long as the returned file stays
// open (a shared flock, which the kernel drops when the process dies). alone says no other Store, in
// this process or another, has it open: the temporary files are then a dead Put's and may go.
func holdOpen(path string) (f *os.File, alone bool, err error) {
	f, err = os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, false, err
	}
	fd := int(f.Fd())
	switch err := syscall.Flock(fd, syscall.LOCK_EX|syscall.LOCK_NB); {
	case err == nil:
		alone = true
	case errors.Is(err, syscall.EWOULDBLOCK):
	default:
		f.Close()
		return nil, false, err
	}
	return f, alone, nil
}

// share turns the exclusive hold holdOpen took into a shared one, letting other Stores open.
func share(f *os.File) error {
	if f == nil {
		return nil
	}
	return syscall.Flock(int(f.Fd()), syscall.LOCK_SH)
}
