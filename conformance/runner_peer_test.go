package conformance

import (
	"context"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/execnet-conform/execnet-conform/conformance/profile"
	"github.com/execnet-conform/execnet-conform/internal/peers"
	"github.com/execnet-conform/execnet-conform/reference/codec"
	"github.com/execnet-conform/execnet-conform/reference/frame"
	"github.com/execnet-conform/execnet-conform/spec"
)

// peerCases exercise the T API against real workers. They are not the
// conformance suite (conformance/cases is); they check that the runner
// drives real targets and judges them correctly.
func peerCases() []Case {
	return []Case{
		{ID: "peer/echo", Level: MUST, Clauses: []string{"X-1"}, Description: "conform_echo round trip",
			Run: func(t *T) {
				ch := t.Exec(profile.Echo)
				vals := []codec.Value{codec.Int(41), codec.Str("hé"), codec.Tuple{codec.None{}, codec.Bytes("x")}}
				for _, v := range vals {
					t.SendData(ch, v)
					got := t.ExpectData(ch)
					if !codec.Identical(got, v) {
						t.Errorf("echo of %s came back as %s", codec.Repr(v), codec.Repr(got))
					}
				}
				// After the master closes, the worker's procedure ends
				// without a CLOSE of its own.
				t.Send(frame.Frame{Code: spec.MsgChannelClose, Channel: ch})
			}},
		{ID: "peer/status", Level: MUST, Run: func(t *T) {
			if k := t.Target().Kind; k != "popen" {
				t.Errorf("Target().Kind = %q, want popen", k)
			}
			if t.Target().Pid == 0 {
				t.Errorf("Target().Pid = 0 for a popen target")
			}
			d, err := t.Status()
			if err != nil {
				t.Fatalf("status: %v", err)
			}
			if _, ok := d.Get(codec.Str("numchannels")); !ok {
				t.Errorf("STATUS reply %s lacks numchannels", codec.Repr(d))
			}
		}},
		{ID: "peer/fail", Level: MUST, Run: func(t *T) {
			ch := t.Exec(profile.Fail, codec.Item{Key: codec.Str("message"), Value: codec.Str("kaboom")})
			if text := t.ExpectCloseError(ch); !strings.Contains(text, "kaboom") {
				t.Errorf("CLOSE_ERROR text %q lacks the message", text)
			}
		}},
		{ID: "peer/wrong-expectation", Level: MUST, Run: func(t *T) {
			ch := t.Exec(profile.Echo)
			t.SendData(ch, codec.Int(1))
			if got := t.ExpectData(ch); !codec.Identical(got, codec.Int(2)) {
				t.Errorf("expected 2, got %s", codec.Repr(got))
			}
		}},
		{ID: "peer/terminate-then-expect-data", Level: MUST, Run: func(t *T) {
			// The case ends the session on purpose and then wrongly
			// expects data: a plain failure, not a crash.
			ch := t.Exec(profile.Echo)
			t.Send(frame.Frame{Code: spec.MsgGatewayTerminate})
			t.ExpectData(ch)
		}},
		{ID: "peer/killed-by-unknown-code", Level: MUST, Run: func(t *T) {
			// Message code 9 makes every target end the connection; the
			// case does not expect that: a crash.
			ch := t.Exec(profile.Echo)
			t.SendRaw([]byte{9, 0, 0, 0, 0, 0, 0, 0, 0})
			t.ExpectData(ch)
		}},
		{ID: "peer/terminate", Level: MUST, Fresh: true, Run: func(t *T) {
			t.Send(frame.Frame{Code: spec.MsgGatewayTerminate})
			t.CloseWrite()
			st, err := t.WaitExit()
			if err != nil {
				t.Fatalf("wait: %v", err)
			}
			if st.Code != 0 {
				t.Errorf("exit status %+v, want 0", st)
			}
		}},
		{ID: "peer/sleep-timeout", Level: MUST, Timeout: 300 * time.Millisecond, Run: func(t *T) {
			ch := t.Exec(profile.Sleep, codec.Item{Key: codec.Str("seconds"), Value: codec.Float(30)})
			t.ExpectClose(ch)
		}},
		{ID: "peer/after", Level: MUST, Run: func(t *T) {
			ch := t.Exec(profile.Echo)
			t.SendData(ch, codec.Int(5))
			t.ExpectData(ch)
		}},
	}
}

