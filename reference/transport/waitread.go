package transport

import (
	"errors"
	"time"
)

// WaitReader is implemented by connections whose input can be waited for
// with a bound by the goroutine that wants it, without a goroutine of
// their own and without Go's network poller: popen pipes and a served
// worker's standard input, on Unix. The gateway uses it to let a Receive
// call read the connection itself (see package gateway, "Receiving").
type WaitReader interface {
	// ReadWait reads like Read, but waits at most d for input. When no
	// input comes in time it returns 0 and ErrWaitTimeout, and the stream
	// is unchanged. d must be positive.
	ReadWait(p []byte, d time.Duration) (int, error)
	// CanWait reports whether ReadWait works on this connection; when it
	// is false, callers must use Read.
	CanWait() bool
}

// ErrWaitTimeout is returned by ReadWait when no input came within its
// bound. Nothing was read.
var ErrWaitTimeout = errors.New("transport: no input within the wait")

// waitSlice bounds each poll(2) of a WaitFile, so that a Close from
// another goroutine ends a pending Read or ReadWait within it. It is the
// cost of an idle connection too: one wake-up per slice while nothing
// arrives (a gateway's receiver goroutine waits in Read).
const waitSlice = 500 * time.Millisecond

// ReadWait implements WaitReader for the worker's stdout pipe.
func (c *popenConn) ReadWait(p []byte, d time.Duration) (int, error) {
	if c.wf == nil {
		return 0, ErrWaitTimeout // not supported: callers check CanWait
	}
	return c.wf.ReadWait(p, d)
}

// CanWait implements WaitReader.
func (c *popenConn) CanWait() bool { return c.wf != nil }

// SetSpin sets the spin window of the connection's WaitFile (see
// WaitFile.SetSpin). Call it before reading.
func (c *popenConn) SetSpin(d time.Duration) {
	if c.wf != nil {
		c.wf.SetSpin(d)
	}
}
