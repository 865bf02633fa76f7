package bench

import (
	"context"
	"fmt"
	"runtime/debug"
	"testing"
	"time"

	"github.com/execnet-conform/execnet-conform/internal/peers"
	"github.com/execnet-conform/execnet-conform/reference/codec"
)

// BenchmarkTypedLevers measures what two settings outside the decoder
// would give typed Unmarshal against CPython execnet's loads: the
// collector's target (GOGC 100, the default, then 400 and 1600, set with
// debug.SetGCPercent for the combination's turn only) and
// Decoder.ZeroCopy (strings and bytes point into the caller's input
// instead of into one copy of it). Each of seven rounds times every
// combination in turn, then CPython's loads of the same bytes; each
// speed-up is the median of the rounds' ratios, as in CompareTyped. Run
// with -benchtime=1x.
func BenchmarkTypedLevers(b *testing.B) {
	py := peers.CPython(b)
	ctx := context.Background()
	tvs := TypedValues()
	wires := make([][]byte, len(tvs))
	var wvs []WireValue
	for i, tv := range tvs {
		w, err := codec.Marshal(tv.Ptr)
		if err != nil {
			b.Fatal(err)
		}
		wires[i] = w
		wvs = append(wvs, WireValue{tv.Name, w})
	}
	type lever struct {
		gogc     int
		zeroCopy bool
	}
	var levers []lever
	for _, g := range []int{100, 400, 1600} {
		levers = append(levers, lever{g, false}, lever{g, true})
	}
	const rounds = 7
	const budget = 100 * time.Millisecond
	for b.Loop() {
		ns := make([][][]float64, len(levers)) // [lever][value][round]
		for l := range ns {
			ns[l] = make([][]float64, len(tvs))
		}
		pyNs := make([][]float64, len(tvs))
		for r := 0; r < rounds; r++ {
			for l, lv := range levers {
				old := debug.SetGCPercent(lv.gogc)
				dec := codec.Decoder{ZeroCopy: lv.zeroCopy}
				for i, tv := range tvs {
					w := wires[i]
					t, err := timeOp(func() error { _, err := dec.Unmarshal(w, tv.New()); return err }, budget)
					if err != nil {
						debug.SetGCPercent(old)
						b.Fatal(err)
					}
					ns[l][i] = append(ns[l][i], t)
				}
				debug.SetGCPercent(old)
			}
			rep, err := PythonCodec(ctx, py, wvs, budget.Seconds())
			if err != nil {
				b.Fatal(err)
			}
			for i := range tvs {
				pyNs[i] = append(pyNs[i], rep.Results[i].LoadsNs)
			}
		}
		for l, lv := range levers {
			for i, tv := range tvs {
				speedup := medianRatio(pyNs[i], ns[l][i])
				name := fmt.Sprintf("%s-gogc%d", tv.Name, lv.gogc)
				if lv.zeroCopy {
					name += "-zerocopy"
				}
				b.Logf("%s: Unmarshal %.0f ns, CPython loads %.0f ns: %.1fx CPython",
					name, median(ns[l][i]), median(pyNs[i]), speedup)
				b.ReportMetric(speedup, name+"-x-cpython")
			}
		}
	}
}

// reportKeywordsStruct is TestReport with its keywords in a struct of
// the three keywords the benchmark's reports carry, instead of a
// map[string]int: for BenchmarkTypedReportsMapShare only (pytest's
// keywords are open-ended, so a map is the faithful Go type).
type reportKeywordsStruct struct {
	NodeID   string   `execnet:"nodeid"`
	Location Location `execnet:"location"`
	Keywords struct {
		TestCase    int `execnet:"test_case"`
		TestClass   int `execnet:"TestClass"`
		Parametrize int `execnet:"parametrize"`
	} `execnet:"keywords"`
	Outcome        string    `execnet:"outcome"`
	Longrepr       *string   `execnet:"longrepr"`
	When           string    `execnet:"when"`
	UserProperties []any     `execnet:"user_properties"`
	Sections       []Section `execnet:"sections"`
	Duration       float64   `execnet:"duration"`
	WorkerID       string    `execnet:"worker_id"`
	TestrunUID     string    `execnet:"testrun_uid"`
}

// BenchmarkTypedReportsMapShare measures what the reports' twenty
// keyword maps cost typed Unmarshal: the same bytes decoded into
// []TestReport and into []reportKeywordsStruct, in turns over seven
// rounds with CPython execnet's loads of them once per round; each
// speed-up is the median of the rounds' ratios. Run with -benchtime=1x.
func BenchmarkTypedReportsMapShare(b *testing.B) {
	py := peers.CPython(b)
	var tv TypedValue
	for _, v := range TypedValues() {
		if v.Name == "reports" {
			tv = v
		}
	}
	w, err := codec.Marshal(tv.Ptr)
	if err != nil {
		b.Fatal(err)
	}
	var check []reportKeywordsStruct
	if err := codec.Unmarshal(w, &check); err != nil || len(check) != 20 || check[0].Keywords.TestClass != 1 {
		b.Fatalf("the reports into []reportKeywordsStruct: %v", err)
	}
	const rounds = 7
	const budget = 100 * time.Millisecond
	for b.Loop() {
		var withMap, withStruct, pyNs []float64
		for r := 0; r < rounds; r++ {
			t1, err := timeOp(func() error { return codec.Unmarshal(w, tv.New()) }, budget)
			if err != nil {
				b.Fatal(err)
			}
			t2, err := timeOp(func() error { var v []reportKeywordsStruct; return codec.Unmarshal(w, &v) }, budget)
			if err != nil {
				b.Fatal(err)
			}
			rep, err := PythonCodec(context.Background(), py, []WireValue{{"reports", w}}, budget.Seconds())
			if err != nil {
				b.Fatal(err)
			}
			withMap, withStruct, pyNs = append(withMap, t1), append(withStruct, t2), append(pyNs, rep.Results[0].LoadsNs)
		}
		b.Logf("reports: into []TestReport %.0f ns (%.1fx CPython), keywords as a struct %.0f ns (%.1fx CPython): the maps make it %.2fx slower",
			median(withMap), medianRatio(pyNs, withMap), median(withStruct), medianRatio(pyNs, withStruct), medianRatio(withMap, withStruct))
		b.ReportMetric(medianRatio(pyNs, withMap), "map-x-cpython")
		b.ReportMetric(medianRatio(pyNs, withStruct), "struct-x-cpython")
	}
}

// BenchmarkKeywordMaps is the least the reports' keywords cost in Go
// whatever decodes them: twenty map[string]int made and given their
// three keys, kept as a decoder's result would be, per operation.
func BenchmarkKeywordMaps(b *testing.B) {
	keys := []string{"test_case", "TestClass", "parametrize"}
	out := make([]map[string]int, 20)
	b.ReportAllocs()
	for b.Loop() {
		for i := range out {
			m := map[string]int{}
			for _, k := range keys {
				m[k] = 1
			}
			out[i] = m
		}
	}
	if len(out[19]) != 3 {
		b.Fatal("maps not built")
	}
}
