package gateway

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/execnet-conform/execnet-conform/reference/codec"
	"github.com/execnet-conform/execnet-conform/reference/frame"
	"github.com/execnet-conform/execnet-conform/reference/transport"
	"github.com/execnet-conform/execnet-conform/spec"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// pipeConn is a transport.Conn over two os.Pipe halves.
type pipeConn struct {
	r *os.File
	w *os.File
}

func (c *pipeConn) Read(p []byte) (int, error)         { return c.r.Read(p) }
func (c *pipeConn) Write(p []byte) (int, error)        { return c.w.Write(p) }
func (c *pipeConn) CloseWrite() error                  { return c.w.Close() }
func (c *pipeConn) Process() transport.Process         { return nil }
func (c *pipeConn) SetWriteDeadline(t time.Time) error { return c.w.SetWriteDeadline(t) }
func (c *pipeConn) Close() error {
	c.w.Close()
	return c.r.Close()
}

// pipePair returns two connected conns.
func pipePair(t testing.TB) (*pipeConn, *pipeConn) {
	t.Helper()
	r1, w1, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	r2, w2, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	return &pipeConn{r: r1, w: w2}, &pipeConn{r: r2, w: w1}
}

// testExecutor runs tiny Go "programs" named by the source text.
var testExecutor = ExecutorFunc(func(ctx context.Context, ch *Channel, e Exec) error {
	switch e.Source {
	case "echo":
		for {
			v, err := ch.Receive(ctx)
			if err != nil {
				return err
			}
			if err := ch.Send(ctx, v); err != nil {
				return err
			}
		}
	case "sink":
		// count items until a None, then answer the count
		n := 0
		for {
			v, err := ch.Receive(ctx)
			if err != nil {
				return err
			}
			if _, ok := v.(codec.None); ok {
				return ch.Send(ctx, codec.Int(n))
			}
			n++
		}
	case "send42":
		return ch.Send(ctx, codec.Int(42))
	case "fail":
		msg, _ := e.Kwargs.Get(codec.Str("message"))
		if err := ch.Send(ctx, codec.Int(1)); err != nil {
			return err
		}
		return errors.New(string(msg.(codec.Str)))
	case "newchannel":
		nc := ch.Gateway().NewChannel()
		if err := ch.Send(ctx, nc); err != nil {
			return err
		}
		for {
			v, err := nc.Receive(ctx)
			if err != nil {
				return nil
			}
			if err := nc.Send(ctx, v); err != nil {
				return err
			}
		}
	case "usechannel":
		// receive a channel made by the master, greet on it, close it
		v, err := ch.Receive(ctx)
		if err != nil {
			return err
		}
		other, ok := v.(*Channel)
		if !ok {
			return fmt.Errorf("got %T, want *Channel", v)
		}
		if err := other.Send(ctx, codec.Str("hello")); err != nil {
			return err
		}
		return other.Close()
	case "block":
		<-ctx.Done()
		return ctx.Err()
	case "panic":
		panic("boom")
	case "selfclose":
		return ch.Close() // not allowed: the gateway closes it
	case "worker-status":
		// a worker may not ask; the master must ignore STATUS (and not die)
		return ch.Gateway().sendEmpty(ctx, spec.MsgStatus, 2)
	case "count":
		n, _ := e.Kwargs.Get(codec.Str("n"))
		for i := 0; i < int(n.(codec.Int)); i++ {
			if err := ch.Send(ctx, codec.Int(i)); err != nil {
				return err
			}
		}
		return nil
	}
	return fmt.Errorf("unknown test program %q", e.Source)
})

type pair struct {
	m, w     *Gateway
	serveErr chan error
}

