package sshtransport

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/execnet-conform/execnet-conform/reference/transport"
	"github.com/execnet-conform/execnet-conform/spec"
)

// RemoteCommand returns the shell command that starts the remote
// interpreter the way execnet does: PYTHON -u -c BOOTSTRAP. python is
// passed to the remote shell as written, so it may carry arguments.
//
// Unlike execnet, the command first prints the remote shell's pid on a
// line of its own and then execs the interpreter in its place. Start reads
// that line before the handshake, so that Terminate and Kill can signal
// the remote process itself: OpenSSH does not act on signal requests for
// sessions without a terminal, and closing the connection leaves a hung
// process running.
func RemoteCommand(python string) string {
	if python == "" {
		python = "python3"
	}
	return "echo $$; exec " + python + " -u -c '" + spec.BootstrapCommand + "'"
}

// Session is a remote worker process reached over SSH, after the
// handshake. It implements transport.Conn and transport.Process.
type Session struct {
	client    *Client
	ownClient bool
	sess      *ssh.Session
	stdin     io.WriteCloser
	stdout    io.Reader
	stderr    *tailBuffer
	pid       atomic.Int64 // remote pid, 0 if unknown

	waitOnce sync.Once
	done     chan struct{}
	status   transport.ExitStatus
	waitErr  error
}

// Start runs remoteCmd on c, writes the bootstrap line (which must end in a
// newline) and waits up to timeout for the ready byte. When ownClient is
// true the Session closes c when it ends. On failure everything is closed
// and the error is an *Error.
func Start(ctx context.Context, c *Client, ownClient bool, remoteCmd, line string, timeout time.Duration) (*Session, error) {
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	fail := func(class error, detail string, err error) (*Session, error) {
		if ownClient {
			c.Close()
		}
		return nil, &Error{Addr: c.cfg.addr(), User: c.cfg.user(), Class: class, Detail: detail, Err: err}
	}
	sess, err := c.NewSession()
	if err != nil {
		return fail(ErrBootstrapFailed, "cannot open a session", err)
	}
	s := &Session{client: c, ownClient: ownClient, sess: sess, stderr: &tailBuffer{max: 4096}, done: make(chan struct{})}
	sess.Stderr = s.stderr
	if s.stdin, err = sess.StdinPipe(); err != nil {
		sess.Close()
		return fail(ErrBootstrapFailed, "", err)
	}
	out, err := sess.StdoutPipe()
	if err != nil {
		sess.Close()
		return fail(ErrBootstrapFailed, "", err)
	}
	s.stdout = out
	if err := sess.Start(remoteCmd); err != nil {
		sess.Close()
		return fail(ErrBootstrapFailed, "cannot start "+remoteCmd, err)
	}
	go s.reap()

	ready := make(chan error, 1)
	go func() {
		if _, err := io.WriteString(s.stdin, line); err != nil {
			ready <- fmt.Errorf("writing the bootstrap line: %w", err)
			return
		}
		pid, err := readPidLine(s.stdout)
		if err != nil {
			ready <- err
			return
		}
		s.pid.Store(int64(pid))
		var b [1]byte
		if _, err := io.ReadFull(s.stdout, b[:]); err != nil {
			ready <- err
			return
		}
		if b[0] != spec.ReadyByte {
			// read what follows, briefly, to quote it
			more := make([]byte, 200)
			n, _ := readWithin(s.stdout, more, 200*time.Millisecond)
			ready <- fmt.Errorf("expected the ready byte %q, got %q", spec.ReadyByte, append(b[:], more[:n]...))
			return
		}
		ready <- nil
	}()
	tctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	select {
	case err := <-ready:
		if err == nil {
			return s, nil
		}
		s.kill()
		st, _ := s.waitBounded()
		tail := strings.TrimSpace(s.stderr.String())
		if st.Code == 127 || strings.Contains(tail, "not found") || strings.Contains(tail, "No such file") {
			return fail(ErrPythonNotFound, fmt.Sprintf("remote command %q exited with status %d; stderr: %s", remoteCmd, st.Code, tail), nil)
		}
		return fail(ErrBootstrapFailed, fmt.Sprintf("exit status %d; stderr: %s", st.Code, tail), err)
	case <-tctx.Done():
		s.kill()
		_, _ = s.waitBounded()
		return fail(ErrBootstrapTimeout, fmt.Sprintf("no ready byte within %v; stderr: %s", timeout, strings.TrimSpace(s.stderr.String())), tctx.Err())
	}
}

