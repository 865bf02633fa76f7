package conformance

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/execnet-conform/execnet-conform/conformance/profile"
	"github.com/execnet-conform/execnet-conform/reference/codec"
	"github.com/execnet-conform/execnet-conform/reference/frame"
	"github.com/execnet-conform/execnet-conform/reference/transport"
	"github.com/execnet-conform/execnet-conform/spec"
)

// TargetInfo describes the implementation under test.
type TargetInfo struct {
	// Spec is the target's xspec.
	Spec string
	// Kind is the xspec's transport kind: "popen", "ssh", "socket", or
	// "" for a target started by Options.Open.
	Kind string
	// Implementation is the dict the target's conform_info procedure
	// sent (keys implementation, version, spec, language), with values as
	// text; empty when the target did not answer it.
	Implementation map[string]string
	// Pid is the local process id of the current session's worker, or 0.
	Pid int
	// Style is the bootstrap style the runner used for a Python target
	// ("import" or "exec"; the style= key of the xspec wins over
	// Options.Style), or "" for a target started by Options.Open. Cases
	// that start a further worker through the target (the via profile)
	// bootstrap it the same way.
	Style string
}

// Language returns the implementation's language as reported by
// conform_info, e.g. "go" or "python CPython 3.11.2".
func (i TargetInfo) Language() string { return i.Implementation["language"] }

// IsPython reports whether the target runs Python source (its language
// starts with "python").
func (i TargetInfo) IsPython() bool {
	return strings.HasPrefix(strings.ToLower(i.Language()), "python")
}

// T is the handle a case gets to report its verdict and to talk to the
// target. Fatalf, Skipf and the helpers documented as fatal end the case
// and must be called from the goroutine running the case's Run function;
// the other methods are safe for concurrent use.
type T struct {
	ctx   context.Context
	sess  *session
	c     *Case
	seed  int64
	count int
	info  TargetInfo
	// dial opens a second session started as its argument says
	// (WithBootstrap, WithSplitBootstrap); nil when the runner cannot.
	dial func(ctx context.Context, b Bootstrap) (*session, error)

	mu        sync.Mutex
	failed    bool
	skipped   bool
	skipMsg   string
	msgs      []string
	logs      []string
	timedOut  bool // a wait hit the case deadline
	connEnded bool // a wait saw the connection end
	endedOK   bool // ExpectEnd saw the end it expected
}

// Context returns the case's context; it ends at the case deadline.
func (t *T) Context() context.Context { return t.ctx }

// Deadline returns the case deadline.
func (t *T) Deadline() time.Time {
	d, _ := t.ctx.Deadline()
	return d
}

// ID returns the running case's id.
func (t *T) ID() string { return t.c.ID }

// Seed returns the run's random seed (for property cases).
func (t *T) Seed() int64 { return t.seed }

// Count returns how many values a property case should try.
func (t *T) Count() int { return t.count }

// Target returns information about the implementation under test.
func (t *T) Target() TargetInfo { return t.info }

// Logf records a message shown with the case's result.
func (t *T) Logf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	t.mu.Lock()
	t.logs = append(t.logs, msg)
	t.mu.Unlock()
	t.sess.tr.note("log: %s", msg)
}

// Errorf marks the case failed and records a message; the case goes on.
func (t *T) Errorf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	t.mu.Lock()
	t.failed = true
	t.msgs = append(t.msgs, msg)
	t.mu.Unlock()
	t.sess.tr.note("error: %s", msg)
}

// Fatalf is Errorf followed by the end of the case.
func (t *T) Fatalf(format string, args ...any) {
	t.Errorf(format, args...)
	runtime.Goexit()
}

// Skipf ends the case as skipped (e.g. a check that does not apply to
// this kind of target), unless it has already failed.
func (t *T) Skipf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	t.mu.Lock()
	t.skipped = true
	t.skipMsg = msg
	t.mu.Unlock()
	t.sess.tr.note("skip: %s", msg)
	runtime.Goexit()
}

