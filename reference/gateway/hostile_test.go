package gateway_test

// Hostile-worker tests: the Go master against a worker that breaks the
// protocol in the ways listed in issue #6. Each case must end with a typed
// error within its bound, with no goroutine or process left behind.

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/execnet-conform/execnet-conform/reference/codec"
	"github.com/execnet-conform/execnet-conform/reference/frame"
	"github.com/execnet-conform/execnet-conform/reference/gateway"
	"github.com/execnet-conform/execnet-conform/reference/transport"
	"github.com/execnet-conform/execnet-conform/spec"
)

// hostileBound is how long the master may take to notice a hostile
// worker's violation.
const hostileBound = 5 * time.Second

// osPipeConn is a transport.Conn over two OS pipes, with write deadlines.
type osPipeConn struct{ r, w *os.File }

func (c *osPipeConn) Read(p []byte) (int, error)         { return c.r.Read(p) }
func (c *osPipeConn) Write(p []byte) (int, error)        { return c.w.Write(p) }
func (c *osPipeConn) CloseWrite() error                  { return c.w.Close() }
func (c *osPipeConn) Process() transport.Process         { return nil }
func (c *osPipeConn) SetWriteDeadline(t time.Time) error { return c.w.SetWriteDeadline(t) }
func (c *osPipeConn) Close() error {
	c.w.Close()
	return c.r.Close()
}

// hostilePeer is the worker's end of the pipes: the test writes whatever
// bytes it likes to the master and reads (or refuses to read) its frames.
type hostilePeer struct {
	r *os.File // what the master writes
	w *os.File // what the master reads
}

// newHostile starts a master gateway over pipes whose other end the test
// drives. Cleanup closes everything and checks for leaked goroutines.
func newHostile(t *testing.T) (*gateway.Gateway, *hostilePeer) {
	t.Helper()
	before := goleak.IgnoreCurrent() // goroutines of earlier tests are not ours
	r1, w1, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	r2, w2, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	g := gateway.New(&osPipeConn{r: r1, w: w2}, gateway.Master)
	p := &hostilePeer{r: r2, w: w1}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), hostileBound)
		defer cancel()
		p.w.Close()
		p.r.Close()
		_ = g.Exit(ctx)
		goleak.VerifyNone(t, before)
	})
	return g, p
}

// send writes raw bytes to the master on a goroutine (a large write must
// not block the test), closing the stream afterwards when closeAfter is set.
func (p *hostilePeer) send(b []byte, closeAfter bool) <-chan error {
	done := make(chan error, 1)
	go func() {
		_, err := p.w.Write(b)
		if closeAfter {
			p.w.Close()
		}
		done <- err
	}()
	return done
}

// waitLost waits for the master's receiver to end and returns its
// *gateway.ConnectionLostError.
func waitLost(t *testing.T, g *gateway.Gateway) *gateway.ConnectionLostError {
	t.Helper()
	select {
	case <-g.Done():
	case <-time.After(hostileBound):
		t.Fatalf("master did not end within %v", hostileBound)
	}
	err := g.Err()
	var lost *gateway.ConnectionLostError
	if !errors.As(err, &lost) {
		t.Fatalf("master ended with %T (%v), want *gateway.ConnectionLostError", err, err)
	}
	if !errors.Is(err, gateway.ErrGatewayClosed) {
		t.Fatalf("error %v does not match ErrGatewayClosed", err)
	}
	return lost
}

// wantFrameErr asserts the end was a malformed frame of the given class.
func wantFrameErr(t *testing.T, g *gateway.Gateway, class error) {
	t.Helper()
	lost := waitLost(t, g)
	var fe *frame.Error
	if !errors.As(lost, &fe) || !errors.Is(lost, class) {
		t.Fatalf("master ended with %v, want a *frame.Error of class %v", lost, class)
	}
}

// wantProtocolErr asserts the end was a *gateway.ProtocolError, wrapping
// cause when cause is not nil.
func wantProtocolErr(t *testing.T, g *gateway.Gateway, cause error) *gateway.ProtocolError {
	t.Helper()
	lost := waitLost(t, g)
	var pe *gateway.ProtocolError
	if !errors.As(lost, &pe) {
		t.Fatalf("master ended with %v, want a *gateway.ProtocolError", lost)
	}
	if cause != nil && !errors.Is(pe, cause) {
		t.Fatalf("protocol error %v does not wrap %v", pe, cause)
	}
	return pe
}

func hdr(code spec.MsgCode, id int32, length int) []byte {
	return frame.AppendHeader(nil, code, id, length)
}

