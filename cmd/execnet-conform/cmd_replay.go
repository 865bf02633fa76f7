package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/execnet-conform/execnet-conform/conformance"
	"github.com/execnet-conform/execnet-conform/conformance/monitor"
	"github.com/execnet-conform/execnet-conform/conformance/replay"
	"github.com/execnet-conform/execnet-conform/conformance/trace"
	"github.com/execnet-conform/execnet-conform/spec"
)

// runReplay plays a recorded session's master side against a worker.
func runReplay(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("replay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	target := fs.String("target", "", "the worker: a named target (go, execnet-VERSION, pypy3) or an `xspec`")
	wait := fs.Duration("wait", 5*time.Second, "bound of each wait for the worker's frames")
	format := fs.String("format", "text", "output format: text or json")
	all := fs.Bool("all", false, "show every divergence (one per channel), not only the first")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: execnet-conform replay --target XSPEC [flags] TRACE.jsonl")
		fmt.Fprintln(stderr, "\nPlays the master's frames of a trace recorded by \"execnet-conform tap\" against the worker")
		fmt.Fprintln(stderr, "and compares its answers, channel by channel, with the recorded ones after normalisation")
		fmt.Fprintln(stderr, "(see the replay package documentation). The replayed traffic is also checked against SPEC.md.")
		fmt.Fprintln(stderr, "Exit status: 0 same answers and no violation, 1 a divergence or violation, 2 usage or harness error.")
		fmt.Fprintln(stderr, "\nflags:")
		fs.PrintDefaults()
	}
	// Flags may follow the trace file.
	var files []string
	rest := args
	for {
		if err := fs.Parse(rest); err != nil {
			if err == flag.ErrHelp {
				return exitOK
			}
			return exitUsage
		}
		if fs.NArg() == 0 {
			break
		}
		files = append(files, fs.Arg(0))
		rest = fs.Args()[1:]
	}
	usageErr := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "execnet-conform replay: "+format+"\n", a...)
		return exitUsage
	}
	if len(files) != 1 {
		return usageErr("want one trace file (got %d)", len(files))
	}
	if *target == "" {
		return usageErr("--target is required")
	}
	if *format != "text" && *format != "json" {
		return usageErr("--format must be text or json, not %q", *format)
	}
	xs, env, _, err := conformance.NamedTarget(*target)
	if err != nil {
		return usageErr("%v", err)
	}
	if xs == "" {
		if xs, err = builtinTarget(); err != nil {
			return usageErr("%v", err)
		}
	}
	f, err := os.Open(files[0])
	if err != nil {
		return usageErr("%v", err)
	}
	tr, err := trace.Read(f)
	f.Close()
	if err != nil {
		return usageErr("%v", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := replay.Run(ctx, tr, replay.Options{Target: xs, Env: env, Wait: *wait})
	if err != nil {
		return usageErr("%v", err)
	}
	if *format == "json" {
		out := struct {
			Schema      string              `json:"schema"`
			Trace       string              `json:"trace"`
			Target      string              `json:"target"`
			MasterSent  int                 `json:"master_frames_sent"`
			Recorded    int                 `json:"worker_frames_recorded"`
			Replayed    int                 `json:"worker_frames_replayed"`
			Divergences []replay.Divergence `json:"divergences"`
			Findings    []monitor.Finding   `json:"findings"`
		}{Schema: "execnet-conform/replay/v1", Trace: files[0], Target: res.Target, MasterSent: res.MasterSent,
			Recorded: res.Recorded, Replayed: res.WorkerFrames, Divergences: res.Divergences, Findings: res.Findings}
		if out.Divergences == nil {
			out.Divergences = []replay.Divergence{}
		}
		if out.Findings == nil {
			out.Findings = []monitor.Finding{}
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		if err := enc.Encode(out); err != nil {
			return usageErr("%v", err)
		}
	} else {
		fmt.Fprintf(stdout, "replayed %s against %s: %d master frames sent, %d worker frames (%d recorded)\n",
			files[0], res.Target, res.MasterSent, res.WorkerFrames, res.Recorded)
		shown := res.Divergences
		if !*all && len(shown) > 1 {
			shown = shown[:1]
		}
		for i, d := range shown {
			what := "divergence"
			if i == 0 {
				what = "first divergence"
			}
			fmt.Fprintf(stdout, "%s: %s\n", what, d)
			if c, ok := spec.Lookup(d.Clause); ok {
				fmt.Fprintf(stdout, "  [%s] %s: %s\n", c.ID, c.Level, c.Text)
			}
		}
		if n := len(res.Divergences) - len(shown); n > 0 {
			fmt.Fprintf(stdout, "(%d more channels diverge; --all shows them)\n", n)
		}
		for _, f := range res.Findings {
			fmt.Fprintf(stdout, "violation: %s\n", f)
		}
		fmt.Fprintf(stdout, "%d divergences, %d violations\n", len(res.Divergences), len(res.Findings))
	}
	if len(res.Divergences) > 0 || len(res.Findings) > 0 {
		return exitFailure
	}
	return exitOK
}
