package worker_test

import (
	"context"
	"encoding/hex"
	"errors"
	"io"
	"math"
	"math/big"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/execnet-conform/execnet-conform/conformance/profile"
	"github.com/execnet-conform/execnet-conform/reference/codec"
	"github.com/execnet-conform/execnet-conform/reference/gateway"
	"github.com/execnet-conform/execnet-conform/reference/transport"
	"github.com/execnet-conform/execnet-conform/reference/worker"
)

// pipeConn is the master's end of a pair of OS pipes.
type pipeConn struct {
	r *os.File
	w *os.File
}

func (c *pipeConn) Read(p []byte) (int, error)  { return c.r.Read(p) }
func (c *pipeConn) Write(p []byte) (int, error) { return c.w.Write(p) }
func (c *pipeConn) CloseWrite() error           { return c.w.Close() }
func (c *pipeConn) Close() error {
	c.w.Close()
	return c.r.Close()
}
func (c *pipeConn) Process() transport.Process { return nil }

// startInProcess runs worker.Serve over OS pipes, does the bootstrap
// handshake as a master and returns a Go master gateway on it. The
// worker's result arrives on the returned channel.
func startInProcess(t *testing.T, ctx context.Context) (*gateway.Gateway, <-chan error) {
	t.Helper()
	g, _, errc := startInProcessConn(t, ctx)
	return g, errc
}

// startInProcessConn is startInProcess that also returns the master's
// connection.
func startInProcessConn(t testing.TB, ctx context.Context) (*gateway.Gateway, *pipeConn, <-chan error) {
	t.Helper()
	m2wR, m2wW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	w2mR, w2mW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() {
		err := worker.Serve(ctx, m2wR, w2mW, worker.Options{})
		w2mW.Close()
		m2wR.Close()
		errc <- err
	}()
	if _, err := m2wW.Write([]byte(`'serve(io, id=\'gotest-worker\')'` + "\n")); err != nil {
		t.Fatal(err)
	}
	var one [1]byte
	if _, err := io.ReadFull(w2mR, one[:]); err != nil || one[0] != '1' {
		t.Fatalf("ready byte: %q, %v", one, err)
	}
	conn := &pipeConn{r: w2mR, w: m2wW}
	t.Cleanup(func() { conn.Close() })
	g := gateway.New(conn, gateway.Master)
	return g, conn, errc
}