func dataFrame(t *testing.T, id int32, v codec.Value) []byte {
	t.Helper()
	b, err := codec.Dumps(v)
	if err != nil {
		t.Fatal(err)
	}
	return frame.Append(nil, frame.Frame{Code: spec.MsgChannelData, Channel: id, Payload: b})
}

// nestedTuples is a payload of n nested 1-tuples around None.
func nestedTuples(n int) []byte {
	b := []byte{byte(spec.OpNone)}
	one := []byte{byte(spec.OpBuildTuple), 0, 0, 0, 1}
	b = append(b, bytes.Repeat(one, n)...)
	return append(b, byte(spec.OpStop))
}

// longInt is a LONGINT payload of n decimal digits.
func longInt(n int) []byte {
	b := []byte{byte(spec.OpLongInt), byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}
	b = append(b, bytes.Repeat([]byte{'7'}, n)...)
	return append(b, byte(spec.OpStop))
}

func TestHostileWorkerNoiseAfterReady(t *testing.T) {
	// A worker that prints to stdout after the ready byte: "hello world\n"
	// reads as a frame of code 'h' (unknown). The master must not wait for
	// the 0x6f20776f-byte payload the noise declares.
	g, p := newHostile(t)
	p.send([]byte("hello world\n"), false)
	wantProtocolErr(t, g, nil)
}

func TestHostileWorkerHugeLength(t *testing.T) {
	g, p := newHostile(t)
	ch := g.NewChannel()
	p.send(hdr(spec.MsgChannelData, ch.ID(), 1<<31-1), true)
	wantFrameErr(t, g, frame.ErrShortPayload)
	if _, err := ch.Receive(t.Context()); !errors.Is(err, gateway.ErrGatewayClosed) && !errors.Is(err, io.EOF) {
		t.Fatalf("Receive after the connection was lost: %v", err)
	}
}

func TestHostileWorkerNegativeLength(t *testing.T) {
	g, p := newHostile(t)
	p.send(hdr(spec.MsgChannelData, 1, -5), false) // the stream stays open
	wantFrameErr(t, g, frame.ErrNegativeLength)
}

func TestHostileWorkerUnknownCode(t *testing.T) {
	for _, code := range []spec.MsgCode{8, 9, 127, -1} {
		t.Run(code.String(), func(t *testing.T) {
			g, p := newHostile(t)
			p.send(hdr(code, 0, 0), false)
			pe := wantProtocolErr(t, g, nil)
			if !bytes.Equal(pe.Header, hdr(code, 0, 0)) {
				t.Fatalf("protocol error names header %x, want %x", pe.Header, hdr(code, 0, 0))
			}
		})
	}
}

func TestHostileWorkerDataForUnknownChannel(t *testing.T) {
	// MSG-DATA-3: data for a channel the master never opened is dropped
	// (even when it does not decode); the connection goes on.
	g, p := newHostile(t)
	ch := g.NewChannel()
	var b []byte
	b = append(b, hdr(spec.MsgChannelData, 77, 3)...)
	b = append(b, "\xff\xff\xff"...)
	b = append(b, dataFrame(t, 1001, codec.Int(5))...)
	b = append(b, dataFrame(t, ch.ID(), codec.Int(42))...)
	p.send(b, false)
	ctx, cancel := context.WithTimeout(t.Context(), hostileBound)
	defer cancel()
	v, err := ch.Receive(ctx)
	if err != nil || !codec.Identical(v, codec.Int(42)) {
		t.Fatalf("Receive = %v, %v; want 42 after the dropped frames", v, err)
	}
	select {
	case <-g.Done():
		t.Fatalf("master ended after data for unknown channels: %v", g.Err())
	default:
	}
	p.w.Close()
	lost := waitLost(t, g)
	if !errors.Is(lost, io.EOF) {
		t.Fatalf("end after the worker closed: %v, want io.EOF", lost)
	}
}

