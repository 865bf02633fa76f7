package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/execnet-conform/execnet-conform/conformance"
	"github.com/execnet-conform/execnet-conform/conformance/difffuzz"
)

// runFuzz fuzzes a live target's conform_loads and conform_dumps against
// the reference codec (package conformance/difffuzz).
func runFuzz(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("fuzz", flag.ContinueOnError)
	fs.SetOutput(stderr)
	target := fs.String("target", "", "xspec of the worker under test (default: the built-in Go worker, this executable's \"worker\" subcommand)")
	style := fs.String("style", "import", "bootstrap style for Python targets: import or exec")
	duration := fs.Duration("duration", 30*time.Second, "how long to fuzz (start and minimization come on top)")
	seed := fs.Int64("seed", 0, "random seed (default: chosen at random and printed)")
	callTimeout := fs.Duration("call-timeout", 10*time.Second, "deadline of each conform_loads or conform_dumps call")
	bootTimeout := fs.Duration("bootstrap-timeout", conformance.DefaultBootstrapTimeout, "deadline for starting the target")
	format := fs.String("format", "text", "report format on stdout: text, json (the schema of run) or fuzz-json (execnet-conform/fuzz/v1)")
	junit := fs.String("junit", "", "write a JUnit XML report to `file`")
	envFlags := addTargetEnvFlags(fs)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: execnet-conform fuzz [--target XSPEC] [--duration D] [--seed N] [--format text|json|fuzz-json] [--junit FILE]")
		fmt.Fprintln(stderr, "\nSends mutated and generated inputs through the target's conform_loads and conform_dumps and")
		fmt.Fprintln(stderr, "through the reference codec, and reports each class of disagreement once, minimized, with the")
		fmt.Fprintln(stderr, "SPEC.md clauses that decide it. Known execnet deviations (SPEC.md Appendix B) are xfail.")
		fmt.Fprintln(stderr, "Exit status: 0 only known deviations, 1 unclassified disagreements, 2 usage or harness error.")
		fmt.Fprintln(stderr, "\nflags:")
		fs.PrintDefaults()
	}
	if code, ok := parseFlags(fs, args, stderr, "the target is given with --target"); !ok {
		return code
	}
	usageErr := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "execnet-conform fuzz: "+format+"\n", a...)
		return exitUsage
	}
	switch *format {
	case "text", "json", "fuzz-json":
	default:
		return usageErr("--format must be text, json or fuzz-json, not %q", *format)
	}
	if *style != "import" && *style != "exec" {
		return usageErr("--style must be import or exec, not %q", *style)
	}
	if *duration <= 0 || *callTimeout <= 0 || *bootTimeout <= 0 {
		return usageErr("--duration and timeouts must be positive")
	}
	seedSet := false
	fs.Visit(func(f *flag.Flag) { seedSet = seedSet || f.Name == "seed" })
	if !seedSet {
		*seed = time.Now().UnixNano() % 1_000_000_000
	}
	if *target == "" {
		t, err := builtinTarget()
		if err != nil {
			return usageErr("%v", err)
		}
		*target = t
	}
	opts := difffuzz.Options{
		Target: *target, Style: *style, Duration: *duration, Seed: *seed,
		CallTimeout: *callTimeout, BootstrapTimeout: *bootTimeout,
	}
	if !*envFlags.inherit {
		opts.Env = envFlags.env()
	}
	if *format == "text" {
		fmt.Fprintf(stdout, "fuzzing %s for %v (seed %d)\n", *target, *duration, *seed)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := difffuzz.Run(ctx, opts)
	if err != nil {
		if ctx.Err() != nil {
			return usageErr("interrupted")
		}
		return usageErr("%v", err)
	}
	res := rep.Result()
	switch *format {
	case "text":
		r := conformance.NewTextReporter(stdout, conformance.TextOptions{Verbose: true})
		r.Begin(len(res.Cases), res)
		for i, c := range res.Cases {
			r.CaseDone(i+1, len(res.Cases), c)
		}
		r.End(res)
		fmt.Fprintf(stdout, "%d conform_loads inputs, %d conform_dumps values (%d inputs answered by the reference only); %d disagreement classes, %d not known deviations\n",
			rep.LoadsExecs, rep.DumpsExecs, rep.ReferenceOnly, len(rep.Findings), len(rep.Unclassified()))
		if rep.ReferenceOnly > 0 {
			fmt.Fprintf(stdout, "answered by the reference only: %s\n", difffuzz.ReferenceOnlyReason)
		}
	case "json":
		err = conformance.WriteJSON(stdout, res, false)
	case "fuzz-json":
		err = rep.WriteJSON(stdout)
	}
	if err != nil {
		return usageErr("%v", err)
	}
	if *junit != "" {
		if err := writeFileWith(*junit, func(w io.Writer) error { return conformance.WriteJUnit(w, res) }); err != nil {
			return usageErr("%v", err)
		}
	}
	if !res.OK() {
		return exitFailure
	}
	return exitOK
}
