//go:build !unix

package transport

import (
	"errors"
	"os"
	"time"
)

// WaitFile is not available on this system: NewWaitFile always fails and
// callers keep reading their *os.File.
type WaitFile struct{}

// NewWaitFile fails on this system.
func NewWaitFile(f *os.File) (*WaitFile, error) {
	return nil, errors.New("transport: bounded waits are not supported on this system")
}

// Read implements io.Reader.
func (w *WaitFile) Read(p []byte) (int, error) { return 0, os.ErrClosed }

// Close implements io.Closer.
func (w *WaitFile) Close() error { return nil }

// CanWait implements WaitReader.
func (w *WaitFile) CanWait() bool { return false }

// ReadWait implements WaitReader.
func (w *WaitFile) ReadWait(p []byte, d time.Duration) (int, error) { return 0, ErrWaitTimeout }

// DefaultSpin is the spin window of a new WaitFile.
const DefaultSpin = 0

// SetSpin does nothing on this system.
func (w *WaitFile) SetSpin(d time.Duration) {}
