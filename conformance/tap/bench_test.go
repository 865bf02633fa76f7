package tap

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/execnet-conform/execnet-conform/internal/peers"
	"github.com/execnet-conform/execnet-conform/reference/codec"
	"github.com/execnet-conform/execnet-conform/reference/gateway"
)

// openPair opens a Python worker directly and one behind the tap (this
// test binary in its tap mode, recording a trace with the command's
// default payload limit, trace.DefaultMaxPayload), each running source.
func openPair(b *testing.B, source string) (direct, tapped *gateway.Channel, cleanup func()) {
	b.Helper()
	python := peers.CPython(b)
	self, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	b.Setenv(childEnv, "1")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	trace := filepath.Join(b.TempDir(), "bench.jsonl")
	var gws []*gateway.Gateway
	var chans []*gateway.Channel
	for _, spec := range []string{"popen//python=" + python, fmt.Sprintf("popen//python=%s %s -- %s", self, trace, python)} {
		gw, err := gateway.Open(ctx, spec)
		if err != nil {
			b.Fatalf("%s: %v", spec, err)
		}
		ch, err := gw.RemoteExecSource(ctx, source)
		if err != nil {
			b.Fatal(err)
		}
		gws = append(gws, gw)
		chans = append(chans, ch)
	}
	return chans[0], chans[1], func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		for i, gw := range gws {
			chans[i].Close()
			gw.Exit(ctx)
		}
	}
}

// measure runs op on both channels b.N times, alternating, and reports
// each side's time per operation and their ratio (tapped/direct).
func measure(b *testing.B, direct, tapped *gateway.Channel, op func(*gateway.Channel) error) {
	var td, tt time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for j, ch := range []*gateway.Channel{direct, tapped} {
			start := time.Now()
			if err := op(ch); err != nil {
				b.Fatal(err)
			}
			if d := time.Since(start); j == 0 {
				td += d
			} else {
				tt += d
			}
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(td.Nanoseconds())/float64(b.N), "direct-ns/op")
	b.ReportMetric(float64(tt.Nanoseconds())/float64(b.N), "tapped-ns/op")
	b.ReportMetric(float64(tt)/float64(td), "tapped/direct")
}

// BenchmarkTapRoundTrip: one small value to a Python echo worker and back.
func BenchmarkTapRoundTrip(b *testing.B) {
	direct, tapped, cleanup := openPair(b, "for x in channel:\n    channel.send(x)\n")
	defer cleanup()
	ctx := context.Background()
	measure(b, direct, tapped, func(ch *gateway.Channel) error {
		if err := ch.Send(ctx, codec.Int(1)); err != nil {
			return err
		}
		_, err := ch.Receive(ctx)
		return err
	})
}

// BenchmarkTapBulk: 1 MiB of bytes to a Python worker that answers with
// the length (one round trip per MiB, dominated by the transfer).
func BenchmarkTapBulk(b *testing.B) {
	direct, tapped, cleanup := openPair(b, "for x in channel:\n    channel.send(len(x))\n")
	defer cleanup()
	ctx := context.Background()
	payload := codec.Bytes(make([]byte, 1<<20))
	b.SetBytes(2 << 20) // both channels
	measure(b, direct, tapped, func(ch *gateway.Channel) error {
		if err := ch.Send(ctx, payload); err != nil {
			return err
		}
		_, err := ch.Receive(ctx)
		return err
	})
}
