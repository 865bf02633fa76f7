// Command execnet-conform checks execnet implementations against SPEC.md,
// serves as a Go execnet worker, and converts values to and from the wire
// form. Run "execnet-conform help" for the subcommands.
package main

import (
	"fmt"
	"io"
	"os"
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
	}
}

func main() {
	os.Exit(mainArgs(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func mainArgs(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stdout)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
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
		if c.name == args[0] {
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
}
