package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/execnet-conform/execnet-conform/conformance"
)

// parseFlags parses args into fs and rejects positional arguments (hint,
// if not empty, is added to that message). When the command must end at
// once (-h, a bad flag, a stray argument) it returns the exit status and
// false.
func parseFlags(fs *flag.FlagSet, args []string, stderr io.Writer, hint string) (int, bool) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK, false
		}
		return exitUsage, false
	}
	if fs.NArg() > 0 {
		if hint != "" {
			hint = " (" + hint + ")"
		}
		fmt.Fprintf(stderr, "execnet-conform %s: unexpected arguments %q%s\n", fs.Name(), fs.Args(), hint)
		return exitUsage, false
	}
	return exitOK, true
}

// targetEnvFlags are the --pass-env and --inherit-env flags of the
// commands that start a popen target (run, fuzz).
type targetEnvFlags struct {
	pass    patternList
	inherit *bool
}

func addTargetEnvFlags(fs *flag.FlagSet) *targetEnvFlags {
	e := &targetEnvFlags{}
	fs.Var(&e.pass, "pass-env", "also pass these environment `variables` to a popen target (names, or prefixes ending in *; comma-separated, repeatable); by default it gets only PATH, HOME, locale, temporary directories and PYTHON*")
	e.inherit = fs.Bool("inherit-env", false, "pass the whole environment to a popen target (it may see secrets)")
	return e
}

// env returns the reduced environment for the target.
func (e *targetEnvFlags) env() []string { return conformance.TargetEnv(os.Environ(), e.pass) }
