package cases

import (
	"math"
	"math/big"
	"strings"

	"github.com/execnet-conform/execnet-conform/conformance"
	"github.com/execnet-conform/execnet-conform/conformance/profile"
	"github.com/execnet-conform/execnet-conform/reference/codec"
	"github.com/execnet-conform/execnet-conform/spec"
)

// serialValue is one value of the data model checked through conform_echo,
// conform_dumps and conform_loads.
type serialValue struct {
	name    string // id part, e.g. "int/beyond-int32-negative"
	clauses []string
	build   func() codec.Value
}

func bigPow(base, exp int64, neg bool) codec.Value {
	x := new(big.Int).Exp(big.NewInt(base), big.NewInt(exp), nil)
	if neg {
		x.Neg(x)
	}
	return codec.NewBigInt(x)
}

func bigStr(s string) codec.Value {
	x, ok := new(big.Int).SetString(s, 10)
	if !ok {
		return codec.None{}
	}
	return codec.NewBigInt(x)
}

func mkDict(kv ...codec.Value) codec.Value {
	items := make([]codec.Item, 0, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		items = append(items, codec.Item{Key: kv[i], Value: kv[i+1]})
	}
	d, err := codec.NewDict(items...)
	if err != nil {
		return codec.None{}
	}
	return d
}

func allBytes() codec.Bytes {
	b := make([]byte, 256)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}

func deepList(depth int) codec.Value {
	var v codec.Value = codec.Int(depth)
	for i := 0; i < depth; i++ {
		v = codec.List{v}
	}
	return v
}

