package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"strconv"
	"strings"

	"github.com/execnet-conform/execnet-conform/bench"
	"github.com/execnet-conform/execnet-conform/internal/tty"
)

// runBench measures serialization and channel throughput across
// implementations, side by side with the raw pipe, in one run.
func runBench(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var targets multiFlag
	fs.Var(&targets, "target", "extra worker XSPEC measured with a Go master (repeatable)")
	format := fs.String("format", "text", "output format: text or json")
	chart := fs.String("chart", "", "write an SVG chart of throughput against item size to `FILE.svg`")
	quick := fs.Bool("quick", false, "a short run (small workloads, one repeat)")
	noCodec := fs.Bool("no-codec", false, "skip the serializer comparison")
	cpython := fs.String("cpython", "/usr/bin/python3", "CPython interpreter with execnet (empty to skip)")
	pypy := fs.String("pypy", "/usr/bin/pypy3", "PyPy interpreter with execnet (empty to skip)")
	cpuprofile := fs.String("cpuprofile", "", "write the Go master's CPU profile (pprof) for the whole run to `FILE`")
	pairs := fs.String("pairs", "", "comma-separated subset of `pairs` to run (go-go, go-cpython, go-pypy, cpython-cpython, cpython-go)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: execnet-conform bench [--quick] [--pairs P,...] [--target XSPEC ...] [--format text|json] [--chart FILE.svg]")
		fmt.Fprintln(stderr, "\nMeasures start-up, round trips, one-way messages, remote executions, bulk throughput and")
		fmt.Fprintln(stderr, "group start-up for pairs of implementations, side by side with the raw pipe of the same run.")
		fmt.Fprintln(stderr, "A pair is MASTER-WORKER: the side that opens the gateway, then the worker it starts:")
		fmt.Fprintln(stderr, "  go-go            Go master (this program), Go worker (execnet-conform worker)")
		fmt.Fprintln(stderr, "  go-cpython       Go master, CPython worker with execnet (--cpython)")
		fmt.Fprintln(stderr, "  go-pypy          Go master, PyPy worker with execnet (--pypy)")
		fmt.Fprintln(stderr, "  cpython-cpython  execnet's own popen gateway, the baseline (\"py-py\" in the tables)")
		fmt.Fprintln(stderr, "  cpython-go       CPython execnet master, Go worker")
		fmt.Fprintln(stderr, "  go-targetN       Go master, the Nth --target worker")
		fmt.Fprintln(stderr, "--quick runs small workloads with one sample per figure: its figures are rough and swing")
		fmt.Fprintln(stderr, "between runs; compare ratios of a full run. See bench/README.md.")
		fmt.Fprintln(stderr, "\nflags:")
		fs.PrintDefaults()
	}
	if code, ok := parseFlags(fs, args, stderr, "extra workers are given with --target"); !ok {
		return code
	}
	if *format != "text" && *format != "json" {
		fmt.Fprintf(stderr, "execnet-conform: --format must be text or json, not %q\n", *format)
		return exitUsage
	}
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintf(stderr, "execnet-conform: %v\n", err)
		return exitUsage
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	cp, pp := "", ""
	if *cpython != "" {
		cp = bench.LookPython(ctx, *cpython)
		if cp == "" {
			fmt.Fprintf(stderr, "execnet-conform: note: %s with execnet not found; skipping its pairs\n", *cpython)
		}
	}
	if *pypy != "" {
		pp = bench.LookPython(ctx, *pypy)
		if pp == "" {
			fmt.Fprintf(stderr, "execnet-conform: note: %s with execnet not found; skipping its pairs\n", *pypy)
		}
	}
	o := bench.Options{Self: []string{self}, Workload: bench.DefaultWorkload(), Codec: !*noCodec}
	if *quick {
		o.Workload = bench.QuickWorkload()
		o.Budget = 0.2
	}
	o.Pairs = bench.DefaultPairs(o.Self, cp, pp)
	if *pairs != "" {
		want := map[string]bool{}
		for _, p := range strings.Split(*pairs, ",") {
			want[strings.TrimSpace(p)] = true
		}
		var keep []bench.Pair
		for _, p := range o.Pairs {
			if want[p.Name] {
				keep = append(keep, p)
				delete(want, p.Name)
			}
		}
		if len(want) > 0 {
			fmt.Fprintf(stderr, "execnet-conform: unknown or unavailable pairs: %v\n", keys(want))
			return exitUsage
		}
		o.Pairs = keep
	}
	for i, t := range targets {
		o.Pairs = append(o.Pairs, bench.Pair{Name: "go-target" + strconv.Itoa(i+1), Master: "go", Worker: t})
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintf(stderr, "execnet-conform: cpuprofile: %v\n", err)
			return exitUsage
		}
		defer func() {
			pprof.StopCPUProfile()
			f.Close()
		}()
	}
	var prog *tty.Progress // nil when stderr is not a terminal
	if tty.IsTerminal(stderr) {
		prog = tty.NewProgress(stderr)
		o.Progress = prog.Update
	} else {
		// No terminal to redraw a status line on: say what is being
		// measured, one line per step, so a long run is not silent.
		o.Progress = func(msg string) { fmt.Fprintf(stderr, "execnet-conform bench: %s\n", msg) }
	}
	what := fmt.Sprintf("%d pairs", len(o.Pairs))
	if len(o.Pairs) == 1 {
		what = "1 pair"
	}
	if *quick {
		what += " (--quick)"
	}
	o.Progress("measuring the raw pipe and " + what)
	rep, err := bench.Run(ctx, o)
	prog.Done()
	if err != nil {
		fmt.Fprintf(stderr, "execnet-conform: bench: %v\n", err)
		return exitUsage
	}
	rep.Quick = *quick
	if *chart != "" {
		f, err := os.Create(*chart)
		if err == nil {
			err = rep.WriteSVG(f)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		}
		if err != nil {
			fmt.Fprintf(stderr, "execnet-conform: chart: %v\n", err)
			return exitUsage
		}
	}
	if *format == "json" {
		err = rep.WriteJSON(stdout)
	} else {
		err = rep.WriteText(stdout)
	}
	if err != nil {
		fmt.Fprintf(stderr, "execnet-conform: %v\n", err)
		return exitUsage
	}
	for _, p := range rep.Pairs {
		if p.Error != "" {
			fmt.Fprintf(stderr, "execnet-conform: pair %s failed: %s\n", p.Pair, p.Error)
			return exitFailure
		}
	}
	return exitOK
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(s string) error { *m = append(*m, s); return nil }

// runPipeSource and runPipeEcho are the child processes of the raw-pipe
// measurements (hidden subcommands).
func runPipeSource(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) != 2 {
		fmt.Fprintln(stderr, "usage: execnet-conform bench-pipe-source COUNT SIZE")
		return exitUsage
	}
	count, err1 := strconv.Atoi(args[0])
	size, err2 := strconv.Atoi(args[1])
	if err1 != nil || err2 != nil || count < 0 || size <= 0 {
		fmt.Fprintln(stderr, "execnet-conform: bench-pipe-source: COUNT and SIZE must be positive integers")
		return exitUsage
	}
	if err := bench.PipeSource(stdout, count, size); err != nil {
		return exitFailure
	}
	return exitOK
}

func runPipeEcho(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	size := 16
	if len(args) == 1 {
		n, err := strconv.Atoi(args[0])
		if err != nil || n <= 0 {
			fmt.Fprintln(stderr, "execnet-conform: bench-pipe-echo: SIZE must be a positive integer")
			return exitUsage
		}
		size = n
	}
	if err := bench.PipeEcho(stdin, stdout, size); err != nil {
		return exitFailure
	}
	return exitOK
}
