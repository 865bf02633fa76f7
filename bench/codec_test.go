package bench

import (
	"testing"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/execnet-conform/execnet-conform/reference/codec"
)

func BenchmarkDumps(b *testing.B) {
	for _, v := range Values() {
		wire, err := codec.Dumps(v.Codec)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(v.Name+"/go", func(b *testing.B) {
			b.SetBytes(int64(len(wire)))
			b.ReportAllocs()
			buf := make([]byte, 0, len(wire))
			for b.Loop() {
				buf, _ = codec.AppendDumps(buf[:0], v.Codec)
			}
		})
		b.Run(v.Name+"/msgpack", func(b *testing.B) {
			b.SetBytes(int64(len(wire)))
			b.ReportAllocs()
			for b.Loop() {
				_, _ = msgpack.Marshal(v.Native)
			}
		})
	}
}

func BenchmarkLoads(b *testing.B) {
	for _, v := range Values() {
		wire, err := codec.Dumps(v.Codec)
		if err != nil {
			b.Fatal(err)
		}
		enc, _ := msgpack.Marshal(v.Native)
		b.Run(v.Name+"/go", func(b *testing.B) {
			b.SetBytes(int64(len(wire)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := codec.Loads(wire); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(v.Name+"/msgpack", func(b *testing.B) {
			b.SetBytes(int64(len(wire)))
			b.ReportAllocs()
			for b.Loop() {
				var out any
				if err := msgpack.Unmarshal(enc, &out); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestValuesRoundTrip checks that the benchmark values are valid and that
// Python execnet reads our bytes back identically (the script warns
// otherwise), so the comparison measures the same work.
func TestValuesRoundTrip(t *testing.T) {
	for _, v := range Values() {
		w, err := codec.Dumps(v.Codec)
		if err != nil {
			t.Fatalf("%s: %v", v.Name, err)
		}
		back, err := codec.Loads(w)
		if err != nil {
			t.Fatalf("%s: %v", v.Name, err)
		}
		if !codec.Identical(back, v.Codec) {
			t.Fatalf("%s: round trip differs", v.Name)
		}
	}
}
