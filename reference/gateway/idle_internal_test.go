//go:build unix

package gateway

import (
	"context"
	"errors"
	"io"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/execnet-conform/execnet-conform/reference/codec"
	"github.com/execnet-conform/execnet-conform/reference/frame"
	"github.com/execnet-conform/execnet-conform/reference/transport"
	"github.com/execnet-conform/execnet-conform/spec"
)

// countingWaitConn is a waitPipeConn that counts the bounded waits
// (ReadWait) that Receive calls make on it.
type countingWaitConn struct {
	waitPipeConn
	waits atomic.Int64
}

func (c *countingWaitConn) ReadWait(p []byte, d time.Duration) (int, error) {
	c.waits.Add(1)
	return c.WaitFile.ReadWait(p, d)
}

// silentPeer starts a master gateway over pipes whose peer sends nothing
// until the test writes to the returned pipe.
func silentPeer(t testing.TB, opts ...Option) (*Gateway, *countingWaitConn, *os.File) {
	inR, inW, err := os.Pipe() // peer -> gateway
	if err != nil {
		t.Fatal(err)
	}
	outR, outW, err := os.Pipe() // gateway -> peer, drained
	if err != nil {
		t.Fatal(err)
	}
	wf, err := transport.NewWaitFile(inR)
	if err != nil {
		t.Fatal(err)
	}
	drained := make(chan struct{})
	go func() { defer close(drained); _, _ = io.Copy(io.Discard, outR) }()
	conn := &countingWaitConn{waitPipeConn: waitPipeConn{WaitFile: wf, w: outW}}
	g := New(conn, Master, opts...)
	t.Cleanup(func() {
		inW.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = g.Exit(ctx)
		<-drained
		outR.Close()
	})
	return g, conn, inW
}

// TestLongReceiveLeavesReading: a Receive entered right after a Send
// reads the connection itself, but only for leadHold; then it leaves the
// reading to the receiver goroutine (which waits in slices of 500 ms) and
// waits on its channel. Before the fix it kept reading in slices of
// leadSlice (20 ms) for its whole wait, while the receiver goroutine
// checked every 2 ms whether the token was free: about 4.5% of a core
// for as long as the worker was silent. The item that comes in the end
// still reaches the Receive.
func TestLongReceiveLeavesReading(t *testing.T) {
	g, conn, peer := silentPeer(t, WithSpinWait(0))
	ch := g.NewChannel()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := ch.Send(ctx, codec.Int(1)); err != nil {
		t.Fatal(err)
	}
	p, err := codec.Dumps(codec.Str("late"))
	if err != nil {
		t.Fatal(err)
	}
	late := append(frame.AppendHeader(nil, spec.MsgChannelData, ch.ID(), len(p)), p...)
	const silence = time.Second
	go func() {
		time.Sleep(silence)
		_, _ = peer.Write(late)
	}()
	v, err := ch.Receive(ctx)
	if err != nil || !codec.Identical(v, codec.Str("late")) {
		t.Fatalf("Receive = %v, %v; want the late item", v, err)
	}
	// One wait of leadHold (in slices of at most leadSlice), and perhaps
	// a second round after a spurious wake-up; 50 before the fix.
	if n := conn.waits.Load(); n > 4 {
		t.Fatalf("a Receive waiting %v made %d bounded waits; want it to stop reading after leadHold", silence, n)
	}
}

// TestLongReceiveTimeoutKeepsStream: a Receive that left the reading to
// the receiver goroutine still ends at its deadline, and a frame that
// comes later is not lost.
func TestLongReceiveTimeoutKeepsStream(t *testing.T) {
	g, _, peer := silentPeer(t)
	ch := g.NewChannel()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := ch.Receive(ctx)
	if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, ErrTimeout) {
		t.Fatalf("Receive = %v; want a timeout", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("Receive with a 300 ms deadline returned after %v", d)
	}
	p, _ := codec.Dumps(codec.Int(7))
	if _, err := peer.Write(append(frame.AppendHeader(nil, spec.MsgChannelData, ch.ID(), len(p)), p...)); err != nil {
		t.Fatal(err)
	}
	ctx2, cancel2 := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel2()
	if v, err := ch.Receive(ctx2); err != nil || !codec.Identical(v, codec.Int(7)) {
		t.Fatalf("Receive after the timeout = %v, %v; want 7", v, err)
	}
}
