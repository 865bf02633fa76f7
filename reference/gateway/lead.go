package gateway

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/execnet-conform/execnet-conform/reference/frame"
	"github.com/execnet-conform/execnet-conform/reference/transport"
	"github.com/execnet-conform/execnet-conform/spec"
)

// Who reads the connection.
//
// One goroutine at a time reads frames and dispatches them, in order: it
// holds the read token (readState.busy). Usually that is the gateway's
// receiver goroutine. But handing each item from the receiver goroutine
// to the goroutine blocked in Receive costs a wake-up of another thread
// per item, which dominates a request/reply exchange. So, when the
// connection supports bounded waits (transport.WaitReader: pipes and
// served standard input on Unix), a Receive that finds its queue empty
// and the token free takes the token and reads frames itself, until its
// own item has come. Frames for other channels are dispatched exactly as
// the receiver goroutine would dispatch them, callbacks included, so
// order and semantics do not depend on who reads.
//
// A Receive reads only frames that fit the stream buffer whole (payloads
// under freshMin), and takes a frame only once all of it is buffered: a
// wait that ends because the Receive's context ended leaves the stream
// untouched. Everything else, larger frames, malformed input, errors and
// the end of the stream, is left to the receiver goroutine (handoff),
// which then reads the next frame with the full frame reader and does
// the end-of-connection work.
//
// The receiver goroutine gives way: it takes the token only when no
// Receive has read for bgIdle, when a handoff asks for it, while any
// channel has a callback (whose items no Receive waits for), or right
// away when the connection does not support bounded waits. While it holds the
// token, a Receive waits for its item as before; once a Receive is
// waiting the receiver goroutine gives the token back after the frame in
// hand, so that the next Receive reads by itself.

const (
	// leadSlice bounds one wait of a reading Receive: a cancelled
	// context, or a change of its channel by another goroutine (Close,
	// SetCallback), is noticed within it.
	leadSlice = 20 * time.Millisecond
	// bgIdle: the receiver goroutine takes the connection back once no
	// Receive has read it for this long. It bounds the extra latency of
	// a frame that nobody receives (a callback's item, CHANNEL_EXEC)
	// arriving right after a Receive stopped reading.
	bgIdle = 2 * time.Millisecond
	// leadHold bounds how long a Receive reads the connection waiting
	// for a frame. After it the Receive leaves the reading to the
	// receiver goroutine (a handoff) and waits for its item on its
	// channel: the receiver goroutine waits in slices of 500 ms, where a
	// reading Receive wakes every leadSlice to look at its context, so a
	// master that waits long for a slow worker costs next to no CPU. A
	// request/reply exchange at full pace never reaches it.
	leadHold = 20 * time.Millisecond
)

// yieldEvery: a Receive that keeps reading yields the processor this
// often. A goroutine that runs for 10 ms without passing through the
// scheduler (its waits are system calls, not parks) is preempted by the
// runtime's monitor thread, which then keeps waking every 20 us: a wake-up
// per round trip at full speed.
const yieldEvery = int64(2 * time.Millisecond)

// Internal outcomes of a reading Receive; never returned to callers.
var (
	errLeadStop = errors.New("gateway: the reading Receive's context ended")
	errLeadWake = errors.New("gateway: the reading Receive's channel changed state")
	errHandoff  = errors.New("gateway: frame left to the receiver goroutine")
	errLeadHold = errors.New("gateway: the reading Receive waited leadHold")
)

// readState is the read token and what goes with it.
type readState struct {
	mu       sync.Mutex
	busy     bool          // a goroutine reads the connection
	waiters  int           // Receive calls waiting for the token
	free     chan struct{} // closed when the token is released to waiters
	lastLead int64         // nanotime when a Receive last held or wanted the token
	handoff  bool          // the receiver goroutine reads the next frame
	end      bool          // a Receive met the end of the stream
	endErr   error         // why, nil for GATEWAY_TERMINATE
	kick     chan struct{} // wakes the receiver goroutine; capacity 1
	idle     time.Duration // bgIdle; tests set it longer
}

func (r *readState) init() {
	r.kick = make(chan struct{}, 1)
	r.lastLead = math.MinInt64 / 2
	r.idle = bgIdle
}

// leadSource is what the frame reader's stream buffer reads from: the
// connection itself for the receiver goroutine, bounded waits for a
// Receive (ctx set while it reads).
type leadSource struct {
	conn  io.Reader
	wr    transport.WaitReader // nil: Receive never reads
	ctx   context.Context
	wake  <-chan struct{} // closed when the reading Receive's channel changed state
	until int64           // nanotime at which the reading Receive stops waiting (leadHold)
	// reads counts entries into and returns from reads of the
	// connection, here and through the frame reader's direct path: odd
	// while one is in progress (see watchProcess).
	reads   atomic.Int64
	yielded int64 // nanotime of the last yield (see yieldEvery)
	// yieldFirst: let other goroutines run before a read that may block
	// (see Read).
	yieldFirst bool
}

