package codec_test

import (
	"encoding/binary"
	"encoding/hex"
	"math"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/execnet-conform/execnet-conform/internal/peers"
	"github.com/execnet-conform/execnet-conform/reference/codec"
	"github.com/execnet-conform/execnet-conform/spec"
)

// dupKeys are dict keys among which many compare equal in Python:
// 1 == 1.0 == True == 1+0j, 2**70 == float(2**70), (1, 'a') == (1.0, 'a'),
// frozenset order, and NaN, which never equals another key.
func dupKeys() []codec.Value {
	big70 := new(big.Int).Lsh(big.NewInt(1), 70)
	fs12, _ := codec.NewFrozenSet(codec.Int(1), codec.Int(2))
	fs21, _ := codec.NewFrozenSet(codec.Int(2), codec.Int(1))
	keys := []codec.Value{
		codec.Int(0), codec.Bool(false), codec.Float(0), codec.Float(math.Copysign(0, -1)),
		codec.Int(1), codec.Bool(true), codec.Float(1), codec.Complex(1),
		codec.Int(5), codec.Float(0.5), codec.Complex(complex(0, 1)),
		codec.BigInt{V: big70}, codec.Float(math.Ldexp(1, 70)),
		codec.Tuple{codec.Int(1), codec.Str("a")}, codec.Tuple{codec.Float(1), codec.Str("a")},
		fs12, fs21, codec.Bytes("a"), codec.None{}, codec.Float(math.NaN()),
	}
	for _, s := range []string{"", "a", "b", "k1", "k2", "k3", "key04", "key05", "nodeid", "when"} {
		keys = append(keys, codec.Str(s))
	}
	return keys
}

// dupDictGen writes dict wire forms (no STOP) whose SETITEMs repeat keys,
// and builds the value Python means by them with Dict.Set.
type dupDictGen struct {
	r    *rand.Rand
	keys []codec.Value
}

func (g *dupDictGen) scalar(t *testing.T, v codec.Value) []byte {
	b, err := codec.Dumps(v)
	if err != nil {
		t.Fatal(err)
	}
	return b[:len(b)-1]
}

func opN(op spec.Opcode, n int) []byte {
	return binary.BigEndian.AppendUint32([]byte{byte(op)}, uint32(n))
}

// dict returns a dict of up to 40 SETITEMs; values are ints, nested dicts,
// tuples of dicts (several open dicts at once) or lists holding a dict.
func (g *dupDictGen) dict(t *testing.T, depth int) ([]byte, *codec.Dict) {
	w := []byte{byte(spec.OpNewDict)}
	want := &codec.Dict{}
	n := g.r.IntN(41)
	for i := 0; i < n; i++ {
		k := g.keys[g.r.IntN(len(g.keys))]
		var vw []byte
		var v codec.Value
		switch c := g.r.IntN(10); {
		case depth > 0 && c == 0:
			vw, v = g.dict(t, depth-1)
		case depth > 0 && c == 1:
			aw, a := g.dict(t, depth-1)
			bw, b := g.dict(t, depth-1)
			vw = append(append(aw, bw...), opN(spec.OpBuildTuple, 2)...)
			v = codec.Tuple{a, b}
		case depth > 0 && c == 2:
			dw, d := g.dict(t, depth-1)
			vw = append(append(append(opN(spec.OpNewList, 1), g.scalar(t, codec.Int(0))...), dw...), byte(spec.OpSetItem))
			v = codec.List{d}
		default:
			v = codec.Int(g.r.IntN(1000))
			vw = g.scalar(t, v)
		}
		w = append(w, g.scalar(t, k)...)
		w = append(w, vw...)
		w = append(w, byte(spec.OpSetItem))
		if err := want.Set(k, v); err != nil {
			t.Fatal(err)
		}
	}
	return w, want
}

// TestLoadsDictDuplicateKeys checks that decoded dicts follow Dict.Set
// (Python's d[k] = v) on inputs full of equal keys, for small dicts and
// for dicts large enough to be hashed.
func TestLoadsDictDuplicateKeys(t *testing.T) {
	g := &dupDictGen{r: rand.New(rand.NewPCG(1, 2)), keys: dupKeys()}
	for i := 0; i < 100; i++ {
		depth := 1
		if i%10 == 0 {
			depth = 2 // three open dicts deep, but much larger inputs
		}
		w, want := g.dict(t, depth)
		w = append(w, byte(spec.OpStop))
		got, err := codec.Loads(w)
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		if !codec.Identical(got, want) {
			t.Fatalf("case %d: got %s, want %s", i, codec.Repr(got), codec.Repr(want))
		}
	}
}

// TestLoadsDictDuplicateKeysMatchPython decodes the same kind of input
// with real execnet and compares the values strictly (types, float bits,
// order).
func TestLoadsDictDuplicateKeysMatchPython(t *testing.T) {
	p := startPeer(t, "cpython", peers.CPython(t))
	g := &dupDictGen{r: rand.New(rand.NewPCG(3, 4)), keys: dupKeys()}
	for i := 0; i < 60; i++ {
		w, _ := g.dict(t, 1)
		w = append(w, byte(spec.OpStop))
		r := p.loads(t, w, nil)
		if !r.OK || r.Dumps == nil {
			t.Fatalf("case %d: python: %s %s", i, r.Error, r.Message)
		}
		got, err := codec.Loads(w)
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		// Python's dumps of its value has no repeated key, so reading it
		// back in Go gives Python's dict (frozenset order aside, which
		// Identical ignores).
		pyBytes, _ := hex.DecodeString(*r.Dumps)
		want, err := codec.Loads(append(pyBytes, byte(spec.OpStop)))
		if err != nil {
			t.Fatalf("case %d: Python's bytes: %v", i, err)
		}
		if !codec.Identical(got, want) {
			t.Fatalf("case %d: Go decodes %s, Python %s", i, codec.Repr(got), deref(r.Repr))
		}
	}
}
