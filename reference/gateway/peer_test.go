//go:build unix

package gateway

import (
	"context"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/execnet-conform/execnet-conform/internal/peers"
	"github.com/execnet-conform/execnet-conform/reference/codec"
	"github.com/execnet-conform/execnet-conform/reference/transport"
)

// pythonValues are the sample values a Python peer echoes unchanged
// (execnet cannot send ints below -2**31; see SPEC.md).
func pythonValues(t *testing.T) []codec.Value {
	var out []codec.Value
	for _, v := range sampleValues(t) {
		if i, ok := v.(codec.Int); ok && i < math.MinInt32 {
			continue
		}
		out = append(out, v)
	}
	return out
}

func openPy(t *testing.T, interp, style string) *Gateway {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	g, err := Open(ctx, "popen//python="+interp, WithTransportOptions(transport.Options{Style: style}))
	if err != nil {
		t.Fatalf("Open %s (%s style): %v", interp, style, err)
	}
	t.Cleanup(func() { g.Exit(context.Background()) })
	return g
}

func TestPythonPeers(t *testing.T) {
	for name, interp := range peers.Interpreters(t) {
		for _, style := range []string{transport.StyleImport, transport.StyleExec} {
			t.Run(name+"/"+style, func(t *testing.T) {
				t.Parallel()
				testPythonPeer(t, openPy(t, interp, style))
			})
		}
	}
}

func testPythonPeer(t *testing.T, g *Gateway) {
	ctx := ctxT(t)
	if g.Pid() <= 0 {
		t.Errorf("Pid() = %d", g.Pid())
	}
	// round trips of every value kind
	ch, err := g.RemoteExecSource(ctx, `
		for item in channel:
		    channel.send(item)
	`)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range pythonValues(t) {
		if err := ch.Send(ctx, v); err != nil {
			t.Fatal(err)
		}
		got, err := ch.Receive(ctx)
		if err != nil {
			t.Fatalf("echo of %.60s: %v", codec.Repr(v), err)
		}
		if !codec.Identical(got, v) {
			t.Errorf("echo of %.60s = %.60s", codec.Repr(v), codec.Repr(got))
		}
	}
	// status while the echo runs
	st, err := g.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.NumChannels != 1 || st.NumExecuting != 1 || st.ExecModel != "thread" {
		t.Errorf("status = %+v, want 1 channel, 1 executing, thread", st)
	}
	ch.Close()
	if err := ch.WaitClose(ctx); err != nil {
		t.Fatal(err)
	}

	// a remote error carries the traceback
	ch, _ = g.RemoteExecSource(ctx, "channel.send(1)\nraise ValueError('boom')")
	if v, err := ch.Receive(ctx); err != nil || !codec.Identical(v, codec.Int(1)) {
		t.Fatalf("before error: %v %v", v, err)
	}
	_, err = ch.Receive(ctx)
	var re *RemoteError
	if !errors.As(err, &re) || !strings.Contains(re.Text, "Traceback (most recent call last)") || !strings.Contains(re.Text, "ValueError: boom") {
		t.Fatalf("got %v, want RemoteError with the traceback", err)
	}
	if _, err := ch.Receive(ctx); !errors.Is(err, io.EOF) {
		t.Fatalf("after the remote error: %v, want EOF", err)
	}

	// function-style exec with kwargs
	kw := mustDict(t, codec.Item{Key: codec.Str("x"), Value: codec.Int(20)})
	ch, _ = g.RemoteExec(ctx, Exec{Source: "def f(channel, x):\n    channel.send(x + 1)\n", CallName: "f", Kwargs: kw})
	if v, err := ch.Receive(ctx); err != nil || !codec.Identical(v, codec.Int(21)) {
		t.Fatalf("call_name exec: %v %v", v, err)
	}

	// a channel made by the worker, sent to us
	ch, _ = g.RemoteExecSource(ctx, `
		nc = channel.gateway.newchannel()
		channel.send(nc)
		for x in nc:
		    nc.send(x * 2)
	`)
	v, err := ch.Receive(ctx)
	nc, ok := v.(*Channel)
	if err != nil || !ok || nc.ID()%2 != 0 {
		t.Fatalf("worker channel: %v %v", v, err)
	}
	nc.Send(ctx, codec.Int(21))
	if v, err := nc.Receive(ctx); err != nil || !codec.Identical(v, codec.Int(42)) {
		t.Fatalf("on worker channel: %v %v", v, err)
	}
	nc.Close()
	if err := ch.WaitClose(ctx); err != nil {
		t.Fatal(err)
	}

	// a channel made by us, sent to the worker
	ch, _ = g.RemoteExecSource(ctx, "c = channel.receive()\nc.send('hello')\nc.close()")
	mine := g.NewChannel()
	ch.Send(ctx, mine)
	if v, err := mine.Receive(ctx); err != nil || !codec.Identical(v, codec.Str("hello")) {
		t.Fatalf("on our channel: %v %v", v, err)
	}
	if err := mine.WaitClose(ctx); err != nil || !mine.IsClosed() {
		t.Fatalf("our channel after the worker closed it: %v closed=%v", err, mine.IsClosed())
	}

	// callback with end marker
	ch, _ = g.RemoteExecSource(ctx, "for i in range(5): channel.send(i)")
	got := make(chan codec.Value, 10)
	ch.SetCallback(func(v codec.Value) { got <- v }, codec.Str("end"))
	for i := 0; i < 6; i++ {
		select {
		case v := <-got:
			want := codec.Value(codec.Int(i))
			if i == 5 {
				want = codec.Str("end")
			}
			if !codec.Identical(v, want) {
				t.Fatalf("callback item %d = %s", i, codec.Repr(v))
			}
		case <-ctx.Done():
			t.Fatal("callback items missing")
		}
	}

	// the worker's channel.reconfigure sends RECONFIGURE for the channel:
	// our side then decodes its str items as bytes
	ch, _ = g.RemoteExecSource(ctx, "channel.reconfigure(py2str_as_py3str=True, py3str_as_py2str=True)\nchannel.send(channel.receive())")
	ch.Send(ctx, codec.Str("text"))
	if v, err := ch.Receive(ctx); err != nil || !codec.Identical(v, codec.Bytes("text")) {
		t.Errorf("after the worker reconfigured the channel: %v %v, want b'text'", v, err)
	}

	// exit ends the worker with status 0
	stage, err := g.Shutdown(ctx, 5*time.Second)
	if err != nil || stage != StageTerminate {
		t.Fatalf("Shutdown = %v, %v", stage, err)
	}
	if st, ok := g.ExitStatus(); !ok || st.Code != 0 || st.Signal != "" {
		t.Errorf("exit status = %+v, %v; want 0", st, ok)
	}
	if _, err := g.RemoteExecSource(ctx, "pass"); !errors.Is(err, ErrGatewayClosed) {
		t.Errorf("RemoteExec after exit: %v", err)
	}
}