func TestHostileWorkerChannelRefToMasterID(t *testing.T) {
	// The worker sends references to master-side (odd) ids: one the master
	// holds must resolve to that very channel (CHAN-ID-6); one it never
	// allocated is created lazily (CHAN-ID-5) and must not disturb the
	// master's own allocation or crash it.
	g, p := newHostile(t)
	ch := g.NewChannel() // id 1
	p.send(dataFrame(t, ch.ID(), codec.Tuple{codec.ChannelRef(1), codec.ChannelRef(5)}), false)
	ctx, cancel := context.WithTimeout(t.Context(), hostileBound)
	defer cancel()
	v, err := ch.Receive(ctx)
	if err != nil {
		t.Fatalf("Receive: %v", err)
	}
	tup, ok := v.(codec.Tuple)
	if !ok || len(tup) != 2 {
		t.Fatalf("received %s, want a 2-tuple of channels", codec.Repr(v))
	}
	if got, ok := tup[0].(*gateway.Channel); !ok || got != ch {
		t.Fatalf("reference to id 1 resolved to %v, want the master's own channel", tup[0])
	}
	five, ok := tup[1].(*gateway.Channel)
	if !ok || five.ID() != 5 {
		t.Fatalf("reference to id 5 resolved to %v", tup[1])
	}
	if next := g.NewChannel(); next.ID() != 3 {
		t.Fatalf("next master channel id %d, want 3", next.ID())
	}
	p.w.Close()
	waitLost(t, g)
}

func TestHostileWorkerNestedTuples(t *testing.T) {
	g, p := newHostile(t)
	ch := g.NewChannel()
	payload := nestedTuples(1_000_000)
	b := append(hdr(spec.MsgChannelData, ch.ID(), len(payload)), payload...)
	p.send(b, false)
	wantProtocolErr(t, g, codec.ErrLimit)
}

func TestHostileWorkerHugeLongInt(t *testing.T) {
	g, p := newHostile(t)
	ch := g.NewChannel()
	payload := longInt(10_000_000)
	b := append(hdr(spec.MsgChannelData, ch.ID(), len(payload)), payload...)
	p.send(b, false)
	wantProtocolErr(t, g, codec.ErrLimit)
}

func TestHostileWorkerClosesMidFrame(t *testing.T) {
	g, p := newHostile(t)
	ch := g.NewChannel()
	full := dataFrame(t, ch.ID(), codec.Str("hello"))
	p.send(full[:len(full)-3], true)
	wantFrameErr(t, g, frame.ErrShortPayload)
	// Mid-header too.
	g2, p2 := newHostile(t)
	p2.send(full[:4], true)
	wantFrameErr(t, g2, frame.ErrShortHeader)
}

func TestHostileWorkerStopsReading(t *testing.T) {
	// The worker never reads: a Send bigger than the pipe buffer blocks,
	// and its context bounds it with a *gateway.TimeoutError.
	if runtime.GOOS == "windows" {
		t.Skip("os.Pipe has no write deadlines on Windows")
	}
	g, _ := newHostile(t)
	ch := g.NewChannel()
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	err := ch.Send(ctx, codec.Bytes(make([]byte, 4<<20)))
	var te *gateway.TimeoutError
	if !errors.As(err, &te) || !errors.Is(err, gateway.ErrTimeout) {
		t.Fatalf("Send to a worker that does not read: %T %v, want *gateway.TimeoutError", err, err)
	}
	// Part of the frame is in the pipe: the stream cannot be resumed, so
	// the master must have torn the connection down, and later sends fail
	// instead of writing frames the worker would misparse.
	lost := waitLost(t, g)
	t.Logf("after the partial write: %v", lost)
	if err := ch.Send(t.Context(), codec.Int(1)); !errors.Is(err, gateway.ErrGatewayClosed) && !errors.Is(err, gateway.ErrChannelClosed) {
		t.Fatalf("Send after the torn-down write: %v, want ErrGatewayClosed", err)
	}
}

func TestHostileWorkerStopsReadingExit(t *testing.T) {
	// Exit must not hang on a worker that never reads either: it gives up
	// after its grace and closes the connection.
	g, _ := newHostile(t)
	ch := g.NewChannel()
	sent := make(chan error, 1)
	go func() { sent <- ch.Send(context.Background(), codec.Bytes(make([]byte, 4<<20))) }()
	ectx, ecancel := context.WithTimeout(t.Context(), hostileBound)
	defer ecancel()
	stage, err := g.Shutdown(ectx, 100*time.Millisecond)
	var fe *gateway.ForcedExitError
	if !errors.As(err, &fe) || stage != gateway.StageClosed {
		t.Fatalf("Shutdown of a worker that does not read: stage %v, %v; want StageClosed and *gateway.ForcedExitError", stage, err)
	}
	select {
	case err := <-sent:
		if err == nil {
			t.Fatal("a 4 MiB Send to a worker that never reads succeeded")
		}
	case <-time.After(hostileBound):
		t.Fatal("blocked Send did not end after Exit")
	}
}

