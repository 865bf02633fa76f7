package codec_test

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"math"
	"math/big"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/leanovate/gopter"
	"github.com/leanovate/gopter/gen"
	"github.com/leanovate/gopter/prop"

	"github.com/execnet-conform/execnet-conform/internal/peers"
	"github.com/execnet-conform/execnet-conform/reference/codec"
)

// propPoint is a tuple-shaped struct.
type propPoint struct {
	_    struct{} `execnet:",tuple"`
	X, Y int32
	Tag  string
}

type propInner struct {
	Name  string            `execnet:"name"`
	Score float64           `execnet:"score,omitempty"`
	Attrs map[string]string `execnet:"attrs"`
}

type propEmbedded struct {
	Origin string `execnet:"origin"`
}

// propRec covers the kinds Marshal and Unmarshal support.
type propRec struct {
	propEmbedded
	I8      int8                   `execnet:"i8"`
	I16     int16                  `execnet:"i16"`
	I32     int32                  `execnet:"i32"`
	I64     int64                  `execnet:"i64"`
	U64     uint64                 `execnet:"u64"`
	U8      uint8                  `execnet:"u8"`
	F64     float64                `execnet:"f64"`
	F32     float32                `execnet:"f32"`
	C128    complex128             `execnet:"c128"`
	B       bool                   `execnet:"b"`
	S       string                 `execnet:"s"`
	Raw     []byte                 `execnet:"raw"`
	Big     *big.Int               `execnet:"big"`
	Ints    []int                  `execnet:"ints"`
	Pair    [2]string              `execnet:"pair,tuple"`
	Points  []propPoint            `execnet:"points"`
	Inner   *propInner             `execnet:"inner"`
	Inners  []propInner            `execnet:"inners"`
	Counts  map[string]int         `execnet:"counts"`
	ByInt   map[int64]string       `execnet:"by_int"`
	Tags    codec.SetOf[string]    `execnet:"tags"`
	Any     any                    `execnet:"any"`
	Value   codec.Value            `execnet:"value"`
	Skipped string                 `execnet:"-"`
	Nested  map[string][]propPoint `execnet:"nested"`
}

func randText(r *rand.Rand) string {
	alphabet := []string{"a", "b", "Z", " ", "\n", "é", "ß", "€", "😀", "\x00", "'", "\""}
	var sb strings.Builder
	for i := r.Intn(12); i > 0; i-- {
		sb.WriteString(alphabet[r.Intn(len(alphabet))])
	}
	return sb.String()
}

func randFloat(r *rand.Rand) float64 {
	switch r.Intn(5) {
	case 0:
		return 0
	case 1:
		return math.Inf(1 - 2*r.Intn(2))
	case 2:
		return math.Copysign(0, -1)
	}
	return r.NormFloat64() * math.Pow(10, float64(r.Intn(40)-20))
}

// randAny returns a value of the plain Go types Unmarshal gives an any.
func randAny(r *rand.Rand, depth int) any {
	n := 7
	if depth > 2 {
		n = 5
	}
	switch r.Intn(n) {
	case 0:
		return nil
	case 1:
		return r.Int63() - r.Int63()
	case 2:
		return randFloat(r)
	case 3:
		return randText(r)
	case 4:
		return r.Intn(2) == 0
	case 5:
		l := make([]any, r.Intn(4))
		for i := range l {
			l[i] = randAny(r, depth+1)
		}
		return l
	}
	m := map[string]any{}
	for i := r.Intn(4); i > 0; i-- {
		m[randText(r)] = randAny(r, depth+1)
	}
	return m
}

func randInner(r *rand.Rand) propInner {
	in := propInner{Name: randText(r), Score: randFloat(r)}
	if r.Intn(3) > 0 {
		in.Attrs = map[string]string{}
		for i := r.Intn(3); i > 0; i-- {
			in.Attrs[randText(r)] = randText(r)
		}
	}
	return in
}

func randPoints(r *rand.Rand) []propPoint {
	if r.Intn(4) == 0 {
		return nil
	}
	p := make([]propPoint, r.Intn(4))
	for i := range p {
		p[i] = propPoint{X: r.Int31() - r.Int31(), Y: r.Int31(), Tag: randText(r)}
	}
	return p
}

