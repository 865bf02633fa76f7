package worker_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"regexp"
	"testing"
	"time"

	"github.com/execnet-conform/execnet-conform/conformance/profile"
	"github.com/execnet-conform/execnet-conform/internal/syncbuf"
	"github.com/execnet-conform/execnet-conform/reference/codec"
	"github.com/execnet-conform/execnet-conform/reference/gateway"
	"github.com/execnet-conform/execnet-conform/reference/transport"
	"github.com/execnet-conform/execnet-conform/reference/worker"
)

// tcpConn is a master's transport.Conn over a TCP connection.
type tcpConn struct{ *net.TCPConn }

func (c tcpConn) Process() transport.Process { return nil }

// dialBootstrapped connects to addr, sends a bootstrap line and waits for
// the ready byte.
func dialBootstrapped(t *testing.T, addr string) *net.TCPConn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	tc := c.(*net.TCPConn)
	tc.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := tc.Write([]byte("'serve(io, id=\\'sock-worker\\')'\n")); err != nil {
		t.Fatal(err)
	}
	var one [1]byte
	if _, err := io.ReadFull(tc, one[:]); err != nil || one[0] != '1' {
		t.Fatalf("ready byte %q, %v", one, err)
	}
	tc.SetDeadline(time.Time{})
	return tc
}

// expectDropped fails t unless the server closes c within 10s.
func expectDropped(t *testing.T, c net.Conn, what string) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 16)
	n, err := c.Read(buf)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("%s: connection still open after 10s", what)
	}
	if n != 0 {
		t.Fatalf("%s: server sent %q instead of closing", what, buf[:n])
	}
}

func TestServeListener(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	var logs syncbuf.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- worker.ServeListener(ctx, ln, worker.Options{
			Stderr: &logs, BootstrapTimeout: 300 * time.Millisecond, MaxBootstrapLine: 1000,
		})
	}()

	// A client that never sends its line is dropped after the timeout.
	idle, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	// A client whose line exceeds the bound is dropped.
	long, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer long.Close()
	long.Write(bytes.Repeat([]byte("x"), 2000))
	// A client that connects and leaves at once.
	gone, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	gone.Close()

	expectDropped(t, long, "over-long line")
	expectDropped(t, idle, "silent client")

	// Two real gateways at once still work.
	a := gateway.New(tcpConn{dialBootstrapped(t, addr)}, gateway.Master)
	b := gateway.New(tcpConn{dialBootstrapped(t, addr)}, gateway.Master)
	for _, g := range []*gateway.Gateway{a, b} {
		src, _ := profile.Source(profile.Echo)
		ch, err := g.RemoteExec(ctx, gateway.Exec{Source: src, CallName: profile.Echo})
		if err != nil {
			t.Fatal(err)
		}
		ch.Send(ctx, codec.Str("hello"))
		if v, err := ch.Receive(ctx); err != nil || v != codec.Str("hello") {
			t.Fatalf("echo over socket: %v, %v", v, err)
		}
		ch.Close()
	}
	if err := a.Exit(ctx); err != nil {
		t.Fatalf("exit: %v", err)
	}

	// Cancelling ends the server and closes b's live connection.
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("ServeListener = %v, want nil after cancel", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("ServeListener did not return after cancel")
	}
	select {
	case <-b.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("open gateway not ended by the server's shutdown")
	}
	if !regexp.MustCompile(`bootstrap line too long`).MatchString(logs.String()) {
		t.Errorf("log does not mention the over-long line:\n%s", logs.String())
	}
}

func TestListenDefaultsToLoopback(t *testing.T) {
	var logs syncbuf.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- worker.Listen(ctx, ":0", worker.Options{Stderr: &logs}) }()
	re := regexp.MustCompile(`^listening on (127\.0\.0\.1:\d+) \(no authentication\)\n`)
	var m []string
	for deadline := time.Now().Add(10 * time.Second); m == nil && time.Now().Before(deadline); {
		m = re.FindStringSubmatch(logs.String())
		time.Sleep(5 * time.Millisecond)
	}
	if m == nil {
		cancel()
		<-done
		t.Fatalf("stderr %q does not announce a loopback address", logs.String())
	}
	c := dialBootstrapped(t, m[1])
	c.Close()
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := worker.Listen(context.Background(), "no-port", worker.Options{}); err == nil {
		t.Fatal("Listen accepted an address without a port")
	}
}

// TestServeEOF checks that the worker ends cleanly when the master closes
// its stream without GATEWAY_TERMINATE.
func TestServeEOF(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	g, conn, errc := startInProcessConn(t, ctx)
	ch := execProc(t, ctx, g, profile.Echo)
	ch.Send(ctx, codec.Int(1))
	if _, err := ch.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	// Close our sending half only: the worker reads EOF.
	if err := conn.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-errc:
		if err != nil {
			t.Fatalf("Serve after EOF = %v, want nil", err)
		}
	case <-ctx.Done():
		t.Fatal("Serve did not end after EOF")
	}
}
