package cases

// Cases for the decoder paths that the mutation harness (go run
// ./tools/mutate, testdata/mutation/report.md) found no case exercising:
// dicts of 8 or more keys, repeated keys in large dicts, items that follow
// a container or an int inside a dict or list, keys holding opcode
// letters, and malformed or cut-short input in those positions. A decoder
// with fast paths for dict and list items (as the reference codec has) can
// go wrong in each of them while every smaller vector still passes.

import (
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/execnet-conform/execnet-conform/conformance"
	"github.com/execnet-conform/execnet-conform/conformance/profile"
	"github.com/execnet-conform/execnet-conform/reference/codec"
	"github.com/execnet-conform/execnet-conform/spec"
)

// wire builds a hand-made wire-form payload: each part is an opcode alone
// (spec.Opcode), an opcode with an int32 operand (opN), an opcode with a
// length-prefixed blob (opBlob), or raw bytes ([]byte).
func wire(parts ...any) []byte {
	var b []byte
	for _, p := range parts {
		switch x := p.(type) {
		case spec.Opcode:
			b = append(b, byte(x))
		case []byte:
			b = append(b, x...)
		default:
			panic(fmt.Sprintf("wire: part of type %T", p))
		}
	}
	return b
}

// opN is op followed by the big-endian int32 n.
func opN(op spec.Opcode, n int32) []byte {
	return binary.BigEndian.AppendUint32([]byte{byte(op)}, uint32(n))
}

// opBlob is op followed by the length of data and data.
func opBlob(op spec.Opcode, data string) []byte {
	return append(opN(op, int32(len(data))), data...)
}

// strKeys returns a dict of n str keys "k0".."k(n-1)" with int values.
func strKeys(n int) func() codec.Value {
	return func() codec.Value {
		kv := make([]codec.Value, 0, 2*n)
		for i := 0; i < n; i++ {
			kv = append(kv, codec.Str(fmt.Sprintf("k%d", i)), codec.Int(i))
		}
		return mkDict(kv...)
	}
}

// dictGapValues are data-model values for serialCases (echo, dumps and
// loads) that take the decoder paths of larger and nested dicts.
func dictGapValues() []serialValue {
	n := func(name string, f func() codec.Value) serialValue {
		return serialValue{name: name, clauses: []string{cSerDict, cSerDictOrder, "SER-SM-7", "SER-SM-12"}, build: f}
	}
	return []serialValue{
		// A decoder that indexes a dict's keys once it holds 8 or more
		// (as CPython does, and the reference codec) takes a path that
		// no smaller dict reaches.
		n("dict/many-str-keys-10", strKeys(10)),
		n("dict/many-str-keys-100", strKeys(100)),
		n("dict/key-with-opcode-bytes", func() codec.Value {
			return mkDict(codec.Str("Pxxxx"), codec.Int(1), codec.Str("aPcdef"), codec.Int(7),
				codec.Str("ABCDEFGHIJKLMNOPQRST"), codec.Str("QQQQ"), codec.Str("N\x00\x00\x00\x01"), codec.Str("J"))
		}),
		n("dict/nested-int-last", func() codec.Value {
			return mkDict(codec.Str("a"), mkDict(codec.Str("b"), codec.Int(1)))
		}),
		n("dict/nested-in-list-int-last", func() codec.Value {
			return mkDict(codec.Str("a"), codec.List{mkDict(codec.Str("b"), codec.Int(1))})
		}),
		n("dict/bytes-values", func() codec.Value {
			return mkDict(codec.Str("a"), codec.Bytes("x"), codec.Str("b"), codec.Bytes("\xff"))
		}),
		n("dict/long-values", func() codec.Value {
			return mkDict(codec.Str("a"), codec.Str(strings.Repeat("x", 30)), codec.Str("b"), codec.Bytes(strings.Repeat("y", 300)))
		}),
		n("dict/int-and-float-keys", func() codec.Value {
			// 10 and 9.0 differ: a decoder that compares an int key with a
			// float key by the wrong value would merge them.
			return mkDict(codec.Int(10), codec.Str("a"), codec.Float(9.0), codec.Str("b"))
		}),
	}
}

