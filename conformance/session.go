package conformance

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"sync"
	"time"

	"github.com/execnet-conform/execnet-conform/conformance/finding"
	"github.com/execnet-conform/execnet-conform/reference/frame"
	"github.com/execnet-conform/execnet-conform/reference/transport"
	"github.com/execnet-conform/execnet-conform/spec"
)

// Session bounds.
const (
	// maxPayload is the largest frame payload the runner accepts from a
	// target; a larger declared length ends the session as malformed.
	maxPayload = 64 << 20
	// maxBacklog and maxBacklogBytes bound the frames read from the target
	// but not yet consumed by a case. When they are reached the reader
	// stops reading (the target's writes then block) until a case
	// consumes frames.
	maxBacklog      = 4096
	maxBacklogBytes = 64 << 20
	// maxFindings bounds the non-fatal findings kept per case.
	maxFindings = 4
)

// session is one bootstrapped connection to the target. A reader goroutine
// reads frames as they arrive (so the target never blocks on its writes
// while the backlog has room), records them in the trace, drops those on
// channels of earlier cases, and queues the rest; cases take frames from
// the queue by channel.
type session struct {
	conn   transport.Conn
	stderr *tailBuffer
	tr     *tracer

	stop  chan struct{} // closed by shutdown to release the reader
	rdone chan struct{} // closed when the reader goroutine returns

	wmu     sync.Mutex    // serialises writes
	nextID  int32         // next odd channel id
	mu      sync.Mutex    // guards the fields below
	ended   error         // first read error (io.EOF, *frame.Error, ...)
	pending []frame.Frame // frames read but not consumed, in arrival order
	pendB   int
	notify  chan struct{} // closed (and replaced) when pending grew or the stream ended
	space   chan struct{} // closed (and replaced) when pending shrank
	owner   map[int32]int // channel id → sequence number of the case that owns it
	caseSeq int
	spent   bool // not to be reused: a case ended it or left it unusable
	ending  bool // a case ended the session on purpose
	// fault is the finding that desynchronised the stream, if any;
	// findings are the non-fatal ones of the current case.
	fault    *finding.Finding
	findings []*finding.Finding

	closeOnce sync.Once
}

func newSession(conn transport.Conn, stderr *tailBuffer, tr *tracer) *session {
	s := &session{
		conn:   conn,
		stderr: stderr,
		tr:     tr,
		stop:   make(chan struct{}),
		rdone:  make(chan struct{}),
		notify: make(chan struct{}),
		space:  make(chan struct{}),
		nextID: 1,
		owner:  map[int32]int{},
	}
	go s.readLoop()
	return s
}

func (s *session) readLoop() {
	defer close(s.rdone)
	br := bufio.NewReaderSize(s.conn, 64<<10)
	r := frame.NewReader(br)
	r.MaxPayload = maxPayload
	// The bound is per frame: a frame that declares up to it gets its
	// buffer at once, so it costs its size and not the copies of growing.
	r.WholeAlloc = maxPayload
	for {
		off := r.Offset()
		// The header is judged before its payload is awaited: a stream
		// that is not at a frame boundary (text, junk) must not make the
		// runner wait for a payload that was never sent.
		if _, err := br.Peek(spec.HeaderSize); err == nil {
			hdr, _ := br.Peek(max(spec.HeaderSize, min(br.Buffered(), finding.ExcerptMax)))
			if fd := finding.Header(hdr, maxPayload); fd != nil {
				fd.Offset = off
				s.desync(fd)
				return
			}
		}
		f, err := r.ReadFrame()
		if err != nil {
			select {
			case <-s.stop:
				// Closed by the runner: not the target's doing.
				err = io.ErrClosedPipe
			default:
				if fd := finding.ReadError(err); fd != nil {
					s.desync(fd)
					return
				}
				s.tr.note("connection ended: %v", err)
			}
			s.mu.Lock()
			if s.ended == nil {
				s.ended = err
			}
			s.wakeLocked()
			s.mu.Unlock()
			return
		}
		v, fd := finding.Payload(f.Code, f.Channel, f.Payload)
		s.mu.Lock()
		if fd != nil {
			fd.Offset = off
			if len(s.findings) < maxFindings {
				s.findings = append(s.findings, fd)
			}
		}
		if _, seen := s.owner[f.Channel]; !seen && f.Channel != 0 {
			// A channel the target opened (or one we never allocated)
			// belongs to the case during which it first appears.
			s.owner[f.Channel] = s.caseSeq
		}
		stale := s.isStaleLocked(f.Channel)
		s.mu.Unlock()
		e := frameEntryValue(DirRecv, f, v)
		if fd != nil {
			e.Note = fd.Error()
		}
		if stale {
			e.Note = "dropped: channel of an earlier case" + sep(e.Note) + e.Note
			s.tr.add(e)
			continue
		}
		s.tr.add(e)
		if !s.enqueue(f) {
			return
		}
	}
}

