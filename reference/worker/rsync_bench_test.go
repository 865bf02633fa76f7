package worker_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

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

// BenchmarkRsync copies a tree of many small files and one of a few large
// files through each master/worker pairing, in one run: go-go and
// go-cpython (rsync.Sender), cpython-cpython (execnet's RSync, the
// baseline) and cpython-go (execnet's RSync to the Go worker). It reports
// MB/s and files/s, and checks after the last copy that the destination
// equals the source (content, modes, links). Run with -benchtime 1x or 3x:
// one copy of the large tree moves 150 MiB.
func BenchmarkRsync(b *testing.B) {
	py := peers.CPython(b)
	dir := b.TempDir()
	for _, kind := range []string{"small", "large"} {
		src, files, size := benchTree(b, dir, kind)
		for _, pair := range []string{"go-go", "go-cpython", "cpython-cpython", "cpython-go"} {
			b.Run(kind+"/"+pair, func(b *testing.B) {
				dest := filepath.Join(dir, "dst-"+kind+"-"+pair)
				workerSpec := "popen//python=" + workerBin + " worker"
				if strings.HasSuffix(pair, "-cpython") {
					workerSpec = "popen//python=" + py
				}
				var secs float64
				if strings.HasPrefix(pair, "go-") {
					secs = goRsync(b, src, dest, workerSpec)
				} else {
					secs = pyRsync(b, py, src, dest, workerSpec)
				}
				b.ReportMetric(float64(size)*float64(b.N)/secs/1e6, "MB/s")
				b.ReportMetric(float64(files)*float64(b.N)/secs, "files/s")
				b.ReportMetric(0, "ns/op")
				want, got := snapshotTree(b, src), snapshotTree(b, dest)
				if len(want) != len(got) {
					b.Fatalf("%d entries copied, want %d", len(got), len(want))
				}
				for rel, w := range want {
					if g := got[rel]; g.mode != w.mode || g.data != w.data {
						b.Fatalf("%s differs: %v against %v", rel, g.mode, w.mode)
					}
				}
			})
		}
	}
}

func goRsync(b *testing.B, src, dest, spec string) float64 {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	g, err := gateway.Open(ctx, spec)
	if err != nil {
		b.Fatal(err)
	}
	defer g.Exit(context.Background())
	var total time.Duration
	for range b.N {
		_ = os.RemoveAll(dest)
		s := rsync.NewSender(src)
		if err := s.AddTarget(ctx, g, dest, false); err != nil {
			b.Fatal(err)
		}
		t0 := time.Now()
		if err := s.Send(ctx); err != nil {
			b.Fatal(err)
		}
		total += time.Since(t0)
	}
	return total.Seconds()
}

func pyRsync(b *testing.B, py, src, dest, spec string) float64 {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, "testdata/rsync_bench.py", src, dest, spec, strconv.Itoa(b.N))
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
