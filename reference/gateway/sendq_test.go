//go:build unix

package gateway_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/execnet-conform/execnet-conform/reference/codec"
	"github.com/execnet-conform/execnet-conform/reference/gateway"
)

// A big frame that is not a bytes item (here a 4 MiB str) goes through
// the send queue, yet its Send is still bounded by its context when the
// worker stops reading, and the torn stream fails later sends.
func TestSendQueuedBigFrameToStalledWorker(t *testing.T) {
	g, _ := newHostile(t)
	ch := g.NewChannel()
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	err := ch.Send(ctx, codec.Str(strings.Repeat("x", 4<<20)))
	var te *gateway.TimeoutError
	if !errors.As(err, &te) {
		t.Fatalf("Send of a 4 MiB str to a worker that does not read: %T %v, want *gateway.TimeoutError", err, err)
	}
	waitLost(t, g)
	if err := ch.Send(t.Context(), codec.Int(1)); !errors.Is(err, gateway.ErrGatewayClosed) && !errors.Is(err, gateway.ErrChannelClosed) {
		t.Fatalf("Send after the torn-down write: %v, want ErrGatewayClosed", err)
	}
}

// Many small items sent in a burst are batched by the send queue; all of
// them arrive, in order, and the channel's close comes after them.
func TestSendQueueBurstOrder(t *testing.T) {
	ctx := testCtx(t, 30*time.Second)
	g, err := gateway.Open(ctx, goWorkerSpec())
	if err != nil {
		t.Fatal(err)
	}
	defer g.Exit(context.Background())
	ch, err := g.RemoteExec(ctx, gateway.Exec{Source: "x", CallName: "conform_echo"})
	if err != nil {
		t.Fatal(err)
	}
	const n = 20000
	done := make(chan error, 1)
	go func() {
		for i := 0; i < n; i++ {
			v, err := ch.Receive(ctx)
			if err != nil {
				done <- err
				return
			}
			if !codec.Identical(v, codec.Int(i)) {
				done <- errors.New("item " + codec.Repr(v) + " out of order")
				return
			}
		}
		done <- nil
	}()
	for i := 0; i < n; i++ {
		if err := ch.Send(ctx, codec.Int(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := ch.Close(); err != nil {
		t.Fatal(err)
	}
}
