package tap

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/execnet-conform/execnet-conform/conformance"
	"github.com/execnet-conform/execnet-conform/conformance/monitor"
	"github.com/execnet-conform/execnet-conform/conformance/trace"
	"github.com/execnet-conform/execnet-conform/internal/peers"
	"github.com/execnet-conform/execnet-conform/reference/codec"
	"github.com/execnet-conform/execnet-conform/reference/frame"
	"github.com/execnet-conform/execnet-conform/spec"
)

// childEnv makes the test binary act as "execnet-conform tap": its argv
// is TRACEFILE -- CMD... or --out DIR -- CMD....
const childEnv = "EXECNET_CONFORM_TAP_TEST_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		os.Exit(child(os.Args[1:]))
	}
	os.Exit(m.Run())
}

func child(args []string) int {
	// Whole payloads, so that the tests can replay the traces.
	o := Options{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Report: os.Stderr, Handshake: true}
	if len(args) > 1 && args[0] == "--out" {
		o.OutDir, args = args[1], args[2:]
	} else if len(args) > 0 {
		o.TracePath, args = args[0], args[1:]
	}
	if len(args) < 2 || args[0] != "--" {
		fmt.Fprintln(os.Stderr, "tap test child: usage TRACE|--out DIR -- CMD...")
		return 2
	}
	o.Argv = args[1:]
	res, err := Run(context.Background(), o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "tap test child:", err)
		if res == nil {
			return 2
		}
	}
	return res.ExitCode
}

// readTrace reads a finished trace: the tap may still be writing it when
// the master has exited, so it waits (boundedly) for the summary record.
func readTrace(t *testing.T, path string) *trace.Trace {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		b, err := os.ReadFile(path)
		if err == nil && bytes.Contains(b, []byte(`"kind":"summary"`)) {
			tr, err := trace.Read(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			return tr
		}
		if time.Now().After(deadline) {
			t.Fatalf("no finished trace at %s after 15s (%v, %d bytes)", path, err, len(b))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestTapIsTransparent sends frames through a tapped cat: every byte comes
// back unchanged, and the trace holds every frame. cat echoes the master's
// frames as the worker's, so its CHANNEL_EXEC on an odd id is a violation
// the tap must report.
func TestTapIsTransparent(t *testing.T) {
	cat, err := exec.LookPath("cat")
	if err != nil {
		t.Skip("no cat")
	}
	var in []byte
	payload, _ := codec.Dumps(codec.Tuple{codec.Str("x"), codec.None{}, codec.None{}, mustDict()})
	in = frame.Append(in, frame.Frame{Code: spec.MsgChannelExec, Channel: 1, Payload: payload})
	big := make([]byte, 3<<20)
	rand.Read(big)
	bv, _ := codec.Dumps(codec.Bytes(big))
	for i := 0; i < 5; i++ {
		in = frame.Append(in, frame.Frame{Code: spec.MsgChannelData, Channel: 1, Payload: bv})
	}
	in = frame.Append(in, frame.Frame{Code: spec.MsgChannelClose, Channel: 1})
	var out, report bytes.Buffer
	path := filepath.Join(t.TempDir(), "t.jsonl")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := Run(ctx, Options{Argv: []string{cat}, TracePath: path, Stdin: bytes.NewReader(in), Stdout: &out,
		Stderr: os.Stderr, Report: &report, MaxPayload: 16})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), in) {
		t.Fatalf("the tap changed the stream: %d bytes in, %d out", len(in), out.Len())
	}
	if res.ExitCode != 0 {
		t.Errorf("exit code %d", res.ExitCode)
	}
	clauses := map[string]bool{}
	for _, f := range res.Findings {
		clauses[f.Clause] = true
		if f.From != monitor.Worker {
			t.Errorf("finding against the master: %v", f)
		}
	}
	if !clauses["CHAN-ID-1"] || !strings.Contains(report.String(), "[CHAN-ID-1] MUST worker frame 1 (CHANNEL_EXEC ch=1)") {
		t.Errorf("no CHAN-ID-1 finding for the worker's CHANNEL_EXEC on an odd id; findings %v, report %q", res.Findings, report.String())
	}
	tr := readTrace(t, path)
	frames := map[monitor.Side]int{}
	for _, r := range tr.Records {
		if r.Kind == trace.KindFrame {
			frames[r.From]++
			if r.Length > 16 && (!r.Truncated || len(r.SHA256) != 64) {
				t.Errorf("frame of %d bytes not truncated at 16 with its SHA-256", r.Length)
			}
		}
	}
	if frames[monitor.Master] != 7 || frames[monitor.Worker] != 7 {
		t.Errorf("trace frames %v, want 7 each way", frames)
	}
	if got := len(tr.Findings()); got != len(res.Findings) {
		t.Errorf("trace holds %d findings, the result %d", got, len(res.Findings))
	}
	last := tr.Records[len(tr.Records)-1]
	if last.Kind != trace.KindSummary || last.Findings == nil || *last.Findings != len(res.Findings) {
		t.Errorf("last record %+v, want the summary", last)
	}
}

func mustDict() *codec.Dict {
	d, _ := codec.NewDict()
	return d
}

// runSession runs testdata/session.py with a Python execnet master whose
// worker is tapped; pythonPath selects the execnet release ("" Debian's).
func runSession(t *testing.T, python, pythonPath string) (string, *trace.Trace) {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "trace.jsonl")
	env := conformance.TargetEnv(os.Environ(), nil)
	env = append(env, childEnv+"=1")
	if pythonPath != "" {
		env = append(env, "PYTHONPATH="+pythonPath)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, python, "testdata/session.py", fmt.Sprintf("popen//python=%s %s -- %s", self, path, python))
	cmd.Env = env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("session.py: %v\n%s\n%s", err, out, stderr.String())
	}
	if !strings.HasSuffix(string(out), "done\n") {
		t.Fatalf("session.py did not finish:\n%s\n%s", out, stderr.String())
	}
	if strings.Contains(stderr.String(), "execnet-conform tap") || strings.Contains(stderr.String(), "] MUST") {
		t.Errorf("the tap reported on stderr:\n%s", stderr.String())
	}
	return string(out), readTrace(t, path)
}

