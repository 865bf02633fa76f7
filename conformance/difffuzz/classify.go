package difffuzz

import (
	"errors"
	"math"
	"math/big"
	"strings"

	"github.com/execnet-conform/execnet-conform/conformance/monitor"
	"github.com/execnet-conform/execnet-conform/reference/codec"
	"github.com/execnet-conform/execnet-conform/spec"
)

// Disagreement kinds.
const (
	KindAcceptReject = "accept-vs-reject" // one side accepted, the other rejected
	KindErrorClass   = "error-class"      // both rejected, with different classes
	KindValue        = "value"            // both accepted, different values
	KindBytes        = "bytes"            // conform_dumps wrote other bytes than the reference encoder
	KindTargetFault  = "target-fault"     // the target hung, lost the connection or sent an unreadable reply
)

// refClass is the table 6.2 class of a reference decoding error, as the
// protocol monitor classifies it (one mapping for every checker).
func refClass(err error) string { return monitor.ErrorClass(err) }

func knownClass(s string) bool { return spec.IsErrorClass(s) || s == "Unknown" }

// refDecoder is the reference decoder: channel strconfig, and channels
// refused as conform_loads refuses them (CONF-LOADS).
func refDecoder() *codec.Decoder {
	return &codec.Decoder{StrConfig: codec.ChannelStrConfig, Channel: func(int32) (codec.Value, error) {
		return nil, codec.ErrChannelNotAllowed
	}}
}

// refLoads is the reference answer for one conform_loads input, and the
// decode error when it rejects.
func refLoads(b []byte) (answer, *codec.DecodeError) {
	v, _, err := refDecoder().Loads(b)
	if err != nil {
		var de *codec.DecodeError
		errors.As(err, &de)
		return answer{Class: refClass(err), Message: err.Error()}, de
	}
	return answer{Value: v}, nil
}

// verdict is the classification of one disagreement.
type verdict struct {
	Kind      string
	Key       string   // dedup key: kind plus the classes and opcode involved
	Clauses   []string // the clauses that decide who is right
	Deviation string   // DEV-N of SPEC.md Appendix B when known, else ""
}

// classifyLoads decides whether ref and tgt disagree on input b, and how.
// ok is false when they agree.
func classifyLoads(b []byte, ref answer, de *codec.DecodeError, tgt answer) (verdict, bool) {
	op := ""
	if de != nil && de.Op != 0 {
		op = de.Op.String()
	}
	var v verdict
	switch {
	case tgt.Class == classTimeout || tgt.Class == classLost || tgt.Class == classUnreadable:
		v.Kind = KindTargetFault
		v.Key = "loads/" + v.Kind + "/" + tgt.Class + "/ref=" + orAccept(ref.Class) + "@" + op
		v.Clauses = []string{"ERR-GEN-3"}
		if !ref.accepted() {
			v.Clauses = append(v.Clauses, spec.ClassClauses(ref.Class)...)
		}
	case ref.accepted() && tgt.accepted():
		if codec.Identical(ref.Value, tgt.Value) {
			return verdict{}, false
		}
		v.Kind = KindValue
		v.Key = "loads/value/" + firstDiffKind(ref.Value, tgt.Value)
		v.Clauses = []string{"ERR-GEN-1", "DM-EQ-1"}
	case !ref.accepted() && !tgt.accepted():
		if ref.Class == tgt.Class {
			return verdict{}, false
		}
		v.Kind = KindErrorClass
		v.Key = "loads/error-class/ref=" + ref.Class + "@" + op + "/target=" + tgt.Class
		v.Clauses = append([]string{"ERR-GEN-2", "ERR-GEN-5"}, spec.ClassClauses(ref.Class)...)
	default:
		v.Kind = KindAcceptReject
		v.Key = "loads/accept-vs-reject/ref=" + orAccept(ref.Class) + "@" + op + "/target=" + orAccept(tgt.Class)
		v.Clauses = []string{"ERR-GEN-1"}
		if !ref.accepted() {
			v.Clauses = append(v.Clauses, spec.ClassClauses(ref.Class)...)
		}
	}
	v.Deviation = loadsDeviation(ref, de, tgt)
	return v, true
}

func orAccept(class string) string {
	if class == "" {
		return "accept"
	}
	return class
}

