package conformance

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/execnet-conform/execnet-conform/reference/worker"
	"go.uber.org/goleak"
)

// workerEnv makes the test binary act as the Go worker (see TestMain), so
// that tests can start it through popen without building the command.
const workerEnv = "EXECNET_CONFORM_TEST_WORKER"

func TestMain(m *testing.M) {
	if os.Getenv(workerEnv) == "1" {
		// Started as a popen target: the arguments are the interpreter
		// flags execnet passes (-u -c ...), which the worker ignores.
		if err := worker.Serve(context.Background(), os.Stdin, os.Stdout, worker.Options{Stderr: os.Stderr}); err != nil {
			fmt.Fprintln(os.Stderr, "test worker:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	goleak.VerifyTestMain(m)
}

// goWorkerOptions returns options that start this test binary as the Go
// worker.
func goWorkerOptions(t testing.TB) Options {
	exe, err := os.Executable()
	if err != nil {
		t.Fatalf("test binary: %v", err)
	}
	return Options{
		Target: "popen//python=" + exe,
		Env:    append(TargetEnv(os.Environ(), nil), workerEnv+"=1"),
	}
}
