package codec_test

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"strings"
	"testing"

	"github.com/execnet-conform/execnet-conform/reference/codec"
)

type tReport struct {
	NodeID   string  `execnet:"nodeid"`
	Duration int     `execnet:"duration"`
	Skip     string  `execnet:"-"`
	Note     string  `execnet:"note,omitempty"`
	Ratio    float32 `execnet:"ratio,omitempty"`
}

type tRun struct {
	Reports []tReport `execnet:"reports"`
}

func mustDumps(t testing.TB, lit string) []byte {
	t.Helper()
	v, err := codec.ParseLiteral(lit)
	if err != nil {
		t.Fatal(err)
	}
	b, err := codec.Dumps(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestUnmarshalTypeErrorPath: a value that does not fit names its Go path.
func TestUnmarshalTypeErrorPath(t *testing.T) {
	b := mustDumps(t, `{'reports': [{'nodeid': 'a', 'duration': 1}, {'nodeid': 'b', 'duration': 2}, {'nodeid': 'c', 'duration': 3}, {'nodeid': 'd', 'duration': 0.5}]}`)
	var run tRun
	err := codec.Unmarshal(b, &run)
	var te *codec.UnmarshalTypeError
	if !errors.As(err, &te) || !errors.Is(err, codec.ErrType) {
		t.Fatalf("got %v, want an *UnmarshalTypeError", err)
	}
	if want := "codec: unmarshal .reports[3].duration: float into int"; err.Error() != want {
		t.Errorf("got %q, want %q", err, want)
	}
}

// TestUnmarshalIntRanges: every int size is range-checked.
func TestUnmarshalIntRanges(t *testing.T) {
	cases := []struct {
		lit    string
		target any
		ok     bool
	}{
		{"127", new(int8), true}, {"128", new(int8), false}, {"-129", new(int8), false},
		{"255", new(uint8), true}, {"256", new(uint8), false}, {"-1", new(uint), false},
		{"32767", new(int16), true}, {"32768", new(int16), false},
		{"65535", new(uint16), true}, {"65536", new(uint16), false},
		{"2147483647", new(int32), true}, {"2147483648", new(int32), false},
		{"4294967295", new(uint32), true}, {"4294967296", new(uint32), false},
		{"9223372036854775807", new(int64), true}, {"9223372036854775808", new(int64), false},
		{"18446744073709551615", new(uint64), true}, {"18446744073709551616", new(uint64), false},
		{"-9223372036854775808", new(int64), true}, {"-9223372036854775809", new(int64), false},
		{"123456789012345678901234567890", new(big.Int), true},
		{"True", new(int), false}, {"1.5", new(int), false}, {"'1'", new(int), false},
	}
	for _, c := range cases {
		err := codec.Unmarshal(mustDumps(t, c.lit), c.target)
		if (err == nil) != c.ok {
			t.Errorf("%s into %T: err %v, want ok=%v", c.lit, c.target, err, c.ok)
		}
		if err != nil && !errors.Is(err, codec.ErrType) {
			t.Errorf("%s into %T: %v is not ErrType", c.lit, c.target, err)
		}
	}
	var z big.Int
	if err := codec.Unmarshal(mustDumps(t, "-123456789012345678901234567890"), &z); err != nil || z.String() != "-123456789012345678901234567890" {
		t.Errorf("big.Int: %v %v", &z, err)
	}
}

// TestUnmarshalLimits: Unmarshal applies the Decoder's limits and returns
// the same *DecodeError as Loads for an input Loads rejects.
func TestUnmarshalLimits(t *testing.T) {
	deep := strings.Repeat("[", 5) + strings.Repeat("]", 5)
	long := mustDumps(t, "'"+strings.Repeat("x", 100)+"'")
	digits := mustDumps(t, "1"+strings.Repeat("0", 50))
	for _, c := range []struct {
		name   string
		b      []byte
		lim    codec.Limits
		target any
	}{
		{"depth", mustDumps(t, deep), codec.Limits{MaxDepth: 4}, new(any)},
		{"depth-typed", mustDumps(t, deep), codec.Limits{MaxDepth: 4}, new([][][][][]int)},
		{"string", long, codec.Limits{MaxStringLen: 10}, new(string)},
		{"digits", digits, codec.Limits{MaxIntDigits: 20}, new(big.Int)},
		{"elements", mustDumps(t, "[1, 2, 3, 4, 5]"), codec.Limits{MaxElements: 4}, new([]int)},
		{"truncated", mustDumps(t, "[1, 2]")[:8], codec.Limits{}, new([]int)},
		{"unhashable-set", []byte("K\x00\x00\x00\x01F\x00\x00\x00\x00F\x00\x00\x00\x07PO\x00\x00\x00\x01Q"), codec.Limits{}, new(codec.SetOf[[1]int])},
		{"unhashable-key", []byte("JF\x00\x00\x00\x01K\x00\x00\x00\x00@\x00\x00\x00\x02N\x00\x00\x00\x01vPQ"), codec.Limits{}, new(map[struct {
			A int
			B [1]int
		}]string)},
		{"bad-utf8", []byte("N\x00\x00\x00\x01\xffQ"), codec.Limits{}, new(string)},
		{"bad-utf8-tail", []byte("N\x00\x00\x00\x0aabcdefghi\xffQ"), codec.Limits{}, new(string)},
		{"bad-utf8-word", []byte("N\x00\x00\x00\x11abc\xe2\x82defghijklmnoQ"), codec.Limits{}, new(string)},
	} {
		d := codec.Decoder{Limits: c.lim}
		_, _, lerr := d.Loads(c.b)
		_, uerr := d.Unmarshal(c.b, c.target)
		if lerr == nil || uerr == nil || lerr.Error() != uerr.Error() {
			t.Errorf("%s: Loads: %v; Unmarshal: %v", c.name, lerr, uerr)
		}
	}
}

// TestUnmarshalUnknownKeys: unknown keys are skipped, or reported.
func TestUnmarshalUnknownKeys(t *testing.T) {
	b := mustDumps(t, `{'nodeid': 'n', 'other': [1, (2, {3})], 'duration': 4}`)
	var r tReport
	if err := codec.Unmarshal(b, &r); err != nil || r.NodeID != "n" || r.Duration != 4 {
		t.Fatalf("%+v %v", r, err)
	}
	d := codec.Decoder{DisallowUnknownKeys: true}
	_, err := d.Unmarshal(b, &r)
	if !errors.Is(err, codec.ErrUnknownKey) || !strings.Contains(err.Error(), "'other'") {
		t.Errorf("got %v, want ErrUnknownKey naming 'other'", err)
	}
}

// TestMarshalTags: names, "-", omitempty, embedded structs, tuples.
func TestMarshalTags(t *testing.T) {
	type Base struct {
		ID   int    `execnet:"id"`
		Kind string `execnet:"kind"`
	}
	type Item struct {
		Base
		Kind   string   `execnet:"kind"` // shadows Base.Kind
		Pos    [2]int   `execnet:"pos,tuple"`
		Opt    *int     `execnet:"opt,omitempty"`
		Hidden int      `execnet:"-"`
		Tags   []string `execnet:"tags,omitempty"`
		Set    codec.SetOf[int]
		hidden int
	}
	b, err := codec.Marshal(Item{Base: Base{ID: 7, Kind: "base"}, Kind: "item", Pos: [2]int{1, 2}, Hidden: 9, Set: codec.SetOf[int]{5: {}}, hidden: 1})
	if err != nil {
		t.Fatal(err)
	}
	v, err := codec.Loads(b)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := codec.Repr(v), "{'id': 7, 'kind': 'item', 'pos': (1, 2), 'Set': {5}}"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	var back Item
	if err := codec.Unmarshal(b, &back); err != nil || back.ID != 7 || back.Kind != "item" || back.Pos != [2]int{1, 2} || len(back.Set) != 1 {
		t.Errorf("back: %+v %v", back, err)
	}
}

// TestMarshalMatchesDumps: Marshal of plain Go values writes what Dumps
// writes for the same data.
func TestMarshalMatchesDumps(t *testing.T) {
	for _, c := range []struct {
		v   any
		lit string
	}{
		{nil, "None"}, {true, "True"}, {int8(-5), "-5"}, {uint64(1 << 63), "9223372036854775808"},
		{int64(math.MinInt64), "-9223372036854775808"}, {1.5, "1.5"}, {float32(0.5), "0.5"},
		{complex(1, -2), "(1-2j)"}, {"héllo", "'héllo'"}, {[]byte("ab"), "b'ab'"},
		{[]int{1, 2}, "[1, 2]"}, {[]string(nil), "None"}, {map[string]int{"a": 1}, "{'a': 1}"},
		{big.NewInt(-3), "-3"}, {[]any{nil, "x", []any{}}, "[None, 'x', []]"},
		{codec.Tuple{codec.Int(1)}, "(1,)"}, {map[string]any{"k": codec.Str("v")}, "{'k': 'v'}"},
	} {
		got, err := codec.Marshal(c.v)
		if err != nil {
			t.Errorf("%#v: %v", c.v, err)
			continue
		}
		if want := mustDumps(t, c.lit); string(got) != string(want) {
			t.Errorf("%#v: got %q, want %q", c.v, got, want)
		}
	}
}

// TestMarshalErrors: values outside the data model, bad text and cycles
// fail with a path.
func TestMarshalErrors(t *testing.T) {
	type Node struct {
		Next *Node `execnet:"next"`
		Name string
	}
	n := &Node{}
	n.Next = n
	for _, c := range []struct {
		v    any
		want error
		path string
	}{
		{struct{ F func() }{}, codec.ErrUnsupported, ".F"},
		{map[string]any{"s": "\xff"}, codec.ErrBadUTF8, ".s"},
		{[]string{"abcdefghij\xffk"}, codec.ErrBadUTF8, "[0]"},
		{[]string{"abcdefgh\xe2\x82ijklmnop"}, codec.ErrBadUTF8, "[0]"},
		{n, codec.ErrLimit, ".next.next"},
		{[]chan int{nil}, codec.ErrUnsupported, "[0]"},
	} {
		_, err := codec.Marshal(c.v)
		var ee *codec.EncodeError
		if !errors.Is(err, c.want) || !errors.As(err, &ee) || !strings.HasPrefix(ee.Path, c.path) {
			t.Errorf("%T: got %v, want %v at %s", c.v, err, c.want, c.path)
		}
	}
}

type celsius float64

func (c celsius) MarshalExecnet() (codec.Value, error) {
	return codec.Str(fmt.Sprintf("%.1fC", float64(c))), nil
}

func (c *celsius) UnmarshalExecnet(v codec.Value) error {
	s, ok := v.(codec.Str)
	if !ok {
		return fmt.Errorf("want text, got %s", v.Kind())
	}
	_, err := fmt.Sscanf(string(s), "%fC", (*float64)(c))
	return err
}

// TestMarshalerUnmarshaler: custom types encode and decode themselves.
func TestMarshalerUnmarshaler(t *testing.T) {
	type Reading struct {
		T celsius `execnet:"t"`
	}
	b, err := codec.Marshal(Reading{T: 21.5})
	if err != nil {
		t.Fatal(err)
	}
	if want := mustDumps(t, "{'t': '21.5C'}"); string(b) != string(want) {
		t.Errorf("got %q", b)
	}
	var r Reading
	if err := codec.Unmarshal(b, &r); err != nil || r.T != 21.5 {
		t.Errorf("%+v %v", r, err)
	}
	err = codec.Unmarshal(mustDumps(t, "{'t': 3}"), &r)
	if !errors.Is(err, codec.ErrType) || !strings.Contains(err.Error(), ".t: want text") {
		t.Errorf("got %v", err)
	}
}

// TestUnmarshalAnyAndToGo: an any receives what ToGo gives, from both
// paths.
func TestUnmarshalAnyAndToGo(t *testing.T) {
	for _, lit := range []string{
		"None", "[1, 'a', b'b', 2.5, (1, (2, 3)), {'k': [None]}, True]",
		"{1: 'int key', (1, 2): 'tuple key'}", "{1, 'a'}", "frozenset({(1, 2)})",
		"123456789012345678901234567890", "(-1-2j)",
		"{123456789012345678901234567890: 1, None: 2}", "{123456789012345678901234567890, 1}",
	} {
		v, err := codec.ParseLiteral(lit)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := codec.Dumps(v)
		var fast, slow any
		if err := codec.Unmarshal(b, &fast); err != nil {
			t.Fatalf("%s: %v", lit, err)
		}
		if err := codec.UnmarshalSlow(b, &slow); err != nil {
			t.Fatalf("%s: %v", lit, err)
		}
		want := codec.ToGo(v)
		if !reflect.DeepEqual(fast, want) || !reflect.DeepEqual(slow, want) {
			t.Errorf("%s: fast %#v, slow %#v, ToGo %#v", lit, fast, slow, want)
		}
		back, err := codec.FromGo(want)
		if err != nil {
			t.Errorf("%s: FromGo: %v", lit, err)
		} else if !reflect.DeepEqual(codec.ToGo(back), want) {
			t.Errorf("%s: FromGo(ToGo(v)) = %s", lit, codec.Repr(back))
		}
	}
}

// TestUnmarshalVersioned: both dump formats.
func TestUnmarshalVersioned(t *testing.T) {
	for _, ver := range []byte{1, 2} {
		b, err := codec.MarshalVersioned(map[string]int{"a": 1}, ver)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]int
		got, err := codec.UnmarshalVersioned(b, &m)
		if err != nil || got != ver || m["a"] != 1 {
			t.Errorf("version %d: %v %d %v", ver, m, got, err)
		}
	}
	if _, err := codec.UnmarshalVersioned([]byte{3, 'L', 'Q'}, new(any)); !errors.Is(err, codec.ErrVersion) {
		t.Errorf("version 3: %v", err)
	}
}

// TestUnmarshalNonPointer: the target must be a non-nil pointer.
func TestUnmarshalNonPointer(t *testing.T) {
	var x int
	for _, target := range []any{x, nil, (*int)(nil)} {
		if err := codec.Unmarshal([]byte("LQ"), target); !errors.Is(err, codec.ErrType) {
			t.Errorf("%T: %v", target, err)
		}
	}
}

// TestUnmarshalListsDoNotShare: short []any lists and the strings boxed
// in them are carved from blocks shared within one Unmarshal; each list
// must still be a value of its own: appending to one leaves the others
// as they were, and an empty list is [] (non-nil), not None.
func TestUnmarshalListsDoNotShare(t *testing.T) {
	type rec struct {
		A []any `execnet:"a"`
		B []any `execnet:"b"`
		C []any `execnet:"c"`
		E []any `execnet:"e"`
	}
	in := rec{A: []any{int64(1), "one"}, B: []any{"two", []any{"three", int64(3)}}, C: []any{"four"}, E: []any{}}
	wire, err := codec.Marshal(&in)
	if err != nil {
		t.Fatal(err)
	}
	var out rec
	if err := codec.Unmarshal(wire, &out); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(out, in) {
		t.Fatalf("Unmarshal = %#v, want %#v", out, in)
	}
	out.A = append(out.A, "appended")
	out.B[1] = append(out.B[1].([]any), "appended")
	want := rec{A: []any{int64(1), "one", "appended"}, B: []any{"two", []any{"three", int64(3), "appended"}}, C: []any{"four"}, E: []any{}}
	if !reflect.DeepEqual(out, want) {
		t.Errorf("after appending to a and b[1]: %#v, want %#v", out, want)
	}
	if out.E == nil {
		t.Error("an empty list decoded as nil")
	}
}
