package codec_test

import (
	"reflect"
	"testing"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/execnet-conform/execnet-conform/bench"
	"github.com/execnet-conform/execnet-conform/reference/codec"
)

// typedBench runs op on each typed benchmark record (the 1 KiB dict and
// the reports as Go structs).
func typedBench(b *testing.B, op func(b *testing.B, tv bench.TypedValue, wire, mp []byte)) {
	for _, tv := range bench.TypedValues() {
		b.Run(tv.Name, func(b *testing.B) {
			wire, err := codec.Marshal(tv.Ptr)
			if err != nil {
				b.Fatal(err)
			}
			mp, err := msgpack.Marshal(tv.Ptr)
			if err != nil {
				b.Fatal(err)
			}
			op(b, tv, wire, mp)
		})
	}
}

func BenchmarkUnmarshal(b *testing.B) {
	typedBench(b, func(b *testing.B, tv bench.TypedValue, wire, _ []byte) {
		measure(b, func() error { return codec.Unmarshal(wire, tv.New()) })
	})
}

func BenchmarkMsgpackUnmarshalStruct(b *testing.B) {
	typedBench(b, func(b *testing.B, tv bench.TypedValue, _, mp []byte) {
		measure(b, func() error { return msgpack.Unmarshal(mp, tv.New()) })
	})
}

func BenchmarkMarshal(b *testing.B) {
	typedBench(b, func(b *testing.B, tv bench.TypedValue, _, _ []byte) {
		measure(b, func() error { _, err := codec.Marshal(tv.Ptr); return err })
	})
}

func BenchmarkMsgpackMarshalStruct(b *testing.B) {
	typedBench(b, func(b *testing.B, tv bench.TypedValue, _, _ []byte) {
		measure(b, func() error { _, err := msgpack.Marshal(tv.Ptr); return err })
	})
}

// TestTypedRecords: the typed records decode from the codec values' wire
// form, encode back to a value PyEqual to it, and the fast path and the
// general path agree.
func TestTypedRecords(t *testing.T) {
	for _, v := range bench.Values() {
		var tv *bench.TypedValue
		for _, x := range bench.TypedValues() {
			if x.Name == v.Name {
				tv = &x
			}
		}
		if tv == nil {
			continue
		}
		wire, err := codec.Dumps(v.Codec)
		if err != nil {
			t.Fatal(err)
		}
		out, err := codec.Marshal(tv.Ptr)
		if err != nil {
			t.Fatal(err)
		}
		// The keywords map has no fixed order: compare as plain Go values.
		var got, want any
		if err := codec.Unmarshal(out, &got); err != nil {
			t.Fatal(err)
		}
		if err := codec.Unmarshal(wire, &want); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: Marshal gives %v\nwant %v", v.Name, got, want)
		}
		fast, slow := tv.New(), tv.New()
		if err := codec.Unmarshal(wire, fast); err != nil {
			t.Fatal(err)
		}
		if err := codec.UnmarshalSlow(wire, slow); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(fast, slow) || !reflect.DeepEqual(fast, tv.Ptr) {
			t.Errorf("%s: fast %+v\nslow %+v", v.Name, fast, slow)
		}
	}
}
