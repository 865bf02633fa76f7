// Command execnet-conform checks execnet implementations against SPEC.md,
// serves as a Go execnet worker, and converts values to and from the wire
// form. Run "execnet-conform help" for the subcommands.
package main

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"

	"github.com/execnet-conform/execnet-conform/conformance"
	"github.com/execnet-conform/execnet-conform/spec"
)

// Exit statuses shared by all subcommands.
const (
	exitOK      = 0
	exitFailure = 1 // conformance failures (run, fuzz)
	exitUsage   = 2 // usage, bad input or harness errors
)

type command struct {
	name    string
	summary string
	run     func(args []string, stdin io.Reader, stdout, stderr io.Writer) int
}

func commands() []command {
	return []command{
		{"run", "run the conformance suite against a target", runRun},
		{"list", "list the conformance cases and their clauses", runList},
		{"worker", "serve the execnet protocol as a Go worker", runWorker},
		{"dumps", "encode a Python literal and print its hex", runDumps},
		{"loads", "decode hex and print the value as a Python literal", runLoads},
		{"bench", "measure serialization and channel throughput side by side", runBench},
		{"fuzz", "differential fuzzing of a target against the reference codec", runFuzz},
		{"compare", "compare two JSON run reports case by case (exit 1 on a regression)", runCompare},
		{"matrix", "run the suite against several targets and tabulate the differing outcomes", runMatrix},
		{"tap", "run a worker command behind a recording, checking proxy", runTap},
		{"replay", "play a recorded session's master side against a worker and compare its answers", runReplay},
		{"version", "print the versions of the suite, the spec and the build", runVersion},
		{"help", "show the help of a command (help COMMAND)", nil},
	}
}

func main() {
	os.Exit(mainArgs(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func mainArgs(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "-help" {
		usage(stdout)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	if args[0] == "help" {
		return runHelp(args[1:], stdin, stdout, stderr)
	}
	if args[0] == "--version" || args[0] == "-version" {
		return runVersion(args[1:], stdin, stdout, stderr)
	}
	// Python execnet starts a popen worker as "PYTHON -u -c LINE"; accept
	// those interpreter arguments as the worker subcommand.
	if args[0] == "-u" || args[0] == "-B" || args[0] == "-c" {
		return runWorker(args, stdin, stdout, stderr)
	}
	switch args[0] { // hidden helpers: the child processes of bench's raw-pipe figures
	case "bench-pipe-source":
		return runPipeSource(args[1:], stdin, stdout, stderr)
	case "bench-pipe-echo":
		return runPipeEcho(args[1:], stdin, stdout, stderr)
	}
	for _, c := range commands() {
		if c.name == args[0] && c.run != nil {
			return c.run(args[1:], stdin, stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "execnet-conform: unknown command %q (try \"execnet-conform help\")\n", args[0])
	return exitUsage
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: execnet-conform COMMAND [flags]\n\ncommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\n\"execnet-conform help COMMAND\" or \"execnet-conform COMMAND -h\" shows a command's flags;")
	fmt.Fprintln(w, "\"execnet-conform --version\" the versions.")
}

// runHelp implements "help [COMMAND]": the overview, or the command's own
// -h text, on stdout, exit 0.
func runHelp(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	switch {
	case len(args) == 0:
		usage(stdout)
		return exitOK
	case len(args) > 1:
		fmt.Fprintf(stderr, "execnet-conform help: give one command, not %q\n", args)
		return exitUsage
	}
	for _, c := range commands() {
		if c.name == args[0] && c.run != nil {
			// The command prints its usage on its stderr for -h; help is
			// asked for, so it goes to stdout.
			c.run([]string{"-h"}, stdin, stdout, stdout)
			return exitOK
		}
	}
	if args[0] == "help" {
		usage(stdout)
		return exitOK
	}
	fmt.Fprintf(stderr, "execnet-conform help: unknown command %q (try \"execnet-conform help\")\n", args[0])
	return exitUsage
}

// runVersion implements "version" and "--version": the suite and spec
// versions, and what the binary was built from (module version, VCS
// revision when known, Go version and platform).
func runVersion(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 1 && (args[0] == "-h" || args[0] == "--help" || args[0] == "-help") {
		fmt.Fprintln(stderr, "usage: execnet-conform version (or --version)\n\nPrints the suite and spec versions and what the binary was built from.")
		return exitOK
	}
	if len(args) > 0 {
		fmt.Fprintf(stderr, "execnet-conform version: unexpected arguments %q\n", args)
		return exitUsage
	}
	fmt.Fprintf(stdout, "execnet-conform %s (conformance suite), spec %s\n", conformance.SuiteVersion, spec.Version)
	fmt.Fprintln(stdout, buildLine())
	return exitOK
}

// buildLine describes the build from the binary's build information.
func buildLine() string {
	goVer := runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "built with " + goVer
	}
	s := "module " + bi.Main.Path
	if bi.Main.Version != "" {
		s += " " + bi.Main.Version
	}
	var rev, modified string
	for _, kv := range bi.Settings {
		switch kv.Key {
		case "vcs.revision":
			rev = kv.Value
		case "vcs.modified":
			modified = kv.Value
		}
	}
	if rev != "" {
		s += ", revision " + rev[:min(12, len(rev))]
		if modified == "true" {
			s += " (modified)"
		}
	}
	return s + ", built with " + goVer
}
