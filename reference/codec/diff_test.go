package codec_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/big"
	mrand "math/rand"
	"math/rand/v2"
	"os/exec"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/leanovate/gopter"

	"github.com/execnet-conform/execnet-conform/internal/peers"
	"github.com/execnet-conform/execnet-conform/reference/codec"
	"github.com/execnet-conform/execnet-conform/reference/codec/codectest"
)

// diffPeerScript is our Python helper that answers codec questions with
// real execnet (testdata/gen/diffpeer.py).
const diffPeerScript = "../../testdata/gen/diffpeer.py"

// pyPeer is one running diffpeer.py process.
type pyPeer struct {
	name   string
	cmd    *exec.Cmd
	in     io.WriteCloser
	out    *bufio.Reader
	cancel context.CancelFunc
}

// peerReply is the union of diffpeer.py's replies.
type peerReply struct {
	OK         bool    `json:"ok"`
	Error      string  `json:"error"`
	Message    string  `json:"message"`
	Repr       *string `json:"repr"`
	Dumps      *string `json:"dumps"`
	DumpsError *string `json:"dumps_error"`
	Same       bool    `json:"same"`
	Execnet    string  `json:"execnet"`
	Python     string  `json:"python"`
}

// startPeer starts diffpeer.py under interp. The process is bounded by a
// deadline (a hung peer is killed, which fails the pending read) and is
// reaped in t.Cleanup.
func startPeer(t *testing.T, name, interp string) *pyPeer {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	cmd := exec.CommandContext(ctx, interp, "-u", diffPeerScript)
	cmd.WaitDelay = 5 * time.Second
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start %s: %v", interp, err)
	}
	p := &pyPeer{name: name, cmd: cmd, in: in, out: bufio.NewReaderSize(out, 1<<16), cancel: cancel}
	t.Cleanup(func() {
		p.in.Close()
		err := p.cmd.Wait()
		p.cancel()
		if err != nil && !t.Failed() {
			t.Errorf("%s peer exited: %v; stderr: %s", name, err, stderr.String())
		}
	})
	var r peerReply
	p.call(t, map[string]any{"op": "version"}, &r)
	if !r.OK || r.Execnet == "" {
		t.Fatalf("%s peer: bad version reply %+v; stderr: %s", name, r, stderr.String())
	}
	t.Logf("%s peer: execnet %s on %s", name, r.Execnet, r.Python)
	return p
}

// call sends one request and reads one reply.
func (p *pyPeer) call(t *testing.T, req any, reply *peerReply) {
	t.Helper()
	line, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.in.Write(append(line, '\n')); err != nil {
		t.Fatalf("%s peer: write request: %v", p.name, err)
	}
	resp, err := p.out.ReadBytes('\n')
	if err != nil {
		t.Fatalf("%s peer: read reply: %v", p.name, err)
	}
	*reply = peerReply{}
	if err := json.Unmarshal(resp, reply); err != nil {
		t.Fatalf("%s peer: bad reply %q: %v", p.name, resp, err)
	}
}

func (p *pyPeer) loads(t *testing.T, b []byte, v *vector) peerReply {
	t.Helper()
	req := map[string]any{"op": "loads", "hex": hex.EncodeToString(b)}
	if v != nil && v.Class == "reject" {
		req["quiet"] = true // a deviation may decode to something huge
	}
	if v != nil {
		req["channels"] = v.Channels
		if v.StrConfig != nil {
			req["strconfig"] = []bool{v.StrConfig.Py2StrAsPy3Str, v.StrConfig.Py3StrAsPy2Str}
		}
	}
	var r peerReply
	p.call(t, req, &r)
	return r
}

func (p *pyPeer) same(t *testing.T, a, b []byte) bool {
	t.Helper()
	var r peerReply
	p.call(t, map[string]any{"op": "same", "a": hex.EncodeToString(a), "b": hex.EncodeToString(b)}, &r)
	if !r.OK {
		t.Fatalf("%s peer cannot compare %x and %x: %s %s", p.name, a, b, r.Error, r.Message)
	}
	return r.Same
}

