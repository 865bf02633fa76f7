// Package trace reads and writes recorded execnet sessions: the trace
// format "execnet-conform/trace/v1" that tap writes and replay reads.
//
// A trace is JSON lines (one JSON object per line, UTF-8). The first line
// is the header; every other line is one record, in the order the
// recorder saw them (the two directions interleave as they arrived):
//
//	{"schema":"execnet-conform/trace/v1","kind":"header","started":"2026-12-07T14:00:00.123Z","argv":["/usr/bin/python3","-u","-c","..."],"tool":"execnet-conform tap 0.1.0"}
//	{"kind":"bootstrap","t_us":2100,"from":"master","length":61234,"text":"'...source...'"}
//	{"kind":"ready","t_us":48000,"from":"worker","byte":"31"}
//	{"kind":"frame","t_us":48100,"from":"master","index":1,"offset":0,"code":"CHANNEL_EXEC","code_num":3,"channel":1,"length":1234,"hex":"4e...","repr":"(<source: 1200 chars>, None, None, {})"}
//	{"kind":"finding","t_us":48200,"finding":{"clause":"CHAN-STATE-9","level":"MUST","from":"worker","frame":7,"offset":811,"code":"CHANNEL_DATA","channel":1,"message":"..."}}
//	{"kind":"end","t_us":99000,"from":"master","offset":4096}
//	{"kind":"exit","t_us":99500,"status":"exit status 0"}
//	{"kind":"summary","t_us":99600,"frames":{"master":12,"worker":15},"bytes":{"master":70000,"worker":3000},"findings":0}
//
// Fields:
//
//   - t_us: microseconds since the recording started, taken when the
//     recorder read the bytes, before it passed them on (so an answer is
//     always later than what it answers). The records of the two directions are
//     written as each is judged, so across directions the file order may
//     differ slightly from t_us order; order by t_us (stably) to see the
//     session as the recorder saw it.
//   - Numbers that are 0 are left out (offset, channel, length).
//   - from: the sending side, "master" or "worker".
//   - bootstrap: the master's bootstrap line without its LF, as text
//     (Go's UTF-8 handling replaces invalid bytes; "hex" holds the exact
//     bytes when the line is not valid UTF-8).
//   - ready: the worker's first byte, in hex.
//   - frame: index counts the side's frames from 1; offset is the stream
//     offset of the frame after the handshake; code is the message code's
//     name (UNKNOWN(n) for others) and code_num its number; hex is the whole
//     payload unless "truncated" is true (the recorder's payload limit),
//     and then sha256 is the whole payload's SHA-256;
//     repr is the decoded payload as a Python literal, shortened, or
//     decode_error says why it does not decode.
//   - finding: a violation found by package monitor (its Finding fields).
//   - end: the side closed its stream; error says why when it did not end
//     at a frame boundary.
//   - exit: the worker process ended, with its status.
//   - summary: totals, written last.
//
// Readers must ignore fields they do not know; a new kind of record or
// field that changes the meaning of existing ones gets a new schema id.
package trace

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/execnet-conform/execnet-conform/conformance/monitor"
	"github.com/execnet-conform/execnet-conform/reference/codec"
	"github.com/execnet-conform/execnet-conform/reference/frame"
	"github.com/execnet-conform/execnet-conform/spec"
)

// Schema is the schema id of the trace format.
const Schema = "execnet-conform/trace/v1"

// Record kinds.
const (
	KindHeader    = "header"
	KindBootstrap = "bootstrap"
	KindReady     = "ready"
	KindFrame     = "frame"
	KindFinding   = "finding"
	KindEnd       = "end"
	KindExit      = "exit"
	KindSummary   = "summary"
)

// ErrFormat is matched (errors.Is) by every error about a trace that
// cannot be read.
var ErrFormat = errors.New("trace: bad trace")

// Record is one line of a trace.
type Record struct {
	Schema  string   `json:"schema,omitempty"` // header only
	Kind    string   `json:"kind"`
	Started string   `json:"started,omitempty"` // header: RFC 3339 time
	Argv    []string `json:"argv,omitempty"`    // header: the worker command
	Tool    string   `json:"tool,omitempty"`    // header: the recorder

	Micros int64        `json:"t_us"`
	From   monitor.Side `json:"from,omitempty"`

	Index       int    `json:"index,omitempty"`
	Offset      int64  `json:"offset,omitempty"`
	Code        string `json:"code,omitempty"`
	CodeNum     *int8  `json:"code_num,omitempty"`
	Channel     int32  `json:"channel,omitempty"`
	Length      int    `json:"length,omitempty"`
	Hex         string `json:"hex,omitempty"`
	Truncated   bool   `json:"truncated,omitempty"`
	SHA256      string `json:"sha256,omitempty"` // of the whole payload, when truncated
	Repr        string `json:"repr,omitempty"`
	DecodeError string `json:"decode_error,omitempty"`
	Text        string `json:"text,omitempty"` // bootstrap line
	Byte        string `json:"byte,omitempty"` // ready byte, hex

	Finding *monitor.Finding `json:"finding,omitempty"`
	Error   string           `json:"error,omitempty"`
	Status  string           `json:"status,omitempty"`

	Frames   map[monitor.Side]int   `json:"frames,omitempty"`
	Bytes    map[monitor.Side]int64 `json:"bytes,omitempty"`
	Findings *int                   `json:"findings,omitempty"`
}

