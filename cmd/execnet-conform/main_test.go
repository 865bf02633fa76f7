package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/execnet-conform/execnet-conform/internal/hostileworker"
	"github.com/execnet-conform/execnet-conform/internal/peers"
	"github.com/rogpeppe/go-internal/testscript"
)

// TestMain makes the test binary double as the execnet-conform command
// inside test scripts (testscript installs it on PATH under that name).
func TestMain(m *testing.M) {
	hostileworker.Main() // returns unless started as a hostile worker
	testscript.Main(m, map[string]func(){
		"execnet-conform": func() { os.Exit(mainArgs(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) },
	})
}

// TestScripts runs the CLI scripts in testdata/script.
//
// Extra script commands:
//
//	exitcode N CMD ARGS...   run CMD and require exit status N; its
//	                         stdout and stderr are kept for later checks
//
// $MAKE_MUTANT is testdata/mutants/make_mutant.py (a broken copy of the
// installed Python execnet).
//
// Extra conditions: [cpython] and [pypy] hold when that interpreter with
// execnet is installed; when EXECNET_REQUIRE_PEERS=1 a missing one is an
// error instead of a false condition.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir: "../../testdata/script",
		Setup: func(env *testscript.Env) error {
			env.Setenv("NO_COLOR", "1")
			env.Setenv("CPYTHON", peers.CPythonPath)
			env.Setenv("PYPY", peers.PyPyPath)
			mutant, err := filepath.Abs("../../testdata/mutants/make_mutant.py")
			if err != nil {
				return err
			}
			env.Setenv("MAKE_MUTANT", mutant)
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"exitcode": cmdExitCode,
		},
		Condition: func(cond string) (bool, error) {
			var path string
			switch cond {
			case "cpython":
				path = peers.CPythonPath
			case "pypy":
				path = peers.PyPyPath
			default:
				return false, fmt.Errorf("unknown condition %q", cond)
			}
			if exec.Command(path, "-c", "import execnet").Run() == nil {
				return true, nil
			}
			if peers.Required() {
				return false, fmt.Errorf("peer not available: %s with execnet; EXECNET_REQUIRE_PEERS=1 makes this a failure", path)
			}
			return false, nil
		},
	})
}

func cmdExitCode(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! exitcode")
	}
	if len(args) < 2 {
		ts.Fatalf("usage: exitcode N command [args...]")
	}
	want, err := strconv.Atoi(args[0])
	if err != nil {
		ts.Fatalf("exitcode: bad status %q", args[0])
	}
	got := 0
	if err := ts.Exec(args[1], args[2:]...); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			ts.Fatalf("exitcode: %v", err)
		}
		got = ee.ExitCode()
	}
	if got != want {
		ts.Fatalf("%s exited with status %d, want %d", args[1], got, want)
	}
}
