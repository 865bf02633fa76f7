package worker_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/execnet-conform/execnet-conform/conformance"
	"github.com/execnet-conform/execnet-conform/conformance/cases"
	"github.com/execnet-conform/execnet-conform/conformance/profile"
	"github.com/execnet-conform/execnet-conform/internal/peers"
	"github.com/execnet-conform/execnet-conform/reference/codec"
	"github.com/execnet-conform/execnet-conform/reference/gateway"
	"github.com/execnet-conform/execnet-conform/reference/transport"
	"github.com/execnet-conform/execnet-conform/reference/worker"
	"github.com/execnet-conform/execnet-conform/reference/xspec"
)

var viaChecks = []string{"exec", "echo", "remote-error", "newchannel", "env", "two-subs", "go-sub",
	"sub-exit", "terminate", "hop-ends-subs", "sub-reaped"}

// runMasterScript runs a Python execnet master script of testdata with
// release r's execnet, and requires it to print "done" and "ok NAME" for
// every name in checks.
func runMasterScript(t *testing.T, r peers.Release, checks []string, script string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, peers.CPythonPath, append([]string{script}, args...)...)
	cmd.Env = append(os.Environ(), r.Env()...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	text := out.String()
	if err != nil || !strings.Contains(text, "\ndone\n") {
		t.Fatalf("%s with execnet %s failed (%v):\n%s", filepath.Base(script), r.Version, err, text)
	}
	for _, w := range checks {
		if !strings.Contains(text, "ok "+w+"\n") {
			t.Errorf("check %q did not pass:\n%s", w, text)
		}
	}
}

// TestViaHopForPythonMaster uses the Go worker as the via hop of a real
// Python execnet master (every release found): Python workers opened with
// popen//via=hop run source, carry channels both ways, get env: applied,
// end one by one (close_write and wait on the control channel) and with
// the group, and end when the hop ends (SPEC.md 12.9, BOOT-VIA-2, 3, 6).
func TestViaHopForPythonMaster(t *testing.T) {
	for _, r := range peers.Releases(t) {
		t.Run(r.Name, func(t *testing.T) {
			t.Parallel()
			runMasterScript(t, r, viaChecks, "testdata/via_master.py", workerBin+" worker")
		})
	}
}

// TestIsIOProxySource checks the recognition rule of BOOT-VIA-8 against
// the gateway_io.py of every execnet release on this machine, and against
// sources that only resemble it.
func TestIsIOProxySource(t *testing.T) {
	srcs := execnetSources("gateway_io.py")
	seen := len(srcs)
	for _, f := range slices.Sorted(maps.Keys(srcs)) {
		b := srcs[f]
		if !worker.IsIOProxySource(string(b)) {
			t.Errorf("%s is not recognised as the io-proxy source", f)
		}
	}
	if seen == 0 {
		peers.Missing(t, "an execnet gateway_io.py")
	}
	for name, src := range map[string]string{
		"call only":        "serve_proxy_io(channel)\n",
		"def only":         "def serve_proxy_io(ch):\n    pass\n",
		"nested def":       "class X:\n    def serve_proxy_io(ch):\n        pass\nserve_proxy_io(channel)\n",
		"other argument":   "def serve_proxy_io(ch):\n    pass\nserve_proxy_io(other)\n",
		"call in an expr":  "def serve_proxy_io(ch):\n    pass\nx = serve_proxy_io(channel)\n",
		"trailing code":    "def serve_proxy_io(ch):\n    pass\nserve_proxy_io(channel); import os\n",
		"mentioned in str": "s = 'def serve_proxy_io(x): serve_proxy_io(channel)'\n",
		"empty":            "",
	} {
		if worker.IsIOProxySource(src) {
			t.Errorf("%s: recognised as the io-proxy source:\n%s", name, src)
		}
	}
	if !worker.IsIOProxySource("def serve_proxy_io(c):\r\n    pass\r\nif __name__ == '__channelexec__':\r\n\tserve_proxy_io(channel)  # noqa\r\n") {
		t.Error("CRLF source with a comment after the call is not recognised")
	}
}

