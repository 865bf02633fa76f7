package rsync_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/execnet-conform/execnet-conform/reference/gateway"
	"github.com/execnet-conform/execnet-conform/reference/rsync"
	"github.com/execnet-conform/execnet-conform/reference/transport"
)

// plainConn is a connection without the zero-copy paths: it hides
// transport.FileSender and FileReceiver.
type plainConn struct{ c transport.Conn }

func (c plainConn) Read(p []byte) (int, error)  { return c.c.Read(p) }
func (c plainConn) Write(p []byte) (int, error) { return c.c.Write(p) }
func (c plainConn) CloseWrite() error           { return c.c.CloseWrite() }
func (c plainConn) Process() transport.Process  { return nil }
func (c plainConn) Close() error                { return c.c.Close() }

// gatewayPair returns a master gateway whose worker, in this process,
// serves every execution with rsync.Receive, the worker gateway, and the
// errors of those Receive calls. The connections are two pipes, with the
// zero-copy paths (transport.NewPipeConn) or without; wrapMaster, when
// not nil, wraps the master's.
func gatewayPair(t *testing.T, zeroCopy bool, wrapMaster func(transport.Conn) transport.Conn) (m, w *gateway.Gateway, received <-chan error) {
	t.Helper()
	r1, w1, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	r2, w2, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	mc, err := transport.NewPipeConn(r2, w1)
	if err != nil {
		t.Fatal(err)
	}
	wc, err := transport.NewPipeConn(r1, w2)
	if err != nil {
		t.Fatal(err)
	}
	if !zeroCopy {
		mc, wc = plainConn{mc}, plainConn{wc}
	}
	if wrapMaster != nil {
		mc = wrapMaster(mc)
	}
	results := make(chan error, 8)
	w = gateway.New(wc, gateway.Worker, gateway.WithExecGrace(time.Second),
		gateway.WithExecutor(gateway.ExecutorFunc(func(ctx context.Context, ch *gateway.Channel, e gateway.Exec) error {
			err := rsync.Receive(ctx, ch)
			select {
			case results <- err:
			default:
			}
			return err
		})))
	m = gateway.New(mc, gateway.Master, gateway.WithExitGrace(time.Second))
	served := make(chan error, 1)
	go func() { served <- w.Serve(context.Background()) }()
	t.Cleanup(func() {
		m.Exit(context.Background())
		select {
		case <-served:
		case <-time.After(10 * time.Second):
			t.Error("worker Serve did not return")
		}
		wc.Close()
		mc.Close()
	})
	return m, w, results
}

type entry struct {
	mode fs.FileMode
	data string
}

func snapshot(t *testing.T, root string) map[string]entry {
	t.Helper()
	out := map[string]entry{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		e := entry{mode: fi.Mode()}
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			e.data, err = os.Readlink(p)
		case fi.Mode().IsRegular():
			var b []byte
			b, err = os.ReadFile(p)
			e.data = string(b)
		}
		out[rel] = e
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func sameTree(t *testing.T, name, src, dst string) {
	t.Helper()
	want, got := snapshot(t, src), snapshot(t, dst)
	if len(want) != len(got) {
		t.Errorf("%s: %d entries, want %d", name, len(got), len(want))
	}
	for rel, w := range want {
		if g, ok := got[rel]; !ok || g.mode != w.mode || g.data != w.data {
			t.Errorf("%s: %s is %v (%d bytes), want %v (%d bytes)", name, rel, g.mode, len(g.data), w.mode, len(w.data))
		}
	}
}

func writeFile(t *testing.T, path string, size int, seed byte, mode fs.FileMode) int64 {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, size)
	for i := range b {
		b[i] = byte(i*7) ^ seed ^ byte(i>>11)
	}
	if err := os.WriteFile(path, b, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
	return int64(size)
}

// TestZeroCopyTransfer copies a tree with large and small files between
// two gateways in this process, with and without the zero-copy paths,
// and checks that the trees are identical, that the large files took the
// zero-copy paths on both sides (and only where they could), and that a
// second copy of changed files (a checksum request, a read-only file to
// replace) is right too.
func TestZeroCopyTransfer(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("zero-copy file paths exist on Linux only")
	}
	for _, zc := range []bool{true, false} {
		t.Run(fmt.Sprint("zero-copy=", zc), func(t *testing.T) {
			dir := t.TempDir()
			src := filepath.Join(dir, "src")
			var large int64
			large += writeFile(t, filepath.Join(src, "big", "a.bin"), 1<<20+1, 1, 0o755)
			large += writeFile(t, filepath.Join(src, "big", "b.bin"), 600<<10, 2, 0o640)
			large += writeFile(t, filepath.Join(src, "c.bin"), 2<<20, 3, 0o644)
			for i := range 40 {
				writeFile(t, filepath.Join(src, "small", fmt.Sprintf("f%02d", i)), 100+i, byte(i), 0o644)
			}
			if err := os.Symlink("c.bin", filepath.Join(src, "link")); err != nil {
				t.Fatal(err)
			}
			dest := filepath.Join(dir, "dst")
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			m, w, _ := gatewayPair(t, zc, nil)
			send := func() {
				t.Helper()
				s := rsync.NewSender(src, rsync.WithReceiverSource("def serve_rsync(channel): pass\nserve_rsync(channel)\n"))
				if err := s.AddTarget(ctx, m, dest, false); err != nil {
					t.Fatal(err)
				}
				if err := s.Send(ctx); err != nil {
					t.Fatal(err)
				}
			}
			send()
			sameTree(t, "first copy", src, dest)
			sent, _ := m.ZeroCopyStats()
			_, recv := w.ZeroCopyStats()
			if zc && (sent != large || recv != large) || !zc && (sent != 0 || recv != 0) {
				t.Errorf("zero-copy bytes: sent %d, received %d (large files: %d)", sent, recv, large)
			}
			// c.bin changes within its size (the receiver asks with a
			// checksum: read, not spliced); a.bin grows and is read-only
			// at the destination (replaced in place).
			time.Sleep(10 * time.Millisecond)
			writeFile(t, filepath.Join(src, "c.bin"), 2<<20, 9, 0o644)
			writeFile(t, filepath.Join(src, "big", "a.bin"), 1<<20+9, 4, 0o755)
			if err := os.Chmod(filepath.Join(dest, "big", "a.bin"), 0o444); err != nil {
				t.Fatal(err)
			}
			send()
			sameTree(t, "second copy", src, dest)
			sent2, _ := m.ZeroCopyStats()
			_, recv2 := w.ZeroCopyStats()
			// c.bin is read by the sender (it must hash it), but the
			// receiver writes it from the stream to the file all the same.
			if zc && (sent2-sent != 1<<20+9 || recv2-recv != 1<<20+9+2<<20) || !zc && (sent2 != 0 || recv2 != 0) {
				t.Errorf("second copy, zero-copy bytes: sent %d, received %d; want a.bin's %d sent, and c.bin's too received",
					sent2-sent, recv2-recv, 1<<20+9)
			}
		})
	}
}

