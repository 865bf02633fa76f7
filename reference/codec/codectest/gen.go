// Package codectest provides gopter generators for values of the codec
// data model, for property tests here and in the conformance runner.
package codectest

import (
	"math"
	"math/big"
	"math/rand"
	"reflect"

	"github.com/leanovate/gopter"

	"github.com/execnet-conform/execnet-conform/reference/codec"
)

// Options selects what GenValueWith generates.
type Options struct {
	// MaxDepth bounds container nesting (0: scalars only).
	MaxDepth int
	// MaxLen bounds the length of each container, string and bytes value;
	// 0 means 6 for containers and 24 for strings.
	MaxLen int
	// Py2Str includes Py2Str values. Python 3 peers decode them as str or
	// bytes, so they do not round-trip through a Python peer.
	Py2Str bool
	// Channels includes ChannelRef values (CHANNEL opcodes).
	Channels bool
}

// valueType is the reflect type of codec.Value, the result type of the
// generators.
var valueType = reflect.TypeOf((*codec.Value)(nil)).Elem()

// GenValue generates values of the data model that a Python 3 execnet peer
// can decode and send back unchanged: None, bool, ints of any size up to
// 100 digits, floats (every bit pattern, NaN payloads included), complex,
// bytes, str (valid UTF-8, all planes), tuples, lists, dicts, sets and
// frozensets nested up to maxDepth. Py2Str and channel references are left
// out; use GenValueWith for them.
//
// Dict keys and set elements are hashable and pairwise distinct under
// codec.PyEqual, and never hold a NaN (whose equality Python decides by
// object identity, which differs between CPython and PyPy). Sets are
// normalised (codec.NewSet), so decoding their encoding keeps their order.
// Containers shrink to their elements.
func GenValue(maxDepth int) gopter.Gen {
	return GenValueWith(Options{MaxDepth: maxDepth})
}

// GenValueWith is GenValue with explicit options.
func GenValueWith(o Options) gopter.Gen {
	return func(p *gopter.GenParameters) *gopter.GenResult {
		g := generator{rng: p.Rng, opt: o}
		v := g.value(o.MaxDepth)
		r := gopter.NewGenResult(v, shrinker)
		r.ResultType = valueType
		return r
	}
}

type generator struct {
	rng *rand.Rand
	opt Options
}

func (g *generator) containerLen() int {
	n := g.opt.MaxLen
	if n <= 0 {
		n = 6
	}
	// favour short containers, sometimes empty
	return g.rng.Intn(n + 1)
}

func (g *generator) textLen() int {
	n := g.opt.MaxLen
	if n <= 0 {
		n = 24
	}
	if g.rng.Intn(4) == 0 {
		return 0
	}
	return g.rng.Intn(n + 1)
}

// value returns any value with nesting at most depth.
func (g *generator) value(depth int) codec.Value {
	if depth > 0 && g.rng.Intn(3) == 0 {
		switch g.rng.Intn(5) {
		case 0:
			return g.tuple(depth, false)
		case 1:
			n := g.containerLen()
			l := make(codec.List, n)
			for i := range l {
				l[i] = g.value(depth - 1)
			}
			return l
		case 2:
			return g.dict(depth)
		case 3:
			return g.set(depth, false)
		default:
			return g.set(depth, true)
		}
	}
	return g.scalar(false)
}

// hashable returns a hashable value without NaNs.
func (g *generator) hashable(depth int) codec.Value {
	if depth > 0 && g.rng.Intn(5) == 0 {
		if g.rng.Intn(2) == 0 {
			return g.tuple(depth, true)
		}
		return g.set(depth, true)
	}
	return g.scalar(true)
}

func (g *generator) tuple(depth int, hashable bool) codec.Value {
	n := g.containerLen()
	t := make(codec.Tuple, n)
	for i := range t {
		if hashable {
			t[i] = g.hashable(depth - 1)
		} else {
			t[i] = g.value(depth - 1)
		}
	}
	return t
}

func (g *generator) dict(depth int) codec.Value {
	n := g.containerLen()
	d := &codec.Dict{}
	for i := 0; i < n; i++ {
		k := g.hashable(depth - 1)
		if _, dup := d.Get(k); dup {
			continue
		}
		_ = d.Set(k, g.value(depth-1)) // k is hashable
	}
	return d
}

func (g *generator) set(depth int, frozen bool) codec.Value {
	n := g.containerLen()
	elems := make([]codec.Value, n)
	for i := range elems {
		elems[i] = g.hashable(depth - 1)
	}
	if frozen {
		s, _ := codec.NewFrozenSet(elems...) // elements are hashable
		return s
	}
	s, _ := codec.NewSet(elems...)
	return s
}