// TestHostileWorkerMemoryBounded measures the heap around the two cases
// whose declared sizes are largest: a 2^31-1 frame length backed by a few
// bytes, and a 10^7-digit LONGINT (10 MB of real input). Memory must be
// bounded by the input actually sent, not by what it declares.
func TestHostileWorkerMemoryBounded(t *testing.T) {
	const bound = 64 << 20
	huge := append(hdr(spec.MsgChannelData, 1, 1<<31-1), "abc"...)
	li := longInt(10_000_000)
	long := append(hdr(spec.MsgChannelData, 1, len(li)), li...)
	for _, c := range []struct {
		name  string
		input []byte
		check func(*testing.T, *gateway.Gateway)
	}{
		{"length 2^31-1", huge, func(t *testing.T, g *gateway.Gateway) { wantFrameErr(t, g, frame.ErrShortPayload) }},
		{"LONGINT 10^7 digits", long, func(t *testing.T, g *gateway.Gateway) { wantProtocolErr(t, g, codec.ErrLimit) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			g, p := newHostile(t)
			g.NewChannel()
			runtime.GC()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			p.send(c.input, true)
			c.check(t, g)
			runtime.ReadMemStats(&after)
			alloc := after.TotalAlloc - before.TotalAlloc
			sys := int64(after.HeapSys) - int64(before.HeapSys)
			t.Logf("%s: input %d bytes, allocated %d bytes, heap grew %d bytes", c.name, len(c.input), alloc, sys)
			if alloc > bound || sys > bound {
				t.Fatalf("%s: allocated %d bytes, heap grew %d bytes; bound %d", c.name, alloc, sys, bound)
			}
		})
	}
}

// fakeWorker writes an executable shell script that plays a worker: it
// reads the bootstrap line, then runs body.
func fakeWorker(t testing.TB, body string) string {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("fake workers are shell scripts")
	}
	path := filepath.Join(t.TempDir(), "worker.sh")
	script := "#!/bin/sh\nIFS= read -r line\n" + body + "\n"
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestHostileWorkerGarbageBeforeReady(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	script := fakeWorker(t, `printf 'Welcome to the machine\n1'; sleep 30`)
	ctx, cancel := context.WithTimeout(t.Context(), hostileBound)
	defer cancel()
	g, err := gateway.Open(ctx, "popen//python=/bin/sh "+script+"//style=import")
	if err == nil {
		_ = g.Exit(ctx)
		t.Fatal("Open accepted a worker that wrote garbage before the ready byte")
	}
	var be *transport.BootstrapError
	if !errors.As(err, &be) || !errors.Is(err, transport.ErrBadReadyByte) {
		t.Fatalf("Open: %T %v, want *transport.BootstrapError of class ErrBadReadyByte", err, err)
	}
	if !strings.HasPrefix(string(be.Received), "W") {
		t.Fatalf("BootstrapError.Received = %q, want the garbage", be.Received)
	}
	if be.Pid > 0 && processExists(be.Pid) {
		t.Fatalf("worker process %d still exists after the failed bootstrap", be.Pid)
	}
}

func TestHostileWorkerProcessNoiseAfterReady(t *testing.T) {
	// A real process that prints after the ready byte and then neither
	// reads nor exits: the master reports the protocol error, and Exit
	// escalates to signals and reaps the whole process group.
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	script := fakeWorker(t, `printf '1'; echo "debug: worker started"; sleep 30 & wait`)
	ctx, cancel := context.WithTimeout(t.Context(), 3*hostileBound)
	defer cancel()
	g, err := gateway.Open(ctx, "popen//python=/bin/sh "+script+"//style=import", gateway.WithExitGrace(200*time.Millisecond))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	pid := g.Pid()
	wantProtocolErr(t, g, nil)
	_, _ = g.Shutdown(ctx, 200*time.Millisecond)
	if _, ok := g.ExitStatus(); !ok {
		t.Fatalf("worker %d not reaped after Exit", pid)
	}
	if processExists(pid) {
		t.Fatalf("worker process %d still exists after Exit", pid)
	}
}

// processExists reports whether pid names a live (not reaped) process.
func processExists(pid int) bool {
	_, err := os.Stat(filepath.Join("/proc", strconv.Itoa(pid)))
	return err == nil
}

// groupSurvivors lists the live (not zombie) processes of process group
// pgid, from /proc.
func groupSurvivors(t *testing.T, pgid int) []int {
	t.Helper()
	ents, err := os.ReadDir("/proc")
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid pgrp ...; comm may hold spaces.
		rest := string(b[bytes.LastIndexByte(b, ')')+1:])
		f := strings.Fields(rest)
		if len(f) < 3 || f[0] == "Z" || f[0] == "X" {
			continue
		}
		if g, _ := strconv.Atoi(f[2]); g == pgid {
			pids = append(pids, pid)
		}
	}
	return pids
}