// TestTapRealExecnet runs a real Python execnet master through the tap
// with each execnet release: the session works and the tap finds nothing.
func TestTapRealExecnet(t *testing.T) {
	python := peers.CPython(t)
	var want string
	for _, name := range []string{"execnet-1.9.0", "execnet-2.1.2", "execnet-main"} {
		t.Run(name, func(t *testing.T) {
			pythonPath := ""
			if name != "execnet-1.9.0" {
				_, env, _, err := conformance.NamedTarget(name)
				if err != nil {
					peers.Missing(t, name+": "+err.Error())
				}
				for _, kv := range env {
					if v, ok := strings.CutPrefix(kv, "PYTHONPATH="); ok {
						pythonPath = v
					}
				}
			}
			out, tr := runSession(t, python, pythonPath)
			if want == "" {
				want = out
			} else if out != want {
				t.Errorf("the session's output differs from 1.9.0's:\n%s\nwant\n%s", out, want)
			}
			if fs := tr.Findings(); len(fs) != 0 {
				t.Errorf("violations in a real execnet session: %v", fs)
			}
			kinds := map[string]int{}
			codes := map[string]bool{}
			for _, r := range tr.Records {
				kinds[r.Kind]++
				codes[r.Code] = true
			}
			if kinds[trace.KindBootstrap] != 1 || kinds[trace.KindReady] != 1 || kinds[trace.KindSummary] != 1 || kinds[trace.KindExit] != 1 {
				t.Errorf("record kinds %v", kinds)
			}
			// Answers are stamped after what they answer: the k-th echo on
			// channel 1 after the k-th value sent on it.
			var sent, echoed []int64
			for _, r := range tr.Records {
				if r.Kind == trace.KindFrame && r.Channel == 1 && r.Code == "CHANNEL_DATA" {
					if r.From == monitor.Master {
						sent = append(sent, r.Micros)
					} else {
						echoed = append(echoed, r.Micros)
					}
				}
			}
			if len(sent) == 0 || len(sent) != len(echoed) {
				t.Errorf("%d values sent on channel 1, %d echoed", len(sent), len(echoed))
			}
			for k := range min(len(sent), len(echoed)) {
				if echoed[k] <= sent[k] {
					t.Errorf("echo %d stamped at %d us, before the value it echoes (%d us)", k+1, echoed[k], sent[k])
				}
			}
			for _, c := range []string{"CHANNEL_EXEC", "CHANNEL_DATA", "CHANNEL_CLOSE", "CHANNEL_CLOSE_ERROR", "STATUS", "RECONFIGURE", "GATEWAY_TERMINATE"} {
				if !codes[c] {
					t.Errorf("no %s frame in the trace", c)
				}
			}
		})
	}
}

// TestTapReportsBrokenWorker runs a mutant execnet whose encoder writes
// bytes as PY3STRING: the worker's invalid UTF-8 text is reported with the
// clauses of the BadUTF8 class.
func TestTapReportsBrokenWorker(t *testing.T) {
	python := peers.CPython(t)
	dir := t.TempDir()
	script, _ := filepath.Abs("../../testdata/mutants/make_mutant.py")
	if out, err := exec.Command(python, script, "bytes-as-text", dir).CombinedOutput(); err != nil {
		t.Fatalf("make_mutant.py: %v\n%s", err, out)
	}
	self, _ := os.Executable()
	path := filepath.Join(t.TempDir(), "trace.jsonl")
	src := `import execnet, sys
gw = execnet.makegateway(sys.argv[1])
ch = gw.remote_exec("channel.send(b'\\xff\\xfe')")
try:
    ch.receive(5)
except Exception as e:
    print("receive failed:", type(e).__name__)
try:
    gw.exit()
except Exception:
    pass
`
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, python, "-c", src, fmt.Sprintf("popen//python=%s %s -- %s", self, path, python))
	cmd.Env = append(conformance.TargetEnv(os.Environ(), nil), childEnv+"=1", "PYTHONPATH="+dir)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	_ = cmd.Run() // the master may fail to decode the reply
	tr := readTrace(t, path)
	want := spec.ClassClauses(spec.ClassBadUTF8)
	if len(want) == 0 {
		t.Fatal("the spec registry has no clauses for BadUTF8")
	}
	found := false
	for _, f := range tr.Findings() {
		if f.From == monitor.Worker && f.Clause == want[0] {
			found = true
		}
	}
	if !found {
		t.Fatalf("no [%s] finding against the worker; findings %v\nstderr:\n%s", want[0], tr.Findings(), stderr.String())
	}
	if !strings.Contains(stderr.String(), "execnet-conform tap: ["+want[0]+"]") && !strings.Contains(stderr.String(), "["+want[0]+"]") {
		t.Errorf("the violation was not reported on stderr:\n%s", stderr.String())
	}
}