// Failed reports whether the case has failed.
func (t *T) Failed() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.failed
}

// fatalErr ends the case with err, remembering whether it was a timeout
// or the end of the connection (which set the outcome).
func (t *T) fatalErr(what string, err error) {
	t.noteErr(err)
	t.Fatalf("%s: %v", what, err)
}

func (t *T) noteErr(err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if errors.Is(err, ErrTimeout) {
		t.timedOut = true
	}
	if errors.Is(err, ErrConnEnded) {
		t.connEnded = true
	}
}

// NewChannelID allocates a fresh odd channel id, never reused within the
// session. It is fatal once the odd positive int32 ids are used up.
func (t *T) NewChannelID() int32 {
	id, err := t.sess.newChannelID()
	if err != nil {
		t.Fatalf("new channel id: %v", err)
	}
	return id
}

// Send writes one frame to the target. It is fatal if the write fails.
func (t *T) Send(f frame.Frame) {
	if err := t.sess.send(f); err != nil {
		t.fatalErr("send", t.writeErr(err))
	}
}

// SendRaw writes arbitrary bytes (e.g. a malformed frame) to the target.
// It is fatal if the write fails; see TrySendRaw.
func (t *T) SendRaw(b []byte) {
	if err := t.TrySendRaw(b); err != nil {
		t.fatalErr("send raw bytes", err)
	}
}

// TrySendRaw writes arbitrary bytes and returns the write error, for
// cases where the target may legitimately have closed the connection.
func (t *T) TrySendRaw(b []byte) error {
	if err := t.sess.sendRaw(b, ""); err != nil {
		return t.writeErr(err)
	}
	return nil
}

// writeErr turns a write error into the end of the connection: a stream
// that cannot be written to is gone.
func (t *T) writeErr(err error) error {
	return t.sess.endedErrorWith(t.ctx, err)
}

// Recv returns the next frame from the target on any channel, waiting at
// most until the case deadline. Errors are *TimeoutError or
// *ConnEndedError (match ErrTimeout, ErrConnEnded).
func (t *T) Recv() (frame.Frame, error) {
	f, err := t.sess.recv(t.ctx, anyChannel, "any frame")
	if err != nil {
		t.noteErr(err)
	}
	return f, err
}

// RecvOn returns the next frame on channel ch; frames on other channels
// are kept for later calls.
func (t *T) RecvOn(ch int32) (frame.Frame, error) {
	f, err := t.sess.recv(t.ctx, ch, fmt.Sprintf("a frame on channel %d", ch))
	if err != nil {
		t.noteErr(err)
	}
	return f, err
}

// Expect receives the next frame on channel ch and checks its code. It
// is fatal on any mismatch or error.
func (t *T) Expect(code spec.MsgCode, ch int32) frame.Frame {
	want := fmt.Sprintf("%s on channel %d", code, ch)
	f, err := t.sess.recv(t.ctx, ch, want)
	if err != nil {
		t.fatalErr("expected "+want, err)
	}
	if f.Code != code {
		t.Fatalf("%v", &UnexpectedFrameError{Want: want, Got: f, Detail: describePayload(f)})
	}
	return f
}

// ExpectClose receives the next frame on ch; it must be CHANNEL_CLOSE.
func (t *T) ExpectClose(ch int32) {
	t.Expect(spec.MsgChannelClose, ch)
}

// ExpectCloseError receives the next frame on ch; it must be
// CHANNEL_CLOSE_ERROR whose payload is a serialized text, which it
// returns.
func (t *T) ExpectCloseError(ch int32) string {
	f := t.Expect(spec.MsgChannelCloseError, ch)
	v, err := loads(f.Payload)
	if err != nil {
		t.Fatalf("CHANNEL_CLOSE_ERROR payload on channel %d does not decode: %v (hex %s)", ch, err, hexTrunc(f.Payload))
	}
	s, ok := v.(codec.Str)
	if !ok {
		t.Fatalf("CHANNEL_CLOSE_ERROR payload on channel %d is %s, want str: %s", ch, v.Kind(), Describe(v, traceReprMax))
	}
	return string(s)
}

