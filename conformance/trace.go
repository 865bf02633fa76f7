package conformance

import (
	"encoding/hex"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/execnet-conform/execnet-conform/reference/codec"
	"github.com/execnet-conform/execnet-conform/reference/frame"
	"github.com/execnet-conform/execnet-conform/spec"
)

// Trace limits: payload bytes shown in hex, characters of decoded repr,
// and entries kept per case in memory (the --trace file gets all).
const (
	traceHexMax  = 96
	traceReprMax = 160
	traceKeep    = 64
	// traceDecodeMax is the largest payload decoded for a trace repr.
	traceDecodeMax = 1 << 16
)

// Direction of a trace entry.
const (
	DirSend = "send" // runner → target, a whole frame
	DirRaw  = "raw"  // runner → target, arbitrary bytes (SendRaw)
	DirRecv = "recv" // target → runner
	DirNote = "note" // an event: connection end, dropped frame, restart
)

// TraceEntry is one recorded frame or event of a session.
type TraceEntry struct {
	At      time.Duration `json:"-"`    // since the run started
	Micros  int64         `json:"t_us"` // At in microseconds
	Dir     string        `json:"dir"`
	Code    string        `json:"code,omitempty"`
	Channel int32         `json:"channel"`
	Length  int           `json:"length"`
	Hex     string        `json:"hex,omitempty"` // payload (raw bytes for DirRaw), truncated
	Repr    string        `json:"repr,omitempty"`
	Note    string        `json:"note,omitempty"`
}

// String renders the entry on one line.
func (e TraceEntry) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%9.3fms ", float64(e.At.Microseconds())/1000)
	switch e.Dir {
	case DirNote:
		b.WriteString("   -- ")
		b.WriteString(strings.ReplaceAll(e.Note, "\n", "\n                  "))
		return b.String()
	case DirSend:
		b.WriteString("  >> ")
	case DirRaw:
		b.WriteString(" >>> raw ")
		fmt.Fprintf(&b, "%d bytes: %s", e.Length, e.Hex)
		if e.Note != "" {
			b.WriteString("  # " + e.Note)
		}
		return b.String()
	default:
		b.WriteString("  << ")
	}
	fmt.Fprintf(&b, "%s ch=%d len=%d", e.Code, e.Channel, e.Length)
	if e.Hex != "" {
		b.WriteString(" | " + e.Hex)
	}
	if e.Repr != "" {
		b.WriteString("  = " + e.Repr)
	}
	if e.Note != "" {
		b.WriteString("  # " + e.Note)
	}
	return b.String()
}

func hexTrunc(b []byte) string {
	if len(b) <= traceHexMax {
		return hex.EncodeToString(b)
	}
	return hex.EncodeToString(b[:traceHexMax]) + fmt.Sprintf("...(+%d bytes)", len(b)-traceHexMax)
}

func reprTrunc(s string) string {
	if len(s) <= traceReprMax {
		return s
	}
	cut := traceReprMax
	for cut > 0 && !utf8Start(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}

func utf8Start(c byte) bool { return c&0xC0 != 0x80 }

// tracer records the entries of one run. It keeps the recent entries of the
// current case and writes every entry to an optional run-wide log.
type tracer struct {
	mu     sync.Mutex
	start  time.Time
	w      io.Writer // run-wide log, may be nil
	werr   error     // first write error on w
	caseID string
	recent []TraceEntry // ring of the current case's last traceKeep entries
	total  int
}

func newTracer(start time.Time, w io.Writer) *tracer {
	return &tracer{start: start, w: w}
}

// beginCase starts a new case's trace.
func (tr *tracer) beginCase(id string) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.caseID = id
	tr.recent = tr.recent[:0]
	tr.total = 0
	if tr.w != nil && tr.werr == nil {
		_, tr.werr = fmt.Fprintf(tr.w, "=== %s\n", id)
	}
}

// entries returns a copy of the current case's recent entries, oldest first.
func (tr *tracer) entries() []TraceEntry {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	out := make([]TraceEntry, len(tr.recent))
	copy(out, tr.recent)
	return out
}

func (tr *tracer) add(e TraceEntry) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	e.At = time.Since(tr.start)
	e.Micros = e.At.Microseconds()
	tr.total++
	if len(tr.recent) == traceKeep {
		copy(tr.recent, tr.recent[1:])
		tr.recent = tr.recent[:traceKeep-1]
	}
	tr.recent = append(tr.recent, e)
	if tr.w != nil && tr.werr == nil {
		_, tr.werr = fmt.Fprintf(tr.w, "%s\n", e)
	}
}

func (tr *tracer) note(format string, args ...any) {
	tr.add(TraceEntry{Dir: DirNote, Note: fmt.Sprintf(format, args...)})
}

// frameEntry builds the entry for a whole frame, decoding its payload when
// it holds one serialized value.
func frameEntry(dir string, f frame.Frame) TraceEntry {
	return frameEntryValue(dir, f, nil)
}

// frameEntryValue is frameEntry with the payload already decoded as v
// (nil: not decoded yet).
func frameEntryValue(dir string, f frame.Frame, v codec.Value) TraceEntry {
	e := TraceEntry{Dir: dir, Code: f.Code.String(), Channel: f.Channel, Length: len(f.Payload)}
	if len(f.Payload) > 0 {
		e.Hex = hexTrunc(f.Payload)
		if len(f.Payload) > traceDecodeMax {
			e.Repr = fmt.Sprintf("<not decoded: %d bytes>", len(f.Payload))
		} else if v != nil {
			e.Repr = reprTrunc(traceRepr(f.Code, v))
		} else if v, err := loads(f.Payload); err == nil {
			e.Repr = reprTrunc(traceRepr(f.Code, v))
		} else {
			e.Repr = "<undecodable: " + reprTrunc(err.Error()) + ">"
		}
	}
	return e
}

// traceRepr renders a decoded payload; a CHANNEL_EXEC source is shown by
// size only, since it is long and mostly padding.
func traceRepr(code spec.MsgCode, v codec.Value) string {
	if t, ok := v.(codec.Tuple); ok && code == spec.MsgChannelExec && len(t) == 4 {
		if src, ok := t[0].(codec.Str); ok {
			return fmt.Sprintf("(<source: %d chars>, %s, %s, %s)", len(src), repr(t[1]), repr(t[2]), repr(t[3]))
		}
	}
	return repr(v)
}
