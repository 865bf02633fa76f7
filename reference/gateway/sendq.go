package gateway

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/execnet-conform/execnet-conform/reference/codec"
	"github.com/execnet-conform/execnet-conform/reference/frame"
	"github.com/execnet-conform/execnet-conform/spec"
)

// The send path.
//
// Small frames are encoded straight into a queue of complete frames and
// Send returns at once; a flush goroutine, started when the queue goes
// from empty to non-empty, writes everything queued with one Write. A
// program that sends many small items in a row therefore costs one
// system call per batch instead of one per item, and a lone round trip
// costs one Write as before. Frames never interleave: each is appended
// whole under qmu, and the queue is written whole under the write lock.
//
// Writes that must not wait in the queue go out synchronously under the
// write lock, after everything queued before them: frames once the queue
// holds queueMax bytes (this bounds the queue's memory and gives
// back-pressure bounded by the Send context), frames over bigFrame, and
// large bytes items, which are written from the caller's slice without
// being copied.

const (
	// queueMax is the size at which Send stops queueing and writes
	// synchronously (after flushing the queue).
	queueMax = 256 << 10
	// bigFrame: a frame larger than this is never left in the queue; its
	// Send writes it before returning.
	bigFrame = 256 << 10
	// directMin is the smallest bytes item written without a copy.
	directMin = 256 << 10
	// spareMax is the largest queue buffer kept for reuse.
	spareMax = 1 << 20
	// streamGap: a frame sent within this many nanoseconds of the
	// previous one is queued; after a longer pause it is written at once.
	streamGap = 20_000
)

// clockBase makes nanotime's readings monotonic (time.Since uses the
// monotonic clock).
var clockBase = time.Now()

func nanotime() int64 { return int64(time.Since(clockBase)) }

// enqueue appends the frame (code, id, v) to the send queue. queued is
// false when the frame must go out synchronously instead: the queue is
// full, closed or broken, or the frame follows a pause. A frame over
// bigFrame is written before enqueue returns.
func (g *Gateway) enqueue(ctx context.Context, code spec.MsgCode, id int32, v codec.Value) (queued bool, err error) {
	now := nanotime()
	g.qmu.Lock()
	last := g.qlast
	g.qlast = now
	reply := g.replied.Swap(false)
	if g.qerr != nil || g.qclosed || len(g.queue) >= queueMax ||
		(len(g.queue) == 0 && !g.qflush && (now-last > streamGap || reply)) {
		// A frame after a pause, or the first one after Receive
		// returned an item (a reply), goes out at once on the caller's
		// goroutine: a request or a reply costs no goroutine hand-off.
		// Frames in quick succession are a stream, and are batched.
		g.qmu.Unlock()
		return false, nil
	}
	start := len(g.queue)
	q := frame.AppendHeader(g.queue, code, id, 0)
	if v != nil {
		q, err = codec.AppendDumps(q, v)
		if err != nil {
			g.queue = q[:start]
			g.qmu.Unlock()
			return true, fmt.Errorf("gateway %s: %s on channel %d: %w", g.id, code, id, err)
		}
		n := len(q) - start - spec.HeaderSize
		if int64(n) > 1<<31-1 {
			g.queue = q[:start]
			g.qmu.Unlock()
			return true, fmt.Errorf("gateway %s: %s on channel %d: %w", g.id, code, id, frame.ErrPayloadTooLong)
		}
		binary.BigEndian.PutUint32(q[start+5:], uint32(n))
	}
	if len(q)-start > bigFrame {
		// A big frame is not left behind: it leaves the queue and the
		// Send writes it (after the queue) under its context, as any
		// unqueued frame. Only values other than bytes get here (large
		// bytes items never enter the queue), so the copy is rare.
		f := append([]byte(nil), q[start:]...)
		g.queue = q[:start]
		g.qmu.Unlock()
		return true, g.writeSync(ctx, code, id, f, nil)
	}
	g.queue = q
	start2 := !g.qflush
	g.qflush = true
	g.qmu.Unlock()
	if start2 {
		go g.flusher()
	}
	return true, nil
}