// cutConn is a connection whose sending half ends after limit bytes, as
// a transfer does when the master dies: the worker's stream ends inside a
// frame.
type cutConn struct {
	transport.Conn
	mu    sync.Mutex
	limit int64
}

// take returns how many of n bytes may still go.
func (c *cutConn) take(n int64) int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := min(n, c.limit)
	c.limit -= k
	return k
}

func (c *cutConn) Write(p []byte) (int, error) {
	k := c.take(int64(len(p)))
	n, err := c.Conn.Write(p[:k])
	if err == nil && k < int64(len(p)) {
		c.Conn.CloseWrite()
		err = io.ErrClosedPipe
	}
	return n, err
}

// cutFileConn is a cutConn over a connection that sends files itself
// (transport.FileSender), cut at the same limit.
type cutFileConn struct{ *cutConn }

func (c cutFileConn) SendFile(f *os.File, off, n int64) (int64, error) {
	k := c.take(n)
	done, err := c.Conn.(transport.FileSender).SendFile(f, off, k)
	if err == nil && k < n {
		c.Conn.CloseWrite()
		err = io.ErrClosedPipe
	}
	return done, err
}

// TestBrokenTransferKeepsOldFile: a transfer whose stream ends inside a
// large file's content leaves the destination's earlier version of that
// file as it was, and no temporary file beside it, on both paths (the
// gateway writing the file as it arrives, and the path through memory).
func TestBrokenTransferKeepsOldFile(t *testing.T) {
	for _, zc := range []bool{true, false} {
		t.Run(fmt.Sprint("zero-copy=", zc), func(t *testing.T) {
			dir := t.TempDir()
			src, dest := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
			writeFile(t, filepath.Join(src, "big.bin"), 3<<20, 1, 0o644)
			writeFile(t, filepath.Join(dest, "big.bin"), 1<<20, 2, 0o644)
			old, err := os.ReadFile(filepath.Join(dest, "big.bin"))
			if err != nil {
				t.Fatal(err)
			}
			// The structure and requests take a few hundred bytes; the
			// stream ends 1 MiB into the file's content.
			cut := func(c transport.Conn) transport.Conn {
				cc := &cutConn{Conn: c, limit: 1 << 20}
				if _, ok := c.(transport.FileSender); ok {
					return cutFileConn{cc}
				}
				return cc
			}
			m, w, received := gatewayPair(t, zc, cut)

			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			s := rsync.NewSender(src, rsync.WithReceiverSource("def serve_rsync(channel): pass\nserve_rsync(channel)\n"))
			if err := s.AddTarget(ctx, m, dest, false); err != nil {
				t.Fatal(err)
			}
			if err := s.Send(ctx); err == nil {
				t.Fatal("Send through a stream cut inside the file succeeded")
			}
			select {
			case err := <-received:
				if err == nil {
					t.Fatal("the receiver ended without an error")
				}
				t.Logf("receiver: %v", err)
			case <-ctx.Done():
				t.Fatal("the receiver did not end")
			}
			if zc {
				if _, got := w.ZeroCopyStats(); got != 0 {
					t.Errorf("%d bytes counted as received into files", got)
				}
			}
			entries, err := os.ReadDir(dest)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, e := range entries {
				names = append(names, e.Name())
			}
			if len(names) != 1 || names[0] != "big.bin" {
				t.Errorf("destination holds %q, want only big.bin", names)
			}
			if got, err := os.ReadFile(filepath.Join(dest, "big.bin")); err != nil || !bytes.Equal(got, old) {
				t.Errorf("big.bin changed: %d bytes (%v), want its old %d bytes", len(got), err, len(old))
			}
		})
	}
}
