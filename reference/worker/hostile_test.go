package worker_test

// Hostile-master tests: the Go worker (worker.Serve, bootstrap included)
// against a master that breaks the protocol in the ways listed in issue
// #6. Each case must end with a typed error within its bound, with no
// goroutine left behind (checked per test and again by TestMain).

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/execnet-conform/execnet-conform/conformance/profile"
	"github.com/execnet-conform/execnet-conform/reference/codec"
	"github.com/execnet-conform/execnet-conform/reference/frame"
	"github.com/execnet-conform/execnet-conform/reference/gateway"
	"github.com/execnet-conform/execnet-conform/reference/worker"
	"github.com/execnet-conform/execnet-conform/spec"
)

// hostileBound bounds every case: the worker must have ended by then.
const hostileBound = 5 * time.Second

// hostileMaster is the master's end of a worker served over OS pipes.
type hostileMaster struct {
	t    *testing.T
	w    *os.File      // what the worker reads
	r    *os.File      // what the worker writes
	done chan struct{} // closed when Serve has returned
	err  error         // Serve's result, once done is closed
}

// serveHostile starts worker.Serve over pipes with ctx and returns the
// master's end. It does not send the bootstrap line.
func serveHostile(t *testing.T, ctx context.Context, opts worker.Options) *hostileMaster {
	t.Helper()
	before := goleak.IgnoreCurrent() // goroutines of earlier tests are not ours
	inR, inW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	m := &hostileMaster{t: t, w: inW, r: outR, done: make(chan struct{})}
	go func() {
		m.err = worker.Serve(ctx, inR, outW, opts)
		inR.Close()
		outW.Close()
		close(m.done)
	}()
	t.Cleanup(func() {
		m.w.Close()
		m.r.Close()
		select {
		case <-m.done:
		case <-time.After(hostileBound):
		}
		goleak.VerifyNone(t, before)
	})
	return m
}

// handshake sends a bootstrap line and reads the ready byte.
func (m *hostileMaster) handshake() {
	m.t.Helper()
	if _, err := m.w.Write([]byte("bootstrap(id='gw0-worker')\n")); err != nil {
		m.t.Fatal(err)
	}
	var b [1]byte
	if _, err := io.ReadFull(m.r, b[:]); err != nil || b[0] != spec.ReadyByte {
		m.t.Fatalf("ready byte: %q, %v", b[:], err)
	}
}

// send writes raw bytes on a goroutine, so that a worker that stops
// reading cannot block the test; closeAfter closes the worker's input.
func (m *hostileMaster) send(b []byte, closeAfter bool) {
	go func() {
		_, _ = m.w.Write(b)
		if closeAfter {
			m.w.Close()
		}
	}()
}

// drain reads the worker's output on a goroutine and returns it once the
// worker has closed it.
func (m *hostileMaster) drain() <-chan []byte {
	c := make(chan []byte, 1)
	go func() {
		b, _ := io.ReadAll(m.r)
		c <- b
	}()
	return c
}

// end waits for Serve to return.
func (m *hostileMaster) end() error {
	m.t.Helper()
	select {
	case <-m.done:
		return m.err
	case <-time.After(hostileBound):
		m.t.Fatalf("worker did not end within %v", hostileBound)
		return nil
	}
}

// wantLost asserts Serve ended with a *gateway.ConnectionLostError that
// matches class.
func (m *hostileMaster) wantLost(class error) *gateway.ConnectionLostError {
	m.t.Helper()
	err := m.end()
	var lost *gateway.ConnectionLostError
	if !errors.As(err, &lost) {
		m.t.Fatalf("worker ended with %T (%v), want *gateway.ConnectionLostError", err, err)
	}
	if class != nil && !errors.Is(err, class) {
		m.t.Fatalf("worker ended with %v, want class %v", err, class)
	}
	return lost
}

func hdr(code spec.MsgCode, id int32, length int) []byte {
	return frame.AppendHeader(nil, code, id, length)
}

func valueFrame(t *testing.T, code spec.MsgCode, id int32, v codec.Value) []byte {
	t.Helper()
	b, err := codec.Dumps(v)
	if err != nil {
		t.Fatal(err)
	}
	return frame.Append(nil, frame.Frame{Code: code, Channel: id, Payload: b})
}

