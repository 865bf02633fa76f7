// Package monitor judges execnet traffic against SPEC.md: it is fed the
// bytes (or the frames) of both directions of one connection and returns
// findings, each naming the clause a side broke, the frame, the direction
// and what was wrong.
//
//	m := monitor.New(monitor.Options{Handshake: true})
//	m.Write(monitor.Master, bytesFromMaster)
//	m.Write(monitor.Worker, bytesFromWorker)
//	m.Close(monitor.Master)
//	m.Close(monitor.Worker)
//	for _, f := range m.Wait() {
//		fmt.Println(f) // [CHAN-STATE-9] worker frame 12 (CHANNEL_DATA ch=3): ...
//	}
//
// It is the one place where frame, channel-id, channel-state and payload
// rules are judged for observed traffic; tap (live traffic) and replay
// (a replayed session) use it, and the runner's session reader can hand
// each received frame to Checker.Frame.
//
// # What is checked
//
// Only rules that one side's byte stream decides on its own. The two
// directions run concurrently: when a proxy sees the master's
// CHANNEL_CLOSE before the worker's CHANNEL_DATA on the same channel, the
// worker may still have sent its frame before it read the close, so rules
// about how a side reacts to the other's frames (MSG-EXEC-5, MSG-DATA-3,
// replies to STATUS) are left to the conformance cases, which control the
// order. The monitor checks, per sending side:
//
//   - bootstrap (popen and ssh handshake): the master's first bytes are one
//     line holding a Python string literal [BOOT-HS-1], in ASCII
//     [BOOT-HS-2]; the worker's first byte is 0x31 [BOOT-HS-3];
//   - framing: a known message code [FRM-CODE-1], a non-negative length
//     [FRM-HDR-2], no stream end inside a frame [FRM-HDR-1], empty
//     payloads where prescribed [FRM-CODE-2];
//   - channel ids: id 0 only with RECONFIGURE and GATEWAY_TERMINATE, and
//     GATEWAY_TERMINATE only with id 0 [CHAN-ID-3, MSG-TERM-1]; no negative
//     id [CHAN-ID-1]; CHANNEL_EXEC and STATUS on a fresh id of the sender's
//     parity (odd for the master, even for the worker) [CHAN-ID-1,
//     CHAN-ID-2, MSG-EXEC-1, MSG-STATUS-1], and a STATUS id used for
//     nothing else [MSG-STATUS-1]; no channel reference below 1
//     [CHAN-ID-7];
//   - channel states: nothing on a channel after the sender's CHANNEL_CLOSE
//     or CHANNEL_CLOSE_ERROR [CHAN-STATE-9], no CHANNEL_DATA after its
//     CHANNEL_LAST_MESSAGE [MSG-LAST-1], nothing after the master's
//     GATEWAY_TERMINATE [MSG-TERM-1], no GATEWAY_TERMINATE from a worker
//     [MSG-TERM-3];
//   - payloads: CHANNEL_DATA, CHANNEL_EXEC, CHANNEL_CLOSE_ERROR and
//     RECONFIGURE payloads decode as exactly one value [MSG-DATA-1 for
//     CHANNEL_DATA, SER-WIRE-1 for the others, and the clauses of the
//     decoding error's class], with no bytes after STOP [SER-WIRE-2];
//     CHANNEL_EXEC has the shape
//     of table 8.4 [MSG-EXEC-1], RECONFIGURE is two bools [MSG-RECONF-1],
//     CHANNEL_CLOSE_ERROR carries a text [MSG-CLOSEERR-1].
//
// The frame-level judgements are not made here but by package
// conformance/finding, the ones the conformance runner applies to every
// frame its target sends: what a frame header means (finding.Header),
// what a frame reader's error means (finding.ReadError), which codes
// carry a value and whether a payload decodes (finding.Decode, with the
// reference codec and the channel string configuration). A payload beyond
// the codec's limits is reported in the event, not as a finding (limits
// are a receiver's choice). This package adds the rules that need the
// connection's state, and the handshake.
package monitor

