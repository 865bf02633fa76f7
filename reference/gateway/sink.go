package gateway

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync/atomic"
	"time"

	"github.com/execnet-conform/execnet-conform/reference/codec"
	"github.com/execnet-conform/execnet-conform/reference/transport"
	"github.com/execnet-conform/execnet-conform/spec"
)

// Receiving a large bytes item into a file.
//
// A program that writes each large bytes item it receives to a file
// (rsync's receiver) would have the content copied twice by this process:
// from the connection into memory, and from memory into the file. When it
// knows which items are coming and where each goes, it says so with
// Channel.ExpectFiles. Then, if the connection can move bytes straight
// into a file (transport.FileReceiver: splice(2) from a pipe on Linux),
// the reading goroutine writes such an item's content to its file as it
// reads the frame, and Receive returns a *FileItem in its place. The frame
// is checked exactly as any other: only a CHANNEL_DATA frame for that
// channel whose payload is one bytes value of the expected length, at its
// expected place among the channel's items, is written to a file; every
// other frame, and every item that is not expected, takes the usual path,
// and every error (a stream cut short, a payload not closed by STOP) is
// the one the usual path gives.

// sinkMin is the smallest item written to a file by the reading
// goroutine: smaller ones come with other frames in the stream buffer.
const sinkMin = readBufSize

// FileSink says where the content of one expected bytes item goes
// (Channel.ExpectFiles).
type FileSink struct {
	// Size is the exact length of the item's bytes; an item of another
	// length is received as usual. Items under 256 KiB are always
	// received as usual.
	Size int64
	// Open opens the file to write the content to, at its current
	// offset (normally a new or truncated file). It is called on the
	// gateway's reading goroutine when the item's frame arrives, and
	// must not block on the gateway. If it fails, the item is received
	// as usual. The gateway closes the file.
	Open func() (*os.File, error)
}

// FileItem is what Receive returns in place of a bytes item that was
// written to the file of a FileSink.
type FileItem struct {
	// Size is the length of the item, as declared by its frame.
	Size int64
	// Err is set when writing the file failed (the item was then read
	// from the stream and dropped, the stream is intact).
	Err error
}

// Kind implements codec.Value: the item was a bytes value.
func (*FileItem) Kind() codec.Kind { return codec.KindBytes }

// ExpectFiles tells the gateway where the content of the next items of
// ch goes: sinks[i] is for the i-th item Receive returns from now on
// (sinks[0] the very next one). A sink with a nil Open expects nothing.
// When such an item arrives as a bytes value of exactly Size bytes, and
// the gateway can write it to a file without reading it into memory
// (CanReceiveFiles), it is written to the file that Open returns and
// Receive returns a *FileItem for it; otherwise Receive returns the item
// as usual. An item already received by the gateway when ExpectFiles is
// called is returned as usual. A later call replaces the sinks of an
// earlier one; ExpectFiles(nil) drops them. Channels with a callback get
// their items as usual.
func (ch *Channel) ExpectFiles(sinks []FileSink) {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	ch.sinkBase = ch.delivered - int64(len(ch.items)-ch.head)
	ch.sinks = sinks
	if ch.sinkSoon != nil {
		close(ch.sinkSoon)
		ch.sinkSoon = nil
	}
}

// sinkWait bounds how long a large bytes item waits for the ExpectFiles
// that ExpectFilesSoon announced.
const sinkWait = 200 * time.Millisecond

// ExpectFilesSoon tells the gateway that ExpectFiles will follow on ch
// soon, once the program has read the items that say which files come
// (rsync's structure). A large bytes item for ch that arrives before that
// call then waits for it, at most 200 ms, holding back the frames after
// it; so call ExpectFiles (or ExpectFiles(nil)) without waiting for any
// item that may come after the items expected in files.
func (ch *Channel) ExpectFilesSoon() {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	if ch.sinks == nil && ch.sinkSoon == nil {
		ch.sinkSoon = make(chan struct{})
	}
}

// takeSink returns the sink of the next item delivered to ch if it
// expects a bytes item of n bytes, and forgets it. Announced sinks
// (ExpectFilesSoon) are waited for, up to sinkWait.
func (ch *Channel) takeSink(n int64) (FileSink, bool) {
	ch.mu.Lock()
	if soon := ch.sinkSoon; soon != nil && !ch.hasCallback {
		ch.mu.Unlock()
		t := time.NewTimer(sinkWait)
		select {
		case <-soon:
		case <-t.C:
		}
		t.Stop()
		ch.mu.Lock()
		if ch.sinkSoon == soon { // waited long enough: never again
			close(soon)
			ch.sinkSoon = nil
		}
	}
	defer ch.mu.Unlock()
	i := ch.delivered - ch.sinkBase
	if ch.hasCallback || i < 0 || i >= int64(len(ch.sinks)) {
		return FileSink{}, false
	}
	s := ch.sinks[i]
	ch.sinks[i] = FileSink{}
	return s, s.Open != nil && s.Size == n
}

