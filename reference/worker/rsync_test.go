package worker_test

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/execnet-conform/execnet-conform/internal/peers"
	"github.com/execnet-conform/execnet-conform/reference/gateway"
	"github.com/execnet-conform/execnet-conform/reference/rsync"
	"github.com/execnet-conform/execnet-conform/reference/worker"
)

// TestRsyncPythonMaster copies a tree with execnet's own RSync (every
// release found) to the Go worker and to a Python worker at once: 300
// small files in subdirectories, a 3 MiB file, an empty, an executable
// and a read-only file, a read-only directory, and symlinks relative,
// absolute into the tree and outside it. The Go worker's copy must equal
// the source in content, modes, mtimes and links; the callbacks must
// count every file; a second copy with delete=True must send only the
// changed file and remove what the source does not have (SPEC.md 12.10).
func TestRsyncPythonMaster(t *testing.T) {
	for _, r := range peers.Releases(t) {
		t.Run(r.Name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			t.Cleanup(func() { makeWritable(dir) })
			runMasterScript(t, r, []string{"send", "identical", "python-target", "callbacks", "update-delete"}, "testdata/rsync_master.py", workerBin+" worker", dir)
		})
	}
}

// makeWritable lets t.TempDir's cleanup remove read-only directories.
func makeWritable(dir string) {
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			_ = os.Chmod(p, 0o755)
		}
		return nil
	})
}

// TestIsRsyncSource checks the recognition rule against the
// rsync_remote.py of every execnet release on this machine.
func TestIsRsyncSource(t *testing.T) {
	srcs := execnetSources("rsync_remote.py")
	seen := len(srcs)
	for _, f := range slices.Sorted(maps.Keys(srcs)) {
		b := srcs[f]
		if !worker.IsRsyncSource(string(b)) {
			t.Errorf("%s is not recognised as the rsync receiver", f)
		}
		if worker.IsIOProxySource(string(b)) {
			t.Errorf("%s is taken for the io-proxy", f)
		}
	}
	if seen == 0 {
		peers.Missing(t, "an execnet rsync_remote.py")
	}
}