// Read implements io.Reader.
func (s *leadSource) Read(p []byte) (int, error) {
	s.reads.Add(1)
	defer s.reads.Add(1)
	if s.yieldFirst {
		// A wait outside the network poller (transport.WaitReader) keeps
		// its thread and, with GOMAXPROCS=1 (the Go worker's setting),
		// the only P: a goroutine made runnable just before, such as the
		// execution that the frame just dispatched started, would then
		// wait until the runtime's monitor takes the P back, 20 us to
		// 10 ms later. In a trace of the Go worker serving sequential
		// executions that wait was up to 1.7 ms per execution. Yielding
		// first runs it before the wait; it costs well under a
		// microsecond when nothing else is runnable.
		runtime.Gosched()
	}
	if s.ctx == nil {
		return s.conn.Read(p)
	}
	for {
		if s.ctx.Err() != nil {
			return 0, errLeadStop
		}
		select {
		case <-s.wake:
			return 0, errLeadWake
		default:
		}
		left := time.Duration(s.until - nanotime())
		if left <= 0 {
			return 0, errLeadHold
		}
		d := min(leadSlice, left)
		if dl, ok := s.ctx.Deadline(); ok {
			d = min(d, time.Until(dl))
			if d <= 0 {
				return 0, errLeadStop
			}
		}
		n, err := s.wr.ReadWait(p, d)
		if errors.Is(err, transport.ErrWaitTimeout) {
			continue
		}
		return n, err
	}
}

// nextLead reads one frame for a reading Receive: a complete, well-formed
// frame with a payload under freshMin, left in the stream buffer until
// the next call (as next does). errLeadStop: the context ended first,
// nothing was consumed. errHandoff: the next frame is for the receiver
// goroutine; nothing was consumed.
func (fr *frameReader) nextLead() (f frame.Frame, start int64, err error) {
	if fr.discard > 0 {
		_, _ = fr.r.Discard(fr.discard) // buffered: cannot fail
		fr.discard = 0
	}
	if fr.large {
		return f, 0, errHandoff
	}
	h, err := fr.r.Peek(spec.HeaderSize)
	if err != nil {
		return f, 0, leadErr(err)
	}
	n, ok := fr.leadable(h)
	if !ok {
		return f, 0, errHandoff
	}
	p, err := fr.r.Peek(n)
	if err != nil {
		return f, 0, leadErr(err)
	}
	f = frame.Frame{Code: spec.MsgCode(int8(p[0])), Channel: int32(binary.BigEndian.Uint32(p[1:5]))}
	if n > spec.HeaderSize {
		f.Payload = p[spec.HeaderSize:n:n]
	}
	start = fr.off
	fr.discard = n
	fr.off += int64(n)
	return f, start, nil
}

// leadBatch bounds the frames a reading Receive dispatches after its
// first one without reading (see leadOnce).
const leadBatch = 64

// bufferedFrame reports whether the stream buffer holds the whole next
// frame and nextLead would take it (a known code, a payload under
// freshMin), without reading.
func (fr *frameReader) bufferedFrame() bool {
	if fr.large {
		return false
	}
	avail := fr.r.Buffered() - fr.discard
	if avail < spec.HeaderSize {
		return false
	}
	h, err := fr.r.Peek(fr.discard + spec.HeaderSize) // within what is buffered
	if err != nil {
		return false
	}
	n, ok := fr.leadable(h[fr.discard:])
	return ok && avail >= n
}

// leadable reports whether a reading Receive may take the frame whose
// header is h (a known code, a payload under freshMin and within the
// limit), and the frame's whole size.
func (fr *frameReader) leadable(h []byte) (n int, ok bool) {
	length := int32(binary.BigEndian.Uint32(h[5:9]))
	if !spec.MsgCode(int8(h[0])).Known() || length < 0 || int(length) >= freshMin || int(length) > fr.limit() {
		return 0, false
	}
	return spec.HeaderSize + int(length), true
}

func leadErr(err error) error {
	switch {
	case errors.Is(err, errLeadStop):
		return errLeadStop
	case errors.Is(err, errLeadWake):
		return errLeadWake
	}
	return errHandoff // EOF, a closed connection, a read error: the receiver goroutine reports it
}

// leads reports whether Receive calls may read the connection.
func (g *Gateway) leads() bool { return g.lsrc.wr != nil }

// tryLead takes the read token for a Receive, or registers the caller as
// waiting for it and returns the channel closed when it is released (nil
// once the stream has ended: then only the receiver goroutine's end work
// remains to wait for).
func (g *Gateway) tryLead() (bool, <-chan struct{}) {
	r := &g.rd
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.end {
		return false, nil
	}
	r.lastLead = nanotime()
	if !r.busy && !r.handoff {
		r.busy = true
		return true, nil
	}
	r.waiters++
	if r.free == nil {
		r.free = make(chan struct{})
	}
	return false, r.free
}

