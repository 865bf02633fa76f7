//go:build !unix

package worker

import (
	"fmt"
	"runtime"
)

// addNice fails: this platform has no niceness (Python's os.nice is
// missing there too, and execnet then ignores nice=; the Go worker says
// so instead).
func addNice(inc int) error {
	return fmt.Errorf("nice= is not supported on %s (the Go worker applies it only on Unix)", runtime.GOOS)
}
