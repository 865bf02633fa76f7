package sshtransport

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/execnet-conform/execnet-conform/internal/peers"
	"github.com/execnet-conform/execnet-conform/internal/sshdtest"
	"github.com/execnet-conform/execnet-conform/reference/frame"
	"github.com/execnet-conform/execnet-conform/spec"
)

// importLine is a minimal import-style bootstrap line for the tests:
// a Python string literal holding the source, then a newline.
func importLine() string {
	src := "import sys\n" +
		"from execnet.gateway_base import serve, init_popen_io, get_execmodel\n" +
		"sys.stdout.write('1')\nsys.stdout.flush()\n" +
		"serve(init_popen_io(get_execmodel('thread')), id='ssh-worker')\n"
	return strconv.QuoteToASCII(src) + "\n"
}

func config(s *sshdtest.Server) Config {
	return Config{User: s.User, Host: s.Host, Port: s.Port, KeyFiles: []string{s.UserKeyPath},
		KnownHosts: []string{s.KnownHostsPath}, NoAgent: true, DialTimeout: 5 * time.Second}
}

func execFrame(ch int32, src string) frame.Frame {
	var p []byte
	p = append(p, 'N')
	p = append(p, byte(len(src)>>24), byte(len(src)>>16), byte(len(src)>>8), byte(len(src)))
	p = append(p, src...)
	p = append(p, 'L', 'L', 'J', '@', 0, 0, 0, 4, 'Q')
	return frame.Frame{Code: spec.MsgChannelExec, Channel: ch, Payload: p}
}

func TestPythonWorkerOverSSH(t *testing.T) {
	py := peers.CPython(t)
	srv := sshdtest.Start(t, sshdtest.Options{})
	ctx := context.Background()
	c, err := Dial(ctx, config(srv))
	if err != nil {
		t.Fatalf("dial: %v\n%s", err, srv.Log())
	}
	s, err := Start(ctx, c, true, RemoteCommand(py), importLine(), 30*time.Second)
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	if err := frame.Write(s, execFrame(1, "channel.send(42)")); err != nil {
		t.Fatal(err)
	}
	r := frame.NewReader(s)
	f, err := r.ReadFrame()
	if err != nil {
		t.Fatal(err)
	}
	want := []byte{'F', 0, 0, 0, 42, 'Q'}
	if f.Code != spec.MsgChannelData || f.Channel != 1 || !bytes.Equal(f.Payload, want) {
		t.Fatalf("got %v %x, want CHANNEL_DATA ch=1 %x", f, f.Payload, want)
	}
	if f, err = r.ReadFrame(); err != nil || f.Code != spec.MsgChannelClose {
		t.Fatalf("want CHANNEL_CLOSE, got %v %v", f, err)
	}
	if err := frame.Write(s, frame.Frame{Code: spec.MsgGatewayTerminate}); err != nil {
		t.Fatal(err)
	}
	_ = s.CloseWrite()
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	st, err := s.Wait(wctx)
	if err != nil || st.Code != 0 {
		t.Fatalf("exit: %+v %v (stderr %q)", st, err, s.Stderr())
	}
}