// await is one step of a wait for w (a channel's next state change) by
// Receive or WaitClose: it flushes the send queue (what we sent may be
// what the peer answers), then reads and dispatches one frame itself if
// it may take the read token, else waits for w, for the token, or for
// ctx. It reports whether ctx ended; the caller re-checks its condition
// either way.
func (g *Gateway) await(ctx context.Context, w <-chan struct{}) (ctxDone bool) {
	g.flushSoon()
	if g.hookBeforeLead != nil {
		g.hookBeforeLead()
	}
	var free <-chan struct{}
	if g.leads() {
		var led bool
		if led, free = g.tryLead(); led {
			// Whoever read before us may have delivered what we wait
			// for after our caller looked: then reading now could wait
			// for input that only comes once we answer.
			select {
			case <-w:
				g.release(g.callbacks.Load() > 0, false, nil)
				return false
			default:
			}
			if g.leadOnce(ctx, w) != errLeadStop {
				return false // a frame, or w changed: the caller looks
			}
			// The deadline passed by the clock a moment before ctx's
			// own timer fires; callers report ctx.Err().
			<-ctx.Done()
			return true
		}
	}
	select {
	case <-w:
	case <-free:
	case <-ctx.Done():
		ctxDone = true
	}
	if free != nil {
		g.unwait()
	}
	return ctxDone
}

// unwait ends a wait registered by tryLead.
func (g *Gateway) unwait() {
	g.rd.mu.Lock()
	g.rd.waiters--
	g.rd.mu.Unlock()
}

// leadOnce reads and dispatches one frame as a Receive whose context is
// ctx, holding the read token, and releases the token. It returns
// errLeadStop when ctx ended before a frame came, errLeadWake when wake
// was closed (another goroutine closed the channel, set a callback).
func (g *Gateway) leadOnce(ctx context.Context, wake <-chan struct{}) error {
	if now := nanotime(); now-g.lsrc.yielded > yieldEvery {
		// See yieldEvery.
		g.lsrc.yielded = now
		runtime.Gosched()
	}
	g.lsrc.ctx, g.lsrc.wake, g.lsrc.until = ctx, wake, nanotime()+int64(leadHold)
	f, off, err := g.fr.nextLead()
	g.lsrc.ctx, g.lsrc.wake = nil, nil
	var end bool
	var endErr error
	if err == nil {
		stop, derr := g.dispatch(f, off, false)
		end, endErr = stop || derr != nil, derr
		// Frames that are already buffered whole are dispatched under
		// the same token: a stream of small items then costs one
		// token round per buffer fill, not one per item.
		for k := 0; k < leadBatch && !end && g.fr.bufferedFrame(); k++ {
			f, off, err = g.fr.nextLead() // buffered: cannot wait or fail
			if err != nil {
				err = nil
				break
			}
			stop, derr = g.dispatch(f, off, false)
			end, endErr = stop || derr != nil, derr
		}
	}
	// With callbacks about, the receiver goroutine reads as soon as
	// this Receive stops, so that their items are not held back.
	g.release(err == errHandoff || g.callbacks.Load() > 0, end, endErr)
	if err == errLeadStop {
		return err
	}
	return nil
}

// kickReader makes the receiver goroutine read now: at Exit (the end of
// the stream is coming) and when an execution ends (runExec).
func (g *Gateway) kickReader() {
	g.rd.mu.Lock()
	g.rd.handoff = true
	g.rd.mu.Unlock()
	g.rd.wakeReceiver()
}

// wakeReceiver wakes the receiver goroutine if it waits in bgAcquire.
func (r *readState) wakeReceiver() {
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// release gives the read token back, from a Receive or the receiver
// goroutine. handoff makes the receiver goroutine read the next frame;
// end records that the stream has ended (endErr: why, for a Receive that
// met it). Receive calls waiting for the token are woken, and the
// receiver goroutine then gives way to them (lastLead).
func (g *Gateway) release(handoff, end bool, endErr error) {
	r := &g.rd
	r.mu.Lock()
	r.busy = false
	r.handoff = r.handoff || handoff
	if end {
		r.end, r.endErr = true, endErr
	}
	if r.free != nil && (r.waiters > 0 || end) {
		r.lastLead = nanotime()
		close(r.free)
		r.free = nil
	}
	r.mu.Unlock()
	if handoff || end {
		r.wakeReceiver()
	}
}

// bgAcquire takes the read token for the receiver goroutine, waiting
// while Receive calls read (see bgIdle). It returns false once a Receive
// met the end of the stream.
func (g *Gateway) bgAcquire(t *time.Timer) bool {
	r := &g.rd
	for {
		r.mu.Lock()
		if r.end {
			r.mu.Unlock()
			return false
		}
		wait := r.idle
		if !r.busy {
			idle := nanotime() - r.lastLead
			if r.handoff || idle >= int64(r.idle) || g.callbacks.Load() > 0 {
				r.busy, r.handoff = true, false
				r.mu.Unlock()
				return true
			}
			wait = time.Duration(int64(r.idle) - idle)
		}
		r.mu.Unlock()
		t.Reset(wait)
		select {
		case <-r.kick:
			t.Stop()
		case <-t.C:
		}
	}
}