// desync ends the session after a frame the runner cannot read past: the
// stream cannot be resynchronised, so the target is killed at once (as
// after a crash) rather than left to block writes or send more.
func (s *session) desync(fd *finding.Finding) {
	s.tr.note("stream desynchronised: %v", fd)
	s.mu.Lock()
	if s.fault == nil {
		s.fault = fd
	}
	if s.ended == nil {
		s.ended = &DesyncError{Finding: fd}
	}
	s.wakeLocked()
	s.mu.Unlock()
	if p := s.conn.Process(); p != nil {
		_ = p.Kill()
	}
	_ = s.conn.Close()
}

// faults returns the fatal finding that ended the session (or nil) and
// the non-fatal findings on frames received since the case began.
func (s *session) faults() (*finding.Finding, []*finding.Finding) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fault, append([]*finding.Finding(nil), s.findings...)
}

// enqueue adds f to the pending frames, waiting while the backlog is full.
// It returns false when the session is shut down meanwhile.
func (s *session) enqueue(f frame.Frame) bool {
	noted := false
	for {
		s.mu.Lock()
		if len(s.pending) == 0 || (len(s.pending) < maxBacklog && s.pendB+len(f.Payload) <= maxBacklogBytes) {
			s.pending = append(s.pending, f)
			s.pendB += len(f.Payload)
			s.wakeLocked()
			s.mu.Unlock()
			return true
		}
		space := s.space
		n, b := len(s.pending), s.pendB
		s.mu.Unlock()
		if !noted {
			s.tr.note("backlog full (%d frames, %d bytes not consumed by the case): reading paused", n, b)
			noted = true
		}
		select {
		case <-space:
		case <-s.stop:
			return false
		}
	}
}

// wakeLocked wakes receivers waiting for frames. s.mu must be held.
func (s *session) wakeLocked() {
	close(s.notify)
	s.notify = make(chan struct{})
}

// beginCase gives the session to a new case: frames on channels owned by
// earlier cases are dropped from now on.
func (s *session) beginCase() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.caseSeq++
	s.findings = nil
	kept := s.pending[:0]
	s.pendB = 0
	for _, f := range s.pending {
		if s.isStaleLocked(f.Channel) {
			continue
		}
		kept = append(kept, f)
		s.pendB += len(f.Payload)
	}
	clear(s.pending[len(kept):])
	s.pending = kept
	close(s.space)
	s.space = make(chan struct{})
}

func (s *session) isStaleLocked(ch int32) bool {
	seq, ok := s.owner[ch]
	return ok && seq < s.caseSeq
}

// newChannelID allocates the next odd channel id for the current case.
// Ids are never reused: once the last positive odd int32 is taken it
// fails with ErrIDsExhausted instead of wrapping (CHAN-ID-4).
func (s *session) newChannelID() (int32, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.nextID <= 0 {
		return 0, ErrIDsExhausted
	}
	id := s.nextID
	if id > math.MaxInt32-2 {
		s.nextID = -1 // exhausted
	} else {
		s.nextID += 2
	}
	s.owner[id] = s.caseSeq
	return id, nil
}

