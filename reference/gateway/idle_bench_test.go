//go:build unix

package gateway_test

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/execnet-conform/execnet-conform/reference/codec"
	"github.com/execnet-conform/execnet-conform/reference/gateway"
	"github.com/execnet-conform/execnet-conform/reference/transport"
)

// BenchmarkIdleReceiveCPU measures the CPU time (getrusage: user plus
// system time of this process) that a master spends while a Receive,
// entered right after a Send, waits a second per iteration for a popen
// worker that stays silent. It reports it as cpu-% of the wall time
// waited; run it with -benchtime=8x for the 8 s wait of issue #19, whose
// target is under 0.5%. (Before the fix: about 6%, with or without
// WithSpinWait(0).)
func BenchmarkIdleReceiveCPU(b *testing.B) {
	for _, spin := range []time.Duration{0, transport.DefaultSpin} {
		b.Run("spin="+spin.String(), func(b *testing.B) {
			script := fakeWorker(b, `printf '1'; exec sleep 600`)
			ctx := context.Background()
			g, err := gateway.Open(ctx, "popen//python=/bin/sh "+script+"//style=import",
				gateway.WithExitGrace(100*time.Millisecond), gateway.WithSpinWait(spin))
			if err != nil {
				b.Fatal(err)
			}
			defer g.Shutdown(ctx, 100*time.Millisecond)
			ch := g.NewChannel()
			var cpu, wall time.Duration
			for range b.N {
				rctx, cancel := context.WithTimeout(ctx, time.Second)
				_ = ch.Send(rctx, codec.Int(1))
				c0, t0 := cpuTime(b), time.Now()
				_, _ = ch.Receive(rctx)
				cpu += cpuTime(b) - c0
				wall += time.Since(t0)
				cancel()
			}
			b.ReportMetric(100*cpu.Seconds()/wall.Seconds(), "cpu-%")
		})
	}
}

// cpuTime is the process's CPU time so far, user plus system.
func cpuTime(t testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
