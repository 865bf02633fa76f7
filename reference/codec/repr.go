package codec

import (
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
	"unsafe"
)

// Repr returns v in Python literal notation, exactly as CPython's repr()
// prints the same value (set and frozenset elements in slice order). Text
// escaping follows CPython 3.11's str.isprintable (Unicode 14.0; later
// CPython versions also keep the characters added in Unicode 15.0 as they are,
// PyPy 3.9 escapes those added in 14.0). A container that contains itself prints as "[...]", "{...}" or
// "(...)" as in Python. A ChannelValue prints as <Channel id=N>. A nil
// Value prints as <nil>.
func Repr(v Value) string {
	var r reprState
	return string(r.append(nil, v))
}

// AppendRepr appends Repr(v) to dst.
func AppendRepr(dst []byte, v Value) []byte {
	var r reprState
	return r.append(dst, v)
}

// reprState remembers the containers on the current path to print cycles
// the way Python does instead of recursing forever.
type reprState struct {
	path []uintptr
}

func (r *reprState) enter(p uintptr) bool {
	for _, q := range r.path {
		if q == p {
			return false
		}
	}
	r.path = append(r.path, p)
	return true
}

func (r *reprState) leave() { r.path = r.path[:len(r.path)-1] }

func sliceID(s []Value) uintptr { return uintptr(unsafe.Pointer(unsafe.SliceData(s))) }

func (r *reprState) append(b []byte, v Value) []byte {
	switch x := v.(type) {
	case None:
		return append(b, "None"...)
	case Bool:
		if x {
			return append(b, "True"...)
		}
		return append(b, "False"...)
	case Int:
		return strconv.AppendInt(b, int64(x), 10)
	case BigInt:
		if x.V == nil {
			return append(b, "<nil>"...)
		}
		return x.V.Append(b, 10)
	case Float:
		return appendFloatRepr(b, float64(x))
	case Complex:
		return appendComplexRepr(b, complex128(x))
	case Str:
		return appendStrRepr(b, string(x))
	case Bytes:
		return appendBytesRepr(b, x)
	case Py2Str:
		return appendBytesRepr(b, x)
	case Tuple:
		if len(x) == 1 {
			if !r.enter(sliceID(x)) {
				return append(b, "(...)"...)
			}
			b = append(b, '(')
			b = r.append(b, x[0])
			r.leave()
			return append(b, ",)"...)
		}
		return r.seq(b, x, "(", ")")
	case List:
		return r.seq(b, x, "[", "]")
	case Set:
		if len(x) == 0 {
			return append(b, "set()"...)
		}
		return r.seq(b, x, "{", "}")
	case FrozenSet:
		if len(x) == 0 {
			return append(b, "frozenset()"...)
		}
		return r.seq(b, x, "frozenset({", "})")
	case *Dict:
		if x.Len() == 0 {
			return append(b, "{}"...)
		}
		if !r.enter(uintptr(unsafe.Pointer(x))) {
			return append(b, "{...}"...)
		}
		b = append(b, '{')
		for i, it := range x.Items() {
			if i > 0 {
				b = append(b, ", "...)
			}
			b = r.append(b, it.Key)
			b = append(b, ": "...)
			b = r.append(b, it.Value)
		}
		r.leave()
		return append(b, '}')
	case ChannelValue:
		b = append(b, "<Channel id="...)
		b = strconv.AppendInt(b, int64(x.ChannelID()), 10)
		return append(b, '>')
	}
	return append(b, "<nil>"...)
}

func (r *reprState) seq(b []byte, x []Value, open, close string) []byte {
	if len(x) == 0 {
		b = append(b, open...)
		return append(b, close...)
	}
	if !r.enter(sliceID(x)) {
		b = append(b, open[len(open)-1])
		b = append(b, "..."...)
		return append(b, close[0])
	}
	b = append(b, open...)
	for i, e := range x {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = r.append(b, e)
	}
	r.leave()
	return append(b, close...)
}

// appendFloatRepr formats f as CPython's float.__repr__: the shortest
// digits that round-trip, in fixed notation when the decimal exponent is
// in (-4, 16], else in exponent notation with at least two exponent digits.
func appendFloatRepr(b []byte, f float64) []byte {
	return appendShortFloat(b, f, true)
}