func execFrame(t *testing.T, id int32, call string, kw ...codec.Item) []byte {
	t.Helper()
	d, err := codec.NewDict(kw...)
	if err != nil {
		t.Fatal(err)
	}
	return valueFrame(t, spec.MsgChannelExec, id, codec.Tuple{codec.Str(""), codec.None{}, codec.Str(call), d})
}

func rawFrame(code spec.MsgCode, id int32, payload []byte) []byte {
	return frame.Append(nil, frame.Frame{Code: code, Channel: id, Payload: payload})
}

func TestHostileMasterBootstrap(t *testing.T) {
	t.Run("EOF before the line", func(t *testing.T) {
		m := serveHostile(t, t.Context(), worker.Options{})
		m.send([]byte("no newline"), true)
		err := m.end()
		var be *worker.BootstrapError
		if !errors.As(err, &be) || !errors.Is(err, worker.ErrBootstrap) || !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("Serve: %T %v, want *worker.BootstrapError with io.ErrUnexpectedEOF", err, err)
		}
	})
	t.Run("line over the bound", func(t *testing.T) {
		m := serveHostile(t, t.Context(), worker.Options{MaxBootstrapLine: 1024})
		m.send(bytes.Repeat([]byte("x"), 1<<20), false) // never a newline, never closed
		err := m.end()
		if !errors.Is(err, worker.ErrLineTooLong) || !errors.Is(err, worker.ErrBootstrap) {
			t.Fatalf("Serve: %v, want ErrLineTooLong", err)
		}
	})
}

func TestHostileMasterNoise(t *testing.T) {
	m := serveHostile(t, t.Context(), worker.Options{})
	m.handshake()
	out := m.drain()
	m.send([]byte("hello world\n"), false) // the stream stays open
	var pe *gateway.ProtocolError
	if lost := m.wantLost(nil); !errors.As(lost, &pe) {
		t.Fatalf("worker ended with %v, want a *gateway.ProtocolError", lost)
	}
	if b := <-out; len(b) != 0 {
		t.Fatalf("worker answered noise with %x", b)
	}
}

func TestHostileMasterFrames(t *testing.T) {
	for _, c := range []struct {
		name       string
		input      []byte
		closeAfter bool
		class      error
		protocol   bool
	}{
		{"length 2^31-1 then EOF", hdr(spec.MsgChannelExec, 1, 1<<31-1), true, frame.ErrShortPayload, false},
		{"negative length", hdr(spec.MsgChannelData, 1, -1), false, frame.ErrNegativeLength, false},
		{"unknown code 8", hdr(8, 0, 0), false, nil, true},
		{"unknown code -128", hdr(-128, 0, 0), false, nil, true},
		{"closed mid-header", []byte{3, 0, 0}, true, frame.ErrShortHeader, false},
		{"closed mid-frame", execFrame(t, 1, profile.Echo)[:20], true, frame.ErrShortPayload, false},
		{"10^6 nested tuples in CHANNEL_EXEC", rawFrame(spec.MsgChannelExec, 1, nestedTuples(1_000_000)), false, codec.ErrLimit, true},
		{"10^7-digit LONGINT in CHANNEL_EXEC", rawFrame(spec.MsgChannelExec, 1, longInt(10_000_000)), false, codec.ErrLimit, true},
		{"10^7-digit LONGINT in RECONFIGURE", rawFrame(spec.MsgReconfigure, 0, longInt(10_000_000)), false, codec.ErrLimit, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := serveHostile(t, t.Context(), worker.Options{})
			m.handshake()
			out := m.drain()
			m.send(c.input, c.closeAfter)
			lost := m.wantLost(c.class)
			if c.protocol {
				var pe *gateway.ProtocolError
				if !errors.As(lost, &pe) {
					t.Fatalf("worker ended with %v, want a *gateway.ProtocolError", lost)
				}
			} else {
				var fe *frame.Error
				if !errors.As(lost, &fe) {
					t.Fatalf("worker ended with %v, want a *frame.Error", lost)
				}
			}
			if b := <-out; len(b) != 0 {
				t.Fatalf("worker answered with %x", b)
			}
		})
	}
}

