//go:build unix

package rsync

import (
	"io/fs"
	"syscall"
)

// rawMode returns the st_mode of fi as the operating system reports it
// (file type bits and permissions, as Python's os.stat gives st_mode).
func rawMode(fi fs.FileInfo) (uint32, bool) {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint32(st.Mode), true
	}
	return 0, false
}
