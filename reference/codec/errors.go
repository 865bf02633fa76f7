package codec

import (
	"errors"
	"strconv"
	"strings"

	"github.com/execnet-conform/execnet-conform/spec"
)

// Sentinel errors. Every error returned by this package matches exactly one
// of them with errors.Is; decode errors are *DecodeError, encode errors
// *EncodeError, literal errors *LiteralError.
var (
	// ErrTruncated: the input ends before STOP or inside an operand, or a
	// length operand asks for more bytes than remain.
	ErrTruncated = errors.New("truncated input")
	// ErrUnknownOpcode: a byte that is not one of the 21 opcodes.
	ErrUnknownOpcode = errors.New("unknown opcode")
	// ErrStackUnderflow: an opcode needs more stack items than there are.
	ErrStackUnderflow = errors.New("stack underflow")
	// ErrStopStack: STOP with a stack depth other than 1.
	ErrStopStack = errors.New("STOP with stack depth != 1")
	// ErrUnhashable: an unhashable value used as a dict key or set element.
	ErrUnhashable = errors.New("unhashable value")
	// ErrBadInteger: a LONGINT/LONGLONG operand that is not -?[0-9]+.
	ErrBadInteger = errors.New("malformed integer")
	// ErrBadUTF8: text that is not valid UTF-8 (decode), or a Str that is
	// not valid UTF-8 (encode).
	ErrBadUTF8 = errors.New("invalid UTF-8")
	// ErrNegativeLength: a negative length or count operand.
	ErrNegativeLength = errors.New("negative length")
	// ErrIndexRange: SETITEM on a list with an index that is not an int in
	// [0, len).
	ErrIndexRange = errors.New("list index out of range")
	// ErrNotContainer: SETITEM whose target is neither a dict nor a list.
	ErrNotContainer = errors.New("SETITEM target is not a dict or list")
	// ErrLimit: a decoder or encoder limit (Limits) was exceeded.
	ErrLimit = errors.New("limit exceeded")
	// ErrVersion: a versioned dump whose first byte is not 1 or 2, or an
	// unsupported version asked of DumpsVersioned.
	ErrVersion = errors.New("unsupported format version")
	// ErrChannelNotAllowed: a CHANNEL opcode where channels cannot be
	// resolved (public, versioned loads).
	ErrChannelNotAllowed = errors.New("channel not allowed here")
	// ErrUnsupported: a value outside the data model (for example nil).
	ErrUnsupported = errors.New("value not serializable")
	// ErrTooLong: a string, bytes or container longer than 2^31-1.
	ErrTooLong = errors.New("length exceeds 2^31-1")
	// ErrLiteralSyntax: ParseLiteral input that is not a supported Python
	// literal.
	ErrLiteralSyntax = errors.New("invalid literal syntax")
	// ErrType: Unmarshal met a value that does not fit its Go target (a
	// float into an int, an int out of the target's range, a non-pointer
	// target), or Marshal a Go value outside the data model.
	ErrType = errors.New("value does not fit the Go type")
	// ErrUnknownKey: Unmarshal, with Decoder.DisallowUnknownKeys, met a
	// dict key that no field of the target struct takes.
	ErrUnknownKey = errors.New("unknown key")
)

// UnmarshalTypeError reports a decoded value that does not fit the Go
// value it was to be stored in. It matches ErrType or ErrUnknownKey.
type UnmarshalTypeError struct {
	// Path locates the value from the root in Go terms: ".reports[3]"
	// is element 3 of the field or key "reports", "" the root.
	Path   string
	Err    error  // ErrType or ErrUnknownKey
	Detail string // for example "float into int"
}

func (e *UnmarshalTypeError) Error() string {
	s := "codec: unmarshal "
	if e.Path != "" {
		s += e.Path + ": "
	}
	return s + e.Detail
}

// Unwrap returns the sentinel error.
func (e *UnmarshalTypeError) Unwrap() error { return e.Err }

// UnhashableError reports a list, dict or set used as a dict key or set
// element. It matches ErrUnhashable with errors.Is.
type UnhashableError struct{ Kind Kind }

func (e *UnhashableError) Error() string { return "unhashable type: " + e.Kind.String() }

// Is makes errors.Is(err, ErrUnhashable) true.
func (e *UnhashableError) Is(target error) bool { return target == ErrUnhashable }

// DecodeError describes why a byte string could not be decoded.
type DecodeError struct {
	Offset int         // byte offset of the opcode being decoded (or len(input) at end of input)
	Op     spec.Opcode // that opcode; 0 when the input ended where an opcode was expected
	Err    error       // one of the sentinel errors
	Detail string      // what was expected, in words
}

func (e *DecodeError) Error() string {
	var b strings.Builder
	b.WriteString("codec: decode ")
	if e.Op != 0 {
		b.WriteString(e.Op.String())
		b.WriteString(" at offset ")
	} else {
		b.WriteString("at offset ")
	}
	b.WriteString(strconv.Itoa(e.Offset))
	b.WriteString(": ")
	b.WriteString(e.Err.Error())
	if e.Detail != "" {
		b.WriteString(": ")
		b.WriteString(e.Detail)
	}
	return b.String()
}

// Unwrap returns the sentinel error.
func (e *DecodeError) Unwrap() error { return e.Err }

// EncodeError describes why a value could not be encoded.
type EncodeError struct {
	// Path locates the offending value from the root, in Python
	// subscription style: "" is the root, "[2]['k']" is item 'k' of
	// element 2, "<key 0>" is the first dict key, "{1}" a set element.
	Path   string
	Err    error // one of the sentinel errors
	Detail string
}

func (e *EncodeError) Error() string {
	s := "codec: encode value"
	if e.Path != "" {
		s += " at " + e.Path
	}
	s += ": " + e.Err.Error()
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

// Unwrap returns the sentinel error.
func (e *EncodeError) Unwrap() error { return e.Err }

// LiteralError reports a ParseLiteral failure. It always matches
// ErrLiteralSyntax, and also Err when set (ErrUnhashable for a list used
// as a set element, ErrLimit for nesting deeper than the depth limit,
// ErrUnsupported for Ellipsis, *UnknownCharNameError for a \N{NAME}
// escape with an unknown NAME).
type LiteralError struct {
	Pos    int // byte offset in the input
	Err    error
	Detail string
}

func (e *LiteralError) Error() string {
	return "codec: literal syntax error at offset " + strconv.Itoa(e.Pos) + ": " + e.Detail
}

// Unwrap returns ErrLiteralSyntax and Err.
func (e *LiteralError) Unwrap() []error {
	if e.Err == nil {
		return []error{ErrLiteralSyntax}
	}
	return []error{ErrLiteralSyntax, e.Err}
}
