package transport

import (
	"errors"
	"os"
)

// FileSender is implemented by a Conn whose sending half can take bytes
// straight from a regular file, without copying them through the
// program's memory (Linux: splice(2) into the pipe to a popen worker).
// The gateway uses it for a large bytes item whose content is a file
// (gateway.Channel.SendFile).
type FileSender interface {
	// SendFile writes exactly n bytes of f, from offset off, to the
	// stream. It returns the bytes written; fewer than n only with an
	// error. An error wrapping errors.ErrUnsupported with nothing written
	// means that the zero-copy path is not available for this stream or
	// this file: the caller writes the bytes itself. A file that ends
	// before off+n gives an error wrapping io.ErrUnexpectedEOF.
	SendFile(f *os.File, off, n int64) (int64, error)
}

// errNoZeroCopy is the ErrUnsupported answer of SendFile and ReceiveFile.
var errNoZeroCopy = errors.Join(errors.New("transport: no zero-copy file transfer on this stream"), errors.ErrUnsupported)

// SendFile implements FileSender: it splices f into the worker's stdin
// pipe where the system supports it (Linux).
func (c *popenConn) SendFile(f *os.File, off, n int64) (int64, error) {
	return sendFile(c.w, f, off, n)
}

// FileReceiver is implemented by a Conn whose receiving half can move
// bytes of the stream straight into a regular file, without copying them
// through the program's memory (Linux: splice(2) from the pipe a popen
// worker or the Go worker reads). The gateway uses it for a large bytes
// item that the program asked to have written to a file
// (gateway.Channel.ExpectFiles).
type FileReceiver interface {
	// ReceiveFile moves exactly n bytes of the stream into f at its
	// current offset, and returns how many it took from the stream;
	// fewer than n only with an error. If the stream ends first, the
	// error wraps io.ErrUnexpectedEOF; if the stream was closed, it
	// wraps os.ErrClosed; any other error is the file's (a full disk),
	// and the bytes not yet taken are still in the stream. An error
	// wrapping errors.ErrUnsupported with nothing taken means that the
	// zero-copy path is not available for this stream or this file:
	// the caller reads the bytes itself.
	ReceiveFile(f *os.File, n int64) (int64, error)
}

// ReceiveFile implements FileReceiver: it splices the worker's stdout
// pipe into f where the system supports it (Linux).
func (c *popenConn) ReceiveFile(f *os.File, n int64) (int64, error) {
	if c.wf == nil {
		return 0, errNoZeroCopy
	}
	return c.wf.ReceiveFile(f, n)
}

// NewPipeConn returns a Conn over two pipes of this process, r to read
// and w to write, that takes the zero-copy paths as a popen connection
// does (FileSender into w, FileReceiver out of r), with w's kernel buffer
// grown to PipeSize. It connects two gateways in one process (tests,
// embedding). It has no process; Close closes both pipes.
func NewPipeConn(r, w *os.File) (Conn, error) {
	wf, err := NewWaitFile(r)
	if err != nil {
		return nil, err
	}
	GrowPipe(w, PipeSize)
	return &pipeConn{wf: wf, w: w}, nil
}

type pipeConn struct {
	wf *WaitFile
	w  *os.File
}

func (c *pipeConn) Read(p []byte) (int, error)  { return c.wf.Read(p) }
func (c *pipeConn) Write(p []byte) (int, error) { return c.w.Write(p) }
func (c *pipeConn) CloseWrite() error           { return c.w.Close() }
func (c *pipeConn) Process() Process            { return nil }
func (c *pipeConn) Close() error {
	c.w.Close()
	return c.wf.Close()
}

// SendFile implements FileSender (splice(2) into w on Linux).
func (c *pipeConn) SendFile(f *os.File, off, n int64) (int64, error) {
	return sendFile(c.w, f, off, n)
}

// ReceiveFile implements FileReceiver (splice(2) out of r on Linux).
func (c *pipeConn) ReceiveFile(f *os.File, n int64) (int64, error) {
	return c.wf.ReceiveFile(f, n)
}
