package gateway

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/execnet-conform/execnet-conform/reference/codec"
)

// benchPair is newPair for benchmarks: Go master and Go worker over two
// os.Pipe pairs in this process.
func benchPair(b *testing.B) (*Gateway, func()) {
	mc, wc := pipePair(b)
	w := New(wc, Worker, WithExecutor(testExecutor), WithExecGrace(time.Second))
	m := New(mc, Master, WithExitGrace(time.Second))
	served := make(chan error, 1)
	go func() { served <- w.Serve(context.Background()) }()
	return m, func() {
		m.Exit(context.Background())
		<-served
		wc.Close()
	}
}

var benchSizes = []int{16, 1024, 64 << 10}

// BenchmarkRoundTrip sends a bytes item to an echoing Go worker and waits
// for it to come back.
func BenchmarkRoundTrip(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(fmt.Sprintf("bytes=%d", size), func(b *testing.B) {
			m, stop := benchPair(b)
			defer stop()
			ctx := context.Background()
			ch, err := m.RemoteExec(ctx, Exec{Source: "echo"})
			if err != nil {
				b.Fatal(err)
			}
			benchRoundTrips(b, ch, size)
		})
	}
}

// benchRoundTrips sends b.N bytes items of size bytes on ch, each waiting
// for the echo, then closes ch.
func benchRoundTrips(b *testing.B, ch *Channel, size int) {
	ctx := context.Background()
	item := codec.Bytes(make([]byte, size))
	b.SetBytes(int64(2 * size))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := ch.Send(ctx, item); err != nil {
			b.Fatal(err)
		}
		if _, err := ch.Receive(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	ch.Close()
}

// BenchmarkOneWay streams bytes items to a counting Go worker.
func BenchmarkOneWay(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(fmt.Sprintf("bytes=%d", size), func(b *testing.B) {
			m, stop := benchPair(b)
			defer stop()
			ctx := context.Background()
			ch, err := m.RemoteExec(ctx, Exec{Source: "sink"})
			if err != nil {
				b.Fatal(err)
			}
			item := codec.Bytes(make([]byte, size))
			b.SetBytes(int64(size))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := ch.Send(ctx, item); err != nil {
					b.Fatal(err)
				}
			}
			ch.Send(ctx, codec.None{})
			v, err := ch.Receive(ctx)
			b.StopTimer()
			if err != nil || !codec.Identical(v, codec.Int(b.N)) {
				b.Fatalf("count = %v, %v; want %d", v, err, b.N)
			}
			ch.Close()
		})
	}
}

// BenchmarkSendAllocs measures the sending path alone: encoding a bytes
// item into a pooled frame buffer and one Write.
func BenchmarkSendAllocs(b *testing.B) {
	m, stop := benchPair(b)
	defer stop()
	ctx := context.Background()
	ch, _ := m.RemoteExec(ctx, Exec{Source: "sink"})
	item := codec.Value(codec.Bytes(make([]byte, 1024)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ch.Send(ctx, item)
	}
	b.StopTimer()
	ch.Send(ctx, codec.None{})
	ch.Receive(ctx)
	ch.Close()
}
