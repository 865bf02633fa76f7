package conformance

// Tests of the runner against hostile workers (internal/hostileworker,
// played by this test binary): a stream it cannot parse fails the case
// and blocks the rest, a target that never answers STATUS ends the run
// early, no process of a target's group survives, and a 60 MiB frame
// costs the runner under three times its size.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/execnet-conform/execnet-conform/conformance/profile"
	"github.com/execnet-conform/execnet-conform/internal/hostileworker"
	"github.com/execnet-conform/execnet-conform/reference/codec"
	"github.com/execnet-conform/execnet-conform/reference/frame"
	"github.com/execnet-conform/execnet-conform/spec"
)

// rssProbeEnv makes this test binary run rssProbe instead of the tests.
const rssProbeEnv = "EXECNET_CONFORM_RSS_PROBE"

// hostileOptions starts this test binary as a hostile worker in mode.
func hostileOptions(t testing.TB, mode, pidFile string) Options {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	env := append(TargetEnv(os.Environ(), nil), hostileworker.Env+"="+mode)
	if pidFile != "" {
		env = append(env, hostileworker.PidFileEnv+"="+pidFile)
	}
	return Options{Target: "popen//python=" + exe, Env: env, Timeout: time.Second}
}

// Cases that pass against the Go worker.
func statusCase(id string) Case {
	return rawCase(id, func(t *T) {
		if _, err := t.Status(); err != nil {
			t.Fatalf("STATUS: %v", err)
		}
	})
}

func execEchoCase(id string) Case {
	return rawCase(id, func(t *T) {
		ch := t.Exec(profile.Echo)
		t.SendData(ch, codec.Int(7))
		if v := t.ExpectData(ch); !codec.Identical(v, codec.Int(7)) {
			t.Errorf("echo: got %s", Describe(v, 100))
		}
		t.Send(frame.Frame{Code: spec.MsgChannelClose, Channel: ch})
	})
}

func terminateCase(id string) Case {
	c := rawCase(id, func(t *T) {
		t.Send(frame.Frame{Code: spec.MsgGatewayTerminate})
		t.ExpectEnd()
	})
	c.Fresh = true
	return c
}

func runHostile(t *testing.T, opts Options, cases ...Case) (*Result, error, time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	start := time.Now()
	res, err := Run(ctx, opts, cases, nil)
	return res, err, time.Since(start)
}

func TestGoWorkerPassesTheHostileCases(t *testing.T) {
	// The cases below do pass against a well-behaved worker, so their
	// failures in the other tests are the hostile worker's doing.
	opts := goWorkerOptions(t)
	opts.Timeout = 5 * time.Second
	res, err, _ := runHostile(t, opts, execEchoCase("g/echo"), statusCase("g/status"), terminateCase("g/terminate"))
	if err != nil || !res.OK() {
		t.Fatalf("against the Go worker: %v %s %+v", err, Summary(res), res.Cases)
	}
}

func TestJunkAfterReadyFailsAndBlocks(t *testing.T) {
	cases := []Case{terminateCase("j/terminate"), statusCase("j/status")}
	for i := range 20 {
		cases = append(cases, execEchoCase(fmt.Sprintf("j/echo-%02d", i)))
	}
	res, err, took := runHostile(t, hostileOptions(t, "junk-after-ready", ""), cases...)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range res.Cases {
		if c.Outcome == Pass {
			t.Errorf("%s passed against a worker whose stream is desynchronised", c.ID)
		}
	}
	first := res.Cases[0]
	junkHex := fmt.Sprintf("%x", hostileworker.Junk[:9])
	if first.Outcome != Fail || !strings.Contains(first.Message, "[FRM-CODE-1]") || !strings.Contains(first.Message, junkHex) {
		t.Errorf("first case %s %q: want a failure naming FRM-CODE-1 and the bytes %s", first.Outcome, first.Message, junkHex)
	}
	if last := res.Cases[len(res.Cases)-1]; last.Outcome != Blocked || res.Blocked == "" {
		t.Errorf("last case %s %q, run blocked %q: want the rest blocked", last.Outcome, last.Message, res.Blocked)
	}
	if res.OK() || took > 30*time.Second {
		t.Errorf("run OK %v after %v", res.OK(), took)
	}
}

func TestUnansweredStatusBlocks(t *testing.T) {
	var cases []Case
	for i := range 20 {
		cases = append(cases, execEchoCase(fmt.Sprintf("s/echo-%02d", i)))
	}
	res, err, took := runHostile(t, hostileOptions(t, "no-status", ""), cases...)
	if err != nil {
		t.Fatal(err)
	}
	counts := res.Counts()
	if counts[Pass] != 0 || counts[Blocked] != len(cases)-systematicStreak || res.OK() {
		t.Errorf("outcomes %s, want no pass and all but %d blocked", Summary(res), systematicStreak)
	}
	if c := res.Cases[0]; c.Outcome != Timeout || !strings.Contains(c.Message, "did not answer STATUS") {
		t.Errorf("first case %s %q", c.Outcome, c.Message)
	}
	if took > 30*time.Second {
		t.Errorf("run took %v", took)
	}
}

func TestBadReadyByteBlocksEveryCase(t *testing.T) {
	res, err, _ := runHostile(t, hostileOptions(t, "bad-ready", ""), execEchoCase("b/one"), statusCase("b/two"))
	if err == nil || !strings.Contains(err.Error(), "could not be started") {
		t.Errorf("err %v: want the start error", err)
	}
	if res == nil || len(res.Cases) != 2 || res.Cases[0].Outcome != Blocked || !strings.Contains(res.Cases[0].Message, "Traceback") {
		t.Fatalf("result %+v: want every case blocked by the start failure", res)
	}
}

