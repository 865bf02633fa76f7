package tap

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/execnet-conform/execnet-conform/conformance"
	"github.com/execnet-conform/execnet-conform/conformance/monitor"
	"github.com/execnet-conform/execnet-conform/conformance/replay"
	"github.com/execnet-conform/execnet-conform/internal/peers"
	"github.com/execnet-conform/execnet-conform/spec"
)

// outcomeLine matches the per-test lines of pytest -rA.
var outcomeLine = regexp.MustCompile(`^(PASSED|FAILED|ERROR|SKIPPED|XFAIL|XPASS) `)

// pytestRun runs pytest-xdist on testdata/xdist-project with two workers,
// through the tap when traceDir is set, and returns the sorted outcome
// lines, the summary line and the wall time.
func pytestRun(t *testing.T, python string, env []string, traceDir string) (lines []string, summary string, wall time.Duration) {
	t.Helper()
	project, err := filepath.Abs("../../testdata/xdist-project")
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"-m", "pytest", "-p", "xdist", "-p", "no:cacheprovider", "-rA", "-q"}
	if traceDir == "" {
		args = append(args, "-n", "2")
	} else {
		self, err := os.Executable()
		if err != nil {
			t.Fatal(err)
		}
		// -n 2 means --tx 2*popen; naming the worker command needs --tx.
		args = append(args, "--dist", "load", "--tx", fmt.Sprintf("2*popen//python=%s --out %s -- %s", self, traceDir, python))
	}
	args = append(args, project)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, python, args...)
	cmd.Dir = project
	cmd.Env = env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err = cmd.Run()
	wall = time.Since(start)
	if ee, ok := err.(*exec.ExitError); err != nil && (!ok || ee.ExitCode() != 1) {
		t.Fatalf("pytest: %v\n%s", err, out.String())
	}
	for _, l := range strings.Split(out.String(), "\n") {
		if outcomeLine.MatchString(l) {
			lines = append(lines, l)
		}
		if strings.Contains(l, " passed") && strings.Contains(l, " in ") {
			summary = strings.TrimSpace(l[:strings.LastIndex(l, " in ")])
		}
	}
	sort.Strings(lines)
	if len(lines) == 0 {
		t.Fatalf("no outcomes in pytest's output:\n%s", out.String())
	}
	return lines, summary, wall
}

// TestXdistThroughTap runs a real client, pytest-xdist with two workers,
// with each execnet release: through the tap the tests have the same
// outcomes as without it, the tap records both sessions and finds no
// violation, and each recorded session replays against the same release
// without divergence.
func TestXdistThroughTap(t *testing.T) {
	if testing.Short() {
		t.Skip("runs pytest-xdist")
	}
	python := peers.CPython(t)
	if out, err := exec.Command(python, "-c", "import xdist, pytest").CombinedOutput(); err != nil {
		msg := "pytest-xdist for " + python + " (apt-get install python3-pytest-xdist): " + strings.TrimSpace(string(out))
		if peers.Required() {
			t.Fatal("peer not available: " + msg + "; EXECNET_REQUIRE_PEERS=1 makes this a failure")
		}
		t.Skip("peer not available: " + msg)
	}
	for _, name := range []string{"execnet-1.9.0", "execnet-2.1.2", "execnet-main"} {
		t.Run(name, func(t *testing.T) {
			xs, env, _, err := conformance.NamedTarget(name)
			if err != nil {
				peers.Missing(t, name+": "+err.Error())
			}
			env = append(env, childEnv+"=1")
			want, wantSum, direct := pytestRun(t, python, env, "")
			if wantSum != "3 failed, 13 passed, 2 skipped, 1 xfailed, 1 error" {
				t.Errorf("the project's outcomes without the tap: %q, want 3 failed, 13 passed, 2 skipped, 1 xfailed, 1 error", wantSum)
			}
			dir := t.TempDir()
			got, gotSum, tapped := pytestRun(t, python, env, dir)
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("outcomes through the tap differ:\n%s\nwithout the tap:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			if gotSum != wantSum {
				t.Errorf("summary through the tap %q, without %q", gotSum, wantSum)
			}
			files, _ := filepath.Glob(filepath.Join(dir, "trace-*.jsonl"))
			if len(files) != 2 {
				t.Fatalf("%d traces in %s, want one per worker (2)", len(files), dir)
			}
			frames := 0
			project, _ := filepath.Abs("../../testdata/xdist-project")
			t.Chdir(project) // the replayed workers report their cwd, as pytest's did
			for _, f := range files {
				tr := readTrace(t, f)
				if fs := tr.Findings(); len(fs) != 0 {
					t.Errorf("%s: violations: %v", filepath.Base(f), fs)
				}
				sum := tr.Records[len(tr.Records)-1]
				for _, n := range sum.Frames {
					frames += n
				}
				// Replaying the session against the same release gives
				// the same answers.
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				res, err := replay.Run(ctx, tr, replay.Options{Target: xs, Env: env})
				cancel()
				if err != nil {
					t.Errorf("replay %s: %v", filepath.Base(f), err)
				} else if len(res.Divergences) != 0 || len(res.Findings) != 0 {
					t.Errorf("replay %s against the same release: divergences %v, findings %v", filepath.Base(f), res.Divergences, res.Findings)
				}
			}
			if frames == 0 {
				t.Error("the traces hold no frames")
			}
			t.Logf("%s: %s; wall time %v without the tap, %v with it (%.2fx); %d frames recorded",
				name, gotSum, direct.Round(time.Millisecond), tapped.Round(time.Millisecond), float64(tapped)/float64(direct), frames)
		})
	}
}

// TestXdistThroughTapBrokenWorker runs pytest-xdist with the bytes-as-text
// mutant of execnet (its encoder writes bytes as PY3STRING): the test that
// records a bytes property sends invalid UTF-8 text in its report, and the
// tap reports the worker's frame with the clauses of the BadUTF8 class.
func TestXdistThroughTapBrokenWorker(t *testing.T) {
	if testing.Short() {
		t.Skip("runs pytest-xdist")
	}
	python := peers.CPython(t)
	if out, err := exec.Command(python, "-c", "import xdist, pytest").CombinedOutput(); err != nil {
		msg := "pytest-xdist for " + python + " (apt-get install python3-pytest-xdist): " + strings.TrimSpace(string(out))
		if peers.Required() {
			t.Fatal("peer not available: " + msg + "; EXECNET_REQUIRE_PEERS=1 makes this a failure")
		}
		t.Skip("peer not available: " + msg)
	}
	mutant := t.TempDir()
	script, _ := filepath.Abs("../../testdata/mutants/make_mutant.py")
	if out, err := exec.Command(python, script, "bytes-as-text", mutant).CombinedOutput(); err != nil {
		t.Fatalf("make_mutant.py: %v\n%s", err, out)
	}
	env := append(conformance.TargetEnv(os.Environ(), nil), childEnv+"=1", "PYTHONPATH="+mutant)
	dir := t.TempDir()
	lines, _, _ := pytestRun(t, python, env, dir)
	files, _ := filepath.Glob(filepath.Join(dir, "trace-*.jsonl"))
	want := spec.ClassClauses(spec.ClassBadUTF8)
	found := false
	for _, f := range files {
		for _, fd := range readTrace(t, f).Findings() {
			if fd.From == monitor.Worker && len(want) > 0 && fd.Clause == want[0] {
				found = true
			}
		}
	}
	if !found {
		t.Errorf("no [%v] finding against the mutant worker in %d traces; outcomes:\n%s", want, len(files), strings.Join(lines, "\n"))
	}
}
