// Package worker is the Go execnet worker: it answers execnet's bootstrap
// (one line in, the ready byte out) and then serves the execnet protocol in
// the worker role, running the conformance profile procedures
// (conformance/profile) natively in Go by their call_name.
//
// It runs no Python. A CHANNEL_EXEC whose call_name is not a profile
// procedure, or that carries source without a call_name, ends at once with
// CHANNEL_CLOSE_ERROR naming this limitation. One source is recognised
// instead of run: execnet's io-proxy (gateway_io.py, by the rule of
// IsIOProxySource), which a master sends to open a gateway with via=; the
// worker then serves as the via hop natively (SPEC.md 12.9). Likewise
// execnet's rsync_remote.py (IsRsyncSource) is served by package
// reference/rsync (SPEC.md 12.10).
//
// The worker writes nothing but protocol bytes to its output; diagnostics
// go to Options.Stderr.
package worker

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/execnet-conform/execnet-conform/reference/gateway"
	"github.com/execnet-conform/execnet-conform/reference/transport"
	"github.com/execnet-conform/execnet-conform/spec"
)

// Implementation is the "implementation" value conform_info reports.
const Implementation = "execnet-conform-go"

const (
	readyByte      = spec.ReadyByte
	readBufferSize = 64 << 10
)

// Options configure Serve and Listen. The zero value is usable.
type Options struct {
	// Stderr receives diagnostics; nil discards them.
	Stderr io.Writer
	// MaxBootstrapLine bounds the bootstrap line; 0 means
	// DefaultMaxBootstrapLine.
	MaxBootstrapLine int
	// BootstrapTimeout bounds the wait for a socket client's bootstrap
	// line (Listen only); 0 means DefaultBootstrapTimeout.
	BootstrapTimeout time.Duration
	// MaxConns bounds concurrent socket connections (Listen only); 0
	// means DefaultMaxConns.
	MaxConns int
	// IdleTimeout closes a bootstrapped socket connection on which
	// nothing happens for this long: no byte from the client and no
	// execution running (Listen only). 0 means DefaultIdleTimeout; a
	// negative value turns the timeout off.
	IdleTimeout time.Duration
	// ID overrides the worker id; by default it is taken from the
	// bootstrap line (execnet's "gw0-worker"), else "worker".
	ID string
	// Version is the "version" conform_info reports; "" means "devel".
	Version string
	// GatewayOptions are applied to the worker's gateway after the
	// worker's own options, so they can override them: for example
	// gateway.WithSpinWait(0) on a machine with more busy processes than
	// cores, or gateway.WithLogger for the debug log.
	GatewayOptions []gateway.Option
}

func (o Options) stderr() io.Writer {
	if o.Stderr == nil {
		return io.Discard
	}
	return o.Stderr
}

func (o Options) maxLine() int {
	if o.MaxBootstrapLine <= 0 {
		return DefaultMaxBootstrapLine
	}
	return o.MaxBootstrapLine
}

func (o Options) idleTimeout() time.Duration {
	if o.IdleTimeout == 0 {
		return DefaultIdleTimeout
	}
	return max(o.IdleTimeout, 0)
}

func (o Options) version() string {
	if o.Version == "" {
		return "devel"
	}
	return o.Version
}

// gatewayID is the worker's gateway id: opts.ID, else lineID (the id
// the bootstrap line names), else "worker".
func gatewayID(lineID string, opts Options) string {
	if opts.ID != "" {
		return opts.ID
	}
	if lineID != "" {
		return lineID
	}
	return "worker"
}

