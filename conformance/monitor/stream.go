package monitor

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/execnet-conform/execnet-conform/conformance/finding"
	"github.com/execnet-conform/execnet-conform/reference/frame"
	"github.com/execnet-conform/execnet-conform/spec"
)

// Event kinds.
const (
	EventBootstrap = "bootstrap" // the master's bootstrap line
	EventReady     = "ready"     // the worker's ready byte
	EventFrame     = "frame"     // one whole frame
	EventEnd       = "end"       // the side closed its stream (cleanly or inside a frame)
)

// Event is one thing the monitor saw on a side's stream, with the
// findings it caused.
type Event struct {
	Kind string
	From Side
	// At is when the bytes that completed the event were written to the
	// monitor (for a tap: when they passed the proxy).
	At     time.Time
	Index  int   // the frame's number in its direction, from 1 (EventFrame)
	Offset int64 // stream offset after the handshake (EventFrame, EventEnd)
	Frame  frame.Frame
	// Decoded is the frame's payload, when its code carries a value.
	Decoded Decoded
	// Line is the bootstrap line without its LF (EventBootstrap); Byte
	// the ready byte (EventReady).
	Line []byte
	Byte byte
	// Err is why the stream ended (EventEnd): nil at a frame boundary.
	Err      error
	Findings []Finding
}

// Options configure a Monitor.
type Options struct {
	// Handshake: the streams start with the bootstrap handshake (the
	// master's line, the worker's ready byte), as a popen or ssh worker's
	// standard input and output do. Without it both start with frames.
	Handshake bool
	// OnEvent, if set, is called for every event, from the side's own
	// goroutine, one call at a time for the whole monitor.
	OnEvent func(Event)
	// MaxLine bounds the bootstrap line (default 16 MiB).
	MaxLine int
}

// Monitor judges the byte streams of one connection as they are written
// to it. Write and Close are safe for concurrent use.
type Monitor struct {
	o       Options
	checker *Checker
	evMu    sync.Mutex // serialises OnEvent and findings
	found   []Finding
	sides   map[Side]*sideFeed
	wg      sync.WaitGroup
}

// sideFeed passes one side's bytes to its reader goroutine.
type sideFeed struct {
	mu     sync.Mutex // guards closed and sending on chunks
	side   Side
	chunks chan chunk
	rest   []byte
	last   time.Time // arrival of the chunk read last (the reader's clock)
	closed bool
}

// chunk is a piece of a stream and when it was written to the monitor.
type chunk struct {
	b  []byte
	at time.Time
}

// queueDepth bounds the chunks waiting to be judged per side: a Write
// blocks when the judging falls this far behind, so memory stays bounded.
const queueDepth = 64

// New returns a monitor whose reader goroutines run until both sides are
// closed.
func New(o Options) *Monitor {
	if o.MaxLine <= 0 {
		o.MaxLine = 16 << 20
	}
	m := &Monitor{o: o, checker: NewChecker(), sides: map[Side]*sideFeed{}}
	for _, s := range []Side{Master, Worker} {
		f := &sideFeed{side: s, chunks: make(chan chunk, queueDepth)}
		m.sides[s] = f
		m.wg.Add(1)
		go m.read(f)
	}
	return m
}

// Write hands bytes sent by from to the monitor. It copies p. After
// Close(from) it does nothing. The events of these bytes carry the time
// of this call.
func (m *Monitor) Write(from Side, p []byte) { m.WriteAt(from, p, time.Now()) }

// WriteAt is Write with the time the bytes were seen. A proxy should take
// it when it has read the bytes, before it passes them on: then a reply
// is always stamped later than what it answers.
func (m *Monitor) WriteAt(from Side, p []byte, at time.Time) {
	f := m.sides[from]
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed || len(p) == 0 {
		return
	}
	f.chunks <- chunk{bytes.Clone(p), at}
}

// Close marks the end of from's stream; later calls and writes for that
// side do nothing.
func (m *Monitor) Close(from Side) {
	f := m.sides[from]
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.closed {
		f.closed = true
		close(f.chunks)
	}
}

// Wait waits until both sides are closed and judged, and returns every
// finding in the order found.
func (m *Monitor) Wait() []Finding {
	m.wg.Wait()
	return m.Findings()
}

// Findings returns the findings so far.
func (m *Monitor) Findings() []Finding {
	m.evMu.Lock()
	defer m.evMu.Unlock()
	return append([]Finding(nil), m.found...)
}

func (m *Monitor) emit(e Event) {
	m.evMu.Lock()
	defer m.evMu.Unlock()
	m.found = append(m.found, e.Findings...)
	if m.o.OnEvent != nil {
		m.o.OnEvent(e)
	}
}

// Read implements io.Reader over the chunks.
func (f *sideFeed) Read(p []byte) (int, error) {
	for len(f.rest) == 0 {
		c, ok := <-f.chunks
		if !ok {
			return 0, io.EOF
		}
		f.rest, f.last = c.b, c.at
	}
	n := copy(p, f.rest)
	f.rest = f.rest[n:]
	return n, nil
}

// drain discards the rest of the side's bytes (after a fatal finding the
// stream cannot be followed) so that Write never blocks.
func (f *sideFeed) drain() {
	for range f.chunks {
	}
}