func TestHostileMasterDataForUnknownChannel(t *testing.T) {
	// MSG-DATA-3: dropped, even undecodable; the worker still answers a
	// STATUS afterwards and ends cleanly at EOF.
	m := serveHostile(t, t.Context(), worker.Options{})
	m.handshake()
	out := m.drain()
	var b []byte
	b = append(b, rawFrame(spec.MsgChannelData, 99, []byte{0xff, 0xfe})...)
	b = append(b, valueFrame(t, spec.MsgChannelData, 4, codec.Int(1))...)
	b = append(b, rawFrame(spec.MsgChannelClose, 7, nil)...)
	b = append(b, hdr(spec.MsgStatus, 1, 0)...)
	m.send(b, true)
	if err := m.end(); err != nil {
		t.Fatalf("Serve after data for unknown channels then EOF: %v, want nil", err)
	}
	got := <-out
	fr, err := frame.NewReader(bytes.NewReader(got)).ReadFrame()
	if err != nil || fr.Code != spec.MsgChannelData || fr.Channel != 1 {
		t.Fatalf("worker output %x: first frame %v, %v; want the STATUS reply on channel 1", got, fr, err)
	}
}

func TestHostileMasterChannelRefs(t *testing.T) {
	// The master sends references to a master-side id it never opened (3)
	// and to a worker-side id the worker never allocated (2). The worker
	// creates them lazily (CHAN-ID-5), echoes the references back, and
	// keeps serving.
	m := serveHostile(t, t.Context(), worker.Options{})
	m.handshake()
	out := m.drain()
	var b []byte
	b = append(b, execFrame(t, 1, profile.Echo)...)
	b = append(b, valueFrame(t, spec.MsgChannelData, 1, codec.List{codec.ChannelRef(3), codec.ChannelRef(2)})...)
	m.send(b, true)
	if err := m.end(); err != nil {
		t.Fatalf("Serve: %v", err)
	}
	got := <-out
	want := valueFrame(t, spec.MsgChannelData, 1, codec.List{codec.ChannelRef(3), codec.ChannelRef(2)})
	if !bytes.Contains(got, want) {
		t.Fatalf("worker output %x lacks the echoed references %x", got, want)
	}
}

func TestHostileMasterStopsReading(t *testing.T) {
	// The master starts a stream of 1 MiB items and never reads: the
	// worker's writes block. Cancelling Serve's context must end it within
	// its bound with the context's error, blocked write included.
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	m := serveHostile(t, ctx, worker.Options{})
	m.handshake()
	m.send(execFrame(t, 1, profile.Stream,
		codec.Item{Key: codec.Str("count"), Value: codec.Int(1000)},
		codec.Item{Key: codec.Str("size"), Value: codec.Int(1 << 20)}), false)
	err := m.end()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Serve with a master that does not read: %v, want context.DeadlineExceeded", err)
	}
}

// nestedTuples is a payload of n nested 1-tuples around None.
func nestedTuples(n int) []byte {
	b := []byte{byte(spec.OpNone)}
	b = append(b, bytes.Repeat([]byte{byte(spec.OpBuildTuple), 0, 0, 0, 1}, n)...)
	return append(b, byte(spec.OpStop))
}

// longInt is a LONGINT payload of n decimal digits.
func longInt(n int) []byte {
	b := []byte{byte(spec.OpLongInt), byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}
	b = append(b, bytes.Repeat([]byte{'7'}, n)...)
	return append(b, byte(spec.OpStop))
}

func TestServeAppliesGatewayOptions(t *testing.T) {
	// Options.GatewayOptions reach the worker's gateway: a debug logger
	// given there records the CHANNEL_DATA the worker drops (MSG-DATA-3),
	// which the worker's own options (no Stderr) would not log at all.
	var log bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	m := serveHostile(t, t.Context(), worker.Options{
		GatewayOptions: []gateway.Option{gateway.WithLogger(logger), gateway.WithSpinWait(0)},
	})
	m.handshake()
	out := m.drain()
	m.send(rawFrame(spec.MsgChannelData, 99, []byte{0xff}), true)
	if err := m.end(); err != nil {
		t.Fatalf("Serve: %v, want nil at EOF", err)
	}
	<-out
	if !strings.Contains(log.String(), "does not hold") || !strings.Contains(log.String(), "99") {
		t.Fatalf("debug log %q: want the dropped CHANNEL_DATA for channel 99", log.String())
	}
}
