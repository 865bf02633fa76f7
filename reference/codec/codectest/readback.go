package codectest

import (
	"math"

	"github.com/execnet-conform/execnet-conform/reference/codec"
)

// ComplexReadsBack reports whether Python, and codec.ParseLiteral, read
// the repr of c back with the same zero signs. They do not when a part is
// -0.0 (repr prints -0 or -0j, and the arithmetic of -0+1j or 1-0j gives
// +0.0) or when the real part is +0.0 and the imaginary part negative
// (repr prints complex(0, -2) as -2j, which reads as -(2j), complex(-0.0,
// -2.0)).
func ComplexReadsBack(c complex128) bool {
	re, im := real(c), imag(c)
	negZero := func(f float64) bool { return f == 0 && math.Signbit(f) }
	return !negZero(re) && !negZero(im) && !(re == 0 && math.Signbit(im))
}

// ReadsBack reports whether every complex in v (at any depth) satisfies
// ComplexReadsBack, so that ParseLiteral(Repr(v)) can be Identical to v.
func ReadsBack(v codec.Value) bool {
	var xs []codec.Value
	switch x := v.(type) {
	case codec.Complex:
		return ComplexReadsBack(complex128(x))
	case codec.Tuple:
		xs = x
	case codec.List:
		xs = x
	case codec.Set:
		xs = x
	case codec.FrozenSet:
		xs = x
	case *codec.Dict:
		for _, it := range x.Items() {
			xs = append(xs, it.Key, it.Value)
		}
	}
	for _, x := range xs {
		if !ReadsBack(x) {
			return false
		}
	}
	return true
}