func serialValues() []serialValue {
	n := func(name string, cl []string, f func() codec.Value) serialValue {
		return serialValue{name: name, clauses: cl, build: f}
	}
	val := func(v codec.Value) func() codec.Value { return func() codec.Value { return v } }
	return []serialValue{
		n("none", []string{cSerNone, "DM-EQ-5"}, val(codec.None{})),
		n("bool/true", []string{cSerBool}, val(codec.Bool(true))),
		n("bool/false", []string{cSerBool}, val(codec.Bool(false))),
		n("int/zero", []string{cSerInt}, val(codec.Int(0))),
		n("int/small", []string{cSerInt}, val(codec.Int(42))),
		n("int/minus-one", []string{cSerInt}, val(codec.Int(-1))),
		n("int/int32-max", []string{cSerInt, cSerIntRule}, val(codec.Int(math.MaxInt32))),
		n("int/int32-min", []string{cSerInt, cSerIntRule}, val(codec.Int(math.MinInt32))),
		n("int/beyond-int32", []string{cSerLongInt, cSerIntRule}, val(codec.Int(math.MaxInt32+1))),
		n("int/beyond-int32-negative", []string{cSerLongInt, cSerIntRule}, val(codec.Int(math.MinInt32-1))),
		n("int/int64-max", []string{cSerLongInt}, val(codec.Int(math.MaxInt64))),
		n("int/int64-min", []string{cSerLongInt}, val(codec.Int(math.MinInt64))),
		n("int/beyond-int64", []string{cSerLongInt}, func() codec.Value { return bigPow(2, 64, false) }),
		n("int/huge", []string{cSerLongInt}, func() codec.Value { return bigPow(10, 100, false) }),
		n("int/4300-digits", []string{cSerLongInt, "LIM-INT-1", "LIM-INT-3"}, func() codec.Value { return bigPow(10, 4299, false) }),
		n("int/huge-negative", []string{cSerLongInt}, func() codec.Value { return bigPow(10, 100, true) }),
		n("float/one-and-a-half", []string{cSerFloat}, val(codec.Float(1.5))),
		n("float/negative-zero", []string{cSerFloat}, val(codec.Float(math.Copysign(0, -1)))),
		n("float/infinity", []string{cSerFloat}, val(codec.Float(math.Inf(1)))),
		n("float/negative-infinity", []string{cSerFloat}, val(codec.Float(math.Inf(-1)))),
		n("float/nan", []string{cSerFloat}, val(codec.Float(math.Float64frombits(0x7ff8000000000000)))),
		n("float/smallest-subnormal", []string{cSerFloat}, val(codec.Float(math.SmallestNonzeroFloat64))),
		n("float/max", []string{cSerFloat}, val(codec.Float(math.MaxFloat64))),
		n("complex/one-minus-two-j", []string{cSerComplex}, val(codec.Complex(complex(1, -2)))),
		n("complex/signed-zeros", []string{cSerComplex}, val(codec.Complex(complex(math.Copysign(0, -1), math.Copysign(0, -1))))),
		n("bytes/empty", []string{cSerBytes, "DM-TEXT-2", "SER-OPND-3"}, val(codec.Bytes{})),
		n("bytes/all-256", []string{cSerBytes, "DM-TEXT-2", "SER-OPND-3"}, val(allBytes())),
		n("bytes/large", []string{cSerBytes}, func() codec.Value {
			b := make([]byte, 100_000)
			for i := range b {
				b[i] = byte(i * 7)
			}
			return codec.Bytes(b)
		}),
		n("str/empty", []string{cSerStr, "DM-TEXT-2", "SER-OPND-3"}, val(codec.Str(""))),
		n("str/ascii", []string{cSerStr, "DM-TEXT-2", "SER-OPND-3"}, val(codec.Str("hello, world"))),
		n("str/non-ascii", []string{cSerStr, "DM-TEXT-2", "SER-OPND-3"}, val(codec.Str("café ☃ ü"))),
		n("str/astral", []string{cSerStr, "DM-TEXT-2", "SER-OPND-3"}, val(codec.Str("😀𝄞"))),
		n("str/nul", []string{cSerStr, "DM-TEXT-2", "SER-OPND-3"}, val(codec.Str("a\x00b"))),
		n("str/large", []string{cSerStr}, val(codec.Str(strings.Repeat("ünïcødé ", 10_000)))),
		n("tuple/empty", []string{cSerTuple}, val(codec.Tuple{})),
		n("tuple/one", []string{cSerTuple}, val(codec.Tuple{codec.Int(1)})),
		n("tuple/mixed", []string{cSerTuple}, val(codec.Tuple{codec.Int(1), codec.Str("a"), codec.None{}, codec.Float(2.5)})),
		n("tuple/nested", []string{cSerTuple}, val(codec.Tuple{codec.Tuple{}, codec.Tuple{codec.Tuple{codec.Int(3)}}})),
		n("list/empty", []string{cSerList}, val(codec.List{})),
		n("list/mixed", []string{cSerList}, val(codec.List{codec.Int(1), codec.Str("a"), codec.Bytes("b"), codec.Bool(false)})),
		n("list/nested", []string{cSerList}, val(codec.List{codec.List{}, codec.List{codec.List{codec.Int(1)}}, codec.Tuple{codec.List{}}})),
		n("list/deep", []string{cSerList}, func() codec.Value { return deepList(100) }),
		n("dict/empty", []string{cSerDict}, val(&codec.Dict{})),
		n("dict/str-keys", []string{cSerDict}, func() codec.Value {
			return mkDict(codec.Str("a"), codec.Int(1), codec.Str("b"), codec.List{codec.Int(2)})
		}),
		n("dict/insertion-order", []string{cSerDict, cSerDictOrder}, func() codec.Value {
			return mkDict(codec.Str("z"), codec.Int(1), codec.Str("a"), codec.Int(2), codec.Str("m"), codec.Int(3))
		}),
		n("dict/key-kinds", []string{cSerDict}, func() codec.Value {
			fs, _ := codec.NewFrozenSet(codec.Int(3))
			return mkDict(codec.None{}, codec.Int(0), codec.Bool(true), codec.Int(1), codec.Float(2.5), codec.Int(2),
				codec.Bytes("k"), codec.Int(3), codec.Tuple{codec.Int(1), codec.Str("t")}, codec.Int(4), fs, codec.Int(5),
				codec.Complex(complex(1, 1)), codec.Int(6))
		}),
		n("dict/nested", []string{cSerDict}, func() codec.Value {
			return mkDict(codec.Int(1), mkDict(codec.Int(2), mkDict()), codec.Str("l"), codec.List{mkDict(codec.Str("x"), codec.None{})})
		}),
		n("set/empty", []string{cSerSet}, val(codec.Set{})),
		n("set/one", []string{cSerSet}, val(codec.Set{codec.Int(5)})),
		n("set/several", []string{cSerSet, cSerSetOrder, "DM-SET-1"}, func() codec.Value {
			s, _ := codec.NewSet(codec.Int(1), codec.Str("a"), codec.Tuple{codec.Int(2)}, codec.None{}, codec.Bytes("b"))
			return s
		}),
		n("frozenset/empty", []string{cSerFrozenSet}, val(codec.FrozenSet{})),
		n("frozenset/one", []string{cSerFrozenSet}, val(codec.FrozenSet{codec.Str("x")})),
		n("frozenset/in-set", []string{cSerFrozenSet, cSerSet}, func() codec.Value {
			a, _ := codec.NewFrozenSet(codec.Int(1), codec.Int(2))
			s, _ := codec.NewSet(a, codec.FrozenSet{})
			return s
		}),
		n("mixed/everything", []string{cSerTuple, cSerList, cSerDict}, func() codec.Value {
			fs, _ := codec.NewFrozenSet(codec.Int(7))
			return codec.List{codec.None{}, codec.Bool(true), codec.Int(-5), bigPow(2, 70, false), codec.Float(-0.25),
				codec.Complex(complex(0, 1)), codec.Bytes{0, 255}, codec.Str("é"),
				codec.Tuple{codec.Int(1)}, mkDict(codec.Str("k"), codec.Set{codec.Int(9)}), fs}
		}),
	}
}

