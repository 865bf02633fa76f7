package transport

import (
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// ReceiveFile implements FileReceiver: it splices n bytes of the stream
// (a pipe) into dst at dst's offset, waiting with poll(2) in slices of
// waitSlice while the pipe is empty, so that Close ends the wait. Only the
// one reader of w may call it.
func (w *WaitFile) ReceiveFile(dst *os.File, n int64) (int64, error) {
	if n <= 0 {
		return 0, nil
	}
	drc, err := dst.SyscallConn()
	if err != nil {
		return 0, errors.Join(err, errNoZeroCopy)
	}
	var done int64
	var serr error
	fin := false
	for !fin {
		cerr := w.rc.Control(func(sfd uintptr) {
			dcerr := drc.Control(func(dfd uintptr) {
				for done < n {
					k, err := unix.Splice(int(sfd), nil, int(dfd), nil, int(min(n-done, spliceChunk)),
						unix.SPLICE_F_MOVE|unix.SPLICE_F_NONBLOCK)
					switch {
					case err == unix.EINTR:
						continue
					case err == unix.EAGAIN:
						fds := [1]unix.PollFd{{Fd: int32(sfd), Events: unix.POLLIN}}
						if _, perr := unix.Poll(fds[:], int(waitSlice.Milliseconds())); perr != nil && perr != unix.EINTR {
							serr, fin = os.NewSyscallError("poll", perr), true
						}
						return // look at the descriptor again (Close)
					case err != nil:
						if done == 0 && (err == unix.EINVAL || err == unix.ENOSYS || err == unix.EOPNOTSUPP) {
							serr = errors.Join(fmt.Errorf("transport: splice into %s: %w", dst.Name(), err), errNoZeroCopy)
						} else {
							serr = fmt.Errorf("transport: writing %s: %w", dst.Name(), os.NewSyscallError("splice", err))
						}
						fin = true
						return
					case k == 0:
						serr, fin = fmt.Errorf("transport: the stream ended after %d of %d bytes: %w", done, n, io.ErrUnexpectedEOF), true
						return
					}
					done += k
				}
				fin = true
			})
			if dcerr != nil && !fin {
				serr, fin = dcerr, true
			}
		})
		if cerr != nil && !fin {
			// Control fails only once the stream is closed.
			serr, fin = fmt.Errorf("transport: %w", os.ErrClosed), true
		}
	}
	return done, serr
}
