package codec

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/execnet-conform/execnet-conform/spec"
)

const maxLen = 1<<31 - 1

// Encoder serializes values with explicit limits. The zero Encoder uses
// DefaultLimits; only MaxDepth and MaxIntDigits apply to encoding.
type Encoder struct {
	Limits Limits
}

// Dumps returns the wire form of v (no version byte), byte-identical to
// execnet's dumps_internal for the same Python value.
func Dumps(v Value) ([]byte, error) {
	var e Encoder
	return e.AppendDumps(make([]byte, 0, sizeHint(v)), v)
}

// AppendDumps appends the wire form of v to dst and returns the extended
// slice. On error dst is returned unchanged in length.
func AppendDumps(dst []byte, v Value) ([]byte, error) {
	var e Encoder
	return e.AppendDumps(dst, v)
}

// DumpsVersioned returns the public form of v: the format version byte
// (spec.FormatV1 or spec.FormatV2) followed by the wire form.
func DumpsVersioned(v Value, version byte) ([]byte, error) {
	if version != spec.FormatV1 && version != spec.FormatV2 {
		return nil, &EncodeError{Err: ErrVersion, Detail: fmt.Sprintf("format version %d, want 1 or 2", version)}
	}
	buf := make([]byte, 1, 1+sizeHint(v))
	buf[0] = version
	var e Encoder
	return e.AppendDumps(buf, v)
}

// Dumps is the package-level Dumps with e's limits.
func (e *Encoder) Dumps(v Value) ([]byte, error) {
	return e.AppendDumps(make([]byte, 0, sizeHint(v)), v)
}

// AppendDumps is the package-level AppendDumps with e's limits.
func (e *Encoder) AppendDumps(dst []byte, v Value) ([]byte, error) {
	st := encState{lim: e.Limits.withDefaults()}
	n := len(dst)
	out, err := st.enc(dst, v, 0)
	if err != nil {
		return dst[:n], err
	}
	return append(out, byte(spec.OpStop)), nil
}

// sizeHint guesses the encoded size of v from a sample of it. A single
// string or bytes value starts from a small buffer instead: append then
// sizes the buffer for its data and, unlike make, does not zero memory it
// is about to overwrite.
func sizeHint(v Value) int {
	switch x := v.(type) {
	case Bytes:
		return blobHint(len(x))
	case Str:
		return blobHint(len(x))
	case Py2Str:
		return blobHint(len(x))
	}
	n := rawSizeHint(v) + 1
	if n > 4<<20 {
		n = 4 << 20
	}
	return n
}

func blobHint(n int) int {
	if n < 32<<10 {
		return n + 6
	}
	return 64
}

func rawSizeHint(v Value) int { return estimate(v, 3) }

// estimate guesses the encoded size of v, sampling at most 8 elements of
// each container and looking depth levels deep.
func estimate(v Value, depth int) int {
	const sample = 8
	seq := func(x []Value, per int) int {
		n := len(x)
		if n == 0 || depth == 0 {
			return 5 + (per+4)*n
		}
		k := n
		if k > sample {
			k = sample
		}
		sum := 0
		for _, e := range x[:k] {
			sum += estimate(e, depth-1)
		}
		return 5 + (sum+per*k)*n/k
	}
	switch x := v.(type) {
	case Bytes:
		return len(x) + 5
	case Str:
		return len(x) + 5
	case Py2Str:
		return len(x) + 5
	case Float:
		return 9
	case Complex:
		return 17
	case Int, ChannelRef:
		return 5
	case List:
		return seq(x, 6) // INT index + SETITEM per element
	case Tuple:
		return seq(x, 0)
	case Set:
		return seq(x, 0)
	case FrozenSet:
		return seq(x, 0)
	case *Dict:
		items := x.Items()
		n := len(items)
		if n == 0 || depth == 0 {
			return 1 + 16*n
		}
		k := n
		if k > sample {
			k = sample
		}
		sum := 0
		for _, it := range items[:k] {
			sum += estimate(it.Key, depth-1) + estimate(it.Value, depth-1) + 1
		}
		return 1 + sum*n/k
	}
	return 5
}