// TestDiff runs the differential checks against real execnet, with ONE
// diffpeer.py process per interpreter (CPython and PyPy, in parallel).
func TestDiff(t *testing.T) {
	interps := peers.Interpreters(t)
	vs := loadVectors(t)
	for name, interp := range interps {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			p := startPeer(t, name, interp)
			t.Run("vectors", func(t *testing.T) { diffVectors(t, p, vs) })
			t.Run("random-codectest", func(t *testing.T) { diffRandom(t, p, 500, gopterValues(20261125)) })
			t.Run("random-own", func(t *testing.T) {
				rng := rand.New(rand.NewPCG(20261125, 1))
				diffRandom(t, p, 300, func() codec.Value { return genValue(rng, 3) })
			})
			t.Run("nan-payload", func(t *testing.T) { diffNaNPayload(t, p) })
		})
	}
}

// diffVectors checks every golden vector: Python decodes Go's encoding of
// the literal and re-encodes it to the same (golden) bytes, Go decodes
// Python's bytes to the literal's value, and both sides reject what the
// spec rejects (unless a deviation says execnet accepts it).
func diffVectors(t *testing.T, p *pyPeer, vs []vector) {
	for i := range vs {
		v := &vs[i]
		if v.version() != 0 {
			diffVersioned(t, p, v)
			continue
		}
		switch v.Class {
		case "roundtrip":
			diffRoundtrip(t, p, v)
		case "decode-only":
			diffDecodeOnly(t, p, v)
		case "reject":
			diffReject(t, p, v)
		}
	}
}

// checkReprVariant accepts a Python repr that differs from codec.Repr
// only on PyPy, whose Unicode database (13.0 in PyPy 3.9) is older than
// CPython 3.11's (14.0) that codec.Repr follows: a character new in 14.0
// is printed as an escape there. The repr must still parse back to v.
func checkReprVariant(t *testing.T, p *pyPeer, what string, v codec.Value, pyRepr string) {
	t.Helper()
	parsed, err := codec.ParseLiteral(pyRepr)
	if p.name == "pypy" && err == nil && codec.Identical(parsed, v) {
		t.Logf("%s: pypy repr differs in escaping only (older Unicode database)", what)
		return
	}
	t.Errorf("%s: repr differs\n    go %s\npython %s", what, short(codec.Repr(v)), short(pyRepr))
}

// diffVersioned checks the public format against execnet 1.9's loads:
// format 1 decodes to the literal, format 2 (execnet 2.x) and every
// versioned reject are refused.
func diffVersioned(t *testing.T, p *pyPeer, v *vector) {
	var r peerReply
	p.call(t, map[string]any{"op": "loads", "hex": v.Hex, "versioned": true}, &r)
	switch {
	case v.Class == "reject" || v.version() == 2:
		if r.OK {
			t.Errorf("%s: %s public loads accepts it (repr %s)", v.Name, p.name, deref(r.Repr))
		}
	case !r.OK:
		t.Errorf("%s: %s public loads fails: %s %s", v.Name, p.name, r.Error, r.Message)
	case v.SetOrder == "" && deref(r.Repr) != v.literal():
		t.Errorf("%s: %s public loads repr %s, literal %s", v.Name, p.name, deref(r.Repr), v.literal())
	}
}

