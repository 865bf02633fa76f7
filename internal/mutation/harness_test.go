//go:build linux

package mutation

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fakeRunner is a stand-in for execnet-conform run: it behaves as
// FAKE_MODE says, on the whole suite or (with --run) on one case, and
// counts its whole-suite runs in the file FAKE_COUNT.
const fakeRunner = `#!/bin/sh
single=
for a in "$@"; do [ "$a" = "--run" ] && single=1; done
echo "execnet-conform 0.1.0, spec 1.0-draft: 3 cases against fake"
echo "seed 1, count 100"
if [ -z "$single" ]; then echo x >> "$FAKE_COUNT"; fi
n=$(wc -l < "$FAKE_COUNT")
case "$FAKE_MODE" in
pass)
	echo "3 passed, 0 failed, 0 skipped"; exit 0;;
fail)
	echo "FAIL    serial/int/zero/echo (1.2ms)"
	echo "        case: conform_echo returns int/zero identical [MUST]"
	echo "        got 1, want 0"
	sleep 60; exit 1;;
refuse)
	echo "bad ready byte 0x30" >&2; exit 2;;
hang)
	sleep 60;;
timeout-flaky)
	# the first whole run times out; the case alone and the second run pass
	if [ -z "$single" ] && [ "$n" = 1 ]; then echo "TIMEOUT framing/order/processed-in-order (5s)"; sleep 60; fi
	echo "3 passed"; exit 0;;
timeout-real)
	echo "TIMEOUT framing/order/processed-in-order (5s)"; sleep 60;;
esac
`

func fakeConfig(t *testing.T, mode string) (*Config, string) {
	t.Helper()
	dir := t.TempDir()
	runner := filepath.Join(dir, "runner")
	if err := os.WriteFile(runner, []byte(fakeRunner), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("FAKE_MODE", mode)
	t.Setenv("FAKE_COUNT", filepath.Join(dir, "count"))
	if err := os.WriteFile(filepath.Join(dir, "count"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	return &Config{Root: dir, Seed: 1, MutantTimeout: 20 * time.Second, CaseTimeout: time.Second}, runner
}

func TestJudgeWithFakeRunner(t *testing.T) {
	for _, tc := range []struct {
		mode            string
		bound           time.Duration
		status          Status
		caseID, outcome string
		message         string
		retried         bool
	}{
		{mode: "pass", status: Survived},
		{mode: "fail", status: Killed, caseID: "serial/int/zero/echo", outcome: "FAIL", message: "got 1, want 0"},
		{mode: "refuse", status: Killed, outcome: "exit 2", message: "bad ready byte"},
		// A run that never ends is stopped at the bound and, having no
		// case to confirm, is run again once; it hangs again: killed.
		{mode: "hang", bound: 2 * time.Second, status: Killed, outcome: "run-bound", message: "did not end within 2s", retried: true},
		{mode: "timeout-flaky", status: Survived, retried: true},
		{mode: "timeout-real", status: Killed, caseID: "framing/order/processed-in-order", outcome: "TIMEOUT"},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			c, runner := fakeConfig(t, tc.mode)
			if tc.bound > 0 {
				c.MutantTimeout = tc.bound
			}
			start := time.Now()
			r, retried := c.judge(context.Background(), runner, "/nonexistent/worker")
			if time.Since(start) > 15*time.Second {
				t.Errorf("judge took %v: the runner was not stopped at the first unexpected outcome", time.Since(start))
			}
			if r.status != tc.status || r.caseID != tc.caseID || r.outcome != tc.outcome || retried != tc.retried {
				t.Errorf("got %+v retried=%v, want %s %q %q retried=%v", r, retried, tc.status, tc.caseID, tc.outcome, tc.retried)
			}
			if !strings.Contains(r.message, tc.message) {
				t.Errorf("message %q lacks %q", r.message, tc.message)
			}
		})
	}
}

// Results recorded for one tree are not reused for another.
func TestReadStateKeyedByTree(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.jsonl")
	lines := `{"tree":"a/b","id":"x","old":"<","new":"<=","status":"killed"}
{"tree":"c/d","id":"y","old":"<","new":"<=","status":"survived"}
{"id":"z","old":"<","new":"<=","status":"survived"}
not json
`
	if err := os.WriteFile(path, []byte(lines), 0o644); err != nil {
		t.Fatal(err)
	}
	got := readState(path, "a/b")
	if len(got) != 1 || got["x"].Status != Killed || got["x"].New != "<=" {
		t.Errorf("readState for a/b: %+v, want only x, killed", got)
	}
	if got := readState(filepath.Join(t.TempDir(), "none"), "a/b"); len(got) != 0 {
		t.Errorf("missing file: %+v", got)
	}
}