type encState struct {
	lim Limits
}

func appendInt32(b []byte, op spec.Opcode, i int32) []byte {
	return append(b, byte(op), byte(uint32(i)>>24), byte(uint32(i)>>16), byte(uint32(i)>>8), byte(i))
}

func appendBlob(b []byte, op spec.Opcode, data string) []byte {
	b = appendInt32(b, op, int32(len(data)))
	return append(b, data...)
}

func (s *encState) enc(b []byte, v Value, depth int) ([]byte, error) {
	switch x := v.(type) {
	case Int:
		if x >= math.MinInt32 && x <= math.MaxInt32 {
			return appendInt32(b, spec.OpInt, int32(x)), nil
		}
		return appendDecimal(b, int64(x)), nil
	case Str:
		if len(x) > maxLen {
			return b, &EncodeError{Err: ErrTooLong, Detail: fmt.Sprintf("str of %d bytes", len(x))}
		}
		if !utf8.ValidString(string(x)) {
			return b, &EncodeError{Err: ErrBadUTF8, Detail: "str holds invalid UTF-8 " + badUTF8At(string(x))}
		}
		return appendBlob(b, spec.OpPy3String, string(x)), nil
	case None:
		return append(b, byte(spec.OpNone)), nil
	case Bool:
		if x {
			return append(b, byte(spec.OpTrue)), nil
		}
		return append(b, byte(spec.OpFalse)), nil
	case Float:
		b = append(b, byte(spec.OpFloat))
		return binary.BigEndian.AppendUint64(b, math.Float64bits(float64(x))), nil
	case Complex:
		b = append(b, byte(spec.OpComplex))
		b = binary.BigEndian.AppendUint64(b, math.Float64bits(real(x)))
		return binary.BigEndian.AppendUint64(b, math.Float64bits(imag(x))), nil
	case Bytes:
		if len(x) > maxLen {
			return b, &EncodeError{Err: ErrTooLong, Detail: fmt.Sprintf("bytes of %d bytes", len(x))}
		}
		b = appendInt32(b, spec.OpBytes, int32(len(x)))
		return append(b, x...), nil
	case Py2Str:
		if len(x) > maxLen {
			return b, &EncodeError{Err: ErrTooLong, Detail: fmt.Sprintf("py2str of %d bytes", len(x))}
		}
		b = appendInt32(b, spec.OpPy2String, int32(len(x)))
		return append(b, x...), nil
	case BigInt:
		return s.encBig(b, x)
	case List:
		if depth >= s.lim.MaxDepth {
			return b, s.depthErr()
		}
		if len(x) > maxLen {
			return b, &EncodeError{Err: ErrTooLong, Detail: fmt.Sprintf("list of %d elements", len(x))}
		}
		b = appendInt32(b, spec.OpNewList, int32(len(x)))
		var err error
		for i, e := range x {
			b = appendInt32(b, spec.OpInt, int32(i))
			if b, err = s.enc(b, e, depth+1); err != nil {
				return b, prependPath(err, "["+strconv.Itoa(i)+"]")
			}
			b = append(b, byte(spec.OpSetItem))
		}
		return b, nil
	case Tuple:
		if depth >= s.lim.MaxDepth {
			return b, s.depthErr()
		}
		if len(x) > maxLen {
			return b, &EncodeError{Err: ErrTooLong, Detail: fmt.Sprintf("tuple of %d elements", len(x))}
		}
		var err error
		for i, e := range x {
			if b, err = s.enc(b, e, depth+1); err != nil {
				return b, prependPath(err, "["+strconv.Itoa(i)+"]")
			}
		}
		return appendInt32(b, spec.OpBuildTuple, int32(len(x))), nil
	case *Dict:
		if depth >= s.lim.MaxDepth {
			return b, s.depthErr()
		}
		b = append(b, byte(spec.OpNewDict))
		var err error
		for i, it := range x.Items() {
			if err = checkHashable(it.Key); err != nil {
				return b, &EncodeError{Path: "<key " + strconv.Itoa(i) + ">", Err: ErrUnhashable, Detail: err.Error()}
			}
			if b, err = s.enc(b, it.Key, depth+1); err != nil {
				return b, prependPath(err, "<key "+strconv.Itoa(i)+">")
			}
			if b, err = s.enc(b, it.Value, depth+1); err != nil {
				return b, prependPath(err, "["+shortRepr(it.Key)+"]")
			}
			b = append(b, byte(spec.OpSetItem))
		}
		return b, nil
	case Set:
		return s.encSet(b, x, spec.OpSet, depth)
	case FrozenSet:
		return s.encSet(b, x, spec.OpFrozenSet, depth)
	case ChannelValue:
		return appendInt32(b, spec.OpChannel, x.ChannelID()), nil
	case nil:
		return b, &EncodeError{Err: ErrUnsupported, Detail: "nil Value (use codec.None{} for None)"}
	}
	return b, &EncodeError{Err: ErrUnsupported, Detail: fmt.Sprintf("Go type %T is not in the data model", v)}
}

