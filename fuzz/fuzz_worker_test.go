package fuzz

import (
	"bytes"
	"context"
	"errors"
	"io"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/execnet-conform/execnet-conform/conformance/profile"
	"github.com/execnet-conform/execnet-conform/reference/codec"
	"github.com/execnet-conform/execnet-conform/reference/frame"
	"github.com/execnet-conform/execnet-conform/reference/gateway"
	"github.com/execnet-conform/execnet-conform/reference/transport"
	"github.com/execnet-conform/execnet-conform/reference/worker"
	"github.com/execnet-conform/execnet-conform/spec"
)

// Bounds of one FuzzWorkerReceive run.
const (
	// workerEndBound is how long the worker may take to end once its
	// input is closed. Executions get workerExecGrace, then their context
	// is cancelled and they get workerExecGrace again, so a live worker
	// ends well inside this bound. The grace is generous on purpose: an
	// execution streaming multi-megabyte items (corpus entry
	// stream-5MB-items-slow-grace) needs a few hundred milliseconds to
	// notice the cancellation on a loaded machine or under the race
	// detector, and 20 ms and 100 ms graces made it fail with "executions
	// still running after the grace period". Only inputs that leave an
	// execution running at EOF pay for it.
	workerEndBound  = 10 * time.Second
	workerExecGrace = time.Second
	// maxWorkerOutput bounds how much worker output the harness keeps
	// reading; past it the harness closes the pipe (a master that stops
	// listening), which the worker must survive too.
	maxWorkerOutput = 4 << 20
)

// pipeConn is a transport.Conn over two in-memory pipes.
type pipeConn struct {
	r *io.PipeReader
	w *io.PipeWriter
}

func (c *pipeConn) Read(p []byte) (int, error)  { return c.r.Read(p) }
func (c *pipeConn) Write(p []byte) (int, error) { return c.w.Write(p) }
func (c *pipeConn) CloseWrite() error           { return c.w.Close() }
func (c *pipeConn) Close() error {
	c.w.Close()
	return c.r.Close()
}
func (c *pipeConn) Process() transport.Process { return nil }

var _ transport.Conn = (*pipeConn)(nil)

// appendFrame appends one frame whose payload is the encoding of v (no
// payload when v is nil).
func appendFrame(tb testing.TB, dst []byte, code spec.MsgCode, id int32, v codec.Value) []byte {
	tb.Helper()
	var payload []byte
	if v != nil {
		var err error
		if payload, err = codec.Dumps(v); err != nil {
			tb.Fatalf("encode seed payload %s: %v", codec.Repr(v), err)
		}
	}
	return frame.Append(dst, frame.Frame{Code: code, Channel: id, Payload: payload})
}

// execPayload is the CHANNEL_EXEC payload that calls a profile procedure.
func execPayload(tb testing.TB, call string, kw ...codec.Item) codec.Value {
	tb.Helper()
	d, err := codec.NewDict(kw...)
	if err != nil {
		tb.Fatal(err)
	}
	return codec.Tuple{codec.Str(""), codec.None{}, codec.Str(call), d}
}

// workerSeeds are frame streams that drive every profile procedure and
// every message code, so mutation starts from deep states.
func workerSeeds(tb testing.TB) [][]byte {
	tb.Helper()
	kw := func(k string, v codec.Value) codec.Item { return codec.Item{Key: codec.Str(k), Value: v} }
	var seeds [][]byte
	add := func(parts ...func([]byte) []byte) {
		var b []byte
		for _, p := range parts {
			b = p(b)
		}
		seeds = append(seeds, b)
	}
	fr := func(code spec.MsgCode, id int32, v codec.Value) func([]byte) []byte {
		return func(b []byte) []byte { return appendFrame(tb, b, code, id, v) }
	}
	exec := func(id int32, call string, kws ...codec.Item) func([]byte) []byte {
		return fr(spec.MsgChannelExec, id, execPayload(tb, call, kws...))
	}
	add(fr(spec.MsgStatus, 1, nil))
	add(exec(1, profile.Echo), fr(spec.MsgChannelData, 1, codec.Int(41)),
		fr(spec.MsgChannelData, 1, codec.List{codec.Str("x"), codec.Bytes("y")}), fr(spec.MsgChannelLastMessage, 1, nil))
	add(exec(1, profile.Loads), fr(spec.MsgChannelData, 1, codec.Bytes(mustHex(tb, "4c0000000251"))),
		fr(spec.MsgChannelData, 1, codec.Bytes("Q")), fr(spec.MsgChannelLastMessage, 1, nil))
	add(exec(3, profile.Dumps), fr(spec.MsgChannelData, 3, codec.Tuple{codec.Float(1.5), codec.None{}}),
		fr(spec.MsgGatewayTerminate, 0, nil))
	add(exec(1, profile.Info), fr(spec.MsgStatus, 5, nil))
	add(fr(spec.MsgReconfigure, 0, codec.Tuple{codec.Bool(true), codec.Bool(true)}), exec(1, profile.Echo),
		fr(spec.MsgReconfigure, 1, codec.Tuple{codec.Bool(false), codec.Bool(true)}), fr(spec.MsgChannelData, 1, codec.Str("t")))
	add(exec(1, profile.Echo), fr(spec.MsgChannelData, 1, codec.Int(1)), fr(spec.MsgChannelClose, 1, nil))
	add(exec(1, profile.NewChannel), fr(spec.MsgChannelData, 2, codec.Int(7)), fr(spec.MsgChannelClose, 2, nil))
	add(exec(1, profile.Fail, kw("message", codec.Str("boom"))))
	add(exec(1, profile.Stream, kw("count", codec.Int(3)), kw("size", codec.Int(5))))
	add(exec(1, profile.Sleep, kw("seconds", codec.Float(0.01))), fr(spec.MsgChannelCloseError, 1, codec.Str("stop")))
	add(exec(1, "not_a_procedure"), fr(spec.MsgChannelExec, 3, codec.Tuple{codec.Str("print(1)"), codec.None{}, codec.None{}, codec.None{}}))
	add(fr(spec.MsgChannelData, 99, codec.Int(1)), fr(spec.MsgChannelExec, 1, codec.Int(0)))
	add(func(b []byte) []byte { return append(b, mustHex(tb, "04000000017fffffff46")...) })
	add(func(b []byte) []byte { return append(b, mustHex(tb, "0400000001ffffffff")...) })
	add(func(b []byte) []byte { return append(b, mustHex(tb, "09000000000000000051")...) })
	add(exec(1, profile.Echo), func(b []byte) []byte { return append(b, mustHex(tb, "0400000001000000064300000001")...) })
	return seeds
}

