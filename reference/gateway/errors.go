package gateway

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"syscall"

	"github.com/execnet-conform/execnet-conform/reference/transport"
)

// Sentinel errors, matched with errors.Is.
var (
	// ErrGatewayClosed: the gateway no longer accepts new work (its receiver
	// has ended, or Exit was called). Errors that explain why, such as
	// *ConnectionLostError, also match it.
	ErrGatewayClosed = errors.New("gateway closed")
	// ErrChannelClosed: the channel is closed locally, or no more items will
	// arrive on it. *ChannelClosedError and *EOFError match it.
	ErrChannelClosed = errors.New("channel closed")
	// ErrTimeout: a bounded wait ended. Every *TimeoutError matches both
	// ErrTimeout and context.DeadlineExceeded.
	ErrTimeout = errors.New("timeout")
	// ErrHasCallback: Receive on a channel that has a callback, or a second
	// SetCallback.
	ErrHasCallback = errors.New("channel has a receive callback")
	// ErrNoExecutor: a worker gateway received CHANNEL_EXEC but was built
	// without an Executor.
	ErrNoExecutor = errors.New("no executor configured")
	// ErrExecuting: Close or CloseWithError on the channel of a running
	// execution; the gateway closes it when the execution ends.
	ErrExecuting = errors.New("cannot close the channel of a running execution")
	// ErrBadChannelRef: a received payload holds a CHANNEL reference with
	// an id below 1 (SPEC CHAN-ID-8); the payload counts as undecodable.
	ErrBadChannelRef = errors.New("channel reference with an id below 1")
)

// RemoteError is the error text the peer sent with CHANNEL_CLOSE_ERROR
// (for a Python peer: the formatted traceback). Channel.Receive and
// Channel.WaitClose return it once.
type RemoteError struct {
	Text string
}

// Error implements error.
func (e *RemoteError) Error() string { return "remote error: " + e.Text }

// ChannelClosedError is returned by Send (and CloseWithError) on a channel
// that is already closed. It matches ErrChannelClosed.
type ChannelClosedError struct {
	ID int32
	Op string
}

// Error implements error.
func (e *ChannelClosedError) Error() string {
	return fmt.Sprintf("cannot %s on closed channel %d", e.Op, e.ID)
}

// Is makes errors.Is(err, ErrChannelClosed) true.
func (e *ChannelClosedError) Is(target error) bool { return target == ErrChannelClosed }

// EOFError is returned by Receive once a channel's items are exhausted and
// no more can arrive (execnet raises EOFError there). It matches io.EOF and
// ErrChannelClosed.
type EOFError struct {
	ID int32
	// ConnectionEnded: the connection ended in an orderly way
	// (GATEWAY_TERMINATE or Exit) rather than the channel being closed.
	ConnectionEnded bool
}

// Error implements error.
func (e *EOFError) Error() string {
	if e.ConnectionEnded {
		return fmt.Sprintf("channel %d: no more items: the connection has ended", e.ID)
	}
	return fmt.Sprintf("channel %d: no more items (closed by the peer or locally)", e.ID)
}

// Is makes errors.Is match io.EOF and ErrChannelClosed.
func (e *EOFError) Is(target error) bool { return target == io.EOF || target == ErrChannelClosed }

// TimeoutError reports a bounded wait that ended before its event. It
// matches ErrTimeout and context.DeadlineExceeded.
type TimeoutError struct {
	Op string // what was waited for, e.g. "receive on channel 3"
}

// Error implements error.
func (e *TimeoutError) Error() string { return "gateway: timeout waiting for " + e.Op }

// Is makes errors.Is match ErrTimeout and context.DeadlineExceeded.
func (e *TimeoutError) Is(target error) bool {
	return target == ErrTimeout || target == context.DeadlineExceeded
}

// ctxErr turns a finished context into the error a wait returns.
func ctxErr(ctx context.Context, op string) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return &TimeoutError{Op: op}
	}
	return fmt.Errorf("gateway: %s: %w", op, ctx.Err())
}

