package codec

// StrConfig selects how text opcodes decode, as execnet's per-channel
// "strconfig" pair (py2str_as_py3str, py3str_as_py2str) does.
type StrConfig struct {
	// Py2StrAsPy3Str decodes PY2STRING (M) as latin-1 text (Str) instead
	// of Py2Str.
	Py2StrAsPy3Str bool
	// Py3StrAsPy2Str decodes PY3STRING (N) as Bytes instead of Str.
	Py3StrAsPy2Str bool
}

// ChannelStrConfig is the strconfig that execnet gateways and channels
// start with.
var ChannelStrConfig = StrConfig{Py2StrAsPy3Str: true, Py3StrAsPy2Str: false}

// PublicStrConfig is the strconfig of execnet's public loads.
var PublicStrConfig = StrConfig{Py2StrAsPy3Str: false, Py3StrAsPy2Str: false}

// Limits bounds the resources a decoder (and, for MaxDepth and
// MaxIntDigits, an encoder) spends on one value. A zero field means the
// default from DefaultLimits.
type Limits struct {
	// MaxDepth is the deepest container nesting allowed: a scalar has
	// depth 0, [] depth 1, [[]] depth 2.
	MaxDepth int
	// MaxElements bounds the number of values a decode creates: every
	// pushed value counts one, and NEWLIST n counts its n slots.
	MaxElements int
	// MaxIntDigits bounds the decimal digits (sign excluded) of a LONGINT.
	MaxIntDigits int
	// MaxStringLen bounds the length in bytes of one string or bytes value.
	MaxStringLen int
}

// Default limit values.
const (
	DefaultMaxDepth     = 1000
	DefaultMaxElements  = 10_000_000
	DefaultMaxIntDigits = 4300 // CPython's int/str conversion limit
	DefaultMaxStringLen = 1<<31 - 1
)

// DefaultLimits returns the limits used when a Limits field is zero.
func DefaultLimits() Limits {
	return Limits{
		MaxDepth:     DefaultMaxDepth,
		MaxElements:  DefaultMaxElements,
		MaxIntDigits: DefaultMaxIntDigits,
		MaxStringLen: DefaultMaxStringLen,
	}
}

// withDefaults returns l with every zero (or negative) field replaced by its
// default.
func (l Limits) withDefaults() Limits {
	if l.MaxDepth <= 0 {
		l.MaxDepth = DefaultMaxDepth
	}
	if l.MaxElements <= 0 {
		l.MaxElements = DefaultMaxElements
	}
	if l.MaxIntDigits <= 0 {
		l.MaxIntDigits = DefaultMaxIntDigits
	}
	if l.MaxStringLen <= 0 {
		l.MaxStringLen = DefaultMaxStringLen
	}
	return l
}