// SendData sends v as CHANNEL_DATA on ch. It is fatal if v cannot be
// encoded or the write fails.
func (t *T) SendData(ch int32, v codec.Value) {
	b, err := dumps(v)
	if err != nil {
		t.Fatalf("encoding data for channel %d: %v", ch, err)
	}
	t.Send(frame.Frame{Code: spec.MsgChannelData, Channel: ch, Payload: b})
}

// RecvData receives the next frame on ch, which must be CHANNEL_DATA,
// and decodes it. It returns the payload bytes too (also when decoding
// fails). A CHANNEL_CLOSE_ERROR is reported as an *UnexpectedFrameError
// carrying the remote error text.
func (t *T) RecvData(ch int32) (codec.Value, []byte, error) {
	want := fmt.Sprintf("CHANNEL_DATA on channel %d", ch)
	f, err := t.sess.recv(t.ctx, ch, want)
	if err != nil {
		t.noteErr(err)
		return nil, nil, err
	}
	if f.Code != spec.MsgChannelData {
		return nil, f.Payload, &UnexpectedFrameError{Want: want, Got: f, Detail: describePayload(f)}
	}
	v, err := loads(f.Payload)
	if err != nil {
		return nil, f.Payload, fmt.Errorf("CHANNEL_DATA on channel %d does not decode: %w", ch, err)
	}
	return v, f.Payload, nil
}

// ExpectData is RecvData, fatal on any error.
func (t *T) ExpectData(ch int32) codec.Value {
	v, _, err := t.RecvData(ch)
	if err != nil {
		t.fatalErr("receive data", err)
	}
	return v
}

// Exec starts conformance profile procedure proc on a new channel, as
// Python execnet's remote_exec(function, **kwargs) would, and returns the
// channel id. It is fatal if the payload cannot be built or sent.
func (t *T) Exec(proc string, kwargs ...codec.Item) int32 {
	d, err := codec.NewDict(kwargs...)
	if err != nil {
		t.Fatalf("exec %s: kwargs: %v", proc, err)
	}
	payload, err := profile.Payload(proc, d)
	if err != nil {
		t.Fatalf("exec %s: %v", proc, err)
	}
	return t.ExecPayload(payload)
}

// ExecSource sends a source-only CHANNEL_EXEC (source, None, None, {}) on
// a new channel and returns its id. Only Python workers run it; others
// must answer CHANNEL_CLOSE_ERROR.
func (t *T) ExecSource(source string) int32 {
	return t.ExecPayload(codec.Tuple{codec.Str(source), codec.None{}, codec.None{}, &codec.Dict{}})
}

// ExecPayload sends CHANNEL_EXEC with an arbitrary payload value on a
// new channel and returns its id.
func (t *T) ExecPayload(payload codec.Value) int32 {
	b, err := dumps(payload)
	if err != nil {
		t.Fatalf("encoding CHANNEL_EXEC payload: %v", err)
	}
	id := t.NewChannelID()
	t.Send(frame.Frame{Code: spec.MsgChannelExec, Channel: id, Payload: b})
	return id
}

// Status sends a STATUS request on a fresh channel id and returns the
// reply dict. The reply must be CHANNEL_DATA followed by CHANNEL_CLOSE on
// that id.
func (t *T) Status() (*codec.Dict, error) {
	b, err := t.sess.status(t.ctx)
	if err != nil {
		t.noteErr(err)
		return nil, err
	}
	v, err := loads(b)
	if err != nil {
		return nil, fmt.Errorf("STATUS reply does not decode: %w", err)
	}
	d, ok := v.(*codec.Dict)
	if !ok {
		return nil, fmt.Errorf("STATUS reply is %s, want dict: %s", v.Kind(), Describe(v, traceReprMax))
	}
	return d, nil
}

