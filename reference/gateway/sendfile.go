package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/execnet-conform/execnet-conform/reference/codec"
	"github.com/execnet-conform/execnet-conform/reference/frame"
	"github.com/execnet-conform/execnet-conform/reference/transport"
	"github.com/execnet-conform/execnet-conform/spec"
)

// Sending a file's content as one bytes item.
//
// A bulk transfer of files (rsync) sends each file as one bytes item. Read
// into memory and then written to the connection, every byte is copied
// twice by the sending process. Channel.SendFile writes the same frame,
// byte for byte, but when the connection can take bytes straight from a
// file (transport.FileSender: splice(2) into a popen worker's pipe on
// Linux), the content never passes through this process's memory: the
// frame's prefix (header, opcode, length) is written, then the file's
// pages are spliced into the pipe, then STOP, all under the write lock,
// so that no other frame comes between.

// sendFileMin is the smallest content SendFile sends from the file
// itself; smaller contents are read and sent as any item (batched).
const sendFileMin = directMin

// ErrFileChanged is wrapped by the error of SendFile when the file ended
// before the size given: after the frame's prefix declared that size, so
// the stream could not carry another frame and the gateway's connection
// was closed.
var ErrFileChanged = errors.New("gateway: the file ended before the size sent")

// fileBody is the content of a frame taken from a file (writeFrame).
type fileBody struct {
	f      *os.File
	off, n int64
	// spliced counts the bytes moved without a copy (tests).
	spliced int64
}

// write writes the body to conn: from the file itself where conn can
// (transport.FileSender), otherwise, or if the system refuses this file,
// through a buffer. It returns the bytes written.
func (b *fileBody) write(conn io.Writer) (int64, error) {
	var done int64
	if fs, ok := conn.(transport.FileSender); ok {
		k, err := fs.SendFile(b.f, b.off, b.n)
		done, b.spliced = k, k
		if err == nil || !(k == 0 && errors.Is(err, errors.ErrUnsupported)) {
			return done, b.fileErr(err)
		}
	}
	k, err := io.Copy(conn, io.NewSectionReader(b.f, b.off+done, b.n-done))
	done += k
	if err == nil && done < b.n {
		err = io.ErrUnexpectedEOF
	}
	return done, b.fileErr(err)
}

func (b *fileBody) fileErr(err error) error {
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%s: %w (%w)", b.f.Name(), ErrFileChanged, err)
	}
	return err
}

// CanSendFile reports whether SendFile sends a file's content without
// reading it into memory on this gateway's connection (a popen worker's
// pipe on Linux). SendFile works on every gateway; without this it reads
// the content and sends it as Send does.
func (g *Gateway) CanSendFile() bool {
	_, ok := g.conn.(transport.FileSender)
	return ok && sendFileSupported
}

// SendFile sends n bytes of f, from offset off, as one bytes item: the
// peer receives the same frame as from Send(ctx, codec.Bytes(content)).
// Where the connection allows (CanSendFile) and n is at least 256 KiB,
// the content goes from the file to the connection without passing
// through this process's memory; otherwise it is read first (a file
// shorter than off+n then fails with io.ErrUnexpectedEOF before anything
// is sent). f must not be written to while SendFile runs: if it ends
// before off+n once the frame has begun, SendFile fails with an error
// wrapping ErrFileChanged and the connection is closed, as after any
// write that stopped within a frame. On the zero-copy path the pipe holds
// references to the file's pages until the peer reads them, so a write
// to the file's last pipeful of content just after SendFile returns may
// still reach the peer (as a write during a read would).
func (ch *Channel) SendFile(ctx context.Context, f *os.File, off, n int64) error {
	if n < 0 || off < 0 {
		return fmt.Errorf("gateway %s: SendFile of %s: negative offset or size", ch.gw.id, f.Name())
	}
	if n < sendFileMin || n > 1<<31-1-6 || !ch.gw.CanSendFile() {
		if n > 1<<31-1-6 {
			return fmt.Errorf("gateway %s: %s on channel %d: %w", ch.gw.id, spec.MsgChannelData, ch.id, frame.ErrPayloadTooLong)
		}
		data := make([]byte, n)
		if _, err := f.ReadAt(data, off); err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return fmt.Errorf("gateway %s: SendFile of %s: %w", ch.gw.id, f.Name(), err)
		}
		return ch.Send(ctx, codec.Bytes(data))
	}
	ch.mu.Lock()
	closed := ch.closed
	ch.mu.Unlock()
	if closed {
		return &ChannelClosedError{ID: ch.id, Op: "send"}
	}
	body := &fileBody{f: f, off: off, n: n}
	err := ch.gw.writeFrame(ctx, spec.MsgChannelData, ch.id, nil, nil, body)
	ch.gw.spliced.Add(body.spliced)
	return err
}

// ZeroCopyStats reports the zero-copy paths taken so far: sent is the
// bytes moved from files to the connection without passing through this
// process's memory (Channel.SendFile), received the bytes of the items
// the gateway wrote to files as they arrived (Channel.ExpectFiles; all
// but what the stream buffer held already are moved without a copy).
func (g *Gateway) ZeroCopyStats() (sent, received int64) {
	return g.spliced.Load(), g.sunk.Load()
}
