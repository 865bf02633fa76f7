package gateway

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/execnet-conform/execnet-conform/reference/codec"
)

// MultiChannel handles several channels as one, like execnet's
// MultiChannel: send the same item to each, receive one item from each,
// merge everything they receive into one queue, or wait until all of them
// have finished. The channels may belong to different gateways. Make one
// with Group.RemoteExec (one channel per gateway of the group) or
// NewMultiChannel.
//
// A MultiChannel is safe for concurrent use. Once ReceiveQueue has been
// called, every channel has a callback, so ReceiveEach fails with
// ErrHasCallback.
type MultiChannel struct {
	chans []*Channel

	mu sync.Mutex
	q  *receiveQueue
}

// NewMultiChannel returns a MultiChannel over chans, in that order.
func NewMultiChannel(chans ...*Channel) *MultiChannel {
	return &MultiChannel{chans: append([]*Channel(nil), chans...)}
}

// RemoteExec starts e on every gateway of the group, in group order, and
// returns the channels as one MultiChannel. If any start fails, the
// channels already started are closed and the errors are returned.
func (gr *Group) RemoteExec(ctx context.Context, e Exec) (*MultiChannel, error) {
	gws := gr.Gateways()
	chans := make([]*Channel, 0, len(gws))
	for _, g := range gws {
		ch, err := g.RemoteExec(ctx, e)
		if err != nil {
			for _, c := range chans {
				_ = c.Close()
			}
			return nil, fmt.Errorf("group remote exec on %s: %w", g.ID(), err)
		}
		chans = append(chans, ch)
	}
	return NewMultiChannel(chans...), nil
}

// RemoteExecSource is RemoteExec of Python source, normalised as
// Gateway.RemoteExecSource does.
func (gr *Group) RemoteExecSource(ctx context.Context, src string) (*MultiChannel, error) {
	return gr.RemoteExec(ctx, Exec{Source: Dedent(src)})
}

// Channels returns the channels in order.
func (m *MultiChannel) Channels() []*Channel { return append([]*Channel(nil), m.chans...) }

// Len returns the number of channels.
func (m *MultiChannel) Len() int { return len(m.chans) }

// SendEach sends v on every channel, in order. It tries every channel
// even when one fails, and returns the failures joined (nil if none).
func (m *MultiChannel) SendEach(ctx context.Context, v codec.Value) error {
	var errs []error
	for _, ch := range m.chans {
		if err := ch.Send(ctx, v); err != nil {
			errs = append(errs, fmt.Errorf("send on %s of %s: %w", ch, ch.gw.ID(), err))
		}
	}
	return errors.Join(errs...)
}

// Received is one item a channel of a MultiChannel received, or that
// channel's end marker in a receive queue.
type Received struct {
	Channel *Channel
	Value   codec.Value
}

// ReceiveEach receives one item from every channel, in channel order,
// and returns them in that order. It stops at the first failure (see
// Channel.Receive), returning the items received so far and the error,
// which names the channel. ctx bounds the whole call.
func (m *MultiChannel) ReceiveEach(ctx context.Context) ([]codec.Value, error) {
	rs, err := m.ReceiveEachWithChannel(ctx)
	out := make([]codec.Value, len(rs))
	for i, r := range rs {
		out[i] = r.Value
	}
	return out, err
}

// ReceiveEachWithChannel is ReceiveEach with each item paired with its
// channel.
func (m *MultiChannel) ReceiveEachWithChannel(ctx context.Context) ([]Received, error) {
	out := make([]Received, 0, len(m.chans))
	for _, ch := range m.chans {
		v, err := ch.Receive(ctx)
		if err != nil {
			return out, fmt.Errorf("receive on %s of %s: %w", ch, ch.gw.ID(), err)
		}
		out = append(out, Received{Channel: ch, Value: v})
	}
	return out, nil
}

// WaitClose waits until every channel has finished (see
// Channel.WaitClose) and then returns the first error in channel order:
// a *RemoteError the peer closed a channel with, or why a gateway's
// connection ended. ctx bounds the whole wait; when it ends first, the
// context error is returned.
//
// After ReceiveQueue, remote errors are not in the queue (execnet's queue
// carries none either); WaitClose still reports them.
func (m *MultiChannel) WaitClose(ctx context.Context) error {
	var first error
	for _, ch := range m.chans {
		err := ch.WaitClose(ctx)
		if err == nil {
			continue
		}
		if ctx.Err() != nil {
			return err
		}
		if first == nil {
			first = fmt.Errorf("%s of %s: %w", ch, ch.gw.ID(), err)
		}
	}
	return first
}

