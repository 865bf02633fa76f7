package gateway

import (
	"context"
	"fmt"
	"time"

	"github.com/execnet-conform/execnet-conform/reference/frame"
	"github.com/execnet-conform/execnet-conform/reference/transport"
	"github.com/execnet-conform/execnet-conform/spec"
)

// ExitStage says what ended a worker during Exit or Group.Terminate.
type ExitStage int

const (
	// StageTerminate: the worker ended by itself after GATEWAY_TERMINATE
	// and the closing of its input.
	StageTerminate ExitStage = iota
	// StageSIGTERM: it needed SIGTERM to its process group.
	StageSIGTERM
	// StageSIGKILL: it needed SIGKILL to its process group.
	StageSIGKILL
	// StageClosed: there is no local process (socket transport) and the
	// peer did not close its end in time, so we closed the connection.
	StageClosed
	// StageUnreaped: even SIGKILL did not let us reap the process within
	// the bound (should not happen on a sane system).
	StageUnreaped
	// StageStreamHeld: the worker process exited, but its connection
	// stayed open (a process it left behind holds it, ErrStreamHeldOpen):
	// we closed it and killed the worker's process group.
	StageStreamHeld
)

// String describes ExitStage for logs and messages.
func (s ExitStage) String() string {
	switch s {
	case StageTerminate:
		return "GATEWAY_TERMINATE"
	case StageSIGTERM:
		return "SIGTERM"
	case StageSIGKILL:
		return "SIGKILL"
	case StageClosed:
		return "connection closed"
	case StageUnreaped:
		return "unreaped"
	case StageStreamHeld:
		return "connection held open"
	}
	return fmt.Sprintf("ExitStage(%d)", int(s))
}

// killWait bounds the wait for reaping after SIGKILL.
const killWait = 5 * time.Second

// closeWait bounds the wait for the receiver goroutine once the
// connection is closed. Closing unblocks reads on sockets and pollable
// pipes at once; a Conn whose Close cannot interrupt a Read (a blocking
// file descriptor) leaves the receiver goroutine behind after this bound.
const closeWait = 2 * time.Second

// waitBounded waits for c to be closed, at most d.
func waitBounded(c <-chan struct{}, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-c:
		return true
	case <-t.C:
		return false
	}
}

// ForcedExitError is returned by Exit when the worker did not end by
// itself after GATEWAY_TERMINATE.
type ForcedExitError struct {
	Gateway string
	Pid     int
	Stage   ExitStage
	Grace   time.Duration
}

// Error implements error.
func (e *ForcedExitError) Error() string {
	if e.Stage == StageUnreaped {
		return fmt.Sprintf("worker %s (pid %d) could not be reaped even after SIGKILL", e.Gateway, e.Pid)
	}
	if e.Stage == StageStreamHeld {
		return fmt.Sprintf("worker %s (pid %d) exited, but its connection stayed open %s after GATEWAY_TERMINATE (a process it left behind holds it); closed it and killed its process group", e.Gateway, e.Pid, e.Grace)
	}
	if e.Stage == StageClosed {
		return fmt.Sprintf("worker %s did not close the connection within %s of GATEWAY_TERMINATE; closed it", e.Gateway, e.Grace)
	}
	return fmt.Sprintf("worker %s (pid %d) did not exit within %s of GATEWAY_TERMINATE; ended by %s", e.Gateway, e.Pid, e.Grace, e.Stage)
}

// Unwrap returns ErrStreamHeldOpen for StageStreamHeld, else nil.
func (e *ForcedExitError) Unwrap() error {
	if e.Stage == StageStreamHeld {
		return ErrStreamHeldOpen
	}
	return nil
}

// Exit ends the gateway and its worker: it sends GATEWAY_TERMINATE, closes
// its sending half, and waits (bounded by ctx and the exit grace, default
// 2s) for the receiver to end and the process to exit. If the worker is
// still alive it sends SIGTERM to its process group and waits the grace
// again, then SIGKILL and waits for the reap (at most 5s). A worker
// process that exits while its connection stays open (a process it left
// behind holds the stream) ends in StageStreamHeld: Exit closes the
// connection and kills the worker's process group. Once the worker is
// reaped, Exit also kills what is left of its process group (processes
// it started and left behind, transport.GroupKiller). It returns nil
// when the worker ended by itself, else a *ForcedExitError naming the
// stage. The process is always reaped. Exit may be called more than once;
// later calls return the first result.
func (g *Gateway) Exit(ctx context.Context) error {
	_, err := g.Shutdown(ctx, g.cfg.exitGrace)
	return err
}

