// Package finding judges the bytes a peer puts on the wire: is this frame
// header well formed, does this payload decode where SPEC.md requires it
// to, and which clause says so. It is the one place where these judgements
// live; the conformance runner asks it about every frame the target sends,
// and the protocol monitor (conformance/monitor, used by tap and replay)
// asks it about every frame it sees. It imports nothing of conformance: every
// judge depends on it, never the other way round.
//
//	hdr, _ := br.Peek(spec.HeaderSize)
//	if f := finding.Header(hdr, maxPayload); f != nil {
//		// the stream is desynchronised: f.Clause, f.Error()
//	}
//
// A finding names the clause broken, where in the stream it happened and a
// hex excerpt of the bytes, so that a report shows what was wrong without
// showing (or allocating) the whole frame.
package finding

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/execnet-conform/execnet-conform/reference/codec"
	"github.com/execnet-conform/execnet-conform/reference/frame"
	"github.com/execnet-conform/execnet-conform/spec"
)

// ExcerptMax is the most bytes a finding keeps of the offending input.
const ExcerptMax = 48

// Clauses the judgements cite.
const (
	// ClauseHeader: a frame is a 9-byte header and exactly N payload bytes.
	ClauseHeader = "FRM-HDR-1"
	// ClauseLength: N is the exact, non-negative payload length.
	ClauseLength = "FRM-HDR-2"
	// ClauseCode: only message codes 0 to 7.
	ClauseCode = "FRM-CODE-1"
	// ClausePayload: a sender puts exactly one value in wire form into
	// each payload that carries one (CHANNEL_EXEC, RECONFIGURE,
	// CHANNEL_CLOSE_ERROR; for CHANNEL_DATA see ClauseData). A receiver
	// treats such a payload that does not decode as a fatal protocol
	// error (FRM-FATAL-2), but that clause is the receiver's: a finding
	// judges the sender.
	ClausePayload = "SER-WIRE-1"
	// ClauseData: the same rule for CHANNEL_DATA payloads.
	ClauseData = "MSG-DATA-1"
	// ClauseTrailing: no bytes after STOP in a frame payload. The value
	// still decodes (a decoder ignores them, SER-WIRE-3).
	ClauseTrailing = "SER-WIRE-2"
	// ClauseBound: the runner bounds the memory it spends per frame.
	ClauseBound = "SEC-RUN-1"
)

// Finding is one thing wrong with what a peer sent.
type Finding struct {
	// Clause is the SPEC.md anchor broken, e.g. "FRM-CODE-1".
	Clause string
	// Also lists further clauses the same fault breaks, e.g. those of a
	// decoding error's class (SPEC.md table 6.2). Error does not show
	// them; a tool that reports one line per clause (the monitor) does.
	Also []string
	// Fatal reports whether the stream cannot be read on: the frame
	// boundaries are lost (desynchronised), as opposed to a well-framed
	// frame whose payload is wrong.
	Fatal bool
	// Offset is the stream offset of the frame's first byte, or -1.
	Offset int64
	// Code and Channel are the frame's, when its header was read.
	Code    spec.MsgCode
	Channel int32
	// HasHeader reports whether Code and Channel are known.
	HasHeader bool
	// Excerpt holds at most ExcerptMax bytes of the offending input,
	// starting at the frame (or payload) it is about.
	Excerpt []byte
	// Total is the length of the input the excerpt was cut from, or 0.
	Total int
	// Message says what is wrong, e.g. "message code 104 is not 0 to 7".
	Message string
}

// Error renders the finding on one line: clause, what, where, bytes.
func (f *Finding) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "[%s] %s", f.Clause, f.Message)
	if f.HasHeader {
		fmt.Fprintf(&b, " (frame %s ch=%d", f.Code, f.Channel)
		if f.Offset >= 0 {
			fmt.Fprintf(&b, " at stream offset %d", f.Offset)
		}
		b.WriteString(")")
	} else if f.Offset >= 0 {
		fmt.Fprintf(&b, " (at stream offset %d)", f.Offset)
	}
	if len(f.Excerpt) > 0 {
		fmt.Fprintf(&b, "; bytes %s", hex.EncodeToString(f.Excerpt))
		if f.Total > len(f.Excerpt) {
			fmt.Fprintf(&b, "...(%d bytes in all)", f.Total)
		}
	}
	return b.String()
}

// ErrFinding is matched (errors.Is) by every *Finding.
var ErrFinding = errors.New("protocol finding")

