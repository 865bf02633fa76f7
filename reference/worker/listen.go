package worker

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultBootstrapTimeout bounds how long a socket client may take to send
// its bootstrap line before Listen drops the connection.
const DefaultBootstrapTimeout = 30 * time.Second

// DefaultMaxConns bounds the connections Listen serves at once; further
// clients wait in the kernel's accept queue until one ends.
const DefaultMaxConns = 64

// DefaultIdleTimeout is how long Listen keeps a bootstrapped connection
// on which nothing happens (no byte from the client, no execution
// running) before it closes it and frees its slot.
const DefaultIdleTimeout = 5 * time.Minute

// Listen is the socket bootstrap server, the Go counterpart of execnet's
// socketserver script: it binds addr (HOST:PORT; an empty host means
// 127.0.0.1, so the server is reachable only from this machine unless a
// host is given; an IPv4 address such as 0.0.0.0 binds IPv4 only, an
// IPv6 one such as [::] IPv6 only, and a host name whatever it resolves
// to), prints "listening on ADDR (no authentication)" to
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
	network := "tcp"
	if ip := net.ParseIP(host); ip != nil {
		// Go's "tcp" on 0.0.0.0 would bind [::] too (a dual-stack
		// socket): an IPv4 address means IPv4 only.
		network = "tcp6"
		if ip.To4() != nil {
			network = "tcp4"
		}
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, network, net.JoinHostPort(host, port))
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
// opts.MaxBootstrapLine is dropped without affecting the others (the
// line is checked as it arrives, and not kept: a bootstrapping
// connection holds about 128 KiB whatever the line's length). A
// bootstrapped connection on which nothing happens for opts.IdleTimeout
// (no byte from the client, no execution running) is closed, so that
// idle clients cannot hold every slot.
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
	act := &activity{conn: conn}
	br := bufio.NewReaderSize(act, readBufferSize)
	lineID, _, err := readBootstrap(br, opts.maxLine())
	if err != nil {
		return err
	}
	if idle := opts.idleTimeout(); idle > 0 {
		stopIdle := act.watch(idle)
		defer stopIdle()
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
	err = runGateway(ctx, sc, gatewayID(lineID, opts), opts, act)
	if act.timedOut.Load() {
		return fmt.Errorf("worker: closed after %v without activity (Options.IdleTimeout): %w", opts.idleTimeout(), ErrIdle)
	}
	return err
}

// ErrIdle is matched by the error of a socket connection that Listen
// closed because nothing happened on it for Options.IdleTimeout.
var ErrIdle = errors.New("idle connection closed")

// activity tracks what happens on a socket connection, for the idle
// timeout: when the client last sent a byte, and how many executions
// run.
type activity struct {
	conn     net.Conn
	last     atomic.Int64 // nanoseconds since epoch of the last byte read or execution end
	running  atomic.Int32
	timedOut atomic.Bool
}

func (a *activity) Read(p []byte) (int, error) {
	n, err := a.conn.Read(p)
	if n > 0 {
		a.last.Store(time.Now().UnixNano())
	}
	return n, err
}

func (a *activity) begin() { a.running.Add(1) }

func (a *activity) end() {
	a.last.Store(time.Now().UnixNano())
	a.running.Add(-1)
}

// watch closes the connection once nothing happened on it for idle, and
// returns the function that stops watching.
func (a *activity) watch(idle time.Duration) (stop func()) {
	a.last.Store(time.Now().UnixNano())
	var mu sync.Mutex
	stopped := false
	var t *time.Timer
	mu.Lock()
	defer mu.Unlock()
	t = time.AfterFunc(idle, func() {
		mu.Lock()
		defer mu.Unlock()
		if stopped {
			return
		}
		quiet := time.Since(time.Unix(0, a.last.Load()))
		if a.running.Load() == 0 && quiet >= idle {
			a.timedOut.Store(true)
			_ = a.conn.Close()
			return
		}
		// Look again when the quiet would reach idle, and no sooner
		// than idle/16 while executions run.
		t.Reset(max(idle-quiet, idle/16, time.Millisecond))
	})
	return func() {
		mu.Lock()
		stopped = true
		t.Stop()
		mu.Unlock()
	}
}