// Shutdown is Exit with an explicit per-stage grace; it also returns the
// stage that ended the worker.
func (g *Gateway) Shutdown(ctx context.Context, grace time.Duration) (ExitStage, error) {
	g.exitOnce.Do(func() {
		g.exitStage, g.exitErr = g.shutdown(ctx, grace)
	})
	return g.exitStage, g.exitErr
}

func (g *Gateway) shutdown(ctx context.Context, grace time.Duration) (ExitStage, error) {
	g.mu.Lock()
	g.exiting = true
	g.mu.Unlock()
	g.kickReader() // the receiver goroutine reads the end from now on
	tctx, cancel := context.WithTimeout(ctx, grace)
	defer cancel()
	// The farewell runs on its own goroutine: a worker that does not read
	// its input could block the write for good (not every Conn supports
	// write deadlines). Signals or closing the connection unblock it.
	farewell := make(chan struct{})
	go func() {
		defer close(farewell)
		g.farewell()
	}()
	defer func() {
		_ = g.conn.Close()
		waitBounded(farewell, closeWait)
	}()

	stage := StageTerminate
	if g.proc == nil {
		select {
		case <-g.recvDone:
		case <-tctx.Done():
			stage = StageClosed
		}
		_ = g.conn.Close()
		waitBounded(g.done, closeWait)
		if stage != StageTerminate {
			return stage, &ForcedExitError{Gateway: g.id, Stage: stage, Grace: grace}
		}
		return stage, nil
	}

	ok := g.waitEnd(tctx)
	if !ok {
		stage = StageSIGTERM
		_ = g.proc.Terminate()
		c2, cancel2 := context.WithTimeout(context.Background(), grace)
		ok = g.waitEnd(c2)
		cancel2()
	}
	if !ok {
		stage = StageSIGKILL
		_ = g.proc.Kill()
		c3, cancel3 := context.WithTimeout(context.Background(), killWait)
		ok = g.waitEnd(c3)
		cancel3()
		if !ok {
			stage = StageUnreaped
		}
	}
	_ = g.conn.Close() // unblocks the receiver if a grandchild holds the pipe
	if gk, ok := g.proc.(transport.GroupKiller); ok && stage != StageUnreaped {
		// The worker is reaped: what is left of its process group are
		// processes it started and left behind, detached from the
		// stream or not.
		_ = gk.KillGroup()
	}
	waitBounded(g.done, closeWait)
	if stage == StageTerminate && g.heldOpen.Load() {
		stage = StageStreamHeld
	}
	if stage != StageTerminate {
		return stage, &ForcedExitError{Gateway: g.id, Pid: g.Pid(), Stage: stage, Grace: grace}
	}
	return stage, nil
}

// farewell sends GATEWAY_TERMINATE (a master only: a worker ends by
// closing) and closes the sending half, holding the write lock throughout
// so that no frame can follow the GATEWAY_TERMINATE.
func (g *Gateway) farewell() {
	g.wsem <- struct{}{}
	defer func() { <-g.wsem }()
	g.closeQueue() // queued frames go before GATEWAY_TERMINATE
	g.mu.Lock()
	already := g.wclosed
	g.wclosed = true
	g.mu.Unlock()
	if already {
		return
	}
	if g.role == Master {
		var b [spec.HeaderSize]byte
		_, _ = g.conn.Write(frame.AppendHeader(b[:0], spec.MsgGatewayTerminate, 0, 0))
	}
	_ = g.conn.CloseWrite()
}

// waitEnd waits for the process to exit (and be reaped) and for the
// receiver to stop reading.
func (g *Gateway) waitEnd(ctx context.Context) bool {
	st, err := g.proc.Wait(ctx)
	if err != nil {
		return false
	}
	g.mu.Lock()
	g.status, g.statusOK = st, true
	g.mu.Unlock()
	select {
	case <-g.recvDone:
		return true
	case <-ctx.Done():
		// The process is gone but something else holds the stream open:
		// closing our side ends the receiver, and what holds it is a
		// process the worker left behind, in its group.
		g.heldOpen.Store(true)
		_ = g.conn.Close()
		_ = g.proc.Kill()
		waitBounded(g.recvDone, closeWait)
		return true
	}
}
