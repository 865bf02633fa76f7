package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os/exec"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/execnet-conform/execnet-conform/reference/gateway"
	"github.com/execnet-conform/execnet-conform/reference/transport"
)

// Pair is one master-worker combination to measure.
type Pair struct {
	Name   string // e.g. "go-go", "cpython-cpython"
	Master string // "go", or a Python interpreter path
	Worker string // the worker's xspec
}

// Options configure Run.
type Options struct {
	Self     []string // command that runs this program ("execnet-conform"), for the Go worker and raw pipe children
	Pairs    []Pair   // default: DefaultPairs
	Workload Workload
	Codec    bool    // also compare serializers
	Budget   float64 // seconds per Python codec measurement
	Progress func(string)
}

// DefaultPairs are the pairs issue #7 names: Go-Go, Go to CPython, Go to
// PyPy, CPython to CPython (the baseline) and CPython to the Go worker.
//
// Go masters bootstrap Python workers in the exec style, as the Python
// master of the baseline does, so that "Go to Python" and the baseline
// give the worker the same work. The go-go pair uses the import style:
// the Go worker ignores the bootstrap source, and sending it the 51 KB of
// gateway_base.py (and scanning it for the worker id) is waste that a
// Go-to-Go user avoids with style=import.
func DefaultPairs(self []string, cpython, pypy string) []Pair {
	goWorker := "popen//python=" + strings.Join(append(append([]string(nil), self...), "worker"), " ")
	ps := []Pair{{"go-go", "go", goWorker + "//style=import"}}
	if cpython != "" {
		ps = append(ps, Pair{"go-cpython", "go", "popen//python=" + cpython},
			Pair{"cpython-cpython", cpython, "popen//python=" + cpython},
			Pair{"cpython-go", cpython, goWorker})
	}
	if pypy != "" {
		ps = append(ps, Pair{"go-pypy", "go", "popen//python=" + pypy})
	}
	return ps
}

// Report is the result of Run.
type Report struct {
	Schema   string        `json:"schema"`
	Date     string        `json:"date"`
	Machine  string        `json:"machine"`
	Pipe     PipeLimits    `json:"raw_pipe"`
	Pairs    []*PairResult `json:"pairs"`
	Codec    []CodecRow    `json:"codec,omitempty"`
	Baseline string        `json:"baseline"`
	// Quick marks a run of QuickWorkload (bench --quick): one sample per
	// figure on small workloads, rough figures.
	Quick    bool    `json:"quick,omitempty"`
	Duration float64 `json:"duration_s"`
}

// PipeLimits are the raw-pipe figures measured in the same run: the
// limit, with blocking system calls on both sides, and the same traffic
// through Go's network poller. Each is the median of the workload's
// repeats after a warm-up.
type PipeLimits struct {
	RoundTrips float64            `json:"roundtrips_per_s"`
	OneWay     float64            `json:"oneway_per_s"`
	BulkMiBps  map[string]float64 `json:"bulk_mib_per_s"`
	StartupS   float64            `json:"process_startup_s"`
	// Poller is the same traffic with both processes waiting in Go's
	// network poller (non-blocking pipes, as os.Pipe and os/exec make
	// them, and as the gateways use them): what the Go runtime's way of
	// waiting costs before any protocol work.
	Poller PipeFigures `json:"via_go_poller"`
}

// limit returns the faster of the two raw pipes for each figure: the
// limit every "vs pipe" ratio is taken against.
func (l PipeLimits) limit() PipeFigures {
	f := PipeFigures{RoundTrips: max(l.RoundTrips, l.Poller.RoundTrips), OneWay: max(l.OneWay, l.Poller.OneWay),
		BulkMiBps: map[string]float64{}}
	for k, v := range l.BulkMiBps {
		f.BulkMiBps[k] = max(v, l.Poller.BulkMiBps[k])
	}
	return f
}

// PipeFigures are raw-pipe figures of one kind of pipe.
type PipeFigures struct {
	RoundTrips float64            `json:"roundtrips_per_s"`
	OneWay     float64            `json:"oneway_per_s"`
	BulkMiBps  map[string]float64 `json:"bulk_mib_per_s"`
}

// bulkPipeWrite is the smallest write of the raw pipe's bulk figures.
const bulkPipeWrite = 64 << 10

