package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"syscall"

	"github.com/execnet-conform/execnet-conform/reference/frame"
	"github.com/execnet-conform/execnet-conform/reference/gateway"
	"github.com/execnet-conform/execnet-conform/reference/transport"
	"github.com/execnet-conform/execnet-conform/reference/worker"
)

// runWorker serves the execnet protocol as a Go worker: over stdin and
// stdout (popen, ssh), or as a socket bootstrap server with --listen.
//
// It accepts the interpreter arguments execnet passes to a popen or ssh
// worker ("-u", "-B", "-c LINE"), so both "popen//python=execnet-conform
// worker" and "popen//python=execnet-conform" work. The -c text is
// execnet's fixed bootstrap command and is ignored: the worker reads the
// bootstrap line from stdin either way.
func runWorker(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("worker", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Bool("u", false, "accepted for Python compatibility (unbuffered); ignored")
	fs.Bool("B", false, "accepted for Python compatibility (no bytecode); ignored")
	fs.String("c", "", "accepted for Python compatibility (execnet's bootstrap command); ignored")
	listen := fs.String("listen", "", "serve as a socket bootstrap server on HOST:PORT (no authentication; an empty HOST means 127.0.0.1)")
	id := fs.String("id", "", "worker id (default: from the bootstrap line)")
	spin := fs.Duration("spin", transport.DefaultSpin, "how long a read of the master's pipe spins before it sleeps; 0 turns spinning off (for machines with more busy processes than cores)")
	maxPayload := fs.Int("max-payload", frame.DefaultMaxPayload, "largest frame payload accepted from the master, in bytes; a larger frame ends the connection")
	idleTimeout := fs.Duration("idle-timeout", worker.DefaultIdleTimeout, "with --listen: close a connection on which nothing happens (no byte from the client, no execution running) for this long; 0 turns it off")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: execnet-conform worker [-u] [-B] [-c LINE] [--listen HOST:PORT] [--id ID] [--spin DURATION] [--max-payload BYTES] [--idle-timeout DURATION]")
		fmt.Fprintln(stderr, "\nServes the execnet protocol on stdin/stdout (or a socket) and runs the")
		fmt.Fprintln(stderr, "conformance profile procedures natively; it cannot run Python source.")
		fs.PrintDefaults()
	}
	if code, ok := parseFlags(fs, args, stderr, ""); !ok {
		return code
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *spin < 0 {
		fmt.Fprintf(stderr, "execnet-conform worker: --spin %v: must not be negative\n", *spin)
		return exitUsage
	}
	if *maxPayload < 1 || *idleTimeout < 0 {
		fmt.Fprintf(stderr, "execnet-conform worker: --max-payload must be at least 1 and --idle-timeout not negative\n")
		return exitUsage
	}
	idle := *idleTimeout
	if idle == 0 {
		idle = -1 // Options: negative turns the timeout off
	}
	opts := worker.Options{Stderr: stderr, ID: *id, Version: moduleVersion(), IdleTimeout: idle,
		GatewayOptions: []gateway.Option{gateway.WithSpinWait(*spin), gateway.WithMaxPayload(*maxPayload)}}

	var err error
	if *listen != "" {
		err = worker.Listen(ctx, *listen, opts)
	} else {
		in, out := stdin, stdout
		if stdin == io.Reader(os.Stdin) && stdout == io.Writer(os.Stdout) {
			// A real popen or ssh worker: keep the protocol off fds 0/1.
			pin, pout, perr := worker.ProtocolStdio()
			if perr != nil {
				fmt.Fprintf(stderr, "execnet-conform worker: %v\n", perr)
				return exitFailure
			}
			defer pin.Close()
			defer pout.Close()
			in, out = pin, pout
			if os.Getenv("GOMAXPROCS") == "" {
				// One master over one pipe, and I/O-bound procedures: a
				// single P hands each item from the receiver goroutine to
				// the execution without waking a second thread (about 20%
				// faster round trips on 2 cores; streams unchanged).
				runtime.GOMAXPROCS(1)
			}
		}
		err = worker.Serve(ctx, in, out, opts)
	}
	switch {
	case worker.EndedInsideFrame(err):
		// FRM-EOF-2: the end of the connection, not a failure (TERM-EOF-3).
		fmt.Fprintf(stderr, "execnet-conform worker: %v (partial frame discarded)\n", err)
	case err != nil && !errors.Is(err, context.Canceled):
		fmt.Fprintf(stderr, "execnet-conform worker: %v\n", err)
	}
	return worker.ExitCode(err) // exitOK or exitFailure
}

// moduleVersion returns the module version this binary was built from, or
// "devel" for a build from a work tree.
func moduleVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}
