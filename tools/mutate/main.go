//go:build linux

// Command mutate runs the mutation harness of package
// internal/mutation: it mutates the Go reference worker's packages, runs
// the conformance suite against each sampled mutant, and writes the
// report (report.md, report.json) next to the explanations of survivors.
//
//	go run ./tools/mutate                  # seed 1, 160 mutants, report in testdata/mutation
//	go run ./tools/mutate -n 0             # every mutant (hours on two cores)
//	go run ./tools/mutate -work /tmp/m -resume   # continue an interrupted run
//
// Run it from the module root. Builds and runs are niced (-nice).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/execnet-conform/execnet-conform/internal/mutation"
)

func main() {
	seed := flag.Int64("seed", 1, "sampling seed (also the runner's --seed)")
	n := flag.Int("n", 160, "mutants to run, chosen by the seed; 0 runs all")
	pkgs := flag.String("packages", "reference/worker,reference/codec,reference/frame,reference/gateway", "package directories to mutate (comma-separated)")
	out := flag.String("out", "testdata/mutation", "directory for report.md and report.json")
	explain := flag.String("explain", "testdata/mutation/explanations.json", "explanations of survivors, keyed by mutant id")
	work := flag.String("work", "", "scratch directory (default: a new temporary directory, removed at the end)")
	resume := flag.Bool("resume", false, "reuse results recorded in -work by an earlier run")
	bound := flag.Duration("mutant-timeout", 3*time.Minute, "wall-clock bound of one mutant's suite run")
	caseTimeout := flag.Duration("timeout", 0, "the runner's per-case deadline (0: the runner's own default)")
	nice := flag.Int("nice", 15, "niceness of builds and runs (0: none)")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *seed, *n, *pkgs, *out, *explain, *work, *resume, *bound, *caseTimeout, *nice); err != nil {
		fmt.Fprintln(os.Stderr, "mutate:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, seed int64, n int, pkgs, out, explain, work string, resume bool,
	bound, caseTimeout time.Duration, nice int) error {
	expl, err := mutation.ReadExplanations(explain)
	if err != nil {
		return err
	}
	if work == "" {
		if resume {
			return fmt.Errorf("-resume needs -work")
		}
		work, err = os.MkdirTemp("", "mutate-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(work)
	}
	work, err = filepath.Abs(work)
	if err != nil {
		return err
	}
	root, err := os.Getwd()
	if err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		return fmt.Errorf("run it from the module root (no go.mod in %s)", root)
	}
	c := &mutation.Config{Root: root, Packages: strings.Split(pkgs, ","),
		Worker: "./internal/mutation/worker", Runner: "./cmd/execnet-conform",
		Seed: seed, Sample: n, MutantTimeout: bound, CaseTimeout: caseTimeout, Nice: nice,
		WorkDir: work, Go: "go", Log: os.Stderr, Resume: resume}
	res, err := mutation.Execute(ctx, c)
	if err != nil {
		return err
	}
	rep := mutation.NewReport(res, expl)
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	cmd := "go run ./tools/mutate"
	if seed != 1 || n != 160 {
		cmd = fmt.Sprintf("go run ./tools/mutate -seed %d -n %d", seed, n)
	}
	for _, f := range []struct {
		name  string
		write func(*os.File) error
	}{
		{"report.json", func(f *os.File) error { return rep.WriteJSON(f) }},
		{"report.md", func(f *os.File) error { return rep.WriteMarkdown(f, cmd) }},
	} {
		fh, err := os.Create(filepath.Join(out, f.name))
		if err != nil {
			return err
		}
		if err := f.write(fh); err != nil {
			fh.Close()
			return err
		}
		if err := fh.Close(); err != nil {
			return err
		}
	}
	c2 := rep.Counts
	fmt.Fprintf(os.Stderr, "mutate: %d generated, %d sampled, %d run: %d killed, %d survived (%d equivalent, %d gap, %d unexplained), %d not compiled, %d identical; score %.1f%%\n",
		rep.Generated, rep.Sampled, c2.Run, c2.Killed, c2.Survived, c2.Equivalent, c2.Gap, c2.Unexplained, c2.NotCompiled, c2.IdenticalBin, 100*rep.Score)
	return nil
}
