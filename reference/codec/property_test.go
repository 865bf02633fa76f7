package codec_test

import (
	"bytes"
	"math"
	"testing"

	"github.com/leanovate/gopter"
	"github.com/leanovate/gopter/prop"

	"github.com/execnet-conform/execnet-conform/reference/codec"
	"github.com/execnet-conform/execnet-conform/reference/codec/codectest"
)

// TestPropertyRoundTrip: for generated values of the whole data model,
// Loads(Dumps(v)) is Identical to v and re-encoding gives the same bytes.
func TestPropertyRoundTrip(t *testing.T) {
	params := gopter.DefaultTestParameters()
	params.MinSuccessfulTests = 2000
	properties := gopter.NewProperties(params)
	// PublicStrConfig keeps PY2STRING as Py2Str, so Py2Str round-trips.
	dec := codec.Decoder{StrConfig: codec.PublicStrConfig}
	properties.Property("Loads(Dumps(v)) == v and Dumps is stable", prop.ForAll(
		func(v codec.Value) (bool, error) {
			b, err := codec.Dumps(v)
			if err != nil {
				return false, err
			}
			back, n, err := dec.Loads(b)
			if err != nil {
				return false, err
			}
			if n != len(b) {
				t.Logf("consumed %d of %d bytes", n, len(b))
				return false, nil
			}
			if !codec.Identical(back, v) {
				t.Logf("decoded %s", codec.Repr(back))
				return false, nil
			}
			zc := dec
			zc.ZeroCopy = true
			if shared, _, err := zc.Loads(b); err != nil || !codec.Identical(shared, v) {
				t.Logf("ZeroCopy decoded %s, %v", codec.Repr(shared), err)
				return false, err
			}
			b2, err := codec.Dumps(back)
			if err != nil {
				return false, err
			}
			return bytes.Equal(b, b2), nil
		},
		codectest.GenValueWith(codectest.Options{MaxDepth: 4, Py2Str: true, Channels: true}),
	))
	// Every literal that Repr prints parses back to an Identical value.
	properties.Property("ParseLiteral(Repr(v)) == v", prop.ForAll(
		func(v codec.Value) (bool, error) {
			if hasOddNaN(v) {
				return true, nil // repr prints every NaN as nan
			}
			if !codectest.ReadsBack(v) {
				return true, nil // read with Python's zero signs (TestReprAndDumpsMatchCPython)
			}
			back, err := codec.ParseLiteral(codec.Repr(v))
			if err != nil {
				return false, err
			}
			if !codec.Identical(back, v) {
				t.Logf("repr %s parsed to %s", codec.Repr(v), codec.Repr(back))
				return false, nil
			}
			return true, nil
		},
		codectest.GenValueWith(codectest.Options{MaxDepth: 4, Channels: true}),
	))
	properties.TestingRun(t)
}

// hasOddNaN reports whether v holds a NaN other than Python's float('nan')
// (a payload or the sign bit set), which Repr cannot show.
func hasOddNaN(v codec.Value) bool {
	odd := func(f float64) bool { return math.IsNaN(f) && math.Float64bits(f) != 0x7ff8000000000000 }
	switch x := v.(type) {
	case codec.Float:
		return odd(float64(x))
	case codec.Complex:
		return odd(real(x)) || odd(imag(x))
	case codec.Tuple:
		return anyOddNaN(x)
	case codec.List:
		return anyOddNaN(x)
	case codec.Set:
		return anyOddNaN(x)
	case codec.FrozenSet:
		return anyOddNaN(x)
	case *codec.Dict:
		for _, it := range x.Items() {
			if hasOddNaN(it.Key) || hasOddNaN(it.Value) {
				return true
			}
		}
	}
	return false
}

func anyOddNaN(xs []codec.Value) bool {
	for _, e := range xs {
		if hasOddNaN(e) {
			return true
		}
	}
	return false
}