// measurePipe measures one kind of raw pipe: median of reps samples
// after a warm-up, for each figure.
func measurePipe(ctx context.Context, self []string, w Workload, poller bool) (PipeFigures, error) {
	src := append(append([]string(nil), self...), "bench-pipe-source")
	echo := append(append([]string(nil), self...), "bench-pipe-echo", "16")
	reps := max(1, w.Repeats) + 2 // cheap, and noisier than the pairs
	f := PipeFigures{BulkMiBps: map[string]float64{}}
	median := func(run func() (float64, error)) (float64, error) {
		var xs []float64
		for r := 0; r <= reps; r++ {
			x, err := run()
			if err != nil {
				return 0, err
			}
			if r > 0 {
				xs = append(xs, x)
			}
		}
		return stat(xs).Median, nil
	}
	for _, b := range w.Bulk {
		// The limit for bulk: the same bytes in writes of at least
		// bulkPipeWrite, as a gateway batches small frames into one write
		// (one write per 1 KiB item would measure system calls, not the
		// pipe, and lie below the gateways).
		chunk := max(b.Size, bulkPipeWrite)
		m, err := median(func() (float64, error) {
			m, _, err := RawPipe(ctx, src, max(1, b.Bytes/chunk), chunk, poller)
			return m, err
		})
		if err != nil {
			return f, err
		}
		f.BulkMiBps[strconv.Itoa(b.Size)] = m
	}
	var err error
	f.OneWay, err = median(func() (float64, error) {
		_, per, err := RawPipe(ctx, src, w.OneWay.Count*10, w.OneWay.Size, poller)
		return per, err
	})
	if err != nil {
		return f, err
	}
	f.RoundTrips, err = median(func() (float64, error) {
		return RawPipeRoundTrips(ctx, echo, w.RoundTrips*5, 16, poller)
	})
	return f, err
}

// Run measures every pair, the raw pipe, and optionally the codecs.
func Run(ctx context.Context, o Options) (*Report, error) {
	if o.Progress == nil {
		o.Progress = func(string) {}
	}
	t0 := time.Now()
	rep := &Report{Schema: "execnet-conform/bench/v1", Date: t0.UTC().Format(time.RFC3339),
		Machine: fmt.Sprintf("%s/%s, %d CPUs", runtime.GOOS, runtime.GOARCH, runtime.NumCPU()), Baseline: "cpython-cpython"}
	w := o.Workload

	o.Progress("raw pipe")
	lim, err := measurePipe(ctx, o.Self, w, false)
	if err != nil {
		return nil, err
	}
	rep.Pipe.RoundTrips, rep.Pipe.OneWay, rep.Pipe.BulkMiBps = lim.RoundTrips, lim.OneWay, lim.BulkMiBps
	o.Progress("raw pipe through Go's poller")
	if rep.Pipe.Poller, err = measurePipe(ctx, o.Self, w, true); err != nil {
		return nil, err
	}
	src := append(append([]string(nil), o.Self...), "bench-pipe-source")
	var starts []float64
	for i := 0; i < 5; i++ {
		s0 := time.Now()
		if _, _, err := RawPipe(ctx, src, 1, 1, false); err != nil {
			return nil, err
		}
		starts = append(starts, time.Since(s0).Seconds())
	}
	rep.Pipe.StartupS = stat(starts).Median

	// A Go master opening exec-style popen workers (the Go worker's spec
	// has python=) sends execnet's gateway_base.py; read it once, as a
	// Python master holds its own in memory, instead of locating it with a
	// python3 subprocess at every Open.
	var gopts []gateway.Option
	if gb, err := transport.ReadGatewayBase(ctx); err == nil {
		gopts = append(gopts, gateway.WithTransportOptions(transport.Options{GatewayBaseSource: gb}))
	}
	for _, p := range o.Pairs {
		var res *PairResult
		var err error
		if p.Master == "go" {
			res, err = GoMaster(ctx, p.Name, p.Worker, w, o.Progress, gopts...)
		} else {
			res, err = PythonMaster(ctx, p.Name, p.Master, p.Worker, w, o.Progress)
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			res = &PairResult{Pair: p.Name, Master: p.Master, Worker: p.Worker, Error: err.Error()}
		}
		rep.Pairs = append(rep.Pairs, res)
	}
	if o.Codec {
		o.Progress("codecs")
		pythons := map[string]string{}
		for _, p := range o.Pairs {
			if p.Master != "go" {
				pythons[pyName(p.Master)] = p.Master
			}
			if i := strings.Index(p.Worker, "python="); i >= 0 && p.Master == "go" {
				py := strings.SplitN(p.Worker[i+7:], "//", 2)[0]
				if !strings.Contains(py, " ") {
					pythons[pyName(py)] = py
				}
			}
		}
		budget := o.Budget
		if budget <= 0 {
			budget = 1
		}
		rows, err := CompareCodecs(ctx, pythons, budget)
		if err != nil {
			return nil, err
		}
		rep.Codec = rows
	}
	rep.Duration = time.Since(t0).Seconds()
	return rep, nil
}