// flusher writes the queue until it is empty.
func (g *Gateway) flusher() {
	g.wsem <- struct{}{}
	_ = g.drainLocked(true)
	<-g.wsem
}

// drainLocked writes every queued frame; the write lock is held. With
// flusher set it also clears qflush once the queue is empty (or broken),
// in the same critical section, so that the next enqueue starts a new
// flusher.
func (g *Gateway) drainLocked(flusher bool) error {
	for {
		g.qmu.Lock()
		if err := g.qerr; err != nil || len(g.queue) == 0 {
			if flusher {
				g.qflush = false
			}
			g.qmu.Unlock()
			return err
		}
		buf := g.queue
		g.queue, g.spare = g.spare[:0], nil
		g.qmu.Unlock()
		n, err := g.conn.Write(buf)
		if err != nil && n > 0 && n < len(buf) {
			// A partial batch: the stream can never carry another frame.
			_ = g.conn.Close()
		}
		g.qmu.Lock()
		if cap(buf) <= spareMax {
			g.spare = buf[:0]
		}
		if err != nil && g.qerr == nil {
			g.qerr = err
			g.queue = nil
		}
		g.qmu.Unlock()
	}
}

// closeQueue stops queueing (the write half is closing) and writes what
// is queued; the write lock is held. Frames sent afterwards take the
// synchronous path, which reports the closed gateway.
func (g *Gateway) closeQueue() {
	g.qmu.Lock()
	g.qclosed = true
	g.qmu.Unlock()
	_ = g.drainLocked(false)
}

// flushSoon writes the queue now on the calling goroutine if nobody else
// is writing, instead of waiting for the flush goroutine to be scheduled.
// Receive calls it before it blocks, so that a request reaches the peer
// without a goroutine hand-off.
func (g *Gateway) flushSoon() {
	g.qmu.Lock()
	pending := len(g.queue) > 0 && g.qerr == nil
	g.qmu.Unlock()
	if !pending {
		return
	}
	select {
	case g.wsem <- struct{}{}:
		_ = g.drainLocked(false)
		<-g.wsem
	default: // a writer holds the lock and drains the queue after its write
	}
}

// sendValue encodes v as the payload of one frame and sends it.
func (g *Gateway) sendValue(ctx context.Context, code spec.MsgCode, id int32, v codec.Value) error {
	if b, ok := v.(codec.Bytes); ok && len(b) >= directMin && len(b) <= 1<<31-1-6 {
		return g.writeSync(ctx, code, id, nil, b)
	}
	if queued, err := g.enqueue(ctx, code, id, v); queued {
		return err
	}
	bp := bufPool.Get().(*[]byte)
	buf := frame.AppendHeader((*bp)[:0], code, id, 0)
	buf, err := codec.AppendDumps(buf, v)
	if err != nil {
		*bp = buf[:0]
		bufPool.Put(bp)
		return fmt.Errorf("gateway %s: %s on channel %d: %w", g.id, code, id, err)
	}
	n := len(buf) - spec.HeaderSize
	if int64(n) > 1<<31-1 {
		return fmt.Errorf("gateway %s: %s on channel %d: %w", g.id, code, id, frame.ErrPayloadTooLong)
	}
	frame.AppendHeader(buf[:0], code, id, n)
	err = g.writeSync(ctx, code, id, buf, nil)
	if cap(buf) <= maxPooled {
		*bp = buf[:0]
		bufPool.Put(bp)
	}
	return err
}

// sendEmpty sends a frame with an empty payload.
func (g *Gateway) sendEmpty(ctx context.Context, code spec.MsgCode, id int32) error {
	if queued, err := g.enqueue(ctx, code, id, nil); queued {
		return err
	}
	var b [spec.HeaderSize]byte
	return g.writeSync(ctx, code, id, frame.AppendHeader(b[:0], code, id, 0), nil)
}

