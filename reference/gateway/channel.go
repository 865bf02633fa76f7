package gateway

import (
	"context"
	"fmt"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/execnet-conform/execnet-conform/reference/codec"
	"github.com/execnet-conform/execnet-conform/spec"
)

// Channel is one numbered, bidirectional message channel of a Gateway.
//
// States follow execnet: "opened"; "sendonly" once the peer sent
// CHANNEL_LAST_MESSAGE or the connection ended (we may still send, nothing
// more arrives); "closed" after a local Close or a CHANNEL_CLOSE /
// CHANNEL_CLOSE_ERROR from the peer. Items that arrived before the end stay
// receivable. A Channel is safe for concurrent use and implements
// codec.ChannelValue, so it can be sent inside data; the peer then gets a
// channel with the same id on its side.
type Channel struct {
	gw *Gateway
	id int32

	mu         sync.Mutex
	strconfig  codec.StrConfig
	items      []codec.Value
	head       int
	ended      bool // no more items will arrive (end marker queued)
	closed     bool
	executing  bool // an Executor runs on this channel; it may not close it
	remoteErrs []error
	wait       chan struct{} // closed on the next state change; nil if nobody waits

	hasCallback bool
	cbCounted   bool // counted in gw.callbacks; guarded by gw.mu
	callback    func(codec.Value)
	endmarker   codec.Value // nil: no end marker wanted
	draining    bool        // SetCallback is handing queued items to the callback
	endSent     bool        // the end marker was delivered
	cbMu        sync.Mutex  // serialises callback invocations

	// delivered counts the items delivered; sinks[i] is for the item
	// delivered as number sinkBase+i (ExpectFiles, sink.go).
	delivered int64
	sinkBase  int64
	sinks     []FileSink
	sinkSoon  chan struct{} // closed by ExpectFiles after ExpectFilesSoon
}

func newChannel(g *Gateway, id int32, sc codec.StrConfig) *Channel {
	return &Channel{gw: g, id: id, strconfig: sc}
}

// ID returns the channel id.
func (ch *Channel) ID() int32 { return ch.id }

// ChannelID implements codec.ChannelValue.
func (ch *Channel) ChannelID() int32 { return ch.id }

// Kind implements codec.Value.
func (ch *Channel) Kind() codec.Kind { return codec.KindChannel }

// Gateway returns the channel's gateway.
func (ch *Channel) Gateway() *Gateway { return ch.gw }

// String describes Channel for logs and messages.
func (ch *Channel) String() string {
	state := "open"
	if ch.IsClosed() {
		state = "closed"
	}
	return fmt.Sprintf("<Channel id=%d %s>", ch.id, state)
}

// IsClosed reports whether the channel is closed. A closed channel may
// still hold items to receive.
func (ch *Channel) IsClosed() bool {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	return ch.closed
}

// wakeLocked wakes every waiter; ch.mu is held.
func (ch *Channel) wakeLocked() {
	if ch.wait != nil {
		close(ch.wait)
		ch.wait = nil
	}
}

// Send sends one item on the channel. It fails with *ChannelClosedError
// on a closed channel, with a *codec.EncodeError for a value outside the
// data model, and with the gateway's error when the connection is gone.
// A small item sent right after another may be queued and written just
// after Send returns, batched with the next ones (see the package
// documentation); items are always written in the order they were sent.
func (ch *Channel) Send(ctx context.Context, v codec.Value) error {
	ch.mu.Lock()
	closed := ch.closed
	ch.mu.Unlock()
	if closed {
		return &ChannelClosedError{ID: ch.id, Op: "send"}
	}
	return ch.gw.sendValue(ctx, spec.MsgChannelData, ch.id, v)
}

// Receive returns the next item. Once the items are exhausted and the
// channel has ended it returns, in this order: the peer's *RemoteError
// (once), then the gateway's *ConnectionLostError if the connection was
// lost, else an *EOFError (matching io.EOF). If ctx ends first it returns
// a *TimeoutError (deadline) or an error wrapping context.Canceled.
// Receive fails with ErrHasCallback when a callback is set.
func (ch *Channel) Receive(ctx context.Context) (codec.Value, error) {
	for {
		ch.mu.Lock()
		if ch.hasCallback {
			ch.mu.Unlock()
			return nil, fmt.Errorf("cannot receive on channel %d: %w", ch.id, ErrHasCallback)
		}
		if ch.head < len(ch.items) {
			v := ch.items[ch.head]
			ch.items[ch.head] = nil
			ch.head++
			if ch.head == len(ch.items) {
				if cap(ch.items) > 1024 {
					ch.items = nil // a burst is over: give its memory back
				} else {
					ch.items = ch.items[:0]
				}
				ch.head = 0
			}
			ch.mu.Unlock()
			ch.gw.replied.Store(true)
			return v, nil
		}
		if ch.ended {
			err := ch.endErrorLocked()
			ch.mu.Unlock()
			if err == nil {
				err = ch.gwOrEOF()
			}
			return nil, err
		}
		if ch.wait == nil {
			ch.wait = make(chan struct{})
		}
		w := ch.wait
		ch.mu.Unlock()
		if ch.gw.await(ctx, w) {
			return nil, ctxErr(ctx, fmt.Sprintf("receive on channel %d", ch.id))
		}
	}
}