var interestingInts = []int64{0, 1, -1, 127, 128, 255, 256, -256, 65535, 1<<31 - 1, -1 << 31,
	1 << 31, -1<<31 - 1, 1 << 32, math.MaxInt64, math.MinInt64, math.MaxInt64 - 1, math.MinInt64 + 1}

var interestingFloats = []float64{0, math.Copysign(0, -1), 1, -1, 0.5, 1.5, 1e16, 1e15, 1e-4, 1e-5,
	math.Inf(1), math.Inf(-1), math.MaxFloat64, math.SmallestNonzeroFloat64, 0.1, 1.0 / 3}

func (g *generator) float(noNaN bool) float64 {
	var f float64
	switch g.rng.Intn(4) {
	case 0:
		f = interestingFloats[g.rng.Intn(len(interestingFloats))]
	case 1:
		f = math.Float64frombits(g.rng.Uint64()) // any bit pattern, NaN payloads too
	case 2:
		f = float64(g.rng.Intn(2001) - 1000)
	default:
		f = g.rng.NormFloat64() * math.Pow(10, float64(g.rng.Intn(40)-20))
	}
	if noNaN && math.IsNaN(f) {
		f = 0.25
	}
	return f
}

func (g *generator) scalar(hashable bool) codec.Value {
	for {
		switch g.rng.Intn(13) {
		case 0:
			return codec.None{}
		case 1:
			return codec.Bool(g.rng.Intn(2) == 0)
		case 2:
			return codec.Int(interestingInts[g.rng.Intn(len(interestingInts))])
		case 3:
			return codec.Int(g.rng.Int63n(2001) - 1000)
		case 4:
			return codec.Int(int64(g.rng.Uint64()))
		case 5:
			return g.bigInt()
		case 6:
			return codec.Float(g.float(hashable))
		case 7:
			return codec.Complex(complex(g.float(hashable), g.float(hashable)))
		case 8:
			b := make([]byte, g.textLen())
			g.rng.Read(b)
			return codec.Bytes(b)
		case 9, 10:
			return codec.Str(g.text())
		case 11:
			if g.opt.Py2Str {
				b := make([]byte, g.textLen())
				g.rng.Read(b)
				return codec.Py2Str(b)
			}
		case 12:
			if g.opt.Channels {
				return codec.ChannelRef(int32(g.rng.Uint32()))
			}
		}
	}
}

// bigInt returns an integer outside the int64 range, up to 100 digits.
func (g *generator) bigInt() codec.Value {
	x := new(big.Int).Lsh(big.NewInt(1), 63)
	switch g.rng.Intn(3) {
	case 0: // just beyond int64 on either side
		if g.rng.Intn(2) == 0 {
			x.Neg(x).Sub(x, big.NewInt(1))
		}
		x.Add(x, big.NewInt(g.rng.Int63n(3)))
	default:
		digits := 20 + g.rng.Intn(81)
		x.Exp(big.NewInt(10), big.NewInt(int64(digits-1)), nil)
		x.Add(x, new(big.Int).Rand(g.rng, x))
		if g.rng.Intn(2) == 0 {
			x.Neg(x)
		}
	}
	return codec.NewBigInt(x)
}

// text returns valid UTF-8 drawn from ASCII, Latin-1, the BMP (no
// surrogates) and the astral planes.
func (g *generator) text() string {
	n := g.textLen()
	rs := make([]rune, n)
	for i := range rs {
		switch g.rng.Intn(6) {
		case 0, 1:
			rs[i] = rune(g.rng.Intn(0x80))
		case 2:
			rs[i] = rune(0x80 + g.rng.Intn(0x80))
		case 3, 4:
			r := rune(0x100 + g.rng.Intn(0xff00))
			if r >= 0xd800 && r <= 0xdfff {
				r -= 0x800
			}
			rs[i] = r
		default:
			rs[i] = rune(0x10000 + g.rng.Intn(0x100000))
		}
	}
	return string(rs)
}

// shrinker offers the direct elements of a container, then an empty
// container of the same kind.
func shrinker(v interface{}) gopter.Shrink {
	var cands []codec.Value
	switch x := v.(type) {
	case codec.Tuple:
		cands = append(cands, []codec.Value(x)...)
		cands = append(cands, codec.Tuple{})
	case codec.List:
		cands = append(cands, []codec.Value(x)...)
		cands = append(cands, codec.List{})
	case codec.Set:
		cands = append(cands, []codec.Value(x)...)
		cands = append(cands, codec.Set{})
	case codec.FrozenSet:
		cands = append(cands, []codec.Value(x)...)
		cands = append(cands, codec.FrozenSet{})
	case *codec.Dict:
		for _, it := range x.Items() {
			cands = append(cands, it.Key, it.Value)
		}
		cands = append(cands, &codec.Dict{})
	}
	i := 0
	return func() (interface{}, bool) {
		if i >= len(cands) {
			return nil, false
		}
		i++
		return cands[i-1], true
	}
}
