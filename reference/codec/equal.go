package codec

import (
	"bytes"
	"math"
	"math/big"
	"sort"
	"strconv"
)

// checkHashable fails with ErrUnhashable when v could not be a dict key or
// set element in Python.
func checkHashable(v Value) error {
	switch x := v.(type) {
	case Str, Int, Bytes, None, Bool, Float, BigInt, Complex, Py2Str:
		return nil
	case Tuple:
		for _, e := range x {
			if err := checkHashable(e); err != nil {
				return err
			}
		}
		return nil
	case FrozenSet:
		return nil
	case ChannelValue:
		return nil
	}
	return &UnhashableError{Kind: kindOf(v)}
}

func kindOf(v Value) Kind {
	if v == nil {
		return KindNone
	}
	return v.Kind()
}

// isNaNValue reports whether v is a float or complex holding a NaN. Such a
// key never equals another value, as with distinct NaN objects in Python.
func isNaNValue(v Value) bool {
	switch x := v.(type) {
	case Float:
		return math.IsNaN(float64(x))
	case Complex:
		return math.IsNaN(real(x)) || math.IsNaN(imag(x))
	}
	return false
}

// HashKey returns a string that is equal for two hashable values exactly when
// Python considers them equal (1 == 1.0 == True, frozenset order ignored).
// It fails with ErrUnhashable for lists, dicts and sets.
func HashKey(v Value) (string, error) {
	var b []byte
	b, err := appendKey(b, v)
	return string(b), err
}

func appendKey(b []byte, v Value) ([]byte, error) {
	switch x := v.(type) {
	case None:
		return append(b, 'n'), nil
	case Str:
		b = append(b, 's')
		b = strconv.AppendInt(b, int64(len(x)), 10)
		b = append(b, ':')
		return append(b, x...), nil
	case Bytes:
		return appendBytesKey(b, x), nil
	case Py2Str:
		return appendBytesKey(b, x), nil
	case Bool:
		if x {
			return append(b, "i1;"...), nil
		}
		return append(b, "i0;"...), nil
	case Int:
		b = append(b, 'i')
		b = strconv.AppendInt(b, int64(x), 10)
		return append(b, ';'), nil
	case BigInt:
		b = append(b, 'i')
		b = x.V.Append(b, 10)
		return append(b, ';'), nil
	case Float:
		return appendFloatKey(b, float64(x)), nil
	case Complex:
		if imag(x) == 0 {
			return appendFloatKey(b, real(x)), nil
		}
		b = append(b, 'c')
		b = strconv.AppendUint(b, math.Float64bits(real(x)+0), 16)
		b = append(b, ',')
		b = strconv.AppendUint(b, math.Float64bits(imag(x)), 16)
		return append(b, ';'), nil
	case Tuple:
		b = append(b, 't')
		b = strconv.AppendInt(b, int64(len(x)), 10)
		b = append(b, '(')
		for _, e := range x {
			var err error
			if b, err = appendSized(b, e); err != nil {
				return b, err
			}
		}
		return append(b, ')'), nil
	case FrozenSet:
		keys := make([]string, 0, len(x))
		for _, e := range x {
			k, err := HashKey(e)
			if err != nil {
				return b, err
			}
			keys = append(keys, k)
		}
		sort.Strings(keys)
		// drop duplicates so that a non-normalised FrozenSet hashes as Python would
		uniq := keys[:0]
		for i, k := range keys {
			if i == 0 || k != keys[i-1] {
				uniq = append(uniq, k)
			}
		}
		b = append(b, 'z')
		b = strconv.AppendInt(b, int64(len(uniq)), 10)
		b = append(b, '(')
		for _, k := range uniq {
			b = strconv.AppendInt(b, int64(len(k)), 10)
			b = append(b, ':')
			b = append(b, k...)
		}
		return append(b, ')'), nil
	case ChannelValue:
		b = append(b, 'h')
		b = strconv.AppendInt(b, int64(x.ChannelID()), 10)
		return append(b, ';'), nil
	}
	return b, &UnhashableError{Kind: kindOf(v)}
}

// appendSized appends v's key prefixed by its length in four bytes, in
// place, so that nested tuples cost time linear in their size.
func appendSized(b []byte, v Value) ([]byte, error) {
	at := len(b)
	b = append(b, 0, 0, 0, 0)
	b, err := appendKey(b, v)
	if err != nil {
		return b, err
	}
	n := len(b) - at - 4
	b[at], b[at+1], b[at+2], b[at+3] = byte(n>>24), byte(n>>16), byte(n>>8), byte(n)
	return b, nil
}

func appendBytesKey(b, x []byte) []byte {
	b = append(b, 'b')
	b = strconv.AppendInt(b, int64(len(x)), 10)
	b = append(b, ':')
	return append(b, x...)
}

func appendFloatKey(b []byte, f float64) []byte {
	if f == math.Trunc(f) && !math.IsInf(f, 0) {
		if f >= -9.2e18 && f <= 9.2e18 {
			b = append(b, 'i')
			b = strconv.AppendInt(b, int64(f), 10)
			return append(b, ';')
		}
		bf := new(big.Float).SetFloat64(f)
		bi, _ := bf.Int(nil)
		b = append(b, 'i')
		b = bi.Append(b, 10)
		return append(b, ';')
	}
	b = append(b, 'f')
	b = strconv.AppendUint(b, math.Float64bits(f), 16)
	return append(b, ';')
}