// wantGroupGone waits up to hostileBound for process group pgid to have
// no live process.
func wantGroupGone(t *testing.T, pgid int) {
	t.Helper()
	deadline := time.Now().Add(hostileBound)
	for {
		left := groupSurvivors(t, pgid)
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("processes %v of the worker's process group %d survived", left, pgid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestHostileWorkerChildHoldsPipesExit: the worker starts a child that
// inherits its output, and exits when its input ends. Exit must report
// that the connection never closed (StageStreamHeld, ErrStreamHeldOpen)
// and kill the worker's process group. Before the fix Exit waited its
// grace and returned the GATEWAY_TERMINATE stage with a nil error, and
// the child survived.
func TestHostileWorkerChildHoldsPipesExit(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	script := fakeWorker(t, `printf '1'; sleep 300 & cat >/dev/null; exit 0`)
	ctx, cancel := context.WithTimeout(t.Context(), 3*hostileBound)
	defer cancel()
	g, err := gateway.Open(ctx, "popen//python=/bin/sh "+script+"//style=import")
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	pid := g.Pid()
	// The default grace: more than the second the transport waits for
	// the worker's stderr (held by the child too) before it reaps.
	stage, err := g.Shutdown(ctx, 2*time.Second)
	var fe *gateway.ForcedExitError
	if stage != gateway.StageStreamHeld || !errors.As(err, &fe) || !errors.Is(err, gateway.ErrStreamHeldOpen) {
		t.Fatalf("Shutdown = %v, %v; want StageStreamHeld and a *ForcedExitError matching ErrStreamHeldOpen", stage, err)
	}
	if !strings.Contains(err.Error(), "stayed open") {
		t.Errorf("message %q does not say that the connection stayed open", err)
	}
	wantGroupGone(t, pid)
}

// TestHostileWorkerExitedReceiveNotices: the worker exits at once but
// leaves a child holding its output. A Receive must end with a
// *ConnectionLostError matching ErrStreamHeldOpen soon after the exit,
// not wait out its deadline, and the child must be gone. Before the fix
// the Receive only timed out.
func TestHostileWorkerExitedReceiveNotices(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	script := fakeWorker(t, `printf '1'; sleep 300 & exit 0`)
	ctx, cancel := context.WithTimeout(t.Context(), 3*hostileBound)
	defer cancel()
	g, err := gateway.Open(ctx, "popen//python=/bin/sh "+script+"//style=import", gateway.WithExitGrace(200*time.Millisecond))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer g.Shutdown(ctx, 200*time.Millisecond)
	pid := g.Pid()
	ch := g.NewChannel()
	rctx, rcancel := context.WithTimeout(ctx, 2*hostileBound)
	defer rcancel()
	_, err = ch.Receive(rctx)
	var lost *gateway.ConnectionLostError
	if !errors.As(err, &lost) || !errors.Is(err, gateway.ErrStreamHeldOpen) {
		t.Fatalf("Receive = %v; want a *ConnectionLostError matching ErrStreamHeldOpen", err)
	}
	if !lost.StatusKnown || lost.Status.Code != 0 {
		t.Errorf("ConnectionLostError status = %+v (known %v); want exit code 0", lost.Status, lost.StatusKnown)
	}
	wantGroupGone(t, pid)
}

// TestHostileWorkerDetachedChildExit: the worker starts a child that
// holds none of its pipes and ends normally at GATEWAY_TERMINATE. Exit
// reports a clean end, and the child, left in the worker's process
// group, must not survive it. Before the fix it did.
func TestHostileWorkerDetachedChildExit(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	script := fakeWorker(t, `printf '1'; sleep 300 </dev/null >/dev/null 2>&1 & cat >/dev/null; exit 0`)
	ctx, cancel := context.WithTimeout(t.Context(), 3*hostileBound)
	defer cancel()
	g, err := gateway.Open(ctx, "popen//python=/bin/sh "+script+"//style=import")
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	pid := g.Pid()
	for len(groupSurvivors(t, pid)) < 2 { // the worker and its child
		if ctx.Err() != nil {
			t.Fatal("the worker's child never started")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if stage, err := g.Shutdown(ctx, 2*time.Second); stage != gateway.StageTerminate || err != nil {
		t.Fatalf("Shutdown = %v, %v; want a clean end (the child holds no pipe)", stage, err)
	}
	wantGroupGone(t, pid)
}