// makeTree writes a test tree below dir/src and returns its path.
func makeTree(t testing.TB, dir string, small int, big int) string {
	t.Helper()
	src := filepath.Join(dir, "src")
	write := func(rel string, data []byte, mode os.FileMode) {
		p := filepath.Join(src, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
	}
	for i := range small {
		write(fmt.Sprintf("small/d%d/f%04d.txt", i%7, i), bytes.Repeat([]byte(fmt.Sprintf("file %d\n", i)), i%5+1), 0o644)
	}
	rnd := make([]byte, big)
	for i := range rnd {
		rnd[i] = byte(i*7 + i>>9)
	}
	write("big.bin", rnd, 0o644)
	write("empty", nil, 0o644)
	write("bin/tool", []byte("#!/bin/sh\necho hi\n"), 0o755)
	write("readonly.txt", []byte("do not touch\n"), 0o444)
	write("ro-dir/inner", []byte("inner\n"), 0o644)
	for name, target := range map[string]string{
		"link-rel": "big.bin", "link-inside": filepath.Join(src, "bin", "tool"), "link-outside": "/etc/hostname",
	} {
		if err := os.Symlink(target, filepath.Join(src, name)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(filepath.Join(src, "ro-dir"), 0o555); err != nil {
		t.Fatal(err)
	}
	return src
}

type entry struct {
	mode  fs.FileMode
	data  string
	mtime time.Time
}

// snapshotTree maps relative paths to kind, mode, content (or link text,
// with root replaced) and mtime for files.
func snapshotTree(t testing.TB, root string) map[string]entry {
	t.Helper()
	out := map[string]entry{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == root {
			return nil
		}
		rel, _ := filepath.Rel(root, p)
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		e := entry{mode: fi.Mode()}
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			l, _ := os.Readlink(p)
			e.data = strings.Replace(l, root, "<root>", 1)
		case fi.Mode().IsRegular():
			b, _ := os.ReadFile(p)
			e.data, e.mtime = string(b), fi.ModTime()
		}
		out[rel] = e
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func compareTrees(t *testing.T, name string, want, got map[string]entry, dirModes bool) {
	t.Helper()
	if len(want) != len(got) {
		t.Errorf("%s: %d entries, want %d", name, len(got), len(want))
	}
	for rel, w := range want {
		g, ok := got[rel]
		if !ok {
			t.Errorf("%s: %s missing", name, rel)
			continue
		}
		if w.mode.IsDir() && !dirModes {
			continue
		}
		// The protocol carries mtimes as float seconds: about 0.2 us
		// of resolution today.
		if d := g.mtime.Sub(w.mtime); g.mode != w.mode || g.data != w.data || d > time.Microsecond || d < -time.Microsecond {
			t.Errorf("%s: %s is %v %.40q %v, want %v %.40q %v", name, rel, g.mode, g.data, g.mtime, w.mode, w.data, w.mtime)
		}
	}
}

// TestRsyncGoMaster copies a tree from the Go master (rsync.Sender) to a
// Python execnet worker (running execnet's own rsync_remote.py) and to
// the Go worker at once, then again with delete=True after changes.
func TestRsyncGoMaster(t *testing.T) {
	py := peers.CPython(t)
	dir := t.TempDir()
	t.Cleanup(func() { makeWritable(dir) })
	src := makeTree(t, dir, 300, 3<<20)
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	gr := gateway.NewGroup()
	gws, err := gr.Open(ctx, "popen//id=py//python="+py, "popen//id=go//python="+workerBin+" worker")
	if err != nil {
		t.Fatal(err)
	}
	defer gr.Terminate(context.Background(), 5*time.Second)
	dests := []string{filepath.Join(dir, "dst-py"), filepath.Join(dir, "dst-go")}
	var mu sync.Mutex
	acks := map[int]int{}
	lists := map[int]int64{}
	send := func(delete bool) {
		t.Helper()
		s := rsync.NewSender(src, rsync.WithCallback(func(e rsync.Event) {
			mu.Lock()
			defer mu.Unlock()
			if e.Kind == "ack" {
				acks[e.Target]++
			} else {
				lists[e.Target] = e.Size
			}
		}))
		for i, g := range gws {
			if err := s.AddTarget(ctx, g, dests[i], delete); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Send(ctx); err != nil {
			t.Fatal(err)
		}
	}
	send(false)
	if runtime.GOOS == "linux" {
		// The 3 MiB file went from the file to each worker's pipe by
		// splice (gateway.Channel.SendFile), the Python one included.
		for i, g := range gws {
			if sent, _ := g.ZeroCopyStats(); sent < 3<<20 {
				t.Errorf("target %d: %d bytes spliced, want the large file's %d", i, sent, 3<<20)
			}
		}
	}
	want := snapshotTree(t, src)
	files := 0
	var total int64
	for _, e := range want {
		if e.mode.IsRegular() {
			files++
			total += int64(len(e.data))
		}
	}
	compareTrees(t, "go worker", want, snapshotTree(t, dests[1]), true)
	compareTrees(t, "python worker", want, snapshotTree(t, dests[0]), false)
	if acks[0] != files || acks[1] != files || lists[0] != total || lists[1] != total {
		t.Errorf("callbacks: acks %v lists %v, want %d acks and %d bytes each", acks, lists, files, total)
	}
	// Changes, extras, and a copy with delete=True.
	for _, d := range dests {
		if err := os.WriteFile(filepath.Join(d, "small", "extra"), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(src, "small", "d0", "f0000.txt"), []byte("changed\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	clear(acks)
	send(true)
	want = snapshotTree(t, src)
	compareTrees(t, "go worker, second copy", want, snapshotTree(t, dests[1]), true)
	compareTrees(t, "python worker, second copy", want, snapshotTree(t, dests[0]), false)
	if acks[0] != 1 || acks[1] != 1 {
		t.Errorf("second copy: acks %v, want one changed file per target", acks)
	}
}

// TestRsyncProfileCases runs the rsync profile's conformance cases
// against the Go worker, and checks that without the claim they are not
// selected.
func TestRsyncProfileCases(t *testing.T) {
	checkProfileCases(t, "rsync", 7)
}