import (
	"fmt"
	"sync"

	"github.com/execnet-conform/execnet-conform/conformance/finding"
	"github.com/execnet-conform/execnet-conform/reference/codec"
	"github.com/execnet-conform/execnet-conform/reference/frame"
	"github.com/execnet-conform/execnet-conform/spec"
)

// Side is the sender of a stream: the master or the worker.
type Side string

// Sides.
const (
	Master Side = "master"
	Worker Side = "worker"
)

// Finding is one rule a side broke.
type Finding struct {
	Clause string `json:"clause"`
	// Level is the clause's requirement level (MUST, SHOULD, MAY), from
	// the spec registry; "" when the registry does not know it.
	Level string `json:"level,omitempty"`
	From  Side   `json:"from"`
	// Frame is the frame's number in its direction, from 1; 0 for the
	// bootstrap and for stream-level findings.
	Frame   int    `json:"frame"`
	Offset  int64  `json:"offset"` // stream offset of the frame (after the handshake)
	Code    string `json:"code,omitempty"`
	Channel int32  `json:"channel"`
	Message string `json:"message"`
}

func (f Finding) String() string {
	where := string(f.From) + " bootstrap"
	if f.Frame > 0 {
		where = fmt.Sprintf("%s frame %d (%s ch=%d)", f.From, f.Frame, f.Code, f.Channel)
	}
	lvl := ""
	if f.Level != "" {
		lvl = " " + f.Level
	}
	return fmt.Sprintf("[%s]%s %s: %s", f.Clause, lvl, where, f.Message)
}

// Decoded is what Checker.Frame learned of a frame's payload.
type Decoded struct {
	Value codec.Value // nil when the code carries no value or decoding failed
	Err   error       // the decoding error, if any
	// Limited is set when the payload exceeded the codec's limits: not
	// checked, not a finding.
	Limited bool
}

// chanState is what one side has done on one channel.
type chanState struct {
	closed   bool // sent CHANNEL_CLOSE or CHANNEL_CLOSE_ERROR
	lastSent bool // sent CHANNEL_LAST_MESSAGE
	status   bool // the id of a STATUS request this side sent
}

// sideState is the per-sender state of a connection.
type sideState struct {
	used       map[int32]bool // ids this side has put in a frame header or a reference
	chans      map[int32]*chanState
	terminated bool // sent GATEWAY_TERMINATE
}

// Checker holds the state of one connection and judges its frames one by
// one. Frames of one side must be given in stream order; the two sides
// may be fed from two goroutines.
type Checker struct {
	mu    sync.Mutex
	sides map[Side]*sideState
}

// NewChecker returns a checker for a new connection.
func NewChecker() *Checker {
	c := &Checker{sides: map[Side]*sideState{}}
	for _, s := range []Side{Master, Worker} {
		c.sides[s] = &sideState{used: map[int32]bool{}, chans: map[int32]*chanState{}}
	}
	return c
}

// parity returns 1 for the master's ids (odd), 0 for the worker's (even).
func parity(s Side) int32 {
	if s == Master {
		return 1
	}
	return 0
}

func newFinding(clause string, from Side, index int, offset int64, f frame.Frame, format string, a ...any) Finding {
	fd := Finding{Clause: clause, From: from, Frame: index, Offset: offset, Code: f.Code.String(), Channel: f.Channel,
		Message: fmt.Sprintf(format, a...)}
	if c, ok := spec.Lookup(clause); ok {
		fd.Level = c.Level
	}
	return fd
}

// Frame judges one whole frame sent by from; index counts the side's
// frames from 1 and offset is the frame's stream offset (both only for
// the findings). It decodes the payload with finding.Decode and returns
// the decoded payload and the findings: the payload's, then Judge's.
func (c *Checker) Frame(from Side, index int, offset int64, f frame.Frame) (Decoded, []Finding) {
	p := finding.Decode(f.Code, f.Channel, f.Payload)
	out := fromFinding(p.Finding, from, index, offset)
	out = append(out, c.Judge(from, index, offset, f, p)...)
	return Decoded{Value: p.Value, Err: p.Err, Limited: p.Limited}, out
}

