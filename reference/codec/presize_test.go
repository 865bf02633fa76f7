package codec

import (
	"errors"
	"fmt"
	"math/big"
	"strings"
	"testing"
)

// decodeWithBoxer decodes b as Loads does and returns the boxer, so that
// a test can see how much of each reserved chunk the decode used.
func decodeWithBoxer(t *testing.T, b []byte, cfg StrConfig) (Value, *boxer) {
	t.Helper()
	s := decState{b: b, lim: DefaultLimits(), cfg: cfg, dicts: &dictScratch{}}
	sz, _, dictItems := presize(b, cfg, false, nil, nil)
	s.box.reserve(sz, dictItems)
	s.dictItems = dictItems
	v, _, err := s.run()
	if err != nil {
		t.Fatal(err)
	}
	return v, &s.box
}

// TestPresizeCountsExactly checks that the presize walk counts exactly
// the slots decoding takes: every reserved chunk ends up full, so none
// was too big and none had to grow.
func TestPresizeCountsExactly(t *testing.T) {
	big70 := new(big.Int).Lsh(big.NewInt(1), 70)
	inner := func(i int) *Dict {
		d, err := NewDict(Item{Str("k"), Int(i)}, Item{Str(fmt.Sprint("x", i)), Float(0.5)}, Item{Int(i + 1000), List{Str(""), Bytes("b")}})
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	long := make(List, 300) // indexes from 256 up stay unboxed
	for i := range long {
		long[i] = Int(i * 3)
	}
	fs, _ := NewFrozenSet(Int(1), Str("a"), Tuple{Int(300)})
	set, _ := NewSet(Float(1.5), Int(-1), Str("s"))
	top, err := NewDict(
		Item{Str("a"), inner(1)},
		Item{Str("b"), Tuple{inner(2), inner(3), Str(strings.Repeat("z", 300))}},
		Item{Str("c"), long},
		Item{Tuple{Int(1), Str("t")}, fs},
		Item{Str("d"), set},
		Item{Str("e"), List{inner(4), Tuple{}, List{}, BigInt{V: big70}, Int(-5), Complex(1i), None{}, Bool(true)}},
		Item{Str("py2"), Py2Str("old")},
		Item{Str("ch"), ChannelRef(3)},
	)
	if err != nil {
		t.Fatal(err)
	}
	for _, cfg := range []StrConfig{{}, {Py3StrAsPy2Str: true}, {Py2StrAsPy3Str: true}} {
		for _, v := range []Value{top, long, Tuple{Str("x"), Float(2)}, inner(9)} {
			b, err := Dumps(v)
			if err != nil {
				t.Fatal(err)
			}
			got, bx := decodeWithBoxer(t, b, cfg)
			if cfg == (StrConfig{}) && !Identical(got, v) {
				t.Fatalf("decoded %s, want %s", Repr(got), Repr(v))
			}
			for name, c := range map[string][2]int{
				"words": {len(bx.words.chunk), cap(bx.words.chunk)},
				"strs":  {len(bx.strs.chunk), cap(bx.strs.chunk)}, "bytes": {len(bx.bytes.chunk), cap(bx.bytes.chunk)},
				"tuples": {len(bx.tuples.chunk), cap(bx.tuples.chunk)}, "lists": {len(bx.lists.chunk), cap(bx.lists.chunk)},
				"dicts": {len(bx.dicts.chunk), cap(bx.dicts.chunk)}, "vals": {len(bx.vals), cap(bx.vals)},
				"data": {len(bx.data), cap(bx.data)},
			} {
				if c[0] != c[1] {
					t.Errorf("%s, %+v: %s chunk used %d of %d slots", Repr(v)[:20], cfg, name, c[0], c[1])
				}
			}
		}
	}
}

// TestPresizeASCIIText checks the ASCII shortcut: UTF-8 checks are
// skipped only when every text operand of a complete input is ASCII.
func TestPresizeASCIIText(t *testing.T) {
	str := func(op byte, s string) string {
		return fmt.Sprintf("%02x%08x%x", op, len(s), s)
	}
	cases := []struct {
		name  string
		hex   string
		ascii bool
		err   error
	}{
		{"ascii text, binary bytes", str('N', "abcdefghijk") + str('A', "\xff\xfe") + "4000000002" + "51", true, nil},
		{"valid non-ascii text", str('N', "abc") + str('S', "é") + "4000000002" + "51", false, nil},
		{"invalid text after ascii text", str('N', "abcdefghijk") + str('N', "\xff") + "4000000002" + "51", false, ErrBadUTF8},
		{"invalid long text", str('N', "abcdefgh\xc3") + "51", false, ErrBadUTF8},
		{"truncated input", str('N', "abc") + "40000000", false, ErrTruncated},
	}
	for _, c := range cases {
		b := unhex(t, c.hex)
		sz, _, _ := presize(b, ChannelStrConfig, false, nil, nil)
		if sz.asciiText != c.ascii {
			t.Errorf("%s: asciiText %v, want %v", c.name, sz.asciiText, c.ascii)
		}
		_, err := Loads(b)
		if !errors.Is(err, c.err) && (err != nil || c.err != nil) {
			t.Errorf("%s: error %v, want %v", c.name, err, c.err)
		}
	}
}

// TestOrBytesASCII checks orBytes at every length up to 40 with a byte
// >= 0x80 at each position in turn, and with none.
func TestOrBytesASCII(t *testing.T) {
	for n := 0; n <= 40; n++ {
		p := make([]byte, n)
		for i := range p {
			p[i] = byte('a' + i%26)
		}
		if got := orBytes(p); got&0x8080808080808080 != 0 {
			t.Fatalf("len %d ASCII: orBytes = %#x, high bit set", n, got)
		}
		for i := range p {
			q := append([]byte(nil), p...)
			q[i] = 0x80 | byte(i)
			if got := orBytes(q); got&0x8080808080808080 == 0 {
				t.Fatalf("len %d, non-ASCII at %d: orBytes = %#x, high bits clear", n, i, got)
			}
		}
	}
}

// PresizeMax and PresizeWalk expose the presize walk to this package's
// external benchmarks (BenchmarkPresize in floor_bench_test.go), which can
// use the bench package's values.
const PresizeMax = presizeMax

// PresizeWalk walks enc as Loads does, reusing the walk's two slices.
func PresizeWalk(enc []byte, stack, items []int32) ([]int32, []int32) {
	_, stack, items = presize(enc, ChannelStrConfig, false, stack, items)
	return stack, items
}
