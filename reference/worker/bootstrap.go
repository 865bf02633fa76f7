package worker

import (
	"bufio"
	"errors"
	"fmt"
	"io"
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

// maxIDLen bounds the worker id WorkerID accepts.
const maxIDLen = 200

func WorkerID(line []byte) string {
	// The form is id=NAME in quotes, where each quote may be escaped by a
	// backslash (the line is a Python literal) and NAME is 1 to maxIDLen
	// characters of [A-Za-z0-9_.:@+-]; "id" starts a word. (A hand scan,
	// not a regexp: compiling the bounded repetition cost every worker
	// process 0.4 ms at start-up.)
	found := ""
	for i := 0; i+3 <= len(line); i++ {
		if line[i] != 'i' || line[i+1] != 'd' || line[i+2] != '=' || (i > 0 && isWordByte(line[i-1])) {
			continue
		}
		j := i + 3
		if j < len(line) && line[j] == '\\' {
			j++
		}
		if j >= len(line) || (line[j] != '\'' && line[j] != '"') {
			continue
		}
		j++
		start := j
		for j < len(line) && isIDByte(line[j]) {
			j++
		}
		name := line[start:j]
		if j < len(line) && line[j] == '\\' {
			j++
		}
		if len(name) == 0 || len(name) > maxIDLen || j >= len(line) || (line[j] != '\'' && line[j] != '"') {
			continue
		}
		found = string(name)
		i = j
	}
	return found
}

func isWordByte(c byte) bool {
	return c == '_' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

func isIDByte(c byte) bool {
	return isWordByte(c) || c == '.' || c == ':' || c == '@' || c == '+' || c == '-'
}
