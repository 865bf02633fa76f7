// Package transport starts or reaches an execnet worker and performs the
// bootstrap handshake (SPEC.md section "Bootstrap"), returning a byte stream
// that carries frames. It is shared by the reference gateway and by the
// conformance runner, which speaks frames directly.
//
// Open takes a parsed xspec (package xspec) and dispatches on its kind:
//
//   - popen: starts PYTHON -u [-B] -c BOOTSTRAP in a process group of its
//     own, writes one line (a Python string literal of the bootstrap
//     source, see PyStringLiteral) and waits for the ready byte '1'. The
//     source is either import style (the worker's own execnet serves) or
//     exec style (the master sends execnet's gateway_base.py text); see
//     Options.Style for the rule that picks one. After the handshake the
//     worker's stdout is read outside Go's network poller (WaitFile), so
//     that the gateway's Receive can wait on it on its own thread
//     (WaitReader).
//   - socket: connects to a socket server (execnet's socketserver.py or
//     the Go worker's listen mode) and sends the socket bootstrap.
//   - ssh and others: through Options.Openers.
//
// Every failure to start or to complete the handshake is a
// *BootstrapError that says which of a few classes it is (interpreter not
// startable, worker exited, wrong first bytes, timeout), with the bytes
// received, the exit status and the tail of the worker's stderr; the
// process is killed and reaped before Open returns.
package transport

import (
	"context"
	"io"
)

// Conn is a bootstrapped byte stream to a worker: the worker has answered
// the ready byte and every byte from now on is a frame.
type Conn interface {
	io.Reader
	io.Writer
	// CloseWrite closes the sending half, so the worker reads EOF.
	CloseWrite() error
	// Close releases the stream. It does not wait for or kill a process;
	// use Process for that.
	Close() error
	// Process returns the worker process when this transport started one
	// (popen, or ssh's remote side as seen locally), or nil (socket).
	Process() Process
}

// Process is a worker process that a transport started.
type Process interface {
	// Pid returns the local process id, or 0 if unknown (remote).
	Pid() int
	// Wait waits for the process to exit and reaps it; it returns the
	// exit status. It returns ctx.Err() if ctx ends first, leaving the
	// process running. Wait may be called more than once.
	Wait(ctx context.Context) (ExitStatus, error)
	// Terminate asks the process (its whole process group, where the OS
	// has them) to stop: SIGTERM on Unix.
	Terminate() error
	// Kill ends the process (its whole process group) at once: SIGKILL.
	Kill() error
}

// GroupKiller is implemented by a Process whose process group can
// outlive it (popen workers on Unix). KillGroup sends SIGKILL to what is
// left of the group once the process itself has exited and been reaped:
// processes the worker started and left behind. It does nothing while the
// process runs, and a group that is gone is not an error.
type GroupKiller interface {
	KillGroup() error
}

// ExitStatus describes how a worker process ended.
type ExitStatus struct {
	Code   int    // exit code, or -1 when ended by a signal
	Signal string // signal name when ended by a signal, else ""
}
