package transport

import (
	"errors"
	"fmt"
	"strings"
)

// Errors of this package. A failed bootstrap is a *BootstrapError whose
// Class is one of the ErrBootstrap*/ErrInterpreter*/ErrWorker* values; all
// match with errors.Is.
var (
	// ErrUnsupportedTransport: the spec's transport has no opener here
	// (ssh and vagrant_ssh unless Options.Openers provides one; via=).
	ErrUnsupportedTransport = errors.New("transport not supported")
	// ErrNoGatewayBase: the exec style needs execnet's gateway_base.py
	// source and none was given or found.
	ErrNoGatewayBase = errors.New("execnet gateway_base.py source not found")
	// ErrInterpreterNotFound: the interpreter could not be started at all
	// (no such file, not executable).
	ErrInterpreterNotFound = errors.New("interpreter could not be started")
	// ErrWorkerExited: the worker closed its output before the ready byte,
	// typically because it exited (wrong interpreter, no execnet, error in
	// the bootstrap source).
	ErrWorkerExited = errors.New("worker ended before the ready byte")
	// ErrBadReadyByte: the worker wrote something other than the ready
	// byte '1' first.
	ErrBadReadyByte = errors.New("worker wrote something other than the ready byte")
	// ErrBootstrapTimeout: no ready byte within the bootstrap timeout or
	// the context's deadline. The error also matches
	// context.DeadlineExceeded.
	ErrBootstrapTimeout = errors.New("bootstrap timed out")
	// ErrBootstrapCanceled: the context was canceled during the
	// bootstrap. The error also matches context.Canceled.
	ErrBootstrapCanceled = errors.New("bootstrap canceled")
	// ErrBootstrapIO: sending the bootstrap line or reading the answer
	// failed for another reason (dial failure for sockets included).
	ErrBootstrapIO = errors.New("bootstrap i/o failed")
)

// BootstrapError is a failed start or handshake. Whatever the failure, the
// process the transport started has been killed and reaped.
type BootstrapError struct {
	Spec     string   // the xspec
	Command  []string // the command line started (popen), or nil
	Pid      int      // the process started (popen), or 0
	Addr     string   // the socket address (socket), or ""
	Class    error    // one of the error classes above
	Received []byte   // first bytes the worker wrote (ErrBadReadyByte)
	Stderr   string   // tail of the worker's stderr, if any
	Exit     *ExitStatus
	Err      error // underlying cause, if any
}

func (e *BootstrapError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "bootstrap %q: %v", e.Spec, e.Class)
	if e.Command != nil {
		fmt.Fprintf(&b, " (command %q)", e.Command)
	}
	if e.Addr != "" {
		fmt.Fprintf(&b, " (address %s)", e.Addr)
	}
	if e.Err != nil {
		fmt.Fprintf(&b, ": %v", e.Err)
	}
	if e.Received != nil {
		fmt.Fprintf(&b, "; received %q", e.Received)
	}
	if e.Exit != nil {
		fmt.Fprintf(&b, "; %v", *e.Exit)
	}
	if s := strings.TrimSpace(e.Stderr); s != "" {
		fmt.Fprintf(&b, "; stderr: %s", s)
	}
	return b.String()
}

// Unwrap returns the class and the cause.
func (e *BootstrapError) Unwrap() []error {
	if e.Err != nil {
		return []error{e.Class, e.Err}
	}
	return []error{e.Class}
}

// String describes the status as "exit status N" or "killed by SIGNAME".
func (s ExitStatus) String() string {
	if s.Signal != "" {
		return "killed by " + s.Signal
	}
	return fmt.Sprintf("exit status %d", s.Code)
}
