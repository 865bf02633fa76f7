package transport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"time"

	"github.com/execnet-conform/execnet-conform/reference/xspec"
	"github.com/execnet-conform/execnet-conform/spec"
)

// Bounds used after a handshake has already failed.
const (
	// garbageWindow: how long to keep reading after an unexpected first
	// byte, to quote what the worker said.
	garbageWindow = 200 * time.Millisecond
	// garbageMax: how many bytes of it to keep.
	garbageMax = 200
	// exitGrace: how long a worker that closed its output may take to
	// exit before it is killed.
	exitGrace = 2 * time.Second
	// reapBound: how long to wait for a killed process to be reaped.
	reapBound = 5 * time.Second
	// stderrDrain bounds how long reaping waits for the stderr copy when a
	// process left behind still holds the pipe (exec.Cmd.WaitDelay).
	stderrDrain = time.Second
)

// PopenCommand returns the command line execnet uses for a popen worker:
// the python= words (DefaultPython when absent), "-u", "-B" when
// dont_write_bytecode is set, then "-c" and spec.BootstrapCommand.
func PopenCommand(s *xspec.Spec) ([]string, error) {
	args, err := s.PythonArgs()
	if err != nil {
		return nil, err
	}
	if args == nil {
		args = []string{DefaultPython}
	}
	args = append(args, "-u")
	if s.DontWriteBytecode {
		args = append(args, "-B")
	}
	return append(args, "-c", spec.BootstrapCommand), nil
}

// BootstrapLine returns the line a master writes to a bootstrapping
// worker: source as an ASCII Python string literal, then a newline.
func BootstrapLine(source string) string { return PyStringLiteral(source) + "\n" }

func openPopen(ctx context.Context, s *xspec.Spec, opts Options) (Conn, error) {
	argv, err := PopenCommand(s)
	if err != nil {
		return nil, err
	}
	style, err := ResolveStyle(s, opts)
	if err != nil {
		return nil, err
	}
	id := opts.workerID(s)
	var src string
	if style == StyleImport {
		src = ImportSource(id, s.ExecModel)
	} else {
		gb, err := gatewayBaseSource(ctx, &opts)
		if err != nil {
			return nil, fmt.Errorf("transport: %q: exec style: %w", s.Raw, err)
		}
		src = ExecSource(gb, id, s.ExecModel)
	}
	// The line (a 51 KB literal in the exec style) is built while the
	// interpreter starts, not before.
	return startCommand(ctx, argv, func() string { return BootstrapLine(src) }, s.Raw, opts)
}

// StartCommand starts argv in its own process group, writes line (which
// should end in a newline) to its stdin and waits for the ready byte,
// within opts.BootstrapTimeout and ctx. label names the worker in errors
// (Open passes the xspec). Only BootstrapTimeout and Stderr of opts are
// used. On failure the process is killed and reaped and the error is a
// *BootstrapError.
func StartCommand(ctx context.Context, argv []string, line, label string, opts Options) (Conn, error) {
	return startCommand(ctx, argv, func() string { return line }, label, opts)
}