// serialCases checks each value through conform_echo (the value comes back
// identical), conform_dumps (the target writes the canonical bytes) and
// conform_loads (the target decodes the canonical bytes to the value).
func serialCases() []conformance.Case {
	var cs []conformance.Case
	for _, sv := range append(serialValues(), dictGapValues()...) {
		sv := sv
		cs = append(cs,
			conformance.Case{
				ID:          "serial/" + sv.name + "/echo",
				Clauses:     sortedClauses(append(append([]string{}, sv.clauses...), cProfEcho, cChanStart, cMsgDataDeliver, cSerKinds, cSerKindsEnc, cSerUnique)),
				Level:       conformance.MUST,
				Description: "conform_echo returns " + sv.name + " identical (value decoded and re-encoded by the target)",
				Run: func(t *conformance.T) {
					v := sv.build()
					got, raw := echoRaw(t, mustDumps(t, v))
					checkIdentical(t, "conform_echo", v, got, raw)
				},
			},
			conformance.Case{
				ID:          "serial/" + sv.name + "/dumps",
				Clauses:     sortedClauses(append(append([]string{}, sv.clauses...), cProfDumps, cSerUnique, cSerStop, cSerKindsEnc, "SER-REG-1")),
				Level:       conformance.MUST,
				Description: "conform_dumps writes the canonical bytes of " + sv.name,
				Run: func(t *conformance.T) {
					v := sv.build()
					checkEncoding(t, "conform_dumps", v, dumpsOnTarget(t, v))
				},
			},
			conformance.Case{
				ID:          "serial/" + sv.name + "/loads",
				Clauses:     sortedClauses(append(append([]string{}, sv.clauses...), cProfLoads, cSerKinds, "SER-SM-1", "SER-REG-1", cSerUnique)),
				Level:       conformance.MUST,
				Description: "conform_loads decodes the canonical bytes of " + sv.name,
				Run: func(t *conformance.T) {
					v := sv.build()
					b := mustDumps(t, v)
					ch, f := execLoads(t, b)
					got := decodeReply(t, f, "conform_loads of "+hexOf(b))
					checkIdentical(t, "conform_loads of "+hexOf(b), v, got, f.Payload)
					closeChannel(t, ch)
				},
			},
		)
	}
	cs = append(cs, legacySerialCases()...)
	return cs
}

// legacySerialCases check the decode-only opcodes and strconfig defaults on
// a live channel.
func legacySerialCases() []conformance.Case {
	return []conformance.Case{
		{
			ID:          "serial/py2str/channel-default-decodes-as-text",
			Clauses:     []string{cSerPy2Str, cStrDefault, "SER-STR-4"},
			Level:       conformance.MUST,
			Description: "a PY2STRING item on a channel with the default strconfig decodes as text (latin-1)",
			Run: func(t *conformance.T) {
				got, raw := echoRaw(t, mustHex(t, "4d00000004636166e951")) // M "caf\xe9"
				checkIdentical(t, "conform_echo of PY2STRING caf\\xe9", codec.Str("café"), got, raw)
			},
		},
		{
			ID:          "serial/legacy/unicode-decodes-as-text",
			Clauses:     []string{cSerLegacy, "SER-STR-4"},
			Level:       conformance.MUST,
			Description: "a UNICODE (S) item decodes as text",
			Run: func(t *conformance.T) {
				got, raw := echoRaw(t, mustHex(t, "530000000768c3a9f09f988051"))
				checkIdentical(t, "conform_echo of UNICODE", codec.Str("hé😀"), got, raw)
			},
		},
		{
			ID:          "serial/legacy/long-decodes-as-int",
			Clauses:     []string{cSerLegacyInt, "SER-INT-5", "SER-SM-4"},
			Level:       conformance.MUST,
			Description: "LONG (G) and LONGLONG (I) items decode as integers and come back in the canonical form",
			Run: func(t *conformance.T) {
				got, raw := echoRaw(t, mustHex(t, "478000000051"))
				checkIdentical(t, "conform_echo of LONG -2^31", codec.Int(math.MinInt32), got, raw)
				got, raw = echoRaw(t, mustHex(t, "49000000133932323333373230333638353437373538303851"))
				checkIdentical(t, "conform_echo of LONGLONG 2^63", bigStr("9223372036854775808"), got, raw)
			},
		},
		{
			ID:          "serial/channel/reference-echoed",
			Clauses:     []string{cSerChannel, cChanPassed, cChanResolve, cChanLazy, "SER-ENC-6"},
			Level:       conformance.MUST,
			Description: "a CHANNEL reference to a runner channel inside data comes back as a reference to the same id",
			Run: func(t *conformance.T) {
				ref := t.NewChannelID()
				v := codec.Tuple{codec.ChannelRef(ref), codec.Int(1)}
				ch := t.Exec(profile.Echo)
				t.SendData(ch, v)
				got, raw := recvData(t, ch, reprOf(v)+" to conform_echo")
				checkIdentical(t, "conform_echo of a channel reference", v, got, raw)
				if raw[0] != byte(spec.OpChannel) {
					t.Fatalf("echoed tuple does not start with the CHANNEL opcode: hex %s", hexOf(raw))
				}
				closeChannel(t, ch)
				closeChannel(t, ref)
			},
		},
	}
}
