package cases

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/execnet-conform/execnet-conform/conformance"
	"github.com/execnet-conform/execnet-conform/internal/peers"
)

// mutantBound bounds one run of the selected cases against a mutant; a run
// that does not return by then has hung.
const mutantBound = 90 * time.Second

// mutants names each mutant of testdata/mutants/make_mutant.py with the
// case groups that must catch it.
var mutants = []struct {
	name   string
	groups []string
}{
	{"float-little-endian", []string{"serial/float"}},
	{"bytes-as-text", []string{"serial/bytes"}},
	{"error-as-close", []string{"errors/remote"}},
	{"terminate-ignored", []string{"termination/terminate/connection-ends"}},
	{"status-unanswered", []string{"status/reply/data-then-close"}},
	{"odd-channel-ids", []string{"channel/ids"}},
	// Classes of issue #15, each caught by its new cases only (the rest
	// of the suite passes against these mutants).
	{"reconfigure-retroactive", []string{"reconfigure/gateway/existing-channel-unchanged"}},
	{"last-message-ignored", []string{"channel/last-message/execution-ends"}},
	{"failed-exec-still-counted", []string{"termination/eof/after-failed-executions"}},
	{"close-error-unknown-lenient", []string{"robustness/unknown-id/undecodable-close-error"}},
	{"partial-read-counts", []string{"delivery/coalesced/eof-inside-payload"}},
	{"terminate-answered", []string{"termination/terminate/payload-ignored"}},
}

// runAgainst runs the cases matching groups against CPython execnet with
// pythonPath first on PYTHONPATH (import style, so the worker imports the
// execnet found there), and fails t if the run does not return within
// mutantBound.
func runAgainst(t *testing.T, python, pythonPath string, groups []string, known []conformance.KnownFailure) *conformance.Result {
	t.Helper()
	env := conformance.TargetEnv(os.Environ(), nil)
	if pythonPath != "" {
		env = append(env, "PYTHONPATH="+pythonPath)
	}
	opts := conformance.Options{
		Target:       "popen//python=" + python,
		Style:        "import",
		Select:       conformance.Selector{Run: groups},
		KnownFailing: known,
		Seed:         1,
		Count:        20,
		// Cases without their own bound; real execnet answers these in
		// milliseconds, and a mutant that never answers costs this much.
		Timeout: 2 * time.Second,
		Env:     env,
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type outcome struct {
		res *conformance.Result
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		res, err := conformance.Run(ctx, opts, All(), nil)
		done <- outcome{res, err}
	}()
	timer := time.NewTimer(mutantBound)
	defer timer.Stop()
	select {
	case o := <-done:
		if o.err != nil {
			t.Fatalf("run against %s: %v", groups, o.err)
		}
		if len(o.res.Cases) == 0 {
			t.Fatalf("no case matched %v", groups)
		}
		return o.res
	case <-timer.C:
		cancel()
		<-done
		t.Fatalf("the run of %v did not return within %v", groups, mutantBound)
	}
	return nil
}

func unexpected(res *conformance.Result) []string {
	var out []string
	for _, c := range res.Cases {
		if c.Outcome.Unexpected() {
			msg := c.Message
			if len(msg) > 200 {
				msg = msg[:200] + "..."
			}
			out = append(out, string(c.Outcome)+" "+c.ID+": "+msg)
		}
	}
	return out
}

// TestMutants checks that the suite catches each deliberately broken copy
// of Python execnet, and that the same cases pass against the unbroken
// installation (so the failures come from the mutation).
func TestMutants(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Python workers")
	}
	python := peers.CPython(t)
	script, err := filepath.Abs("../../testdata/mutants/make_mutant.py")
	if err != nil {
		t.Fatal(err)
	}
	known, err := conformance.LoadKnownFailing("../../testdata/known-failures/execnet-1.9.0.txt")
	if err != nil {
		t.Fatal(err)
	}

	var all []string
	for _, m := range mutants {
		all = append(all, m.groups...)
	}
	t.Run("baseline", func(t *testing.T) {
		res := runAgainst(t, python, "", all, known)
		if u := unexpected(res); len(u) > 0 {
			t.Errorf("unmutated execnet fails the mutant-catching cases:\n%s", strings.Join(u, "\n"))
		}
	})

	for _, m := range mutants {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			out, err := exec.Command(python, script, m.name, dir).CombinedOutput()
			if err != nil {
				t.Fatalf("make_mutant.py %s: %v\n%s", m.name, err, out)
			}
			res := runAgainst(t, python, dir, m.groups, known)
			u := unexpected(res)
			if len(u) == 0 {
				t.Fatalf("mutant %s survived: every case of %v passed", m.name, m.groups)
			}
			t.Logf("mutant %s caught by %d case(s):\n%s", m.name, len(u), strings.Join(u, "\n"))
		})
	}
}

func TestMakeMutantRejectsUnknownName(t *testing.T) {
	python := peers.CPython(t)
	out, err := exec.Command(python, "../../testdata/mutants/make_mutant.py", "no-such-mutant", t.TempDir()).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "unknown mutant") {
		t.Fatalf("make_mutant.py accepted an unknown name: err %v, output %q", err, out)
	}
}
