package codec_test

import (
	"testing"

	"github.com/execnet-conform/execnet-conform/bench"
	"github.com/execnet-conform/execnet-conform/reference/codec"
)

// BenchmarkLoadsFloor builds each benchmark value the way Loads builds
// it, from operands split ahead of time (codec.FloorPlan): the least time
// Loads could take in this value model. Compare it with BenchmarkLoads in
// the same run: go test ./reference/codec -run '^$' -bench 'Loads$|LoadsFloor'.
func BenchmarkLoadsFloor(b *testing.B) {
	for _, bv := range bench.Values() {
		plan, err := codec.NewFloorPlan(bv.Codec)
		if err != nil {
			continue // a kind the plan does not model (bytes-1m has nothing to build)
		}
		b.Run(bv.Name, func(b *testing.B) {
			enc, err := codec.Dumps(bv.Codec)
			if err != nil {
				b.Fatal(err)
			}
			if got, _ := plan.Build(); !codec.Identical(got, bv.Codec) {
				b.Fatalf("the plan builds %v, want %v", got, bv.Codec)
			}
			b.SetBytes(int64(len(enc)))
			b.ReportAllocs()
			var sum uint64
			for b.Loop() {
				_, h := plan.Build()
				sum += h
			}
			if sum == 1 {
				b.Log(sum) // keeps the key hashing live
			}
		})
	}
}

// BenchmarkPresize times the presize walk alone on the benchmark values
// that Loads walks (those up to codec.PresizeMax bytes).
func BenchmarkPresize(b *testing.B) {
	for _, bv := range bench.Values() {
		enc, err := codec.Dumps(bv.Codec)
		if err != nil {
			b.Fatal(err)
		}
		if len(enc) > codec.PresizeMax {
			continue
		}
		b.Run(bv.Name, func(b *testing.B) {
			b.SetBytes(int64(len(enc)))
			var stack, items []int32
			for b.Loop() {
				stack, items = codec.PresizeWalk(enc, stack, items)
			}
		})
	}
}
