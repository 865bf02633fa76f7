//go:build unix

package transport

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// WaitFile is the read end of a stream (a pipe, a terminal, a socket)
// kept out of Go's network poller. A descriptor in the poller makes every
// arrival of input wake the thread that waits in the poller, even when no
// goroutine waits for that input, which costs a thread wake-up per
// message when a goroutine reads the stream itself. A WaitFile's reads
// wait with poll(2) on the reading goroutine's own thread instead, in
// slices of at most waitSlice (500 ms), so that Close ends a pending
// Read within a slice. Only one goroutine may read at a time.
//
// Before it sleeps in poll, a wait first spins for up to the spin window
// (DefaultSpin; SetSpin), reading without blocking: when the peer answers
// within microseconds, as in a request/reply exchange, the reading thread
// never sleeps, and neither system's scheduler has to wake an idle CPU.
// Spinning adapts: after a wait that outlasted the window the next wait
// sleeps at once, and spinning resumes after a wait that ended within
// the window. So a peer slower than the window costs at most one spin
// window of CPU per change of pace, not one per message.
type WaitFile struct {
	f  *os.File
	rc syscall.RawConn

	// Used by the one reader at a time.
	spin     time.Duration
	spinning bool
	spun     int // non-blocking attempts in the last wait's spin (for tests)
	a        attemptArgs
	fn       func(fd uintptr) // w.attemptFD
}

// DefaultSpin is the spin window of a new WaitFile.
const DefaultSpin = 50 * time.Microsecond

// SetSpin sets the spin window (0 turns spinning off). Call it before
// reading, or from the reader.
func (w *WaitFile) SetSpin(d time.Duration) {
	w.spin = max(d, 0)
	w.spinning = w.spin > 0
}

// NewWaitFile takes over f: it moves f's descriptor out of the network
// poller (a duplicate, in blocking mode, which the descriptor's other
// users share) and closes f. The caller reads through the WaitFile from
// then on and closes it.
func NewWaitFile(f *os.File) (*WaitFile, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return nil, fmt.Errorf("transport: %s: %w", f.Name(), err)
	}
	nfd := -1
	var derr error
	if err := rc.Control(func(fd uintptr) {
		nfd, derr = unix.FcntlInt(fd, unix.F_DUPFD_CLOEXEC, 0)
		if derr == nil {
			// Blocking mode keeps os.NewFile from entering the
			// descriptor in the poller; reads still wait in poll first.
			derr = unix.SetNonblock(nfd, false)
		}
	}); err != nil {
		return nil, fmt.Errorf("transport: %s: %w", f.Name(), err)
	}
	if derr != nil {
		if nfd >= 0 {
			unix.Close(nfd)
		}
		return nil, fmt.Errorf("transport: %s: %w", f.Name(), os.NewSyscallError("fcntl", derr))
	}
	nf := os.NewFile(uintptr(nfd), f.Name())
	_ = f.Close()
	nrc, err := nf.SyscallConn()
	if err != nil {
		nf.Close()
		return nil, fmt.Errorf("transport: %s: %w", f.Name(), err)
	}
	// Non-blocking from now on, for the spinning reads; the os.File was
	// made while blocking and so stays out of the poller, and only this
	// type reads it.
	if err := nrc.Control(func(fd uintptr) { derr = unix.SetNonblock(int(fd), true) }); err == nil && derr != nil {
		err = derr
	}
	if err != nil {
		nf.Close()
		return nil, fmt.Errorf("transport: %s: %w", f.Name(), err)
	}
	w := &WaitFile{f: nf, rc: nrc, spin: DefaultSpin, spinning: true}
	w.fn = w.attemptFD
	return w, nil
}

// Read implements io.Reader: it waits, slice by slice, until input comes,
// the stream ends, or the file is closed (os.ErrClosed).
func (w *WaitFile) Read(p []byte) (int, error) {
	for {
		n, err := w.ReadWait(p, waitSlice)
		if err != ErrWaitTimeout {
			return n, err
		}
	}
}

// Close closes the file. A Read or ReadWait in progress ends within its
// current slice.
func (w *WaitFile) Close() error { return w.f.Close() }

// CanWait implements WaitReader.
func (w *WaitFile) CanWait() bool { return true }

// ReadWait implements WaitReader.
func (w *WaitFile) ReadWait(p []byte, d time.Duration) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	start := time.Now()
	deadline := start.Add(d)
	w.spun = 0
	if w.spinning {
		spinEnd := start.Add(min(w.spin, d))
		for {
			w.spun++
			n, err, got := w.attempt(p, 0)
			if got || err != nil {
				return n, err
			}
			if !time.Now().Before(spinEnd) {
				break
			}
			// Let other goroutines run between attempts: with one P (the
			// Go worker runs with GOMAXPROCS=1), a spinning reader would
			// otherwise hold back for the whole window the goroutine it
			// just started or woke, such as a new execution.
			runtime.Gosched()
		}
	}
	for {
		ms := int((time.Until(deadline) + time.Millisecond - 1) / time.Millisecond)
		if ms <= 0 {
			if w.spin > 0 && d > w.spin {
				// The wait outlasted the window with nothing read:
				// the next one sleeps at once, as after a slow
				// answer. (A caller that waits in slices would
				// otherwise spin a window per slice for as long as
				// the peer is silent.)
				w.spinning = false
			}
			return 0, ErrWaitTimeout
		}
		n, err, got := w.attempt(p, min(ms, int(waitSlice/time.Millisecond)))
		if got || err != nil {
			if w.spin > 0 {
				took := time.Since(start)
				w.spinning = took <= w.spin
			}
			return n, err
		}
	}
}

// attempt reads what is there, first waiting up to ms milliseconds for
// input if ms > 0. got reports that n bytes (or the end, io.EOF) came.
func (w *WaitFile) attempt(p []byte, ms int) (n int, err error, got bool) {
	w.a = attemptArgs{p: p, ms: ms}
	// Control holds a reference to the descriptor, so that a concurrent
	// Close cannot release (and the system reuse) its number while poll
	// or read uses it. w.fn is made once: a closure per call would be an
	// allocation per spin.
	cerr := w.rc.Control(w.fn)
	a := w.a
	w.a = attemptArgs{}
	if cerr != nil {
		// Control fails only once the file is closed ("use of closed
		// file", which os does not map to os.ErrClosed here).
		return 0, os.ErrClosed, true
	}
	return a.n, a.err, a.got
}

// attemptArgs are the arguments and results of one attempt.
type attemptArgs struct {
	p   []byte
	ms  int
	n   int
	err error
	got bool
}

// attemptFD is w.fn: the body of attempt, on the descriptor.
func (w *WaitFile) attemptFD(fd uintptr) {
	a := &w.a
	if a.ms > 0 {
		fds := [1]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		k, perr := unix.Poll(fds[:], a.ms)
		switch {
		case perr == unix.EINTR || (perr == nil && k == 0):
			return // no input yet
		case perr != nil:
			a.err, a.got = os.NewSyscallError("poll", perr), true
			return
		}
	}
	var rerr error
	for {
		a.n, rerr = unix.Read(int(fd), a.p)
		if rerr != unix.EINTR {
			break
		}
	}
	switch {
	case rerr == unix.EAGAIN:
		a.n = 0 // nothing yet
	case rerr != nil:
		a.n, a.err, a.got = 0, os.NewSyscallError("read", rerr), true
	case a.n == 0:
		a.err, a.got = io.EOF, true
	default:
		a.got = true
	}
}
