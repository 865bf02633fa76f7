package transport

import "syscall"

// fSetPipeSz is F_SETPIPE_SZ (linux/fcntl.h).
const fSetPipeSz = 1031

// GrowPipe asks the kernel to give the pipe behind f (an *os.File, say) a buffer of size
// bytes (F_SETPIPE_SZ), and reports whether it did. The default 64 KiB
// buffer makes a 1 MiB item cross in sixteen fills, each waking both
// processes; an unprivileged process may grow a pipe up to
// /proc/sys/fs/pipe-max-size (1 MiB by default). Failure is harmless: the
// pipe keeps its size.
func GrowPipe(f syscall.Conn, size int) bool {
	rc, err := f.SyscallConn()
	if err != nil {
		return false
	}
	ok := false
	_ = rc.Control(func(fd uintptr) {
		_, _, e := syscall.Syscall(syscall.SYS_FCNTL, fd, fSetPipeSz, uintptr(size))
		ok = e == 0
	})
	return ok
}
