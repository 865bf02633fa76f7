package worker

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
)

// DefaultMaxBootstrapLine bounds the bootstrap line. Python execnet's exec
// style sends the whole of its gateway_base.py source in this line (about
// 51 KB for execnet 1.9); 16 MiB leaves ample room.
const DefaultMaxBootstrapLine = 16 << 20

// ErrBootstrap is matched by every *BootstrapError.
var ErrBootstrap = errors.New("worker: bootstrap failed")

// BootstrapError reports a bootstrap line that could not be read: the
// stream ended or failed before a newline, or the line exceeded its bound.
type BootstrapError struct {
	Read int   // bytes read before the failure
	Err  error // io.ErrUnexpectedEOF, ErrLineTooLong or a read error
}

// ErrLineTooLong is the BootstrapError cause for a line over the bound.
var ErrLineTooLong = errors.New("bootstrap line too long")

func (e *BootstrapError) Error() string {
	return fmt.Sprintf("worker: reading the bootstrap line (after %d bytes): %v", e.Read, e.Err)
}

// Unwrap returns the cause.
func (e *BootstrapError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrBootstrap) true.
func (e *BootstrapError) Is(target error) bool { return target == ErrBootstrap }

// readBootstrapLine reads one line, newline included, of at most max
// bytes. Its content is not interpreted beyond WorkerID: this worker runs
// no Python, so any line starts the protocol.
func readBootstrapLine(r *bufio.Reader, max int) ([]byte, error) {
	var line []byte
	for {
		chunk, err := r.ReadSlice('\n')
		if len(line)+len(chunk) > max {
			return nil, &BootstrapError{Read: len(line) + len(chunk), Err: ErrLineTooLong}
		}
		line = append(line, chunk...)
		switch {
		case err == nil:
			return line, nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF):
			return nil, &BootstrapError{Read: len(line), Err: io.ErrUnexpectedEOF}
		default:
			return nil, &BootstrapError{Read: len(line), Err: err}
		}
	}
}

// idPattern finds "id='NAME'" as it appears in execnet's bootstrap source,
// where the line is a Python literal and the quotes may be escaped.
var idPattern = regexp.MustCompile(`\bid=\\?['"]([A-Za-z0-9_.:@+-]{1,200})\\?['"]`)

// WorkerID extracts the worker id (for example "gw0-worker") that
// execnet's bootstrap passes to serve(..., id='...'), or returns "" when
// the line has none. The last match wins, as the serve call comes last.
func WorkerID(line []byte) string {
	ms := idPattern.FindAllSubmatch(line, -1)
	if len(ms) == 0 {
		return ""
	}
	return string(bytes.Clone(ms[len(ms)-1][1]))
}
