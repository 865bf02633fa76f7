//go:build unix

package transport

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/execnet-conform/execnet-conform/internal/peers"
)

// pidGone checks that pid no longer runs (a zombie left for an init that
// does not reap counts as gone: it runs no code).
func pidGone(t *testing.T, pid int) {
	t.Helper()
	if pid <= 0 {
		t.Fatalf("bad pid %d", pid)
	}
	for i := 0; i < 100; i++ {
		err := syscall.Kill(pid, 0)
		if errors.Is(err, syscall.ESRCH) {
			return
		}
		if b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat"); err == nil {
			if f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:])); len(f) > 0 && f[0] == "Z" {
				return
			}
		}
		time.Sleep(20 * time.Millisecond) // a killed child may need a moment to die
	}
	t.Fatalf("process %d still runs", pid)
}

// script writes an executable shell script that stands in for an
// interpreter; it ignores the -u -c ... arguments.
func script(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "fake-python")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func bootErr(t *testing.T, err error, class error) *BootstrapError {
	t.Helper()
	var be *BootstrapError
	if !errors.As(err, &be) || !errors.Is(err, class) {
		t.Fatalf("got %v, want a *BootstrapError of class %v", err, class)
	}
	if be.Pid != 0 {
		pidGone(t, be.Pid)
	}
	return be
}

// childPid reads the pid a fake interpreter printed on stderr as "child=N".
func childPid(t *testing.T, stderr string) int {
	t.Helper()
	i := strings.Index(stderr, "child=")
	if i < 0 {
		t.Fatalf("no child pid in stderr %q", stderr)
	}
	n, err := strconv.Atoi(strings.Fields(stderr[i+6:])[0])
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func open(t *testing.T, spec string, opts Options) (Conn, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := Open(ctx, mustParse(t, spec), opts)
	if err == nil {
		t.Cleanup(func() {
			c.Close()
			if p := c.Process(); p != nil {
				_ = p.Kill()
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				if _, err := p.Wait(ctx); err != nil {
					t.Errorf("worker %d not reaped: %v", p.Pid(), err)
				}
			}
		})
	}
	return c, err
}

func TestBootstrapInterpreterMissing(t *testing.T) {
	t.Parallel()
	_, err := open(t, "popen//python=/nonexistent/dir/python3", Options{Style: StyleImport})
	be := bootErr(t, err, ErrInterpreterNotFound)
	if !errors.Is(err, fs.ErrNotExist) || be.Pid != 0 {
		t.Fatalf("want ENOENT and no pid: %v", err)
	}
	_, err = open(t, "popen//python=no-such-python-xc9 -X dev", Options{Style: StyleImport})
	bootErr(t, err, ErrInterpreterNotFound)
	if !errors.Is(err, exec.ErrNotFound) || !strings.Contains(err.Error(), "no-such-python-xc9") {
		t.Fatalf("want exec.ErrNotFound naming the program: %v", err)
	}
	// A directory is not executable.
	_, err = open(t, "popen//python="+t.TempDir(), Options{Style: StyleImport})
	bootErr(t, err, ErrInterpreterNotFound)
}

func TestBootstrapGarbage(t *testing.T) {
	t.Parallel()
	py := script(t, "sleep 30 &\necho child=$! >&2\necho 'garbage before the ready byte'\nwait")
	_, err := open(t, "popen//python="+py, Options{Style: StyleImport})
	be := bootErr(t, err, ErrBadReadyByte)
	if string(be.Received) != "garbage before the ready byte\n" {
		t.Fatalf("received %q", be.Received)
	}
	if be.Exit == nil || be.Exit.Signal != "SIGKILL" {
		t.Fatalf("exit %v: want killed", be.Exit)
	}
	pidGone(t, childPid(t, be.Stderr)) // the whole group was killed
	if !strings.Contains(err.Error(), "garbage before") {
		t.Fatalf("message does not quote the bytes: %v", err)
	}
}

func TestBootstrapGarbageViaShellSplit(t *testing.T) {
	t.Parallel()
	// python= holds a shell command line; the -u -c ... words become $0...
	_, err := open(t, `popen//python=/bin/sh -c 'echo garbage; sleep 30'`, Options{Style: StyleImport})
	be := bootErr(t, err, ErrBadReadyByte)
	if string(be.Received) != "garbage\n" {
		t.Fatalf("received %q", be.Received)
	}
}

func TestBootstrapTimeout(t *testing.T) {
	t.Parallel()
	py := script(t, "sleep 30 &\necho child=$! >&2\nwait")
	_, err := open(t, "popen//python="+py, Options{Style: StyleImport, BootstrapTimeout: 300 * time.Millisecond})
	be := bootErr(t, err, ErrBootstrapTimeout)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("want DeadlineExceeded: %v", err)
	}
	pidGone(t, childPid(t, be.Stderr))
}

