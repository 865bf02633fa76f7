package transport

import (
	"io"
	"sync"
)

// stderrTailSize is how much of a worker's stderr is kept for messages.
const stderrTailSize = 4096

// tailWriter keeps the last max bytes written to it and passes every write
// on to next, if set. Errors from next are ignored, so a failing sink never
// blocks the worker.
type tailWriter struct {
	mu   sync.Mutex
	max  int
	buf  []byte
	next io.Writer
}

func (t *tailWriter) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.next != nil {
		_, _ = t.next.Write(p)
	}
	q := p
	if len(q) > t.max {
		q = q[len(q)-t.max:]
	}
	if over := len(t.buf) + len(q) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	t.buf = append(t.buf, q...)
	return len(p), nil
}

func (t *tailWriter) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}
