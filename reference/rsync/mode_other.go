//go:build !unix

package rsync

import "io/fs"

// rawMode reports no raw st_mode where the system has none: callers fall
// back to the permission bits of fi.Mode().
func rawMode(fs.FileInfo) (uint32, bool) { return 0, false }
