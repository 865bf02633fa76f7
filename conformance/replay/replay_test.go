package replay

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/execnet-conform/execnet-conform/conformance"
	"github.com/execnet-conform/execnet-conform/conformance/monitor"
	"github.com/execnet-conform/execnet-conform/conformance/tap"
	"github.com/execnet-conform/execnet-conform/conformance/trace"
	"github.com/execnet-conform/execnet-conform/internal/peers"
	"github.com/execnet-conform/execnet-conform/reference/codec"
	"github.com/execnet-conform/execnet-conform/reference/frame"
	"github.com/execnet-conform/execnet-conform/spec"
)

// childEnv makes the test binary act as "execnet-conform tap --trace FILE
// -- CMD...", so that tests can record sessions.
const childEnv = "EXECNET_CONFORM_REPLAY_TEST_TAP"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		a := os.Args[1:]
		res, err := tap.Run(context.Background(), tap.Options{Argv: a[2:], TracePath: a[0], Stdin: os.Stdin, Stdout: os.Stdout,
			Stderr: os.Stderr, Handshake: true, MaxPayload: trace.DefaultMaxPayload})
		if err != nil {
			fmt.Fprintln(os.Stderr, "tap:", err)
			os.Exit(2)
		}
		os.Exit(res.ExitCode)
	}
	os.Exit(m.Run())
}