type writeDeadliner interface{ SetWriteDeadline(time.Time) error }

// writeSync writes one complete frame under the write lock, after every
// queued frame: b, or, when blob is not nil, the frame of channel id
// whose payload is the bytes value blob, written from blob itself. A
// deadline on ctx bounds the wait for the lock and, when the connection
// supports write deadlines, the writes.
func (g *Gateway) writeSync(ctx context.Context, code spec.MsgCode, id int32, b, blob []byte) error {
	return g.writeFrame(ctx, code, id, b, blob, nil)
}

// writeFrame is writeSync; when file is not nil, the frame's payload is
// the bytes value of file's content, written by file.write (sendfile.go)
// between the prefix and STOP (blob is then ignored).
func (g *Gateway) writeFrame(ctx context.Context, code spec.MsgCode, id int32, b, blob []byte, file *fileBody) error {
	if ctx == nil {
		ctx = context.Background()
	}
	select {
	case g.wsem <- struct{}{}:
	case <-ctx.Done():
		return ctxErr(ctx, "sending "+code.String())
	}
	defer func() { <-g.wsem }()
	g.mu.Lock()
	wclosed := g.wclosed
	g.mu.Unlock()
	if wclosed {
		if err := g.Err(); err != nil {
			return err
		}
		return fmt.Errorf("gateway %s: cannot send %s: %w", g.id, code, ErrGatewayClosed)
	}
	if dl, ok := ctx.Deadline(); ok {
		if wd, ok := g.conn.(writeDeadliner); ok && wd.SetWriteDeadline(dl) == nil {
			defer wd.SetWriteDeadline(time.Time{})
		}
	}
	g.qmu.Lock()
	broken := g.qerr
	g.qmu.Unlock()
	if broken != nil {
		// An earlier write failed: the stream may hold part of a frame.
		if err := g.Err(); err != nil {
			return err
		}
		return fmt.Errorf("gateway %s: cannot send %s: an earlier write failed (%v): %w", g.id, code, broken, ErrGatewayClosed)
	}
	if err := g.drainLocked(false); err != nil {
		return g.writeErr(ctx, code, err)
	}
	parts := [3][]byte{b}
	if blob != nil || file != nil {
		size := len(blob)
		if file != nil {
			size = int(file.n)
		}
		h := frame.AppendHeader(g.wscratch[:0], code, id, size+6)
		h = append(h, byte(spec.OpBytes))
		h = binary.BigEndian.AppendUint32(h, uint32(size))
		parts = [3][]byte{h, blob, append(g.wscratch[len(h):len(h)], byte(spec.OpStop))}
	}
	written := int64(0)
	for i, p := range parts {
		var n int
		var err error
		switch {
		case i == 1 && file != nil:
			var k int64
			k, err = file.write(g.conn)
			written += k
		case len(p) == 0:
			continue
		default:
			n, err = g.conn.Write(p)
		}
		written += int64(n)
		if err != nil {
			if written > 0 {
				// Part of a frame went out (a write deadline hit while the
				// peer was not reading): the stream can never carry another
				// frame, so tear the connection down rather than corrupt it.
				_ = g.conn.Close()
			}
			g.qmu.Lock()
			if g.qerr == nil {
				g.qerr, g.queue = err, nil
			}
			g.qmu.Unlock()
			return g.writeErr(ctx, code, err)
		}
	}
	return nil
}

// writeErr turns a failed write into the error Send reports.
func (g *Gateway) writeErr(ctx context.Context, code spec.MsgCode, err error) error {
	if ctx.Err() != nil {
		return ctxErr(ctx, "sending "+code.String())
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		// The deadline taken from ctx can fire just before ctx's own
		// timer does.
		return &TimeoutError{Op: "sending " + code.String()}
	}
	if lost := g.Err(); lost != nil {
		return lost
	}
	return fmt.Errorf("gateway %s: writing %s frame: %w (%w)", g.id, code, err, ErrGatewayClosed)
}