func diffRoundtrip(t *testing.T, p *pyPeer, v *vector) {
	want, err := codec.ParseLiteral(v.literal())
	if err != nil {
		t.Errorf("%s: ParseLiteral: %v", v.Name, err)
		return
	}
	if golden, _, err := v.decoder().Loads(v.raw); err == nil {
		if c, ok := golden.(codec.Complex); ok && !codectest.ComplexReadsBack(complex128(c)) {
			want = golden // the literal reads with other zero signs, as in Python
		}
	}
	goBytes, err := v.encoder().Dumps(want)
	if err != nil {
		t.Errorf("%s: Go encode: %v", v.Name, err)
		return
	}
	r := p.loads(t, goBytes, v)
	if v.Deviation != nil {
		// execnet cannot handle these (e.g. it fails to dump ints below
		// -2^31, or to convert 4301 digits); record that it still fails.
		if r.OK && r.DumpsError == nil {
			t.Logf("%s: %s now handles deviation %s", v.Name, p.name, v.Deviation.ID)
		}
		return
	}
	if !r.OK {
		t.Errorf("%s: %s cannot decode Go's bytes %s: %s %s", v.Name, p.name, short(hex.EncodeToString(goBytes)), r.Error, r.Message)
		return
	}
	if r.Dumps == nil {
		t.Errorf("%s: %s cannot re-encode: %s", v.Name, p.name, deref(r.DumpsError))
		return
	}
	pyBytes, _ := hex.DecodeString(*r.Dumps)
	if v.SetOrder == "" {
		if !bytes.Equal(pyBytes, goBytes) {
			t.Errorf("%s: bytes differ\n    go %s\npython %s", v.Name, short(hex.EncodeToString(goBytes)), short(*r.Dumps))
		}
		if !bytes.Equal(pyBytes, v.raw) {
			t.Errorf("%s: %s encodes the literal to %s, golden %s", v.Name, p.name, short(*r.Dumps), short(v.Hex))
		}
		if r.Repr == nil || *r.Repr != v.literal() {
			t.Errorf("%s: %s repr %s, literal %s", v.Name, p.name, short(deref(r.Repr)), short(v.literal()))
		}
	} else if !p.same(t, goBytes, pyBytes) {
		t.Errorf("%s: %s re-encodes Go's set to a different value", v.Name, p.name)
	}
	got, _, err := v.decoder().Loads(pyBytes)
	if err != nil || !codec.Identical(got, want) {
		t.Errorf("%s: Go decodes Python's bytes to %s, %v", v.Name, reprOrNil(got), err)
	}
}

func diffDecodeOnly(t *testing.T, p *pyPeer, v *vector) {
	r := p.loads(t, v.raw, v)
	if v.Deviation != nil {
		return
	}
	if !r.OK {
		t.Errorf("%s: %s rejects decode-only vector: %s %s", v.Name, p.name, r.Error, r.Message)
		return
	}
	if r.Repr == nil || *r.Repr != v.literal() {
		t.Errorf("%s: %s repr %s, literal %s", v.Name, p.name, deref(r.Repr), v.literal())
	}
	got, _, err := v.decoder().Loads(v.raw)
	if err != nil {
		t.Errorf("%s: Go decode: %v", v.Name, err)
		return
	}
	goBytes, err := v.encoder().Dumps(got)
	if err != nil {
		t.Errorf("%s: Go re-encode: %v", v.Name, err)
		return
	}
	// Go's canonical bytes must mean to Python what the vector meant.
	if r.Dumps != nil && v.StrConfig == nil {
		pyBytes, _ := hex.DecodeString(*r.Dumps)
		if !p.same(t, goBytes, pyBytes) {
			t.Errorf("%s: Go's canonical form %x differs from Python's %s", v.Name, goBytes, *r.Dumps)
		}
	}
}

