// Package testworker lets a test binary serve as the Go worker, so that a
// package's tests can start a Go worker through popen without building
// the execnet-conform command: TestMain calls Main, and a test starts
// "popen//python=" + Target(tb) with Env in the worker's environment.
package testworker

import (
	"context"
	"fmt"
	"os"
	"testing"

	"go.uber.org/goleak"

	"github.com/execnet-conform/execnet-conform/reference/worker"
)

// Env, set to "1" in a test binary's environment, makes Main serve the
// protocol on stdio instead of running the tests.
const Env = "EXECNET_CONFORM_TEST_WORKER"

// Main is a TestMain: started as a worker (Env=1) it serves one gateway
// on stdio and exits (the arguments are the interpreter flags execnet
// passes, -u -c ..., which the worker ignores); otherwise it runs the
// tests and fails them if a goroutine is left behind.
func Main(m *testing.M) {
	if os.Getenv(Env) == "1" {
		if err := worker.Serve(context.Background(), os.Stdin, os.Stdout, worker.Options{Stderr: os.Stderr}); err != nil {
			fmt.Fprintln(os.Stderr, "test worker:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	goleak.VerifyTestMain(m)
}

// Target returns the popen xspec that starts this test binary; give the
// worker Env+"=1" in its environment.
func Target(tb testing.TB) string {
	tb.Helper()
	exe, err := os.Executable()
	if err != nil {
		tb.Fatalf("test binary: %v", err)
	}
	return "popen//python=" + exe
}
