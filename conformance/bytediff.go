package conformance

import (
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/execnet-conform/execnet-conform/reference/codec"
)

// diffWindow is how many bytes around the first difference
// DescribeEncodingMismatch shows in hex.
const diffWindow = 12

// DescribeEncodingMismatch explains how the encoding got differs from the
// expected encoding want (both serialized values in the wire form, as
// conform_dumps answers): the offset of the first differing byte, the
// bytes around it in both, and both values decoded by the reference codec
// (or why one does not decode). It returns "" when got equals want. The
// text has several lines; the text reporter prints them as they are.
func DescribeEncodingMismatch(got, want []byte) string {
	n := min(len(got), len(want))
	off := 0
	for off < n && got[off] == want[off] {
		off++
	}
	if off == len(got) && off == len(want) {
		return ""
	}
	var b strings.Builder
	switch {
	case off == n && len(got) < len(want):
		fmt.Fprintf(&b, "got %d bytes, want %d: got is a prefix of want, first missing byte at offset %d\n", len(got), len(want), off)
	case off == n:
		fmt.Fprintf(&b, "got %d bytes, want %d: want is a prefix of got, first extra byte at offset %d\n", len(got), len(want), off)
	default:
		fmt.Fprintf(&b, "first differing byte at offset %d: got %02x, want %02x (got %d bytes, want %d)\n",
			off, got[off], want[off], len(got), len(want))
	}
	start := max(0, off-diffWindow)
	fmt.Fprintf(&b, "  got  [%d:]: %s\n", start, hexWindow(got, start, off))
	fmt.Fprintf(&b, "  want [%d:]: %s\n", start, hexWindow(want, start, off))
	fmt.Fprintf(&b, "  got  decoded: %s\n", decodedRepr(got))
	fmt.Fprintf(&b, "  want decoded: %s", decodedRepr(want))
	return b.String()
}

// hexWindow renders b[start:off+diffWindow] in hex, with the byte at off
// in brackets.
func hexWindow(b []byte, start, off int) string {
	end := min(len(b), off+diffWindow)
	var s strings.Builder
	s.WriteString(hex.EncodeToString(b[start:min(off, len(b))]))
	if off < len(b) {
		fmt.Fprintf(&s, "[%02x]%s", b[off], hex.EncodeToString(b[off+1:end]))
	} else {
		s.WriteString("[end]")
	}
	if end < len(b) {
		fmt.Fprintf(&s, "... (+%d bytes)", len(b)-end)
	}
	return s.String()
}

// decodedRepr decodes b with the reference codec and renders the value,
// abbreviated, or says why it does not decode.
func decodedRepr(b []byte) string {
	v, n, err := (&codec.Decoder{StrConfig: codec.ChannelStrConfig}).Loads(b)
	if err != nil {
		return "(does not decode: " + err.Error() + ")"
	}
	s := codec.Repr(v)
	if len(s) > 400 {
		cut := 400
		for cut > 0 && !utf8Start(s[cut]) {
			cut--
		}
		s = fmt.Sprintf("%s... (%d chars)", s[:cut], len(s))
	}
	if n != len(b) {
		s += fmt.Sprintf(" (then %d trailing bytes)", len(b)-n)
	}
	return s
}