func randRec(r *rand.Rand) propRec {
	v := propRec{
		propEmbedded: propEmbedded{Origin: randText(r)},
		I8:           int8(r.Intn(256) - 128), I16: int16(r.Intn(65536) - 32768), I32: r.Int31() - r.Int31(),
		I64: r.Int63() - r.Int63(), U64: r.Uint64(), U8: uint8(r.Intn(256)),
		F64: randFloat(r), F32: float32(r.NormFloat64()), C128: complex(randFloat(r), randFloat(r)),
		B: r.Intn(2) == 0, S: randText(r), Pair: [2]string{randText(r), randText(r)},
		Points: randPoints(r), Any: randAny(r, 0),
	}
	if r.Intn(3) > 0 {
		v.Raw = []byte(randText(r))
	}
	if r.Intn(2) == 0 {
		v.Big = new(big.Int).Lsh(big.NewInt(r.Int63()-r.Int63()), uint(r.Intn(200)))
	}
	if r.Intn(3) > 0 {
		v.Ints = make([]int, r.Intn(5))
		for i := range v.Ints {
			v.Ints[i] = int(r.Int63() - r.Int63())
		}
	}
	if r.Intn(2) == 0 {
		in := randInner(r)
		v.Inner = &in
	}
	for i := r.Intn(3); i > 0; i-- {
		v.Inners = append(v.Inners, randInner(r))
	}
	if r.Intn(2) == 0 {
		v.Counts = map[string]int{}
		for i := r.Intn(4); i > 0; i-- {
			v.Counts[randText(r)] = r.Intn(1000) - 500
		}
	}
	if r.Intn(2) == 0 {
		v.ByInt = map[int64]string{}
		for i := r.Intn(4); i > 0; i-- {
			v.ByInt[r.Int63()-r.Int63()] = randText(r)
		}
	}
	if r.Intn(2) == 0 {
		v.Tags = codec.SetOf[string]{}
		for i := r.Intn(4); i > 0; i-- {
			v.Tags[randText(r)] = struct{}{}
		}
	}
	switch r.Intn(3) {
	case 0:
		v.Value = codec.Tuple{codec.Int(r.Int63()), codec.Str(randText(r)), codec.None{}}
	case 1:
		v.Value = codec.Float(randFloat(r))
	}
	if r.Intn(2) == 0 {
		v.Nested = map[string][]propPoint{randText(r): randPoints(r)}
	}
	return v
}

// equalRec compares two records as the round trip should keep them:
// exactly, except that a nil Value field comes back as None.
func equalRec(a, b propRec) bool {
	if a.Value == nil {
		a.Value = codec.None{}
	}
	if b.Value == nil {
		b.Value = codec.None{}
	}
	if !codec.Identical(a.Value, b.Value) {
		return false
	}
	a.Value, b.Value = nil, nil
	if (a.Big == nil) != (b.Big == nil) || (a.Big != nil && a.Big.Cmp(b.Big) != 0) {
		return false
	}
	a.Big, b.Big = nil, nil
	if a.Inner != nil && b.Inner != nil && a.Inner.Score == 0 && b.Inner.Score == 0 {
		a.Inner.Score, b.Inner.Score = 0, 0 // -0.0 is empty for omitempty
	}
	return reflect.DeepEqual(a, b)
}

func recGen() gopter.Gen {
	return gen.Int64().Map(func(seed int64) propRec { return randRec(rand.New(rand.NewSource(seed))) })
}

// normalize clears what the wire cannot carry: omitempty drops -0.0 scores.
func normalize(v propRec) propRec {
	for i := range v.Inners {
		if v.Inners[i].Score == 0 {
			v.Inners[i].Score = 0
		}
	}
	if v.Inner != nil && v.Inner.Score == 0 {
		in := *v.Inner
		in.Score = 0
		v.Inner = &in
	}
	return v
}

// TestPropertyTypedRoundTrip: Unmarshal(Marshal(v)) == v for generated
// records, through the fast path and the general path alike.
func TestPropertyTypedRoundTrip(t *testing.T) {
	params := gopter.DefaultTestParameters()
	params.MinSuccessfulTests = 500
	properties := gopter.NewProperties(params)
	properties.Property("Unmarshal(Marshal(v)) == v", prop.ForAll(
		func(v propRec) (bool, error) {
			v = normalize(v)
			b, err := codec.Marshal(&v)
			if err != nil {
				return false, err
			}
			var fast, slow propRec
			// Every shape of propRec has a direct decoder: the fast path
			// must not decline.
			if err := codec.UnmarshalFastOnly(b, &fast); err != nil {
				return false, err
			}
			if err := codec.UnmarshalSlow(b, &slow); err != nil {
				return false, err
			}
			if !equalRec(fast, v) || !equalRec(slow, v) {
				t.Logf("sent %+v\nfast %+v\nslow %+v", v, fast, slow)
				return false, nil
			}
			return true, nil
		}, recGen()))
	properties.TestingRun(t)
}