// Frame returns the frame of a frame record, with its whole payload; it
// fails when the payload was truncated or its hex is bad.
func (r Record) Frame() (frame.Frame, error) {
	if r.Kind != KindFrame {
		return frame.Frame{}, fmt.Errorf("%w: a %s record is not a frame", ErrFormat, r.Kind)
	}
	if r.Truncated {
		return frame.Frame{}, fmt.Errorf("%w: %s frame %d: payload truncated by the recorder (%d bytes)", ErrFormat, r.From, r.Index, r.Length)
	}
	p, err := hex.DecodeString(r.Hex)
	if err != nil || len(p) != r.Length {
		return frame.Frame{}, fmt.Errorf("%w: %s frame %d: payload hex does not hold %d bytes", ErrFormat, r.From, r.Index, r.Length)
	}
	code := spec.MsgCode(0)
	switch {
	case r.CodeNum != nil:
		code = spec.MsgCode(*r.CodeNum)
	default:
		c, ok := codeByName(r.Code)
		if !ok {
			return frame.Frame{}, fmt.Errorf("%w: %s frame %d: unknown code %q", ErrFormat, r.From, r.Index, r.Code)
		}
		code = c
	}
	if len(p) == 0 {
		p = nil
	}
	return frame.Frame{Code: code, Channel: r.Channel, Payload: p}, nil
}

func codeByName(name string) (spec.MsgCode, bool) {
	for c := spec.MsgCode(0); c.Known(); c++ {
		if c.String() == name {
			return c, true
		}
	}
	return 0, false
}

// BootstrapLine returns the exact bytes of a bootstrap record's line.
func (r Record) BootstrapLine() ([]byte, error) {
	if r.Hex != "" {
		b, err := hex.DecodeString(r.Hex)
		if err != nil {
			return nil, fmt.Errorf("%w: bootstrap hex: %w", ErrFormat, err)
		}
		return b, nil
	}
	return []byte(r.Text), nil
}

// Trace is a whole recorded session.
type Trace struct {
	Header  Record
	Records []Record
}

// Read reads a trace. Errors match ErrFormat.
func Read(r io.Reader) (*Trace, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<30)
	t := &Trace{}
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		var rec Record
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			return nil, fmt.Errorf("%w: line %d: %w", ErrFormat, n, err)
		}
		if t.Header.Kind == "" {
			if rec.Kind != KindHeader || rec.Schema != Schema {
				return nil, fmt.Errorf("%w: line %d: not a %s header (schema %q, kind %q)", ErrFormat, n, Schema, rec.Schema, rec.Kind)
			}
			t.Header = rec
			continue
		}
		t.Records = append(t.Records, rec)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w: line %d: %w", ErrFormat, n+1, err)
	}
	if t.Header.Kind == "" {
		return nil, fmt.Errorf("%w: empty trace", ErrFormat)
	}
	return t, nil
}

// Findings returns the findings recorded in the trace.
func (t *Trace) Findings() []monitor.Finding {
	var out []monitor.Finding
	for _, r := range t.Records {
		if r.Kind == KindFinding && r.Finding != nil {
			out = append(out, *r.Finding)
		}
	}
	return out
}

// DefaultMaxPayload is the payload limit recorders use by default: larger
// payloads are recorded by their first 64 KiB and their SHA-256, since
// hex and JSON encoding of the whole of a bulk transfer would cost more
// than the transfer. Replay needs whole master frames; record with no
// limit for sessions that send large frames to the worker.
const DefaultMaxPayload = 64 << 10

// Writer writes a trace. It is safe for concurrent use.
type Writer struct {
	mu         sync.Mutex
	w          *bufio.Writer
	start      time.Time
	err        error
	MaxPayload int // payload bytes kept per frame record; <= 0: all (see DefaultMaxPayload)
	frames     map[monitor.Side]int
	bytes      map[monitor.Side]int64
	findings   int
}

// NewWriter writes the header (the recorder's name and the worker
// command) and returns a Writer. Times are relative to start.
func NewWriter(w io.Writer, start time.Time, tool string, argv []string) *Writer {
	tw := &Writer{w: bufio.NewWriterSize(w, 64<<10), start: start,
		frames: map[monitor.Side]int{}, bytes: map[monitor.Side]int64{}}
	tw.write(Record{Schema: Schema, Kind: KindHeader, Started: start.UTC().Format(time.RFC3339Nano), Tool: tool, Argv: argv})
	return tw
}