// Close closes every channel (see Channel.Close) and stops a receive
// queue: items not yet taken from it are dropped and it is closed. It
// returns the close errors joined.
func (m *MultiChannel) Close() error {
	var errs []error
	for _, ch := range m.chans {
		if err := ch.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	m.mu.Lock()
	q := m.q
	m.mu.Unlock()
	if q != nil {
		q.stopOnce.Do(func() { close(q.stop) })
	}
	return errors.Join(errs...)
}

// ReceiveQueue merges everything the channels receive into one queue,
// like execnet's make_receive_queue. Each element carries its channel.
// When a channel ends (closed by either side, or its gateway's connection
// ended, for instance because the worker died), the queue gets
// Received{Channel: ch, Value: endmarker} once for it, after its items;
// a nil endmarker asks for no end markers. Once every channel's end has
// been queued and taken, the Go channel is closed, so a range loop over
// it ends. Close also closes it, dropping what was not taken yet.
//
// Items of one channel arrive in order; items of different channels in
// the order their gateways' receivers delivered them.
//
// Buffering and backpressure: like execnet's queue, this one is
// unbounded. Each channel's callback appends to an internal slice and
// never blocks, so a slow consumer never stalls a gateway's receiver (and
// with it every other channel of that gateway, or its shutdown); the cost
// is that items wait in memory until the consumer takes them, bounded only
// by what the workers send. A program that streams large amounts should
// consume as it goes or throttle the workers itself (for example by
// sending work only as results come back, as a task farm does). A single
// goroutine moves items from the slice to the returned channel; it ends
// when the queue is closed. A program that stops reading before the queue
// has closed must call Close, or that goroutine waits for a reader for
// ever.
//
// ReceiveQueue sets a callback on every channel (Channel.SetCallback), so
// it fails with ErrHasCallback if a channel already has one (the channels
// before it then feed the queue). A second call returns the same queue;
// its endmarker argument is ignored.
func (m *MultiChannel) ReceiveQueue(endmarker codec.Value) (<-chan Received, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.q != nil {
		return m.q.out, nil
	}
	q := &receiveQueue{
		out:       make(chan Received),
		signal:    make(chan struct{}, 1),
		stop:      make(chan struct{}),
		remaining: len(m.chans),
		endmarker: endmarker,
	}
	m.q = q
	go q.pump()
	for i, ch := range m.chans {
		ch := ch
		err := ch.SetCallback(func(v codec.Value) { q.put(ch, v) }, queueEnd)
		if err != nil {
			// The channels without a callback will never report their
			// end: count them as ended so that the queue can close.
			q.mu.Lock()
			q.remaining -= len(m.chans) - i
			q.mu.Unlock()
			q.wake()
			return q.out, fmt.Errorf("receive queue on %s of %s: %w", ch, ch.gw.ID(), err)
		}
	}
	return q.out, nil
}

// endMarker is the private end marker the queue registers with each
// channel; it never travels on the wire.
type endMarker struct{}

// Kind implements codec.Value.
func (*endMarker) Kind() codec.Kind { return codec.KindNone }

var queueEnd codec.Value = &endMarker{}

// receiveQueue is the unbounded queue behind ReceiveQueue.
type receiveQueue struct {
	out       chan Received
	signal    chan struct{} // one-slot wake-up for the pump
	stop      chan struct{}
	stopOnce  sync.Once
	endmarker codec.Value

	mu        sync.Mutex
	items     []Received
	remaining int // channels whose end has not been queued yet
}

// put runs on a gateway's receiver goroutine (or in SetCallback): it
// never blocks.
func (q *receiveQueue) put(ch *Channel, v codec.Value) {
	q.mu.Lock()
	if v == queueEnd {
		q.remaining--
		if q.endmarker != nil {
			q.items = append(q.items, Received{Channel: ch, Value: q.endmarker})
		}
	} else {
		q.items = append(q.items, Received{Channel: ch, Value: v})
	}
	q.mu.Unlock()
	q.wake()
}

func (q *receiveQueue) wake() {
	select {
	case q.signal <- struct{}{}:
	default:
	}
}

// pump moves items to out until every channel has ended and everything
// was taken, or the queue is stopped.
func (q *receiveQueue) pump() {
	defer close(q.out)
	var batch []Received
	for {
		q.mu.Lock()
		batch, q.items = q.items, batch[:0]
		done := q.remaining <= 0
		q.mu.Unlock()
		if len(batch) == 0 && done {
			return
		}
		for i, r := range batch {
			select {
			case q.out <- r:
				batch[i] = Received{}
			case <-q.stop:
				return
			}
		}
		if len(batch) > 0 {
			if cap(batch) > 1024 {
				batch = nil // a burst is over: give its memory back
			}
			continue // look for more before sleeping
		}
		select {
		case <-q.signal:
		case <-q.stop:
			return
		}
	}
}