func newPair(t *testing.T, wopts ...Option) *pair {
	t.Helper()
	mc, wc := pipePair(t)
	p := &pair{serveErr: make(chan error, 1)}
	p.w = New(wc, Worker, append([]Option{WithExecutor(testExecutor), WithID("gw0-worker"), WithExecGrace(time.Second)}, wopts...)...)
	p.m = New(mc, Master, WithExitGrace(time.Second))
	go func() { p.serveErr <- p.w.Serve(context.Background()) }()
	t.Cleanup(func() {
		p.m.Exit(context.Background())
		select {
		case <-p.serveErr:
		case <-time.After(10 * time.Second):
			t.Error("worker Serve did not return")
		}
		wc.Close()
	})
	return p
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func mustDict(t *testing.T, items ...codec.Item) *codec.Dict {
	d, err := codec.NewDict(items...)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func sampleValues(t *testing.T) []codec.Value {
	big1, _ := new(big.Int).SetString("123456789012345678901234567890", 10)
	set, _ := codec.NewSet(codec.Int(1), codec.Str("a"))
	fs, _ := codec.NewFrozenSet(codec.Int(7))
	return []codec.Value{
		codec.None{}, codec.Bool(true), codec.Bool(false), codec.Int(0), codec.Int(-1),
		codec.Int(math.MaxInt32), codec.Int(math.MinInt32), codec.Int(1 << 40), codec.Int(math.MinInt64),
		codec.NewBigInt(big1), codec.Float(1.5), codec.Float(math.Inf(-1)), codec.Complex(complex(1, -2)),
		codec.Bytes(nil), codec.Bytes("ab\x00"), codec.Str(""), codec.Str("é😀"),
		codec.Tuple{}, codec.Tuple{codec.Int(1), codec.Str("x")}, codec.List{codec.None{}, codec.List{}},
		mustDict(t, codec.Item{Key: codec.Str("a"), Value: codec.Int(1)}, codec.Item{Key: codec.Tuple{codec.Int(1)}, Value: codec.List{codec.Int(2)}}),
		set, fs, codec.Bytes(bytes.Repeat([]byte{7}, 100000)),
	}
}

func TestGoMasterGoWorkerEcho(t *testing.T) {
	p := newPair(t)
	ctx := ctxT(t)
	ch, err := p.m.RemoteExec(ctx, Exec{Source: "echo"})
	if err != nil {
		t.Fatal(err)
	}
	if ch.ID() != 1 {
		t.Errorf("first master channel id = %d, want 1", ch.ID())
	}
	for _, v := range sampleValues(t) {
		if err := ch.Send(ctx, v); err != nil {
			t.Fatalf("send %s: %v", codec.Repr(v), err)
		}
		got, err := ch.Receive(ctx)
		if err != nil {
			t.Fatalf("receive: %v", err)
		}
		if !codec.Identical(got, v) {
			t.Errorf("echo of %.60s = %.60s", codec.Repr(v), codec.Repr(got))
		}
	}
	if err := ch.Close(); err != nil {
		t.Fatal(err)
	}
	if !ch.IsClosed() {
		t.Error("IsClosed false after Close")
	}
	if err := ch.Send(ctx, codec.Int(1)); !errors.Is(err, ErrChannelClosed) {
		t.Errorf("send after close: %v, want ErrChannelClosed", err)
	}
	var cce *ChannelClosedError
	if err := ch.Send(ctx, codec.Int(1)); !errors.As(err, &cce) || cce.ID != 1 {
		t.Errorf("send after close: %v, want *ChannelClosedError", err)
	}
	if _, err := ch.Receive(ctx); !errors.Is(err, io.EOF) {
		t.Errorf("receive after close: %v, want EOF", err)
	}
}

func TestIDParity(t *testing.T) {
	p := newPair(t)
	for i, want := range []int32{1, 3, 5} {
		if got := p.m.NewChannel().ID(); got != want {
			t.Errorf("master channel %d id = %d, want %d", i, got, want)
		}
	}
	for i, want := range []int32{2, 4, 6} {
		if got := p.w.NewChannel().ID(); got != want {
			t.Errorf("worker channel %d id = %d, want %d", i, got, want)
		}
	}
}

func TestRemoteErrorThenEOF(t *testing.T) {
	p := newPair(t)
	ctx := ctxT(t)
	ch, err := p.m.RemoteExec(ctx, Exec{Source: "fail", CallName: "x",
		Kwargs: mustDict(t, codec.Item{Key: codec.Str("message"), Value: codec.Str("my error")})})
	if err != nil {
		t.Fatal(err)
	}
	v, err := ch.Receive(ctx)
	if err != nil || !codec.Identical(v, codec.Int(1)) {
		t.Fatalf("first receive = %v, %v", v, err)
	}
	_, err = ch.Receive(ctx)
	var re *RemoteError
	if !errors.As(err, &re) || re.Text != "my error" {
		t.Fatalf("second receive: %v, want RemoteError(my error)", err)
	}
	if _, err = ch.Receive(ctx); !errors.Is(err, io.EOF) || errors.As(err, &re) {
		t.Fatalf("third receive: %v, want EOF", err)
	}
	if !ch.IsClosed() {
		t.Error("channel not closed after CLOSE_ERROR")
	}
}

func TestExecutorPanicAndUnknown(t *testing.T) {
	p := newPair(t)
	ctx := ctxT(t)
	ch, _ := p.m.RemoteExec(ctx, Exec{Source: "panic"})
	err := ch.WaitClose(ctx)
	var re *RemoteError
	if !errors.As(err, &re) || !strings.Contains(re.Text, "boom") {
		t.Errorf("panic: %v", err)
	}
	ch, _ = p.m.RemoteExec(ctx, Exec{Source: "nope"})
	if err := ch.WaitClose(ctx); !errors.As(err, &re) || !strings.Contains(re.Text, "unknown test program") {
		t.Errorf("unknown: %v", err)
	}
}

func TestChannelsInData(t *testing.T) {
	p := newPair(t)
	ctx := ctxT(t)
	// worker makes a channel and sends it to us
	ch, _ := p.m.RemoteExec(ctx, Exec{Source: "newchannel"})
	v, err := ch.Receive(ctx)
	if err != nil {
		t.Fatal(err)
	}
	nc, ok := v.(*Channel)
	if !ok || nc.ID()%2 != 0 || nc.Gateway() != p.m {
		t.Fatalf("got %#v, want an even *Channel of the master", v)
	}
	for i := 0; i < 3; i++ {
		nc.Send(ctx, codec.Int(i))
		if v, err := nc.Receive(ctx); err != nil || !codec.Identical(v, codec.Int(i)) {
			t.Fatalf("echo on passed channel: %v %v", v, err)
		}
	}
	nc.Close()
	if err := ch.WaitClose(ctx); err != nil {
		t.Fatal(err)
	}
	// we make a channel and send it to the worker
	ch2, _ := p.m.RemoteExec(ctx, Exec{Source: "usechannel"})
	mine := p.m.NewChannel()
	if err := ch2.Send(ctx, codec.Tuple{mine}[0]); err != nil {
		t.Fatal(err)
	}
	if v, err := mine.Receive(ctx); err != nil || !codec.Identical(v, codec.Str("hello")) {
		t.Fatalf("greeting: %v %v", v, err)
	}
	if err := mine.WaitClose(ctx); err != nil {
		t.Fatal(err)
	}
	if !mine.IsClosed() {
		t.Error("channel closed by the worker is not closed")
	}
}

func TestCallbackWithEndmarker(t *testing.T) {
	p := newPair(t)
	ctx := ctxT(t)
	ch, _ := p.m.RemoteExec(ctx, Exec{Source: "count", CallName: "count",
		Kwargs: mustDict(t, codec.Item{Key: codec.Str("n"), Value: codec.Int(50)})})
	var mu sync.Mutex
	var got []codec.Value
	done := make(chan struct{})
	err := ch.SetCallback(func(v codec.Value) {
		mu.Lock()
		got = append(got, v)
		mu.Unlock()
		if v == (codec.Str("END")) {
			close(done)
		}
	}, codec.Str("END"))
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-ctx.Done():
		t.Fatal("no end marker")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 51 {
		t.Fatalf("callback got %d items, want 50 + end marker", len(got))
	}
	for i := 0; i < 50; i++ {
		if !codec.Identical(got[i], codec.Int(i)) {
			t.Fatalf("item %d = %s", i, codec.Repr(got[i]))
		}
	}
	if _, err := ch.Receive(ctx); !errors.Is(err, ErrHasCallback) {
		t.Errorf("receive with callback: %v", err)
	}
	if err := ch.SetCallback(func(codec.Value) {}, nil); !errors.Is(err, ErrHasCallback) {
		t.Errorf("second SetCallback: %v", err)
	}
}

// A slow callback on one channel delays but does not corrupt another.
func TestSlowCallbackDoesNotCorruptOthers(t *testing.T) {
	p := newPair(t)
	ctx := ctxT(t)
	slow, _ := p.m.RemoteExec(ctx, Exec{Source: "echo"})
	fast, _ := p.m.RemoteExec(ctx, Exec{Source: "echo"})
	var mu sync.Mutex
	var slowGot []codec.Value
	slow.SetCallback(func(v codec.Value) {
		time.Sleep(2 * time.Millisecond)
		mu.Lock()
		slowGot = append(slowGot, v)
		mu.Unlock()
	}, nil)
	const n = 100
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for i := 0; i < n; i++ {
			slow.Send(ctx, codec.Int(i))
		}
	}()
	go func() {
		defer wg.Done()
		for i := 0; i < n; i++ {
			fast.Send(ctx, codec.Tuple{codec.Int(i), codec.Str("fast")})
		}
	}()
	for i := 0; i < n; i++ {
		v, err := fast.Receive(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !codec.Identical(v, codec.Tuple{codec.Int(i), codec.Str("fast")}) {
			t.Fatalf("fast item %d = %s", i, codec.Repr(v))
		}
	}
	wg.Wait()
	// every slow item arrives, in order (closing earlier would drop the
	// echoes still in flight, as execnet does)
	defer slow.Close()
	defer fast.Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		k := len(slowGot)
		mu.Unlock()
		if k == n || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(slowGot) != n {
		t.Fatalf("slow callback got %d items, want %d", len(slowGot), n)
	}
	for i, v := range slowGot {
		if !codec.Identical(v, codec.Int(i)) {
			t.Fatalf("slow item %d = %s", i, codec.Repr(v))
		}
	}
}

func TestStatusAndConcurrentChannels(t *testing.T) {
	p := newPair(t)
	ctx := ctxT(t)
	blocked, _ := p.m.RemoteExec(ctx, Exec{Source: "echo"})
	blocked.Send(ctx, codec.Int(0))
	blocked.Receive(ctx) // the worker has created the channel and is executing
	st, err := p.m.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.NumChannels != 1 || st.NumExecuting != 1 || st.ExecModel != "thread" {
		t.Errorf("status = %+v, want 1 channel, 1 executing, thread", st)
	}
	var wg sync.WaitGroup
	for k := 0; k < 8; k++ {
		wg.Add(1)
		go func(k int) {
			defer wg.Done()
			ch, err := p.m.RemoteExec(ctx, Exec{Source: "echo"})
			if err != nil {
				t.Error(err)
				return
			}
			for i := 0; i < 50; i++ {
				want := codec.Tuple{codec.Int(k), codec.Int(i)}
				ch.Send(ctx, want)
				if v, err := ch.Receive(ctx); err != nil || !codec.Identical(v, want) {
					t.Errorf("channel %d item %d: %v %v", k, i, v, err)
					return
				}
			}
			ch.Close()
		}(k)
	}
	wg.Wait()
	blocked.Close()
}

func TestReceiveTimeout(t *testing.T) {
	p := newPair(t)
	ch, _ := p.m.RemoteExec(ctxT(t), Exec{Source: "echo"})
	_, err := ch.ReceiveTimeout(20 * time.Millisecond)
	if !errors.Is(err, ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want timeout", err)
	}
	ch.Close()
}

// The worker side closes the connection: the master's Receive returns a
// *ConnectionLostError quickly.
func TestConnectionLost(t *testing.T) {
	mc, wc := pipePair(t)
	m := New(mc, Master)
	defer m.Exit(context.Background())
	ch := m.NewChannel()
	cbc := m.NewChannel()
	ends := make(chan codec.Value, 1)
	cbc.SetCallback(func(v codec.Value) { ends <- v }, codec.Str("end"))
	errc := make(chan error, 1)
	go func() {
		_, err := ch.Receive(context.Background())
		errc <- err
	}()
	wc.Close()
	if v := <-ends; !codec.Identical(v, codec.Str("end")) {
		t.Errorf("callback got %s at connection loss, want the end marker", codec.Repr(v))
	}
	if cbc.IsClosed() || ch.IsClosed() {
		t.Error("channels must become sendonly, not closed, at connection loss")
	}
	select {
	case err := <-errc:
		var lost *ConnectionLostError
		if !errors.As(err, &lost) || !errors.Is(err, io.EOF) || !errors.Is(err, ErrGatewayClosed) {
			t.Fatalf("receive: %v, want *ConnectionLostError", err)
		}
		if !strings.Contains(err.Error(), "worker gw0 closed the connection") {
			t.Errorf("message %q", err)
		}
	case <-time.After(time.Second):
		t.Fatal("receive did not return within 1s of the connection loss")
	}
	if _, err := m.RemoteExec(context.Background(), Exec{Source: "x"}); !errors.Is(err, ErrGatewayClosed) {
		t.Errorf("RemoteExec after loss: %v", err)
	}
	if err := ch.Send(context.Background(), codec.Int(1)); !errors.Is(err, ErrGatewayClosed) {
		t.Errorf("Send after loss: %v", err)
	}
}

func TestWorkerShutdownCancelsBlockedExecution(t *testing.T) {
	p := newPair(t, WithExecGrace(50*time.Millisecond))
	ctx := ctxT(t)
	ch, _ := p.m.RemoteExec(ctx, Exec{Source: "block"})
	ch.Send(ctx, codec.Int(1)) // make sure it started
	p.m.Exit(ctx)
	select {
	case err := <-p.serveErr:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
		p.serveErr <- nil
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return")
	}
}

// ---- raw peer tests: a gateway against hand-written frames ----

type rawPeer struct {
	t  *testing.T
	c  *pipeConn
	fr *frame.Reader
}

func newRaw(t *testing.T, role Role, opts ...Option) (*Gateway, *rawPeer) {
	gc, rc := pipePair(t)
	g := New(gc, role, opts...)
	rp := &rawPeer{t: t, c: rc, fr: frame.NewReader(rc)}
	t.Cleanup(func() {
		rc.Close()
		g.Exit(context.Background())
	})
	return g, rp
}

func (r *rawPeer) send(code spec.MsgCode, id int32, payloadHex string) {
	r.t.Helper()
	p, err := hex.DecodeString(strings.ReplaceAll(payloadHex, " ", ""))
	if err != nil {
		r.t.Fatal(err)
	}
	if err := frame.Write(r.c, frame.Frame{Code: code, Channel: id, Payload: p}); err != nil {
		r.t.Fatal(err)
	}
}

func (r *rawPeer) sendRaw(hexs string) {
	r.t.Helper()
	b, _ := hex.DecodeString(strings.ReplaceAll(hexs, " ", ""))
	if _, err := r.c.Write(b); err != nil {
		r.t.Fatal(err)
	}
}

// expect reads one frame and compares its full bytes (header and payload).
func (r *rawPeer) expect(wantHex string) {
	r.t.Helper()
	f, err := r.fr.ReadFrame()
	if err != nil {
		r.t.Fatalf("reading frame: %v", err)
	}
	got := hex.EncodeToString(frame.Append(nil, f))
	want := strings.ReplaceAll(wantHex, " ", "")
	if got != want {
		r.t.Fatalf("frame\n got %s\nwant %s", got, want)
	}
}

func TestWireBytesMaster(t *testing.T) {
	g, r := newRaw(t, Master)
	ctx := ctxT(t)
	src := "import sys\nchannel.send(sys.platform)\n123" // 41 bytes
	if len(src) != 41 {
		t.Fatalf("source is %d bytes", len(src))
	}
	ch, err := g.RemoteExecSource(ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	r.expect("03 00000001 00000037 4e 00000029" + hex.EncodeToString([]byte(src)) + "4c 4c 4a 40 00000004 51")
	ch.Send(ctx, codec.Int(41))
	r.expect("04 00000001 00000006 46 00000029 51")
	r.send(spec.MsgChannelData, 1, "46 0000002a 51")
	r.send(spec.MsgChannelClose, 1, "")
	if v, err := ch.Receive(ctx); err != nil || !codec.Identical(v, codec.Int(42)) {
		t.Fatalf("receive %v %v", v, err)
	}
	if err := ch.WaitClose(ctx); err != nil {
		t.Fatal(err)
	}
	ch.Close() // closed by the peer: sends nothing
	if err := g.Reconfigure(false, false); err != nil {
		t.Fatal(err)
	}
	r.expect("01 00000000 00000008 43 43 40 00000002 51")
	c3 := g.NewChannel()
	c3.Reconfigure(true, true)
	r.expect("01 00000003 00000008 52 52 40 00000002 51")
	c3.CloseWithError("my error")
	r.expect("06 00000003 0000000e 4e 00000008 6d79206572726f72 51")
	go g.Status(ctx)
	r.expect("00 00000005 00000000")
	r.send(spec.MsgChannelData, 5, "4a 4e0000000b 6e756d6368616e6e656c73 46 00000000 50 51")
	r.send(spec.MsgChannelClose, 5, "")
	// a master refuses CHANNEL_EXEC
	r.send(spec.MsgChannelExec, 2, "4e 00000001 78 4c 4c 4a 40 00000004 51")
	r.expect("06 00000002 0000001a 4e 00000014" + hex.EncodeToString([]byte("execution disallowed")) + "51")
	// a master ignores STATUS: the next frame it writes is our data
	r.send(spec.MsgStatus, 2, "")
	c7 := g.NewChannel()
	c7.Send(ctx, codec.None{})
	r.expect("04 00000007 00000002 4c 51")
	go g.Exit(ctx)
	r.expect("02 00000000 00000000")
}

func TestWireBytesWorkerStatus(t *testing.T) {
	_, r := newRaw(t, Worker, WithExecutor(testExecutor))
	r.send(spec.MsgStatus, 3, "")
	r.expect("04 00000003 00000049 4a 4e0000000b" + hex.EncodeToString([]byte("numchannels")) + "46 00000000 50 4e0000000c" +
		hex.EncodeToString([]byte("numexecuting")) + "46 00000000 50 4e00000009" + hex.EncodeToString([]byte("execmodel")) +
		"4e00000006" + hex.EncodeToString([]byte("thread")) + "50 51")
	r.expect("05 00000003 00000000")
	// an exec then answers 42 and closes
	r.send(spec.MsgChannelExec, 1, "4e 00000006"+hex.EncodeToString([]byte("send42"))+"4c 4c 4a 40 00000004 51")
	r.expect("04 00000001 00000006 46 0000002a 51")
	r.expect("05 00000001 00000000")
	r.send(spec.MsgGatewayTerminate, 0, "")
	if _, err := r.fr.ReadFrame(); !errors.Is(err, io.EOF) {
		t.Fatalf("after terminate: %v, want EOF", err)
	}
}

func TestChannelStateMachine(t *testing.T) {
	g, r := newRaw(t, Master)
	ctx := ctxT(t)
	a, b, c, d := g.NewChannel(), g.NewChannel(), g.NewChannel(), g.NewChannel() // 1 3 5 7
	// a: data, CLOSE_ERROR -> [1, RemoteError, EOF]
	r.send(spec.MsgChannelData, 1, "46 00000001 51")
	r.send(spec.MsgChannelCloseError, 1, "4e 00000002 6f77 51")
	// b: LAST_MESSAGE -> sendonly
	r.send(spec.MsgChannelLastMessage, 3, "")
	// c: CLOSE, then data for c is dropped; data for unknown 99 dropped
	r.send(spec.MsgChannelClose, 5, "")
	r.send(spec.MsgChannelData, 5, "46 00000009 51")
	r.send(spec.MsgChannelData, 99, "46 00000009 51")
	// d: a data item after everything above, so all were processed
	r.send(spec.MsgChannelData, 7, "4e 00000001 64 51")
	if v, err := d.Receive(ctx); err != nil || !codec.Identical(v, codec.Str("d")) {
		t.Fatalf("d: %v %v", v, err)
	}
	if v, err := a.Receive(ctx); err != nil || !codec.Identical(v, codec.Int(1)) {
		t.Fatalf("a item: %v %v", v, err)
	}
	var re *RemoteError
	if _, err := a.Receive(ctx); !errors.As(err, &re) || re.Text != "ow" {
		t.Fatalf("a: %v, want RemoteError(ow)", err)
	}
	if _, err := a.Receive(ctx); !errors.Is(err, io.EOF) {
		t.Fatalf("a end: %v", err)
	}
	if b.IsClosed() {
		t.Error("b closed after LAST_MESSAGE; want sendonly")
	}
	if err := b.Send(ctx, codec.Int(5)); err != nil {
		t.Fatalf("send on sendonly: %v", err)
	}
	r.expect("04 00000003 00000006 46 00000005 51")
	if _, err := b.Receive(ctx); !errors.Is(err, io.EOF) {
		t.Fatalf("b receive: %v", err)
	}
	if err := b.WaitClose(ctx); err != nil {
		t.Fatal(err)
	}
	b.Close() // sendonly -> closed: nothing sent
	if !c.IsClosed() {
		t.Error("c not closed")
	}
	if v, err := c.Receive(ctx); !errors.Is(err, io.EOF) {
		t.Fatalf("c: %v %v, want EOF (data after close dropped)", v, err)
	}
	d.Send(ctx, codec.Int(6))
	r.expect("04 00000007 00000006 46 00000006 51") // b.Close sent nothing
	// a channel reference in data resolves to a channel object
	r.send(spec.MsgChannelData, 7, "42 00000004 51")
	v, err := d.Receive(ctx)
	if ch4, ok := v.(*Channel); err != nil || !ok || ch4.ID() != 4 {
		t.Fatalf("channel ref: %v %v", v, err)
	}
	// RECONFIGURE from the peer for channel 7: py3 str becomes bytes
	r.send(spec.MsgReconfigure, 7, "52 52 40 00000002 51")
	r.send(spec.MsgChannelData, 7, "4e 00000001 64 51")
	v, err = d.Receive(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !codec.Identical(v, codec.Bytes("d")) {
		t.Fatalf("after RECONFIGURE (True, True) a str item decodes as %s, want b'd'", codec.Repr(v))
	}
}

func TestProtocolErrors(t *testing.T) {
	for _, tc := range []struct {
		name, raw, want string
	}{
		{"unknown code", "09 00000000 00000000", "unknown message code 9"},
		{"negative code", "ff 00000001 00000000", "unknown message code -1"},
		{"bad payload", "04 00000001 00000002 ff51", "cannot decode CHANNEL_DATA payload"},
		{"truncated payload", "04 00000001 00000003 4651", ""},
		{"bad reconfigure", "01 00000000 00000006 46 00000001 51", "RECONFIGURE payload"},
		{"huge declared length", "04 00000001 7fffffff 46 00000001 51", ""},
		{"short header", "04 0000", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, r := newRaw(t, Master)
			ch := g.NewChannel()
			r.sendRaw(tc.raw)
			if tc.want == "" {
				r.c.CloseWrite()
			}
			_, err := ch.Receive(ctxT(t))
			var lost *ConnectionLostError
			if !errors.As(err, &lost) {
				t.Fatalf("got %v, want *ConnectionLostError", err)
			}
			var pe *ProtocolError
			if tc.want != "" && (!errors.As(err, &pe) || !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("got %v, want *ProtocolError containing %q", err, tc.want)
			}
			if tc.want != "" && !strings.Contains(err.Error(), "(header "+strings.ReplaceAll(tc.raw, " ", "")[:18]) {
				t.Errorf("error %q does not quote the header", err)
			}
			<-g.Done()
		})
	}
}

func TestDedent(t *testing.T) {
	for in, want := range map[string]string{
		"  a\n  b\n":        "a\nb\n",
		"  a\n    b\n  \n":  "a\n  b\n\n",
		"\ta\n  b":          "\ta\n  b",
		"x = 1":             "x = 1",
		"    if x:\n\t y\n": "    if x:\n\t y\n",
		"  a\n \n  b":       "a\n\nb",
	} {
		if got := Dedent(in); got != want {
			t.Errorf("Dedent(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestWorkerRejectsBadExec(t *testing.T) {
	_, r := newRaw(t, Worker) // no executor
	r.send(spec.MsgChannelExec, 1, "4e 00000001 78 4c 4c 4a 40 00000004 51")
	f, err := r.fr.ReadFrame()
	if err != nil || f.Code != spec.MsgChannelCloseError || f.Channel != 1 || !bytes.Contains(f.Payload, []byte("no executor configured")) {
		t.Fatalf("no executor: %v %v %q", f, err, f.Payload)
	}
	_, r = newRaw(t, Worker, WithExecutor(testExecutor))
	r.send(spec.MsgChannelExec, 3, "46 00000001 51") // payload 1, not a 4-tuple
	f, err = r.fr.ReadFrame()
	if err != nil || f.Code != spec.MsgChannelCloseError || f.Channel != 3 || !bytes.Contains(f.Payload, []byte("bad CHANNEL_EXEC payload")) {
		t.Fatalf("bad payload: %v %v %q", f, err, f.Payload)
	}
}

func TestCallbackPanic(t *testing.T) {
	g, r := newRaw(t, Master)
	ch := g.NewChannel()
	ends := make(chan codec.Value, 2)
	ch.SetCallback(func(v codec.Value) {
		if _, ok := v.(codec.Str); ok {
			ends <- v
			return
		}
		panic("callback exploded")
	}, codec.Str("end"))
	r.send(spec.MsgChannelData, 1, "46 00000001 51")
	f, err := r.fr.ReadFrame()
	if err != nil || f.Code != spec.MsgChannelCloseError || !bytes.Contains(f.Payload, []byte("callback exploded")) {
		t.Fatalf("got %v %v %q, want CLOSE_ERROR with the panic", f, err, f.Payload)
	}
	if v := <-ends; !codec.Identical(v, codec.Str("end")) {
		t.Errorf("end marker %v", v)
	}
	var cp *CallbackPanicError
	if err := ch.WaitClose(ctxT(t)); !errors.As(err, &cp) {
		t.Errorf("WaitClose: %v, want *CallbackPanicError", err)
	}
}

func TestExitWithoutProcess(t *testing.T) {
	// a peer that reads GATEWAY_TERMINATE and closes its end
	g, r := newRaw(t, Master)
	go func() {
		r.fr.ReadFrame()
		r.c.CloseWrite()
	}()
	if stage, err := g.Shutdown(ctxT(t), 5*time.Second); stage != StageTerminate || err != nil {
		t.Errorf("cooperating peer: %v %v", stage, err)
	}
	// a peer that never closes
	g, _ = newRaw(t, Master)
	stage, err := g.Shutdown(ctxT(t), 50*time.Millisecond)
	var fe *ForcedExitError
	if stage != StageClosed || !errors.As(err, &fe) {
		t.Errorf("silent peer: %v %v", stage, err)
	}
	if err := g.Exit(ctxT(t)); !errors.As(err, &fe) {
		t.Errorf("second Exit: %v, want the first result", err)
	}
}

// Received values never alias the reused read buffer.
func TestReceivedValuesAreCopies(t *testing.T) {
	g, r := newRaw(t, Master)
	ch := g.NewChannel()
	r.send(spec.MsgChannelData, 1, "41 00000004 61616161 51")                            // b'aaaa'
	r.send(spec.MsgChannelData, 1, "4e 00000004 62626262 51")                            // 'bbbb'
	r.send(spec.MsgChannelData, 1, "4b 00000001 46 00000000 41 00000004 63636363 50 51") // [b'cccc']
	r.send(spec.MsgChannelData, 1, "41 00000004 7a7a7a7a 51")                            // b'zzzz'
	ctx := ctxT(t)
	var got []codec.Value
	for i := 0; i < 4; i++ {
		v, err := ch.Receive(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, v)
	}
	want := []codec.Value{codec.Bytes("aaaa"), codec.Str("bbbb"), codec.List{codec.Bytes("cccc")}, codec.Bytes("zzzz")}
	for i := range want {
		if !codec.Identical(got[i], want[i]) {
			t.Errorf("item %d = %s, want %s", i, codec.Repr(got[i]), codec.Repr(want[i]))
		}
	}
}

func TestServeCancel(t *testing.T) {
	mc, wc := pipePair(t)
	defer mc.Close()
	w := New(wc, Worker, WithExecutor(testExecutor), WithExecGrace(50*time.Millisecond))
	m := New(mc, Master)
	ctx, cancel := context.WithCancel(context.Background())
	ch, _ := m.RemoteExec(ctxT(t), Exec{Source: "block"})
	ch.Send(ctxT(t), codec.Int(1))
	cancel()
	if err := w.Serve(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Serve after cancel: %v", err)
	}
	// the master sees the worker go away
	if err := ch.WaitClose(ctxT(t)); !errors.Is(err, ErrGatewayClosed) {
		t.Errorf("master WaitClose: %v", err)
	}
	m.Exit(context.Background())
}

func TestMaxPayload(t *testing.T) {
	g, r := newRaw(t, Master, WithMaxPayload(10))
	ch := g.NewChannel()
	r.send(spec.MsgChannelData, 1, "41 00000002 6162 51")   // 8 bytes: fine
	r.send(spec.MsgChannelData, 1, "41 00000003 616263 51") // 9 bytes: fine
	r.send(spec.MsgChannelData, 1, "41 00000006 616263646566 51")
	ctx := ctxT(t)
	for i := 0; i < 2; i++ {
		if _, err := ch.Receive(ctx); err != nil {
			t.Fatal(err)
		}
	}
	_, err := ch.Receive(ctx)
	if !errors.Is(err, frame.ErrTooLarge) || !errors.Is(err, ErrGatewayClosed) {
		t.Fatalf("got %v, want a connection lost by frame.ErrTooLarge", err)
	}
}

// An execution that ignores cancellation is given up after the grace
// periods, and Serve says so.
func TestServeGivesUpOnStubbornExecution(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{})
	stubborn := ExecutorFunc(func(ctx context.Context, ch *Channel, e Exec) error {
		close(started)
		<-release
		return nil
	})
	mc, wc := pipePair(t)
	w := New(wc, Worker, WithExecutor(stubborn), WithExecGrace(20*time.Millisecond))
	m := New(mc, Master)
	m.RemoteExec(ctxT(t), Exec{Source: "x"})
	<-started
	m.Exit(ctxT(t))
	err := w.Serve(ctxT(t))
	var running *ExecutionsRunningError
	if !errors.As(err, &running) || running.Count != 1 || !strings.Contains(err.Error(), "1 executions still running") {
		t.Errorf("Serve = %v, want an ExecutionsRunningError for the 1 running execution", err)
	}
	close(release)
	w.execWG.Wait()
	wc.Close()
}

func TestSpecRulesExecutorAndStatus(t *testing.T) {
	p := newPair(t)
	ctx := ctxT(t)
	ch, _ := p.m.RemoteExec(ctx, Exec{Source: "selfclose"})
	var re *RemoteError
	if err := ch.WaitClose(ctx); !errors.As(err, &re) || !strings.Contains(re.Text, ErrExecuting.Error()) {
		t.Errorf("executor closing its own channel: %v", err)
	}
	ch, _ = p.m.RemoteExec(ctx, Exec{Source: "worker-status"})
	if err := ch.WaitClose(ctx); err != nil {
		t.Fatal(err)
	}
	// the master ignored the STATUS and still works
	ch, _ = p.m.RemoteExec(ctx, Exec{Source: "send42"})
	if v, err := ch.Receive(ctx); err != nil || !codec.Identical(v, codec.Int(42)) {
		t.Fatalf("after STATUS to the master: %v %v", v, err)
	}
	ch.Close()
	if err := ch.Reconfigure(true, true); !errors.Is(err, ErrChannelClosed) {
		t.Errorf("Reconfigure on a closed channel: %v", err)
	}
}
