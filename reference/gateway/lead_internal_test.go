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

// TestNextExecNeedsNoReceive: when an execution ends, the worker's
// receiver goroutine must read the next frame at once, because nothing
// else will: a new CHANNEL_EXEC is no Receive's item. Each execution here
// reads the pipe itself for its item (the master sends it only once the
// execution's Receive wants the read token), and the receiver goroutine's
// idle wait is stretched to an hour, so without the fix each execution
// after the first would wait that long for it. (Before the fix it waited
// bgIdle, 2 ms per execution: a Python master calling remote_exec in a
// loop got one execution per 2.5 ms from the Go worker, against 0.5 ms
// from a Python worker.)
func TestNextExecNeedsNoReceive(t *testing.T) {
	toWorkerR, toWorkerW := waitPipe(t)
	toMasterR, toMasterW := waitPipe(t)
	started := make(chan struct{}, 1)
	echo := ExecutorFunc(func(ctx context.Context, ch *Channel, e Exec) error {
		started <- struct{}{}
		v, err := ch.Receive(ctx)
		if err != nil {
			return err
		}
		return ch.Send(ctx, v)
	})
	worker := New(&waitPipeConn{WaitFile: toWorkerR, w: toMasterW}, Worker, WithExecutor(echo))
	worker.rd.mu.Lock()
	worker.rd.idle = time.Hour
	worker.rd.mu.Unlock()
	master := New(&waitPipeConn{WaitFile: toMasterR, w: toWorkerW}, Master)
	lastLead := func() int64 {
		worker.rd.mu.Lock()
		defer worker.rd.mu.Unlock()
		return worker.rd.lastLead
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for i := range 3 {
		before := lastLead()
		ch, err := master.RemoteExec(ctx, Exec{Source: "echo"})
		if err != nil {
			t.Fatal(err)
		}
		select {
		case <-started:
		case <-ctx.Done():
			t.Fatalf("execution %d never started: the worker's receiver goroutine did not read the CHANNEL_EXEC", i)
		}
		for lastLead() == before { // until the execution's Receive wants the token
			if ctx.Err() != nil {
				t.Fatalf("execution %d: its Receive never asked for the read token", i)
			}
			time.Sleep(100 * time.Microsecond)
		}
		if err := ch.Send(ctx, codec.Int(i)); err != nil {
			t.Fatal(err)
		}
		v, err := ch.Receive(ctx)
		if err != nil || !codec.Identical(v, codec.Int(i)) {
			t.Fatalf("execution %d: got %v, %v; want %d back", i, v, err, i)
		}
		if err := ch.WaitClose(ctx); err != nil {
			t.Fatalf("execution %d: WaitClose: %v", i, err)
		}
	}
	if err := master.Exit(ctx); err != nil {
		t.Fatalf("Exit: %v", err)
	}
	select {
	case <-worker.Done():
	case <-ctx.Done():
		t.Fatal("worker gateway did not end after the master's Exit")
	}
}
