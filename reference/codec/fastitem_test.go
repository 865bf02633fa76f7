package codec

import (
	"errors"
	"testing"

	"github.com/execnet-conform/execnet-conform/spec"
)

// TestFastItemErrors checks that key, value, SETITEM triples that the
// decoder stores without the stack fail exactly as the stack machine
// does: same sentinel, same opcode, same offset.
func TestFastItemErrors(t *testing.T) {
	cases := []struct {
		name   string
		hex    string
		maxEl  int
		err    error
		offset int
		op     spec.Opcode
	}{
		// NEWDICT, PY3STRING "\xff", INT 1, SETITEM, STOP
		{"bad utf-8 key", "4a" + "4e00000001ff" + "4600000001" + "50" + "51", 0, ErrBadUTF8, 1, spec.OpPy3String},
		// NEWDICT, PY3STRING "a", PY3STRING "\xff", SETITEM, STOP
		{"bad utf-8 value", "4a" + "4e0000000161" + "4e00000001ff" + "50" + "51", 0, ErrBadUTF8, 7, spec.OpPy3String},
		// NEWLIST 1, INT 1, NONE, SETITEM, STOP
		{"index past the end", "4b00000001" + "4600000001" + "4c" + "50" + "51", 0, ErrIndexRange, 11, spec.OpSetItem},
		// NEWLIST 1, INT -1, NONE, SETITEM, STOP
		{"negative index", "4b00000001" + "46ffffffff" + "4c" + "50" + "51", 0, ErrIndexRange, 11, spec.OpSetItem},
		// NEWDICT, PY3STRING "a", INT 1, SETITEM, STOP with 2 elements allowed
		{"MaxElements at the value", "4a" + "4e0000000161" + "4600000001" + "50" + "51", 2, ErrLimit, 7, spec.OpInt},
		// the same with 1 element allowed: the key is one too many
		{"MaxElements at the key", "4a" + "4e0000000161" + "4600000001" + "50" + "51", 1, ErrLimit, 1, spec.OpPy3String},
		// NEWLIST 1, INT 0, INT 7, SETITEM, STOP with 3 elements allowed (list, its slot, index)
		{"MaxElements at a list value", "4b00000001" + "4600000000" + "4600000007" + "50" + "51", 3, ErrLimit, 10, spec.OpInt},
		// NEWDICT, UNICODE "\xff", FLOAT 0, SETITEM, STOP
		{"bad utf-8 unicode key", "4a" + "5300000001ff" + "440000000000000000" + "50" + "51", 0, ErrBadUTF8, 1, spec.OpUnicode},
		// NEWDICT, UNICODE "a", FLOAT 0, SETITEM, STOP with 2 elements allowed
		{"MaxElements at a float value", "4a" + "5300000001" + "61" + "440000000000000000" + "50" + "51", 2, ErrLimit, 7, spec.OpFloat},
		// NEWDICT, PY3STRING "a", TRUE, SETITEM, STOP with 2 elements allowed
		{"MaxElements at a bool value", "4a" + "4e0000000161" + "52" + "50" + "51", 2, ErrLimit, 7, spec.OpTrue},
		// NEWDICT, PY3STRING "a", PY3STRING "b", SETITEM, STOP with 2 elements allowed
		{"MaxElements at a str value", "4a" + "4e0000000161" + "4e0000000162" + "50" + "51", 2, ErrLimit, 7, spec.OpPy3String},
		// NEWDICT, PY3STRING "a", FLOAT cut short, then input ends
		{"truncated float value", "4a" + "4e0000000161" + "44000000", 0, ErrTruncated, 7, spec.OpFloat},
		// NEWDICT, PY3STRING "\xff", INT cut short: the key's error comes first
		{"bad key before truncated value", "4a" + "4e00000001ff" + "460000", 0, ErrBadUTF8, 1, spec.OpPy3String},
		// NEWDICT, PY3STRING "a", INT 1, NONE (not SETITEM), then STOP: the stack holds 4
		{"no SETITEM after the value", "4a" + "4e0000000161" + "4600000001" + "4c" + "51", 0, ErrStopStack, 13, spec.OpStop},
		// NEWDICT, PY3STRING "a", NEWLIST 0, SETITEM, STOP with 2 elements allowed: the key
		// (pushed with its hash) is the second element, the list the third
		{"MaxElements at a list value", "4a" + "4e0000000161" + "4b00000000" + "50" + "51", 2, ErrLimit, 7, spec.OpNewList},
		{"MaxElements at the key of a list value", "4a" + "4e0000000161" + "4b00000000" + "50" + "51", 1, ErrLimit, 1, spec.OpPy3String},
		// NEWDICT, PY3STRING "\xff", NEWLIST 0, SETITEM, STOP
		{"bad utf-8 key of a list value", "4a" + "4e00000001ff" + "4b00000000" + "50" + "51", 0, ErrBadUTF8, 1, spec.OpPy3String},
		// NEWDICT, PY3STRING "a", INT 1, INT 2, SETITEM: the target is the key, a str
		{"store into a pushed key", "4a" + "4e0000000161" + "4600000001" + "4600000002" + "50" + "51", 0, ErrNotContainer, 17, spec.OpSetItem},
		// NEWDICT, PY3STRING "a", INT 1, SETITEM, PY3STRING "b", then input ends
		{"truncated after a triple", "4a" + "4e0000000161" + "4600000001" + "50" + "4e0000000162", 0, ErrTruncated, 19, 0},
	}
	for _, c := range cases {
		d := Decoder{StrConfig: ChannelStrConfig}
		if c.maxEl > 0 {
			d.Limits.MaxElements = c.maxEl
		}
		_, _, err := d.Loads(unhex(t, c.hex))
		var de *DecodeError
		if !errors.As(err, &de) || !errors.Is(err, c.err) || de.Offset != c.offset || de.Op != c.op {
			t.Errorf("%s: got %v, want %v at offset %d (op %v)", c.name, err, c.err, c.offset, c.op)
		}
	}
}

