package worker_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/execnet-conform/execnet-conform/bench"
	"github.com/execnet-conform/execnet-conform/internal/peers"
	"github.com/execnet-conform/execnet-conform/reference/gateway"
	"github.com/execnet-conform/execnet-conform/reference/rsync"
)

// benchTree writes the tree of a BenchmarkRsync case: "small" is 1,000
// files of 1 KiB in 10 directories, "large" is 3 files of 50 MiB; both
// add an executable file and two symlinks.
func benchTree(b *testing.B, dir, kind string) (src string, files int, size int64) {
	b.Helper()
	src = filepath.Join(dir, "src-"+kind)
	write := func(rel string, data []byte, mode os.FileMode) {
		p := filepath.Join(src, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(p, data, mode); err != nil {
			b.Fatal(err)
		}
		files++
		size += int64(len(data))
	}
	switch kind {
	case "small":
		for i := range 1000 {
			write(fmt.Sprintf("d%d/f%04d", i%10, i), bytes.Repeat([]byte{byte(i)}, 1024), 0o644)
		}
	case "large":
		big := make([]byte, 50<<20)
		for i := range 3 {
			for j := range big {
				big[j] = byte(j*31 + i + j>>13)
			}
			write(fmt.Sprintf("large%d.bin", i), big, 0o644)
		}
	}
	write("bin/tool", []byte("#!/bin/sh\n"), 0o755)
	if err := os.Symlink("bin/tool", filepath.Join(src, "link-rel")); err != nil {
		b.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(src, "bin"), filepath.Join(src, "link-inside")); err != nil {
		b.Fatal(err)
	}
	return src, files, size
}

// BenchmarkRsync copies a tree of many small files ("small") and one of a
// few large files ("large") through each master/worker pairing: go-go
// and go-cpython (rsync.Sender), cpython-cpython (execnet's RSync, the
// baseline) and cpython-go (execnet's RSync to the Go worker). For the
// large tree it also measures the raw pipe as bench does for bulk
// transfers: a child process writes the same bytes to a pipe in 1 MiB
// writes, the faster of a blocking and a poller pipe.
//
// The pairs are measured in rounds, one copy of each per round in a
// rotating order (3 rounds per b.N), and each figure is the median over
// the rounds: on a machine shared with other work, measuring one pair
// after the other puts each under a different load, and the ratios of a
// run swung from 0.8x to 3x between runs minutes apart. It reports, per
// tree, each pair's MB/s and files/s and the ratios of this run: each
// pair against cpython-cpython ("/py-py") and, for the large tree, go-go
// against the raw pipe ("go-go/pipe"). It checks after the last copy of
// each pair that the destination equals the source (content, modes,
// links). One round of the large tree moves 4 x 150 MiB.
func BenchmarkRsync(b *testing.B) {
	py := peers.CPython(b)
	dir := b.TempDir()
	pairs := []string{"go-go", "go-cpython", "cpython-cpython", "cpython-go"}
	for _, kind := range []string{"small", "large"} {
		src, files, size := benchTree(b, dir, kind)
		b.Run(kind, func(b *testing.B) {
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
			defer cancel()
			gws := map[string]*gateway.Gateway{}
			for _, pair := range pairs {
				if strings.HasPrefix(pair, "go-") {
					g, err := gateway.Open(ctx, workerSpec(pair, py))
					if err != nil {
						b.Fatal(err)
					}
					defer g.Exit(context.Background())
					gws[pair] = g
				}
			}
			secs := map[string][]float64{}
			var pipe []float64
			rounds := 3 * b.N
			for r := range rounds {
				for i := range pairs {
					pair := pairs[(i+r)%len(pairs)]
					dest := filepath.Join(dir, "dst-"+kind+"-"+pair)
					var t float64
					if g := gws[pair]; g != nil {
						t = goRsync(b, ctx, g, src, dest)
					} else {
						t = pyRsync(b, py, src, dest, workerSpec(pair, py))
					}
					secs[pair] = append(secs[pair], t)
				}
				if kind == "large" {
					pipe = append(pipe, rawPipeMBps(b, ctx, size))
				}
			}
			mbps := map[string]float64{}
			for _, pair := range pairs {
				m := float64(size) / median(secs[pair]) / 1e6
				mbps[pair] = m
				b.ReportMetric(m, pair+"-MB/s")
				b.ReportMetric(float64(files)/median(secs[pair]), pair+"-files/s")
			}
			for _, pair := range pairs {
				if pair != "cpython-cpython" {
					b.ReportMetric(mbps[pair]/mbps["cpython-cpython"], pair+"/py-py")
				}
			}
			if kind == "large" {
				b.ReportMetric(median(pipe), "pipe-MB/s")
				b.ReportMetric(mbps["go-go"]/median(pipe), "go-go/pipe")
			}
			b.ReportMetric(0, "ns/op")
			want := snapshotTree(b, src)
			for _, pair := range pairs {
				got := snapshotTree(b, filepath.Join(dir, "dst-"+kind+"-"+pair))
				if len(want) != len(got) {
					b.Fatalf("%s: %d entries copied, want %d", pair, len(got), len(want))
				}
				for rel, w := range want {
					if g := got[rel]; g.mode != w.mode || g.data != w.data {
						b.Fatalf("%s: %s differs: %v against %v", pair, rel, g.mode, w.mode)
					}
				}
			}
		})
	}
}

// workerSpec is the xspec of the worker of pair.
func workerSpec(pair, py string) string {
	if strings.HasSuffix(pair, "-cpython") {
		return "popen//python=" + py
	}
	return "popen//python=" + workerBin + " worker"
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

// rawPipeMBps measures the raw pipe as bench does for bulk transfers of
// items of 1 MiB and more, for size bytes: the faster of a blocking and
// a poller pipe.
func rawPipeMBps(b *testing.B, ctx context.Context, size int64) float64 {
	const chunk = 1 << 20
	src := []string{workerBin, "bench-pipe-source"}
	best := 0.0
	for _, poller := range []bool{false, true} {
		mibps, _, err := bench.RawPipe(ctx, src, int(size/chunk), chunk, poller)
		if err != nil {
			b.Fatal(err)
		}
		best = max(best, mibps*(1<<20)/1e6)
	}
	return best
}

// goRsync copies src to a fresh dest through g and returns the seconds
// Send took.
func goRsync(b *testing.B, ctx context.Context, g *gateway.Gateway, src, dest string) float64 {
	_ = os.RemoveAll(dest)
	s := rsync.NewSender(src)
	if err := s.AddTarget(ctx, g, dest, false); err != nil {
		b.Fatal(err)
	}
	t0 := time.Now()
	if err := s.Send(ctx); err != nil {
		b.Fatal(err)
	}
	return time.Since(t0).Seconds()
}

// pyRsync copies src to a fresh dest with execnet's RSync from a Python
// master (testdata/rsync_bench.py) and returns the seconds send() took.
func pyRsync(b *testing.B, py, src, dest, spec string) float64 {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, "testdata/rsync_bench.py", src, dest, spec, "1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		b.Fatalf("rsync_bench.py: %v\n%s", err, out)
	}
	f := strings.Fields(string(out))
	if len(f) < 2 || f[len(f)-2] != "seconds" {
		b.Fatalf("rsync_bench.py printed %q", out)
	}
	secs, err := strconv.ParseFloat(f[len(f)-1], 64)
	if err != nil {
		b.Fatal(err)
	}
	return secs
}