func appendShortFloat(b []byte, f float64, addDot0 bool) []byte {
	switch {
	case math.IsNaN(f):
		return append(b, "nan"...)
	case math.IsInf(f, 1):
		return append(b, "inf"...)
	case math.IsInf(f, -1):
		return append(b, "-inf"...)
	}
	var tmp [32]byte
	e := strconv.AppendFloat(tmp[:0], f, 'e', -1, 64)
	// e looks like [-]d[.ddd]e±XX; the decimal point position is exp+1.
	i := strings.LastIndexByte(string(e), 'e')
	exp, _ := strconv.Atoi(string(e[i+1:]))
	decpt := exp + 1
	if decpt <= -4 || decpt > 16 {
		return append(b, e...)
	}
	start := len(b)
	b = strconv.AppendFloat(b, f, 'f', -1, 64)
	if addDot0 && !strings.ContainsRune(string(b[start:]), '.') {
		b = append(b, ".0"...)
	}
	return b
}

// appendComplexRepr formats c as CPython's complex.__repr__.
func appendComplexRepr(b []byte, c complex128) []byte {
	re, im := real(c), imag(c)
	if re == 0 && !math.Signbit(re) {
		b = appendShortFloat(b, im, false)
		return append(b, 'j')
	}
	b = append(b, '(')
	b = appendShortFloat(b, re, false)
	if math.IsNaN(im) || !math.Signbit(im) {
		b = append(b, '+')
	}
	b = appendShortFloat(b, im, false)
	return append(b, "j)"...)
}

const hexDigits = "0123456789abcdef"

// appendStrRepr quotes s as CPython's str.__repr__ does. Invalid UTF-8
// bytes (which a Str should not hold) print as \udcXX, as Python's
// surrogateescape would show them.
func appendStrRepr(b []byte, s string) []byte {
	quote := byte('\'')
	if strings.IndexByte(s, '\'') >= 0 && strings.IndexByte(s, '"') < 0 {
		quote = '"'
	}
	b = append(b, quote)
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			i++
			switch {
			case c == quote || c == '\\':
				b = append(b, '\\', c)
			case c == '\t':
				b = append(b, '\\', 't')
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c < 0x20 || c == 0x7f:
				b = append(b, '\\', 'x', hexDigits[c>>4], hexDigits[c&15])
			default:
				b = append(b, c)
			}
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			b = append(b, `\udc`...)
			b = append(b, hexDigits[c>>4], hexDigits[c&15])
			i++
			continue
		}
		i += n
		switch {
		case isPrintable(r):
			b = append(b, s[i-n:i]...)
		case r <= 0xff:
			b = append(b, '\\', 'x', hexDigits[r>>4], hexDigits[r&15])
		case r <= 0xffff:
			b = append(b, '\\', 'u')
			b = appendHex(b, uint32(r), 4)
		default:
			b = append(b, '\\', 'U')
			b = appendHex(b, uint32(r), 8)
		}
	}
	return append(b, quote)
}

func appendHex(b []byte, v uint32, digits int) []byte {
	for s := (digits - 1) * 4; s >= 0; s -= 4 {
		b = append(b, hexDigits[(v>>uint(s))&15])
	}
	return b
}

// appendBytesRepr quotes x as CPython's bytes.__repr__ does.
func appendBytesRepr(b []byte, x []byte) []byte {
	quote := byte('\'')
	hasSingle, hasDouble := false, false
	for _, c := range x {
		if c == '\'' {
			hasSingle = true
		} else if c == '"' {
			hasDouble = true
		}
	}
	if hasSingle && !hasDouble {
		quote = '"'
	}
	b = append(b, 'b', quote)
	for _, c := range x {
		switch {
		case c == quote || c == '\\':
			b = append(b, '\\', c)
		case c == '\t':
			b = append(b, '\\', 't')
		case c == '\n':
			b = append(b, '\\', 'n')
		case c == '\r':
			b = append(b, '\\', 'r')
		case c < 0x20 || c >= 0x7f:
			b = append(b, '\\', 'x', hexDigits[c>>4], hexDigits[c&15])
		default:
			b = append(b, c)
		}
	}
	return append(b, quote)
}
