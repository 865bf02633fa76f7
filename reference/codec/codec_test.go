package codec

import (
	"bytes"
	"encoding/hex"
	"errors"
	"math"
	"math/big"
	"strings"
	"testing"
)

func mustDict(t testing.TB, kv ...Value) *Dict {
	t.Helper()
	d := &Dict{}
	for i := 0; i < len(kv); i += 2 {
		if err := d.Set(kv[i], kv[i+1]); err != nil {
			t.Fatal(err)
		}
	}
	return d
}

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

// golden holds wire forms produced by real execnet 1.9 dumps_internal
// (see /work/shared/execnet-facts.md section 2; re-checked against the
// installed execnet by TestDumpsMatchesExecnet).
func golden(t testing.TB) []struct {
	v   Value
	hex string
} {
	two63, _ := new(big.Int).SetString("9223372036854775808", 10)
	return []struct {
		v   Value
		hex string
	}{
		{None{}, "4c51"},
		{Bool(true), "5251"},
		{Bool(false), "4351"},
		{Int(0), "460000000051"},
		{Int(-1), "46ffffffff51"},
		{Int(255), "46000000ff51"},
		{Int(2147483647), "467fffffff51"},
		{Int(-2147483648), "468000000051"},
		{Int(2147483648), "480000000a" + hex.EncodeToString([]byte("2147483648")) + "51"},
		{NewBigInt(two63), "4800000013" + hex.EncodeToString([]byte("9223372036854775808")) + "51"},
		{Float(1.5), "443ff800000000000051"},
		{Float(math.Copysign(0, -1)), "44800000000000000051"},
		{Float(math.Inf(1)), "447ff000000000000051"},
		{Complex(complex(1, -2)), "543ff0000000000000c00000000000000051"},
		{Bytes(""), "410000000051"},
		{Bytes("ab\x00"), "4100000003616200" + "51"},
		{Str(""), "4e0000000051"},
		{Str("hi"), "4e00000002686951"},
		{Str("é"), "4e00000002c3a951"},
		{Str("😀"), "4e00000004f09f988051"},
		{Tuple{}, "400000000051"},
		{Tuple{Int(1)}, "4600000001400000000151"},
		{Tuple{Int(1), Int(2)}, "46000000014600000002400000000251"},
		{List{}, "4b0000000051"},
		{List{None{}}, "4b0000000146000000004c5051"},
		{List{Int(1), Str("a")}, "4b00000002460000000046000000015046000000014e00000001615051"},
		{&Dict{}, "4a51"},
		{mustDict(t, Str("a"), Int(1)), "4a4e0000000161460000000150" + "51"},
		{mustDict(t, Int(1), List{Int(2)}), "4a46000000014b000000014600000000460000000250" + "5051"},
		{Set{}, "4f0000000051"},
		{Set{Int(5)}, "46000000054f0000000151"},
		{FrozenSet{Int(7)}, "4600000007450000000151"},
		{ChannelRef(1), "420000000151"},
		{Tuple{Str("x"), None{}, None{}, &Dict{}}, "4e00000001784c4c4a400000000451"},
	}
}

func TestGoldenRoundTrip(t *testing.T) {
	for _, g := range golden(t) {
		want := unhex(t, g.hex)
		got, err := Dumps(g.v)
		if err != nil {
			t.Errorf("Dumps(%s): %v", Repr(g.v), err)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("Dumps(%s) = %x, want %x", Repr(g.v), got, want)
		}
		back, err := Loads(want)
		if err != nil {
			t.Errorf("Loads(%x): %v", want, err)
			continue
		}
		if !Identical(back, g.v) {
			t.Errorf("Loads(%x) = %s, want %s", want, Repr(back), Repr(g.v))
		}
		ver, err := DumpsVersioned(g.v, 2)
		if err != nil || ver[0] != 2 || !bytes.Equal(ver[1:], want) {
			t.Errorf("DumpsVersioned(%s, 2) = %x, %v", Repr(g.v), ver, err)
		}
	}
}