func pyName(path string) string {
	if strings.Contains(path, "pypy") {
		return "pypy"
	}
	return "cpython"
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	e := json.NewEncoder(w)
	e.SetIndent("", "  ")
	return e.Encode(r)
}

func (r *Report) baseline() *PairResult {
	for _, p := range r.Pairs {
		if p.Pair == r.Baseline && p.Error == "" {
			return p
		}
	}
	return nil
}

func ratio(a, b float64) string {
	if a == 0 || b == 0 || math.IsNaN(a) || math.IsNaN(b) {
		return "-" // a figure missing (no baseline pair in this run)
	}
	return fmt.Sprintf("%.2fx", a/b)
}

// WriteText writes the tables: each figure with its ratio to the raw pipe
// and to the Python-to-Python baseline.
func (r *Report) WriteText(w io.Writer) error {
	fmt.Fprintf(w, "execnet-conform bench, %s, %s\n", r.Date, r.Machine)
	if r.Quick {
		fmt.Fprintln(w, "QUICK RUN (--quick): small workloads, one sample per figure; the figures are rough and")
		fmt.Fprintln(w, "swing between runs. Compare the ratios of a full run.")
	}
	fmt.Fprintln(w)
	base := r.baseline()
	lim := r.Pipe.limit()
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "pair\tstart-up median\tp95\tvs py-py\tround trips/s\tvs pipe\tvs py-py\tone-way msgs/s\tvs pipe\tvs py-py\t")
	for _, p := range r.Pairs {
		if p.Error != "" {
			fmt.Fprintf(tw, "%s\terror: %s\t\n", p.Pair, firstLine(p.Error))
			continue
		}
		var bs, brt, bow float64
		if base != nil {
			bs, brt, bow = base.StartupS.Median, base.RoundTrips.Median, base.OneWay.Median
		}
		fmt.Fprintf(tw, "%s\t%.1f ms\t%.1f ms\t%s\t%.0f\t%s\t%s\t%.0f\t%s\t%s\t\n", p.Pair,
			p.StartupS.Median*1e3, p.StartupS.P95*1e3, ratio(bs, p.StartupS.Median),
			p.RoundTrips.Median, ratio(p.RoundTrips.Median, lim.RoundTrips), ratio(p.RoundTrips.Median, brt),
			p.OneWay.Median, ratio(p.OneWay.Median, lim.OneWay), ratio(p.OneWay.Median, bow))
	}
	fmt.Fprintf(tw, "raw pipe, blocking\t%.1f ms (spawn)\t\t\t%.0f\t\t\t%.0f\t\t\t\n", r.Pipe.StartupS*1e3, r.Pipe.RoundTrips, r.Pipe.OneWay)
	if r.Pipe.Poller.RoundTrips > 0 {
		fmt.Fprintf(tw, "raw pipe, Go poller\t\t\t\t%.0f\t\t\t%.0f\t\t\t\n", r.Pipe.Poller.RoundTrips, r.Pipe.Poller.OneWay)
	}
	tw.Flush()
	fmt.Fprintln(w, "(vs pipe: ratio to the faster of the two raw pipes)")

	fmt.Fprintln(w, "\nsequential remote executions per second (remote_exec, one round trip, close; ratio to py-py),")
	fmt.Fprintln(w, "and what one costs in the pair's own round trips (round trips/s over executions/s, measured in turns)")
	tw = tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	for _, p := range r.Pairs {
		if p.Error != "" {
			continue
		}
		var b, bpe float64
		if base != nil {
			b, bpe = base.ExecsPerS.Median, base.RoundTripsPerExec()
		}
		basePer := "-" // no baseline pair in this run
		if bpe > 0 {
			basePer = fmt.Sprintf("%.2f", bpe)
		}
		fmt.Fprintf(tw, "%s\t%.0f (%s)\t%.2f round trips each (py-py %s)\t\n", p.Pair, p.ExecsPerS.Median, ratio(p.ExecsPerS.Median, b),
			p.RoundTripsPerExec(), basePer)
	}
	tw.Flush()

	sizes := r.bulkSizes()
	fmt.Fprintln(w, "\nbulk throughput, MiB/s (ratio to raw pipe; to py-py)")
	tw = tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprint(tw, "pair\t")
	for _, s := range sizes {
		fmt.Fprintf(tw, "%s\t", sizeName(s))
	}
	fmt.Fprintln(tw)
	for _, p := range r.Pairs {
		if p.Error != "" {
			continue
		}
		fmt.Fprintf(tw, "%s\t", p.Pair)
		for _, s := range sizes {
			k := strconv.Itoa(s)
			var b float64
			if base != nil {
				b = base.BulkMiBps[k].Median
			}
			m := p.BulkMiBps[k].Median
			fmt.Fprintf(tw, "%.0f (%s; %s)\t", m, ratio(m, lim.BulkMiBps[k]), ratio(m, b))
		}
		fmt.Fprintln(tw)
	}
	pipeRow := func(label string, mibps map[string]float64) {
		fmt.Fprintf(tw, "%s\t", label)
		for _, s := range sizes {
			fmt.Fprintf(tw, "%.0f\t", mibps[strconv.Itoa(s)])
		}
		fmt.Fprintln(tw)
	}
	pipeRow("raw pipe, blocking", r.Pipe.BulkMiBps)
	if len(r.Pipe.Poller.BulkMiBps) > 0 {
		pipeRow("raw pipe, Go poller", r.Pipe.Poller.BulkMiBps)
	}
	tw.Flush()

	fmt.Fprintln(w, "\ngroup start-up, median seconds (ratio py-py / pair)")
	tw = tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	var gsizes []int
	for _, p := range r.Pairs {
		for k := range p.GroupS {
			n, _ := strconv.Atoi(k)
			if !containsInt(gsizes, n) {
				gsizes = append(gsizes, n)
			}
		}
	}
	sort.Ints(gsizes)
	fmt.Fprint(tw, "pair\t")
	for _, n := range gsizes {
		fmt.Fprintf(tw, "%d workers\t", n)
	}
	fmt.Fprintln(tw)
	for _, p := range r.Pairs {
		if p.Error != "" {
			continue
		}
		fmt.Fprintf(tw, "%s\t", p.Pair)
		for _, n := range gsizes {
			k := strconv.Itoa(n)
			var b float64
			if base != nil {
				b = base.GroupS[k].Median
			}
			fmt.Fprintf(tw, "%.3f (%s)\t", p.GroupS[k].Median, ratio(b, p.GroupS[k].Median))
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()

	if len(r.Codec) > 0 {
		fmt.Fprintln(w, "\nserialization, ns per call (Go speed-up over each)")
		tw = tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
		names := []string{SerGo, SerMsgpack, "cpython", "pypy"}
		fmt.Fprint(tw, "value\top\t")
		for _, n := range names {
			fmt.Fprintf(tw, "%s\t", n)
		}
		fmt.Fprintln(tw)
		for _, row := range r.Codec {
			for _, op := range []string{"dumps", "loads"} {
				fmt.Fprintf(tw, "%s\t%s\t", row.Value, op)
				g := row.Figures[SerGo]
				for _, n := range names {
					f, ok := row.Figures[n]
					if !ok {
						fmt.Fprint(tw, "-\t")
						continue
					}
					x, gx := f.DumpsNs, g.DumpsNs
					if op == "loads" {
						x, gx = f.LoadsNs, g.LoadsNs
					}
					if n == SerGo {
						fmt.Fprintf(tw, "%.0f\t", x)
					} else {
						fmt.Fprintf(tw, "%.0f (%s)\t", x, ratio(x, gx))
					}
				}
				fmt.Fprintln(tw)
			}
		}
		tw.Flush()
	}
	fmt.Fprintf(w, "\ntook %.1f s\n", r.Duration)
	return nil
}

func (r *Report) bulkSizes() []int {
	var sizes []int
	for k := range r.Pipe.BulkMiBps {
		n, _ := strconv.Atoi(k)
		sizes = append(sizes, n)
	}
	sort.Ints(sizes)
	return sizes
}

func containsInt(xs []int, x int) bool {
	for _, y := range xs {
		if x == y {
			return true
		}
	}
	return false
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// LookPython returns path when it runs and imports execnet, else "".
func LookPython(ctx context.Context, path string) string {
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := exec.CommandContext(cctx, path, "-c", "import execnet").Run(); err != nil {
		return ""
	}
	return path
}
