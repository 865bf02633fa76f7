//go:build unix

package gateway_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/execnet-conform/execnet-conform/conformance/profile"
	"github.com/execnet-conform/execnet-conform/internal/peers"
	"github.com/execnet-conform/execnet-conform/reference/codec"
	"github.com/execnet-conform/execnet-conform/reference/gateway"
	"github.com/execnet-conform/execnet-conform/reference/transport"
	"github.com/execnet-conform/execnet-conform/reference/worker"
)

// goWorkerArg makes this test binary serve as a Go worker: the tests of
// this package start it as "popen//python=<test binary> execnet-conform-go-worker",
// so a Go worker process needs no separate build. It runs the same
// worker package as "execnet-conform worker".
const goWorkerArg = "execnet-conform-go-worker"

// goProbeArg is goWorkerArg with one more procedure, probeCallName,
// which reports the worker's cwd and $XC_FOO: what the Go worker's setup
// changed, seen from inside the process.
const goProbeArg = "execnet-conform-go-probe"

const probeCallName = "xc_test_probe"

func init() {
	if len(os.Args) > 1 && os.Args[1] == goWorkerArg {
		os.Exit(serveGoWorker())
	}
	if len(os.Args) > 1 && os.Args[1] == goProbeArg {
		os.Exit(serveGoProbe())
	}
}

// serveGoProbe answers the bootstrap itself and serves a worker gateway
// whose executor is the Go worker's (worker.NewExecutor) plus the probe.
func serveGoProbe() int {
	in, out, err := worker.ProtocolStdio()
	if err != nil {
		fmt.Fprintln(os.Stderr, "go probe:", err)
		return 1
	}
	br := bufio.NewReader(in)
	if _, err := br.ReadString('\n'); err != nil {
		return 1
	}
	if _, err := out.Write([]byte{'1'}); err != nil {
		return 1
	}
	ex := worker.NewExecutor(worker.Options{Stderr: os.Stderr})
	probe := gateway.ExecutorFunc(func(ctx context.Context, ch *gateway.Channel, e gateway.Exec) error {
		if e.CallName != probeCallName {
			return ex.Exec(ctx, ch, e)
		}
		cwd, err := os.Getwd()
		if err != nil {
			return err
		}
		return ch.Send(ctx, codec.Tuple{codec.Str(cwd), codec.Str(os.Getenv("XC_FOO"))})
	})
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	g := gateway.New(&stdioConn{r: br, in: in, out: out}, gateway.Worker, gateway.WithExecutor(probe))
	if err := g.Serve(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "go probe:", err)
		return 1
	}
	return 0
}

// stdioConn is the transport.Conn of serveGoProbe.
type stdioConn struct {
	r       *bufio.Reader
	in, out *os.File
}

func (c *stdioConn) Read(p []byte) (int, error)  { return c.r.Read(p) }
func (c *stdioConn) Write(p []byte) (int, error) { return c.out.Write(p) }
func (c *stdioConn) CloseWrite() error           { return c.out.Close() }
func (c *stdioConn) Close() error                { c.in.Close(); return c.out.Close() }
func (c *stdioConn) Process() transport.Process  { return nil }

// goProbeSpec is goWorkerSpec in probe mode.
func goProbeSpec() string { return strings.Replace(goWorkerSpec(), goWorkerArg, goProbeArg, 1) }