// TestFastItemValues checks values built partly by the fast path and
// partly by the stack machine: repeated keys of every kind, containers
// between scalar items, and list stores around nested lists.
func TestFastItemValues(t *testing.T) {
	inner := List{Int(1), Str("two"), List{Int(3)}, Float(4.5)}
	d, err := NewDict(
		Item{Str("a"), Int(1)},
		Item{Str("l"), inner},
		Item{Int(7), Bytes("x")},
		Item{Tuple{Int(1)}, None{}},
		Item{Float(2.5), Bool(true)},
		Item{Str("z"), Int(100000)},
	)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Dumps(d)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Loads(b)
	if err != nil || !Identical(got, d) {
		t.Fatalf("Loads = %s, %v; want %s", Repr(got), err, Repr(d))
	}
	// NEWDICT, then "k": 1, 1.0 (FLOAT): 2, "k": 3, True: 4, SETITEMs: a
	// dict {"k": 3, 1: 4} as Python builds it.
	hex := "4a" + "4e000000016b" + "4600000001" + "50" +
		"443ff0000000000000" + "4600000002" + "50" +
		"4e000000016b" + "4600000003" + "50" +
		"52" + "4600000004" + "50" + "51"
	got, err = Loads(unhex(t, hex))
	if err != nil {
		t.Fatal(err)
	}
	items := got.(*Dict).Items()
	if len(items) != 2 || !Identical(items[0].Key, Str("k")) || !Identical(items[0].Value, Int(3)) ||
		!Identical(items[1].Key, Float(1)) || !Identical(items[1].Value, Int(4)) {
		t.Fatalf("repeated keys: got %s, want {'k': 3, 1.0: 4}", Repr(got))
	}
}