// groupMembers returns the live (not zombie) processes in process group
// pgid, from /proc.
func groupMembers(pgid int) []string {
	var out []string
	dirs, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, p := range dirs {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:]) // state ppid pgrp ...
		if len(f) < 3 || f[0] == "Z" {
			continue
		}
		if g, _ := strconv.Atoi(f[2]); g == pgid {
			out = append(out, strings.TrimSpace(s[:i+1]))
		}
	}
	return out
}

func readPids(t *testing.T, path string) []int {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("pid file: %v", err)
	}
	var pids []int
	for _, l := range strings.Fields(string(b)) {
		n, err := strconv.Atoi(l)
		if err != nil {
			t.Fatal(err)
		}
		pids = append(pids, n)
	}
	return pids
}

func TestNoTargetProcessSurvives(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads process groups from /proc")
	}
	for _, mode := range []string{"bg-child", "child-stdout"} {
		t.Run(mode, func(t *testing.T) {
			pidFile := filepath.Join(t.TempDir(), "pids")
			fresh := execEchoCase("p/fresh")
			fresh.Fresh = true
			opts := hostileOptions(t, mode, pidFile)
			opts.Timeout = 5 * time.Second
			res, err, _ := runHostile(t, opts, execEchoCase("p/echo"), fresh, statusCase("p/status"))
			if err != nil {
				t.Fatal(err)
			}
			if mode == "bg-child" && !res.OK() {
				// The worker itself behaves; only its child is left over.
				t.Errorf("run: %s %+v", Summary(res), res.Cases)
			}
			groups := readPids(t, pidFile)
			children := readPids(t, pidFile+".child")
			if len(groups) != 2 || len(children) != 2 {
				t.Fatalf("workers %v, children %v: want two of each (one per session)", groups, children)
			}
			t.Cleanup(func() {
				for _, pid := range children {
					if p, err := os.FindProcess(pid); err == nil {
						_ = p.Kill()
					}
				}
			})
			// The group is killed before Run returns; the reaping of a
			// killed orphan by init may take a moment.
			deadline := time.Now().Add(3 * time.Second)
			for _, g := range groups {
				for {
					left := groupMembers(g)
					if len(left) == 0 {
						break
					}
					if time.Now().After(deadline) {
						t.Errorf("process group %d survived the run: %v", g, left)
						break
					}
					time.Sleep(50 * time.Millisecond)
				}
			}
		})
	}
}

// rssProbe runs as a separate process (rssProbeEnv set): it runs cases
// that receive one 60 MiB CHANNEL_DATA from the big-frame worker and fail
// describing it, then prints its peak RSS and the results as JSON.
func rssProbe() int {
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	env := append(TargetEnv(os.Environ(), nil), hostileworker.Env+"=big-frame")
	cases := []Case{
		{ID: "big/expect-close", Level: MUST, Timeout: 3 * time.Second, Run: func(t *T) {
			t.ExpectClose(t.Exec(profile.Echo))
		}},
		{ID: "big/expect-data", Level: MUST, Timeout: 3 * time.Second, Run: func(t *T) {
			v := t.ExpectData(t.Exec(profile.Echo))
			t.Errorf("expected 7, got %s", Describe(v, 400))
		}},
	}
	res, err := Run(context.Background(), Options{Target: "popen//python=" + exe, Env: env, Timeout: 3 * time.Second}, cases, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	status, _ := os.ReadFile("/proc/self/status")
	hwm := 0
	for _, l := range strings.Split(string(status), "\n") {
		if rest, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			hwm, _ = strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
		}
	}
	type probeCase struct {
		ID, Outcome string
		MessageLen  int
		Message     string
		Millis      int64
	}
	out := struct {
		HWMKiB int
		Cases  []probeCase
	}{HWMKiB: hwm}
	for _, c := range res.Cases {
		out.Cases = append(out.Cases, probeCase{c.ID, string(c.Outcome), len(c.Message), Describe(codec.Str(c.Message), 300), c.Duration.Milliseconds()})
	}
	_ = json.NewEncoder(os.Stdout).Encode(out)
	return 0
}

func TestSixtyMebibyteFrameMemory(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads VmHWM from /proc")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), rssProbeEnv+"=1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("probe: %v\n%s", err, stderr.String())
	}
	var got struct {
		HWMKiB int
		Cases  []struct {
			ID, Outcome string
			MessageLen  int
			Message     string
			Millis      int64
		}
	}
	if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
		t.Fatalf("probe output %q: %v", stdout.String(), err)
	}
	t.Logf("runner peak RSS %d MiB for a %d MiB frame; cases %+v", got.HWMKiB>>10, hostileworker.BigFrame>>20, got.Cases)
	if limit := 3 * hostileworker.BigFrame >> 10; got.HWMKiB >= limit {
		t.Errorf("runner peak RSS %d KiB, want under %d KiB (3x the frame)", got.HWMKiB, limit)
	}
	for _, c := range got.Cases {
		if c.Outcome != string(Fail) || c.Millis >= 3000 || c.MessageLen > 4096 {
			t.Errorf("%s: %s in %d ms, message %d bytes: want a failure within the 3 s deadline, described briefly: %s",
				c.ID, c.Outcome, c.Millis, c.MessageLen, c.Message)
		}
	}
}
