package sshtransport_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/execnet-conform/execnet-conform/bench"
	"github.com/execnet-conform/execnet-conform/internal/peers"
	"github.com/execnet-conform/execnet-conform/internal/sshdtest"
)

// BenchmarkSSHLoopback measures round trips and bulk throughput to a
// Python worker over real OpenSSH on loopback: the Go master with this
// package (no compression) against Python execnet's own ssh gateway (the
// ssh binary with -C), in the same run. It reports each figure and the
// Go/Python ratio as custom metrics.
func BenchmarkSSHLoopback(b *testing.B) {
	py := peers.CPython(b)
	srv := sshdtest.Start(b, sshdtest.Options{})
	w := bench.Workload{Startups: 3, RoundTrips: 2000, OneWay: bench.OneWay{Count: 20000, Size: 16},
		Bulk: []bench.BulkRun{{Size: 64 << 10, Bytes: 64 << 20}, {Size: 1 << 20, Bytes: 128 << 20}}, Repeats: 3}
	goSpec := fmt.Sprintf("ssh=%s@%s//python=%s", srv.User, srv.Addr, py)
	pySpec := fmt.Sprintf("ssh=-p %d -i %s -o UserKnownHostsFile=%s -o StrictHostKeyChecking=yes -o BatchMode=yes %s@%s//python=%s",
		srv.Port, srv.UserKeyPath, srv.KnownHostsPath, srv.User, srv.Host, py)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	for b.Loop() {
		g, err := bench.GoMaster(ctx, "go-ssh", goSpec, w, func(string) {}, sshOptions(srv))
		if err != nil {
			b.Fatalf("go master over ssh: %v", err)
		}
		p, err := bench.PythonMaster(ctx, "execnet-ssh", py, pySpec, w, func(string) {})
		if err != nil {
			b.Fatalf("python master over ssh: %v", err)
		}
		b.ReportMetric(g.StartupS.Median*1e3, "go-startup-ms")
		b.ReportMetric(p.StartupS.Median*1e3, "py-startup-ms")
		b.ReportMetric(g.RoundTrips.Median, "go-rt/s")
		b.ReportMetric(p.RoundTrips.Median, "py-rt/s")
		b.ReportMetric(g.RoundTrips.Median/p.RoundTrips.Median, "rt-ratio")
		for _, k := range []string{"65536", "1048576"} {
			b.ReportMetric(g.BulkMiBps[k].Median, "go-MiB/s@"+k)
			b.ReportMetric(p.BulkMiBps[k].Median, "py-MiB/s@"+k)
			b.ReportMetric(g.BulkMiBps[k].Median/p.BulkMiBps[k].Median, "bulk-ratio@"+k)
		}
	}
}
