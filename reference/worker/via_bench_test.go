package worker_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/execnet-conform/execnet-conform/conformance/profile"
	"github.com/execnet-conform/execnet-conform/internal/peers"
	"github.com/execnet-conform/execnet-conform/reference/codec"
	"github.com/execnet-conform/execnet-conform/reference/gateway"
	"github.com/execnet-conform/execnet-conform/reference/xspec"
)

// BenchmarkViaRoundTrip measures one round trip (a 16-byte item echoed)
// on a gateway opened directly and on the same kind of worker opened
// through the Go worker as via hop, in one run, so that the cost of the
// hop is the ratio of the sub-benchmarks' ns/op: each round trip through
// the hop crosses two more pipes and is decoded and re-encoded by the
// hop's gateway twice.
func BenchmarkViaRoundTrip(b *testing.B) {
	py := peers.CPython(b)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	hop, err := gateway.Open(ctx, "popen//id=hop//python="+workerBin+" worker")
	if err != nil {
		b.Fatal(err)
	}
	defer hop.Exit(context.Background())
	pyhop, err := gateway.Open(ctx, "popen//id=pyhop//python="+py)
	if err != nil {
		b.Fatal(err)
	}
	defer pyhop.Exit(context.Background())
	for _, c := range []struct{ name, spec string }{
		{"go/direct", "popen//id=direct//python=" + workerBin + " worker"},
		{"go/via-go-hop", "popen//id=sub//via=hop//python=" + workerBin + " worker"},
		{"go/via-python-hop", "popen//id=sub//via=pyhop//python=" + workerBin + " worker"},
		{"cpython/direct", "popen//id=direct//python=" + py},
		{"cpython/via-go-hop", "popen//id=sub//via=hop//python=" + py},
	} {
		b.Run(c.name, func(b *testing.B) {
			h := hop
			if strings.Contains(c.spec, "pyhop") {
				h = pyhop
			}
			g := benchOpen(b, ctx, h, c.spec)
			defer g.Exit(context.Background())
			src, err := profile.Source(profile.Echo)
			if err != nil {
				b.Fatal(err)
			}
			ch, err := g.RemoteExec(ctx, gateway.Exec{Source: src, FileName: profile.FileName, CallName: profile.Echo, Kwargs: &codec.Dict{}})
			if err != nil {
				b.Fatal(err)
			}
			item := codec.Bytes("0123456789abcdef")
			b.ResetTimer()
			for b.Loop() {
				if err := ch.Send(ctx, item); err != nil {
					b.Fatal(err)
				}
				if _, err := ch.Receive(ctx); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			_ = ch.Close()
		})
	}
}

func benchOpen(b *testing.B, ctx context.Context, hop *gateway.Gateway, spec string) *gateway.Gateway {
	b.Helper()
	s, err := xspec.Parse(spec)
	if err != nil {
		b.Fatal(err)
	}
	var g *gateway.Gateway
	if s.Via != "" {
		g, err = gateway.OpenVia(ctx, hop, s)
	} else {
		g, err = gateway.OpenSpec(ctx, s)
	}
	if err != nil {
		b.Fatal(err)
	}
	return g
}
