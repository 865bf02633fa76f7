package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/execnet-conform/execnet-conform/conformance"
	"github.com/execnet-conform/execnet-conform/conformance/cases"
)

// patternList is a repeatable flag of comma-separated case patterns.
type patternList []string

func (p *patternList) String() string { return strings.Join(*p, ",") }

func (p *patternList) Set(s string) error {
	*p = append(*p, conformance.SplitPatterns(s)...)
	return nil
}

// runRun runs the conformance suite against a target.
func runRun(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	target := fs.String("target", "", "`xspec` of the worker under test (default: the built-in Go worker, this executable's \"worker\" subcommand)")
	style := fs.String("style", "import", "bootstrap style for Python targets: import (test the interpreter's own execnet) or exec (ship gateway_base.py)")
	var run, skip patternList
	fs.Var(&run, "run", "run only cases matching these `patterns` (comma-separated, repeatable; glob per id segment, ** for any segments, or prefix)")
	fs.Var(&skip, "skip", "skip cases matching these `patterns` (as for --run)")
	var clauses patternList
	fs.Var(&clauses, "clause", "run only the cases that cite these SPEC.md `clauses` (SER-INT-1, or globs such as SER-INT-*; comma-separated, repeatable)")
	var profiles patternList
	fs.Var(&profiles, "profile", "also run the cases of these optional `profiles` of SPEC.md 12.8 that the target claims (via, or all; comma-separated, repeatable; by default only the core profile is tested)")
	strict := fs.Bool("strict", false, "also run the SHOULD and MAY cases (by default only MUST cases run and count, as in h2spec)")
	timeout := fs.Duration("timeout", 0, "default deadline of each case (default 5s, with every deadline scaled by the target's round-trip time measured at start; a value given here is used as is)")
	runTimeout := fs.Duration("run-timeout", 0, "end the whole run after this long, writing the reports with what ran (0: no limit)")
	bootTimeout := fs.Duration("bootstrap-timeout", conformance.DefaultBootstrapTimeout, "deadline for starting the target")
	known := fs.String("known-failing", "", "known failures: the `name` of a built-in list ("+strings.Join(conformance.KnownFailingNames(), ", ")+") or a file of lines \"case-id DEV-N [/regexp/] reason\" or \"case-id PORT: reason\"")
	writeKnown := fs.String("write-known-failing", "", "write a known-failing list for this run's failures to `file` (new entries are PORT:, to be edited)")
	seed := fs.Int64("seed", 0, "random seed for property cases (default: chosen at random and printed)")
	count := fs.Int("count", conformance.DefaultCount, "values tried by each property case")
	tracePath := fs.String("trace", "", "write the decoded wire log of the whole run to `file`")
	junit := fs.String("junit", "", "write a JUnit XML report to `file`")
	format := fs.String("format", "text", "report format on stdout: text or json")
	verbose := fs.Bool("v", false, "print a line for every case, also passing ones")
	envFlags := addTargetEnvFlags(fs)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: execnet-conform run [flags]")
		fmt.Fprintln(stderr, "\nRuns the conformance suite against a worker and reports a verdict per case.")
		fmt.Fprintln(stderr, "Exit status: 0 no unexpected outcome, 1 conformance failures, 2 usage or harness error.")
		fmt.Fprintln(stderr, "\nflags:")
		fs.PrintDefaults()
	}
	if code, ok := parseFlags(fs, args, stderr, "the target is given with --target"); !ok {
		return code
	}
	usageErr := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "execnet-conform run: "+format+"\n", a...)
		return exitUsage
	}
	if *format != "text" && *format != "json" {
		return usageErr("--format must be text or json, not %q", *format)
	}
	if *style != "import" && *style != "exec" {
		return usageErr("--style must be import or exec, not %q", *style)
	}
	if *timeout < 0 || *bootTimeout <= 0 || *runTimeout < 0 {
		return usageErr("timeouts must be positive")
	}
	if *count <= 0 {
		return usageErr("--count must be positive")
	}
	seedSet := false
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "seed" {
			seedSet = true
		}
	})
	if !seedSet {
		*seed = time.Now().UnixNano() % 1_000_000_000
	}
	sel := conformance.Selector{Run: run, Skip: skip, Profiles: profiles}
	if err := sel.Validate(); err != nil {
		return usageErr("%v", err)
	}
	all := cases.All()
	if err := conformance.CheckCases(all); err != nil {
		return usageErr("%v", err)
	}
	if err := conformance.CheckProfiles(profiles, all); err != nil {
		return usageErr("--profile: %v", err)
	}
	var notes []string
	if len(clauses) > 0 {
		ids, err := conformance.CasesCiting(all, clauses)
		if err != nil {
			return usageErr("%v", err)
		}
		sel.Only = ids
	}
	if !*strict {
		chosen := countSelected(all, sel)
		sel.Only = conformance.Intersect(sel.Only, conformance.CasesAtLevels(all, conformance.MUST))
		if n := chosen - countSelected(all, sel); n > 0 {
			notes = append(notes, fmt.Sprintf("%d SHOULD or MAY cases not run (--strict runs them)", n))
		}
	}
	if n := countUnclaimed(all, sel); n > 0 {
		notes = append(notes, fmt.Sprintf("%d cases of optional profiles not run (--profile %s runs them)", n, strings.Join(unclaimedProfiles(all, sel), ",")))
	}
	if countSelected(all, sel) == 0 {
		switch {
		case len(notes) > 0 && !*strict:
			return usageErr("no MUST case is selected; %s", strings.Join(notes, "; "))
		case len(notes) > 0:
			return usageErr("no case is selected; %s", strings.Join(notes, "; "))
		case len(run) > 0 && len(clauses) == 0:
			return usageErr("no case matches --run %s", run.String())
		default:
			return usageErr("no case is selected")
		}
	}
	targetLabel := ""
	if *target == "" {
		t, err := builtinTarget()
		if err != nil {
			return usageErr("%v", err)
		}
		*target = t
		targetLabel = builtinLabel(t)
	}
	opts := conformance.Options{
		Target: *target, Style: *style, Select: sel, Timeout: *timeout, BootstrapTimeout: *bootTimeout,
		Seed: *seed, Count: *count, InheritEnv: *envFlags.inherit,
		Env: envFlags.env(),
	}
	if *known != "" {
		kf, err := conformance.OpenKnownFailing(*known)
		if err != nil {
			return usageErr("%v", err)
		}
		opts.KnownFailing = kf
	}
	// Output files are checked before the first case: a report that
	// cannot be written is a usage error now, not after the whole run.
	if *junit != "" {
		if err := checkCreatable(*junit); err != nil {
			return usageErr("--junit: %v", err)
		}
	}
	if *writeKnown != "" {
		if err := checkCreatable(*writeKnown); err != nil {
			return usageErr("--write-known-failing: %v", err)
		}
	}
	var traceFile *os.File
	var traceBuf *bufio.Writer
	if *tracePath != "" {
		f, err := os.Create(*tracePath)
		if err != nil {
			return usageErr("--trace: %v", err)
		}
		traceFile = f
		traceBuf = bufio.NewWriter(f)
		opts.Trace = traceBuf
	}

	var rep conformance.Reporter
	if *format == "text" {
		tty := isTerminal(stdout)
		rep = conformance.NewTextReporter(stdout, conformance.TextOptions{
			Color:    tty && os.Getenv("NO_COLOR") == "",
			Progress: tty,
			Verbose:  *verbose,
			Target:   targetLabel,
			Notes:    notes,
		})
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *runTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, *runTimeout, fmt.Errorf("the run's time limit (--run-timeout %v) passed", *runTimeout))
		defer cancel()
	}
	res, err := conformance.Run(ctx, opts, all, rep)
	if traceFile != nil {
		ferr := traceBuf.Flush()
		if cerr := traceFile.Close(); ferr == nil {
			ferr = cerr
		}
		if ferr != nil && err == nil {
			err = fmt.Errorf("writing %s: %w", *tracePath, ferr)
		}
	}
	// Reports are written however the run ended (a harness error, an
	// interrupt, the run's time limit), with what ran so far.
	code := exitOK
	if err != nil {
		fmt.Fprintf(stderr, "execnet-conform run: %v\n", err)
		code = exitUsage
	}
	if res == nil {
		return exitUsage
	}
	if *format == "json" {
		if err := conformance.WriteJSON(stdout, res, true); err != nil {
			fmt.Fprintf(stderr, "execnet-conform run: %v\n", err)
			return exitUsage
		}
	}
	if *junit != "" {
		if err := writeFileWith(*junit, func(w io.Writer) error { return conformance.WriteJUnit(w, res) }); err != nil {
			fmt.Fprintf(stderr, "execnet-conform run: %v\n", err)
			return exitUsage
		}
	}
	if *writeKnown != "" {
		if err := writeFileWith(*writeKnown, func(w io.Writer) error { return conformance.WriteKnownFailing(w, res) }); err != nil {
			fmt.Fprintf(stderr, "execnet-conform run: %v\n", err)
			return exitUsage
		}
	}
	if code != exitOK {
		return code
	}
	if res.Interrupted != "" || ctx.Err() != nil {
		fmt.Fprintf(stderr, "execnet-conform run: interrupted: %s\n", res.Interrupted)
		return exitUsage
	}
	if !res.OK() {
		return exitFailure
	}
	return exitOK
}