func checkPeerRun(t *testing.T, opts Options, wantLang string) {
	var trace strings.Builder
	opts.Trace = &syncWriter{w: &trace}
	opts.Timeout = 10 * time.Second
	res, err := Run(context.Background(), opts, peerCases(), nil)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	want := map[string]Outcome{
		"peer/echo": Pass, "peer/status": Pass, "peer/fail": Pass, "peer/wrong-expectation": Fail,
		"peer/terminate-then-expect-data": Fail, "peer/killed-by-unknown-code": Crash, "peer/terminate": Pass, "peer/sleep-timeout": Timeout, "peer/after": Pass,
	}
	for _, c := range res.Cases {
		if c.Outcome != want[c.ID] {
			t.Errorf("%s: %s, want %s: %s", c.ID, c.Outcome, want[c.ID], c.Message)
		}
	}
	if lang := res.Implementation["language"]; !strings.HasPrefix(lang, wantLang) {
		t.Errorf("conform_info language %q, want prefix %q (info %v)", lang, wantLang, res.Implementation)
	}
	if c := findCase(res, "peer/wrong-expectation"); !strings.Contains(c.Message, "expected 2, got 1") {
		t.Errorf("wrong-expectation message %q", c.Message)
	}
	if c := findCase(res, "peer/killed-by-unknown-code"); !strings.Contains(c.Message, "ended the connection") {
		t.Errorf("crash message %q", c.Message)
	}
	if t.Failed() {
		t.Logf("trace:\n%s", trace.String())
	}
}

type syncWriter struct {
	mu sync.Mutex
	w  *strings.Builder
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

func TestRunAgainstPythonExecnet(t *testing.T) {
	for name, py := range peers.Interpreters(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			checkPeerRun(t, Options{Target: "popen//python=" + py}, "python")
		})
	}
}

func TestRunAgainstGoWorker(t *testing.T) {
	checkPeerRun(t, goWorkerOptions(t), "go")
}

func TestStderrOfTheTarget(t *testing.T) {
	py := peers.CPython(t)
	c := Case{ID: "stderr/seen", Level: MUST, Run: func(t *T) {
		ch := t.ExecSource("import sys\nsys.stderr.write('note-from-worker\\n')\nsys.stderr.flush()\nchannel.send(1)")
		t.ExpectData(ch)
		for !strings.Contains(t.Stderr(), "note-from-worker") {
			if time.Now().After(t.Deadline()) {
				t.Fatalf("stderr tail %q lacks the note", t.Stderr())
			}
			time.Sleep(10 * time.Millisecond)
		}
	}}
	res, err := Run(context.Background(), Options{Target: "popen//python=" + py}, []Case{c}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !res.OK() {
		t.Errorf("%s", res.Cases[0].Message)
	}
}

func TestTargetGetsNoSecrets(t *testing.T) {
	py := peers.CPython(t)
	t.Setenv("EXECNET_CONFORM_TEST_SECRET", "hunter2")
	t.Setenv("PYTHONDONTWRITEBYTECODE", "1")
	envCase := func(want map[string]bool) Case {
		return Case{ID: "env/check", Level: MUST, Run: func(t *T) {
			ch := t.ExecSource("import os\nchannel.send(sorted(os.environ))")
			v := t.ExpectData(ch)
			names := map[string]bool{}
			if l, ok := v.(codec.List); ok {
				for _, x := range l {
					if s, ok := x.(codec.Str); ok {
						names[string(s)] = true
					}
				}
			}
			for name, present := range want {
				if names[name] != present {
					t.Errorf("variable %s present=%v in the target, want %v (got %s)", name, names[name], present, codec.Repr(v))
				}
			}
		}}
	}
	for _, tc := range []struct {
		opts Options
		want map[string]bool
	}{
		{Options{}, map[string]bool{"EXECNET_CONFORM_TEST_SECRET": false, "PATH": true, "PYTHONDONTWRITEBYTECODE": true}},
		{Options{Env: TargetEnv(os.Environ(), []string{"EXECNET_CONFORM_*"})}, map[string]bool{"EXECNET_CONFORM_TEST_SECRET": true}},
		{Options{InheritEnv: true}, map[string]bool{"EXECNET_CONFORM_TEST_SECRET": true}},
	} {
		tc.opts.Target = "popen//python=" + py
		res, err := Run(context.Background(), tc.opts, []Case{envCase(tc.want)}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !res.OK() {
			t.Errorf("%+v: %s", tc.opts, res.Cases[0].Message)
		}
	}
}