// startCommand is StartCommand with the line built by makeLine once the
// process has started.
func startCommand(ctx context.Context, argv []string, makeLine func() string, label string, opts Options) (Conn, error) {
	if len(argv) == 0 {
		return nil, &BootstrapError{Spec: label, Class: ErrInterpreterNotFound, Err: errors.New("empty command")}
	}
	deadline := time.Now().Add(opts.timeout())
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	fail := func(class error, err error) error {
		return &BootstrapError{Spec: label, Command: argv, Class: class, Err: err}
	}
	if err := ctx.Err(); err != nil {
		return nil, fail(ctxClass(err), err)
	}
	inR, inW, err := os.Pipe()
	if err != nil {
		return nil, fail(ErrBootstrapIO, err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		inR.Close()
		inW.Close()
		return nil, fail(ErrBootstrapIO, err)
	}
	// Bulk items cross in fewer fills of a larger pipe (see GrowPipe).
	GrowPipe(inW, PipeSize)
	GrowPipe(outR, PipeSize)
	tail := &tailWriter{max: stderrTailSize, next: opts.Stderr}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = inR, outW, tail
	cmd.Env = opts.Env
	cmd.WaitDelay = stderrDrain
	setProcessGroup(cmd)
	err = cmd.Start()
	inR.Close()
	outW.Close()
	if err != nil {
		inW.Close()
		outR.Close()
		return nil, fail(ErrInterpreterNotFound, err)
	}
	c := &popenConn{w: inW, r: outR, proc: newProcess(cmd), tail: tail}
	if err := c.handshake(ctx, deadline, makeLine(), opts.WriteLine); err != nil {
		be := &BootstrapError{Spec: label, Command: argv, Pid: c.proc.pid}
		c.fail(err, be)
		return nil, be
	}
	// The handshake used the poller's read deadlines; from now on the
	// stream is read with bounded waits outside the poller (WaitFile).
	// Where that is not possible, r stays as it is.
	if wf, err := NewWaitFile(c.r); err == nil {
		c.wf = wf
	}
	return c, nil
}

// PipeSize is the buffer a popen master asks for its worker's stdin and
// stdout pipes, and the Go worker for its own.
const PipeSize = 1 << 20

func ctxClass(err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return ErrBootstrapTimeout
	}
	return ErrBootstrapCanceled
}

// popenConn is the Conn of a popen worker: its stdin and stdout pipes.
type popenConn struct {
	w, r *os.File
	wf   *WaitFile // r, moved out of the poller after the handshake; or nil
	proc *process
	tail *tailWriter

	// guard of the handshake's deadline handling
	mu       sync.Mutex
	finished bool
	timedOut bool // deadline emulation fired (no pipe deadlines)

	closeWrite sync.Once
	closeRead  sync.Once
	cwErr      error
	crErr      error
}

// handshakeError carries what went wrong to fail.
type handshakeError struct {
	class    error
	err      error
	received []byte
}

func (e *handshakeError) Error() string { return fmt.Sprint(e.class, e.err) }

// handshake writes line (with writeLine when not nil) and reads the ready
// byte before deadline.
func (c *popenConn) handshake(ctx context.Context, deadline time.Time, line string, writeLine func(io.Writer, string) error) error {
	deadlines := c.r.SetReadDeadline(deadline) == nil && c.w.SetWriteDeadline(deadline) == nil
	abort := func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.finished {
			return
		}
		if deadlines {
			past := time.Unix(1, 0)
			_ = c.r.SetReadDeadline(past)
			_ = c.w.SetWriteDeadline(past)
		} else {
			c.timedOut = true
			_ = c.proc.Kill()
		}
	}
	stopCtx := context.AfterFunc(ctx, abort)
	defer stopCtx()
	if !deadlines {
		t := time.AfterFunc(time.Until(deadline), abort)
		defer t.Stop()
	}
	classify := func(err error) error {
		if ctx.Err() != nil {
			return &handshakeError{class: ctxClass(ctx.Err()), err: ctx.Err()}
		}
		c.mu.Lock()
		to := c.timedOut
		c.mu.Unlock()
		if to || errors.Is(err, os.ErrDeadlineExceeded) || !time.Now().Before(deadline) {
			return &handshakeError{class: ErrBootstrapTimeout, err: context.DeadlineExceeded}
		}
		if errors.Is(err, io.EOF) {
			return &handshakeError{class: ErrWorkerExited}
		}
		return &handshakeError{class: ErrBootstrapIO, err: err}
	}

	// A worker that died before reading makes the write fail (EPIPE); the
	// read below then sees EOF and reports the exit, so only a timeout
	// ends the handshake here.
	if writeLine == nil {
		writeLine = func(w io.Writer, line string) error {
			_, err := io.WriteString(w, line)
			return err
		}
	}
	if err := writeLine(c.w, line); err != nil {
		if he := classify(err).(*handshakeError); he.class != ErrBootstrapIO {
			return he
		}
	}
	var b [1]byte
	if _, err := io.ReadFull(c.r, b[:]); err != nil {
		return classify(err)
	}
	if b[0] != spec.ReadyByte {
		got := []byte{b[0]}
		if deadlines {
			_ = c.r.SetReadDeadline(time.Now().Add(garbageWindow))
		} else {
			t := time.AfterFunc(garbageWindow, func() { _ = c.proc.Kill() })
			defer t.Stop()
		}
		buf := make([]byte, garbageMax)
		for len(got) < garbageMax {
			n, err := c.r.Read(buf[:garbageMax-len(got)])
			got = append(got, buf[:n]...)
			if err != nil {
				break
			}
		}
		return &handshakeError{class: ErrBadReadyByte, received: got}
	}
	c.mu.Lock()
	c.finished = true
	c.mu.Unlock()
	if ctx.Err() != nil { // abort ran before we finished
		return classify(ctx.Err())
	}
	_ = c.r.SetReadDeadline(time.Time{})
	_ = c.w.SetWriteDeadline(time.Time{})
	return nil
}