// viaHop opens a hop of the given kind for the Go master tests.
func viaHop(t *testing.T, ctx context.Context, kind string) *gateway.Gateway {
	t.Helper()
	var hop *gateway.Gateway
	var err error
	switch kind {
	case "python":
		hop, err = gateway.Open(ctx, "popen//id=hop//python="+peers.CPython(t))
	case "go":
		hop, err = gateway.Open(ctx, "popen//id=hop//python="+workerBin+" worker")
	case "go-inprocess":
		hop, _ = startInProcess(t, ctx)
	}
	if err != nil {
		t.Fatalf("opening the %s hop: %v", kind, err)
	}
	t.Cleanup(func() { _ = hop.Exit(context.Background()) })
	return hop
}

func openVia(t *testing.T, ctx context.Context, hop *gateway.Gateway, spec string) *gateway.Gateway {
	t.Helper()
	s, err := xspec.Parse(spec)
	if err != nil {
		t.Fatal(err)
	}
	g, err := gateway.OpenVia(ctx, hop, s)
	if err != nil {
		t.Fatalf("OpenVia %s: %v", spec, err)
	}
	t.Cleanup(func() { _ = g.Exit(context.Background()) })
	return g
}

// TestViaGoMaster opens gateways with via= from the Go master through a
// Python execnet hop, the Go worker as a process and the Go worker in
// this process (for the race detector), to a Python sub and a Go sub:
// remote execution, channels with items large enough to be split and
// joined by the relay, env: applied through the hop, an orderly Exit
// (GATEWAY_TERMINATE through the relay, then close_write and wait), and
// the end of the hop ending the sub (SPEC.md 12.9, BOOT-VIA-1..5).
func TestViaGoMaster(t *testing.T) {
	py := peers.CPython(t)
	for _, hopKind := range []string{"python", "go", "go-inprocess"} {
		for _, subKind := range []string{"python", "go"} {
			t.Run(hopKind+"-hop/"+subKind+"-sub", func(t *testing.T) {
				t.Parallel()
				ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
				defer cancel()
				hop := viaHop(t, ctx, hopKind)
				subSpec := "popen//id=sub//via=hop//python=" + py
				if subKind == "go" {
					subSpec = "popen//id=sub//via=hop//python=" + workerBin + " worker"
				}
				sub := openVia(t, ctx, hop, subSpec+"//env:VIA_TEST=yes")
				big := codec.Bytes(strings.Repeat("via", 400000))
				items := []codec.Value{codec.Int(1), codec.Str("text"), big, codec.List{codec.None{}, codec.Int(-5)}}
				var ch *gateway.Channel
				if subKind == "python" {
					var err error
					ch, err = sub.RemoteExecSource(ctx, "import os\nchannel.send(os.environ.get('VIA_TEST'))\nfor x in channel:\n    channel.send(x)\n")
					if err != nil {
						t.Fatal(err)
					}
					if v, err := ch.Receive(ctx); err != nil || v != codec.Str("yes") {
						t.Fatalf("env through the hop: %v, %v", v, err)
					}
				} else {
					ch = execProc(t, ctx, sub, profile.Echo)
				}
				for _, it := range items {
					if err := ch.Send(ctx, it); err != nil {
						t.Fatal(err)
					}
				}
				for _, it := range items {
					v, err := ch.Receive(ctx)
					if err != nil || !codec.PyEqual(v, it) {
						t.Fatalf("echo through the hop: got %.60s, %v; want %.60s", codec.Repr(v), err, codec.Repr(it))
					}
				}
				if err := ch.Close(); err != nil {
					t.Fatal(err)
				}
				if err := ch.WaitClose(ctx); err != nil {
					t.Fatalf("WaitClose: %v", err)
				}
				stage, err := sub.Shutdown(ctx, 10*time.Second)
				if err != nil || stage != gateway.StageTerminate {
					t.Fatalf("Shutdown of the sub: %v, %v", stage, err)
				}
				if st, ok := sub.ExitStatus(); !ok || st.Code != 0 {
					t.Fatalf("sub exit status %+v (known %v), want code 0", st, ok)
				}
				// Ending the hop ends what it carries.
				sub2 := openVia(t, ctx, hop, strings.Replace(subSpec, "id=sub", "id=sub2", 1))
				if _, err := sub2.Status(ctx); err != nil {
					t.Fatalf("status of the second sub: %v", err)
				}
				if err := hop.Exit(ctx); err != nil {
					t.Logf("hop exit: %v", err)
				}
				select {
				case <-sub2.Done():
				case <-time.After(30 * time.Second):
					t.Fatal("the sub did not end within 30s of its hop's end")
				}
				if _, err := sub2.Status(ctx); err == nil {
					t.Fatal("the sub still answers after its hop ended")
				}
			})
		}
	}
}