// ExpectEnd waits until the target ends the connection, ignoring frames
// it sends meanwhile. It is fatal (a timeout) if the connection is still
// open at the case deadline. The session is not reused afterwards.
func (t *T) ExpectEnd() {
	t.expectEnd(false)
}

// ExpectEndOrError is ExpectEnd that also accepts a CHANNEL_CLOSE_ERROR
// on any channel as the target's report of the error. The session is not
// reused afterwards.
func (t *T) ExpectEndOrError() {
	t.expectEnd(true)
}

func (t *T) expectEnd(orError bool) {
	t.sess.markEnding()
	for {
		f, err := t.sess.recv(t.ctx, anyChannel, "the target to end the connection")
		if err != nil {
			if errors.Is(err, ErrConnEnded) {
				t.mu.Lock()
				t.endedOK = true
				t.mu.Unlock()
				return
			}
			if errors.Is(err, ErrTimeout) {
				what := "end the connection"
				if orError {
					what += " or report an error"
				}
				t.noteErr(err)
				t.Fatalf("the target did not %s before the case deadline", what)
			}
			t.fatalErr("waiting for the end of the connection", err)
		}
		if orError && f.Code == spec.MsgChannelCloseError {
			t.mu.Lock()
			t.endedOK = true
			t.mu.Unlock()
			return
		}
	}
}

// CloseWrite closes the runner's sending half, so the target reads EOF.
// The session is not reused afterwards.
func (t *T) CloseWrite() {
	t.sess.markEnding()
	if err := t.sess.conn.CloseWrite(); err != nil {
		t.Fatalf("close the sending half: %v", err)
	}
}

// WaitExit waits (until the case deadline) for the target's process to
// exit and returns its status. It fails with ErrNoProcess when the
// transport started no local process.
func (t *T) WaitExit() (transport.ExitStatus, error) {
	p := t.sess.conn.Process()
	if p == nil {
		return transport.ExitStatus{}, ErrNoProcess
	}
	st, err := p.Wait(t.ctx)
	if err != nil && t.ctx.Err() != nil {
		err = &TimeoutError{Waiting: "the target process to exit"}
		t.noteErr(err)
	}
	return st, err
}

// Stderr returns the last 4 KiB the target's process wrote to its
// standard error since the session started (popen targets; "" for
// others). Output arrives asynchronously: poll until the deadline.
func (t *T) Stderr() string {
	if t.sess.stderr == nil {
		return ""
	}
	return t.sess.stderr.String()
}

// Discard marks the session unusable for later cases: the next case gets
// a fresh one. Use it after changing gateway-wide state.
func (t *T) Discard() { t.sess.markSpent() }

// Trace returns the recent frames and events of this case, oldest first.
func (t *T) Trace() []TraceEntry { return t.sess.tr.entries() }

// describePayload renders a frame's payload for error messages. For a
// CHANNEL_CLOSE_ERROR text it keeps the end, where a traceback names the
// exception.
func describePayload(f frame.Frame) string {
	if len(f.Payload) == 0 {
		return ""
	}
	v, err := loads(f.Payload)
	if err != nil {
		return "payload " + hexTrunc(f.Payload)
	}
	if text, ok := v.(codec.Str); ok && f.Code == spec.MsgChannelCloseError {
		return "remote error " + repr(codec.Str(tailText(strings.TrimSpace(string(text)), 300)))
	}
	return Describe(v, traceReprMax)
}

// tailText returns the last max bytes of s (on a character boundary),
// marked with a leading "..." when cut.
func tailText(s string, max int) string {
	if len(s) <= max {
		return s
	}
	i := len(s) - max
	for i < len(s) && !utf8Start(s[i]) {
		i++
	}
	return "..." + s[i:]
}