// Serve runs one worker over in and out, as a popen or ssh worker does
// over its stdin and stdout: it reads the bootstrap line, writes the ready
// byte, then serves the protocol until the master sends GATEWAY_TERMINATE
// or closes in (both return nil), ctx ends (ctx.Err()), or the connection
// fails (a non-nil error). Once serving has begun, Serve closes in and
// out when they implement io.Closer: a worker's stream ends with it. An
// *os.File in is taken over right after the bootstrap: Serve reads a
// duplicate of its descriptor outside Go's network poller
// (transport.WaitFile, so that a Receive can read it itself) and closes
// in at once.
// While the bootstrap line is awaited, ctx is honoured only if in has
// SetReadDeadline (as *os.File pipes and net.Conn do); otherwise the read
// ends when in does.
func Serve(ctx context.Context, in io.Reader, out io.Writer, opts Options) error {
	if dl, ok := in.(interface{ SetReadDeadline(time.Time) error }); ok {
		stop := context.AfterFunc(ctx, func() { _ = dl.SetReadDeadline(time.Now()) })
		defer stop()
	}
	br := bufio.NewReaderSize(in, readBufferSize)
	lineID, _, err := readBootstrap(br, opts.maxLine())
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return err
	}
	if dl, ok := in.(interface{ SetReadDeadline(time.Time) error }); ok {
		_ = dl.SetReadDeadline(time.Time{})
	}
	if _, err := out.Write([]byte{readyByte}); err != nil {
		return fmt.Errorf("worker: writing the ready byte: %w", err)
	}
	sc := &streamConn{r: br, w: out}
	inC, inOK := in.(io.Closer)
	if f, ok := in.(*os.File); ok {
		// Read the stream outside Go's network poller from now on, so
		// that a Receive can read it itself (transport.WaitFile); what
		// the bootstrap reader buffered comes first.
		if wf, err := transport.NewWaitFile(f); err == nil {
			sc.br, sc.wait = br, wf
			inC, inOK = wf, true
		}
	}
	outC, outOK := out.(io.Closer)
	var closeOut func() error
	if outOK {
		closeOut = sync.OnceValue(outC.Close)
		sc.closeWrite = closeOut
	}
	sc.close = func() error {
		// Closing in unblocks a pending read (pollable files, sockets),
		// so that a cancelled Serve does not wait for the master.
		var err error
		if inOK {
			err = inC.Close()
		}
		if outOK {
			err = errors.Join(err, closeOut())
		}
		return err
	}
	return runGateway(ctx, sc, gatewayID(lineID, opts), opts, nil)
}

// ServeStdio is Serve over the process's standard input and output.
func ServeStdio(ctx context.Context, opts Options) error {
	return Serve(ctx, os.Stdin, os.Stdout, opts)
}

// streamConn adapts a reader and a writer to transport.Conn.
type streamConn struct {
	r          io.Reader
	w          io.Writer
	br         *bufio.Reader       // r, when r buffered a file now read through wait
	wait       *transport.WaitFile // the file, or nil
	closeWrite func() error
	close      func() error

	mu     sync.Mutex
	closed bool
}

func (c *streamConn) Read(p []byte) (int, error) {
	if c.wait != nil {
		if c.br.Buffered() > 0 {
			return c.br.Read(p)
		}
		return c.wait.Read(p)
	}
	return c.r.Read(p)
}
func (c *streamConn) Write(p []byte) (int, error) { return c.w.Write(p) }

// SetSpin sets the spin window of the served file (transport.WaitFile).
func (c *streamConn) SetSpin(d time.Duration) {
	if c.wait != nil {
		c.wait.SetSpin(d)
	}
}

// CanWait implements transport.WaitReader.
func (c *streamConn) CanWait() bool { return c.wait != nil }

// ReadWait implements transport.WaitReader: what the bootstrap reader
// still buffers comes first, then the file itself.
func (c *streamConn) ReadWait(p []byte, d time.Duration) (int, error) {
	if c.wait == nil {
		return 0, transport.ErrWaitTimeout
	}
	if c.br.Buffered() > 0 {
		return c.br.Read(p)
	}
	return c.wait.ReadWait(p, d)
}

// CloseWrite closes the output half, if it can be closed.
func (c *streamConn) CloseWrite() error {
	if c.closeWrite == nil {
		return nil
	}
	return c.closeWrite()
}

// Close closes the whole stream, once.
func (c *streamConn) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	c.closed = true
	if c.close != nil {
		return c.close()
	}
	return c.CloseWrite()
}
