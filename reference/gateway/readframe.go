package gateway

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/execnet-conform/execnet-conform/reference/frame"
	"github.com/execnet-conform/execnet-conform/spec"
)

// frameReader reads frames like frame.Reader, with the same typed errors,
// but into a reused buffer: the payload is valid only until the next call.
// The decoder copies what it keeps, so a payload is copied once from the
// stream buffer into the values, never into a per-frame allocation first.
type frameReader struct {
	r   io.Reader
	off int64
	max int
	hdr [spec.HeaderSize]byte
	buf []byte
}

// keepMax is the largest buffer kept between frames.
const keepMax = 1 << 20

func (fr *frameReader) next() (frame.Frame, int64, error) {
	start := fr.off
	n, err := io.ReadFull(fr.r, fr.hdr[:])
	fr.off += int64(n)
	if err != nil {
		if n == 0 && errors.Is(err, io.EOF) {
			return frame.Frame{}, start, io.EOF
		}
		if n == 0 {
			return frame.Frame{}, start, err
		}
		e := &frame.Error{Offset: start, HeaderLen: n, Err: frame.ErrShortHeader,
			Detail: fmt.Sprintf("expected %d bytes, got %d", spec.HeaderSize, n)}
		copy(e.Header[:], fr.hdr[:n])
		return frame.Frame{}, start, e
	}
	f := frame.Frame{
		Code:    spec.MsgCode(int8(fr.hdr[0])),
		Channel: int32(binary.BigEndian.Uint32(fr.hdr[1:5])),
	}
	length := int32(binary.BigEndian.Uint32(fr.hdr[5:9]))
	if !f.Code.Known() {
		// Fatal before the payload is read: a worker printing text to its
		// stdout makes a "header" whose length field is ASCII, and waiting
		// for (and buffering) that many bytes would hang the receiver.
		return f, start, &ProtocolError{Offset: start, Header: append([]byte(nil), fr.hdr[:]...),
			Msg: fmt.Sprintf("unknown message code %d (declared payload length %d, not read)", int8(f.Code), length)}
	}
	if length < 0 {
		return f, start, &frame.Error{Offset: start, Header: fr.hdr, HeaderLen: spec.HeaderSize,
			Err: frame.ErrNegativeLength, Detail: fmt.Sprintf("declared %d", length)}
	}
	limit := fr.max
	if limit <= 0 {
		limit = frame.DefaultMaxPayload
	}
	if int64(length) > int64(limit) {
		return f, start, &frame.Error{Offset: start, Header: fr.hdr, HeaderLen: spec.HeaderSize,
			Err: frame.ErrTooLarge, Detail: fmt.Sprintf("declared %d, limit %d", length, limit)}
	}
	if length == 0 {
		return f, start, nil
	}
	if cap(fr.buf) > keepMax {
		fr.buf = nil // do not keep a huge buffer from an earlier frame
	}
	var got int
	f.Payload, got, err = fr.readPayload(int(length))
	fr.off += int64(got)
	if err != nil {
		return frame.Frame{Code: f.Code, Channel: f.Channel}, start, &frame.Error{Offset: start, Header: fr.hdr,
			HeaderLen: spec.HeaderSize, Err: frame.ErrShortPayload,
			Detail: fmt.Sprintf("declared %d bytes, got %d", length, got)}
	}
	return f, start, nil
}

// readPayload reads exactly n bytes into the reused buffer. Beyond what
// the buffer holds it grows in steps as data arrives, so a huge declared
// length backed by no data costs no more than the data that came.
func (fr *frameReader) readPayload(n int) ([]byte, int, error) {
	if n <= cap(fr.buf) {
		b := fr.buf[:n]
		k, err := io.ReadFull(fr.r, b)
		return b, k, err
	}
	const step = 1 << 20
	b := fr.buf[:0]
	if cap(b) < min(n, step) {
		b = make([]byte, 0, min(n, step))
	}
	for len(b) < n {
		if len(b) == cap(b) {
			nb := make([]byte, len(b), min(2*cap(b), n))
			copy(nb, b)
			b = nb
		}
		k, err := fr.r.Read(b[len(b):min(cap(b), n)])
		b = b[:len(b)+k]
		if err != nil && len(b) < n {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return b, len(b), err
		}
	}
	fr.buf = b[:0]
	return b, n, nil
}