// forPython keeps negative ints at or above -2^31: execnet's encoder
// cannot write smaller ones (it packs every negative int as int32).
func forPython(v propRec) propRec {
	c := func(x int64) int64 {
		if x < math.MinInt32 {
			return x % math.MinInt32
		}
		return x
	}
	v.I64 = c(v.I64)
	ints := make([]int, len(v.Ints))
	for i, x := range v.Ints {
		ints[i] = int(c(int64(x)))
	}
	if v.Ints != nil {
		v.Ints = ints
	}
	if v.ByInt != nil {
		m := map[int64]string{}
		for k, x := range v.ByInt {
			m[c(k)] = x
		}
		v.ByInt = m
	}
	if v.Big != nil && v.Big.Sign() < 0 {
		v.Big = new(big.Int).Neg(v.Big)
	}
	var fix func(a any) any
	fix = func(a any) any {
		switch x := a.(type) {
		case int64:
			return c(x)
		case []any:
			for i := range x {
				x[i] = fix(x[i])
			}
		case map[string]any:
			for k := range x {
				x[k] = fix(x[k])
			}
		}
		return a
	}
	v.Any = fix(v.Any)
	if t, ok := v.Value.(codec.Tuple); ok {
		v.Value = codec.Tuple{codec.Int(c(int64(t[0].(codec.Int)))), t[1], t[2]}
	}
	return v
}

// pyEcho is a Python process that loads and dumps each hex line it reads
// with execnet's own serializer.
type pyEcho struct {
	cmd *exec.Cmd
	in  *bufio.Writer
	out *bufio.Scanner
}

const pyEchoScript = `
import sys, binascii
from execnet import gateway_base as gb
for line in sys.stdin:
    data = binascii.unhexlify(line.strip())
    sys.stdout.write(binascii.hexlify(gb.dumps_internal(gb.loads_internal(data))).decode() + "\n")
    sys.stdout.flush()
`

func startPyEcho(t *testing.T, python, pythonpath string) (*pyEcho, string) {
	t.Helper()
	cmd := exec.Command(python, "-c", "import execnet,sys; sys.stdout.write(execnet.__version__)")
	if pythonpath != "" {
		cmd.Env = append(os.Environ(), "PYTHONPATH="+pythonpath)
	}
	ver, err := cmd.Output()
	if err != nil {
		peers.Missing(t, fmt.Sprintf("%s with execnet (PYTHONPATH=%s): %v", python, pythonpath, err))
	}
	cmd = exec.Command(python, "-c", pyEchoScript)
	cmd.Env = append(os.Environ(), "PYTHONPATH="+pythonpath)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &pyEcho{cmd: cmd, in: bufio.NewWriter(stdin), out: bufio.NewScanner(stdout)}
	p.out.Buffer(make([]byte, 1<<20), 1<<24)
	t.Cleanup(func() {
		stdin.Close()
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	return p, string(ver)
}

func (p *pyEcho) roundTrip(b []byte) ([]byte, error) {
	if _, err := p.in.WriteString(hex.EncodeToString(b) + "\n"); err != nil {
		return nil, err
	}
	if err := p.in.Flush(); err != nil {
		return nil, err
	}
	if !p.out.Scan() {
		return nil, fmt.Errorf("python ended: %v", p.out.Err())
	}
	return hex.DecodeString(p.out.Text())
}

// TestPropertyTypedPython: Go value → Marshal → execnet loads → dumps →
// Unmarshal gives the value back, against CPython execnet 1.9.0 (Debian)
// and 2.1.2 (the source snapshot in ../shared/peers).
func TestPropertyTypedPython(t *testing.T) {
	peer212, _ := filepath.Abs("../../../shared/peers/execnet-2.1.2")
	for _, c := range []struct{ name, pythonpath string }{{"debian", ""}, {"2.1.2", peer212}} {
		t.Run(c.name, func(t *testing.T) {
			py, ver := startPyEcho(t, peers.CPythonPath, c.pythonpath)
			t.Logf("execnet %s", ver)
			params := gopter.DefaultTestParameters()
			params.MinSuccessfulTests = 200
			properties := gopter.NewProperties(params)
			properties.Property("Unmarshal(python(Marshal(v))) == v", prop.ForAll(
				func(v propRec) (bool, error) {
					v = forPython(normalize(v))
					b, err := codec.Marshal(&v)
					if err != nil {
						return false, err
					}
					back, err := py.roundTrip(b)
					if err != nil {
						return false, err
					}
					var got propRec
					if err := codec.Unmarshal(back, &got); err != nil {
						return false, err
					}
					if !equalRec(got, v) {
						t.Logf("sent %+v\ngot  %+v", v, got)
						return false, nil
					}
					return true, nil
				}, recGen()))
			properties.TestingRun(t)
		})
	}
}
