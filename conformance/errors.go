package conformance

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/execnet-conform/execnet-conform/conformance/finding"
	"github.com/execnet-conform/execnet-conform/reference/frame"
	"github.com/execnet-conform/execnet-conform/reference/transport"
)

// Sentinel errors; the typed errors below wrap or match them.
var (
	// ErrConnEnded: the target ended the connection (EOF, a read error or a
	// malformed frame on the stream).
	ErrConnEnded = errors.New("target ended the connection")
	// ErrTimeout: the case deadline passed while waiting. It also matches
	// context.DeadlineExceeded.
	ErrTimeout = errors.New("case deadline passed")
	// ErrUnexpectedFrame: a frame other than the expected one arrived.
	ErrUnexpectedFrame = errors.New("unexpected frame")
	// ErrIDsExhausted: every odd positive channel id of the session has
	// been used; ids are never reused or wrapped.
	ErrIDsExhausted = errors.New("channel ids exhausted")
	// ErrStart: the target could not be started or bootstrapped.
	ErrStart = errors.New("target could not be started")
	// ErrBadCase: a case list is invalid (duplicate or empty id, no Run).
	ErrBadCase = errors.New("invalid case")
	// ErrKnownFailing: a known-failing file is malformed.
	ErrKnownFailing = errors.New("invalid known-failing file")
	// ErrNoProcess: the transport started no local process (socket).
	ErrNoProcess = errors.New("target has no local process")
	// ErrNotAvailable: a component this runner needs is not available.
	ErrNotAvailable = errors.New("not available")
	// ErrDesync: the runner could not read the target's stream on (a
	// malformed frame header, a frame cut short): the stream is
	// desynchronised, which fails the case (never an orderly end).
	ErrDesync = errors.New("target's stream desynchronised")
)

// DesyncError reports what the runner could not parse in the target's
// stream. It ends the session; the *ConnEndedError a case then sees wraps
// it.
type DesyncError struct {
	Finding *finding.Finding
}

func (e *DesyncError) Error() string {
	return "the runner cannot parse the target's stream (desynchronised; target killed): " + e.Finding.Error()
}

// Unwrap returns ErrDesync and the finding.
func (e *DesyncError) Unwrap() []error { return []error{ErrDesync, e.Finding} }

// ConnEndedError reports the end of the target's stream, with the exit
// status when the target's process has exited.
type ConnEndedError struct {
	Err    error                 // io.EOF, a read error or a *frame.Error
	Status *transport.ExitStatus // nil when unknown
	Stderr string                // tail of the target's stderr, if captured
}

func (e *ConnEndedError) Error() string {
	var b strings.Builder
	b.WriteString("target ended the connection: ")
	b.WriteString(e.Err.Error())
	if e.Status != nil {
		fmt.Fprintf(&b, "; process %s", describeStatus(*e.Status))
	}
	if tail := strings.TrimRight(e.Stderr, "\r\n"); tail != "" {
		// The target's own lines, as it wrote them (a traceback reads
		// as one), each marked so that they stand apart from ours.
		b.WriteString("; stderr tail:")
		for l := range strings.SplitSeq(tail, "\n") {
			b.WriteString("\n  | ")
			b.WriteString(strings.TrimRight(l, "\r"))
		}
	}
	return b.String()
}

// Unwrap returns both ErrConnEnded and the underlying error.
func (e *ConnEndedError) Unwrap() []error { return []error{ErrConnEnded, e.Err} }

func describeStatus(s transport.ExitStatus) string {
	if s.Signal != "" {
		return "killed by " + s.Signal
	}
	return fmt.Sprintf("exited with status %d", s.Code)
}

// TimeoutError reports that the case deadline passed while waiting for
// something.
type TimeoutError struct {
	Waiting string // what was awaited, e.g. "CHANNEL_DATA on channel 3"
}

func (e *TimeoutError) Error() string {
	return "case deadline passed while waiting for " + e.Waiting
}

// Is matches ErrTimeout and context.DeadlineExceeded.
func (e *TimeoutError) Is(target error) bool {
	return target == ErrTimeout || target == context.DeadlineExceeded
}

// UnexpectedFrameError reports a frame that is not the one a case expected.
type UnexpectedFrameError struct {
	Want   string
	Got    frame.Frame
	Detail string // e.g. the decoded payload
}

func (e *UnexpectedFrameError) Error() string {
	s := fmt.Sprintf("expected %s, got %s ch=%d len=%d", e.Want, e.Got.Code, e.Got.Channel, len(e.Got.Payload))
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

// Unwrap returns ErrUnexpectedFrame.
func (e *UnexpectedFrameError) Unwrap() error { return ErrUnexpectedFrame }

// StartError reports a target that could not be started or bootstrapped.
type StartError struct {
	Target string
	Err    error
}

func (e *StartError) Error() string {
	return fmt.Sprintf("target %q could not be started: %v", e.Target, e.Err)
}

// Unwrap returns ErrStart and the cause.
func (e *StartError) Unwrap() []error { return []error{ErrStart, e.Err} }

// KnownFailingError reports a malformed line of a known-failing file.
type KnownFailingError struct {
	File string
	Line int
	Msg  string
}

func (e *KnownFailingError) Error() string {
	return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
}

// Unwrap returns ErrKnownFailing.
func (e *KnownFailingError) Unwrap() error { return ErrKnownFailing }