// FuzzWorkerReceive sends arbitrary bytes, as the master's side of an
// established connection, into a Go worker gateway running the real
// profile executor, then closes the stream. The worker must end within
// workerEndBound with nil or a *gateway.ConnectionLostError, never panic,
// write only well-formed frames whose payloads decode, and leave no
// goroutine behind.
func FuzzWorkerReceive(f *testing.F) {
	for _, s := range workerSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		before := goleak.IgnoreCurrent()
		runWorkerReceive(t, data)
		if err := goleak.Find(before); err != nil {
			t.Fatalf("goroutines left after the worker ended: %v", err)
		}
	})
}

// runWorkerReceive is one FuzzWorkerReceive run; it returns what the
// worker wrote.
func runWorkerReceive(t *testing.T, data []byte) []byte {
	inR, inW := io.Pipe()   // master -> worker
	outR, outW := io.Pipe() // worker -> master
	conn := &pipeConn{r: inR, w: outW}
	g := gateway.New(conn, gateway.Worker, gateway.WithID("gw0-worker"),
		gateway.WithExecutor(worker.NewExecutor(worker.Options{})), gateway.WithExecGrace(workerExecGrace))

	var wg sync.WaitGroup
	var out bytes.Buffer
	truncated := false
	wg.Add(2)
	go func() {
		defer wg.Done()
		_, _ = inW.Write(data) // fails once the worker stops reading and closes
		_ = inW.Close()
	}()
	go func() {
		defer wg.Done()
		_, err := io.Copy(&out, io.LimitReader(outR, maxWorkerOutput))
		if err == nil && out.Len() == maxWorkerOutput {
			truncated = true
		}
		_ = outR.Close()
	}()

	ctx, cancel := context.WithTimeout(t.Context(), workerEndBound)
	defer cancel()
	err := g.Serve(ctx)
	if ctx.Err() != nil {
		t.Fatalf("worker did not end within %v of its input closing (input %x): %v", workerEndBound, data, err)
	}
	if err != nil {
		var lost *gateway.ConnectionLostError
		if !errors.As(err, &lost) {
			t.Fatalf("worker ended with %T (%v), not a *gateway.ConnectionLostError (input %x)", err, err, data)
		}
	}
	_ = inR.Close() // a worker that stopped at GATEWAY_TERMINATE no longer reads
	_ = outW.Close()
	wg.Wait()
	if !truncated {
		checkWorkerOutput(t, out.Bytes(), data)
	}
	return out.Bytes()
}

// TestWorkerReceiveAnswers checks that the harness really reaches the
// worker: the echo seed comes back, and a STATUS gets its reply.
func TestWorkerReceiveAnswers(t *testing.T) {
	seeds := workerSeeds(t)
	out := runWorkerReceive(t, seeds[1])
	want := appendFrame(t, nil, spec.MsgChannelData, 1, codec.Int(41))
	if !bytes.Contains(out, want) {
		t.Fatalf("echo seed: output %x lacks the echoed item %x", out, want)
	}
	out = runWorkerReceive(t, seeds[0])
	if r, err := frame.NewReader(bytes.NewReader(out)).ReadFrame(); err != nil || r.Code != spec.MsgChannelData || r.Channel != 1 {
		t.Fatalf("STATUS seed: first frame %v, %v; want CHANNEL_DATA on channel 1", r, err)
	}
}

// checkWorkerOutput checks that the worker wrote whole frames with known
// message codes, and that every payload it wrote decodes.
func checkWorkerOutput(t *testing.T, out, in []byte) {
	t.Helper()
	r := frame.NewReader(bytes.NewReader(out))
	for {
		fr, err := r.ReadFrame()
		if errors.Is(err, io.EOF) && !errors.As(err, new(*frame.Error)) {
			return
		}
		if err != nil {
			t.Fatalf("worker output is not a frame stream: %v\noutput %x\ninput %x", err, out, in)
		}
		switch fr.Code {
		case spec.MsgChannelData, spec.MsgChannelCloseError:
			d := codec.Decoder{StrConfig: codec.ChannelStrConfig, Channel: func(id int32) (codec.Value, error) {
				return codec.ChannelRef(id), nil
			}}
			if _, _, err := d.Loads(fr.Payload); err != nil {
				t.Fatalf("worker wrote %s with an undecodable payload: %v\ninput %x", fr, err, in)
			}
		case spec.MsgChannelClose, spec.MsgChannelLastMessage, spec.MsgChannelExec, spec.MsgReconfigure, spec.MsgStatus, spec.MsgGatewayTerminate:
		default:
			t.Fatalf("worker wrote a frame with unknown code: %s\ninput %x", fr, in)
		}
	}
}