func (tw *Writer) write(r Record) {
	if tw.err != nil {
		return
	}
	enc := json.NewEncoder(tw.w) // one line per record, with its LF
	enc.SetEscapeHTML(false)
	tw.err = enc.Encode(r)
}

func (tw *Writer) since(t time.Time) int64 {
	if t.IsZero() {
		t = time.Now()
	}
	return t.Sub(tw.start).Microseconds()
}

// Event records a monitor event and its findings.
func (tw *Writer) Event(e monitor.Event) {
	tw.mu.Lock()
	defer tw.mu.Unlock()
	at := tw.since(e.At)
	switch e.Kind {
	case monitor.EventBootstrap:
		r := Record{Kind: KindBootstrap, Micros: at, From: e.From, Length: len(e.Line), Text: string(e.Line)}
		if !utf8.Valid(e.Line) {
			r.Hex = hex.EncodeToString(e.Line)
		}
		tw.bytes[e.From] += int64(len(e.Line) + 1)
		tw.write(r)
	case monitor.EventReady:
		tw.bytes[e.From]++
		tw.write(Record{Kind: KindReady, Micros: at, From: e.From, Byte: hex.EncodeToString([]byte{e.Byte})})
	case monitor.EventFrame:
		tw.frames[e.From]++
		tw.bytes[e.From] += int64(spec.HeaderSize + len(e.Frame.Payload))
		tw.write(FrameRecord(at, e.From, e.Index, e.Offset, e.Frame, e.Decoded, tw.MaxPayload))
	case monitor.EventEnd:
		r := Record{Kind: KindEnd, Micros: at, From: e.From, Offset: e.Offset}
		if e.Err != nil {
			r.Error = e.Err.Error()
		}
		tw.write(r)
	}
	for i := range e.Findings {
		tw.findings++
		tw.write(Record{Kind: KindFinding, Micros: at, Finding: &e.Findings[i]})
	}
}

// FrameRecord builds the record of one frame; maxPayload > 0 truncates
// the payload hex.
func FrameRecord(at int64, from monitor.Side, index int, offset int64, f frame.Frame, d monitor.Decoded, maxPayload int) Record {
	num := int8(f.Code)
	r := Record{Kind: KindFrame, Micros: at, From: from, Index: index, Offset: offset, Code: f.Code.String(), CodeNum: &num,
		Channel: f.Channel, Length: len(f.Payload)}
	p := f.Payload
	if maxPayload > 0 && len(p) > maxPayload {
		sum := sha256.Sum256(p)
		p, r.Truncated, r.SHA256 = p[:maxPayload], true, hex.EncodeToString(sum[:])
	}
	r.Hex = hex.EncodeToString(p)
	switch {
	case d.Value != nil && len(f.Payload) > reprPayloadMax:
		r.Repr = fmt.Sprintf("<not shown: %d bytes>", len(f.Payload))
	case d.Value != nil:
		r.Repr = Repr(f.Code, d.Value)
	case d.Err != nil:
		r.DecodeError = d.Err.Error()
	}
	return r
}

// reprMax bounds the characters of a record's repr.
const reprMax = 400

// reprPayloadMax is the largest payload whose value is rendered: the repr
// of a large value costs far more than the frame (and is cut anyway).
const reprPayloadMax = 64 << 10

// Repr renders a decoded payload for a trace: a CHANNEL_EXEC source is
// shown by its size, and long reprs are shortened.
func Repr(code spec.MsgCode, v codec.Value) string {
	var s string
	if t, ok := v.(codec.Tuple); ok && code == spec.MsgChannelExec && len(t) == 4 {
		if src, ok := t[0].(codec.Str); ok {
			s = fmt.Sprintf("(<source: %d chars>, %s, %s, %s)", len(src), codec.Repr(t[1]), codec.Repr(t[2]), codec.Repr(t[3]))
		}
	}
	if s == "" {
		s = codec.Repr(v)
	}
	if len(s) > reprMax {
		cut := reprMax
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + fmt.Sprintf("...(%d chars)", len(s))
	}
	return s
}

// Exit records the worker's exit status.
func (tw *Writer) Exit(status string) {
	tw.mu.Lock()
	defer tw.mu.Unlock()
	tw.write(Record{Kind: KindExit, Micros: tw.since(time.Time{}), Status: status})
}

// Flush writes buffered records to the underlying writer.
func (tw *Writer) Flush() error {
	tw.mu.Lock()
	defer tw.mu.Unlock()
	if tw.err == nil {
		tw.err = tw.w.Flush()
	}
	return tw.err
}

// Close writes the summary record and flushes. It returns the first
// error of any write.
func (tw *Writer) Close() error {
	tw.mu.Lock()
	n := tw.findings
	tw.write(Record{Kind: KindSummary, Micros: tw.since(time.Time{}), Frames: tw.frames, Bytes: tw.bytes, Findings: &n})
	tw.mu.Unlock()
	return tw.Flush()
}
