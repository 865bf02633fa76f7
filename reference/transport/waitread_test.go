//go:build unix

package transport

import (
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"runtime"
	"testing"
	"time"
)

func newTestWaitFile(t *testing.T) (*WaitFile, *os.File) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	wf, err := NewWaitFile(r)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { wf.Close(); w.Close() })
	return wf, w
}

// TestWaitFileTimeoutLeavesStream: a wait that ends without input reads
// nothing, and the next read gets every byte written afterwards.
func TestWaitFileTimeoutLeavesStream(t *testing.T) {
	wf, w := newTestWaitFile(t)
	buf := make([]byte, 16)
	if n, err := wf.ReadWait(buf, 5*time.Millisecond); n != 0 || !errors.Is(err, ErrWaitTimeout) {
		t.Fatalf("ReadWait on an empty pipe = %d, %v; want 0, ErrWaitTimeout", n, err)
	}
	if _, err := w.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	n, err := wf.ReadWait(buf, time.Second)
	if err != nil || string(buf[:n]) != "hello" {
		t.Fatalf("ReadWait = %q, %v; want \"hello\"", buf[:n], err)
	}
	w.Close()
	if n, err := wf.Read(buf); n != 0 || err != io.EOF {
		t.Fatalf("Read after the writer closed = %d, %v; want 0, EOF", n, err)
	}
}

// TestWaitFileCloseEndsRead: Close from another goroutine ends a Read
// that is waiting for input, with os.ErrClosed.
func TestWaitFileCloseEndsRead(t *testing.T) {
	wf, _ := newTestWaitFile(t)
	done := make(chan error, 1)
	go func() {
		_, err := wf.Read(make([]byte, 8))
		done <- err
	}()
	time.Sleep(30 * time.Millisecond) // let Read start waiting
	if err := wf.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, os.ErrClosed) {
			t.Fatalf("Read after Close = %v; want os.ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Read still waiting 5s after Close")
	}
}

// TestWaitFileSpinAdapts: a wait much longer than the spin window turns
// spinning off for the next wait; a quick one turns it back on.
//
// The window is 10ms and the slow answer comes after 200ms, so that
// neither verdict depends on the scheduler: under -race on a loaded
// machine a read of a byte already there can take over 100us, and the
// test goroutine can start its read only after a 20ms sleep has ended.
func TestWaitFileSpinAdapts(t *testing.T) {
	wf, w := newTestWaitFile(t)
	wf.SetSpin(10 * time.Millisecond)
	if !wf.spinning {
		t.Fatal("SetSpin(10ms) left spinning off")
	}
	go func() {
		time.Sleep(200 * time.Millisecond)
		w.Write([]byte("x"))
	}()
	buf := make([]byte, 4)
	if _, err := wf.ReadWait(buf, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if wf.spinning {
		t.Fatal("spinning still on after a 200ms wait")
	}
	w.Write([]byte("y")) // already there: the next wait ends at once
	if _, err := wf.ReadWait(buf, time.Second); err != nil {
		t.Fatal(err)
	}
	if !wf.spinning {
		t.Fatal("spinning still off after a wait that ended at once")
	}
	wf.SetSpin(0)
	if wf.spinning {
		t.Fatal("SetSpin(0) left spinning on")
	}
}

// TestWaitFileClosesOriginal: the file a WaitFile takes over is closed.
func TestWaitFileClosesOriginal(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	wf, err := NewWaitFile(r)
	if err != nil {
		t.Fatal(err)
	}
	defer wf.Close()
	if _, err := r.Read(make([]byte, 1)); !errors.Is(err, os.ErrClosed) {
		t.Fatalf("reading the original file = %v; want os.ErrClosed", err)
	}
}

// spinChildEnv marks the child process of TestWaitFileSpinYields.
const spinChildEnv = "EXECNET_CONFORM_SPIN_YIELD_CHILD"

// TestWaitFileSpinYields: a spinning read lets a runnable goroutine run.
// The child process has one P, as the Go worker does. A goroutine that
// will write a byte is runnable when the read starts spinning: with the
// spin loop's yield it runs at the first one, and the read gets the byte
// within a few attempts; without it, it runs only when the runtime
// preempts the spinning reader, thousands of attempts later.
func TestWaitFileSpinYields(t *testing.T) {
	if os.Getenv(spinChildEnv) == "1" {
		runtime.GOMAXPROCS(1)
		wf, w := newTestWaitFile(t)
		wf.SetSpin(time.Hour)
		go func() { _, _ = w.Write([]byte{'y'}) }()
		buf := make([]byte, 1)
		if n, err := wf.ReadWait(buf, time.Hour); n != 1 || err != nil || buf[0] != 'y' {
			t.Fatalf("ReadWait = %d, %v (%q); want the writer's byte", n, err, buf[:n])
		}
		if wf.spun > 10 {
			t.Fatalf("the read spun %d times before the runnable writer ran, want a few: the spin does not yield", wf.spun)
		}
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestWaitFileSpinYields$", "-test.count=1")
	cmd.Env = append(os.Environ(), spinChildEnv+"=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
}

// TestWaitFileSpinEndsAfterTimeout: a wait that times out after spinning
// its whole window ends spinning, so a caller that waits in slices for a
// silent peer (a Receive, the receiver goroutine) does not spin a window
// per slice; an answer within the window turns spinning back on. Before
// the fix only a wait that got input updated the state, and a Go master
// waiting for a silent worker spun 50 us every 20 ms slice for the whole
// wait.
func TestWaitFileSpinEndsAfterTimeout(t *testing.T) {
	wf, w := newTestWaitFile(t)
	wf.SetSpin(time.Millisecond)
	buf := make([]byte, 1)
	if _, err := wf.ReadWait(buf, 5*time.Millisecond); err != ErrWaitTimeout {
		t.Fatalf("first wait: %v, want ErrWaitTimeout", err)
	}
	if wf.spun == 0 {
		t.Fatal("first wait did not spin: the test proves nothing")
	}
	for i := range 3 {
		if _, err := wf.ReadWait(buf, 5*time.Millisecond); err != ErrWaitTimeout {
			t.Fatalf("wait %d: %v, want ErrWaitTimeout", i, err)
		}
		if wf.spun != 0 {
			t.Fatalf("wait %d after a timed-out wait spun %d times, want 0", i, wf.spun)
		}
	}
	// A fast answer: the byte is there before the wait begins.
	if _, err := w.Write([]byte{'a'}); err != nil {
		t.Fatal(err)
	}
	if n, err := wf.ReadWait(buf, time.Second); n != 1 || err != nil {
		t.Fatalf("read: %d, %v", n, err)
	}
	if _, err := w.Write([]byte{'b'}); err != nil {
		t.Fatal(err)
	}
	if n, err := wf.ReadWait(buf, time.Second); n != 1 || err != nil || wf.spun == 0 {
		t.Fatalf("read after a fast answer: %d, %v, spun %d; want spinning back on", n, err, wf.spun)
	}
}
