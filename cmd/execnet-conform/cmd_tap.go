package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/execnet-conform/execnet-conform/conformance"
	"github.com/execnet-conform/execnet-conform/conformance/tap"
	"github.com/execnet-conform/execnet-conform/conformance/trace"
)

// runTap runs a worker command behind the recording, checking proxy.
func runTap(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("tap", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "", "write the trace to `directory`/trace-TIME-PID.jsonl (one file per session)")
	tracePath := fs.String("trace", "", "write the trace to `file` instead")
	noHandshake := fs.Bool("no-handshake", false, "the streams start with frames, not with the bootstrap handshake")
	maxPayload := fs.Int("max-payload", trace.DefaultMaxPayload, "payload `bytes` recorded per frame, larger ones by prefix and SHA-256 (0: all); replay needs whole master frames")
	quiet := fs.Bool("q", false, "do not print violations on standard error (they are still in the trace)")
	summary := fs.Bool("summary", false, "print a summary line on standard error when the session ends")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: execnet-conform tap [--out DIR | --trace FILE] [flags] -- WORKER-COMMAND [ARGS...]")
		fmt.Fprintln(stderr, "\nRuns the worker command behind a proxy that passes every byte through unchanged, records")
		fmt.Fprintln(stderr, "the session (trace format execnet-conform/trace/v1, JSON lines) and reports each violation")
		fmt.Fprintln(stderr, "of SPEC.md with its clause and frame on standard error. From execnet:")
		fmt.Fprintln(stderr, "  --tx popen//python=\"execnet-conform tap --out DIR -- python3\"")
		fmt.Fprintln(stderr, "Exit status: the worker's, or 2 if the tap could not run it.")
		fmt.Fprintln(stderr, "\nflags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return exitOK
		}
		return exitUsage
	}
	argv := fs.Args()
	if len(argv) == 0 {
		fmt.Fprintln(stderr, "execnet-conform tap: no worker command (give it after --)")
		return exitUsage
	}
	var report io.Writer = stderr
	if *quiet {
		report = nil
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := tap.Run(ctx, tap.Options{
		Argv: argv, OutDir: *out, TracePath: *tracePath,
		Stdin: stdin, Stdout: stdout, Stderr: stderr, Report: report,
		Handshake: !*noHandshake, MaxPayload: *maxPayload,
		Tool: "execnet-conform tap " + conformance.SuiteVersion,
	})
	if err != nil {
		fmt.Fprintf(stderr, "execnet-conform tap: %v\n", err)
		if res == nil {
			return exitUsage
		}
	}
	if *summary {
		fmt.Fprintf(stderr, "execnet-conform tap: %d violations; trace %s\n", len(res.Findings), res.TracePath)
	}
	if res.ExitCode < 0 {
		return exitUsage
	}
	return res.ExitCode
}