// fail ends a failed handshake: it lets a worker that closed its output
// exit on its own for a moment, kills the process group, reaps, closes
// the pipes, and fills be.
func (c *popenConn) fail(err error, be *BootstrapError) {
	he, _ := err.(*handshakeError)
	if he == nil {
		he = &handshakeError{class: ErrBootstrapIO, err: err}
	}
	be.Class, be.Err, be.Received = he.class, he.err, he.received
	if he.class == ErrWorkerExited {
		wctx, cancel := context.WithTimeout(context.Background(), exitGrace)
		_, _ = c.proc.Wait(wctx)
		cancel()
	}
	_ = c.proc.Kill()
	wctx, cancel := context.WithTimeout(context.Background(), reapBound)
	st, werr := c.proc.Wait(wctx)
	cancel()
	if werr == nil {
		be.Exit = &st
	}
	c.Close()
	be.Stderr = c.tail.String()
}

func (c *popenConn) Read(p []byte) (int, error) {
	if c.wf != nil {
		return c.wf.Read(p)
	}
	return c.r.Read(p)
}
func (c *popenConn) Write(p []byte) (int, error) { return c.w.Write(p) }

// CloseWrite closes the worker's stdin.
func (c *popenConn) CloseWrite() error {
	c.closeWrite.Do(func() { c.cwErr = c.w.Close() })
	return c.cwErr
}

// Close closes both pipes.
func (c *popenConn) Close() error {
	err := c.CloseWrite()
	c.closeRead.Do(func() {
		if c.wf != nil {
			c.crErr = c.wf.Close()
		} else {
			c.crErr = c.r.Close()
		}
	})
	if c.crErr != nil {
		return c.crErr
	}
	return err
}

func (c *popenConn) Process() Process { return c.proc }

// StderrTail returns the last 4 KiB the worker wrote to stderr.
func (c *popenConn) StderrTail() string { return c.tail.String() }

// process is a started command. One goroutine calls cmd.Wait.
type process struct {
	cmd    *exec.Cmd
	pid    int
	done   chan struct{}
	status ExitStatus
	err    error
}

func newProcess(cmd *exec.Cmd) *process {
	p := &process{cmd: cmd, pid: cmd.Process.Pid, done: make(chan struct{})}
	go func() {
		err := cmd.Wait()
		var ee *exec.ExitError
		switch {
		case err == nil, errors.As(err, &ee), errors.Is(err, exec.ErrWaitDelay):
			p.status = exitStatus(cmd.ProcessState)
		default:
			p.err = err
		}
		close(p.done)
	}()
	return p
}

func (p *process) Pid() int { return p.pid }

// Wait returns the exit status once the process has exited and been
// reaped, or ctx.Err() if ctx ends first.
func (p *process) Wait(ctx context.Context) (ExitStatus, error) {
	select {
	case <-p.done:
		return p.status, p.err
	case <-ctx.Done():
		return ExitStatus{}, ctx.Err()
	}
}

func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Terminate sends SIGTERM to the process group (Unix).
func (p *process) Terminate() error { return p.signal(false) }

// Kill sends SIGKILL to the process group (Unix).
func (p *process) Kill() error { return p.signal(true) }

// KillGroup implements GroupKiller.
func (p *process) KillGroup() error {
	if !p.exited() {
		return nil
	}
	return p.killGroup()
}
