package transport

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/execnet-conform/execnet-conform/reference/xspec"
)

// DefaultBootstrapTimeout bounds the handshake when Options.BootstrapTimeout
// is zero.
const DefaultBootstrapTimeout = 10 * time.Second

// DefaultPython is the interpreter a popen spec without python= starts,
// looked up on PATH. A Go master has no interpreter of its own to reuse
// (execnet uses sys.executable), so name one with python= when the python3
// on PATH is not the one wanted.
const DefaultPython = "python3"

// Options tune Open. The zero value is ready to use.
type Options struct {
	// BootstrapTimeout bounds the start and handshake (default 10s). The
	// context passed to Open bounds it too.
	BootstrapTimeout time.Duration

	// Style chooses the popen bootstrap: StyleImport, StyleExec, or ""
	// for execnet's rule. The rule, in order of precedence:
	//  1. a style= key in the spec;
	//  2. Options.Style when not "";
	//  3. execnet's default: exec style when the spec has python= or
	//     via=, else import style.
	// The conformance runner passes StyleImport so that
	// "popen//python=/usr/bin/python3" tests that interpreter's execnet.
	// Socket workers always get the exec style (the server has only its
	// own process); ssh openers decide for themselves.
	Style string

	// WorkerID is the id the worker serves under. Default: the spec's
	// id= plus "-worker", or "gw0-worker" when the spec has no id.
	WorkerID string

	// GatewayBaseSource is the text of execnet's gateway_base.py for the
	// exec and socket styles. When empty it is read from the file that
	// LocateGatewayBase finds, at each Open; set it to avoid that cost.
	GatewayBaseSource string

	// Stderr receives the worker's stderr (popen). Whether or not it is
	// set, the last 4 KiB are kept for error messages; see StderrTail.
	// Writes to it happen on a goroutine of os/exec and should not block:
	// a blocked Stderr stalls the worker once its pipe buffer is full.
	Stderr io.Writer

	// Env is the environment of a popen worker, as for exec.Cmd.Env: nil
	// means the master's own environment. The conformance runner passes
	// a reduced one so that an untrusted target gets no secrets.
	Env []string

	// Openers adds or replaces transports by xspec kind ("ssh",
	// "vagrant_ssh", or a kind of your own). Open consults it before its
	// built-in popen and socket openers.
	Openers map[string]Opener

	// WriteLine, when set, writes the bootstrap line to a popen worker's
	// standard input in place of one write of the whole line. The
	// conformance runner uses it to deliver the line in pieces (one byte
	// at a time, at random cut points) and so check that the worker reads
	// the line whatever its pieces.
	WriteLine func(w io.Writer, line string) error
}

// Opener starts or reaches a worker for one kind of xspec and performs the
// handshake.
type Opener interface {
	Open(ctx context.Context, s *xspec.Spec, opts Options) (Conn, error)
}

// OpenerFunc adapts a function to Opener.
type OpenerFunc func(ctx context.Context, s *xspec.Spec, opts Options) (Conn, error)

// Open calls f.
func (f OpenerFunc) Open(ctx context.Context, s *xspec.Spec, opts Options) (Conn, error) {
	return f(ctx, s, opts)
}

// StderrTailer is implemented by popen Conns: StderrTail returns the last
// 4 KiB the worker wrote to stderr.
type StderrTailer interface {
	StderrTail() string
}

// Open starts or reaches the worker that s describes, performs the
// bootstrap handshake and returns the stream of frames. It dispatches on
// s.Kind: first Options.Openers, then the built-in "popen" and "socket";
// "ssh" and "vagrant_ssh" without an opener, and any spec with via=, fail
// with ErrUnsupportedTransport. A failed handshake is a *BootstrapError.
//
// ctx bounds the start and the handshake only: once Open has returned,
// cancelling it does not affect the worker. End a popen worker with
// GATEWAY_TERMINATE and CloseWrite, or with Process().Terminate or Kill,
// and always reap it with Process().Wait.
//
// Open does not apply chdir=, nice= or env: keys; as in execnet, those
// are set up after the bootstrap by code the gateway runs in the worker.
func Open(ctx context.Context, s *xspec.Spec, opts Options) (Conn, error) {
	if s == nil {
		return nil, fmt.Errorf("transport: nil spec")
	}
	if o, ok := opts.Openers[s.Kind]; ok && o != nil {
		return o.Open(ctx, s, opts)
	}
	if s.Via != "" {
		return nil, fmt.Errorf("%w: %q: via= needs a gateway to proxy through", ErrUnsupportedTransport, s.Raw)
	}
	switch s.Kind {
	case "popen":
		return openPopen(ctx, s, opts)
	case "socket":
		return openSocket(ctx, s, opts)
	case "":
		return nil, fmt.Errorf("%w: %q names no transport (popen, ssh, socket)", ErrUnsupportedTransport, s.Raw)
	default:
		return nil, fmt.Errorf("%w: %q: no opener for %s (set Options.Openers)", ErrUnsupportedTransport, s.Raw, s.Kind)
	}
}

// ResolveStyle returns the bootstrap style Open uses for a popen spec
// under opts; see Options.Style for the rule.
func ResolveStyle(s *xspec.Spec, opts Options) (string, error) {
	style := opts.Style
	if s.Has("style") {
		style = s.Style
	}
	switch style {
	case StyleImport, StyleExec:
		return style, nil
	case "":
		if s.Has("python") || s.Via != "" {
			return StyleExec, nil
		}
		return StyleImport, nil
	}
	return "", fmt.Errorf("transport: %q: unknown bootstrap style %q (want %q or %q)", s.Raw, style, StyleImport, StyleExec)
}

func (o *Options) timeout() time.Duration {
	if o.BootstrapTimeout > 0 {
		return o.BootstrapTimeout
	}
	return DefaultBootstrapTimeout
}

func (o *Options) workerID(s *xspec.Spec) string {
	if o.WorkerID != "" {
		return o.WorkerID
	}
	return s.WorkerID("gw0")
}