// ReceiveTimeout is Receive bounded by d.
func (ch *Channel) ReceiveTimeout(d time.Duration) (codec.Value, error) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return ch.Receive(ctx)
}

// endErrorLocked pops the first stored remote error.
func (ch *Channel) endErrorLocked() error {
	if len(ch.remoteErrs) > 0 {
		err := ch.remoteErrs[0]
		ch.remoteErrs = ch.remoteErrs[1:]
		return err
	}
	return nil
}

func (ch *Channel) gwOrEOF() error {
	if err := ch.gw.Err(); err != nil {
		return err
	}
	ch.gw.mu.Lock()
	fin := ch.gw.finished
	ch.gw.mu.Unlock()
	return &EOFError{ID: ch.id, ConnectionEnded: fin}
}

// WaitClose waits until no more items can arrive (the peer closed the
// channel or sent LAST_MESSAGE, we closed it, or the connection ended).
// It returns the stored *RemoteError (consuming it), the gateway's
// *ConnectionLostError, or nil. Queued items stay receivable.
func (ch *Channel) WaitClose(ctx context.Context) error {
	for {
		ch.mu.Lock()
		if ch.ended {
			err := ch.endErrorLocked()
			ch.mu.Unlock()
			if err == nil {
				err = ch.gw.Err()
			}
			return err
		}
		if ch.wait == nil {
			ch.wait = make(chan struct{})
		}
		w := ch.wait
		ch.mu.Unlock()
		if ch.gw.await(ctx, w) {
			return ctxErr(ctx, fmt.Sprintf("close of channel %d", ch.id))
		}
	}
}

// Close closes the channel, sending CHANNEL_CLOSE unless the peer already
// ended it. Closing a closed channel does nothing. The channel of a
// running execution cannot be closed by the Executor (ErrExecuting): the
// gateway closes it when Exec returns. The channel is closed
// locally even when the frame cannot be sent; the send error is returned.
func (ch *Channel) Close() error { return ch.close("", false) }

// CloseWithError closes the channel with CHANNEL_CLOSE_ERROR carrying
// text; the peer sees it as a remote error. On a closed channel, or one
// the peer already ended, nothing is sent.
func (ch *Channel) CloseWithError(text string) error { return ch.close(text, true) }

func (ch *Channel) close(text string, withErr bool) error {
	ch.mu.Lock()
	if ch.closed {
		ch.mu.Unlock()
		return nil
	}
	if ch.executing {
		ch.mu.Unlock()
		return fmt.Errorf("channel %d: %w", ch.id, ErrExecuting)
	}
	send := !ch.ended
	ch.closed, ch.ended = true, true
	ch.wakeLocked()
	ch.mu.Unlock()
	var err error
	if send {
		if withErr {
			err = ch.gw.sendValue(context.Background(), spec.MsgChannelCloseError, ch.id, codec.Str(text))
		} else {
			err = ch.gw.sendEmpty(context.Background(), spec.MsgChannelClose, ch.id)
		}
	}
	ch.gw.forget(ch)
	ch.deliverEnd()
	return err
}

// drop forgets a channel without telling the peer (a STATUS channel, or
// a failed RemoteExec).
func (ch *Channel) drop() {
	ch.mu.Lock()
	ch.closed, ch.ended = true, true
	ch.wakeLocked()
	ch.mu.Unlock()
	ch.gw.forget(ch)
}

// Reconfigure sets the string coercion used to decode this channel's
// items and tells the peer with a RECONFIGURE frame for this channel.
func (ch *Channel) Reconfigure(py2strAsPy3str, py3strAsPy2str bool) error {
	ch.mu.Lock()
	if ch.closed {
		ch.mu.Unlock()
		return &ChannelClosedError{ID: ch.id, Op: "reconfigure"}
	}
	ch.strconfig = codec.StrConfig{Py2StrAsPy3Str: py2strAsPy3str, Py3StrAsPy2Str: py3strAsPy2str}
	ch.mu.Unlock()
	return ch.gw.sendValue(context.Background(), spec.MsgReconfigure, ch.id,
		codec.Tuple{codec.Bool(py2strAsPy3str), codec.Bool(py3strAsPy2str)})
}

