package gateway

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/execnet-conform/execnet-conform/reference/frame"
	"github.com/execnet-conform/execnet-conform/reference/transport"
	"github.com/execnet-conform/execnet-conform/spec"
)

// frameReader reads frames like frame.Reader, with the same typed errors.
// A payload that fits the stream buffer is returned in place (valid only
// until the next call, which discards it); the decoder copies what it
// keeps, so a small payload is copied once, from the stream buffer into
// the values. A larger payload is read into a fresh buffer of its own,
// straight from the connection once the buffered bytes are used up, and
// the caller may keep it (fresh is set): a payload that is one bytes or
// str value is then decoded without a further copy.
type frameReader struct {
	r       *bufio.Reader
	direct  io.Reader // the connection under r, for large payloads
	off     int64
	max     int
	discard int // bytes of the previous payload still in r
	hdr     [spec.HeaderSize]byte

	// bufs, when set, supplies the buffers of bulk items (see blob).
	bufs *bufFree
	// large is set after a payload of at least readBufSize bytes: the
	// next header is then read straight from the connection if nothing
	// is buffered (see next).
	large bool
	pfx   [5]byte // a large payload's first bytes

	// blob is set by next, instead of the payload, for a CHANNEL_DATA
	// frame of at least freshMin bytes that is one bytes value and
	// nothing else: it holds the value's bytes, read straight from the
	// stream into a buffer from bufs. The caller takes it and clears it.
	blob []byte

	// sink and recv, when set, let a large CHANNEL_DATA frame that is
	// one bytes value go straight into a file the program expects it in
	// (sink.go); filed is then set by next instead of the payload, and
	// the caller takes it and clears it. sunk counts the items' bytes
	// written to files.
	sink  func(id int32, n int64) (FileSink, bool)
	recv  transport.FileReceiver
	filed *FileItem
	sunk  int64
}

// readBufSize is the stream buffer: many small frames per read call.
const readBufSize = 256 << 10

// freshMin is the smallest payload read into a fresh buffer of its own;
// smaller ones are decoded in place from the stream buffer.
const freshMin = 32 << 10

// freshExact is the largest payload whose buffer is allocated at its
// declared size at once; larger ones grow as their data arrives, so a
// huge declared length backed by no data costs no more than the data
// that came.
const freshExact = 16 << 20

// limit is the largest payload accepted.
func (fr *frameReader) limit() int {
	if fr.max <= 0 {
		return frame.DefaultMaxPayload
	}
	return fr.max
}

func newFrameReader(conn io.Reader, max int) *frameReader {
	return &frameReader{r: bufio.NewReaderSize(conn, readBufSize), direct: conn, max: max}
}