// loadsDeviation maps a conform_loads disagreement to a known deviation
// of Python execnet (SPEC.md Appendix B), or "".
func loadsDeviation(ref answer, de *codec.DecodeError, tgt answer) string {
	var op spec.Opcode
	detail := ""
	if de != nil {
		op, detail = de.Op, de.Detail
	}
	isInt := op == spec.OpLongInt || op == spec.OpLongLong
	tgtText := tgt.Message
	cannotSendInt := isDev1Text(tgtText)
	if cannotSendInt && ref.accepted() && hasSmallInt(ref.Value) {
		return "DEV-1" // the target decoded it, but cannot send the int back
	}
	if ref.accepted() {
		if tgt.accepted() && hasNaNKey(ref.Value) {
			return "DEV-21"
		}
		if hasDeep(ref.Value, 300) && (tgt.Class == "Unknown" || tgt.Class == classLost) &&
			strings.Contains(tgtText, "Recursion") {
			return "DEV-18" // decoded, but its recursive encoder cannot send it back
		}
		return ""
	}
	switch ref.Class {
	case spec.ClassBadInteger:
		if isInt && (tgt.Class != "Unknown" || cannotSendInt) {
			// int() accepts the operand, so the target decodes it (and may
			// then fail to send a big negative int back, DEV-1), or
			// reports a defect further on.
			return "DEV-4"
		}
	case spec.ClassStackUnderflow:
		if (op == spec.OpBuildTuple || op == spec.OpSet || op == spec.OpFrozenSet) && (tgt.Class != "Unknown" || cannotSendInt) {
			// It takes the whole stack and goes on: the target decodes the
			// input (and may then fail to send a big negative int back,
			// DEV-1), or reports a defect further on.
			return "DEV-5"
		}
	case spec.ClassIndexRange:
		if strings.Contains(detail, "got bool") {
			return "DEV-17"
		}
		if strings.Contains(detail, "index -") {
			return "DEV-11"
		}
	case spec.ClassNegativeLength:
		return "DEV-12"
	case spec.ClassNotContainer:
		if op == spec.OpSetItem && tgt.Class == spec.ClassIndexRange {
			return "DEV-25" // CPython converts a huge int key before checking the target
		}
	case spec.ClassTruncated:
		if isInt && !tgt.accepted() {
			return "DEV-22"
		}
		if (op == spec.OpPy3String || op == spec.OpUnicode) && tgt.Class == spec.ClassBadUTF8 {
			return "DEV-24" // the short operand is decoded before EOF is noticed
		}
	case spec.ClassLimit:
		switch {
		case op == spec.OpNewList && strings.Contains(detail, "slots"):
			return "DEV-13"
		case isInt:
			return "DEV-2"
		case strings.Contains(detail, "MaxDepth"):
			return "DEV-18"
		}
	}
	return ""
}

// dumpsDeviation maps a conform_dumps disagreement on value v to a known
// deviation, or "".
func dumpsDeviation(v codec.Value, tgt answer) string {
	t := tgt.Message
	if hasSmallInt(v) && isDev1Text(t) {
		return "DEV-1"
	}
	if hasDeep(v, 300) && strings.Contains(t, "Recursion") {
		return "DEV-18"
	}
	return ""
}

// isDev1Text reports whether a target error is Python's struct module
// refusing an integer on the INT path (DEV-1): CPython says "'i' format
// requires ..." or, past 64 bits, "argument out of range"; PyPy says
// "argument out of range for 4-bytes integer format".
func isDev1Text(s string) bool {
	return strings.Contains(s, "struct.error") && (strings.Contains(s, "format requires") || strings.Contains(s, "out of range"))
}

// walk calls f on v and every value inside it, stopping when f returns
// true; it reports whether f did.
func walk(v codec.Value, depth int, f func(codec.Value, int) bool) bool {
	if f(v, depth) {
		return true
	}
	var elems []codec.Value
	switch x := v.(type) {
	case codec.Tuple:
		elems = x
	case codec.List:
		elems = x
	case codec.Set:
		elems = x
	case codec.FrozenSet:
		elems = x
	case *codec.Dict:
		for _, it := range x.Items() {
			if walk(it.Key, depth+1, f) || walk(it.Value, depth+1, f) {
				return true
			}
		}
	}
	for _, e := range elems {
		if walk(e, depth+1, f) {
			return true
		}
	}
	return false
}

var minInt32 = big.NewInt(math.MinInt32)

// hasSmallInt reports whether v holds an integer below -2^31 (DEV-1).
func hasSmallInt(v codec.Value) bool {
	return walk(v, 0, func(x codec.Value, _ int) bool {
		switch i := x.(type) {
		case codec.Int:
			return int64(i) < math.MinInt32
		case codec.BigInt:
			return i.V != nil && i.V.Cmp(minInt32) < 0
		}
		return false
	})
}

// hasDeep reports whether v nests deeper than d.
func hasDeep(v codec.Value, d int) bool {
	return walk(v, 0, func(_ codec.Value, depth int) bool { return depth > d })
}

// hasNaNKey reports whether v has a NaN dict key or set element (DEV-21).
func hasNaNKey(v codec.Value) bool {
	nan := func(x codec.Value) bool {
		switch f := x.(type) {
		case codec.Float:
			return math.IsNaN(float64(f))
		case codec.Complex:
			return math.IsNaN(real(complex128(f))) || math.IsNaN(imag(complex128(f)))
		}
		return false
	}
	return walk(v, 0, func(x codec.Value, _ int) bool {
		switch c := x.(type) {
		case *codec.Dict:
			for _, it := range c.Items() {
				if walk(it.Key, 0, func(k codec.Value, _ int) bool { return nan(k) }) {
					return true
				}
			}
		case codec.Set:
			return walk(codec.Tuple(c), 0, func(k codec.Value, _ int) bool { return nan(k) })
		case codec.FrozenSet:
			return walk(codec.Tuple(c), 0, func(k codec.Value, _ int) bool { return nan(k) })
		}
		return false
	})
}

// hasSet reports whether v holds a set or frozenset (SER-ENC-5: any order).
func hasSet(v codec.Value) bool {
	return walk(v, 0, func(x codec.Value, _ int) bool {
		switch x.(type) {
		case codec.Set, codec.FrozenSet:
			return true
		}
		return false
	})
}

// firstDiffKind names the kind at which a and b first differ, for the
// dedup key of value disagreements.
func firstDiffKind(a, b codec.Value) string {
	if a == nil || b == nil {
		return "nil"
	}
	if a.Kind() != b.Kind() {
		return a.Kind().String() + "-vs-" + b.Kind().String()
	}
	return a.Kind().String()
}