func (m *Monitor) read(f *sideFeed) {
	defer m.wg.Done()
	defer f.drain()
	br := bufio.NewReaderSize(f, 64<<10)
	if m.o.Handshake && !m.handshake(f, br) {
		return
	}
	r := frame.NewReader(br)
	for index := 1; ; index++ {
		off := r.Offset()
		// The header is judged before its payload is awaited, as the
		// runner does: a stream that is not at a frame boundary (text,
		// junk) cannot be followed, and its "length" must not be waited
		// for. No bound on the length: that is a receiver's choice.
		if _, err := br.Peek(spec.HeaderSize); err == nil {
			hdr, _ := br.Peek(max(spec.HeaderSize, min(br.Buffered(), finding.ExcerptMax)))
			if fd := finding.Header(hdr, 0); fd != nil {
				m.emit(Event{Kind: EventEnd, From: f.side, At: f.last, Offset: off, Err: fd,
					Findings: fromFinding(fd, f.side, index, off)})
				return
			}
		}
		fr, err := r.ReadFrame()
		if err != nil {
			e := Event{Kind: EventEnd, From: f.side, At: f.last, Offset: off}
			if !errors.Is(err, io.EOF) {
				e.Err = err
				e.Findings = streamFindings(f.side, index, off, fr, err)
			}
			m.emit(e)
			return
		}
		dec, fs := m.checker.Frame(f.side, index, off, fr)
		m.emit(Event{Kind: EventFrame, From: f.side, At: f.last, Index: index, Offset: off, Frame: fr, Decoded: dec, Findings: fs})
	}
}

// streamFindings judges a frame reader's error with finding.ReadError.
// Any other error (the monitor's own feed only ends with io.EOF) is
// reported against FRM-HDR-1 as a stream that could not be read.
func streamFindings(from Side, index int, off int64, fr frame.Frame, err error) []Finding {
	if fd := finding.ReadError(err); fd != nil {
		return fromFinding(fd, from, index, off)
	}
	return []Finding{newFinding(finding.ClauseHeader, from, 0, off, fr, "reading the stream failed: %v", err)}
}

// handshake reads the side's part of the bootstrap handshake; it returns
// false when the stream cannot be followed further.
func (m *Monitor) handshake(fd *sideFeed, br *bufio.Reader) bool {
	s := fd.side
	if s == Worker {
		b, err := br.ReadByte()
		e := Event{Kind: EventReady, From: s, At: fd.last, Byte: b}
		switch {
		case err != nil:
			e.Kind, e.Err = EventEnd, err
			e.Findings = []Finding{hsFinding("BOOT-HS-3", s, "the worker's stream ended before the ready byte")}
		case b != '1':
			e.Findings = []Finding{hsFinding("BOOT-HS-3", s, fmt.Sprintf("the worker's first byte is 0x%02x, not 0x31 ('1')", b))}
		}
		m.emit(e)
		return err == nil && b == '1'
	}
	var line []byte
	for {
		chunk, err := br.ReadSlice('\n')
		line = append(line, chunk...)
		if len(line) > m.o.MaxLine {
			m.emit(Event{Kind: EventEnd, From: s, At: fd.last, Err: fmt.Errorf("bootstrap line longer than %d bytes", m.o.MaxLine),
				Findings: []Finding{hsFinding("BOOT-HS-1", s, fmt.Sprintf("no LF within the first %d bytes", m.o.MaxLine))}})
			return false
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			m.emit(Event{Kind: EventEnd, From: s, At: fd.last, Err: err, Line: line,
				Findings: []Finding{hsFinding("BOOT-HS-1", s, fmt.Sprintf("the master's stream ended inside the bootstrap line (%d bytes)", len(line)))}})
			return false
		}
		break
	}
	line = line[:len(line)-1]
	e := Event{Kind: EventBootstrap, From: s, At: fd.last, Line: line}
	if msg := literalShape(line); msg != "" {
		e.Findings = append(e.Findings, hsFinding("BOOT-HS-1", s, msg))
	}
	for i, c := range line {
		if c >= 0x80 {
			e.Findings = append(e.Findings, hsFinding("BOOT-HS-2", s, fmt.Sprintf("byte 0x%02x at %d of the bootstrap line is not ASCII", c, i)))
			break
		}
	}
	m.emit(e)
	return true
}

func hsFinding(clause string, s Side, msg string) Finding {
	f := Finding{Clause: clause, From: s, Message: msg}
	if c, ok := spec.Lookup(clause); ok {
		f.Level = c.Level
	}
	return f
}

// literalShape checks that line looks like one Python string literal (an
// optional prefix, then matching quotes around the rest). It returns what
// is wrong, or "".
func literalShape(line []byte) string {
	s := line
	for len(s) > 0 && bytes.IndexByte([]byte("rRbBuU"), s[0]) >= 0 {
		s = s[1:]
	}
	if len(s) < 2 || (s[0] != '\'' && s[0] != '"') || s[len(s)-1] != s[0] {
		head := line
		if len(head) > 40 {
			head = head[:40]
		}
		return fmt.Sprintf("the first line (%d bytes, starting %q) is not a Python string literal", len(line), head)
	}
	return ""
}
