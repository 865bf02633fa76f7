package transport

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/execnet-conform/execnet-conform/internal/peers"
)

// benchOpen measures a full popen start: spawn, handshake, one
// remote_exec round trip, terminate and reap.
func benchOpen(b *testing.B, style string) {
	py := peers.CPython(b)
	opts := Options{Style: style}
	if style == StyleExec {
		p, err := LocateGatewayBase(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		src, err := os.ReadFile(p)
		if err != nil {
			b.Fatal(err)
		}
		opts.GatewayBaseSource = string(src)
	}
	sp := mustParse(b, "popen//python="+py)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		c, err := Open(ctx, sp, opts)
		if err != nil {
			cancel()
			b.Fatal(err)
		}
		exchange(b, c)
		cancel()
	}
}

func BenchmarkOpenImportCPython(b *testing.B) { benchOpen(b, StyleImport) }
func BenchmarkOpenExecCPython(b *testing.B)   { benchOpen(b, StyleExec) }

func BenchmarkPyStringLiteralGatewayBase(b *testing.B) {
	p, err := LocateGatewayBase(context.Background())
	if err != nil {
		b.Skip(err)
	}
	src, err := os.ReadFile(p)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(src)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_ = PyStringLiteral(string(src))
	}
}
