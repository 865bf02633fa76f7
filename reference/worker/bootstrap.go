package worker

import (
	"bufio"
	"bytes"
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

// idTail is how many bytes of the line read so far readBootstrap keeps
// for the next read's WorkerID scan: more than the longest id=NAME form
// (maxIDLen plus 7), so that a form split across two reads is seen whole
// in the second.
const idTail = maxIDLen + 56

// readBootstrap reads the bootstrap line, newline included, of at most
// limit bytes, and returns the worker id it names (WorkerID, "" when
// none) and its length. Its content is not otherwise interpreted: this
// worker runs no Python, so any line starts the protocol.
//
// The line is not kept: each read is scanned for the id with the last
// idTail bytes of the previous one in front, so a connection holds r's
// buffer plus a window of the same size whatever the line's length. The
// bound is checked on every read, as the bytes arrive: a line is refused
// as soon as limit bytes have come without a newline, not when the
// client stops sending.
func readBootstrap(r *bufio.Reader, limit int) (id string, n int, err error) {
	var win []byte // idTail bytes of the line before this read, then this read's bytes
	before := -1   // the byte before win[0], -1 at the start of the line
	for {
		if r.Buffered() == 0 {
			if _, err := r.Peek(1); err != nil { // one read call
				if errors.Is(err, io.EOF) {
					err = io.ErrUnexpectedEOF
				}
				return "", n, &BootstrapError{Read: n, Err: err}
			}
		}
		b, _ := r.Peek(r.Buffered()) // buffered: no read call
		chunk, nl := b, false
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			chunk, nl = b[:i+1], true
		}
		if m := n + len(chunk); m > limit || (!nl && m >= limit) {
			// Over the bound, or at it with no newline yet: the
			// newline would take it over.
			return "", m, &BootstrapError{Read: m, Err: ErrLineTooLong}
		}
		if win == nil {
			win = make([]byte, 0, idTail+r.Size())
		}
		win = append(win, chunk...)
		// Forms seen in an earlier window are seen again here, whole
		// or not at all; a later one wins, as in WorkerID.
		if found := scanID(win, before); found != "" {
			id = found
		}
		n += len(chunk)
		_, _ = r.Discard(len(chunk))
		if nl {
			return id, n, nil
		}
		if k := len(win) - idTail; k > 0 {
			before = int(win[k-1])
			win = append(win[:0], win[k:]...)
		}
	}
}

// maxIDLen bounds the worker id WorkerID accepts.
const maxIDLen = 200

func WorkerID(line []byte) string { return scanID(line, -1) }

// scanID is WorkerID on a part of a line: before is the byte that
// precedes it (for the word check), -1 if none.
func scanID(line []byte, before int) string {
	// The form is id=NAME in quotes, where each quote may be escaped by a
	// backslash (the line is a Python literal) and NAME is 1 to maxIDLen
	// characters of [A-Za-z0-9_.:@+-]; "id" starts a word. (A hand scan,
	// not a regexp: compiling the bounded repetition cost every worker
	// process 0.4 ms at start-up.)
	found := ""
	for i := 0; i+3 <= len(line); i++ {
		if line[i] != 'i' || line[i+1] != 'd' || line[i+2] != '=' || (i > 0 && isWordByte(line[i-1])) || (i == 0 && before >= 0 && isWordByte(byte(before))) {
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
