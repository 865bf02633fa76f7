package gateway

import (
	"context"
	"encoding/binary"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/execnet-conform/execnet-conform/reference/codec"
	"github.com/execnet-conform/execnet-conform/reference/transport"
	"github.com/execnet-conform/execnet-conform/spec"
)

// flusherSpy is a waitPipeConn that records whether a write of a
// CHANNEL_CLOSE frame came from the send queue's flusher goroutine.
type flusherSpy struct {
	waitPipeConn
	mu         sync.Mutex
	viaFlusher int
	closes     int
}

func (c *flusherSpy) Write(p []byte) (int, error) {
	for off := 0; off+spec.HeaderSize <= len(p); {
		code := spec.MsgCode(p[off])
		length := int(binary.BigEndian.Uint32(p[off+5:]))
		if code == spec.MsgChannelClose {
			c.mu.Lock()
			c.closes++
			if strings.Contains(string(debug.Stack()), "(*Gateway).flusher") {
				c.viaFlusher++
			}
			c.mu.Unlock()
		}
		off += spec.HeaderSize + length
	}
	return c.waitPipeConn.Write(p)
}

// TestExecCloseNotQueued: the CHANNEL_CLOSE that ends a remote execution
// is written by the execution's own goroutine, not handed to the send
// queue's flusher goroutine (a hand-off the master waits for on every
// execution: with the worker's single P, until the next reschedule).
// Each execution here echoes one item and ends at once, so its close
// follows the reply within the queue's stream window.
func TestExecCloseNotQueued(t *testing.T) {
	toWorkerR, toWorkerW := waitPipe(t)
	toMasterR, toMasterW := waitPipe(t)
	echo := ExecutorFunc(func(ctx context.Context, ch *Channel, e Exec) error {
		v, err := ch.Receive(ctx)
		if err != nil {
			return err
		}
		return ch.Send(ctx, v)
	})
	spy := &flusherSpy{waitPipeConn: waitPipeConn{WaitFile: toWorkerR, w: toMasterW}}
	worker := New(spy, Worker, WithExecutor(echo))
	master := New(&waitPipeConn{WaitFile: toMasterR, w: toWorkerW}, Master)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	const n = 50
	echoExecs(ctx, t, master, n)
	master.Exit(ctx)
	worker.Exit(ctx)
	spy.mu.Lock()
	defer spy.mu.Unlock()
	if spy.closes < n {
		t.Fatalf("saw %d CHANNEL_CLOSE frames from the worker, want %d", spy.closes, n)
	}
	if spy.viaFlusher > 0 {
		t.Errorf("%d of %d execution-ending CHANNEL_CLOSE frames went through the flusher goroutine", spy.viaFlusher, spy.closes)
	}
}

// goroutineID returns the number the runtime gives the calling goroutine
// (the first line of its stack dump), for tests only.
func goroutineID() string {
	var b [64]byte
	line, _, _ := strings.Cut(string(b[:runtime.Stack(b[:], false)]), "[")
	return strings.TrimSpace(line)
}

// TestExecGoroutineReused: executions that come one after another run
// on the goroutine that ran the one before (runExecs), not on a new
// goroutine each, whose stack the first Receive grows by copying.
func TestExecGoroutineReused(t *testing.T) {
	toWorkerR, toWorkerW := waitPipe(t)
	toMasterR, toMasterW := waitPipe(t)
	var mu sync.Mutex
	ran := map[string]int{}
	echo := ExecutorFunc(func(ctx context.Context, ch *Channel, e Exec) error {
		mu.Lock()
		ran[goroutineID()]++
		mu.Unlock()
		v, err := ch.Receive(ctx)
		if err != nil {
			return err
		}
		return ch.Send(ctx, v)
	})
	worker := New(&waitPipeConn{WaitFile: toWorkerR, w: toMasterW}, Worker, WithExecutor(echo))
	master := New(&waitPipeConn{WaitFile: toMasterR, w: toWorkerW}, Master)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	const n = 40
	echoExecs(ctx, t, master, n)
	master.Exit(ctx)
	worker.Exit(ctx)
	mu.Lock()
	defer mu.Unlock()
	// The next CHANNEL_EXEC can come before the goroutine of the last
	// execution waits for it (the close went out just before), so a few
	// new goroutines are allowed, not one per execution.
	if len(ran) > n/4 {
		t.Errorf("%d executions ran on %d goroutines, want at most %d", n, len(ran), n/4)
	}
}

// waitPipe makes an OS pipe whose read end is a transport.WaitFile, the
// shape a popen worker's stdin has.
func waitPipe(t *testing.T) (*transport.WaitFile, *os.File) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	wf, err := transport.NewWaitFile(r)
	if err != nil {
		t.Fatal(err)
	}
	return wf, w
}

// echoExecs runs n remote executions one after another from master, each
// sending one item, reading its echo and waiting for the close.
func echoExecs(ctx context.Context, t *testing.T, master *Gateway, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		ch, err := master.RemoteExec(ctx, Exec{Source: "echo"})
		if err != nil {
			t.Fatal(err)
		}
		if err := ch.Send(ctx, codec.Int(i)); err != nil {
			t.Fatal(err)
		}
		if _, err := ch.Receive(ctx); err != nil {
			t.Fatal(err)
		}
		if err := ch.WaitClose(ctx); err != nil {
			t.Fatal(err)
		}
	}
}
