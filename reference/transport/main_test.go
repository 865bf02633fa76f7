package transport

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine (process waiters,
// stderr copies, socket helpers) is left running at the end.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