// Is matches ErrFinding.
func (f *Finding) Is(target error) bool { return target == ErrFinding }

func excerpt(b []byte) []byte {
	return append([]byte(nil), b[:min(len(b), ExcerptMax)]...)
}

// Header judges a complete 9-byte frame header before its payload is
// read: the message code must be 0 to 7 (FRM-CODE-1) and the declared
// length non-negative (FRM-HDR-2) and at most maxPayload, the reader's
// bound (SEC-RUN-1; maxPayload <= 0 means no bound but int32's). hdr may
// hold more bytes than the header; they go into the excerpt. A nil result
// means the header is fine. Every finding it returns is fatal.
func Header(hdr []byte, maxPayload int) *Finding {
	if len(hdr) < spec.HeaderSize {
		return nil
	}
	code := int8(hdr[0])
	ch := int32(binary.BigEndian.Uint32(hdr[1:5]))
	n := int32(binary.BigEndian.Uint32(hdr[5:9]))
	f := &Finding{Fatal: true, Offset: -1, Code: spec.MsgCode(code), Channel: ch, HasHeader: true, Excerpt: excerpt(hdr)}
	switch {
	case code < 0 || code > 7:
		f.Clause = ClauseCode
		f.Message = fmt.Sprintf("message code %d is not 0 to 7: the stream is not at a frame boundary or the sender is broken", code)
		if looksLikeText(hdr) {
			f.Message += fmt.Sprintf(" (the bytes read as text: %q)", hdr[:min(len(hdr), ExcerptMax)])
		}
	case n < 0:
		f.Clause = ClauseLength
		f.Message = fmt.Sprintf("negative payload length %d", n)
	case maxPayload > 0 && int64(n) > int64(maxPayload):
		f.Clause = ClauseBound
		f.Message = fmt.Sprintf("declared payload length %d is over the reader's limit of %d bytes", n, maxPayload)
	default:
		return nil
	}
	return f
}

// looksLikeText reports whether b is mostly printable ASCII (a target
// that prints to stdout after its ready byte).
func looksLikeText(b []byte) bool {
	b = b[:min(len(b), ExcerptMax)]
	printable := 0
	for _, c := range b {
		if c >= 0x20 && c < 0x7f || c == '\n' || c == '\r' || c == '\t' {
			printable++
		}
	}
	return printable*4 >= len(b)*3
}

// ReadError judges an error of frame.Reader.ReadFrame. io.EOF (a clean end
// at a frame boundary) and errors that are not a malformed frame (a read
// error of the stream) give nil; a *frame.Error gives a fatal finding.
func ReadError(err error) *Finding {
	var fe *frame.Error
	if !errors.As(err, &fe) {
		return nil
	}
	f := &Finding{Fatal: true, Offset: fe.Offset, Excerpt: excerpt(fe.Header[:fe.HeaderLen])}
	if fe.HeaderLen == spec.HeaderSize {
		f.HasHeader = true
		f.Code = spec.MsgCode(int8(fe.Header[0]))
		f.Channel = int32(binary.BigEndian.Uint32(fe.Header[1:5]))
	}
	switch {
	case errors.Is(fe.Err, frame.ErrNegativeLength):
		f.Clause = ClauseLength
	case errors.Is(fe.Err, frame.ErrTooLarge):
		f.Clause = ClauseBound
	default: // a frame cut short by the end of the stream
		f.Clause = ClauseHeader
	}
	f.Message = fe.Err.Error() + " (" + fe.Detail + ")"
	return f
}

// Clauses returns Clause followed by Also.
func (f *Finding) Clauses() []string {
	return append([]string{f.Clause}, f.Also...)
}

// MustDecode reports whether SPEC.md requires a payload of code to be one
// serialized value in wire form (table 7.2): CHANNEL_DATA,
// CHANNEL_CLOSE_ERROR, CHANNEL_EXEC and RECONFIGURE. A receiver treats
// one that does not decode as fatal (FRM-FATAL-2).
func MustDecode(code spec.MsgCode) bool {
	switch code {
	case spec.MsgChannelData, spec.MsgChannelCloseError, spec.MsgChannelExec, spec.MsgReconfigure:
		return true
	}
	return false
}

