//go:build !windows

package store

import (
	"os"
	"syscall"
)

// ownDir reports whether dir is a directory this process's user owns.
func ownDir(dir string) bool {
	fi, err := os.Stat(dir)
	if err != nil || !fi.IsDir() {
		return false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && int(st.Uid) == os.Geteuid()
}