func execProc(t testing.TB, ctx context.Context, g *gateway.Gateway, name string, kw ...codec.Item) *gateway.Channel {
	t.Helper()
	src, err := profile.Source(name)
	if err != nil {
		t.Fatal(err)
	}
	d, err := codec.NewDict(kw...)
	if err != nil {
		t.Fatal(err)
	}
	ch, err := g.RemoteExec(ctx, gateway.Exec{Source: src, FileName: profile.FileName, CallName: name, Kwargs: d})
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

func kw(name string, v codec.Value) codec.Item { return codec.Item{Key: codec.Str(name), Value: v} }

func wantRemoteError(t *testing.T, ctx context.Context, ch *gateway.Channel, prefix string) string {
	t.Helper()
	v, err := ch.Receive(ctx)
	var re *gateway.RemoteError
	if !errors.As(err, &re) {
		t.Fatalf("got %v, %v; want a RemoteError starting %q", v, err, prefix)
	}
	if !strings.HasPrefix(re.Text, prefix) {
		t.Fatalf("remote error %q, want prefix %q", re.Text, prefix)
	}
	return re.Text
}

// TestGoMasterGoWorker drives the Go worker from the Go gateway in the
// master role, in one process, over OS pipes.
func TestGoMasterGoWorker(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	g, errc := startInProcess(t, ctx)

	t.Run("echo", func(t *testing.T) {
		ch := execProc(t, ctx, g, profile.Echo)
		big1 := new(big.Int).Lsh(big.NewInt(1), 100)
		s, _ := codec.NewSet(codec.Int(1), codec.Str("a"))
		d, _ := codec.NewDict(kw("k", codec.List{codec.Float(math.Inf(-1)), codec.Complex(complex(1, -2))}))
		values := []codec.Value{
			codec.None{}, codec.Bool(true), codec.Int(-1), codec.Int(math.MaxInt64), codec.NewBigInt(big1),
			codec.Float(1.5), codec.Bytes("a\x00b"), codec.Str("é😀"), codec.Tuple{codec.Int(1)},
			codec.List{}, d, s, codec.FrozenSet{codec.Int(7)},
		}
		for _, v := range values {
			if err := ch.Send(ctx, v); err != nil {
				t.Fatal(err)
			}
			got, err := ch.Receive(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if !codec.Identical(got, v) {
				t.Errorf("sent %v, got %v", codec.Repr(v), codec.Repr(got))
			}
		}
		if err := ch.Close(); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("fail", func(t *testing.T) {
		ch := execProc(t, ctx, g, profile.Fail, kw("message", codec.Str("boom")))
		if text := wantRemoteError(t, ctx, ch, "RuntimeError: boom"); text != "RuntimeError: boom" {
			t.Errorf("text %q", text)
		}
	})

	t.Run("stream", func(t *testing.T) {
		ch := execProc(t, ctx, g, profile.Stream, kw("count", codec.Int(4)), kw("size", codec.Int(600)))
		for i := 0; i < 4; i++ {
			v, err := ch.Receive(ctx)
			if err != nil {
				t.Fatal(err)
			}
			b, ok := v.(codec.Bytes)
			if !ok || len(b) != 600 || b[0] != 0 || b[250] != 250 || b[251] != 0 || b[599] != byte(599%251) {
				t.Fatalf("item %d: %v", i, codec.Repr(v))
			}
		}
		if v, err := ch.Receive(ctx); !errors.Is(err, io.EOF) {
			t.Fatalf("after 4 items: %v, %v; want EOF", v, err)
		}
	})

	t.Run("newchannel", func(t *testing.T) {
		ch := execProc(t, ctx, g, profile.NewChannel)
		v, err := ch.Receive(ctx)
		if err != nil {
			t.Fatal(err)
		}
		other, ok := v.(*gateway.Channel)
		if !ok || other.ID()%2 != 0 {
			t.Fatalf("got %v, want an even-numbered channel", v)
		}
		if err := other.Send(ctx, codec.Str("ping")); err != nil {
			t.Fatal(err)
		}
		if got, err := other.Receive(ctx); err != nil || got != codec.Str("ping") {
			t.Fatalf("echo on the new channel: %v, %v", got, err)
		}
		other.Close()
		if err := ch.WaitClose(ctx); err != nil {
			t.Fatalf("procedure end: %v", err)
		}
	})

	t.Run("dumps_loads", func(t *testing.T) {
		dch := execProc(t, ctx, g, profile.Dumps)
		lch := execProc(t, ctx, g, profile.Loads)
		v := codec.Tuple{codec.Int(1 << 40), codec.Str("x"), codec.List{codec.None{}}}
		want, err := codec.Dumps(v)
		if err != nil {
			t.Fatal(err)
		}
		dch.Send(ctx, v)
		if got, err := dch.Receive(ctx); err != nil || !codec.Identical(got, codec.Bytes(want)) {
			t.Fatalf("dumps: %v, %v", got, err)
		}
		lch.Send(ctx, codec.Bytes(want))
		if got, err := lch.Receive(ctx); err != nil || !codec.Identical(got, v) {
			t.Fatalf("loads: %v, %v", got, err)
		}
		dch.Close()
		for hexIn, class := range map[string]string{
			"4e0000000561": "Truncated:", "5a": "UnknownOpcode:", "4e80000000": "NegativeLength:",
			"420000000151": "ChannelNotAllowed:", "4a4b000000004c5051": "Unhashable:",
		} {
			ch := execProc(t, ctx, g, profile.Loads)
			b, _ := hex.DecodeString(hexIn)
			ch.Send(ctx, codec.Bytes(b))
			wantRemoteError(t, ctx, ch, class)
		}
		lch.Close()
	})

	t.Run("info", func(t *testing.T) {
		ch := execProc(t, ctx, g, profile.Info)
		v, err := ch.Receive(ctx)
		if err != nil {
			t.Fatal(err)
		}
		d, ok := v.(*codec.Dict)
		if !ok {
			t.Fatalf("info: %v", codec.Repr(v))
		}
		if impl, _ := d.Get(codec.Str("implementation")); impl != codec.Str(worker.Implementation) {
			t.Errorf("implementation %v", impl)
		}
	})

	t.Run("refusals", func(t *testing.T) {
		ch, err := g.RemoteExecSource(ctx, "channel.send(1)")
		if err != nil {
			t.Fatal(err)
		}
		text := wantRemoteError(t, ctx, ch, "NotImplementedError: ")
		for _, want := range []string{"cannot execute Python source", worker.Implementation, profile.Echo, profile.Sleep} {
			if !strings.Contains(text, want) {
				t.Errorf("refusal %q does not mention %q", text, want)
			}
		}
		ch, err = g.RemoteExec(ctx, gateway.Exec{Source: "def f(channel): pass\n", CallName: "f"})
		if err != nil {
			t.Fatal(err)
		}
		wantRemoteError(t, ctx, ch, "NotImplementedError:")
		ch = execProc(t, ctx, g, profile.Sleep, kw("seconds", codec.Float(-1)))
		wantRemoteError(t, ctx, ch, "ValueError:")
		for _, bad := range [][]codec.Item{
			{kw("count", codec.Str("3")), kw("size", codec.Int(1))},
			{kw("count", codec.Bool(true)), kw("size", codec.Int(1))},
			{kw("count", codec.Float(2.5)), kw("size", codec.Int(1))},
		} {
			ch = execProc(t, ctx, g, profile.Stream, bad...)
			wantRemoteError(t, ctx, ch, "TypeError:")
		}
		ch = execProc(t, ctx, g, profile.Fail, kw("message", codec.Int(5)))
		wantRemoteError(t, ctx, ch, "TypeError:")
		src, _ := profile.Source(profile.Echo)
		ch, _ = g.RemoteExec(ctx, gateway.Exec{Source: src, CallName: profile.Echo, Kwargs: mustDict(kw("x", codec.Int(1)))})
		wantRemoteError(t, ctx, ch, "TypeError:")
	})

	t.Run("concurrent_and_status", func(t *testing.T) {
		var wg sync.WaitGroup
		for k := 0; k < 8; k++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ch := execProc(t, ctx, g, profile.Echo)
				defer ch.Close()
				for i := 0; i < 100; i++ {
					v := codec.Tuple{codec.Int(k), codec.Int(i)}
					if err := ch.Send(ctx, v); err != nil {
						t.Error(err)
						return
					}
					got, err := ch.Receive(ctx)
					if err != nil || !codec.Identical(got, v) {
						t.Errorf("channel %d: %v, %v", k, got, err)
						return
					}
				}
			}()
		}
		wg.Wait()
		if _, err := g.Status(ctx); err != nil {
			t.Fatal(err)
		}
	})

	if err := g.Exit(ctx); err != nil {
		t.Fatalf("Exit: %v", err)
	}
	select {
	case err := <-errc:
		if err != nil {
			t.Fatalf("worker.Serve after exit: %v", err)
		}
	case <-ctx.Done():
		t.Fatal("worker.Serve did not return after Exit")
	}
}

// TestServeCancel checks that Serve returns when its context ends, both
// while waiting for the bootstrap line and while serving.
func TestServeCancel(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- worker.Serve(ctx, r, io.Discard, worker.Options{}) }()
	cancel()
	select {
	case err := <-errc:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Serve = %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve ignored cancellation during the bootstrap read")
	}

	ctx2, cancel2 := context.WithCancel(context.Background())
	g, errc2 := startInProcess(t, ctx2)
	ch := execProc(t, context.Background(), g, profile.Sleep, kw("seconds", codec.Int(3600)))
	_ = ch
	cancel2()
	select {
	case <-errc2:
	case <-time.After(20 * time.Second):
		t.Fatal("Serve did not return after cancellation while a procedure slept")
	}
	<-g.Done()
}

func mustDict(items ...codec.Item) *codec.Dict {
	d, err := codec.NewDict(items...)
	if err != nil {
		panic(err)
	}
	return d
}
