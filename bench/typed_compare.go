package bench

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/execnet-conform/execnet-conform/reference/codec"
)

// TypedRow compares typed Marshal and Unmarshal of one record (a Go
// struct) with msgpack/v5 on the same struct and with Python execnet's
// dumps/loads of the same wire bytes. Times are medians over the rounds
// of CompareTyped, in ns per call; allocations are per call.
type TypedRow struct {
	Value                  string             `json:"value"`
	UnmarshalNs            float64            `json:"unmarshal_ns"`
	MsgpackUnmarshalNs     float64            `json:"msgpack_unmarshal_ns"`
	MarshalNs              float64            `json:"marshal_ns"`
	MsgpackMarshalNs       float64            `json:"msgpack_marshal_ns"`
	UnmarshalAllocs        float64            `json:"unmarshal_allocs"`
	MsgpackUnmarshalAllocs float64            `json:"msgpack_unmarshal_allocs"`
	MarshalAllocs          float64            `json:"marshal_allocs"`
	MsgpackMarshalAllocs   float64            `json:"msgpack_marshal_allocs"`
	PyLoadsNs              map[string]float64 `json:"py_loads_ns"` // by interpreter name
	PyDumpsNs              map[string]float64 `json:"py_dumps_ns"`
	// Speed-ups, each the median over rounds of that round's ratio (the
	// other's time over ours), which a load that changes between rounds
	// disturbs less than a ratio of medians.
	UnmarshalVsMsgpack float64            `json:"unmarshal_vs_msgpack"`
	MarshalVsMsgpack   float64            `json:"marshal_vs_msgpack"`
	UnmarshalVsPy      map[string]float64 `json:"unmarshal_vs_py"`
	MarshalVsPy        map[string]float64 `json:"marshal_vs_py"`
}

// timeOp returns the time per call of op, run for about budget.
func timeOp(op func() error, budget time.Duration) (float64, error) {
	n := 1
	for {
		start := time.Now()
		for i := 0; i < n; i++ {
			if err := op(); err != nil {
				return 0, err
			}
		}
		el := time.Since(start)
		if el >= budget || n >= 1<<30 {
			return float64(el.Nanoseconds()) / float64(n), nil
		}
		if el < budget/100 {
			n *= 10
		} else {
			n = int(float64(n)*float64(budget)/float64(el)) + 1
		}
	}
}

// CompareTyped measures, in rounds interleaved in one process, typed
// Unmarshal and Marshal of TypedValues against msgpack/v5 on the same
// structs, and against execnet's loads and dumps of the same bytes in
// each of pythons (name → interpreter), and returns the medians.
func CompareTyped(ctx context.Context, pythons map[string]string, rounds int, budget time.Duration) ([]TypedRow, error) {
	tvs := TypedValues()
	type series struct{ un, mun, ma, mma []float64 }
	ser := make([]series, len(tvs))
	wires := make([][]byte, len(tvs))
	mps := make([][]byte, len(tvs))
	rows := make([]TypedRow, len(tvs))
	py := map[string][]*PyCodecReport{}
	var wvs []WireValue
	for i, tv := range tvs {
		w, err := codec.Marshal(tv.Ptr)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", tv.Name, err)
		}
		m, err := msgpack.Marshal(tv.Ptr)
		if err != nil {
			return nil, err
		}
		wires[i], mps[i] = w, m
		wvs = append(wvs, WireValue{tv.Name, w})
		rows[i] = TypedRow{Value: tv.Name, PyLoadsNs: map[string]float64{}, PyDumpsNs: map[string]float64{},
			UnmarshalVsPy: map[string]float64{}, MarshalVsPy: map[string]float64{}}
		rows[i].UnmarshalAllocs = testing.AllocsPerRun(100, func() { _ = codec.Unmarshal(w, tv.New()) })
		rows[i].MsgpackUnmarshalAllocs = testing.AllocsPerRun(100, func() { _ = msgpack.Unmarshal(m, tv.New()) })
		rows[i].MarshalAllocs = testing.AllocsPerRun(100, func() { _, _ = codec.Marshal(tv.Ptr) })
		rows[i].MsgpackMarshalAllocs = testing.AllocsPerRun(100, func() { _, _ = msgpack.Marshal(tv.Ptr) })
	}
	for r := 0; r < rounds; r++ {
		for i, tv := range tvs {
			w, m := wires[i], mps[i]
			ops := []struct {
				dst *[]float64
				op  func() error
			}{
				{&ser[i].un, func() error { return codec.Unmarshal(w, tv.New()) }},
				{&ser[i].mun, func() error { return msgpack.Unmarshal(m, tv.New()) }},
				{&ser[i].ma, func() error { _, err := codec.Marshal(tv.Ptr); return err }},
				{&ser[i].mma, func() error { _, err := msgpack.Marshal(tv.Ptr); return err }},
			}
			for _, o := range ops {
				ns, err := timeOp(o.op, budget)
				if err != nil {
					return nil, fmt.Errorf("%s: %w", tv.Name, err)
				}
				*o.dst = append(*o.dst, ns)
			}
		}
		for name, interp := range pythons {
			rep, err := PythonCodec(ctx, interp, wvs, budget.Seconds())
			if err != nil {
				return nil, err
			}
			py[name] = append(py[name], rep)
		}
	}
	for i := range rows {
		rows[i].UnmarshalNs = median(ser[i].un)
		rows[i].MsgpackUnmarshalNs = median(ser[i].mun)
		rows[i].MarshalNs = median(ser[i].ma)
		rows[i].MsgpackMarshalNs = median(ser[i].mma)
		rows[i].UnmarshalVsMsgpack = medianRatio(ser[i].mun, ser[i].un)
		rows[i].MarshalVsMsgpack = medianRatio(ser[i].mma, ser[i].ma)
		for name, reps := range py {
			var l, d []float64
			for _, rep := range reps {
				l = append(l, rep.Results[i].LoadsNs)
				d = append(d, rep.Results[i].DumpsNs)
			}
			rows[i].PyLoadsNs[name] = median(l)
			rows[i].PyDumpsNs[name] = median(d)
			rows[i].UnmarshalVsPy[name] = medianRatio(l, ser[i].un)
			rows[i].MarshalVsPy[name] = medianRatio(d, ser[i].ma)
		}
	}
	return rows, nil
}

// medianRatio returns the median over rounds of num[k]/den[k]: the
// speed-up of den over num, measured round by round.
func medianRatio(num, den []float64) float64 {
	r := make([]float64, len(num))
	for k := range num {
		r[k] = num[k] / den[k]
	}
	return median(r)
}

func median(x []float64) float64 {
	if len(x) == 0 {
		return 0
	}
	s := slices.Clone(x)
	slices.Sort(s)
	return s[len(s)/2]
}
