package conformance

import (
	"os"
	"testing"

	"github.com/execnet-conform/execnet-conform/internal/hostileworker"
	"github.com/execnet-conform/execnet-conform/internal/testworker"
)

func TestMain(m *testing.M) {
	hostileworker.Main() // returns unless started as a hostile worker
	if os.Getenv(rssProbeEnv) != "" {
		os.Exit(rssProbe())
	}
	testworker.Main(m)
}

// goWorkerOptions returns options that start this test binary as the Go
// worker.
func goWorkerOptions(t testing.TB) Options {
	return Options{
		Target: testworker.Target(t),
		Env:    append(TargetEnv(os.Environ(), nil), testworker.Env+"=1"),
	}
}