// Killing the Python worker while we wait in Receive gives a clear
// connection-lost error quickly.
func TestPythonWorkerKilled(t *testing.T) {
	interp := peers.CPython(t)
	g := openPy(t, interp, transport.StyleImport)
	ctx := ctxT(t)
	ch, _ := g.RemoteExecSource(ctx, "channel.send(1)\nchannel.receive()")
	if _, err := ch.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(g.Pid(), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_, err := ch.ReceiveTimeout(time.Second)
	var lost *ConnectionLostError
	if !errors.As(err, &lost) {
		t.Fatalf("got %v, want *ConnectionLostError within 1s", err)
	}
	want := "worker gw0 (pid " + itoa(g.Pid()) + ") closed the connection: exited with status -9 (SIGKILL)"
	if err.Error() != want {
		t.Errorf("error text\n got %q\nwant %q", err, want)
	}
	if err := ch.WaitClose(ctx); !errors.As(err, &lost) {
		t.Errorf("WaitClose: %v", err)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// fakeWorker writes a Python script that answers the bootstrap and then
// ignores its input (and, with ignoreTerm, SIGTERM).
func fakeWorker(t *testing.T, interp string, ignoreTerm bool) string {
	src := "import sys, signal, time\n"
	if ignoreTerm {
		src += "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
	}
	src += "sys.stdin.readline()\nsys.stdout.write('1')\nsys.stdout.flush()\ntime.sleep(60)\n"
	p := filepath.Join(t.TempDir(), "fake.py")
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return interp + " " + p
}

func TestExitEscalation(t *testing.T) {
	interp := peers.CPython(t)
	for _, tc := range []struct {
		ignoreTerm bool
		want       ExitStage
		sig        string
	}{{false, StageSIGTERM, "SIGTERM"}, {true, StageSIGKILL, "SIGKILL"}} {
		t.Run(tc.want.String(), func(t *testing.T) {
			t.Parallel()
			ctx := ctxT(t)
			g, err := Open(ctx, "popen//python="+fakeWorker(t, interp, tc.ignoreTerm), WithExitGrace(300*time.Millisecond))
			if err != nil {
				t.Fatal(err)
			}
			pid := g.Pid()
			// a send that blocks because the worker never reads must not
			// keep Exit from finishing; it fails once the worker is gone
			sendErr := make(chan error, 1)
			go func() {
				sendErr <- g.NewChannel().Send(context.Background(), codec.Bytes(make([]byte, 4<<20)))
			}()
			err = g.Exit(ctx)
			if err := <-sendErr; err == nil {
				t.Error("a 4 MiB send to a worker that never reads succeeded")
			}
			var fe *ForcedExitError
			if !errors.As(err, &fe) || fe.Stage != tc.want {
				t.Fatalf("Exit = %v, want a *ForcedExitError at %s", err, tc.want)
			}
			if st, ok := g.ExitStatus(); !ok || st.Signal != tc.sig {
				t.Errorf("exit status %+v %v, want killed by %s", st, ok, tc.sig)
			}
			if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
				t.Errorf("pid %d still exists after Exit (kill 0: %v)", pid, err)
			}
		})
	}
}

func TestGroupTerminate(t *testing.T) {
	interp := peers.CPython(t)
	ctx := ctxT(t)
	gr := NewGroup()
	gws, err := gr.Open(ctx, "popen//python="+interp+"//style=import", "popen//python="+interp+"//style=import", "popen//id=mine//python="+fakeWorker(t, interp, true))
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, g := range gws {
		ids = append(ids, g.ID())
	}
	if strings.Join(ids, ",") != "gw0,gw1,mine" {
		t.Errorf("ids = %v", ids)
	}
	for _, g := range gws[:2] {
		ch, _ := g.RemoteExecSource(ctx, "channel.send(channel.gateway.id)")
		if v, err := ch.Receive(ctx); err != nil || !codec.Identical(v, codec.Str(g.ID()+"-worker")) {
			t.Errorf("worker id: %v %v", v, err)
		}
	}
	rep := gr.Terminate(ctx, 300*time.Millisecond)
	if len(rep.Workers) != 3 {
		t.Fatalf("report: %v", rep)
	}
	forced := rep.Forced()
	if len(forced) != 1 || forced[0].ID != "mine" || forced[0].Stage != StageSIGKILL {
		t.Errorf("forced = %+v; report %s", forced, rep)
	}
	for _, w := range rep.Workers[:2] {
		if w.Stage != StageTerminate || !w.StatusKnown || w.Status.Code != 0 {
			t.Errorf("worker %s: %+v", w.ID, w)
		}
	}
	if len(gr.Gateways()) != 0 {
		t.Error("group not empty after Terminate")
	}
}

// BenchmarkPythonRoundTrip is BenchmarkRoundTrip against CPython execnet
// 1.9 (import style) for comparison with the Go worker.
func BenchmarkPythonRoundTrip(b *testing.B) {
	interp := peers.CPython(b)
	for _, size := range benchSizes {
		b.Run(strconv.Itoa(size), func(b *testing.B) {
			ctx := context.Background()
			g, err := Open(ctx, "popen//python="+interp, WithTransportOptions(transport.Options{Style: transport.StyleImport}))
			if err != nil {
				b.Fatal(err)
			}
			defer g.Exit(ctx)
			ch, err := g.RemoteExecSource(ctx, "for item in channel:\n    channel.send(item)")
			if err != nil {
				b.Fatal(err)
			}
			benchRoundTrips(b, ch, size)
		})
	}
}

func TestGroupOpenFailure(t *testing.T) {
	interp := peers.CPython(t)
	gr := NewGroup()
	_, err := gr.Open(ctxT(t), "popen//python="+interp+"//style=import", "popen//python=/nonexistent/python3")
	var be *transport.BootstrapError
	if !errors.As(err, &be) || !strings.Contains(err.Error(), "gateway gw1") {
		t.Fatalf("got %v, want a *transport.BootstrapError for gw1", err)
	}
	if n := len(gr.Gateways()); n != 0 {
		t.Errorf("group holds %d gateways after a failed Open", n)
	}
}
