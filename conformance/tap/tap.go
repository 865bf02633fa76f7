// Package tap runs a worker command behind a recording, checking proxy:
// it stands where a real execnet master expects its worker, passes every
// byte through unchanged in both directions, records the session as a
// trace (package trace) and checks it with the protocol monitor (package
// monitor) as it goes.
//
//	res, err := tap.Run(ctx, tap.Options{
//		Argv:   []string{"/usr/bin/python3", "-u", "-c", "import sys;exec(eval(sys.stdin.readline()))"},
//		OutDir: "traces",
//		Stdin:  os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr,
//	})
//
// From execnet: --tx popen//python="execnet-conform tap --out DIR -- python3"
// (execnet appends its interpreter arguments after python3).
package tap

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/execnet-conform/execnet-conform/conformance/monitor"
	"github.com/execnet-conform/execnet-conform/conformance/trace"
)

// Options configure a tap.
type Options struct {
	// Argv is the worker command (required).
	Argv []string
	// Env is the worker's environment (nil: the tap's own, as a popen
	// worker would have it).
	Env []string
	// OutDir receives the trace, as trace-TIME-PID.jsonl (a session per
	// file; several taps may share the directory). Empty: no trace.
	OutDir string
	// TracePath, if set, is the trace file instead (overrides OutDir).
	TracePath string
	// Stdin and Stdout are the master's side of the protocol stream;
	// Stderr gets the worker's standard error, unchanged.
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// Report, if not nil, gets one line per finding as it is found.
	Report io.Writer
	// Handshake: the streams start with the bootstrap handshake (true for
	// popen and ssh workers).
	Handshake bool
	// MaxPayload bounds the payload bytes recorded per frame (0: all;
	// commands use trace.DefaultMaxPayload).
	MaxPayload int
	// Tool names the recorder in the trace header.
	Tool string
}

// Result is what a tapped session showed.
type Result struct {
	TracePath string
	Findings  []monitor.Finding
	// ExitCode is the worker's exit status (-1 if it was killed by a signal).
	ExitCode int
}

// flushEvery bounds how long a record waits in the buffer, so that a tap
// killed by its master loses little of the trace.
const flushEvery = 100 * time.Millisecond

// masterGrace is how long the tap waits, once the worker has exited, for
// the master to close its stream before it stops reading it.
const masterGrace = 500 * time.Millisecond

// Run starts the worker and proxies until the worker has exited and both
// streams have ended. ctx ending kills the worker.
//
// When o.Stdout is the process's standard output (the tap run as a popen
// worker command), Run makes the process ignore SIGPIPE: an execnet master
// closes its end of the pipe as soon as its receiver fails (for instance
// on a payload that does not decode), and Go ends a program whose write to
// a closed standard output raises SIGPIPE, which would lose the whole trace
// and the report of the very violation that made the master stop. Ignored,
// the write fails with EPIPE and the tap winds down as at any end.
func Run(ctx context.Context, o Options) (*Result, error) {
	if len(o.Argv) == 0 {
		return nil, errors.New("tap: no worker command")
	}
	if f, ok := o.Stdout.(*os.File); ok && f.Fd() == 1 {
		signal.Ignore(syscall.SIGPIPE)
	}
	start := time.Now()
	res := &Result{TracePath: o.TracePath}
	if res.TracePath == "" && o.OutDir != "" {
		if err := os.MkdirAll(o.OutDir, 0o755); err != nil {
			return nil, fmt.Errorf("tap: %w", err)
		}
		res.TracePath = filepath.Join(o.OutDir, fmt.Sprintf("trace-%s-%d.jsonl", start.UTC().Format("20060102T150405.000000"), os.Getpid()))
	}
	var tw *trace.Writer
	var traceFile *os.File
	if res.TracePath != "" {
		f, err := os.Create(res.TracePath)
		if err != nil {
			return nil, fmt.Errorf("tap: %w", err)
		}
		traceFile = f
		tool := o.Tool
		if tool == "" {
			tool = "execnet-conform tap"
		}
		tw = trace.NewWriter(f, start, tool, o.Argv)
		tw.MaxPayload = o.MaxPayload
	}
	var reportMu sync.Mutex
	mon := monitor.New(monitor.Options{Handshake: o.Handshake, OnEvent: func(e monitor.Event) {
		if tw != nil {
			tw.Event(e)
		}
		if o.Report != nil && len(e.Findings) > 0 {
			reportMu.Lock()
			for _, f := range e.Findings {
				fmt.Fprintf(o.Report, "execnet-conform tap: %s\n", f)
			}
			reportMu.Unlock()
		}
	}})

	cmd := exec.CommandContext(ctx, o.Argv[0], o.Argv[1:]...)
	cmd.Env = o.Env
	cmd.Stderr = o.Stderr
	cmd.WaitDelay = 5 * time.Second
	win, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("tap: %w", err)
	}
	wout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("tap: %w", err)
	}
	if err := cmd.Start(); err != nil {
		mon.Close(monitor.Master)
		mon.Close(monitor.Worker)
		mon.Wait()
		if traceFile != nil {
			traceFile.Close()
			os.Remove(res.TracePath)
		}
		return nil, fmt.Errorf("tap: starting the worker: %w", err)
	}

	stopFlush := make(chan struct{})
	flushDone := make(chan struct{})
	go func() {
		defer close(flushDone)
		if tw == nil {
			return
		}
		t := time.NewTicker(flushEvery)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				_ = tw.Flush()
			case <-stopFlush:
				return
			}
		}
	}()

	workerDone := make(chan struct{})
	go func() {
		// worker → master: the worker's stdout ends when it exits.
		defer close(workerDone)
		pump(wout, o.Stdout, mon, monitor.Worker)
		mon.Close(monitor.Worker)
	}()
	masterDone := make(chan struct{})
	go func() {
		// master → worker: ends at the master's EOF, or when the worker
		// stops reading (its stdin closed).
		defer close(masterDone)
		pump(o.Stdin, win, mon, monitor.Master)
		_ = win.Close()
		mon.Close(monitor.Master)
	}()

	<-workerDone
	werr := cmd.Wait()
	res.ExitCode = cmd.ProcessState.ExitCode()
	// The worker has exited; the master's stream may stay open (it is
	// ours to read only while someone listens). Give it a moment to end,
	// then stop judging it: the master cannot reach the worker anymore.
	select {
	case <-masterDone:
	case <-time.After(masterGrace):
		// The pump goroutine may stay blocked in a read of the master's
		// stream until the process exits; the monitor ignores what it
		// might still write.
		mon.Close(monitor.Master)
	}
	res.Findings = mon.Wait()
	close(stopFlush)
	<-flushDone
	if tw != nil {
		status := "exit status 0"
		if werr != nil {
			status = werr.Error()
		}
		tw.Exit(status)
		err := tw.Close()
		if cerr := traceFile.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return res, fmt.Errorf("tap: writing the trace: %w", err)
		}
	}
	return res, nil
}

// pump copies src to dst and feeds every chunk to the monitor after it
// was passed on, so that the monitor adds no delay while it keeps up. The
// chunk's time is taken when it was read, before it is passed on, so that
// an answer is always stamped later than what it answers.
func pump(src io.Reader, dst io.Writer, mon *monitor.Monitor, side monitor.Side) {
	buf := make([]byte, 64<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			at := time.Now()
			if _, werr := dst.Write(buf[:n]); werr != nil {
				mon.WriteAt(side, buf[:n], at)
				return
			}
			mon.WriteAt(side, buf[:n], at)
		}
		if err != nil {
			return
		}
	}
}