func serveGoWorker() int {
	in, out, err := worker.ProtocolStdio()
	if err != nil {
		fmt.Fprintln(os.Stderr, "go worker:", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := worker.Serve(ctx, in, out, worker.Options{Stderr: os.Stderr}); err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintln(os.Stderr, "go worker:", err)
		return 1
	}
	return 0
}

// goWorkerSpec returns the xspec of a Go worker process (this binary).
func goWorkerSpec() string {
	exe, err := os.Executable()
	if err != nil {
		exe = os.Args[0]
	}
	return "popen//python='" + strings.ReplaceAll(exe, "'", `'\''`) + "' " + goWorkerArg + "//style=import"
}

// pythonSpec returns the xspec of a CPython execnet worker, or skips t.
func pythonSpec(t testing.TB) string {
	return "popen//python=" + peers.CPython(t)
}

func testCtx(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// profileExec returns the Exec that calls a profile procedure, as
// execnet's remote_exec(function, **kwargs) sends it: Python workers run
// the source, Go workers the native procedure of that name.
func profileExec(t testing.TB, name string, kwargs ...codec.Item) gateway.Exec {
	t.Helper()
	src, err := profile.Source(name)
	if err != nil {
		t.Fatal(err)
	}
	kw, err := codec.NewDict(kwargs...)
	if err != nil {
		t.Fatal(err)
	}
	return gateway.Exec{Source: src, FileName: profile.FileName, CallName: name, Kwargs: kw}
}

// openGroup opens the specs in one group that the test terminates, and
// checks that every worker ended by itself unless allowForced.
func openGroup(t *testing.T, specs ...string) *gateway.Group {
	t.Helper()
	gr := gateway.NewGroup()
	if _, err := gr.Open(testCtx(t, 30*time.Second), specs...); err != nil {
		t.Fatalf("opening %q: %v", specs, err)
	}
	t.Cleanup(func() { gr.Terminate(context.Background(), 2*time.Second) })
	return gr
}

func TestMultiChannelSendReceiveEach(t *testing.T) {
	t.Parallel()
	gr := openGroup(t, goWorkerSpec(), pythonSpec(t), goWorkerSpec())
	ctx := testCtx(t, 20*time.Second)
	mc, err := gr.RemoteExec(ctx, profileExec(t, profile.Echo))
	if err != nil {
		t.Fatal(err)
	}
	if mc.Len() != 3 {
		t.Fatalf("Len = %d, want 3", mc.Len())
	}
	if err := mc.SendEach(ctx, codec.Int(7)); err != nil {
		t.Fatal(err)
	}
	vals, err := mc.ReceiveEach(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range vals {
		if !codec.Identical(v, codec.Int(7)) {
			t.Errorf("item %d = %s, want 7", i, codec.Repr(v))
		}
	}
	if len(vals) != 3 {
		t.Fatalf("ReceiveEach returned %d items", len(vals))
	}
	if err := mc.SendEach(ctx, codec.Str("x")); err != nil {
		t.Fatal(err)
	}
	rs, err := mc.ReceiveEachWithChannel(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range rs {
		if r.Channel != mc.Channels()[i] {
			t.Errorf("item %d came with %s, want %s", i, r.Channel, mc.Channels()[i])
		}
		if r.Channel.Gateway() != gr.Gateways()[i] {
			t.Errorf("item %d: channel of gateway %s, want %s", i, r.Channel.Gateway().ID(), gr.Gateways()[i].ID())
		}
		if !codec.Identical(r.Value, codec.Str("x")) {
			t.Errorf("item %d = %s", i, codec.Repr(r.Value))
		}
	}
	if err := mc.Close(); err != nil {
		t.Fatal(err)
	}
	if err := mc.WaitClose(ctx); err != nil {
		t.Fatalf("WaitClose after a clean close: %v", err)
	}
	// Sending on closed channels fails for each of them.
	err = mc.SendEach(ctx, codec.Int(1))
	var cce *gateway.ChannelClosedError
	if !errors.As(err, &cce) || strings.Count(err.Error(), "closed channel") != 3 {
		t.Fatalf("SendEach on closed channels = %v, want 3 ChannelClosedErrors", err)
	}
}

func TestMultiChannelReceiveQueue(t *testing.T) {
	t.Parallel()
	gr := openGroup(t, goWorkerSpec(), pythonSpec(t))
	ctx := testCtx(t, 20*time.Second)
	mc, err := gr.RemoteExec(ctx, profileExec(t, profile.Echo))
	if err != nil {
		t.Fatal(err)
	}
	const n = 50
	for i := 0; i < n; i++ {
		if err := mc.SendEach(ctx, codec.Int(i)); err != nil {
			t.Fatal(err)
		}
	}
	end := codec.Str("END")
	q, err := mc.ReceiveQueue(end)
	if err != nil {
		t.Fatal(err)
	}
	if q2, err := mc.ReceiveQueue(codec.None{}); err != nil || q2 != q {
		t.Fatalf("second ReceiveQueue = %v, %v; want the same queue", q2, err)
	}
	if _, err := mc.ReceiveEach(ctx); !errors.Is(err, gateway.ErrHasCallback) {
		t.Fatalf("ReceiveEach with a queue: %v, want ErrHasCallback", err)
	}
	next := map[*gateway.Channel]int{}
	for got := 0; got < 2*n; got++ {
		r := take(t, ctx, q)
		if !codec.Identical(r.Value, codec.Int(next[r.Channel])) {
			t.Fatalf("%s sent %s, want %d (items of one channel in order)", r.Channel, codec.Repr(r.Value), next[r.Channel])
		}
		next[r.Channel]++
	}
	for _, ch := range mc.Channels() {
		if next[ch] != n {
			t.Errorf("%s: %d items, want %d", ch, next[ch], n)
		}
	}
	// Closing a channel from our side queues its end marker.
	first := mc.Channels()[0]
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	if r := take(t, ctx, q); r.Channel != first || !codec.Identical(r.Value, end) {
		t.Fatalf("after Close got %s from %s, want the end marker of %s", codec.Repr(r.Value), r.Channel, first)
	}
	// The queue closes after the last end marker has been taken.
	second := mc.Channels()[1]
	if err := second.Close(); err != nil {
		t.Fatal(err)
	}
	if r := take(t, ctx, q); r.Channel != second || !codec.Identical(r.Value, end) {
		t.Fatalf("got %s from %s, want the end marker of %s", codec.Repr(r.Value), r.Channel, second)
	}
	select {
	case r, ok := <-q:
		if ok {
			t.Fatalf("queue still open after every end marker: got %s", codec.Repr(r.Value))
		}
	case <-ctx.Done():
		t.Fatal("queue not closed after every end marker")
	}
}

// take returns the next element of q, failing t when ctx ends first or
// q is closed.
func take(t *testing.T, ctx context.Context, q <-chan gateway.Received) gateway.Received {
	t.Helper()
	select {
	case r, ok := <-q:
		if !ok {
			t.Fatal("receive queue closed early")
		}
		return r
	case <-ctx.Done():
		t.Fatal("timeout waiting for the receive queue")
	}
	return gateway.Received{}
}

// TestReceiveQueueWorkerDeath kills workers (a Go one and a Python one)
// while their channels are open: each one's end marker must arrive, and
// the survivors keep working.
func TestReceiveQueueWorkerDeath(t *testing.T) {
	t.Parallel()
	gr := openGroup(t, goWorkerSpec(), pythonSpec(t), goWorkerSpec())
	ctx := testCtx(t, 20*time.Second)
	mc, err := gr.RemoteExec(ctx, profileExec(t, profile.Echo))
	if err != nil {
		t.Fatal(err)
	}
	end := codec.Str("END")
	q, err := mc.ReceiveQueue(end)
	if err != nil {
		t.Fatal(err)
	}
	gws := gr.Gateways()
	for _, victim := range []int{0, 1} {
		if err := syscall.Kill(gws[victim].Pid(), syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		r := take(t, ctx, q)
		if r.Channel != mc.Channels()[victim] || !codec.Identical(r.Value, end) {
			t.Fatalf("after killing %s got %s from %s, want its end marker", gws[victim].ID(), codec.Repr(r.Value), r.Channel)
		}
	}
	survivor := mc.Channels()[2]
	if err := survivor.Send(ctx, codec.Int(5)); err != nil {
		t.Fatal(err)
	}
	if r := take(t, ctx, q); r.Channel != survivor || !codec.Identical(r.Value, codec.Int(5)) {
		t.Fatalf("survivor: got %s from %s", codec.Repr(r.Value), r.Channel)
	}
	if err := mc.Close(); err != nil {
		t.Logf("Close: %v", err) // the dead ones cannot be told
	}
	err = mc.WaitClose(ctx)
	var lost *gateway.ConnectionLostError
	if !errors.As(err, &lost) || lost.Gateway != gws[0].ID() {
		t.Fatalf("WaitClose = %v, want the first dead gateway's ConnectionLostError", err)
	}
}

func TestMultiChannelWaitCloseRemoteError(t *testing.T) {
	t.Parallel()
	gr := openGroup(t, goWorkerSpec(), pythonSpec(t))
	ctx := testCtx(t, 20*time.Second)
	// The first channel ends cleanly, the second with an error: WaitClose
	// waits for both and returns the error.
	ok, err := gr.Gateways()[0].RemoteExec(ctx, profileExec(t, profile.Sleep, codec.Item{Key: codec.Str("seconds"), Value: codec.Float(0.2)}))
	if err != nil {
		t.Fatal(err)
	}
	bad, err := gr.Gateways()[1].RemoteExec(ctx, profileExec(t, profile.Fail, codec.Item{Key: codec.Str("message"), Value: codec.Str("boom from python")}))
	if err != nil {
		t.Fatal(err)
	}
	mc := gateway.NewMultiChannel(ok, bad)
	err = mc.WaitClose(ctx)
	var re *gateway.RemoteError
	if !errors.As(err, &re) || !strings.Contains(re.Text, "boom from python") {
		t.Fatalf("WaitClose = %v, want the RemoteError of the Python worker", err)
	}
	if !ok.IsClosed() || !bad.IsClosed() {
		t.Fatalf("WaitClose returned before every channel finished: %s %s", ok, bad)
	}
}

func TestMultiChannelCloseStopsQueue(t *testing.T) {
	t.Parallel()
	gr := openGroup(t, goWorkerSpec())
	ctx := testCtx(t, 20*time.Second)
	mc, err := gr.RemoteExec(ctx, profileExec(t, profile.Echo))
	if err != nil {
		t.Fatal(err)
	}
	q, err := mc.ReceiveQueue(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := mc.SendEach(ctx, codec.Int(1)); err != nil {
		t.Fatal(err)
	}
	if r := take(t, ctx, q); !codec.Identical(r.Value, codec.Int(1)) {
		t.Fatalf("got %s", codec.Repr(r.Value))
	}
	if err := mc.Close(); err != nil {
		t.Fatal(err)
	}
	// A nil end marker queues nothing at the end; the queue just closes.
	select {
	case r, open := <-q:
		if open {
			t.Fatalf("got %s after Close with no end marker wanted", codec.Repr(r.Value))
		}
	case <-ctx.Done():
		t.Fatal("queue not closed by Close")
	}
}