// fromFinding turns a frame-level finding into one Finding per clause it
// names.
func fromFinding(fd *finding.Finding, from Side, index int, offset int64) []Finding {
	if fd == nil {
		return nil
	}
	var out []Finding
	for _, cl := range fd.Clauses() {
		f := Finding{Clause: cl, From: from, Frame: index, Offset: offset, Message: fd.Message}
		if fd.HasHeader {
			f.Code, f.Channel = fd.Code.String(), fd.Channel
		}
		if c, ok := spec.Lookup(cl); ok {
			f.Level = c.Level
		}
		out = append(out, f)
	}
	return out
}

// Judge applies the rules that need the connection's state (channel ids,
// parity, the channel state machine) and the shape of table 7.2 and 8.4 to
// one whole frame sent by from, whose payload p has been judged by
// finding.Decode. It does not repeat p's finding: a caller that has
// reported it already (the conformance runner) calls Judge, others call
// Frame.
func (c *Checker) Judge(from Side, index int, offset int64, f frame.Frame, p finding.Decoded) []Finding {
	var out []Finding
	add := func(clause, format string, a ...any) {
		out = append(out, newFinding(clause, from, index, offset, f, format, a...))
	}
	refs := p.Refs
	c.mu.Lock()
	defer c.mu.Unlock()
	st := c.sides[from]
	if st.terminated {
		add("MSG-TERM-1", "frame after the master's GATEWAY_TERMINATE")
	}
	if fd := finding.Header(frame.AppendHeader(nil, f.Code, f.Channel, len(f.Payload)), 0); fd != nil {
		// An unknown code (the only header fault a whole frame can have).
		add(fd.Clause, "%s", fd.Message)
		return out
	}
	switch f.Code {
	case spec.MsgStatus, spec.MsgGatewayTerminate, spec.MsgChannelClose, spec.MsgChannelLastMessage:
		if len(f.Payload) != 0 {
			add("FRM-CODE-2", "%s with a %d-byte payload (must be empty)", f.Code, len(f.Payload))
		}
	}
	switch {
	case f.Code == spec.MsgGatewayTerminate:
		if f.Channel != 0 {
			add("MSG-TERM-1", "GATEWAY_TERMINATE on channel %d (must be 0)", f.Channel)
		}
		if from == Worker {
			add("MSG-TERM-3", "a worker sent GATEWAY_TERMINATE (it ends a connection by closing its side of the stream)")
		} else {
			st.terminated = true
		}
		return out
	case f.Channel == 0 && f.Code != spec.MsgReconfigure:
		add("CHAN-ID-3", "%s on channel 0, which is only for RECONFIGURE and GATEWAY_TERMINATE", f.Code)
		return out
	case f.Channel < 0:
		add("CHAN-ID-1", "negative channel id %d", f.Channel)
		return out
	case f.Channel == 0:
		// RECONFIGURE of the gateway default.
	case f.Code == spec.MsgChannelExec || f.Code == spec.MsgStatus:
		if f.Channel%2 != parity(from) {
			add("CHAN-ID-1", "%s on channel %d: a %s allocates %s ids", f.Code, f.Channel, from, parityWord(from))
		}
		if st.used[f.Channel] {
			clause := "MSG-EXEC-1"
			if f.Code == spec.MsgStatus {
				clause = "MSG-STATUS-1"
			}
			add(clause, "%s on channel %d, which this %s used before (the id must be fresh)", f.Code, f.Channel, from)
			add("CHAN-ID-2", "channel id %d reused", f.Channel)
		}
	}
	st.used[f.Channel] = true
	ch := st.chans[f.Channel]
	if ch == nil {
		ch = &chanState{}
		st.chans[f.Channel] = ch
	}
	if ch.status && f.Code != spec.MsgStatus {
		add("MSG-STATUS-1", "%s on channel %d, the id of this %s's STATUS request", f.Code, f.Channel, from)
	}
	if ch.closed && f.Code != spec.MsgChannelExec && f.Code != spec.MsgStatus {
		add("CHAN-STATE-9", "%s on channel %d after this %s closed it", f.Code, f.Channel, from)
	}
	if ch.lastSent && f.Code == spec.MsgChannelData {
		add("MSG-LAST-1", "CHANNEL_DATA on channel %d after this %s sent CHANNEL_LAST_MESSAGE", f.Channel, from)
	}
	switch f.Code {
	case spec.MsgChannelClose, spec.MsgChannelCloseError:
		ch.closed = true
	case spec.MsgChannelLastMessage:
		ch.lastSent = true
	case spec.MsgStatus:
		ch.status = true
	}
	for _, id := range refs {
		switch {
		case id < 1:
			add("CHAN-ID-7", "a CHANNEL reference to id %d (must be at least 1)", id)
		case id%2 == parity(from):
			// A channel of the sender's own sequence, possibly new: later
			// STATUS or CHANNEL_EXEC may not reuse it. (A reference of the
			// other parity names the peer's channel; whether the peer made
			// it is not decidable from one direction.)
			if c := st.chans[id]; c != nil && c.status {
				add("MSG-STATUS-1", "a CHANNEL reference to id %d, the id of this %s's STATUS request", id, from)
			}
			st.used[id] = true
		}
	}
	if p.Value != nil {
		out = append(out, shapeFindings(from, index, offset, f, p.Value)...)
	}
	return out
}

