package gateway_test

import (
	"context"
	"fmt"
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
// conform_echo in a Go worker process.
func BenchmarkProcessRoundTrip(b *testing.B) {
	ctx := testCtx(b, 5*time.Minute)
	g, err := gateway.Open(ctx, goWorkerSpec())
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
	for i := 0; i < b.N; i++ {
		if err := ch.Send(ctx, codec.Int(i)); err != nil {
			b.Fatal(err)
		}
		if _, err := ch.Receive(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	ch.Close()
}
