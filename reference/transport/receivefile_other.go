//go:build !linux

package transport

import "os"

// ReceiveFile implements FileReceiver; there is no zero-copy path on this
// system.
func (w *WaitFile) ReceiveFile(dst *os.File, n int64) (int64, error) { return 0, errNoZeroCopy }