// diffReject checks a reject vector. A deviation with python_error is one
// of error class: execnet rejects the bytes too, but raises an exception of
// another class than the spec's; where the deviation applies the peer must
// raise exactly that exception, elsewhere (e.g. PyPy for a CPython-only
// row) it must reject with some other exception.
func diffReject(t *testing.T, p *pyPeer, v *vector) {
	r := p.loads(t, v.raw, v)
	wrongClass := v.Deviation != nil && v.PythonError != nil
	switch {
	case v.Deviation == nil && r.OK:
		t.Errorf("%s: %s accepts bytes the spec rejects and no deviation is recorded", v.Name, p.name)
	case v.Deviation != nil && !r.OK && v.PythonAccepts != nil:
		t.Errorf("%s: generator saw execnet accept, %s rejects with %s", v.Name, p.name, r.Error)
	case wrongClass && r.OK:
		t.Errorf("%s: %s accepts bytes that deviation %s says it rejects with %s", v.Name, p.name, v.Deviation.ID, *v.PythonError)
	case wrongClass && v.Deviation.appliesTo(p.name) && r.Error != *v.PythonError:
		t.Errorf("%s: deviation %s: %s raises %s %s, the generator saw %s", v.Name, v.Deviation.ID, p.name, r.Error, r.Message, *v.PythonError)
	case wrongClass && !v.Deviation.appliesTo(p.name) && r.Error == *v.PythonError:
		t.Errorf("%s: deviation %s is recorded for %v only, but %s raises %s too", v.Name, v.Deviation.ID, v.Deviation.Interpreters, p.name, r.Error)
	case wrongClass && !v.Deviation.appliesTo(p.name):
		t.Logf("%s: %s follows the spec here (deviation %s is recorded for %v): raises %s", v.Name, p.name, v.Deviation.ID, v.Deviation.Interpreters, r.Error)
	case !r.OK && v.PythonError != nil && r.Error != *v.PythonError:
		t.Logf("%s: %s raises %s, CPython generator saw %s", v.Name, p.name, r.Error, *v.PythonError)
	}
}

// diffRandom sends n generated values through both codecs: Python must
// decode Go's bytes, re-encode them identically (or to an equal value when
// sets are involved) with the same repr, and Go must decode Python's bytes
// back to an Identical value.
func diffRandom(t *testing.T, p *pyPeer, n int, next func() codec.Value) {
	name := p.name
	for i := 0; i < n; i++ {
		v := next()
		goBytes, err := codec.Dumps(v)
		if err != nil {
			t.Fatalf("value %d: Go encode %s: %v", i, codec.Repr(v), err)
		}
		r := p.loads(t, goBytes, nil)
		if !r.OK {
			t.Errorf("value %d %s: %s cannot decode %x: %s %s", i, short(codec.Repr(v)), name, goBytes, r.Error, r.Message)
			continue
		}
		if r.Dumps == nil {
			if hasNegBig(v) && r.DumpsError != nil && *r.DumpsError == "struct.error" {
				continue // known execnet bug (deviation dump-negative-longint)
			}
			t.Errorf("value %d %s: %s cannot re-encode: %s", i, short(codec.Repr(v)), name, deref(r.DumpsError))
			continue
		}
		pyBytes, _ := hex.DecodeString(*r.Dumps)
		if hasMultiSet(v) {
			if !p.same(t, goBytes, pyBytes) {
				t.Errorf("value %d %s: Python re-encodes to a different value %s", i, short(codec.Repr(v)), short(*r.Dumps))
			}
		} else {
			if !bytes.Equal(goBytes, pyBytes) {
				t.Errorf("value %d %s: bytes differ\n    go %x\npython %s", i, short(codec.Repr(v)), goBytes, *r.Dumps)
			}
			if r.Repr == nil || *r.Repr != codec.Repr(v) {
				checkReprVariant(t, p, fmt.Sprintf("value %d", i), v, deref(r.Repr))
			}
		}
		back, err := codec.Loads(pyBytes)
		if err != nil || !codec.Identical(back, v) {
			t.Errorf("value %d %s: Go decodes Python's bytes to %s, %v", i, short(codec.Repr(v)), reprOrNil(back), err)
		}
	}
}

// gopterValues draws values from codectest.GenValue with a fixed seed.
func gopterValues(seed int64) func() codec.Value {
	params := gopter.DefaultGenParameters()
	params.Rng = mrand.New(mrand.NewSource(seed))
	gen := codectest.GenValue(3)
	return func() codec.Value {
		for {
			if v, ok := gen(params).Retrieve(); ok {
				return v.(codec.Value)
			}
		}
	}
}

