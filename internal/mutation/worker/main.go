// Command worker is the Go reference worker as the mutation harness
// builds it: the stdio path of "execnet-conform worker" (the protocol kept
// off fds 0 and 1, GOMAXPROCS 1 unless set, interrupt and SIGTERM end it)
// without the rest of the CLI, so that a mutant of the codec rebuilds
// only the packages the worker links, not the runner and its cases.
//
// It accepts and ignores the interpreter arguments execnet passes (-u,
// -B, -c LINE) like the real command.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"syscall"

	"github.com/execnet-conform/execnet-conform/reference/worker"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	in, out, err := worker.ProtocolStdio()
	if err != nil {
		fmt.Fprintf(os.Stderr, "mutation worker: %v\n", err)
		os.Exit(1)
	}
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(1)
	}
	err = worker.Serve(ctx, in, out, worker.Options{Stderr: os.Stderr, Version: "devel"})
	_ = in.Close()
	_ = out.Close()
	if err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintf(os.Stderr, "mutation worker: %v\n", err)
	}
	os.Exit(worker.ExitCode(err)) // as "execnet-conform worker" ends
}