func str(t testing.TB, v codec.Value) []byte {
	b, err := codec.Dumps(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func rec(t testing.TB, at int64, from monitor.Side, f frame.Frame) recorded {
	r := trace.FrameRecord(at, from, 0, 0, f, monitor.Decoded{}, 0)
	return recorded{rec: r, f: f}
}

func TestCompareFrames(t *testing.T) {
	tb := func(path string, line int) string {
		return fmt.Sprintf("Traceback (most recent call last):\n  File \"%s\", line %d, in executetask\n    do(x)\nValueError: boom at 0x7f00deadbeef\n", path, line)
	}
	data := func(ch int32, v codec.Value) frame.Frame {
		return frame.Frame{Code: spec.MsgChannelData, Channel: ch, Payload: str(t, v)}
	}
	statusDict := func(n int64) codec.Value {
		d, _ := codec.NewDict(codec.Item{Key: codec.Str("numchannels"), Value: codec.Int(n)},
			codec.Item{Key: codec.Str("numexecuting"), Value: codec.Int(n)}, codec.Item{Key: codec.Str("execmodel"), Value: codec.Str("thread")})
		return d
	}
	seq := []recorded{
		rec(t, 1, monitor.Master, frame.Frame{Code: spec.MsgChannelExec, Channel: 1}),
		rec(t, 2, monitor.Worker, data(1, codec.Int(1))),
		rec(t, 3, monitor.Worker, data(1, codec.Str("x"))),
		rec(t, 4, monitor.Worker, frame.Frame{Code: spec.MsgChannelCloseError, Channel: 1, Payload: str(t, codec.Str(tb("/usr/lib/a.py", 10)))}),
		rec(t, 5, monitor.Master, frame.Frame{Code: spec.MsgStatus, Channel: 3}),
		rec(t, 6, monitor.Worker, data(3, statusDict(1))),
		rec(t, 7, monitor.Worker, frame.Frame{Code: spec.MsgChannelClose, Channel: 3}),
		rec(t, 8, monitor.Worker, data(5, codec.Int(7))),
	}
	same := []received{
		// Channel 3 first: the order across channels does not matter.
		{f: data(3, statusDict(2))}, {f: frame.Frame{Code: spec.MsgChannelClose, Channel: 3}},
		{f: data(1, codec.Int(1))}, {f: data(1, codec.Str("x"))},
		{f: frame.Frame{Code: spec.MsgChannelCloseError, Channel: 1, Payload: str(t, codec.Str(tb("/peers/b.py", 99)))}},
		{f: data(5, codec.Int(7))},
	}
	if d := compareFrames(seq, same); len(d) != 0 {
		t.Fatalf("divergences on equal answers: %v", d)
	}

	diff := []received{
		{f: data(1, codec.Int(1))}, {f: data(1, codec.Bytes("x"))}, // channel 1, frame 2 differs
		{f: data(3, statusDict(0))},                            // channel 3: the close is missing
		{f: data(5, codec.Int(7))}, {f: data(5, codec.Int(8))}, // channel 5: an extra frame
	}
	ds := compareFrames(seq, diff)
	got := map[int32]string{}
	for _, d := range ds {
		got[d.Channel] = fmt.Sprintf("%d %s %s", d.Position, d.Clause, d.Reason)
	}
	want := map[int32]string{
		1: "2 MSG-DATA-1 the payload differs after normalisation",
		3: "2 MSG-STATUS-2 the replayed worker did not send this frame",
		5: "2 MSG-DATA-1 the replayed worker sent a frame the recorded one did not",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("divergences\n got %v\nwant %v", got, want)
	}
	if len(ds) != 3 || ds[0].Channel != 1 || ds[2].Channel != 5 {
		t.Errorf("order by recording time: %v", ds)
	}
	if !strings.Contains(ds[0].String(), "recorded: CHANNEL_DATA ch=1 len=7 = 'x'") || !strings.Contains(ds[0].String(), "replayed: CHANNEL_DATA ch=1 len=7 = b'x'") {
		t.Errorf("divergence text:\n%s", ds[0])
	}
}

func TestCompareShutdownCloses(t *testing.T) {
	close1 := frame.Frame{Code: spec.MsgChannelClose, Channel: 1}
	data1 := frame.Frame{Code: spec.MsgChannelData, Channel: 1, Payload: str(t, codec.Int(1))}
	seq := []recorded{
		rec(t, 1, monitor.Master, frame.Frame{Code: spec.MsgChannelExec, Channel: 1}),
		rec(t, 2, monitor.Worker, data1),
		rec(t, 3, monitor.Master, frame.Frame{Code: spec.MsgGatewayTerminate}),
	}
	// An extra close after GATEWAY_TERMINATE: not a divergence.
	if d := compareFrames(seq, []received{{f: data1}, {f: close1, afterTerm: true}}); len(d) != 0 {
		t.Errorf("extra close after terminate: %v", d)
	}
	// Before it, too: the recorded execution had not ended when the
	// recorded master terminated, and its close may have been cut off.
	if d := compareFrames(seq, []received{{f: data1}, {f: close1}}); len(d) != 0 {
		t.Errorf("extra close before terminate, of a channel the recording never closed: %v", d)
	}
	// But not a second close of a channel the recording closed, not a
	// close followed by more frames, and not without a recorded
	// GATEWAY_TERMINATE.
	closed := []recorded{seq[0], seq[1], rec(t, 3, monitor.Worker, close1), seq[2]}
	if d := compareFrames(closed, []received{{f: data1}, {f: close1}, {f: close1}}); len(d) != 1 {
		t.Errorf("second close: %v", d)
	}
	if d := compareFrames(seq, []received{{f: data1}, {f: close1}, {f: data1}}); len(d) != 1 {
		t.Errorf("close, then data: %v", d)
	}
	if d := compareFrames(seq[:2], []received{{f: data1}, {f: close1}}); len(d) != 1 {
		t.Errorf("extra close in a session without GATEWAY_TERMINATE: %v", d)
	}
	// A recorded close after GATEWAY_TERMINATE that the replay lacks.
	withClose := append(append([]recorded(nil), seq...), rec(t, 4, monitor.Worker, close1))
	if d := compareFrames(withClose, []received{{f: data1}}); len(d) != 0 {
		t.Errorf("missing close recorded after terminate: %v", d)
	}
	// Data after GATEWAY_TERMINATE still counts.
	if d := compareFrames(seq, []received{{f: data1}, {f: data1, afterTerm: true}}); len(d) != 1 {
		t.Errorf("extra data after terminate: %v", d)
	}
}

func TestCompareTruncatedBySHA(t *testing.T) {
	big := frame.Frame{Code: spec.MsgChannelData, Channel: 1, Payload: str(t, codec.Bytes(make([]byte, 1000)))}
	r := trace.FrameRecord(1, monitor.Worker, 1, 0, big, monitor.Decoded{}, 100)
	seq := []recorded{{rec: r}}
	if d := compareFrames(seq, []received{{f: big}}); len(d) != 0 {
		t.Errorf("same large payload diverges: %v", d)
	}
	other := frame.Frame{Code: spec.MsgChannelData, Channel: 1, Payload: str(t, codec.Bytes(make([]byte, 1001)))}
	if d := compareFrames(seq, []received{{f: other}}); len(d) != 1 || !strings.Contains(d[0].Reason, "SHA-256") {
		t.Errorf("different large payload: %v", d)
	}
}

// record runs a Python execnet master script with its worker behind the
// tap and returns the trace.
func record(t *testing.T, python, pythonPath, script string) *trace.Trace {
	t.Helper()
	self, _ := os.Executable()
	path := filepath.Join(t.TempDir(), "trace.jsonl")
	env := append(conformance.TargetEnv(os.Environ(), nil), childEnv+"=1")
	if pythonPath != "" {
		env = append(env, "PYTHONPATH="+pythonPath)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, python, script, fmt.Sprintf("popen//python=%s %s -- %s", self, path, python))
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "done") {
		t.Fatalf("%s: %v\n%s", script, err, out)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		b, _ := os.ReadFile(path)
		if bytes.Contains(b, []byte(`"kind":"summary"`)) {
			tr, err := trace.Read(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			return tr
		}
		if time.Now().After(deadline) {
			t.Fatalf("no finished trace after 15s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func named(t *testing.T, name string) (string, []string) {
	xs, env, _, err := conformance.NamedTarget(name)
	if err != nil {
		peers.Missing(t, name+": "+err.Error())
	}
	return xs, env
}

// TestReplayAcrossReleases records testdata/changes.py with execnet 1.9.0
// and replays it: against 1.9.0 nothing diverges; against main exactly
// the two behaviour changes the session touches show (the reconfigured
// channel's text now arrives as bytes, and the worker dies on the
// non-text CHANNEL_CLOSE_ERROR, so the STATUS reply is missing).
func TestReplayAcrossReleases(t *testing.T) {
	python := peers.CPython(t)
	tr := record(t, python, "", "testdata/changes.py")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	xs, env := named(t, "execnet-1.9.0")
	res, err := Run(ctx, tr, Options{Target: xs, Env: env})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Divergences) != 0 || len(res.Findings) != 0 || res.WorkerFrames != res.Recorded || res.Recorded == 0 {
		t.Fatalf("replay against the recorded release: %d/%d frames, divergences %v, findings %v",
			res.WorkerFrames, res.Recorded, res.Divergences, res.Findings)
	}

	xs, env = named(t, "execnet-main")
	res, err = Run(ctx, tr, Options{Target: xs, Env: env})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range res.Divergences {
		got = append(got, d.Clause)
	}
	sort.Strings(got)
	if strings.Join(got, " ") != "MSG-STATUS-2 SER-STRC-2" {
		t.Errorf("divergences against main: %v\n%v", got, res.Divergences)
	}
}

// TestReplaySessionSameRelease: the richer session of the tap tests
// replays without divergence against the release it was recorded with.
func TestReplaySessionSameRelease(t *testing.T) {
	python := peers.CPython(t)
	tr := record(t, python, "", "../tap/testdata/session.py")
	xs, env := named(t, "execnet-1.9.0")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := Run(ctx, tr, Options{Target: xs, Env: env})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Divergences) != 0 || len(res.Findings) != 0 {
		t.Fatalf("divergences %v, findings %v", res.Divergences, res.Findings)
	}
}

// TestTerminateAfterRecordedAnswers: in the recording, the master's
// GATEWAY_TERMINATE came before the worker's answers to its execution.
// Replay sends it only after those answers came, and counts them.
func TestTerminateAfterRecordedAnswers(t *testing.T) {
	peers.CPython(t)
	xs, env := named(t, "execnet-1.9.0")
	d, _ := codec.NewDict()
	src := str(t, codec.Tuple{codec.Str("import time\ntime.sleep(0.2)\nchannel.send(1)\n"), codec.None{}, codec.None{}, d})
	tr := &trace.Trace{Records: []trace.Record{
		trace.FrameRecord(1, monitor.Master, 1, 0, frame.Frame{Code: spec.MsgChannelExec, Channel: 1, Payload: src}, monitor.Decoded{}, 0),
		trace.FrameRecord(2, monitor.Master, 2, 0, frame.Frame{Code: spec.MsgGatewayTerminate}, monitor.Decoded{}, 0),
		trace.FrameRecord(3, monitor.Worker, 1, 0, frame.Frame{Code: spec.MsgChannelData, Channel: 1, Payload: str(t, codec.Int(1))}, monitor.Decoded{}, 0),
		trace.FrameRecord(4, monitor.Worker, 2, 0, frame.Frame{Code: spec.MsgChannelClose, Channel: 1}, monitor.Decoded{}, 0),
	}}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := Run(ctx, tr, Options{Target: xs, Env: env})
	if err != nil {
		t.Fatal(err)
	}
	if res.Recorded != 2 || res.WorkerFrames != 2 || len(res.Divergences) != 0 {
		t.Fatalf("recorded %d, replayed %d, divergences %v", res.Recorded, res.WorkerFrames, res.Divergences)
	}
}

func TestNotReplayable(t *testing.T) {
	tr := &trace.Trace{Records: []trace.Record{trace.FrameRecord(0, monitor.Master, 1, 0,
		frame.Frame{Code: spec.MsgChannelData, Channel: 1, Payload: make([]byte, 100)}, monitor.Decoded{}, 10)}}
	if _, err := Run(context.Background(), tr, Options{Target: "popen//python=/nonexistent"}); err == nil || !strings.Contains(err.Error(), "truncated") {
		t.Errorf("truncated master frame: %v", err)
	}
	if _, err := Run(context.Background(), &trace.Trace{}, Options{Target: "popen//python=/nonexistent"}); err == nil {
		t.Error("empty trace replayed")
	}
}

func TestNormalizeTimings(t *testing.T) {
	report := func(d float64) codec.Value {
		inner, _ := codec.NewDict(codec.Item{Key: codec.Str("duration"), Value: codec.Float(d)},
			codec.Item{Key: codec.Str("outcome"), Value: codec.Str("passed")},
			codec.Item{Key: codec.Str("value"), Value: codec.Float(d)},
			codec.Item{Key: codec.Str("pid"), Value: codec.Int(d * 1e7)})
		return codec.Tuple{codec.Str("testreport"), codec.List{inner}}
	}
	a := Normalize(spec.MsgChannelData, report(0.0004), false)
	if b := Normalize(spec.MsgChannelData, report(0.0005), false); a == b {
		t.Errorf("a float under a key that is not a time was normalised: %s", a)
	}
	if !strings.Contains(a, "'duration': '<timing>'") || !strings.Contains(a, "'value': 0.0004") || !strings.Contains(a, "'pid': '<pid>'") {
		t.Errorf("Normalize = %s", a)
	}
}

// TestCompareCloseAfterMasterEnded: a worker CHANNEL_CLOSE that only one
// session has, on a channel the master ended with CHANNEL_CLOSE or
// CHANNEL_LAST_MESSAGE, is execnet's race (DEV-54), not a divergence; on
// a channel the master did not end it still is one.
func TestCompareCloseAfterMasterEnded(t *testing.T) {
	close1 := frame.Frame{Code: spec.MsgChannelClose, Channel: 1}
	data1 := frame.Frame{Code: spec.MsgChannelData, Channel: 1, Payload: str(t, codec.Int(1))}
	for _, end := range []spec.MsgCode{spec.MsgChannelClose, spec.MsgChannelLastMessage} {
		seq := []recorded{
			rec(t, 1, monitor.Master, frame.Frame{Code: spec.MsgChannelExec, Channel: 1}),
			rec(t, 2, monitor.Worker, data1),
			rec(t, 3, monitor.Master, frame.Frame{Code: end, Channel: 1}),
		}
		if d := compareFrames(seq, []received{{f: data1}, {f: close1}}); len(d) != 0 {
			t.Errorf("after the master's %s, an extra worker close: %v", end, d)
		}
		withClose := append(append([]recorded(nil), seq...), rec(t, 4, monitor.Worker, close1))
		if d := compareFrames(withClose, []received{{f: data1}}); len(d) != 0 {
			t.Errorf("after the master's %s, a recorded close the replay lacks: %v", end, d)
		}
	}
	open := []recorded{
		rec(t, 1, monitor.Master, frame.Frame{Code: spec.MsgChannelExec, Channel: 1}),
		rec(t, 2, monitor.Worker, data1),
	}
	if d := compareFrames(open, []received{{f: data1}, {f: close1}}); len(d) != 1 {
		t.Errorf("an extra close on a channel the master did not end: %v, want one divergence", d)
	}
}
