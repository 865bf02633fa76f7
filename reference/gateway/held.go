package gateway

import (
	"context"
	"errors"
	"io"
	"sync/atomic"
	"time"
)

// ErrStreamHeldOpen is the cause of a *ConnectionLostError, and is
// matched by the *ForcedExitError of Exit, when the worker process exited
// but its connection did not end: a process it left behind (a child that
// inherited its output) holds the stream open. The gateway closes the
// connection and kills the worker's process group.
var ErrStreamHeldOpen = errors.New("the worker process exited but its connection stayed open (a process it left behind holds it)")

// heldWait is how long the stream of a worker whose process has exited
// may stay open with nobody writing to it, while the gateway waits in a
// read, before the gateway decides that a leftover process holds it.
const heldWait = 500 * time.Millisecond

// countedReader counts its reads in progress like leadSource does (the
// frame reader's direct path around the stream buffer).
type countedReader struct {
	r     io.Reader
	reads *atomic.Int64
}

func (c *countedReader) Read(p []byte) (int, error) {
	c.reads.Add(1)
	defer c.reads.Add(1)
	return c.r.Read(p)
}

// watchProcess runs while a master gateway with a local process is open.
// Once the process has exited, the stream ends soon after, unless a
// process the worker left behind holds its output open: then nothing
// ever comes again and a Receive would wait out its whole deadline. So
// when the gateway has been waiting in one read of the connection for
// heldWait after the exit, with no byte arriving (a read that returns,
// even with bytes, starts the wait again, so a stream still draining is
// never cut), watchProcess records ErrStreamHeldOpen, closes the
// connection, which ends the receiver and every waiting Receive, and
// kills the worker's process group.
func (g *Gateway) watchProcess() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-g.recvDone:
			cancel()
		case <-ctx.Done():
		}
	}()
	st, err := g.proc.Wait(ctx)
	if err != nil {
		return // the stream ended first
	}
	g.mu.Lock()
	g.status, g.statusOK = st, true
	g.mu.Unlock()
	t := time.NewTimer(heldWait)
	defer t.Stop()
	last := g.lsrc.reads.Load()
	for {
		select {
		case <-g.recvDone:
			return
		case <-t.C:
		}
		now := g.lsrc.reads.Load()
		if now == last && now%2 == 1 {
			// In the same read for heldWait: nothing is coming.
			g.heldOpen.Store(true)
			_ = g.conn.Close()
			_ = g.proc.Kill()
			return
		}
		last = now
		t.Reset(heldWait)
	}
}
