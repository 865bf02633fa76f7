package bench

import (
	"bytes"
	"context"
	"regexp"
	"testing"
	"time"

	"github.com/execnet-conform/execnet-conform/internal/peers"
)

// tinyWorkload exercises every figure of a pair in well under a second.
func tinyWorkload() Workload {
	return Workload{Startups: 1, Groups: []int{1}, RoundTrips: 10, Execs: 5,
		OneWay: OneWay{Count: 10, Size: 16}, Bulk: []BulkRun{{Size: 1 << 10, Bytes: 4 << 10}}, Repeats: 1}
}

// TestMastersMeasureEveryFigure runs both masters, the Go one and
// bench/py/channel_bench.py under CPython, against a Python worker with a
// tiny workload, and checks that each reports every figure, sequential
// executions included, and that the text report shows them.
func TestMastersMeasureEveryFigure(t *testing.T) {
	python := peers.CPython(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	spec := "popen//python=" + python
	quiet := func(string) {}
	gm, err := GoMaster(ctx, "go-cpython", spec, tinyWorkload(), quiet)
	if err != nil {
		t.Fatalf("Go master: %v", err)
	}
	pm, err := PythonMaster(ctx, "cpython-cpython", python, spec, tinyWorkload(), quiet)
	if err != nil {
		t.Fatalf("Python master: %v", err)
	}
	for _, p := range []*PairResult{gm, pm} {
		figures := map[string]Stat{"start-up": p.StartupS, "group of 1": p.GroupS["1"], "round trips": p.RoundTrips,
			"executions": p.ExecsPerS, "one-way": p.OneWay, "bulk 1 KiB": p.BulkMiBps["1024"]}
		for name, s := range figures {
			if s.Median <= 0 || len(s.Samples) == 0 {
				t.Errorf("%s: %s has no samples: %+v", p.Pair, name, s)
			}
		}
	}
	var out bytes.Buffer
	r := &Report{Date: "today", Machine: "test", Baseline: "cpython-cpython", Pairs: []*PairResult{gm, pm}}
	if err := r.WriteText(&out); err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^go-cpython +\d+ \(\d+\.\d\dx\) +\d+\.\d\d round trips each \(py-py \d+\.\d\d\)`).Match(out.Bytes()) {
		t.Errorf("the text report has no sequential-executions row with a ratio to cpython-cpython and the round trips per execution beside py-py's:\n%s", out.String())
	}
}