// runList lists the cases of the suite.
func runList(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("list", flag.ContinueOnError)
	fs.SetOutput(stderr)
	format := fs.String("format", "text", "output format: text or json")
	var run, skip patternList
	fs.Var(&run, "run", "list only cases matching these `patterns`")
	fs.Var(&skip, "skip", "leave out cases matching these `patterns`")
	var clauses patternList
	fs.Var(&clauses, "clause", "list only the cases that cite these SPEC.md `clauses` (SER-INT-1, SER-INT-*)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: execnet-conform list [--format text|json] [--run P] [--skip P] [--clause C]")
		fs.PrintDefaults()
	}
	if code, ok := parseFlags(fs, args, stderr, ""); !ok {
		return code
	}
	if *format != "text" && *format != "json" {
		fmt.Fprintf(stderr, "execnet-conform list: --format must be text or json, not %q\n", *format)
		return exitUsage
	}
	// The catalogue lists the cases of every profile, each marked.
	sel := conformance.Selector{Run: run, Skip: skip, Profiles: []string{conformance.AllProfiles}}
	if err := sel.Validate(); err != nil {
		fmt.Fprintf(stderr, "execnet-conform list: %v\n", err)
		return exitUsage
	}
	if len(clauses) > 0 {
		ids, err := conformance.CasesCiting(cases.All(), clauses)
		if err != nil {
			fmt.Fprintf(stderr, "execnet-conform list: %v\n", err)
			return exitUsage
		}
		sel.Only = ids
	}
	var out []conformance.Case
	for _, c := range cases.All() {
		if sel.Selects(c) {
			out = append(out, c)
		}
	}
	if err := conformance.WriteList(stdout, out, *format); err != nil {
		fmt.Fprintf(stderr, "execnet-conform list: %v\n", err)
		return exitUsage
	}
	return exitOK
}

