package transport

import (
	"os"
	"syscall"
	"testing"
)

func pipeSize(t *testing.T, f *os.File) int {
	t.Helper()
	rc, err := f.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	size := -1
	_ = rc.Control(func(fd uintptr) {
		n, _, e := syscall.Syscall(syscall.SYS_FCNTL, fd, 1032 /* F_GETPIPE_SZ */, 0)
		if e == 0 {
			size = int(n)
		}
	})
	return size
}

func TestGrowPipe(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	before := pipeSize(t, r)
	if !GrowPipe(w, PipeSize) {
		t.Skipf("F_SETPIPE_SZ refused here (pipe-max-size below %d?)", PipeSize)
	}
	if got := pipeSize(t, r); got < PipeSize {
		t.Fatalf("pipe buffer %d bytes after GrowPipe (was %d), want at least %d", got, before, PipeSize)
	}
	f, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if GrowPipe(f, PipeSize) {
		t.Error("GrowPipe reported success on a file that is not a pipe")
	}
}
