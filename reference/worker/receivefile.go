package worker

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/execnet-conform/execnet-conform/reference/transport"
)

// ReceiveFile implements transport.FileReceiver: what the bootstrap reader
// still buffers is written first, then the served file (a pipe) is
// spliced into f where the system allows (transport.WaitFile).
func (c *streamConn) ReceiveFile(f *os.File, n int64) (int64, error) {
	if c.wait == nil {
		return 0, errors.Join(errors.New("worker: the stream is not a served file"), errors.ErrUnsupported)
	}
	var done int64
	if b := c.br.Buffered(); b > 0 && n > 0 {
		if _, err := c.wait.ReceiveFile(f, 0); err != nil {
			return 0, err // the system has no zero-copy path: read it all
		}
		p, _ := c.br.Peek(int(min(int64(b), n)))
		k, err := f.Write(p)
		_, _ = c.br.Discard(k)
		done += int64(k)
		if err != nil {
			return done, fmt.Errorf("worker: writing %s: %w", f.Name(), err)
		}
	}
	k, err := c.wait.ReceiveFile(f, n-done)
	if done > 0 && errors.Is(err, errors.ErrUnsupported) {
		// Part of the item went to f already: the rest by reads.
		var m int64
		m, err = io.CopyN(f, c.wait, n-done-k)
		k += m
		if errors.Is(err, io.EOF) {
			err = fmt.Errorf("worker: the stream ended within a file: %w", io.ErrUnexpectedEOF)
		}
	}
	return done + k, err
}

var _ transport.FileReceiver = (*streamConn)(nil)