// send writes one frame. GATEWAY_TERMINATE ends the session on purpose.
func (s *session) send(f frame.Frame) error {
	s.tr.add(frameEntry(DirSend, f))
	if f.Code == spec.MsgGatewayTerminate {
		s.markEnding()
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if err := frame.Write(s.conn, f); err != nil {
		return fmt.Errorf("sending %s ch=%d: %w", f.Code, f.Channel, err)
	}
	return nil
}

// sendRaw writes arbitrary bytes.
func (s *session) sendRaw(b []byte, note string) error {
	s.tr.add(TraceEntry{Dir: DirRaw, Length: len(b), Hex: hexTrunc(b), Note: note})
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if _, err := s.conn.Write(b); err != nil {
		return fmt.Errorf("sending %d raw bytes: %w", len(b), err)
	}
	return nil
}

// anyChannel makes recv return the next frame on any channel.
const anyChannel = int32(-1 << 31)

// recv returns the next queued frame of the current case on channel ch
// (or on any channel when ch is anyChannel), waiting until one arrives,
// the stream ends or ctx ends. Several goroutines may wait at once, each
// for its own channel.
func (s *session) recv(ctx context.Context, ch int32, waiting string) (frame.Frame, error) {
	for {
		s.mu.Lock()
		for i, f := range s.pending {
			if ch == anyChannel || f.Channel == ch {
				s.pending = append(s.pending[:i], s.pending[i+1:]...)
				s.pendB -= len(f.Payload)
				close(s.space)
				s.space = make(chan struct{})
				s.mu.Unlock()
				return f, nil
			}
		}
		ended := s.ended
		notify := s.notify
		s.mu.Unlock()
		if ended != nil {
			return frame.Frame{}, s.endedError(ctx)
		}
		select {
		case <-notify:
		case <-ctx.Done():
			return frame.Frame{}, s.ctxErr(ctx, waiting)
		}
	}
}

// endedErr returns the read error that ended the session, or nil.
func (s *session) endedErr() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ended
}

func (s *session) ctxErr(ctx context.Context, waiting string) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return &TimeoutError{Waiting: waiting}
	}
	return fmt.Errorf("waiting for %s: %w", waiting, ctx.Err())
}

// endedError builds a *ConnEndedError, waiting briefly (within ctx) for the
// process's exit status.
func (s *session) endedError(ctx context.Context) error {
	return s.endedErrorWith(ctx, nil)
}

// endedErrorWith is endedError for a failed write: cause is used when the
// reader has not yet seen the end of the stream.
func (s *session) endedErrorWith(ctx context.Context, cause error) error {
	if s.endedErr() == nil && cause != nil {
		// A write failed: the reader usually sees why (EOF, a malformed
		// frame) a moment later, which says more than "broken pipe".
		select {
		case <-s.rdone:
		case <-time.After(200 * time.Millisecond):
		case <-ctx.Done():
		}
	}
	e := &ConnEndedError{Err: s.endedErr()}
	if e.Err == nil {
		e.Err = cause
	}
	if e.Err == nil {
		e.Err = io.ErrClosedPipe
	}
	if p := s.conn.Process(); p != nil {
		wctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		st, err := p.Wait(wctx)
		cancel()
		if err == nil {
			e.Status = &st
		}
	}
	if s.stderr != nil {
		e.Stderr = s.stderr.String()
	}
	return e
}

