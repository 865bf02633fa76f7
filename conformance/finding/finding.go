// Package finding judges the bytes a peer puts on the wire: is this frame
// header well formed, does this payload decode where SPEC.md requires it
// to, and which clause says so. It is the one place where these judgements
// live; the conformance runner asks it about every frame the target sends,
// and tools that watch a stream (tap, replay) are meant to ask it too.
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
	// ClausePayload: payloads of CHANNEL_DATA, CHANNEL_CLOSE_ERROR,
	// CHANNEL_EXEC and RECONFIGURE must decode (a receiver treats one that
	// does not as a fatal protocol error).
	ClausePayload = "FRM-FATAL-2"
	// ClauseBound: the runner bounds the memory it spends per frame.
	ClauseBound = "SEC-RUN-1"
)

// Finding is one thing wrong with what a peer sent.
type Finding struct {
	// Clause is the SPEC.md anchor broken, e.g. "FRM-CODE-1".
	Clause string
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

// mustDecode reports whether SPEC.md requires a payload of code to decode
// as one serialized value (FRM-FATAL-2).
func mustDecode(code spec.MsgCode) bool {
	switch code {
	case spec.MsgChannelData, spec.MsgChannelCloseError, spec.MsgChannelExec, spec.MsgReconfigure:
		return true
	}
	return false
}

// decoder decodes payloads without copying them: a frame payload is a
// fresh buffer that nobody modifies.
var decoder = codec.Decoder{StrConfig: codec.ChannelStrConfig, ZeroCopy: true}

// Payload judges the payload of a received frame: for the codes whose
// payload must decode it decodes it and returns the value, or a finding
// (not fatal: the frame boundaries are intact) when it does not decode.
// For other codes, and for a payload over the decoder's limits (which
// SPEC.md lets implementations set differently), it returns nil, nil. The value shares memory with
// payload.
func Payload(code spec.MsgCode, channel int32, payload []byte) (codec.Value, *Finding) {
	if !mustDecode(code) {
		return nil, nil
	}
	v, _, err := decoder.Loads(payload)
	if err == nil {
		return v, nil
	}
	if errors.Is(err, codec.ErrLimit) {
		// Over one of the reader's own limits (nesting depth, digits):
		// not proof that the payload is malformed.
		return nil, nil
	}
	return nil, &Finding{Clause: ClausePayload, Offset: -1, Code: code, Channel: channel, HasHeader: true,
		Excerpt: excerpt(payload), Total: len(payload),
		Message: fmt.Sprintf("the %s payload does not decode: %v", code, err)}
}