// TestViaConcurrentWaits: several Waits on the process of a sub opened
// through a hop, at once, all get its exit status. A gateway waits for
// its sub from two goroutines (Shutdown, and the watch for a stream held
// open), and the first wait to be answered used to stop the control
// channel's reader while the others were still waiting for their
// answers: they failed, and Shutdown went on to SIGTERM and SIGKILL.
func TestViaConcurrentWaits(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	hop := viaHop(t, ctx, "go-inprocess")
	s, err := xspec.Parse("popen//id=sub//via=hop//python=" + workerBin + " worker")
	if err != nil {
		t.Fatal(err)
	}
	conn, err := gateway.DialVia(ctx, hop, s)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	proc := conn.Process()
	const n = 8
	type result struct {
		st  transport.ExitStatus
		err error
	}
	results := make(chan result, n)
	for range n {
		go func() {
			st, err := proc.Wait(ctx)
			results <- result{st, err}
		}()
	}
	// The sub's input ends: it exits, and the waits are answered.
	if cw, ok := conn.(interface{ CloseWrite() error }); !ok {
		t.Fatal("the relayed stream has no CloseWrite")
	} else if err := cw.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	for range n {
		r := <-results
		if r.err != nil {
			t.Errorf("Wait: %v", r.err)
		} else if r.st.Code != 0 {
			t.Errorf("Wait: exit status %+v, want code 0", r.st)
		}
	}
	if err := proc.Kill(); err != nil {
		t.Errorf("Kill of a sub that has exited: %v, want nil", err)
	}
}

// TestViaGroup opens a hop and a gateway through it in a Group and
// terminates the group: the gateway through the hop ends first, so every
// worker ends by GATEWAY_TERMINATE alone (BOOT-VIA-7); a group that ended
// the hop first would need signals for it while its sub runs.
func TestViaGroup(t *testing.T) {
	py := peers.CPython(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	gr := gateway.NewGroup()
	if _, err := gr.Open(ctx, "popen//id=hop//python="+workerBin+" worker"); err != nil {
		t.Fatal(err)
	}
	if _, err := gr.Open(ctx, "popen//via=missing"); !errors.Is(err, gateway.ErrVia) {
		t.Errorf("via= naming no gateway of the group: %v, want ErrVia", err)
	}
	gws, err := gr.Open(ctx, "popen//id=sub//via=hop//python="+py, "popen//id=sub2//via=hop//python="+workerBin+" worker")
	if err != nil {
		gr.Terminate(ctx, time.Second)
		t.Fatal(err)
	}
	ch, err := gws[0].RemoteExecSource(ctx, "channel.send(6 * 7)")
	if err != nil {
		t.Fatal(err)
	}
	if v, err := ch.Receive(ctx); err != nil || v != codec.Int(42) {
		t.Fatalf("exec through the hop: %v, %v", v, err)
	}
	rep := gr.Terminate(ctx, 5*time.Second)
	if len(rep.Workers) != 3 || len(rep.Forced()) != 0 {
		t.Fatalf("Terminate: %s", rep)
	}
	for _, w := range rep.Workers {
		if w.Err != nil || !w.StatusKnown || w.Status.Code != 0 {
			t.Errorf("worker %s: %+v", w.ID, w)
		}
	}
}

// TestViaSuite runs the channel and remote-execution cases of the
// conformance suite through the Go worker as via hop, against a Python
// execnet sub and a Go worker sub, and requires each case's outcome to
// equal the outcome of the same case against the same kind of worker
// opened directly: the hop changes nothing the suite can see.
//
// It does not run under the race detector: the hop and the sub-workers are
// the worker binary, which TestMain builds without -race, so the detector
// would watch only the runner and DialVia, which TestViaGoMaster already
// drives under it; the comparison costs a minute of .ci/run's race step.
func TestViaSuite(t *testing.T) {
	if raceBuild {
		t.Skip("the hop is the worker binary, built without -race; runs in the plain go test step")
	}
	py := peers.CPython(t)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Second)
	defer cancel()
	hop := viaHop(t, ctx, "go")
	// The flood cases (exec/args/stream-count-huge,
	// channel/close/ends-procedure-send) fill the hop's pipes; their bound
	// starts at the first STATUS reply, after what was in flight has been
	// drained, so they run here too.
	sel := conformance.Selector{Run: []string{"channel", "exec"}}
	for _, sub := range []struct{ name, direct, via string }{
		{"python-sub", "popen//python=" + py, "popen//via=hop//python=" + py},
		{"go-sub", "popen//python=" + workerBin + " worker", "popen//via=hop//python=" + workerBin + " worker"},
	} {
		t.Run(sub.name, func(t *testing.T) {
			// The direct run goes on beside the one through the hop: both
			// spend most of their time waiting on deadlines.
			var direct *conformance.Result
			var directErr error
			done := make(chan struct{})
			go func() {
				defer close(done)
				direct, directErr = conformance.Run(ctx, conformance.Options{Target: sub.direct, Style: "exec", Select: sel, InheritEnv: true}, cases.All(), nil)
			}()
			defer func() { <-done }()
			s, err := xspec.Parse(sub.via)
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			open := func(ctx context.Context) (transport.Conn, error) {
				n++
				return gateway.DialVia(ctx, hop, s, gateway.WithID(fmt.Sprintf("sub%d", n)))
			}
			via, err := conformance.Run(ctx, conformance.Options{Open: open, Select: sel}, cases.All(), nil)
			if err != nil {
				t.Fatalf("run through the hop: %v", err)
			}
			<-done
			if directErr != nil {
				t.Fatalf("direct run: %v", directErr)
			}
			want := map[string]conformance.Outcome{}
			for _, c := range direct.Cases {
				want[c.ID] = c.Outcome
			}
			if len(via.Cases) < 15 || len(via.Cases) != len(direct.Cases) {
				t.Fatalf("%d cases through the hop, %d direct", len(via.Cases), len(direct.Cases))
			}
			for _, c := range via.Cases {
				if c.Outcome != want[c.ID] {
					t.Errorf("%s: %v through the hop, %v direct: %s", c.ID, c.Outcome, want[c.ID], c.Message)
				}
			}
			t.Logf("%d cases, same outcomes through the hop as direct; %d sessions through the hop", len(via.Cases), n)
		})
	}
}

