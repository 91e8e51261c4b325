//go:build !windows

package main

import (
	"fmt"
	"os"
	"os/user"
	"strconv"
	"syscall"
)

// syscallNonblock opens device files without waiting for carrier (serial ports).
const syscallNonblock = syscall.O_NONBLOCK

// ownerOf names the owner of a file, for the doctor's report.
func ownerOf(fi os.FileInfo) string {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return ""
	}
	name := strconv.FormatUint(uint64(st.Uid), 10)
	if u, err := user.LookupId(name); err == nil {
		name = u.Username
	}
	return fmt.Sprintf("，属主 %s", name)
}
