package bench

import (
	"context"
	"testing"
	"time"

	"github.com/execnet-conform/execnet-conform/internal/peers"
)

// BenchmarkTypedCompare prints CompareTyped's figures against CPython
// execnet: run with -benchtime=1x. The ratios (medians of per-round
// ratios) are the acceptance figures
// of typed Unmarshal and Marshal (speed-ups; above 1 is faster).
func BenchmarkTypedCompare(b *testing.B) {
	py := peers.CPython(b)
	for b.Loop() {
		rows, err := CompareTyped(context.Background(), map[string]string{"cpython": py}, 9, 100*time.Millisecond)
		if err != nil {
			b.Fatal(err)
		}
		for _, r := range rows {
			b.Logf("%s: Unmarshal %.0f ns (%.0f allocs), msgpack %.0f ns (%.0f allocs), CPython loads %.0f ns: %.2fx msgpack, %.1fx CPython",
				r.Value, r.UnmarshalNs, r.UnmarshalAllocs, r.MsgpackUnmarshalNs, r.MsgpackUnmarshalAllocs, r.PyLoadsNs["cpython"],
				r.UnmarshalVsMsgpack, r.UnmarshalVsPy["cpython"])
			b.Logf("%s: Marshal %.0f ns (%.0f allocs), msgpack %.0f ns (%.0f allocs), CPython dumps %.0f ns: %.2fx msgpack, %.1fx CPython",
				r.Value, r.MarshalNs, r.MarshalAllocs, r.MsgpackMarshalNs, r.MsgpackMarshalAllocs, r.PyDumpsNs["cpython"],
				r.MarshalVsMsgpack, r.MarshalVsPy["cpython"])
			b.ReportMetric(r.UnmarshalVsMsgpack, r.Value+"-unmarshal-x-msgpack")
			b.ReportMetric(r.UnmarshalVsPy["cpython"], r.Value+"-unmarshal-x-cpython")
			b.ReportMetric(r.MarshalVsMsgpack, r.Value+"-marshal-x-msgpack")
		}
	}
}

// TestCompareTyped runs CompareTyped with a tiny budget: every figure is
// measured and positive.
func TestCompareTyped(t *testing.T) {
	py := peers.CPython(t)
	rows, err := CompareTyped(context.Background(), map[string]string{"cpython": py}, 1, time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 {
		t.Fatalf("%d rows, want 2", len(rows))
	}
	for _, r := range rows {
		if r.UnmarshalNs <= 0 || r.MsgpackUnmarshalNs <= 0 || r.MarshalNs <= 0 || r.MsgpackMarshalNs <= 0 ||
			r.PyLoadsNs["cpython"] <= 0 || r.PyDumpsNs["cpython"] <= 0 {
			t.Errorf("%s: a figure is missing: %+v", r.Value, r)
		}
	}
}