func (s *encState) depthErr() error {
	return &EncodeError{Err: ErrLimit, Detail: fmt.Sprintf("nesting deeper than MaxDepth %d", s.lim.MaxDepth)}
}

func (s *encState) encSet(b []byte, x []Value, op spec.Opcode, depth int) ([]byte, error) {
	if depth >= s.lim.MaxDepth {
		return b, s.depthErr()
	}
	if len(x) > maxLen {
		return b, &EncodeError{Err: ErrTooLong, Detail: fmt.Sprintf("set of %d elements", len(x))}
	}
	var err error
	for i, e := range x {
		seg := "{" + strconv.Itoa(i) + "}"
		if err = checkHashable(e); err != nil {
			return b, &EncodeError{Path: seg, Err: ErrUnhashable, Detail: err.Error()}
		}
		if b, err = s.enc(b, e, depth+1); err != nil {
			return b, prependPath(err, seg)
		}
	}
	return appendInt32(b, op, int32(len(x))), nil
}

// appendDecimal writes i (outside the int32 range) as LONGINT.
func appendDecimal(b []byte, i int64) []byte {
	start := len(b)
	b = append(b, byte(spec.OpLongInt), 0, 0, 0, 0)
	b = strconv.AppendInt(b, i, 10)
	binary.BigEndian.PutUint32(b[start+1:], uint32(len(b)-start-5))
	return b
}

func (s *encState) encBig(b []byte, x BigInt) ([]byte, error) {
	if x.V == nil {
		return b, &EncodeError{Err: ErrUnsupported, Detail: "BigInt with nil V"}
	}
	if x.V.IsInt64() {
		return s.enc(b, Int(x.V.Int64()), 0)
	}
	start := len(b)
	b = append(b, byte(spec.OpLongInt), 0, 0, 0, 0)
	b = x.V.Append(b, 10)
	n := len(b) - start - 5
	digits := n
	if x.V.Sign() < 0 {
		digits--
	}
	if digits > s.lim.MaxIntDigits {
		return b[:start], &EncodeError{Err: ErrLimit, Detail: fmt.Sprintf("int of %d decimal digits exceeds MaxIntDigits %d", digits, s.lim.MaxIntDigits)}
	}
	binary.BigEndian.PutUint32(b[start+1:], uint32(n))
	return b, nil
}

func prependPath(err error, seg string) error {
	if ee, ok := err.(*EncodeError); ok {
		ee.Path = seg + ee.Path
	}
	return err
}

// shortRepr is Repr bounded to a readable length, for error paths.
func shortRepr(v Value) string {
	r := Repr(v)
	if len(r) > 40 {
		r = r[:37] + "..."
	}
	return r
}

func badUTF8At(s string) string {
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n <= 1 {
			return fmt.Sprintf("at byte %d (0x%02x)", i, s[i])
		}
		i += n
	}
	return ""
}