func parityWord(s Side) string {
	if s == Master {
		return "odd"
	}
	return "even"
}

// shapeFindings checks the decoded value against what the message code
// prescribes.
func shapeFindings(from Side, index int, offset int64, f frame.Frame, v codec.Value) []Finding {
	var out []Finding
	add := func(clause, format string, a ...any) {
		out = append(out, newFinding(clause, from, index, offset, f, format, a...))
	}
	switch f.Code {
	case spec.MsgReconfigure:
		t, ok := v.(codec.Tuple)
		if !ok || len(t) != 2 || !isBool(t[0]) || !isBool(t[1]) {
			add("MSG-RECONF-1", "RECONFIGURE payload %s is not a tuple of two bools", shortRepr(v))
		}
	case spec.MsgChannelCloseError:
		if _, ok := v.(codec.Str); !ok {
			add("MSG-CLOSEERR-1", "CHANNEL_CLOSE_ERROR payload %s is not a text", shortRepr(v))
		}
	case spec.MsgChannelExec:
		if msg := execShape(v); msg != "" {
			add("MSG-EXEC-1", "CHANNEL_EXEC payload is not of the shape of table 8.4: %s", msg)
		}
	}
	return out
}

func isBool(v codec.Value) bool { _, ok := v.(codec.Bool); return ok }

func isTextOrNone(v codec.Value) bool {
	switch v.(type) {
	case codec.Str, codec.None:
		return true
	}
	return false
}

// execShape returns what is wrong with a CHANNEL_EXEC payload, or "".
func execShape(v codec.Value) string {
	t, ok := v.(codec.Tuple)
	if !ok || len(t) != 4 {
		return shortRepr(v) + " is not a 4-tuple"
	}
	if _, ok := t[0].(codec.Str); !ok {
		return "source is not a text"
	}
	if !isTextOrNone(t[1]) {
		return "file_name is neither text nor None"
	}
	if !isTextOrNone(t[2]) {
		return "call_name is neither text nor None"
	}
	d, ok := t[3].(*codec.Dict)
	if !ok {
		return "kwargs is not a dict"
	}
	for _, it := range d.Items() {
		if _, ok := it.Key.(codec.Str); !ok {
			return "a kwargs key is not a text"
		}
	}
	return ""
}

func shortRepr(v codec.Value) string {
	s := codec.Repr(v)
	if len(s) > 80 {
		s = s[:77] + "..."
	}
	return s
}

// ErrorClass returns the error class (SPEC.md table 6.2) of a codec
// decoding error, or "Unknown". It is finding.ErrorClass, kept here for
// the callers of this package.
func ErrorClass(err error) string { return finding.ErrorClass(err) }