// execnetSources reads the module file name (such as gateway_io.py) of
// every execnet release on this machine: Debian's 1.9.0 and the source
// snapshots under the shared peers folder. Files that cannot be read are
// left out; the map is keyed by path.
func execnetSources(name string) map[string][]byte {
	files := []string{"/usr/lib/python3/dist-packages/execnet/" + name}
	if d := peers.SharedDir(); d != "" {
		m, _ := filepath.Glob(filepath.Join(d, "execnet-*", "execnet", name))
		files = append(files, m...)
	}
	out := map[string][]byte{}
	for _, f := range files {
		if b, err := os.ReadFile(f); err == nil {
			out[f] = b
		}
	}
	return out
}

// TestViaProfileCases runs the via profile's conformance cases
// (conformance/cases/via.go) with the Go worker as the target: the runner
// drives it as the hop byte by byte, and its sub is a Go worker too, the
// target's own command. Every case must pass.
func TestViaProfileCases(t *testing.T) {
	checkProfileCases(t, "via", 7)
}

// checkProfileCases runs the cases of the optional profile name (the
// section of the same name) against the Go worker, claiming the profile,
// and requires at least want of them to run and every one to pass; then
// it runs without the claim and requires that none of them is selected.
func checkProfileCases(t *testing.T, name string, want int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	target := "popen//python=" + workerBin + " worker"
	sel := conformance.Selector{Run: []string{name}, Profiles: []string{name}}
	res, err := conformance.Run(ctx, conformance.Options{Target: target, Select: sel}, cases.All(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Cases) < want {
		t.Fatalf("%d %s cases ran, want at least %d", len(res.Cases), name, want)
	}
	for _, c := range res.Cases {
		if c.Outcome != conformance.Pass {
			t.Errorf("%s: %s: %s", c.ID, c.Outcome, c.Message)
		}
	}
	// Without the claim the profile's cases are not selected at all.
	res, err = conformance.Run(ctx, conformance.Options{Target: target,
		Select: conformance.Selector{Run: []string{name, "status/reply"}}}, cases.All(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range res.Cases {
		if strings.HasPrefix(c.ID, name+"/") {
			t.Errorf("%s ran although the %s profile was not claimed", c.ID, name)
		}
	}
}
