//go:build unix

package gateway_test

import (
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/execnet-conform/execnet-conform/conformance/profile"
	"github.com/execnet-conform/execnet-conform/reference/codec"
	"github.com/execnet-conform/execnet-conform/reference/gateway"
)

// BenchmarkProcessStream measures conform_stream from a Go worker process
// to a Go master over its pipes, the layout of `execnet-conform bench`'s
// one-way and bulk figures, for small and large items.
func BenchmarkProcessStream(b *testing.B) {
	for _, size := range []int{16, 1 << 10, 64 << 10, 1 << 20} {
		b.Run(fmt.Sprintf("bytes=%d", size), func(b *testing.B) {
			ctx := testCtx(b, 5*time.Minute)
			g, err := gateway.Open(ctx, goWorkerSpec())
			if err != nil {
				b.Fatal(err)
			}
			defer g.Exit(context.Background())
			b.SetBytes(int64(size))
			b.ReportAllocs()
			b.ResetTimer()
			ch, err := g.RemoteExec(ctx, profileExec(b, profile.Stream,
				codec.Item{Key: codec.Str("count"), Value: codec.Int(b.N)},
				codec.Item{Key: codec.Str("size"), Value: codec.Int(size)}))
			if err != nil {
				b.Fatal(err)
			}
			for i := 0; i < b.N; i++ {
				v, err := ch.Receive(ctx)
				if err != nil {
					b.Fatal(err)
				}
				if x, ok := v.(codec.Bytes); !ok || len(x) != size {
					b.Fatalf("item %d: %s", i, codec.Repr(v))
				}
				g.Recycle(v)
			}
			if err := ch.WaitClose(ctx); err != nil {
				b.Fatal(err)
			}
		})
	}
}

// BenchmarkProcessRoundTrip measures small round trips through
// conform_echo in a Go worker process, with the master's default spin
// and with spinning off (WithSpinWait(0); the worker keeps its default).
// master-cpu-ns/op is this process's CPU time per round trip: what the
// spin costs the master.
func BenchmarkProcessRoundTrip(b *testing.B) {
	for _, tc := range []struct {
		name string
		opts []gateway.Option
	}{{"spin=default", nil}, {"spin=0", []gateway.Option{gateway.WithSpinWait(0)}}} {
		b.Run(tc.name, func(b *testing.B) {
			ctx := testCtx(b, 5*time.Minute)
			g, err := gateway.Open(ctx, goWorkerSpec(), tc.opts...)
			if err != nil {
				b.Fatal(err)
			}
			defer g.Exit(context.Background())
			ch, err := g.RemoteExec(ctx, profileExec(b, profile.Echo))
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := selfCPU()
			for i := 0; i < b.N; i++ {
				if err := ch.Send(ctx, codec.Int(i)); err != nil {
					b.Fatal(err)
				}
				if _, err := ch.Receive(ctx); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(selfCPU()-cpu0)/float64(b.N), "master-cpu-ns/op")
			ch.Close()
		})
	}
}

// selfCPU is this process's user and system CPU time.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkProcessSequentialExec measures one short remote execution
// after another on one Go worker process, as a master that calls
// remote_exec per task does: CHANNEL_EXEC, one round trip, then the
// channel's close. Each new execution arrives while no Receive reads the
// worker's pipe.
func BenchmarkProcessSequentialExec(b *testing.B) {
	ctx := testCtx(b, 5*time.Minute)
	g, err := gateway.Open(ctx, goWorkerSpec())
	if err != nil {
		b.Fatal(err)
	}
	defer g.Exit(context.Background())
	exec := profileExec(b, profile.Echo)
	b.ReportAllocs()
	for b.Loop() {
		ch, err := g.RemoteExec(ctx, exec)
		if err != nil {
			b.Fatal(err)
		}
		if err := ch.Send(ctx, codec.Int(1)); err != nil {
			b.Fatal(err)
		}
		if _, err := ch.Receive(ctx); err != nil {
			b.Fatal(err)
		}
		if err := ch.Close(); err != nil {
			b.Fatal(err)
		}
		if err := ch.WaitClose(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
