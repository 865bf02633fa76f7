// Package frame reads and writes execnet protocol frames: a 9-byte header
// (signed 8-bit message code, signed 32-bit channel id, signed 32-bit
// payload length, network byte order) followed by the payload. See SPEC.md
// section "Framing".
package frame

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/execnet-conform/execnet-conform/spec"
)

// Frame is one protocol message.
type Frame struct {
	Code    spec.MsgCode
	Channel int32
	Payload []byte
}

func (f Frame) String() string {
	return fmt.Sprintf("%s ch=%d len=%d", f.Code, f.Channel, len(f.Payload))
}

// DefaultMaxPayload is the largest payload a Reader accepts by default.
const DefaultMaxPayload = 1<<31 - 1

// Errors returned by Reader. They are wrapped in *Error, which carries the
// stream offset, and match with errors.Is.
var (
	// ErrShortHeader: the stream ended inside a frame header. A clean end
	// between frames is reported as io.EOF instead.
	ErrShortHeader = errors.New("stream ended inside a frame header")
	// ErrShortPayload: the stream ended before the declared payload length.
	ErrShortPayload = errors.New("stream ended inside a frame payload")
	// ErrNegativeLength: the header declares a negative payload length.
	ErrNegativeLength = errors.New("negative payload length")
	// ErrTooLarge: the declared length exceeds the reader's limit.
	ErrTooLarge = errors.New("payload length over the limit")
)

// Error describes a malformed frame.
type Error struct {
	Offset    int64 // stream offset of the frame's first byte
	Header    [spec.HeaderSize]byte
	HeaderLen int // how many header bytes were read
	Err       error
	Detail    string
}

func (e *Error) Error() string {
	return fmt.Sprintf("frame at offset %d: %v: %s", e.Offset, e.Err, e.Detail)
}

func (e *Error) Unwrap() error { return e.Err }

// Reader reads frames from a byte stream.
type Reader struct {
	r          io.Reader
	off        int64
	MaxPayload int // 0 means DefaultMaxPayload
	// WholeAlloc: a payload of at most this many bytes is allocated at
	// once, at its declared length, instead of growing as data arrives.
	// A reader whose MaxPayload is small enough to be spent on one frame
	// sets it to MaxPayload, so that a large frame costs its size and not
	// the copies of growing. 0 means 1 MiB.
	WholeAlloc int
	hdr        [spec.HeaderSize]byte
}

// NewReader returns a Reader on r. The caller should buffer r.
func NewReader(r io.Reader) *Reader { return &Reader{r: r} }

// Offset returns the number of bytes consumed so far.
func (r *Reader) Offset() int64 { return r.off }

// ReadFrame reads one frame. The payload is freshly allocated, growing in
// steps as data arrives, so a huge declared length backed by no data costs
// no more memory than the data that did arrive. It returns io.EOF only at a
// clean frame boundary.
func (r *Reader) ReadFrame() (Frame, error) {
	start := r.off
	n, err := io.ReadFull(r.r, r.hdr[:])
	r.off += int64(n)
	if err != nil {
		if n == 0 && errors.Is(err, io.EOF) {
			return Frame{}, io.EOF
		}
		e := &Error{Offset: start, HeaderLen: n, Err: ErrShortHeader,
			Detail: fmt.Sprintf("expected %d bytes, got %d", spec.HeaderSize, n)}
		copy(e.Header[:], r.hdr[:n])
		return Frame{}, e
	}
	f := Frame{
		Code:    spec.MsgCode(int8(r.hdr[0])),
		Channel: int32(binary.BigEndian.Uint32(r.hdr[1:5])),
	}
	length := int32(binary.BigEndian.Uint32(r.hdr[5:9]))
	if length < 0 {
		return f, &Error{Offset: start, Header: r.hdr, HeaderLen: spec.HeaderSize, Err: ErrNegativeLength,
			Detail: fmt.Sprintf("declared %d", length)}
	}
	limit := r.MaxPayload
	if limit <= 0 {
		limit = DefaultMaxPayload
	}
	if int64(length) > int64(limit) {
		return f, &Error{Offset: start, Header: r.hdr, HeaderLen: spec.HeaderSize, Err: ErrTooLarge,
			Detail: fmt.Sprintf("declared %d, limit %d", length, limit)}
	}
	if length == 0 {
		return f, nil
	}
	f.Payload, err = readN(r.r, int(length), r.WholeAlloc)
	r.off += int64(len(f.Payload))
	if err != nil {
		got := len(f.Payload)
		f.Payload = nil
		return f, &Error{Offset: start, Header: r.hdr, HeaderLen: spec.HeaderSize, Err: ErrShortPayload,
			Detail: fmt.Sprintf("declared %d bytes, got %d", length, got)}
	}
	return f, nil
}

// readN reads exactly n bytes, allocating at most twice what has arrived
// plus one chunk, or n at once when n is at most whole.
func readN(r io.Reader, n, whole int) ([]byte, error) {
	const chunk = 1 << 20
	if n <= chunk || n <= whole {
		b := make([]byte, n)
		k, err := io.ReadFull(r, b)
		return b[:k], err
	}
	b := make([]byte, 0, chunk)
	for len(b) < n {
		if len(b) == cap(b) {
			c := min(2*cap(b), n)
			nb := make([]byte, len(b), c)
			copy(nb, b)
			b = nb
		}
		k, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+k]
		if err != nil {
			if errors.Is(err, io.EOF) && len(b) == n {
				break
			}
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return b, err
		}
	}
	return b, nil
}

// AppendHeader appends the 9-byte header for a frame with the given payload
// length.
func AppendHeader(dst []byte, code spec.MsgCode, channel int32, length int) []byte {
	dst = append(dst, byte(code))
	dst = binary.BigEndian.AppendUint32(dst, uint32(channel))
	return binary.BigEndian.AppendUint32(dst, uint32(int32(length)))
}

// Append appends the encoded frame to dst.
func Append(dst []byte, f Frame) []byte {
	dst = AppendHeader(dst, f.Code, f.Channel, len(f.Payload))
	return append(dst, f.Payload...)
}

// ErrPayloadTooLong is returned by Write for a payload over 2^31-1 bytes.
var ErrPayloadTooLong = errors.New("frame payload longer than 2^31-1 bytes")

// Write writes f to w in a single Write call, so that concurrent writers
// serialised by a mutex never interleave frames.
func Write(w io.Writer, f Frame) error {
	if int64(len(f.Payload)) > 1<<31-1 {
		return ErrPayloadTooLong
	}
	buf := make([]byte, 0, spec.HeaderSize+len(f.Payload))
	_, err := w.Write(Append(buf, f))
	return err
}