// ConnectionLostError says why a gateway's connection ended without a
// GATEWAY_TERMINATE: the peer closed the stream (EOF), a read or write
// failed, or a protocol violation forced us to tear it down. It matches
// ErrGatewayClosed and io.EOF, and unwraps to the underlying error.
type ConnectionLostError struct {
	Gateway string // gateway id, e.g. "gw0"
	Role    Role   // our role; the peer has the other one
	Pid     int    // peer process id, 0 if unknown
	// Status is the peer's exit status when it was known shortly after
	// the connection ended.
	Status      transport.ExitStatus
	StatusKnown bool
	Err         error // io.EOF, a read error, or a *ProtocolError
}

// Error implements error.
func (e *ConnectionLostError) Error() string {
	peer := "worker"
	if e.Role == Worker {
		peer = "master"
	}
	s := peer + " " + e.Gateway
	if e.Pid > 0 {
		s += fmt.Sprintf(" (pid %d)", e.Pid)
	}
	switch {
	case errors.Is(e.Err, io.EOF):
		s += " closed the connection"
	default:
		s += fmt.Sprintf(" connection lost: %v", e.Err)
	}
	if e.StatusKnown {
		s += ": " + FormatExitStatus(e.Status)
	}
	return s
}

// Unwrap returns the underlying error.
func (e *ConnectionLostError) Unwrap() error { return e.Err }

// Is makes errors.Is match ErrGatewayClosed and io.EOF.
func (e *ConnectionLostError) Is(target error) bool {
	return target == ErrGatewayClosed || target == io.EOF
}

// ProtocolError is a frame the gateway cannot accept: an unknown message
// code, an undecodable payload, or a payload of the wrong shape. The
// gateway tears the connection down when it sees one.
type ProtocolError struct {
	Offset int64  // stream offset of the frame's first byte
	Header []byte // the 9 header bytes
	Msg    string
	Err    error
}

// Error implements error.
func (e *ProtocolError) Error() string {
	s := fmt.Sprintf("protocol error in frame at offset %d (header %s): %s",
		e.Offset, hex.EncodeToString(e.Header), e.Msg)
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the underlying error.
func (e *ProtocolError) Unwrap() error { return e.Err }

// signalNames maps the common signals to their names; numbers come from
// the syscall package, so they are right for the build platform.
var signalNames = map[string]syscall.Signal{
	"SIGHUP": syscall.SIGHUP, "SIGINT": syscall.SIGINT, "SIGQUIT": syscall.SIGQUIT,
	"SIGABRT": syscall.SIGABRT, "SIGKILL": syscall.SIGKILL, "SIGSEGV": syscall.SIGSEGV,
	"SIGPIPE": syscall.SIGPIPE, "SIGALRM": syscall.SIGALRM, "SIGTERM": syscall.SIGTERM,
	"SIGBUS": syscall.SIGBUS, "SIGFPE": syscall.SIGFPE, "SIGILL": syscall.SIGILL,
	"SIGTRAP": syscall.SIGTRAP,
}

// FormatExitStatus describes st the way Python's subprocess reports it:
// "exited with status 0", or "exited with status -9 (SIGKILL)" for a
// process ended by a signal.
func FormatExitStatus(st transport.ExitStatus) string {
	if st.Signal != "" {
		if n, ok := signalNames[st.Signal]; ok {
			return fmt.Sprintf("exited with status %d (%s)", -int(n), st.Signal)
		}
		return fmt.Sprintf("killed by signal %s", st.Signal)
	}
	return fmt.Sprintf("exited with status %d", st.Code)
}

// ExecutionsRunningError is part of the error Serve returns when a
// worker's executions did not end within the grace period after the
// connection ended and their context was cancelled (SPEC TERM-EOF-2):
// Serve gave up waiting for them, and they may still be running in this
// process.
type ExecutionsRunningError struct {
	Gateway string // the gateway id
	Count   int    // executions still running
}

func (e *ExecutionsRunningError) Error() string {
	return fmt.Sprintf("gateway %s: %d executions still running after the grace period", e.Gateway, e.Count)
}
