package codec

import (
	"bytes"
	"errors"
	"math/big"
	"strings"
	"testing"
)

func nestedTuples(n int) []byte {
	var b bytes.Buffer
	b.Write([]byte{'@', 0, 0, 0, 0})
	for i := 1; i < n; i++ {
		b.Write([]byte{'@', 0, 0, 0, 1})
	}
	b.WriteByte('Q')
	return b.Bytes()
}

func nestedLists(n int) []byte {
	var b bytes.Buffer
	for i := 1; i < n; i++ {
		b.Write([]byte{'K', 0, 0, 0, 1, 'F', 0, 0, 0, 0})
	}
	b.Write([]byte{'K', 0, 0, 0, 0})
	b.Write(bytes.Repeat([]byte{'P'}, n-1))
	b.WriteByte('Q')
	return b.Bytes()
}

func TestDepthLimit(t *testing.T) {
	for _, c := range []struct {
		name string
		gen  func(int) []byte
	}{{"tuples", nestedTuples}, {"lists", nestedLists}} {
		ok, err := Loads(c.gen(DefaultMaxDepth))
		if err != nil {
			t.Fatalf("%s: depth %d: %v", c.name, DefaultMaxDepth, err)
		}
		if Repr(ok) == "" || !Identical(ok, ok) {
			t.Fatalf("%s: Repr/Identical on depth %d", c.name, DefaultMaxDepth)
		}
		again, err := Dumps(ok)
		if err != nil || !bytes.Equal(again, c.gen(DefaultMaxDepth)) {
			t.Fatalf("%s: re-encode depth %d: %v", c.name, DefaultMaxDepth, err)
		}
		if _, err := Loads(c.gen(DefaultMaxDepth + 1)); !errors.Is(err, ErrLimit) {
			t.Fatalf("%s: depth %d: %v, want ErrLimit", c.name, DefaultMaxDepth+1, err)
		}
		// A million levels fail at level 1001 without recursing.
		if _, err := Loads(c.gen(1_000_000)); !errors.Is(err, ErrLimit) {
			t.Fatalf("%s: depth 10^6: %v, want ErrLimit", c.name, err)
		}
	}
	d := Decoder{Limits: Limits{MaxDepth: 3}}
	if _, _, err := d.Loads(nestedTuples(3)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := d.Loads(nestedTuples(4)); !errors.Is(err, ErrLimit) {
		t.Fatalf("MaxDepth 3, depth 4: %v", err)
	}
}

func TestEncodeDepthAndCycles(t *testing.T) {
	var deep Value = List{}
	for i := 1; i < DefaultMaxDepth; i++ {
		deep = List{deep}
	}
	if _, err := Dumps(deep); err != nil {
		t.Fatalf("depth %d: %v", DefaultMaxDepth, err)
	}
	_, err := Dumps(List{deep})
	var ee *EncodeError
	if !errors.Is(err, ErrLimit) || !errors.As(err, &ee) || !strings.HasPrefix(ee.Path, "[0][0][0]") {
		t.Fatalf("depth %d: %v", DefaultMaxDepth+1, err)
	}
	cyc := List{None{}, None{}}
	cyc[1] = cyc
	if _, err := Dumps(cyc); !errors.Is(err, ErrLimit) {
		t.Fatalf("cyclic list: %v", err)
	}
	if !Identical(cyc, cyc) {
		t.Fatal("a cyclic list is not Identical to itself")
	}
	if got := Repr(cyc); got != "[None, [...]]" {
		t.Fatalf("Repr(cyclic) = %s", got)
	}
	d := &Dict{}
	_ = d.Set(Str("self"), d)
	if got := Repr(d); got != "{'self': {...}}" {
		t.Fatalf("Repr(cyclic dict) = %s", got)
	}
	e := Encoder{Limits: Limits{MaxDepth: 1}}
	if _, err := e.Dumps(List{List{}}); !errors.Is(err, ErrLimit) {
		t.Fatalf("Encoder MaxDepth 1: %v", err)
	}
}

func TestElementAndSizeLimits(t *testing.T) {
	// 3 values plus a tuple: 4 elements.
	in := []byte("L\x4cL@\x00\x00\x00\x03Q")
	d := Decoder{Limits: Limits{MaxElements: 4}}
	if _, _, err := d.Loads(in); err != nil {
		t.Fatal(err)
	}
	d.Limits.MaxElements = 3
	if _, _, err := d.Loads(in); !errors.Is(err, ErrLimit) {
		t.Fatalf("MaxElements 3: %v", err)
	}
	d = Decoder{Limits: Limits{MaxStringLen: 3}}
	if _, _, err := d.Loads([]byte("N\x00\x00\x00\x03abcQ")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := d.Loads([]byte("A\x00\x00\x00\x04abcdQ")); !errors.Is(err, ErrLimit) {
		t.Fatalf("MaxStringLen: %v", err)
	}
	digits := strings.Repeat("9", DefaultMaxIntDigits)
	in = append(append([]byte{'H', 0, 0, 0x10, 0xcd}, "-"+digits...), 'Q') // 4301 bytes, 4300 digits
	v, err := Loads(in)
	want, _ := new(big.Int).SetString("-"+digits, 10)
	if err != nil || !Identical(v, BigInt{want}) {
		t.Fatalf("4300 digits: %v", err)
	}
	in = append(append([]byte{'H', 0, 0, 0x10, 0xcd}, "9"+digits...), 'Q')
	if _, err := Loads(in); !errors.Is(err, ErrLimit) {
		t.Fatalf("4301 digits: %v", err)
	}
	if _, err := Dumps(BigInt{new(big.Int).Exp(big.NewInt(10), big.NewInt(4300), nil)}); !errors.Is(err, ErrLimit) {
		t.Fatalf("encode 4301 digits: %v", err)
	}
}

func TestDecodeSemantics(t *testing.T) {
	cases := []struct {
		name, hex string
		cfg       StrConfig
		want      Value
	}{
		{"legacy G", "47ffffffff51", ChannelStrConfig, Int(-1)},
		{"legacy I", "49000000023132" + "51", ChannelStrConfig, Int(12)},
		{"longint small", "4800000001" + "35" + "51", ChannelStrConfig, Int(5)},
		{"longint leading zeros", "4800000003" + "303037" + "51", ChannelStrConfig, Int(7)},
		{"longint -0", "4800000002" + "2d30" + "51", ChannelStrConfig, Int(0)},
		{"M as text", "4d00000002" + "41e9" + "51", ChannelStrConfig, Str("Aé")},
		{"M as py2str", "4d00000002" + "41e9" + "51", PublicStrConfig, Py2Str("A\xe9")},
		{"N as bytes", "4e00000002" + "c3a9" + "51", StrConfig{Py3StrAsPy2Str: true}, Bytes("é")},
		{"S text", "5300000002" + "c3a9" + "51", PublicStrConfig, Str("é")},
		{"unfilled list", "4b0000000351", ChannelStrConfig, List{None{}, None{}, None{}}},
		{"dup keys keep first position", "4a" + "4e0000000161" + "4600000001" + "50" + "4e0000000162" + "4600000002" + "50" +
			"4e0000000161" + "4600000003" + "50" + "51", ChannelStrConfig,
			mustDict(t, Str("a"), Int(3), Str("b"), Int(2))},
		{"1 and True one key", "4a" + "4600000001" + "4e0000000161" + "50" + "52" + "4e0000000162" + "50" + "51", ChannelStrConfig,
			mustDict(t, Int(1), Str("b"))},
		{"set dedupe", "4600000001" + "52" + "443ff0000000000000" + "4600000002" + "4f00000004" + "51", ChannelStrConfig,
			Set{Int(1), Int(2)}},
	}
	for _, c := range cases {
		d := Decoder{StrConfig: c.cfg}
		in := unhex(t, c.hex)
		got, n, err := d.Loads(append(in, "trailing"...))
		if err != nil || n != len(in) || !Identical(got, c.want) {
			t.Errorf("%s: got %s, n %d, %v; want %s, n %d", c.name, Repr(got), n, err, Repr(c.want), len(in))
		}
	}
}

func TestChannelResolver(t *testing.T) {
	in := unhex(t, "42000000074200000009"+"4000000002"+"51")
	v, err := Loads(in)
	if err != nil || !Identical(v, Tuple{ChannelRef(7), ChannelRef(9)}) {
		t.Fatalf("default: %s, %v", Repr(v), err)
	}
	var seen []int32
	d := Decoder{Channel: func(id int32) (Value, error) {
		seen = append(seen, id)
		if id == 9 {
			return nil, ErrChannelNotAllowed
		}
		return ChannelRef(id + 1), nil
	}}
	_, _, err = d.Loads(in)
	var de *DecodeError
	if !errors.Is(err, ErrChannelNotAllowed) || !errors.As(err, &de) || de.Offset != 5 || len(seen) != 2 {
		t.Fatalf("resolver: %v, seen %v", err, seen)
	}
	if _, _, err := LoadsVersioned(append([]byte{2}, in...)); !errors.Is(err, ErrChannelNotAllowed) {
		t.Fatalf("versioned: %v", err)
	}
}

func TestVersioned(t *testing.T) {
	for _, ver := range []byte{1, 2} {
		b, err := DumpsVersioned(List{Int(1)}, ver)
		if err != nil || b[0] != ver {
			t.Fatal(err)
		}
		v, got, err := LoadsVersioned(b)
		if err != nil || got != ver || !Identical(v, List{Int(1)}) {
			t.Fatalf("version %d: %v", ver, err)
		}
	}
	if _, err := DumpsVersioned(None{}, 3); !errors.Is(err, ErrVersion) {
		t.Fatal(err)
	}
	for _, in := range [][]byte{{0, 'L', 'Q'}, {3, 'L', 'Q'}} {
		if _, _, err := LoadsVersioned(in); !errors.Is(err, ErrVersion) {
			t.Fatalf("%x: %v", in, err)
		}
	}
	if _, _, err := LoadsVersioned(nil); !errors.Is(err, ErrTruncated) {
		t.Fatal(err)
	}
	_, _, err := LoadsVersioned([]byte{1, 'L', 'L', 'Q'})
	var de *DecodeError
	if !errors.As(err, &de) || de.Offset != 3 || !errors.Is(err, ErrStopStack) {
		t.Fatalf("offset in versioned input: %v", err)
	}
}

func TestEncodeErrors(t *testing.T) {
	cases := []struct {
		v    Value
		err  error
		path string
	}{
		{nil, ErrUnsupported, ""},
		{List{Int(1), nil}, ErrUnsupported, "[1]"},
		{Str("a\xffb"), ErrBadUTF8, ""},
		{Tuple{Str("\xed\xa0\x80")}, ErrBadUTF8, "[0]"},
		{Set{List{}}, ErrUnhashable, "{0}"},
		{FrozenSet{Tuple{Int(1), List{}}}, ErrUnhashable, "{0}"},
		{mustDict(t, Str("k"), List{Str("\xff")}), ErrBadUTF8, "['k'][0]"},
		{BigInt{}, ErrUnsupported, ""},
	}
	for _, c := range cases {
		b, err := AppendDumps([]byte("prefix"), c.v)
		var ee *EncodeError
		if !errors.Is(err, c.err) || !errors.As(err, &ee) || ee.Path != c.path {
			t.Errorf("Dumps(%s) = %v; want %v at %q", Repr(c.v), err, c.err, c.path)
		}
		if string(b) != "prefix" {
			t.Errorf("AppendDumps on error returned %q", b)
		}
	}
}

func TestLiteralNestingLimit(t *testing.T) {
	for _, s := range []string{strings.Repeat("-", 1_000_000) + "1", strings.Repeat("[", 1_000_000), strings.Repeat("(", 1_000_000)} {
		if _, err := ParseLiteral(s); !errors.Is(err, ErrLimit) || !errors.Is(err, ErrLiteralSyntax) {
			t.Errorf("ParseLiteral(%.10q...): %v, want ErrLimit", s, err)
		}
	}
	if _, err := ParseLiteral(strings.Repeat("[", 1000) + strings.Repeat("]", 1000)); err != nil {
		t.Errorf("1000 nested lists: %v", err)
	}
}