// SetCallback makes every item go to cb instead of the receive queue:
// already queued items at once (on the calling goroutine), later ones on
// the gateway's receiver goroutine, in order. If endmarker is not nil, cb
// receives it once when the channel ends (closed by either side, or the
// connection ended). Afterwards Receive fails with ErrHasCallback. A
// second SetCallback fails with ErrHasCallback. If cb panics, the channel
// is closed with CHANNEL_CLOSE_ERROR and the panic is returned (when
// draining) or stored for WaitClose.
func (ch *Channel) SetCallback(cb func(codec.Value), endmarker codec.Value) error {
	if cb == nil {
		return fmt.Errorf("channel %d: SetCallback with a nil callback", ch.id)
	}
	ch.mu.Lock()
	if ch.hasCallback {
		ch.mu.Unlock()
		return fmt.Errorf("channel %d: %w already", ch.id, ErrHasCallback)
	}
	ch.hasCallback, ch.callback, ch.endmarker, ch.draining = true, cb, endmarker, true
	ch.wakeLocked() // pending Receive calls now fail
	ch.mu.Unlock()
	ch.gw.noteCallback(ch)
	ch.mu.Lock()
	for {
		if ch.head < len(ch.items) {
			v := ch.items[ch.head]
			ch.items[ch.head] = nil
			ch.head++
			ch.mu.Unlock()
			if err := ch.invoke(v); err != nil {
				ch.mu.Lock()
				ch.draining = false
				ch.mu.Unlock()
				ch.deliverEnd()
				return err
			}
			ch.mu.Lock()
			continue
		}
		ch.items, ch.head = nil, 0
		ch.draining = false
		ended := ch.ended
		ch.mu.Unlock()
		if ended {
			ch.deliverEnd()
		}
		return nil
	}
}

// invoke calls the callback with v. A panic closes the channel with an
// error sent to the peer and is returned.
func (ch *Channel) invoke(v codec.Value) (perr error) {
	ch.mu.Lock()
	cb := ch.callback
	ch.mu.Unlock()
	func() {
		ch.cbMu.Lock()
		defer ch.cbMu.Unlock()
		defer func() {
			if r := recover(); r != nil {
				perr = &CallbackPanicError{ID: ch.id, Value: fmt.Sprint(r), Stack: string(debug.Stack())}
			}
		}()
		cb(v)
	}()
	if perr != nil {
		ch.mu.Lock()
		ch.remoteErrs = append(ch.remoteErrs, perr)
		ch.mu.Unlock()
		_ = ch.CloseWithError(perr.Error())
	}
	return perr
}

// CallbackPanicError is a panic raised by a channel callback. The channel
// is closed with CHANNEL_CLOSE_ERROR carrying Error().
type CallbackPanicError struct {
	ID    int32
	Value string
	Stack string
}

// Error implements error.
func (e *CallbackPanicError) Error() string {
	return fmt.Sprintf("callback of channel %d panicked: %s\n%s", e.ID, e.Value, strings.TrimSpace(e.Stack))
}

// deliver queues an item or hands it to the callback (receiver goroutine).
func (ch *Channel) deliver(v codec.Value) {
	ch.mu.Lock()
	ch.delivered++
	if !ch.hasCallback || ch.draining {
		ch.items = append(ch.items, v)
		ch.wakeLocked()
		ch.mu.Unlock()
		return
	}
	ch.mu.Unlock()
	_ = ch.invoke(v)
}

// remoteEnd ends the channel because of the peer or the connection:
// sendonly for LAST_MESSAGE and connection loss, closed otherwise.
func (ch *Channel) remoteEnd(remoteErr error, sendonly bool) {
	ch.mu.Lock()
	if remoteErr != nil {
		ch.remoteErrs = append(ch.remoteErrs, remoteErr)
	}
	ch.ended = true
	if !sendonly {
		ch.closed = true
	}
	ch.wakeLocked()
	ch.mu.Unlock()
	ch.deliverEnd()
}

// deliverEnd gives the callback its end marker once, unless SetCallback
// is still draining (it delivers the marker itself when done).
func (ch *Channel) deliverEnd() {
	ch.mu.Lock()
	if !ch.hasCallback || ch.draining || ch.endSent || !ch.ended {
		ch.mu.Unlock()
		return
	}
	ch.endSent = true
	cb, em := ch.callback, ch.endmarker
	ch.mu.Unlock()
	if em == nil {
		return
	}
	ch.cbMu.Lock()
	defer ch.cbMu.Unlock()
	defer func() { _ = recover() }() // the channel has ended; nothing to report to
	cb(em)
}

// SendGo sends a Go value, encoded by codec.Marshal's rules (structs as
// dicts with their execnet tags, maps, slices, strings, numbers, bools,
// nil as None).
func (ch *Channel) SendGo(ctx context.Context, v any) error {
	val, err := codec.FromGo(v)
	if err != nil {
		return fmt.Errorf("send on channel %d: %w", ch.id, err)
	}
	return ch.Send(ctx, val)
}

// ReceiveInto receives the next item, as Receive does, and stores it into
// the Go value that target points to by codec.Unmarshal's rules. An item
// that does not fit target fails with a *codec.UnmarshalTypeError; the
// item is consumed either way.
func (ch *Channel) ReceiveInto(ctx context.Context, target any) error {
	v, err := ch.Receive(ctx)
	if err != nil {
		return err
	}
	if err := codec.UnmarshalValue(v, target); err != nil {
		return fmt.Errorf("receive on channel %d: %w", ch.id, err)
	}
	return nil
}
