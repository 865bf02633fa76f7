//go:build unix

package worker

import (
	"fmt"
	"os"
	"syscall"

	"github.com/execnet-conform/execnet-conform/reference/transport"
)

// ProtocolStdio moves the protocol stream off the standard descriptors,
// as SPEC.md BOOT-FD-1 requires of a popen or ssh worker: it duplicates
// descriptors 0 and 1 to new close-on-exec descriptors, returns those as
// the protocol's input and output, and points 0 and 1 at the null device,
// so that anything that later reads os.Stdin or writes os.Stdout cannot
// consume or corrupt the stream. Standard error is left alone. Call it
// once, before serving.
func ProtocolStdio() (in, out *os.File, err error) {
	inFD, err := dupCloexec(0)
	if err != nil {
		return nil, nil, err
	}
	outFD, err := dupCloexec(1)
	if err != nil {
		syscall.Close(inFD)
		return nil, nil, err
	}
	devnull, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		syscall.Close(inFD)
		syscall.Close(outFD)
		return nil, nil, fmt.Errorf("worker: %w", err)
	}
	defer devnull.Close()
	for _, fd := range []int{0, 1} {
		if err := dupOnto(int(devnull.Fd()), fd); err != nil {
			syscall.Close(inFD)
			syscall.Close(outFD)
			return nil, nil, fmt.Errorf("worker: pointing descriptor %d at %s: %w", fd, os.DevNull, err)
		}
	}
	in, out = os.NewFile(uintptr(inFD), "protocol-in"), os.NewFile(uintptr(outFD), "protocol-out")
	// A master that is not ours (Python execnet) leaves its pipes at the
	// default size; a larger buffer lets bulk items cross in fewer fills.
	// Not a pipe, or not allowed: nothing changes.
	transport.GrowPipe(in, transport.PipeSize)
	transport.GrowPipe(out, transport.PipeSize)
	return in, out, nil
}

func dupCloexec(fd int) (int, error) {
	syscall.ForkLock.RLock()
	defer syscall.ForkLock.RUnlock()
	nfd, err := syscall.Dup(fd)
	if err != nil {
		return -1, fmt.Errorf("worker: duplicating descriptor %d: %w", fd, err)
	}
	syscall.CloseOnExec(nfd)
	// Non-blocking, so that os.NewFile gives a pollable file whose reads
	// honour deadlines (Serve's cancellation during the bootstrap read).
	if err := syscall.SetNonblock(nfd, true); err != nil {
		syscall.Close(nfd)
		return -1, fmt.Errorf("worker: descriptor %d: %w", fd, err)
	}
	return nfd, nil
}