func (fr *frameReader) next() (f frame.Frame, start int64, fresh bool, err error) {
	if fr.discard > 0 {
		_, _ = fr.r.Discard(fr.discard) // buffered: cannot fail
		fr.discard = 0
	}
	start = fr.off
	// After a large payload the stream buffer is usually empty and the
	// connection holds the next large item: reading its header through
	// the stream buffer would pull a buffer's worth of the item's bytes
	// along and copy them a second time, so read just the header.
	var n int
	if fr.large && fr.r.Buffered() == 0 {
		n, err = io.ReadFull(fr.direct, fr.hdr[:])
	} else {
		n, err = io.ReadFull(fr.r, fr.hdr[:])
	}
	fr.large = false
	fr.off += int64(n)
	if err != nil {
		if n == 0 && errors.Is(err, io.EOF) {
			return frame.Frame{}, start, false, io.EOF
		}
		if n == 0 {
			return frame.Frame{}, start, false, err
		}
		e := &frame.Error{Offset: start, HeaderLen: n, Err: frame.ErrShortHeader,
			Detail: fmt.Sprintf("expected %d bytes, got %d", spec.HeaderSize, n)}
		copy(e.Header[:], fr.hdr[:n])
		return frame.Frame{}, start, false, e
	}
	f = frame.Frame{
		Code:    spec.MsgCode(int8(fr.hdr[0])),
		Channel: int32(binary.BigEndian.Uint32(fr.hdr[1:5])),
	}
	length := int32(binary.BigEndian.Uint32(fr.hdr[5:9]))
	if !f.Code.Known() {
		// Fatal before the payload is read: a worker printing text to its
		// stdout makes a "header" whose length field is ASCII, and waiting
		// for (and buffering) that many bytes would hang the receiver.
		return f, start, false, &ProtocolError{Offset: start, Header: append([]byte(nil), fr.hdr[:]...),
			Msg: fmt.Sprintf("unknown message code %d (declared payload length %d, not read)", int8(f.Code), length)}
	}
	if length < 0 {
		return f, start, false, &frame.Error{Offset: start, Header: fr.hdr, HeaderLen: spec.HeaderSize,
			Err: frame.ErrNegativeLength, Detail: fmt.Sprintf("declared %d", length)}
	}
	if limit := fr.limit(); int64(length) > int64(limit) {
		return f, start, false, &frame.Error{Offset: start, Header: fr.hdr, HeaderLen: spec.HeaderSize,
			Err: frame.ErrTooLarge, Detail: fmt.Sprintf("declared %d, limit %d", length, limit)}
	}
	if length == 0 {
		return f, start, false, nil
	}
	var got int
	if int(length) < freshMin {
		f.Payload, err = fr.r.Peek(int(length))
		got = len(f.Payload)
		fr.discard = got
	} else {
		// The first bytes say whether the payload is one bytes value.
		if int(length) >= readBufSize {
			// A payload as large as the stream buffer: read around
			// the buffer (see large).
			fr.large = true
			got, err = fr.readThrough(fr.pfx[:])
		} else {
			// Smaller ones come several per buffer fill.
			var p []byte
			p, err = fr.r.Peek(len(fr.pfx))
			got = copy(fr.pfx[:], p)
			_, _ = fr.r.Discard(got)
		}
		oneBytes := err == nil && f.Code == spec.MsgChannelData && spec.Opcode(fr.pfx[0]) == spec.OpBytes &&
			int64(binary.BigEndian.Uint32(fr.pfx[1:5])) == int64(length)-6
		if oneBytes && fr.sink != nil && int(length) >= sinkMin {
			if s, ok := fr.sink(f.Channel, int64(length)-6); ok {
				item, payload, k, handled, serr := fr.toFile(s, int(length))
				if handled {
					got += k - len(fr.pfx) // toFile counts the prefix too
					fr.large = true
					switch {
					case serr != nil:
						err = serr
					case item != nil:
						fr.off += int64(got)
						fr.filed = item
						return f, start, false, nil
					default:
						fr.off += int64(got)
						f.Payload = payload
						return f, start, true, nil
					}
					fr.off += int64(got)
					return frame.Frame{Code: f.Code, Channel: f.Channel}, start, false, &frame.Error{Offset: start, Header: fr.hdr,
						HeaderLen: spec.HeaderSize, Err: frame.ErrShortPayload,
						Detail: fmt.Sprintf("declared %d bytes, got %d", length, got)}
				}
			}
		}
		var blob []byte
		apart := false // STOP is read apart from blob, which holds the value's bytes only
		if oneBytes && fr.bufs != nil {
			if int(length) <= freshExact {
				blob = fr.bufs.get(int(length) - 5)
			} else {
				// Beyond freshExact only into a buffer the program gave
				// back (Recycle): memory it holds already. A recycled
				// item has room for its value, not for STOP.
				blob, apart = fr.bufs.getLarge(int(length)-6), true
			}
		}
		if blob != nil {
			// Read the value and STOP into a buffer of their own.
			var k int
			k, err = fr.readThrough(blob)
			got += k
			value, last := blob, byte(0)
			if err == nil && apart {
				var sb [1]byte
				k, err = fr.readThrough(sb[:])
				got += k
				last = sb[0]
			} else if err == nil {
				value, last = blob[:len(blob)-1], blob[len(blob)-1]
			}
			if err == nil && last == byte(spec.OpStop) {
				fr.off += int64(got)
				fr.blob = value
				return f, start, false, nil
			}
			if err == nil {
				// Not closed by STOP: hand the decoder the whole
				// payload, so that it reports the error as for any
				// frame.
				f.Payload = append(append(append(make([]byte, 0, length), fr.pfx[:]...), value...), last)
				fresh = true
			}
		} else if err == nil {
			f.Payload, got, err = fr.readFresh(int(length), fr.pfx[:])
			fresh = true
		}
	}
	fr.off += int64(got)
	if err != nil {
		return frame.Frame{Code: f.Code, Channel: f.Channel}, start, false, &frame.Error{Offset: start, Header: fr.hdr,
			HeaderLen: spec.HeaderSize, Err: frame.ErrShortPayload,
			Detail: fmt.Sprintf("declared %d bytes, got %d", length, got)}
	}
	return f, start, fresh, nil
}

// readThrough fills b: first from the stream buffer, then straight from
// the connection. It returns io.ErrUnexpectedEOF if the stream ends first.
func (fr *frameReader) readThrough(b []byte) (int, error) {
	k, _ := fr.r.Read(b[:min(fr.r.Buffered(), len(b))]) // buffered: no read call
	if k == len(b) {
		return k, nil
	}
	m, err := io.ReadFull(fr.direct, b[k:])
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return k + m, err
}

// readFresh reads a payload of exactly n bytes, whose first bytes (pre)
// were read already, into a new buffer: the rest comes first from what the
// stream buffer holds, then straight from the connection. Beyond
// freshExact the payload is read in pieces of freshExact bytes, allocated
// as the data arrives and joined into one buffer once all of it has come:
// a frame that declares a huge length and then stops costs about the
// bytes that came (not up to 3.4 times, as growing one buffer by doubling
// did), and a complete one costs twice its size while it is joined.
func (fr *frameReader) readFresh(n int, pre []byte) ([]byte, int, error) {
	b := make([]byte, min(n, freshExact))
	got := copy(b, pre)
	if k := min(fr.r.Buffered(), len(b)-got); k > 0 {
		k, _ = fr.r.Read(b[got : got+k]) // buffered: no read call, no error
		got += k
	}
	var pieces [][]byte // the full pieces before b, for a payload over freshExact
	at := 0             // where b starts in the payload
	for {
		k, err := io.ReadFull(fr.direct, b[got-at:])
		got += k
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return nil, got, err
		}
		if got == n {
			break
		}
		pieces = append(pieces, b)
		at = got
		b = make([]byte, min(freshExact, n-got))
	}
	if pieces == nil {
		return b, n, nil
	}
	whole := make([]byte, 0, n)
	for i := range pieces {
		whole = append(whole, pieces[i]...)
		pieces[i] = nil // collectable while the rest is copied
	}
	return append(whole, b...), n, nil
}