// countUnclaimed counts the cases that sel would select if it claimed
// every profile, but does not because their profile is not claimed.
func countUnclaimed(all []conformance.Case, sel conformance.Selector) int {
	n := 0
	for _, c := range all {
		if !sel.ClaimsProfile(c.Profile) && sel.Match(c.ID) {
			n++
		}
	}
	return n
}

// unclaimedProfiles names the profiles of the cases countUnclaimed counts.
func unclaimedProfiles(all []conformance.Case, sel conformance.Selector) []string {
	var out []conformance.Case
	for _, c := range all {
		if !sel.ClaimsProfile(c.Profile) && sel.Match(c.ID) {
			out = append(out, c)
		}
	}
	return conformance.CaseProfiles(out)
}

func countSelected(all []conformance.Case, sel conformance.Selector) int {
	n := 0
	for _, c := range all {
		if sel.Selects(c) {
			n++
		}
	}
	return n
}

// builtinTarget returns the xspec of this executable's worker subcommand.
// It resolves os.Args[0] (through PATH when it has no directory), so that
// a copy or link of the binary under another name is still found.
func builtinTarget() (string, error) {
	self := os.Args[0]
	var err error
	if !strings.ContainsRune(self, filepath.Separator) {
		self, err = exec.LookPath(self)
	}
	if err == nil {
		self, err = filepath.Abs(self)
	}
	if err != nil {
		if self, err = os.Executable(); err != nil {
			return "", fmt.Errorf("cannot find this executable for the built-in worker: %w", err)
		}
	}
	return "popen//python=" + shellQuote(self) + " worker", nil
}

// builtinLabel names the built-in target in the text report's header:
// "the built-in Go worker (XSPEC)", or, when the binary is go run's
// temporary build, without its path, which would mean nothing after the
// run.
func builtinLabel(xspec string) string {
	self := strings.TrimSuffix(strings.TrimPrefix(xspec, "popen//python="), " worker")
	if isGoRunBinary(self) {
		return "the built-in Go worker (execnet-conform worker, go run's temporary build)"
	}
	return "the built-in Go worker (" + xspec + ")"
}

// isGoRunBinary reports whether path is a binary that go run built in a
// temporary go-build directory.
func isGoRunBinary(path string) bool {
	path = strings.Trim(path, "'")
	if !strings.HasPrefix(path, filepath.Clean(os.TempDir())+string(filepath.Separator)) {
		return false
	}
	for _, el := range strings.Split(filepath.ToSlash(path), "/") {
		if strings.HasPrefix(el, "go-build") {
			return true
		}
	}
	return false
}

// shellQuote quotes s for the shell-style split of xspec's python= value.
func shellQuote(s string) string {
	safe := s != ""
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("_-./+:@%=,", r)) {
			safe = false
			break
		}
	}
	if safe {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'"'"'`) + "'"
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// writeFileWith creates path and writes it with fn.
func writeFileWith(path string, fn func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(f)
	err = fn(bw)
	if ferr := bw.Flush(); err == nil {
		err = ferr
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// checkCreatable reports whether path can be created or overwritten,
// without leaving a new file behind.
func checkCreatable(path string) error {
	if st, err := os.Stat(path); err == nil {
		if st.IsDir() {
			return fmt.Errorf("%s is a directory", path)
		}
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			return err
		}
		return f.Close()
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o666)
	if err != nil {
		return err
	}
	f.Close()
	return os.Remove(path)
}