// genValue returns a random value of the data model (no channels, no
// Py2Str), at most depth containers deep.
func genValue(r *rand.Rand, depth int) codec.Value {
	k := r.IntN(14)
	if depth <= 0 && k >= 8 {
		k = r.IntN(8)
	}
	switch k {
	case 0:
		return codec.None{}
	case 1:
		return codec.Bool(r.IntN(2) == 1)
	case 2, 3:
		return genInt(r)
	case 4:
		return codec.Float(genFloat(r))
	case 5:
		return codec.Complex(complex(genFloat(r), genFloat(r)))
	case 6:
		return codec.Bytes(genBytes(r))
	case 7:
		return codec.Str(genStr(r))
	case 8:
		return codec.Tuple(genSeq(r, depth-1, false))
	case 9:
		return codec.List(genSeq(r, depth-1, false))
	case 10, 11:
		var items []codec.Item
		for range r.IntN(5) {
			items = append(items, codec.Item{Key: genHashable(r, depth-1), Value: genValue(r, depth-1)})
		}
		d, err := codec.NewDict(items...)
		if err != nil {
			panic(fmt.Sprintf("generator made an unhashable key: %v", err))
		}
		return d
	case 12:
		s, err := codec.NewSet(genSeq(r, depth-1, true)...)
		if err != nil {
			panic(err)
		}
		return s
	default:
		s, err := codec.NewFrozenSet(genSeq(r, depth-1, true)...)
		if err != nil {
			panic(err)
		}
		return s
	}
}

func genSeq(r *rand.Rand, depth int, hashable bool) []codec.Value {
	out := make([]codec.Value, r.IntN(5))
	for i := range out {
		if hashable {
			out[i] = genHashable(r, depth)
		} else {
			out[i] = genValue(r, depth)
		}
	}
	return out
}

// genHashable returns a value usable as a dict key or set element. It
// holds no NaN: PyPy merges NaN keys with equal bits (deviation
// pypy-nan-identity), which the golden vectors cover.
func genHashable(r *rand.Rand, depth int) codec.Value {
	for {
		v := genValue(r, depth)
		if hasNaN(v) {
			continue
		}
		switch x := v.(type) {
		case codec.List, *codec.Dict, codec.Set:
			continue
		case codec.Tuple:
			if !allHashable(x) {
				continue
			}
		}
		return v
	}
}

func allHashable(vs []codec.Value) bool {
	for _, v := range vs {
		switch x := v.(type) {
		case codec.List, *codec.Dict, codec.Set:
			return false
		case codec.Tuple:
			if !allHashable(x) {
				return false
			}
		}
	}
	return true
}

var intEdges = []int64{0, 1, -1, 127, 128, 255, 256, 65535, 65536, math.MaxInt32, math.MinInt32,
	math.MaxInt32 + 1, math.MinInt32 - 1, math.MaxInt64, math.MinInt64, 1 << 53}

func genInt(r *rand.Rand) codec.Value {
	switch r.IntN(4) {
	case 0:
		return codec.Int(intEdges[r.IntN(len(intEdges))])
	case 1:
		return codec.Int(int64(r.Int32()))
	case 2:
		return codec.Int(int64(r.Uint64()))
	default:
		x := new(big.Int).Lsh(big.NewInt(1), uint(64+r.IntN(300)))
		x.Add(x, big.NewInt(r.Int64()))
		if r.IntN(2) == 0 {
			x.Neg(x)
		}
		return codec.NewBigInt(x)
	}
}

var floatEdges = []float64{0, math.Copysign(0, -1), 1, -1, 0.1, 1e16, 1e22, 5e-324, math.MaxFloat64,
	math.SmallestNonzeroFloat64 * 3, math.Inf(1), math.Inf(-1), math.NaN(), 2.2250738585072014e-308}

func genFloat(r *rand.Rand) float64 {
	switch r.IntN(3) {
	case 0:
		return floatEdges[r.IntN(len(floatEdges))]
	case 1:
		return (r.Float64() - 0.5) * math.Pow(10, float64(r.IntN(40)-20))
	default:
		f := math.Float64frombits(r.Uint64())
		if math.IsNaN(f) {
			return math.NaN() // payload bits: see TestDiffNaNPayload
		}
		return f
	}
}

