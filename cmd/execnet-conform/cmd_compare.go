package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/execnet-conform/execnet-conform/conformance/compare"
)

// runCompare compares two JSON run reports case by case.
func runCompare(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("compare", flag.ContinueOnError)
	fs.SetOutput(stderr)
	format := fs.String("format", "text", "output format: text, markdown or json")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: execnet-conform compare [--format text|markdown|json] OLD.json NEW.json")
		fmt.Fprintln(stderr, "\nCompares two reports of \"execnet-conform run --format json\" case by case: regressed,")
		fmt.Fprintln(stderr, "changed failure, fixed, skipped in one run only, new and removed cases, with clauses and")
		fmt.Fprintln(stderr, "messages side by side. Known-failing lists are taken out: xfail counts as failed, xpass as passed.")
		fmt.Fprintln(stderr, "Exit status: 0 no regression, 1 a case regressed (or a failure became a crash), 2 usage or unreadable report.")
		fmt.Fprintln(stderr, "\nflags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return exitOK
		}
		return exitUsage
	}
	usageErr := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "execnet-conform compare: "+format+"\n", a...)
		return exitUsage
	}
	if fs.NArg() != 2 {
		return usageErr("want two reports, OLD.json NEW.json (got %d arguments)", fs.NArg())
	}
	write := map[string]func(io.Writer, *compare.Comparison) error{
		"text": compare.WriteText, "markdown": compare.WriteMarkdown, "md": compare.WriteMarkdown, "json": compare.WriteJSON,
	}[*format]
	if write == nil {
		return usageErr("--format must be text, markdown or json, not %q", *format)
	}
	old, err := compare.ReadReportFile(fs.Arg(0))
	if err != nil {
		return usageErr("%v", err)
	}
	new, err := compare.ReadReportFile(fs.Arg(1))
	if err != nil {
		return usageErr("%v", err)
	}
	c := compare.Compare(old, new)
	if err := write(stdout, c); err != nil {
		return usageErr("%v", err)
	}
	if !c.OK() {
		return exitFailure
	}
	return exitOK
}
