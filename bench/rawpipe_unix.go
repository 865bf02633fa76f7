//go:build unix

package bench

import (
	"os"
	"syscall"
)

// rawPipe returns a pipe whose descriptors are in blocking mode, so that
// both this process and the child (which inherits one end as stdin or
// stdout) read and write it with plain system calls, bypassing Go's
// network poller: the raw pipe is the limit of the pipe itself, not of
// the runtime's way of waiting for it.
func rawPipe() (r, w *os.File, err error) {
	var p [2]int
	syscall.ForkLock.RLock()
	err = syscall.Pipe(p[:])
	if err == nil {
		syscall.CloseOnExec(p[0])
		syscall.CloseOnExec(p[1])
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		return nil, nil, os.NewSyscallError("pipe", err)
	}
	return os.NewFile(uintptr(p[0]), "|0"), os.NewFile(uintptr(p[1]), "|1"), nil
}