func genBytes(r *rand.Rand) []byte {
	b := make([]byte, r.IntN(12))
	for i := range b {
		b[i] = byte(r.IntN(256))
	}
	return b
}

var runePool = []rune{'a', 'Z', '0', ' ', '\'', '"', '\\', '\n', '\t', 0, 0x7f, 0x85, 0xa0, 0xe9, 0x4e2d,
	0x200b, 0xfeff, 0xffff, 0x1f600, 0x10ffff, 0xe0001, 0x301}

func genStr(r *rand.Rand) string {
	var sb strings.Builder
	for range r.IntN(10) {
		if r.IntN(2) == 0 {
			sb.WriteRune(runePool[r.IntN(len(runePool))])
			continue
		}
		c := rune(r.IntN(0x110000))
		if !utf8.ValidRune(c) {
			c = 'x'
		}
		sb.WriteRune(c)
	}
	return sb.String()
}

func deref(s *string) string {
	if s == nil {
		return "<none>"
	}
	return *s
}

func hasMultiSet(v codec.Value) bool {
	switch x := v.(type) {
	case codec.Set:
		return len(x) > 1 || anyValue(x, hasMultiSet)
	case codec.FrozenSet:
		return len(x) > 1 || anyValue(x, hasMultiSet)
	case codec.Tuple:
		return anyValue(x, hasMultiSet)
	case codec.List:
		return anyValue(x, hasMultiSet)
	case *codec.Dict:
		for _, it := range x.Items() {
			if hasMultiSet(it.Key) || hasMultiSet(it.Value) {
				return true
			}
		}
	}
	return false
}

// hasNegBig reports whether v holds an integer below -2^31, which execnet
// 1.9 fails to dump.
func hasNegBig(v codec.Value) bool {
	switch x := v.(type) {
	case codec.Int:
		return x < math.MinInt32
	case codec.BigInt:
		return x.V.Sign() < 0
	case codec.Set:
		return anyValue(x, hasNegBig)
	case codec.FrozenSet:
		return anyValue(x, hasNegBig)
	case codec.Tuple:
		return anyValue(x, hasNegBig)
	case codec.List:
		return anyValue(x, hasNegBig)
	case *codec.Dict:
		for _, it := range x.Items() {
			if hasNegBig(it.Key) || hasNegBig(it.Value) {
				return true
			}
		}
	}
	return false
}

// hasNaN reports whether v holds a NaN float or complex part.
func hasNaN(v codec.Value) bool {
	switch x := v.(type) {
	case codec.Float:
		return math.IsNaN(float64(x))
	case codec.Complex:
		return math.IsNaN(real(x)) || math.IsNaN(imag(x))
	case codec.Tuple:
		return anyValue(x, hasNaN)
	case codec.FrozenSet:
		return anyValue(x, hasNaN)
	}
	return false
}

func anyValue(vs []codec.Value, f func(codec.Value) bool) bool {
	for _, v := range vs {
		if f(v) {
			return true
		}
	}
	return false
}

// diffNaNPayload checks that NaN payloads and signs survive a trip
// through real execnet and back, bit for bit.
func diffNaNPayload(t *testing.T, p *pyPeer) {
	for _, bits := range []uint64{0x7ff8000000000000, 0xfff8000000000000, 0x7ff8000000000123, 0x7ff0000000000001} {
		v := codec.Float(math.Float64frombits(bits))
		goBytes, err := codec.Dumps(v)
		if err != nil {
			t.Fatal(err)
		}
		r := p.loads(t, goBytes, nil)
		if !r.OK || r.Dumps == nil {
			t.Errorf("%016x: %s: %s %s", bits, p.name, r.Error, r.Message)
			continue
		}
		if *r.Dumps != hex.EncodeToString(goBytes) {
			t.Errorf("%016x: %s re-encodes NaN as %s, Go %x", bits, p.name, *r.Dumps, goBytes)
		}
	}
}
