package transport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"github.com/execnet-conform/execnet-conform/reference/xspec"
	"github.com/execnet-conform/execnet-conform/spec"
)

// openSocket reaches a socket server (execnet's script/socketserver.py, or
// the Go worker's listen mode) at the spec's HOST:PORT, sends the
// exec-style socket bootstrap and waits for the ready byte.
func openSocket(ctx context.Context, s *xspec.Spec, opts Options) (Conn, error) {
	host, port, err := xspec.SplitHostPort(s.Target)
	if err != nil {
		return nil, fmt.Errorf("transport: %q: %w", s.Raw, err)
	}
	if s.Has("python") {
		return nil, fmt.Errorf("%w: %q: a socket worker runs in the server's interpreter; python= does not apply", ErrUnsupportedTransport, s.Raw)
	}
	if s.InstallVia != "" {
		return nil, fmt.Errorf("%w: %q: installvia= needs a gateway to start the server", ErrUnsupportedTransport, s.Raw)
	}
	gb, err := gatewayBaseSource(ctx, &opts)
	if err != nil {
		return nil, fmt.Errorf("transport: %q: socket bootstrap: %w", s.Raw, err)
	}
	line := BootstrapLine(SocketSource(gb, opts.workerID(s), s.ExecModel))
	return DialSocket(ctx, net.JoinHostPort(host, port), line, s.Raw, opts)
}

// DialSocket connects to addr, writes line and waits for the ready byte
// within opts.BootstrapTimeout and ctx. label names the worker in errors.
// On failure the connection is closed and the error is a *BootstrapError.
func DialSocket(ctx context.Context, addr, line, label string, opts Options) (Conn, error) {
	deadline := time.Now().Add(opts.timeout())
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	fail := func(class, err error, got []byte) error {
		return &BootstrapError{Spec: label, Addr: addr, Class: class, Err: err, Received: got}
	}
	dctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	var d net.Dialer
	nc, err := d.DialContext(dctx, "tcp", addr)
	if err != nil {
		switch {
		case ctx.Err() != nil:
			return nil, fail(ctxClass(ctx.Err()), err, nil)
		case dctx.Err() != nil:
			return nil, fail(ErrBootstrapTimeout, errors.Join(context.DeadlineExceeded, err), nil)
		}
		return nil, fail(ErrBootstrapIO, err, nil)
	}
	tc, ok := nc.(*net.TCPConn)
	if !ok {
		nc.Close()
		return nil, fail(ErrBootstrapIO, fmt.Errorf("unexpected connection type %T", nc), nil)
	}
	_ = tc.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { _ = tc.SetDeadline(time.Unix(1, 0)) })
	classify := func(err error) error {
		switch {
		case ctx.Err() != nil:
			return fail(ctxClass(ctx.Err()), ctx.Err(), nil)
		case errors.Is(err, os.ErrDeadlineExceeded):
			return fail(ErrBootstrapTimeout, context.DeadlineExceeded, nil)
		case errors.Is(err, io.EOF):
			return fail(ErrWorkerExited, errors.New("server closed the connection"), nil)
		}
		return fail(ErrBootstrapIO, err, nil)
	}
	var b [1]byte
	_, err = io.WriteString(tc, line)
	if err == nil {
		_, err = io.ReadFull(tc, b[:])
	}
	if err == nil && b[0] != spec.ReadyByte {
		got := []byte{b[0]}
		_ = tc.SetReadDeadline(time.Now().Add(garbageWindow))
		buf := make([]byte, garbageMax)
		for len(got) < garbageMax {
			n, rerr := tc.Read(buf[:garbageMax-len(got)])
			got = append(got, buf[:n]...)
			if rerr != nil {
				break
			}
		}
		stop()
		tc.Close()
		return nil, fail(ErrBadReadyByte, nil, got)
	}
	if !stop() && err == nil {
		err = ctx.Err()
	}
	if err != nil {
		tc.Close()
		return nil, classify(err)
	}
	_ = tc.SetDeadline(time.Time{})
	return &socketConn{tc}, nil
}

// socketConn is the Conn of a socket worker.
type socketConn struct{ *net.TCPConn }

// CloseWrite half-closes the connection, so the worker reads EOF.
func (c *socketConn) CloseWrite() error { return c.TCPConn.CloseWrite() }

// Process returns nil: the worker runs inside the server's process.
func (c *socketConn) Process() Process { return nil }
