//go:build !linux

package transport

import "os"

// sendFile has no zero-copy path on this system.
func sendFile(dst, src *os.File, off, n int64) (int64, error) { return 0, errNoZeroCopy }
