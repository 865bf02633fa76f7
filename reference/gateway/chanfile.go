package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"unicode/utf8"

	"github.com/execnet-conform/execnet-conform/reference/codec"
)

// FileOptions configure a channel file (Channel.MakeWriter,
// Channel.MakeReader), the counterpart of execnet's channel.makefile.
type FileOptions struct {
	// Text makes the writer send each write as a str item, as execnet's
	// ChannelFileWrite does when Python code writes text; otherwise it
	// sends bytes items. Readers accept both kinds either way.
	Text bool
	// ProxyClose makes closing the file close the channel too (execnet's
	// proxyclose). Off by default, as in execnet. A reader with
	// ProxyClose also closes the channel when it reaches the end.
	ProxyClose bool
}

// ErrInvalidText is returned by a text ChannelWriter for bytes that are
// not UTF-8 (a str item must be valid text).
var ErrInvalidText = errors.New("channel file: text is not valid UTF-8")

// ChannelWriter is the write side of a channel file: each Write sends
// its bytes as one item. Use it where Go code wants an io.Writer, for
// example fmt.Fprintf or log output that the peer reads with
// channel.makefile('r') or by receiving items.
type ChannelWriter struct {
	ch   *Channel
	ctx  context.Context
	opts FileOptions

	mu      sync.Mutex
	pending []byte // text mode: the start of a character split across writes
	closed  bool
}

// MakeWriter returns a write-side channel file on ch. ctx bounds every
// write (see Channel.Send).
func (ch *Channel) MakeWriter(ctx context.Context, opts FileOptions) *ChannelWriter {
	return &ChannelWriter{ch: ch, ctx: ctx, opts: opts}
}

// Write sends p as one item: bytes, or str in text mode. In text mode a
// UTF-8 character split across two writes (as a bufio.Writer may split
// it) is held back and sent with the next write or at Close; other bytes
// that are not UTF-8 fail with ErrInvalidText and nothing is sent. It
// returns len(p) once the item was sent.
func (w *ChannelWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return 0, fmt.Errorf("write to channel file of %s: %w", w.ch, ErrChannelClosed)
	}
	if !w.opts.Text {
		// Send encodes p before it returns, so p is not retained.
		if err := w.ch.Send(w.ctx, codec.Bytes(p)); err != nil {
			return 0, err
		}
		return len(p), nil
	}
	buf := append(w.pending, p...)
	cut := len(buf) - incompleteTail(buf)
	if !utf8.Valid(buf[:cut]) {
		return 0, fmt.Errorf("write to channel file of %s: %w", w.ch, ErrInvalidText)
	}
	if cut > 0 {
		if err := w.ch.Send(w.ctx, codec.Str(buf[:cut])); err != nil {
			return 0, err
		}
	}
	w.pending = append([]byte(nil), buf[cut:]...)
	return len(p), nil
}

// WriteString sends s as one item (str in text mode).
func (w *ChannelWriter) WriteString(s string) (int, error) { return w.Write([]byte(s)) }

// incompleteTail returns how many bytes at the end of b are the start of
// a UTF-8 character that is not complete yet (0 to 3).
func incompleteTail(b []byte) int {
	for n := 1; n <= 3 && n <= len(b); n++ {
		c := b[len(b)-n]
		if c < 0x80 {
			return 0 // ASCII: nothing pending
		}
		if c >= 0xC0 { // a leading byte: is its character complete?
			need := 2
			switch {
			case c >= 0xF0:
				need = 4
			case c >= 0xE0:
				need = 3
			}
			if need > n {
				return n
			}
			return 0
		}
	}
	return 0
}

// Close ends the file. In text mode an incomplete character held back
// fails with ErrInvalidText. With ProxyClose the channel is closed too.
// Writes after Close fail.
func (w *ChannelWriter) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil
	}
	w.closed = true
	var err error
	if len(w.pending) > 0 {
		err = fmt.Errorf("closing channel file of %s: %d bytes of an incomplete character: %w", w.ch, len(w.pending), ErrInvalidText)
		w.pending = nil
	}
	if w.opts.ProxyClose {
		err = errors.Join(err, w.ch.Close())
	}
	return err
}

// UnexpectedItemError is returned by a ChannelReader for an item that is
// neither text nor bytes.
type UnexpectedItemError struct {
	Channel int32
	Kind    codec.Kind
}

// Error implements error.
func (e *UnexpectedItemError) Error() string {
	return fmt.Sprintf("channel file of channel %d: received a %s item; a channel file reads only str and bytes items", e.Channel, e.Kind)
}

// ChannelReader is the read side of a channel file: an io.Reader over the
// str and bytes items the channel receives, concatenated (str items as
// UTF-8). Wrap it in a bufio.Reader or bufio.Scanner to read lines.
//
// Read returns io.EOF once the channel has ended normally. If the peer
// closed it with an error, Read returns that *RemoteError first; if the
// connection was lost, the *ConnectionLostError (which is not io.EOF
// itself, so bufio.Scanner reports it).
type ChannelReader struct {
	ch   *Channel
	ctx  context.Context
	opts FileOptions

	mu     sync.Mutex
	buf    []byte
	closed bool
}

// MakeReader returns a read-side channel file on ch. ctx bounds every
// read: a read waiting for an item ends with ctx's error. The channel
// must have no callback.
func (ch *Channel) MakeReader(ctx context.Context, opts FileOptions) *ChannelReader {
	return &ChannelReader{ch: ch, ctx: ctx, opts: opts}
}

// Read reads up to len(p) bytes, waiting for an item only when nothing is
// buffered.
func (r *ChannelReader) Read(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return 0, fmt.Errorf("read from channel file of %s: %w", r.ch, ErrChannelClosed)
	}
	if len(p) == 0 {
		return 0, nil
	}
	for len(r.buf) == 0 {
		v, err := r.ch.Receive(r.ctx)
		if err != nil {
			var eof *EOFError
			if errors.As(err, &eof) {
				if r.opts.ProxyClose {
					_ = r.ch.Close()
				}
				return 0, io.EOF
			}
			return 0, err
		}
		switch x := v.(type) {
		case codec.Str:
			r.buf = []byte(x)
		case codec.Bytes:
			r.buf = []byte(x)
		case codec.Py2Str:
			r.buf = []byte(x)
		default:
			return 0, &UnexpectedItemError{Channel: r.ch.id, Kind: v.Kind()}
		}
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	if len(r.buf) == 0 {
		r.buf = nil
	}
	return n, nil
}

// Close ends the file; buffered bytes are dropped. With ProxyClose the
// channel is closed too. Reads after Close fail.
func (r *ChannelReader) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil
	}
	r.closed = true
	r.buf = nil
	if r.opts.ProxyClose {
		return r.ch.Close()
	}
	return nil
}