// PyEqual reports whether a and b are equal under Python's == for the
// hashable subset of the data model (numbers across kinds, tuples,
// frozensets, strings, bytes, None, channels). NaN never equals anything.
// Unhashable values are compared with Identical.
func PyEqual(a, b Value) bool {
	switch x := a.(type) {
	case Str:
		y, ok := b.(Str)
		return ok && x == y
	case Int:
		if y, ok := b.(Int); ok {
			return x == y
		}
	case Bytes:
		if y, ok := b.(Bytes); ok {
			return bytes.Equal(x, y)
		}
	}
	if eqClass(a) != eqClass(b) {
		return false
	}
	if isNaNValue(a) || isNaNValue(b) {
		return false
	}
	ka, err1 := HashKey(a)
	kb, err2 := HashKey(b)
	if err1 != nil || err2 != nil {
		return Identical(a, b)
	}
	return ka == kb
}

// Identical reports whether a and b are the same value in the strict sense
// used by conformance checks: the same kind and concrete type (Int and BigInt
// count as one integer type), floats compared bit for bit, dicts compared in
// order, sets compared as sets of identical elements.
func Identical(a, b Value) bool {
	switch x := a.(type) {
	case None:
		_, ok := b.(None)
		return ok
	case Bool:
		y, ok := b.(Bool)
		return ok && x == y
	case Int, BigInt:
		return intEqual(a, b)
	case Float:
		y, ok := b.(Float)
		return ok && math.Float64bits(float64(x)) == math.Float64bits(float64(y))
	case Complex:
		y, ok := b.(Complex)
		return ok && math.Float64bits(real(x)) == math.Float64bits(real(y)) &&
			math.Float64bits(imag(x)) == math.Float64bits(imag(y))
	case Bytes:
		y, ok := b.(Bytes)
		return ok && bytes.Equal(x, y)
	case Py2Str:
		y, ok := b.(Py2Str)
		return ok && bytes.Equal(x, y)
	case Str:
		y, ok := b.(Str)
		return ok && x == y
	case Tuple:
		y, ok := b.(Tuple)
		return ok && seqIdentical(x, y)
	case List:
		y, ok := b.(List)
		return ok && seqIdentical(x, y)
	case *Dict:
		y, ok := b.(*Dict)
		if !ok || x.Len() != y.Len() {
			return false
		}
		if x == y {
			return true
		}
		xi, yi := x.Items(), y.Items()
		for i := range xi {
			if !Identical(xi[i].Key, yi[i].Key) || !Identical(xi[i].Value, yi[i].Value) {
				return false
			}
		}
		return true
	case Set:
		y, ok := b.(Set)
		return ok && setIdentical(x, y)
	case FrozenSet:
		y, ok := b.(FrozenSet)
		return ok && setIdentical(x, y)
	case ChannelValue:
		y, ok := b.(ChannelValue)
		return ok && x.ChannelID() == y.ChannelID()
	}
	return a == nil && b == nil
}

func intEqual(a, b Value) bool {
	switch x := a.(type) {
	case Int:
		y, ok := b.(Int)
		return ok && x == y
	case BigInt:
		y, ok := b.(BigInt)
		return ok && x.V.Cmp(y.V) == 0
	}
	return false
}

func seqIdentical(x, y []Value) bool {
	if len(x) != len(y) {
		return false
	}
	if len(x) > 0 && &x[0] == &y[0] {
		return true // the same memory; also ends self-referencing lists
	}
	for i := range x {
		if !Identical(x[i], y[i]) {
			return false
		}
	}
	return true
}

func setIdentical(x, y []Value) bool {
	if len(x) != len(y) {
		return false
	}
	if len(x) > linearMax {
		if same, ok := setIdenticalHashed(x, y); ok {
			return same
		}
	}
	used := make([]bool, len(y))
outer:
	for _, e := range x {
		for j, f := range y {
			if !used[j] && Identical(e, f) {
				used[j] = true
				continue outer
			}
		}
		return false
	}
	return true
}

// setIdenticalHashed compares large sets in linear time by grouping y's
// elements by HashKey (Identical values have equal hash keys). ok is false
// when an element is unhashable, and the caller falls back to pairwise
// comparison.
func setIdenticalHashed(x, y []Value) (same, ok bool) {
	buckets := make(map[string][]int, len(y))
	for j, f := range y {
		k, err := HashKey(f)
		if err != nil {
			return false, false
		}
		buckets[k] = append(buckets[k], j)
	}
	for _, e := range x {
		k, err := HashKey(e)
		if err != nil {
			return false, false
		}
		cand := buckets[k]
		found := -1
		for i, j := range cand {
			if Identical(e, y[j]) {
				found = i
				break
			}
		}
		if found < 0 {
			return false, true
		}
		buckets[k] = append(cand[:found], cand[found+1:]...)
	}
	return true, true
}

// eqClass groups kinds that can compare equal under Python's ==: numbers
// with numbers, bytes with bytes, sets with frozensets.
func eqClass(v Value) int {
	switch v.(type) {
	case Bool, Int, BigInt, Float, Complex:
		return 1
	case Str:
		return 2
	case Bytes, Py2Str:
		return 3
	case Tuple:
		return 4
	case Set, FrozenSet:
		return 5
	case None:
		return 6
	case List:
		return 7
	case *Dict:
		return 8
	case ChannelValue:
		return 9
	}
	return 0
}