// CanReceiveFiles reports whether items expected with Channel.ExpectFiles
// are written to their files without passing through memory on this
// gateway's connection.
func (g *Gateway) CanReceiveFiles() bool {
	_, ok := g.conn.(transport.FileReceiver)
	return ok && sendFileSupported
}

// sinkFor is the frame reader's hook: the sink of a CHANNEL_DATA frame
// on channel id that is one bytes value of n bytes.
func (g *Gateway) sinkFor(id int32, n int64) (FileSink, bool) {
	ch := g.lookup(id)
	if ch == nil {
		return FileSink{}, false
	}
	return ch.takeSink(n)
}

// toFile reads the value of a CHANNEL_DATA frame of length bytes, whose
// prefix (fr.pfx) is read already and declares one bytes value, into
// the file of sink s, then reads STOP. handled is false when the file
// could not be opened: nothing more was read, and the caller goes on as
// usual. Otherwise got is the bytes of the payload read (prefix
// included) and either item is set or err is the frame reader's error,
// or payload is the frame's whole payload for the decoder (the value was
// not closed by STOP).
func (fr *frameReader) toFile(s FileSink, length int) (item *FileItem, payload []byte, got int, handled bool, err error) {
	n := int64(length) - 6
	f, oerr := s.Open()
	if oerr != nil {
		return nil, nil, 0, false, nil
	}
	defer f.Close()
	got = len(fr.pfx)
	var taken int64 // value bytes taken from the stream
	var ferr error  // the file's error: the rest is read and dropped
	if b := fr.r.Buffered(); b > 0 {
		p, _ := fr.r.Peek(int(min(int64(b), n)))
		if _, err := f.Write(p); err != nil {
			ferr = err
		}
		_, _ = fr.r.Discard(len(p))
		taken += int64(len(p))
	}
	if ferr == nil && taken < n {
		k, rerr := fr.recv.ReceiveFile(f, n-taken)
		taken += k
		switch {
		case rerr == nil:
		case errors.Is(rerr, io.ErrUnexpectedEOF) || errors.Is(rerr, os.ErrClosed):
			return nil, nil, got + int(taken), true, rerr
		case k == 0 && errors.Is(rerr, errors.ErrUnsupported):
			// No zero-copy path for this file: copy through memory.
			var m int64
			m, ferr, rerr = copyTo(f, fr.direct, n-taken)
			taken += m
			if rerr != nil {
				return nil, nil, got + int(taken), true, rerr
			}
		default:
			ferr = rerr
		}
	}
	if taken < n {
		// The file failed: take the rest of the value from the stream.
		k, rerr := io.CopyN(io.Discard, fr.direct, n-taken)
		taken += k
		if rerr != nil {
			return nil, nil, got + int(taken), true, io.ErrUnexpectedEOF
		}
	}
	got += int(taken)
	var sb [1]byte
	k, rerr := fr.readThrough(sb[:])
	got += k
	if rerr != nil {
		return nil, nil, got, true, rerr
	}
	if sb[0] != byte(spec.OpStop) {
		// Not closed by STOP: the decoder reports it as for any frame,
		// given the payload as it came (the value read back from the
		// file; zeros where it could not be).
		payload = make([]byte, length)
		copy(payload, fr.pfx[:])
		_, _ = f.ReadAt(payload[5:length-1], 0)
		payload[length-1] = sb[0]
		return nil, payload, got, true, nil
	}
	if ferr != nil {
		ferr = fmt.Errorf("gateway: writing %s: %w", f.Name(), ferr)
	}
	if cerr := f.Close(); cerr != nil && ferr == nil {
		ferr = fmt.Errorf("gateway: writing %s: %w", f.Name(), cerr)
	}
	fr.sunk += n
	return &FileItem{Size: n, Err: ferr}, nil, got, true, nil
}

// copyTo copies n bytes of r to f through a buffer. ferr is f's error
// (the copy stops; the rest is left in r), rerr r's.
func copyTo(f *os.File, r io.Reader, n int64) (done int64, ferr, rerr error) {
	buf := make([]byte, min(n, 1<<20))
	for done < n {
		k, err := io.ReadFull(r, buf[:min(int64(len(buf)), n-done)])
		if k > 0 {
			if _, werr := f.Write(buf[:k]); werr != nil {
				return done + int64(k), werr, nil
			}
			done += int64(k)
		}
		if err != nil {
			return done, nil, io.ErrUnexpectedEOF
		}
	}
	return done, nil, nil
}

// countedFileReceiver counts its receives in progress like countedReader
// counts its reads (held.go).
type countedFileReceiver struct {
	fr    transport.FileReceiver
	reads *atomic.Int64
}

func (c *countedFileReceiver) ReceiveFile(f *os.File, n int64) (int64, error) {
	c.reads.Add(1)
	defer c.reads.Add(1)
	return c.fr.ReceiveFile(f, n)
}