// status performs a STATUS round trip: the reply must be CHANNEL_DATA then
// CHANNEL_CLOSE on the requested id. It returns the reply payload.
func (s *session) status(ctx context.Context) ([]byte, error) {
	id, err := s.newChannelID()
	if err != nil {
		return nil, err
	}
	if err := s.send(frame.Frame{Code: spec.MsgStatus, Channel: id}); err != nil {
		return nil, s.endedErrorWith(ctx, err)
	}
	want := fmt.Sprintf("STATUS reply (CHANNEL_DATA) on channel %d", id)
	f, err := s.recv(ctx, id, want)
	if err != nil {
		return nil, err
	}
	if f.Code != spec.MsgChannelData {
		return nil, &UnexpectedFrameError{Want: want, Got: f}
	}
	want = fmt.Sprintf("CHANNEL_CLOSE after the STATUS reply on channel %d", id)
	g, err := s.recv(ctx, id, want)
	if err != nil {
		return nil, err
	}
	if g.Code != spec.MsgChannelClose {
		return nil, &UnexpectedFrameError{Want: want, Got: g}
	}
	return f.Payload, nil
}

// markSpent keeps the session from being reused by later cases.
func (s *session) markSpent() {
	s.mu.Lock()
	s.spent = true
	s.mu.Unlock()
}

// markEnding records that the case ends the session on purpose
// (GATEWAY_TERMINATE, CloseWrite, ExpectEnd): the end of the connection
// that follows is not a crash. The session is not reused either.
func (s *session) markEnding() {
	s.mu.Lock()
	s.spent = true
	s.ending = true
	s.mu.Unlock()
}

// deliberate reports whether the case ended the session on purpose.
func (s *session) deliberate() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ending
}

func (s *session) isSpent() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.spent || s.ended != nil
}

// kill ends the session at once: the stream is closed and the process
// group killed and reaped (within ctx).
func (s *session) kill(ctx context.Context) *transport.ExitStatus {
	return s.shutdown(ctx, false)
}

// terminate ends the session politely: GATEWAY_TERMINATE, then EOF, a
// short grace period for the process to exit, then kill.
func (s *session) terminate(ctx context.Context) *transport.ExitStatus {
	return s.shutdown(ctx, true)
}

func (s *session) shutdown(ctx context.Context, polite bool) *transport.ExitStatus {
	var st *transport.ExitStatus
	s.closeOnce.Do(func() {
		p := s.conn.Process()
		if polite && s.endedErr() == nil {
			_ = s.sendQuiet(frame.Frame{Code: spec.MsgGatewayTerminate})
			_ = s.conn.CloseWrite()
			if p != nil {
				wctx, cancel := context.WithTimeout(ctx, 2*time.Second)
				if x, err := p.Wait(wctx); err == nil {
					st = &x
				}
				cancel()
			}
		}
		close(s.stop)
		_ = s.conn.Close()
		if p != nil {
			// The whole process group is killed also when the leader
			// has exited on its own: a child it left behind (in the
			// background, or holding its stdout open) must not outlive
			// the session (SEC-RUN-1). Killing a group that is gone is
			// not an error.
			_ = p.Kill()
			if st == nil {
				wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
				if x, err := p.Wait(wctx); err == nil {
					st = &x
				}
				cancel()
			}
		}
		// The reader returns once the stream is closed.
		select {
		case <-s.rdone:
		case <-time.After(2 * time.Second):
		}
	})
	return st
}

// sendQuiet writes a frame without tracing (used during shutdown),
// bounded so a target that stopped reading cannot block it.
func (s *session) sendQuiet(f frame.Frame) error {
	done := make(chan error, 1)
	go func() {
		s.wmu.Lock()
		defer s.wmu.Unlock()
		done <- frame.Write(s.conn, f)
	}()
	select {
	case err := <-done:
		return err
	case <-time.After(time.Second):
		return ErrTimeout
	}
}

// tailBuffer keeps the last bytes written to it (a target's stderr).
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func newTailBuffer(max int) *tailBuffer { return &tailBuffer{max: max} }

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := len(p)
	if len(p) >= t.max {
		p = p[len(p)-t.max:]
		t.b = append(t.b[:0], p...)
		return n, nil
	}
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = append(t.b[:0], t.b[len(t.b)-t.max:]...)
	}
	return n, nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}
