package worker_test

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/execnet-conform/execnet-conform/conformance/profile"
	"github.com/execnet-conform/execnet-conform/reference/codec"
)

// BenchmarkEchoRoundTrip measures one small item through conform_echo on
// the in-process Go worker (Go master, OS pipes).
func BenchmarkEchoRoundTrip(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	g, conn, errc := startInProcessConn(b, ctx)
	ch := execProc(b, ctx, g, profile.Echo)
	v := codec.Tuple{codec.Int(1), codec.Str("hello"), codec.Bytes("xyz")}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := ch.Send(ctx, v); err != nil {
			b.Fatal(err)
		}
		if _, err := ch.Receive(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	ch.Close()
	g.Exit(ctx)
	conn.Close()
	<-errc
}

// BenchmarkStream measures conform_stream throughput with 64 KiB items.
func BenchmarkStream(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	g, conn, errc := startInProcessConn(b, ctx)
	const size = 64 << 10
	b.SetBytes(size)
	b.ResetTimer()
	ch := execProc(b, ctx, g, profile.Stream,
		codec.Item{Key: codec.Str("count"), Value: codec.Int(b.N)},
		codec.Item{Key: codec.Str("size"), Value: codec.Int(size)})
	for i := 0; i < b.N; i++ {
		if _, err := ch.Receive(ctx); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := ch.Receive(ctx); !errors.Is(err, io.EOF) {
		b.Fatalf("after %d items: %v", b.N, err)
	}
	b.StopTimer()
	g.Exit(ctx)
	conn.Close()
	<-errc
}
