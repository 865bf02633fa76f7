package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/execnet-conform/execnet-conform/conformance"
	"github.com/execnet-conform/execnet-conform/conformance/cases"
	"github.com/execnet-conform/execnet-conform/conformance/compare"
)

// defaultMatrixTargets are the columns of "execnet-conform matrix"
// without --targets.
const defaultMatrixTargets = "go,execnet-1.9.0,execnet-2.0.2,execnet-2.1.2,execnet-main,pypy3"

// runMatrix runs the suite against several targets and prints the table
// of the cases whose outcome differs.
func runMatrix(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("matrix", flag.ContinueOnError)
	fs.SetOutput(stderr)
	targets := fs.String("targets", defaultMatrixTargets, "comma-separated `targets`: go, execnet-VERSION (1.9.0 is Debian's, others from the peers directory), pypy3, or an xspec; NAME=TARGET names the column (and the --out file)")
	var run, skip patternList
	fs.Var(&run, "run", "run only cases matching these `patterns`")
	fs.Var(&skip, "skip", "skip cases matching these `patterns`")
	knownDir := fs.String("known-failures", "", "`directory` of known-failing lists NAME.txt to use instead of the built-in ones; a target whose list is missing runs without one")
	noKnown := fs.Bool("no-known-failing", false, "run every target without a known-failing list")
	format := fs.String("format", "markdown", "output format: markdown or json")
	byStatus := fs.Bool("status", false, "cells show passed/failed/skipped, with known-failing lists taken out (xfail is failed, xpass passed), so rows differ only where behaviour does")
	outDir := fs.String("out", "", "also write each target's JSON run report to `directory`/NAME.json (for compare)")
	seed := fs.Int64("seed", 1, "random seed for property cases, the same for every target")
	count := fs.Int("count", conformance.DefaultCount, "values tried by each property case")
	timeout := fs.Duration("timeout", conformance.DefaultTimeout, "default deadline of each case")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: execnet-conform matrix [flags]")
		fmt.Fprintln(stderr, "\nRuns the suite against each target in turn and prints one row per case whose outcome")
		fmt.Fprintln(stderr, "differs between them, one column per target, and the totals. Exit status: 0 the table was")
		fmt.Fprintln(stderr, "made (whatever the outcomes), 2 usage error or no target could be run.")
		fmt.Fprintln(stderr, "Peers directory: $"+conformance.PeersEnvVar+", else the nearest shared/peers above the working directory.")
		fmt.Fprintln(stderr, "\nflags:")
		fs.PrintDefaults()
	}
	if code, ok := parseFlags(fs, args, stderr, "targets are given with --targets"); !ok {
		return code
	}
	usageErr := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "execnet-conform matrix: "+format+"\n", a...)
		return exitUsage
	}
	write := map[string]func(io.Writer, *compare.Matrix) error{
		"markdown": compare.WriteMatrixMarkdown, "md": compare.WriteMatrixMarkdown, "json": compare.WriteMatrixJSON,
	}[*format]
	if write == nil {
		return usageErr("--format must be markdown or json, not %q", *format)
	}
	if *timeout <= 0 || *count <= 0 {
		return usageErr("--timeout and --count must be positive")
	}
	sel := conformance.Selector{Run: run, Skip: skip}
	if err := sel.Validate(); err != nil {
		return usageErr("%v", err)
	}
	var mts []compare.MatrixTarget
	for _, name := range strings.Split(*targets, ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		label := name
		if l, x, ok := strings.Cut(name, "="); ok && l != "" && !strings.Contains(l, "/") {
			label, name = l, x // NAME=TARGET names a column
		}
		xspec, env, knownName, err := conformance.NamedTarget(name)
		if err != nil {
			return usageErr("%v", err)
		}
		if xspec == "" {
			if xspec, err = builtinTarget(); err != nil {
				return usageErr("%v", err)
			}
		}
		mt := compare.MatrixTarget{Name: label, XSpec: xspec, Env: env}
		if knownName != "" && !*noKnown {
			p := knownName // a built-in list
			var kf []conformance.KnownFailure
			if *knownDir != "" {
				p = filepath.Join(*knownDir, knownName+".txt")
				kf, err = conformance.LoadKnownFailing(p)
			} else if slices.Contains(conformance.KnownFailingNames(), knownName) {
				kf, err = conformance.OpenKnownFailing(knownName)
			} else {
				err = os.ErrNotExist
			}
			switch {
			case err == nil:
				mt.KnownFailing, mt.KnownFile = kf, p
			case errors.Is(err, os.ErrNotExist):
				fmt.Fprintf(stderr, "execnet-conform matrix: %s: no known-failing list %s; running without one\n", label, p)
			default:
				return usageErr("%v", err)
			}
		}
		mts = append(mts, mt)
	}
	if len(mts) == 0 {
		return usageErr("--targets names no target")
	}
	if *outDir != "" {
		if err := os.MkdirAll(*outDir, 0o755); err != nil {
			return usageErr("%v", err)
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	base := conformance.Options{Select: sel, Seed: *seed, Count: *count, Timeout: *timeout}
	cols, results, err := compare.RunColumns(ctx, base, mts, cases.All(), stderr)
	if err != nil {
		return usageErr("%v", err)
	}
	m := compare.NewMatrix(cols)
	if *byStatus {
		m = compare.NewStatusMatrix(cols)
	}
	ran := 0
	for i, res := range results {
		if res == nil {
			continue
		}
		ran++
		if *outDir != "" {
			p := filepath.Join(*outDir, reportFileName(mts[i].Name)+".json")
			if err := writeFileWith(p, func(w io.Writer) error { return conformance.WriteJSON(w, res, false) }); err != nil {
				return usageErr("%v", err)
			}
		}
	}
	if err := write(stdout, m); err != nil {
		return usageErr("%v", err)
	}
	if ran == 0 {
		fmt.Fprintln(stderr, "execnet-conform matrix: no target could be run")
		return exitUsage
	}
	return exitOK
}

// reportFileName makes a target name usable as a file name.
func reportFileName(name string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, name)
}
