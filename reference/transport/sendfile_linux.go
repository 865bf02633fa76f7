package transport

import (
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// spliceChunk is the most one splice call is asked to move; the pipe's
// free room bounds each call anyway.
const spliceChunk = 1 << 30

// sendFile moves n bytes of src from offset off into the pipe dst with
// splice(2), waiting in the network poller while the pipe is full (so
// dst's write deadline bounds the wait). The file's pages go into the
// pipe by reference: the bytes are not copied through user memory.
func sendFile(dst, src *os.File, off, n int64) (int64, error) {
	if n <= 0 {
		return 0, nil
	}
	drc, err := dst.SyscallConn()
	if err != nil {
		return 0, errors.Join(err, errNoZeroCopy)
	}
	srcRC, err := src.SyscallConn()
	if err != nil {
		return 0, errors.Join(err, errNoZeroCopy)
	}
	var done int64
	var serr error
	cerr := srcRC.Control(func(sfd uintptr) {
		werr := drc.Write(func(dfd uintptr) bool {
			for done < n {
				pos := off + done
				k, err := unix.Splice(int(sfd), &pos, int(dfd), nil, int(min(n-done, spliceChunk)),
					unix.SPLICE_F_MOVE|unix.SPLICE_F_NONBLOCK|unix.SPLICE_F_MORE)
				switch {
				case err == unix.EINTR:
					continue
				case err == unix.EAGAIN:
					return false // the pipe is full: wait in the poller
				case err != nil:
					if done == 0 && (err == unix.EINVAL || err == unix.ENOSYS || err == unix.EOPNOTSUPP) {
						serr = errors.Join(fmt.Errorf("transport: splice: %w", err), errNoZeroCopy)
					} else {
						serr = os.NewSyscallError("splice", err)
					}
					return true
				case k == 0:
					serr = fmt.Errorf("transport: %s ended after %d of %d bytes: %w", src.Name(), done, n, io.ErrUnexpectedEOF)
					return true
				}
				done += k
			}
			return true
		})
		if serr == nil && werr != nil {
			serr = werr
		}
	})
	if serr == nil && cerr != nil {
		serr = cerr
	}
	return done, serr
}
