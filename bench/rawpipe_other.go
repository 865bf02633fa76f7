//go:build !unix

package bench

import "os"

// rawPipe returns a pipe for the raw-pipe measurements.
func rawPipe() (r, w *os.File, err error) { return os.Pipe() }