func TestDumpsNegativeBelowInt32UsesLongInt(t *testing.T) {
	got, err := Dumps(Int(-2147483649))
	if err != nil {
		t.Fatal(err)
	}
	want := append(append([]byte{'H', 0, 0, 0, 11}, "-2147483649"...), 'Q')
	if !bytes.Equal(got, want) {
		t.Fatalf("got %x want %x", got, want)
	}
}

func TestDecodeErrors(t *testing.T) {
	cases := []struct {
		name string
		hex  string
		err  error
		off  int
	}{
		{"empty", "", ErrTruncated, 0},
		{"no stop", "4c", ErrTruncated, 1},
		{"short int", "460000", ErrTruncated, 0},
		{"short float", "44000000", ErrTruncated, 0},
		{"short complex", "54" + strings.Repeat("00", 15), ErrTruncated, 0},
		{"string past end", "4e0000000561", ErrTruncated, 0},
		{"negative length", "4effffffff51", ErrNegativeLength, 0},
		{"unknown opcode", "5551", ErrUnknownOpcode, 0},
		{"unknown low", "3f51", ErrUnknownOpcode, 0},
		{"stop empty", "51", ErrStopStack, 0},
		{"stop two", "4c4c51", ErrStopStack, 2},
		{"setitem underflow", "4a4c50", ErrStackUnderflow, 2},
		{"tuple underflow", "4c400000000251", ErrStackUnderflow, 1},
		{"set negative", "4f8000000051", ErrNegativeLength, 0},
		{"bad decimal", "4800000003312b3251", ErrBadInteger, 0},
		{"decimal space", "4800000003203151", ErrBadInteger, 0},
		{"decimal empty", "480000000051", ErrBadInteger, 0},
		{"decimal dash", "48000000012d51", ErrBadInteger, 0},
		{"bad utf8", "4e00000001ff51", ErrBadUTF8, 0},
		{"bad utf8 S", "5300000002c3" + "2851", ErrBadUTF8, 0},
		{"surrogate", "4e00000003eda08051", ErrBadUTF8, 0},
		{"unhashable key", "4a4b000000004c5051", ErrUnhashable, 7},
		{"unhashable set", "4b000000004f0000000151", ErrUnhashable, 5},
		{"index range", "4b000000014600000001" + "4c5051", ErrIndexRange, 0 + 17 - 17 + 11},
		{"index negative", "4b0000000146ffffffff" + "4c5051", ErrIndexRange, 11},
		{"not container", "4c4c4c5051", ErrNotContainer, 3},
		{"setitem tuple", "400000000046000000004c5051", ErrNotContainer, 11},
		{"hostile list", "4b7fffffff51", ErrLimit, 0},
		{"lists beyond input", "4b00000009" + "4b00000009" + "4000000002" + "51", ErrLimit, 5},
		{"hostile bytes", "417fffffff51", ErrTruncated, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v, err := Loads(unhex(t, c.hex))
			if !errors.Is(err, c.err) {
				t.Fatalf("Loads(%s) = %v, %v; want %v", c.hex, v, err, c.err)
			}
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("error %T is not *DecodeError", err)
			}
			if de.Offset != c.off {
				t.Errorf("offset %d, want %d (%v)", de.Offset, c.off, err)
			}
			if !strings.Contains(err.Error(), "offset") {
				t.Errorf("message %q lacks offset", err)
			}
		})
	}
}

func TestIdenticalLargeSets(t *testing.T) {
	var a, b Set
	for i := 0; i < 5000; i++ {
		a = append(a, Int(i))
		b = append(b, Int(4999-i))
	}
	b[17] = Float(4999 - 17) // equal under ==, not Identical
	if Identical(a, b) {
		t.Fatal("Int and Float elements compared Identical")
	}
	b[17] = Int(4999 - 17)
	if !Identical(a, b) {
		t.Fatal("reordered sets not Identical")
	}
	if !PyEqual(Int(1), Float(1)) || PyEqual(Int(1), Str("1")) || PyEqual(Bytes("a"), Str("a")) {
		t.Fatal("PyEqual across kinds")
	}
}