func TestBootstrapTimeoutUnreadLine(t *testing.T) {
	t.Parallel()
	// The exec-style line (about 60 KB) does not fit a pipe buffer when
	// the worker never reads it: the write itself must time out.
	py := script(t, "exec sleep 30")
	_, err := open(t, "popen//python="+py, Options{Style: StyleExec, BootstrapTimeout: 300 * time.Millisecond,
		GatewayBaseSource: strings.Repeat("# padding line\n", 20000)})
	bootErr(t, err, ErrBootstrapTimeout)
}

func TestBootstrapCanceled(t *testing.T) {
	t.Parallel()
	py := script(t, "exec sleep 30")
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	_, err := Open(ctx, mustParse(t, "popen//python="+py), Options{Style: StyleImport})
	bootErr(t, err, ErrBootstrapCanceled)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("want context.Canceled: %v", err)
	}
}

func TestBootstrapWorkerExits(t *testing.T) {
	t.Parallel()
	py := script(t, "echo 'fake interpreter gives up' >&2\nexit 3")
	_, err := open(t, "popen//python="+py, Options{Style: StyleImport})
	be := bootErr(t, err, ErrWorkerExited)
	if be.Exit == nil || be.Exit.Code != 3 || !strings.Contains(be.Stderr, "fake interpreter gives up") {
		t.Fatalf("exit %v stderr %q", be.Exit, be.Stderr)
	}
	if !strings.Contains(err.Error(), "exit status 3") || !strings.Contains(err.Error(), "gives up") {
		t.Fatalf("message: %v", err)
	}
}

// TestImportStyleNeedsExecnet runs a real interpreter with -S, so that it
// cannot import execnet: import style fails with Python's own message,
// exec style works because the master ships gateway_base.py.
func TestImportStyleNeedsExecnet(t *testing.T) {
	for name, py := range peers.Interpreters(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := open(t, "popen//python="+py+" -S", Options{Style: StyleImport})
			be := bootErr(t, err, ErrWorkerExited)
			if be.Exit == nil || be.Exit.Code != 1 || !strings.Contains(be.Stderr, "No module named") {
				t.Fatalf("exit %v stderr %q", be.Exit, be.Stderr)
			}
			c, err := open(t, "popen//python="+py+" -S", Options{})
			if err != nil {
				t.Fatal(err)
			}
			exchange(t, c)
		})
	}
}

func TestProcessTerminateKill(t *testing.T) {
	t.Parallel()
	py := peers.CPython(t)
	for _, kill := range []bool{false, true} {
		c, err := open(t, "popen//python="+py, Options{Style: StyleImport})
		if err != nil {
			t.Fatal(err)
		}
		p := c.Process()
		want := "SIGTERM"
		if kill {
			want = "SIGKILL"
			err = p.Kill()
		} else {
			err = p.Terminate()
		}
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		st, err := p.Wait(ctx)
		cancel()
		if err != nil || st.Code != -1 || st.Signal != want {
			t.Fatalf("status %v %v, want %s", st, err, want)
		}
		pidGone(t, p.Pid())
		if err := p.Kill(); err != nil { // already gone: no error
			t.Fatal(err)
		}
		c.Close()
	}
}

func TestWaitHonoursContext(t *testing.T) {
	t.Parallel()
	c, err := open(t, "popen//python="+peers.CPython(t), Options{Style: StyleImport})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := c.Process().Wait(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Wait on a live worker: %v", err)
	}
	// Concurrent Waits all see the exit after CloseWrite (EOF ends serve).
	c.CloseWrite()
	errs := make(chan error, 3)
	for i := 0; i < 3; i++ {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			st, err := c.Process().Wait(ctx)
			if err == nil && st.Code != 0 {
				err = errors.New("exit " + st.String())
			}
			errs <- err
		}()
	}
	for i := 0; i < 3; i++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

func TestStderrTailAndSink(t *testing.T) {
	t.Parallel()
	// 2000 numbered lines, about 11 KB, then exit 5.
	py := script(t, "i=0; while [ $i -lt 2000 ]; do echo \"line $i\" >&2; i=$((i+1)); done; exit 5")
	var sink strings.Builder
	_, err := open(t, "popen//python="+py, Options{Style: StyleImport, Stderr: &lockedWriter{w: &sink}})
	be := bootErr(t, err, ErrWorkerExited)
	all := sink.String()
	if !strings.HasPrefix(all, "line 0\n") || !strings.HasSuffix(all, "line 1999\n") || strings.Count(all, "\n") != 2000 {
		t.Fatalf("sink got %d bytes, %d lines", len(all), strings.Count(all, "\n"))
	}
	if len(be.Stderr) != stderrTailSize || !strings.HasSuffix(all, be.Stderr) {
		t.Fatalf("tail has %d bytes, want the last %d", len(be.Stderr), stderrTailSize)
	}
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
