package worker

import (
	"context"
	"errors"

	"github.com/execnet-conform/execnet-conform/reference/frame"
	"github.com/execnet-conform/execnet-conform/reference/gateway"
)

// EndedInsideFrame reports whether err, as returned by Serve, says only
// that the stream ended inside a frame header or payload. SPEC.md
// FRM-EOF-2 makes that the end of the connection: the partial frame is
// discarded, and a worker process whose executions have finished ends
// with exit status 0 (TERM-EOF-3), as at a clean EOF. Serve still returns
// the error so that an embedding program can see what happened.
func EndedInsideFrame(err error) bool {
	var fe *frame.Error
	if err == nil || !errors.As(err, &fe) {
		return false
	}
	var running *gateway.ExecutionsRunningError
	if errors.As(err, &running) {
		return false // executions had to be abandoned: not a clean end
	}
	return errors.Is(fe.Err, frame.ErrShortHeader) || errors.Is(fe.Err, frame.ErrShortPayload)
}

// ExitCode is the exit status of a worker process whose Serve returned
// err: 0 for a clean end (nil, ctx cancelled by a signal, or the stream
// ending inside a frame, which FRM-EOF-2 makes the end of the connection),
// 1 for anything else. Both the execnet-conform worker command and the
// mutation harness's worker use it, so that they end alike.
func ExitCode(err error) int {
	if err == nil || errors.Is(err, context.Canceled) || EndedInsideFrame(err) {
		return 0
	}
	return 1
}
