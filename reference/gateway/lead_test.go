//go:build unix

package gateway_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/execnet-conform/execnet-conform/conformance/profile"
	"github.com/execnet-conform/execnet-conform/reference/codec"
	"github.com/execnet-conform/execnet-conform/reference/gateway"
)

// goWorkerEchoes opens a Go worker gateway (closed at the end of the
// test) and starts n conform_echo executions on it.
func goWorkerEchoes(t *testing.T, ctx context.Context, n int) (*gateway.Gateway, []*gateway.Channel) {
	t.Helper()
	g, err := gateway.Open(ctx, goWorkerSpec())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Exit(context.Background()) })
	chans := make([]*gateway.Channel, n)
	for i := range chans {
		if chans[i], err = g.RemoteExec(ctx, profileExec(t, profile.Echo)); err != nil {
			t.Fatal(err)
		}
	}
	return g, chans
}

// TestReadingReceiveTimeoutKeepsStream: over popen pipes a Receive reads
// the connection itself (lead.go). One whose context ends while it waits
// must leave the stream as it was: the next items arrive whole and in
// order, on this channel and on another.
func TestReadingReceiveTimeoutKeepsStream(t *testing.T) {
	ctx := testCtx(t, time.Minute)
	_, chans := goWorkerEchoes(t, ctx, 2)
	a, b := chans[0], chans[1]
	for round := 0; round < 20; round++ {
		if _, err := a.ReceiveTimeout(time.Millisecond); !errors.As(err, new(*gateway.TimeoutError)) {
			t.Fatalf("round %d: Receive with nothing sent = %v; want a *TimeoutError", round, err)
		}
		want := codec.Tuple{codec.Int(round), codec.Str("x"), codec.Bytes(make([]byte, 1000+round))}
		if err := b.Send(ctx, want); err != nil {
			t.Fatal(err)
		}
		if err := a.Send(ctx, codec.Int(round)); err != nil {
			t.Fatal(err)
		}
		if v, err := a.Receive(ctx); err != nil || !codec.Identical(v, codec.Int(round)) {
			t.Fatalf("round %d: a got %v, %v", round, v, err)
		}
		if v, err := b.Receive(ctx); err != nil || !codec.Identical(v, want) {
			t.Fatalf("round %d: b got %v, %v", round, v, err)
		}
	}
}

// TestCallbackWhileReceiveReads: items for a channel with a callback
// reach the callback, in order, while another goroutine's Receive is the
// one reading the connection; large items (left to the receiver
// goroutine) and small ones mix.
func TestCallbackWhileReceiveReads(t *testing.T) {
	ctx := testCtx(t, time.Minute)
	_, chans := goWorkerEchoes(t, ctx, 2)
	a, cb := chans[0], chans[1]
	var mu sync.Mutex
	var got []int
	end := make(chan struct{})
	if err := cb.SetCallback(func(v codec.Value) {
		if v == (codec.Str("end")) {
			close(end)
			return
		}
		mu.Lock()
		got = append(got, int(v.(codec.Tuple)[0].(codec.Int)))
		mu.Unlock()
	}, codec.Str("end")); err != nil {
		t.Fatal(err)
	}
	const n = 200
	for i := 0; i < n; i++ {
		size := 10
		if i%50 == 0 {
			size = 100 << 10 // over freshMin: the receiver goroutine reads it
		}
		if err := cb.Send(ctx, codec.Tuple{codec.Int(i), codec.Bytes(make([]byte, size))}); err != nil {
			t.Fatal(err)
		}
		if err := a.Send(ctx, codec.Int(i)); err != nil {
			t.Fatal(err)
		}
		if v, err := a.Receive(ctx); err != nil || !codec.Identical(v, codec.Int(i)) {
			t.Fatalf("item %d: a got %v, %v", i, v, err)
		}
	}
	// Every item is echoed back; close only once all came, since items
	// still on their way to a closed channel are dropped.
	for {
		mu.Lock()
		k := len(got)
		mu.Unlock()
		if k >= n || ctx.Err() != nil {
			break
		}
		if _, err := a.ReceiveTimeout(time.Millisecond); !errors.As(err, new(*gateway.TimeoutError)) {
			t.Fatalf("waiting on a: %v", err)
		}
	}
	if err := cb.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-end:
	case <-ctx.Done():
		t.Fatal("no end marker")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != n {
		t.Fatalf("callback got %d items, want %d", len(got), n)
	}
	for i, x := range got {
		if x != i {
			t.Fatalf("callback item %d is %d: out of order", i, x)
		}
	}
}

// TestNewExecutionsWhileAnotherReads: a worker whose execution reads the
// connection for its own channel starts new executions (each one round
// trip, then closed); every new execution must get its first item. The
// pattern of the difffuzz test, which once found a hang in it under load
// (TestReceiveTakingTokenAfterDelivery reproduces that one exactly).
func TestNewExecutionsWhileAnotherReads(t *testing.T) {
	ctx := testCtx(t, 2*time.Minute)
	g, chans := goWorkerEchoes(t, ctx, 1) // its worker goroutine waits, and reads
	defer chans[0].Close()
	for i := 0; i < 3000; i++ {
		ch, err := g.RemoteExec(ctx, profileExec(t, profile.Echo))
		if err != nil {
			t.Fatal(err)
		}
		if err := ch.Send(ctx, codec.Int(i)); err != nil {
			t.Fatal(err)
		}
		v, err := ch.ReceiveTimeout(5 * time.Second)
		if err != nil || !codec.Identical(v, codec.Int(i)) {
			t.Fatalf("execution %d: got %v, %v", i, v, err)
		}
		if err := ch.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestCloseWakesReadingReceive: a Receive that reads the connection
// itself must notice that another goroutine closed its channel (or set a
// callback on it), as a Receive waiting for the receiver goroutine does,
// even when the peer stays silent.
func TestCloseWakesReadingReceive(t *testing.T) {
	ctx := testCtx(t, time.Minute)
	g, _ := goWorkerEchoes(t, ctx, 0)
	for _, how := range []string{"Close", "SetCallback"} {
		ch, err := g.RemoteExec(ctx, profileExec(t, profile.Echo))
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() {
			_, err := ch.Receive(context.Background())
			done <- err
		}()
		time.Sleep(50 * time.Millisecond) // the Receive is reading by now
		start := time.Now()
		if how == "Close" {
			err = ch.Close()
		} else {
			err = ch.SetCallback(func(codec.Value) {}, nil)
		}
		if err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-done:
			if err == nil {
				t.Errorf("%s: Receive returned an item", how)
			}
			t.Logf("%s: Receive returned %v after %v", how, err, time.Since(start))
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: Receive still blocked 5s after the channel changed", how)
		}
		ch.Close()
	}
}