func TestFailures(t *testing.T) {
	srv := sshdtest.Start(t, sshdtest.Options{})
	ctx := context.Background()

	t.Run("host-key-mismatch", func(t *testing.T) {
		other := sshdtest.Start(t, sshdtest.Options{}) // a different host key
		cfg := config(srv)
		// known_hosts that names srv's address with other's key
		b, _ := os.ReadFile(other.KnownHostsPath)
		kh := filepath.Join(t.TempDir(), "known_hosts")
		line := bytes.Replace(b, []byte(other.Addr[len(other.Host)+1:]), []byte(strconv.Itoa(srv.Port)), 1)
		if err := os.WriteFile(kh, line, 0o600); err != nil {
			t.Fatal(err)
		}
		cfg.KnownHosts = []string{kh}
		_, err := Dial(ctx, cfg)
		if !errors.Is(err, ErrHostKeyMismatch) {
			t.Fatalf("want ErrHostKeyMismatch, got %v", err)
		}
	})
	t.Run("host-key-unknown", func(t *testing.T) {
		cfg := config(srv)
		kh := filepath.Join(t.TempDir(), "known_hosts")
		os.WriteFile(kh, nil, 0o600)
		cfg.KnownHosts = []string{kh}
		_, err := Dial(ctx, cfg)
		if !errors.Is(err, ErrHostKeyUnknown) {
			t.Fatalf("want ErrHostKeyUnknown, got %v", err)
		}
	})
	t.Run("unknown-user", func(t *testing.T) {
		cfg := config(srv)
		cfg.User = "no-such-user-xyz"
		_, err := Dial(ctx, cfg)
		if !errors.Is(err, ErrAuthFailed) {
			t.Fatalf("want ErrAuthFailed, got %v", err)
		}
	})
	t.Run("connection-refused", func(t *testing.T) {
		cfg := config(srv)
		cfg.Port = 1 // nothing listens on port 1 here
		_, err := Dial(ctx, cfg)
		if !errors.Is(err, ErrConnectionRefused) {
			t.Fatalf("want ErrConnectionRefused, got %v", err)
		}
	})
	t.Run("host-not-found", func(t *testing.T) {
		cfg := config(srv)
		cfg.Host = "no-such-host.invalid"
		_, err := Dial(ctx, cfg)
		if !errors.Is(err, ErrHostNotFound) {
			t.Fatalf("want ErrHostNotFound, got %v", err)
		}
	})
	t.Run("python-not-found", func(t *testing.T) {
		c, err := Dial(ctx, config(srv))
		if err != nil {
			t.Fatal(err)
		}
		_, err = Start(ctx, c, true, RemoteCommand("/nonexistent/python3"), importLine(), 30*time.Second)
		if !errors.Is(err, ErrPythonNotFound) {
			t.Fatalf("want ErrPythonNotFound, got %v", err)
		}
	})
	t.Run("bootstrap-timeout", func(t *testing.T) {
		c, err := Dial(ctx, config(srv))
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		_, err = Start(ctx, c, true, "echo $$; exec sleep 29.123", "x\n", 500*time.Millisecond)
		if !errors.Is(err, ErrBootstrapTimeout) {
			t.Fatalf("want ErrBootstrapTimeout, got %v", err)
		}
		// the remote process was killed, not left behind
		waitGone(t, func() bool { return exec.Command("pgrep", "-f", "sleep 29.123").Run() != nil }, "remote 'sleep 29.123'")
		// 0.5 s, then a remote kill through a second session: generous
		// bound for a loaded CI machine.
		if d := time.Since(start); d > 15*time.Second {
			t.Fatalf("timeout took %v", d)
		}
	})
	t.Run("sshd-killed-mid-session", func(t *testing.T) {
		py := peers.CPython(t)
		own := sshdtest.Start(t, sshdtest.Options{})
		c, err := Dial(ctx, config(own))
		if err != nil {
			t.Fatal(err)
		}
		s, err := Start(ctx, c, true, RemoteCommand(py), importLine(), 30*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		own.KillAll()
		done := make(chan error, 1)
		go func() { _, err := io.ReadAll(s); done <- err }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("read did not end after sshd was killed")
		}
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if _, err := s.Wait(wctx); errors.Is(err, context.DeadlineExceeded) {
			t.Fatal("Wait did not return after sshd was killed")
		}
		// the worker saw EOF on stdin and ended: no process left behind
		pid := s.Pid()
		waitGone(t, func() bool { _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); return err != nil }, fmt.Sprintf("remote worker pid %d", pid))
	})
}

// waitGone waits up to 10 s for gone to report true.
func waitGone(t *testing.T, gone func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !gone() {
		if time.Now().After(deadline) {
			t.Fatalf("%s is still running", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