// readPidLine reads the remote shell's "PID\n" line byte by byte, so that
// nothing after it is consumed.
func readPidLine(r io.Reader) (int, error) {
	var line []byte
	var b [1]byte
	for len(line) < 12 {
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return 0, err
		}
		if b[0] == '\n' {
			pid, err := strconv.Atoi(string(line))
			if err != nil {
				return 0, fmt.Errorf("remote pid line %q: %w", line, err)
			}
			return pid, nil
		}
		line = append(line, b[0])
	}
	return 0, fmt.Errorf("remote pid line too long: %q", line)
}

func (s *Session) waitBounded() (transport.ExitStatus, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return s.Wait(ctx)
}

func readWithin(r io.Reader, b []byte, d time.Duration) (int, error) {
	type res struct {
		n   int
		err error
	}
	ch := make(chan res, 1)
	go func() { n, err := r.Read(b); ch <- res{n, err} }()
	select {
	case x := <-ch:
		return x.n, x.err
	case <-time.After(d):
		return 0, context.DeadlineExceeded
	}
}

func (s *Session) reap() {
	err := s.sess.Wait()
	st := transport.ExitStatus{Code: 0}
	var ee *ssh.ExitError
	var missing *ssh.ExitMissingError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		st.Code = ee.ExitStatus()
		if sig := ee.Signal(); sig != "" {
			st.Code, st.Signal = -1, "SIG"+sig
		}
		err = nil
	case errors.As(err, &missing):
		st.Code = -1
		st.Signal = "connection lost"
	default:
		st.Code = -1
	}
	s.status, s.waitErr = st, err
	s.sess.Close()
	if s.ownClient {
		s.client.Close()
	}
	close(s.done)
}

// Read reads frames' bytes from the remote worker.
func (s *Session) Read(p []byte) (int, error) { return s.stdout.Read(p) }

// Write sends bytes to the remote worker.
func (s *Session) Write(p []byte) (int, error) { return s.stdin.Write(p) }

// CloseWrite closes the remote worker's stdin.
func (s *Session) CloseWrite() error { return s.stdin.Close() }

// Close closes the session's streams. The remote process ends when it
// sees EOF; use Wait, Terminate or Kill to control it.
func (s *Session) Close() error {
	_ = s.stdin.Close()
	return nil
}

// Process returns the session itself.
func (s *Session) Process() transport.Process { return s }

// Pid returns the process id on the remote host (not a local pid), or 0.
func (s *Session) Pid() int { return int(s.pid.Load()) }

// Wait waits for the remote command to end.
func (s *Session) Wait(ctx context.Context) (transport.ExitStatus, error) {
	select {
	case <-s.done:
		return s.status, s.waitErr
	case <-ctx.Done():
		return transport.ExitStatus{}, ctx.Err()
	}
}

// Terminate sends SIGTERM to the remote process.
func (s *Session) Terminate() error { return s.signal("TERM") }

// signal runs "kill -SIG PID" on the remote host in a new session of the
// same connection, bounded by 5 seconds.
func (s *Session) signal(sig string) error {
	_ = s.sess.Signal(ssh.Signal(sig))
	pid := s.Pid()
	if pid <= 0 {
		return nil
	}
	k, err := s.client.NewSession()
	if err != nil {
		return err
	}
	defer k.Close()
	done := make(chan error, 1)
	go func() { done <- k.Run("kill -" + sig + " " + strconv.Itoa(pid)) }()
	select {
	case err := <-done:
		return err
	case <-time.After(5 * time.Second):
		return fmt.Errorf("remote kill -%s %d did not finish", sig, pid)
	}
}

// Kill sends SIGKILL to the remote process and closes the session, which
// makes sshd end whatever is left of it.
func (s *Session) Kill() error {
	s.kill()
	return nil
}

func (s *Session) kill() {
	_ = s.signal("KILL")
	_ = s.stdin.Close()
	_ = s.sess.Close()
}

// Stderr returns the last 4 KiB the remote process wrote to stderr.
func (s *Session) Stderr() string { return s.stderr.String() }

type tailBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
	max int
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf.Write(p)
	if t.buf.Len() > t.max {
		b := t.buf.Bytes()[t.buf.Len()-t.max:]
		nb := append([]byte(nil), b...)
		t.buf.Reset()
		t.buf.Write(nb)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.buf.String()
}
