//go:build !windows

package main

import (
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
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

// copyOwner gives every file under dir the owner of ref (or, when ref does not exist, of the
// service user), so that a restore run as root leaves files the station's user can open.
func copyOwner(ref, dir string) error {
	if os.Geteuid() != 0 {
		return nil
	}
	uid, gid := -1, -1
	if fi, err := os.Stat(ref); err == nil {
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			uid, gid = int(st.Uid), int(st.Gid)
		}
	} else if u, err := user.Lookup(serviceName); err == nil {
		uid, _ = strconv.Atoi(u.Uid)
		gid, _ = strconv.Atoi(u.Gid)
	}
	if uid < 0 {
		return nil
	}
	return filepath.WalkDir(dir, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, gid)
	})
}

// keepOwner gives path the owner and group fi had (a replaced file's), where permitted.
func keepOwner(path string, fi os.FileInfo) {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		_ = os.Chown(path, int(st.Uid), int(st.Gid))
	}
}

// execReplace replaces this process with the program at path (the kiosk's compositor), so that its
// service manager supervises it directly.
func execReplace(path string, argv []string) error { return syscall.Exec(path, argv, os.Environ()) }
