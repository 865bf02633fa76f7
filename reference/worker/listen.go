package worker

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"
)

// DefaultBootstrapTimeout bounds how long a socket client may take to send
// its bootstrap line before Listen drops the connection.
const DefaultBootstrapTimeout = 30 * time.Second

// DefaultMaxConns bounds the connections Listen serves at once; further
// clients wait in the kernel's accept queue until one ends.
const DefaultMaxConns = 64

// Listen is the socket bootstrap server, the Go counterpart of execnet's
// socketserver script: it binds addr (HOST:PORT; an empty host means
// 127.0.0.1, so the server is reachable only from this machine unless a
// host is given), prints "listening on ADDR (no authentication)" to
// opts.Stderr, and serves one gateway per accepted connection until ctx
// ends. Anyone who can connect can run the profile procedures: there is no
// authentication, as in execnet. Listen returns nil once ctx ends and every
// connection is closed, or the error that stopped it.
func Listen(ctx context.Context, addr string, opts Options) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("worker: listen address %q: %w", addr, err)
	}
	if host == "" {
		host = "127.0.0.1"
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", net.JoinHostPort(host, port))
	if err != nil {
		return fmt.Errorf("worker: %w", err)
	}
	fmt.Fprintf(opts.stderr(), "listening on %s (no authentication)\n", ln.Addr())
	if ta, ok := ln.Addr().(*net.TCPAddr); ok && !ta.IP.IsLoopback() {
		fmt.Fprintf(opts.stderr(), "warning: %s is reachable from other hosts; anyone who can connect can use this worker (SPEC.md SEC-SOCK-1)\n", ln.Addr())
	}
	return ServeListener(ctx, ln, opts)
}

// ServeListener accepts connections on ln and serves one gateway on each,
// as Listen does, until ctx ends; it closes ln. A client that connects and
// leaves, sends no line within opts.BootstrapTimeout, or sends a line over
// opts.MaxBootstrapLine is dropped without affecting the others.
func ServeListener(ctx context.Context, ln net.Listener, opts Options) error {
	var wg sync.WaitGroup
	defer wg.Wait() // runs last: after cancel has closed every connection
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	defer ln.Close()

	maxConns := opts.MaxConns
	if maxConns <= 0 {
		maxConns = DefaultMaxConns
	}
	slots := make(chan struct{}, maxConns)

	for {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			return nil
		}
		conn, err := ln.Accept()
		if err != nil {
			<-slots
			if ctx.Err() != nil {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return fmt.Errorf("worker: accept: %w", err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			if err := serveConn(ctx, conn, opts); err != nil {
				fmt.Fprintf(opts.stderr(), "execnet-conform worker: connection from %s: %v\n", conn.RemoteAddr(), err)
			}
		}()
	}
}

// serveConn runs the bootstrap and one gateway on a socket connection.
func serveConn(ctx context.Context, conn net.Conn, opts Options) error {
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()

	timeout := opts.BootstrapTimeout
	if timeout <= 0 {
		timeout = DefaultBootstrapTimeout
	}
	if err := conn.SetReadDeadline(time.Now().Add(timeout)); err != nil {
		return err
	}
	br := bufio.NewReaderSize(conn, readBufferSize)
	line, err := readBootstrapLine(br, opts.maxLine())
	if err != nil {
		return err
	}
	if err := conn.SetReadDeadline(time.Time{}); err != nil {
		return err
	}
	if _, err := conn.Write([]byte{readyByte}); err != nil {
		return fmt.Errorf("worker: writing the ready byte: %w", err)
	}
	sc := &streamConn{r: br, w: conn, closeWrite: func() error {
		if cw, ok := conn.(interface{ CloseWrite() error }); ok {
			return cw.CloseWrite()
		}
		return nil
	}, close: conn.Close}
	return runGateway(ctx, sc, gatewayID(line, opts), opts)
}
