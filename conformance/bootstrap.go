package conformance

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"
)

// Bootstrap says how T.WithBootstrap starts a second session of a popen
// target.
type Bootstrap struct {
	// WorkerID is the id the bootstrap source passes to serve, which the
	// worker serves under (SPEC.md BOOT-ID-1); "" keeps the runner's
	// default, the target xspec's id= plus "-worker" or "gw0-worker".
	WorkerID string
	// WriteLine, when set, writes the bootstrap line (one Python string
	// literal and its LF, BOOT-HS-1, as the runner built it) to the
	// worker's standard input; a case may write it in pieces, or write a
	// line of its own that is still a literal of a bootstrap source. Nil
	// writes the line in one write.
	WriteLine func(w io.Writer, line string) error
}

// WritePieces writes pieces to w in order, pausing briefly between them so
// that a reader blocked in a read sees each piece as a read of its own. A
// Bootstrap.WriteLine can use it to cut the bootstrap line where it
// chooses.
func WritePieces(w io.Writer, pieces [][]byte) error {
	for i, p := range pieces {
		if i > 0 {
			time.Sleep(deliveryPause)
		}
		if _, err := w.Write(p); err != nil {
			return fmt.Errorf("writing piece %d of %d (%d bytes) of the bootstrap line: %w", i+1, len(pieces), len(p), err)
		}
	}
	return nil
}

// WithBootstrap starts a second session of the target as b says and runs
// body with every method of t talking to that session; afterwards t talks
// to the case's own session again and the second one is killed and
// reaped. The same rules as for WithSplitBootstrap apply: call it from
// the case's goroutine; a target that does not start fails the case; a
// target the runner does not start itself (ssh, socket, Options.Open) is
// a skip.
func (t *T) WithBootstrap(b Bootstrap, body func()) {
	if t.dial == nil {
		t.Skipf("%v", ErrNoSplitBootstrap)
	}
	what := "the runner's bootstrap line"
	if b.WorkerID != "" {
		what = fmt.Sprintf("a bootstrap line naming worker id %q", b.WorkerID)
	}
	t.withSession(b, func() string { return what }, what, body)
}

// withSession opens the second session of WithBootstrap and
// WithSplitBootstrap: note says what was written, for the trace; what
// names the bootstrap in the failure message.
func (t *T) withSession(b Bootstrap, note func() string, what string, body func()) {
	if t.dial == nil {
		t.Skipf("%v", ErrNoSplitBootstrap)
	}
	side, err := t.dial(t.ctx, b)
	if err != nil {
		if errors.Is(err, ErrNoSplitBootstrap) {
			t.Skipf("%v", err)
		}
		t.Fatalf("the target did not start with %s: %v", what, err)
	}
	t.sess.tr.note("second session started; %s", note())
	side.beginCase()
	own := t.sess
	t.sess = side
	defer func() {
		t.sess = own
		side.kill(context.WithoutCancel(t.ctx))
	}()
	body()
}