// Decoded is what Decode learned of a frame's payload.
type Decoded struct {
	// Value is the decoded value: nil when the code carries no value or
	// the payload did not decode. It shares memory with the payload.
	Value codec.Value
	// Refs are the ids of the CHANNEL references in the value, in order.
	Refs []int32
	// Err is the decoding error, or the complaint about bytes after STOP
	// (then Value is set too); nil when the payload is fine.
	Err error
	// Limited is set when the payload exceeded one of the decoder's own
	// limits (nesting depth, digits): not checked, not a finding, since
	// SPEC.md lets implementations set limits differently.
	Limited bool
	// Finding is what is wrong with the payload, or nil. It is never
	// fatal: the frame boundaries are intact.
	Finding *Finding
}

// Decode judges the payload of a received frame. For the codes whose
// payload must be one value (MustDecode) it decodes it with the channel
// string configuration, collecting the CHANNEL references, and reports a
// payload that does not decode (ClauseData for CHANNEL_DATA, else
// ClausePayload, with the clauses of the decoding error's class in Also)
// or that has bytes after STOP (ClauseTrailing). For other codes it
// returns the zero Decoded: their payload is judged by the channel rules
// (FRM-CODE-2), not here.
func Decode(code spec.MsgCode, channel int32, payload []byte) Decoded {
	if !MustDecode(code) {
		return Decoded{}
	}
	var d Decoded
	// ZeroCopy: a frame payload is a fresh buffer that nobody modifies.
	dec := codec.Decoder{StrConfig: codec.ChannelStrConfig, ZeroCopy: true, Channel: func(id int32) (codec.Value, error) {
		d.Refs = append(d.Refs, id)
		return codec.ChannelRef(id), nil
	}}
	v, n, err := dec.Loads(payload)
	clause := ClausePayload
	if code == spec.MsgChannelData {
		clause = ClauseData
	}
	switch {
	case errors.Is(err, codec.ErrLimit):
		d.Err, d.Limited = err, true
	case err != nil:
		d.Err = err
		d.Finding = payloadFinding(code, channel, payload, clause, spec.ClassClauses(ErrorClass(err)),
			fmt.Sprintf("the %s payload does not decode: %v", code, err))
	case n != len(payload):
		d.Value = v
		d.Err = fmt.Errorf("%d bytes after STOP (one value per payload)", len(payload)-n)
		var also []string
		if code == spec.MsgChannelData {
			also = []string{ClauseData}
		}
		d.Finding = payloadFinding(code, channel, payload, ClauseTrailing, also,
			fmt.Sprintf("the %s payload has %v", code, d.Err))
	default:
		d.Value = v
	}
	return d
}

func payloadFinding(code spec.MsgCode, channel int32, payload []byte, clause string, also []string, msg string) *Finding {
	return &Finding{Clause: clause, Also: also, Offset: -1, Code: code, Channel: channel, HasHeader: true,
		Excerpt: excerpt(payload), Total: len(payload), Message: msg}
}

// Payload judges the payload of a received frame as Decode does and
// returns the value and the finding only.
func Payload(code spec.MsgCode, channel int32, payload []byte) (codec.Value, *Finding) {
	d := Decode(code, channel, payload)
	return d.Value, d.Finding
}

// errorClasses maps codec sentinels to the error classes of SPEC.md
// table 6.2.
var errorClasses = []struct {
	err  error
	name string
}{
	{codec.ErrTruncated, spec.ClassTruncated},
	{codec.ErrUnknownOpcode, spec.ClassUnknownOpcode},
	{codec.ErrStackUnderflow, spec.ClassStackUnderflow},
	{codec.ErrStopStack, spec.ClassStopStack},
	{codec.ErrUnhashable, spec.ClassUnhashable},
	{codec.ErrBadInteger, spec.ClassBadInteger},
	{codec.ErrBadUTF8, spec.ClassBadUTF8},
	{codec.ErrNegativeLength, spec.ClassNegativeLength},
	{codec.ErrIndexRange, spec.ClassIndexRange},
	{codec.ErrNotContainer, spec.ClassNotContainer},
	{codec.ErrLimit, spec.ClassLimit},
	{codec.ErrVersion, spec.ClassVersion},
	{codec.ErrChannelNotAllowed, spec.ClassChannelNotAllowed},
}

// ErrorClass returns the error class (SPEC.md table 6.2) of a codec
// decoding error, or "Unknown".
func ErrorClass(err error) string {
	for _, c := range errorClasses {
		if errors.Is(err, c.err) {
			return c.name
		}
	}
	return "Unknown"
}