// dupDict builds a dict payload from keys and values in wire order
// (repeats included) and the value it must decode to: one entry per key,
// at its first position, with the last value given (DM-DICT-2).
func dupDict(t *conformance.T, kv ...codec.Value) ([]byte, codec.Value) {
	b := []byte{byte(spec.OpNewDict)}
	var items []codec.Item
	pos := map[string]int{}
	for i := 0; i+1 < len(kv); i += 2 {
		k, v := kv[i], kv[i+1]
		kb := mustDumps(t, k)
		vb := mustDumps(t, v)
		b = append(b, kb[:len(kb)-1]...) // without STOP
		b = append(b, vb[:len(vb)-1]...)
		b = append(b, byte(spec.OpSetItem))
		h, err := codec.HashKey(k)
		if err != nil {
			t.Fatalf("suite bug: %v", err)
		}
		if p, ok := pos[h]; ok {
			items[p].Value = v
			continue
		}
		pos[h] = len(items)
		items = append(items, codec.Item{Key: k, Value: v})
	}
	return append(b, byte(spec.OpStop)), mustDict(t, items...)
}

func codecGapCases() []conformance.Case {
	var cs []conformance.Case
	dup := func(name, desc string, build func(t *conformance.T) ([]byte, codec.Value)) conformance.Case {
		return conformance.Case{
			ID:          "vectors/dict/" + name + "/decode",
			Clauses:     []string{cProfLoads, "DM-DICT-2", "SER-SM-14", cSerDict, cSerUnique},
			Level:       conformance.MUST,
			Description: "conform_loads of " + desc + " gives one entry per key, at its first position, with the last value; the reply's bytes are compared",
			Run: func(t *conformance.T) {
				b, want := build(t)
				ch, f := execLoads(t, b)
				what := "conform_loads of " + desc
				got := decodeReply(t, f, what)
				checkIdentical(t, what, want, got, f.Payload)
				closeChannel(t, ch)
			},
		}
	}
	cs = append(cs,
		dup("duplicate-str-large", "a dict of 200 str keys with 200-byte values, each key given twice (over 64 KiB)",
			func(t *conformance.T) ([]byte, codec.Value) {
				var kv []codec.Value
				for pass := 0; pass < 2; pass++ {
					for i := 0; i < 200; i++ {
						kv = append(kv, codec.Str(fmt.Sprintf("key%03d", i)), codec.Str(strings.Repeat(string(rune('a'+pass)), 200)))
					}
				}
				return dupDict(t, kv...)
			}),
		dup("duplicate-str-among-10", "a dict of 10 str keys, the third given again last",
			func(t *conformance.T) ([]byte, codec.Value) {
				var kv []codec.Value
				for i := 0; i < 10; i++ {
					kv = append(kv, codec.Str(fmt.Sprintf("k%d", i)), codec.Int(i))
				}
				kv = append(kv, codec.Str("k2"), codec.Str("last"))
				return dupDict(t, kv...)
			}),
		dup("duplicate-10-10.0", "{10: 'a', 10.0: 'b'}",
			func(t *conformance.T) ([]byte, codec.Value) {
				return dupDict(t, codec.Int(10), codec.Str("a"), codec.Float(10.0), codec.Str("b"))
			}),
	)

	// Malformed input in the positions a fast item path handles: after a
	// container or an int inside a dict or list, inside a longer text, and
	// cut short right after a dict item's key or inside its value.
	bad := "\xff"
	// live marks the inputs also sent as DATA to a running conform_echo
	// (the paths the report names; each such case waits out a Python
	// worker's grace period, about 5 s).
	rejects := []struct {
		name, class, why string
		input            []byte
		live             bool
	}{
		{"utf8/after-container-value", "BadUTF8", "{'a': [], 'b': <PY3STRING ff>}",
			wire(spec.OpNewDict, opBlob(spec.OpPy3String, "a"), opN(spec.OpNewList, 0), spec.OpSetItem,
				opBlob(spec.OpPy3String, "b"), opBlob(spec.OpPy3String, bad), spec.OpSetItem, spec.OpStop), true},
		{"utf8/key-after-container-value", "BadUTF8", "{'a': [0, 1], <PY3STRING ff>: 1}",
			wire(spec.OpNewDict, opBlob(spec.OpPy3String, "a"),
				opN(spec.OpNewList, 2), opN(spec.OpInt, 0), opN(spec.OpInt, 0), spec.OpSetItem, opN(spec.OpInt, 1), opN(spec.OpInt, 1), spec.OpSetItem,
				spec.OpSetItem, opBlob(spec.OpPy3String, bad), opN(spec.OpInt, 1), spec.OpSetItem, spec.OpStop), false},
		{"utf8/in-list", "BadUTF8", "[<PY3STRING ff>]",
			wire(opN(spec.OpNewList, 1), opN(spec.OpInt, 0), opBlob(spec.OpPy3String, bad), spec.OpSetItem, spec.OpStop), true},
		{"utf8/after-int-337-in-list", "BadUTF8", "[337, <PY3STRING ff>]",
			wire(opN(spec.OpNewList, 2), opN(spec.OpInt, 0), opN(spec.OpInt, 337), spec.OpSetItem,
				opN(spec.OpInt, 1), opBlob(spec.OpPy3String, bad), spec.OpSetItem, spec.OpStop), false},
		{"utf8/after-int-337-in-dict", "BadUTF8", "{'a': 337, 'b': <PY3STRING ff>}",
			wire(spec.OpNewDict, opBlob(spec.OpPy3String, "a"), opN(spec.OpInt, 337), spec.OpSetItem,
				opBlob(spec.OpPy3String, "b"), opBlob(spec.OpPy3String, bad), spec.OpSetItem, spec.OpStop), true},
		{"utf8/middle-of-16-bytes", "BadUTF8", "PY3STRING 'abcdefgh\\xffijklmnop'",
			wire(opBlob(spec.OpPy3String, "abcdefgh\xffijklmnop"), spec.OpStop), false},
		{"utf8/middle-of-16-bytes-in-dict", "BadUTF8", "{'a': PY3STRING 'abcdefgh\\xffijklmnop'}",
			wire(spec.OpNewDict, opBlob(spec.OpPy3String, "a"), opBlob(spec.OpPy3String, "abcdefgh\xffijklmnop"), spec.OpSetItem, spec.OpStop), true},
		{"truncated/dict-after-none", "Truncated", "NEWDICT, 'a', NONE and nothing more",
			wire(spec.OpNewDict, opBlob(spec.OpPy3String, "a"), spec.OpNone), true},
		{"truncated/dict-after-true", "Truncated", "NEWDICT, 'a', TRUE and nothing more",
			wire(spec.OpNewDict, opBlob(spec.OpPy3String, "a"), spec.OpTrue), false},
		{"truncated/dict-after-false", "Truncated", "NEWDICT, 'a', FALSE and nothing more",
			wire(spec.OpNewDict, opBlob(spec.OpPy3String, "a"), spec.OpFalse), false},
		{"truncated/dict-value-length", "Truncated", "NEWDICT, 'a', PY3STRING and 2 bytes of its length",
			wire(spec.OpNewDict, opBlob(spec.OpPy3String, "a"), spec.OpPy3String, []byte{0, 0}), true},
		{"truncated/dict-value-beyond-input", "Truncated", "NEWDICT, 'a', PY3STRING of length 10 followed by only 5 bytes, SETITEM and STOP",
			wire(spec.OpNewDict, opBlob(spec.OpPy3String, "a"), opN(spec.OpPy3String, 10), []byte("abcde"), spec.OpSetItem, spec.OpStop), true},
		{"truncated/unicode-one-short", "Truncated", "UNICODE of length 4 with 'abc' and STOP",
			wire(opN(spec.OpUnicode, 4), []byte("abc"), spec.OpStop), false},
		// The input ends with the text: a decoder that checks the declared
		// length against one byte more than is left reads past the input.
		{"truncated/unicode-one-short-at-end", "Truncated", "UNICODE of length 4 with only 'abc' and nothing more",
			wire(opN(spec.OpUnicode, 4), []byte("abc")), false},
		{"truncated/py3string-one-short-at-end", "Truncated", "PY3STRING of length 4 with only 'abc' and nothing more",
			wire(opN(spec.OpPy3String, 4), []byte("abc")), false},
		{"integer/malformed-longint-in-dict", "BadInteger", "{'a': LONGINT '1x'}",
			wire(spec.OpNewDict, opBlob(spec.OpPy3String, "a"), opBlob(spec.OpLongInt, "1x"), spec.OpSetItem, spec.OpStop), false},
	}
	for _, r := range rejects {
		r := r
		cs = append(cs, conformance.Case{
			ID:          "vectors/reject/" + r.name,
			Clauses:     sortedClauses(dedupe([]string{cProfLoads, cDecErrors, "ERR-GEN-3", errorClassClause[r.class]})),
			Level:       conformance.MUST,
			Description: "conform_loads rejects " + r.why + " with " + r.class,
			Timeout:     decodeTimeout,
			Run: func(t *conformance.T) {
				checkRejected(t, r.why, r.input, r.class)
			},
		})
		if !r.live {
			continue
		}
		cs = append(cs, conformance.Case{
			ID:          "robustness/payload/" + r.name + "-on-live-channel",
			Clauses:     []string{cRobBadPayload, cDecErrors, "ERR-GEN-3"},
			Level:       conformance.MUST,
			Description: "undecodable data (" + r.why + ") on a live channel: the target ends the connection or reports an error",
			Timeout:     robustTimeout,
			Run: func(t *conformance.T) {
				ch := t.Exec(profile.Echo)
				t.Send(dataFrame(ch, r.input))
				t.ExpectEndOrError()
			},
		})
	}
	return cs
}
