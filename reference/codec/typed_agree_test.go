package codec_test

import (
	"bytes"
	"encoding/binary"
	"math"
	"math/big"
	"math/rand"
	"reflect"
	"testing"

	"github.com/execnet-conform/execnet-conform/bench"
	"github.com/execnet-conform/execnet-conform/reference/codec"
	"github.com/execnet-conform/execnet-conform/spec"
)

// agreeTarget is a Go type the fast-path agreement tests decode into.
type agreeTarget struct {
	name string
	mk   func() any
}

// agreeTargets are the benchmark records, the property record (every
// kind), any and []any.
var agreeTargets = []agreeTarget{
	{"MixedDict", func() any { return new(bench.MixedDict) }},
	{"[]TestReport", func() any { return new([]bench.TestReport) }},
	{"TestReport", func() any { return new(bench.TestReport) }},
	{"propRec", func() any { return new(propRec) }},
	{"[]propPoint", func() any { return new([]propPoint) }},
	{"[]Location", func() any { return new([]bench.Location) }},
	{"[][]Section", func() any { return new([][]bench.Section) }},
	{"any", func() any { return new(any) }},
	{"[]any", func() any { return new([]any) }},
}

// sameGo reports whether a and b hold the same Go value, as
// reflect.DeepEqual does, but with floats compared by their bits (so NaN
// equals NaN), *big.Int by value and codec.Values by Identical.
func sameGo(a, b reflect.Value) bool {
	if a.IsValid() != b.IsValid() {
		return false
	}
	if !a.IsValid() {
		return true
	}
	if a.Type() != b.Type() {
		return false
	}
	if a.Type() == reflect.TypeFor[*big.Int]() {
		x, y := a.Interface().(*big.Int), b.Interface().(*big.Int)
		return (x == nil) == (y == nil) && (x == nil || x.Cmp(y) == 0)
	}
	if a.Type() == reflect.TypeFor[codec.Value]() && !a.IsNil() && !b.IsNil() {
		return codec.Identical(a.Interface().(codec.Value), b.Interface().(codec.Value))
	}
	switch a.Kind() {
	case reflect.Float32, reflect.Float64:
		return math.Float64bits(a.Float()) == math.Float64bits(b.Float())
	case reflect.Complex64, reflect.Complex128:
		x, y := a.Complex(), b.Complex()
		return math.Float64bits(real(x)) == math.Float64bits(real(y)) && math.Float64bits(imag(x)) == math.Float64bits(imag(y))
	case reflect.Pointer, reflect.Interface:
		if a.IsNil() || b.IsNil() {
			return a.IsNil() == b.IsNil()
		}
		return sameGo(a.Elem(), b.Elem())
	case reflect.Slice:
		if a.IsNil() != b.IsNil() || a.Len() != b.Len() {
			return false
		}
		fallthrough
	case reflect.Array:
		for i := 0; i < a.Len(); i++ {
			if !sameGo(a.Index(i), b.Index(i)) {
				return false
			}
		}
		return true
	case reflect.Struct:
		for i := 0; i < a.NumField(); i++ {
			if !sameGo(a.Field(i), b.Field(i)) {
				return false
			}
		}
		return true
	case reflect.Map:
		if a.IsNil() != b.IsNil() || a.Len() != b.Len() {
			return false
		}
		for _, k := range a.MapKeys() {
			bv := b.MapIndex(k)
			if !bv.IsValid() || !sameGo(a.MapIndex(k), bv) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(a.Interface(), b.Interface())
}

// checkAgree fails unless Unmarshal (fast path first) and the general path
// alone give the same result for data: the same error text, or the same
// count of bytes read and equal Go values.
func checkAgree(t testing.TB, d codec.Decoder, data []byte) {
	t.Helper()
	checkAgreeOn(t, d, data, agreeTargets)
}

func checkAgreeOn(t testing.TB, d codec.Decoder, data []byte, targets []agreeTarget) {
	t.Helper()
	for _, tg := range targets {
		fast, slow := tg.mk(), tg.mk()
		nf, ns, ef, es := codec.UnmarshalBoth(d, data, fast, slow)
		if (ef == nil) != (es == nil) || (ef != nil && ef.Error() != es.Error()) {
			t.Fatalf("%s: input %q: fast path: %v; general path: %v", tg.name, data, ef, es)
		}
		if ef == nil && (nf != ns || !sameGo(reflect.ValueOf(fast), reflect.ValueOf(slow))) {
			t.Fatalf("%s: input %q: fast path read %d bytes, %+v\ngeneral path read %d, %+v", tg.name, data, nf, fast, ns, slow)
		}
	}
}

// agreeSeeds are wire inputs near what the fast path specialises: the
// benchmark records and marshalled property records.
func agreeSeeds(t testing.TB) [][]byte {
	var seeds [][]byte
	for _, tv := range bench.TypedValues() {
		b, err := codec.Marshal(tv.Ptr)
		if err != nil {
			t.Fatal(err)
		}
		seeds = append(seeds, b)
	}
	r := rand.New(rand.NewSource(7))
	for i := 0; i < 4; i++ {
		rec := randRec(r)
		b, err := codec.Marshal(&rec)
		if err != nil {
			t.Fatal(err)
		}
		seeds = append(seeds, b)
	}
	one := bench.TypedValues()[1].Ptr.(*[]bench.TestReport)
	b, err := codec.Marshal((*one)[0])
	if err != nil {
		t.Fatal(err)
	}
	seeds = append(seeds, b)
	// Short records whose few strings, keys or values, are what a
	// string limit meets first, and lists of every item kind.
	for _, lit := range []string{
		`{'key00': 1, 'key01': 2.5}`,
		`{'key00': 1, 'key01': 2.5, 'key02': 'ab', 'key03': True, 'key04': [1, 'three', 300, -5], 'key05': b'abcdefgh'}`,
		`{'key00': 1, 'key01': 2.5, 'key03': True, 'key05': b'ab'}`,
		`{'origin': 'o', 'i8': 1, 'i16': 2, 'i32': 3, 'i64': 4, 'u64': 5, 'u8': 6, 'f64': 1.5, 'f32': 2.5, 'b': True, 's': 'ab', 'raw': b'r'}`,
		`{'i64': 5, 'b': True, 'zz': 1, 's': 'abc'}`,
		`[1, 'three', 300, -5, 'x', b'y', 2.5, None, True, (1, 2), [3], {'a': 1}, 1099511627776, 255, 256, 0, 2147483647, -2147483648]`,
		`[1, 'caf\u00e9', 'x']`,
		`[('path', 1, 'dom'), ('p', 2, 'd', 'extra'), ('p',), ('p', 3, 'd')]`,
		`[('path', 1, 'domain'), ('p', 2, 'd'), ('p', 3, 'd'), ('pa', 4, 'do')]`,
		`[[('title', 'content')], [('t', 'c'), ('u', 'd')], [], [('t', 'c', 'x')]]`,
		`(('p', 1, 'd'), ('q', 2, 'e'))`,
		`((('p', 1, 'd'), 5), ('q', 2, 'e'))`,
		`(('p', 1, 'd', 'x'), ('q', 2, 'e'))`,
	} {
		seeds = append(seeds, mustDumps(t, lit))
	}
	seeds = append(seeds, dupSeeds()...)
	// The 1 KiB dict with UNICODE keys: under Py3StrAsPy2Str its keys
	// are text and its PY3STRING values bytes.
	u := bytes.ReplaceAll(seeds[0], []byte("N\x00\x00\x00\x05key"), []byte("S\x00\x00\x00\x05key"))
	return append(seeds, u)
}

// Wire-form pieces for seeds that literals cannot write.
func wStr(s string) []byte {
	return append(binary.BigEndian.AppendUint32([]byte{byte(spec.OpPy3String)}, uint32(len(s))), s...)
}

// uKey is s as UNICODE text.
func uKey(s string) []byte {
	b := wStr(s)
	b[0] = byte(spec.OpUnicode)
	return b
}

func wInt(i int32) []byte {
	return binary.BigEndian.AppendUint32([]byte{byte(spec.OpInt)}, uint32(i))
}

func wOp(op spec.Opcode, n ...uint32) []byte {
	b := []byte{byte(op)}
	for _, x := range n {
		b = binary.BigEndian.AppendUint32(b, x)
	}
	return b
}

func wire(parts ...[]byte) []byte {
	return append(bytes.Join(parts, nil), byte(spec.OpStop))
}

// dupSeeds are inputs that set a dict key or a list slot twice: Loads
// keeps the last value, so the second must not be decoded on top of the
// first (a shorter tuple, None, a dict with other keys).
func dupSeeds() [][]byte {
	set := wOp(spec.OpSetItem)
	loc := func(path string, rest ...[]byte) []byte {
		return bytes.Join(append(append([][]byte{wStr(path)}, rest...), wOp(spec.OpBuildTuple, uint32(1+len(rest)))), nil)
	}
	return [][]byte{
		// [('path', 1, 'dom'), ...] with slot 0 set again to ('p',).
		wire(wOp(spec.OpNewList, 2), wInt(0), loc("path", wInt(1), wStr("dom")), set, wInt(0), loc("p"), set),
		// [[1, 2], ...] with slot 0 set again, for slices of slices.
		wire(wOp(spec.OpNewList, 1), wInt(0), wOp(spec.OpNewList, 1), wInt(0), wInt(7), set, set, wInt(0), wOp(spec.OpNewList, 0), set),
		// {'location': ('a', 1, 'b'), 'location': ('c',)}
		wire(wOp(spec.OpNewDict), wStr("location"), loc("a", wInt(1), wStr("b")), set, wStr("location"), loc("c"), set),
		// {'nodeid': 'x', 'nodeid': None, 'duration': 1.5, 'duration': None}
		wire(wOp(spec.OpNewDict), wStr("nodeid"), wStr("x"), set, wStr("nodeid"), wOp(spec.OpNone), set,
			wStr("duration"), wOp(spec.OpFloat, 0x3ff80000, 0), set, wStr("duration"), wOp(spec.OpNone), set),
		// {'keywords': {'a': 1}, 'when': 'w', 'keywords': {'b': 2}}
		wire(wOp(spec.OpNewDict), wStr("keywords"), wOp(spec.OpNewDict), wStr("a"), wInt(1), set, set,
			wStr("when"), wStr("w"), set, wStr("keywords"), wOp(spec.OpNewDict), wStr("b"), wInt(2), set, set),
		// {'inner': {'name': 'a', 'score': 1.5}, 'inner': {'name': 'b'}}
		wire(wOp(spec.OpNewDict), wStr("inner"), wOp(spec.OpNewDict), wStr("name"), wStr("a"), set,
			wStr("score"), wOp(spec.OpFloat, 0x3ff80000, 0), set, set,
			wStr("inner"), wOp(spec.OpNewDict), wStr("name"), wStr("b"), set, set),
		// {'key00': 5, 'key00': None, 'key02': 's', 'key02': None} with
		// UNICODE keys (decoded in the struct loop, not scalarRun).
		wire(wOp(spec.OpNewDict), uKey("key00"), wInt(5), set, uKey("key00"), wOp(spec.OpNone), set,
			uKey("key02"), wStr("s"), set, uKey("key02"), wOp(spec.OpNone), set),
		// [{'nodeid': 'a', 'when': 'w'}, ...] with slot 0 set again to {'nodeid': 'b'}.
		wire(wOp(spec.OpNewList, 1), wInt(0), wOp(spec.OpNewDict), wStr("nodeid"), wStr("a"), set, wStr("when"), wStr("w"), set, set,
			wInt(0), wOp(spec.OpNewDict), wStr("nodeid"), wStr("b"), set, set),
	}
}

// limitKnobs set one field of a Limits.
var limitKnobs = []struct {
	name string
	set  func(l *codec.Limits, n int)
}{
	{"MaxElements", func(l *codec.Limits, n int) { l.MaxElements = n }},
	{"MaxStringLen", func(l *codec.Limits, n int) { l.MaxStringLen = n }},
	{"MaxDepth", func(l *codec.Limits, n int) { l.MaxDepth = n }},
	{"MaxIntDigits", func(l *codec.Limits, n int) { l.MaxIntDigits = n }},
}

// minLimit returns the smallest value of a limit under which the general
// path decodes data into tg, or 0 when it does not decode it at all.
func minLimit(data []byte, tg agreeTarget, set func(*codec.Limits, int)) int {
	ok := func(n int) bool {
		d := codec.Decoder{StrConfig: codec.ChannelStrConfig}
		set(&d.Limits, n)
		_, _, _, es := codec.UnmarshalBoth(d, data, tg.mk(), tg.mk())
		return es == nil
	}
	lo, hi := 1, len(data)+1
	if !ok(hi) {
		return 0
	}
	for lo < hi {
		mid := (lo + hi) / 2
		if ok(mid) {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}

// mutationBytes replace single bytes of a seed: every opcode and bytes
// that change lengths, counts and text.
var mutationBytes = func() []byte {
	out := []byte{0x00, 0x01, 0x02, 0x03, 0x05, 0x7f, 0x80, 0xc3, 0xff, 'k', 'e', 'y'}
	for op := range 128 {
		if spec.Opcode(op).Known() {
			out = append(out, byte(op))
		}
	}
	return out
}()

// TestUnmarshalFastAgrees: on the benchmark records, property records and
// single-byte mutations and truncations of them, under default and tight
// limits and both key strconfigs, the fast path gives what the general
// path gives (a value or the same error). A specialisation of the fast
// path that accepts what Loads rejects, or decodes differently, fails it.
func TestUnmarshalFastAgrees(t *testing.T) {
	if raceEnabled {
		// One goroutine, no shared state: the race detector has nothing
		// to find, and it makes the test 10x slower (64 s).
		t.Skip("sequential decoding; runs in the plain go test step")
	}
	seeds := agreeSeeds(t)
	decoders := []codec.Decoder{
		{StrConfig: codec.ChannelStrConfig},
		{StrConfig: codec.PublicStrConfig},
		{StrConfig: codec.StrConfig{Py3StrAsPy2Str: true}},
		{StrConfig: codec.ChannelStrConfig, DisallowUnknownKeys: true},
		{StrConfig: codec.ChannelStrConfig, ZeroCopy: true},
	}
	for _, seed := range seeds {
		for _, d := range decoders {
			checkAgree(t, d, seed)
		}
		// Element, depth and string limits around what the seed needs.
		d := codec.Decoder{StrConfig: codec.ChannelStrConfig}
		var v any
		if _, err := d.Unmarshal(seed, &v); err != nil {
			t.Fatal(err)
		}
		for _, lim := range []codec.Limits{{MaxDepth: 1}, {MaxDepth: 2}, {MaxDepth: 3},
			{MaxStringLen: 1}, {MaxStringLen: 2}, {MaxStringLen: 3}, {MaxStringLen: 4}, {MaxStringLen: 5}, {MaxStringLen: 16},
			{MaxIntDigits: 1}} {
			checkAgree(t, codec.Decoder{Limits: lim, StrConfig: codec.ChannelStrConfig}, seed)
		}
		for n := 1; n < len(seed); n = n*5/4 + 1 {
			checkAgree(t, codec.Decoder{Limits: codec.Limits{MaxElements: n}, StrConfig: codec.ChannelStrConfig}, seed)
		}
		// Each limit exactly at what the general path needs for each
		// target, and one below it: the value or string that meets the
		// limit first is then the only one over it.
		for _, tg := range agreeTargets {
			for _, k := range limitKnobs {
				if n := minLimit(seed, tg, k.set); n > 1 {
					for _, m := range []int{n, n - 1} {
						d := codec.Decoder{StrConfig: codec.ChannelStrConfig}
						k.set(&d.Limits, m)
						checkAgreeOn(t, d, seed, []agreeTarget{tg})
					}
				}
			}
		}
	}
	r := rand.New(rand.NewSource(1))
	runs := 0
	for _, seed := range seeds {
		// Every offset of the short seeds; of the reports (8 KiB, 20
		// copies of one shape, which a seed of its own covers at every
		// offset), about one in 32.
		step := 1
		if len(seed) > 2000 {
			step = 32
		}
		for i := r.Intn(step); i < len(seed); i += 1 + r.Intn(2*step-1) {
			checkAgree(t, codec.Decoder{StrConfig: codec.ChannelStrConfig}, seed[:i])
			for k := 0; k < 2; k++ {
				m := append([]byte(nil), seed...)
				m[i] = mutationBytes[r.Intn(len(mutationBytes))]
				checkAgree(t, codec.Decoder{StrConfig: codec.ChannelStrConfig}, m)
				runs++
			}
		}
	}
	t.Logf("%d seeds, %d mutations", len(seeds), runs)
}

// FuzzUnmarshalAgrees: the fast path and the general path agree on any
// input (see TestUnmarshalFastAgrees).
func FuzzUnmarshalAgrees(f *testing.F) {
	for _, s := range agreeSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkAgree(t, codec.Decoder{StrConfig: codec.ChannelStrConfig}, data)
	})
}
