//go:build unix

package gateway

import (
	"context"
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

// waitPipeConn is a transport.Conn over two pipes whose read end is a
// transport.WaitFile, so that Receive reads it itself; the test plays the
// peer.
type waitPipeConn struct {
	*transport.WaitFile
	w *os.File
}

func (c *waitPipeConn) Write(p []byte) (int, error) { return c.w.Write(p) }
func (c *waitPipeConn) CloseWrite() error           { return c.w.Close() }
func (c *waitPipeConn) Close() error                { c.w.Close(); return c.WaitFile.Close() }
func (c *waitPipeConn) Process() transport.Process  { return nil }

// TestReceiveTakingTokenAfterDelivery: a Receive that found its queue
// empty, and gets the read token only after another reader delivered its
// item, must return the item instead of reading, because the peer sends
// nothing more until it is answered. (This hung once; the difffuzz test
// caught it under load.)
func TestReceiveTakingTokenAfterDelivery(t *testing.T) {
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

	g := New(&waitPipeConn{WaitFile: wf, w: outW}, Master)
	a, b := g.NewChannel(), g.NewChannel()
	dataFrame := func(id int32, v codec.Value) []byte {
		p, err := codec.Dumps(v)
		if err != nil {
			t.Fatal(err)
		}
		return append(frame.AppendHeader(nil, spec.MsgChannelData, id, len(p)), p...)
	}

	// a's Receive, once it found its queue empty, has the peer send a's
	// and b's items in one write, and waits until b's Receive (which
	// holds the read token) has delivered both and returned, before it
	// tries the token itself.
	var armed atomic.Bool
	bReturned := make(chan struct{})
	g.hookBeforeLead = func() {
		if !armed.CompareAndSwap(true, false) {
			return
		}
		if _, err := inW.Write(append(dataFrame(a.ID(), codec.Str("for a")), dataFrame(b.ID(), codec.Str("for b"))...)); err != nil {
			t.Error(err)
		}
		<-bReturned
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	go func() {
		defer close(bReturned)
		if v, err := b.Receive(ctx); err != nil || !codec.Identical(v, codec.Str("for b")) {
			t.Errorf("b got %v, %v", v, err)
		}
	}()
	for { // until b's Receive reads
		g.rd.mu.Lock()
		busy := g.rd.busy
		g.rd.mu.Unlock()
		if busy {
			break
		}
		time.Sleep(time.Millisecond)
	}
	armed.Store(true)
	actx, acancel := context.WithTimeout(ctx, 3*time.Second)
	v, err := a.Receive(actx)
	acancel()
	if err != nil || !codec.Identical(v, codec.Str("for a")) {
		t.Errorf("a got %v, %v; want its item, delivered before it took the read token", v, err)
	}

	inW.Close() // EOF: the gateway ends
	select {
	case <-g.Done():
	case <-ctx.Done():
		t.Fatal("gateway did not end after EOF")
	}
	<-drained
	outR.Close()
}
