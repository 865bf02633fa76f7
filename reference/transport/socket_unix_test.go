//go:build unix

package transport

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/execnet-conform/execnet-conform/internal/peers"
)

const socketServerScript = "/usr/lib/python3/dist-packages/execnet/script/socketserver.py"

// startSocketServer runs execnet's socket server under py on a free
// loopback port and returns "127.0.0.1:PORT". The server is killed and
// reaped when the test ends.
func startSocketServer(t *testing.T, py string) string {
	t.Helper()
	if _, err := os.Stat(socketServerScript); err != nil {
		peers.Missing(t, socketServerScript)
	}
	cmd := exec.Command(py, "-u", socketServerScript, "127.0.0.1:0")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("socket server not reaped")
		}
	})
	addr := make(chan string, 1)
	go func() {
		re := regexp.MustCompile(`Entering Accept loop \('([0-9.]+)', ([0-9]+)\)`)
		sc := bufio.NewScanner(out)
		found := false
		for sc.Scan() { // keep draining so the server never blocks on stdout
			if m := re.FindStringSubmatch(sc.Text()); m != nil && !found {
				found = true
				addr <- net.JoinHostPort(m[1], m[2])
			}
		}
	}()
	select {
	case a := <-addr:
		return a
	case <-done:
		t.Fatal("socket server exited")
	case <-time.After(10 * time.Second):
		t.Fatal("socket server did not report its port")
	}
	return ""
}

func TestSocketExecnetServer(t *testing.T) {
	for name, py := range peers.Interpreters(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			addr := startSocketServer(t, py)
			// The server loops: two gateways one after the other.
			for i := 0; i < 2; i++ {
				c, err := open(t, "socket="+addr, Options{})
				if err != nil {
					t.Fatal(err)
				}
				if c.Process() != nil {
					t.Fatal("socket conn has a process")
				}
				exchange(t, c)
			}
		})
	}
}

func TestSocketFailures(t *testing.T) {
	t.Parallel()
	// Nothing listens: a closed port refuses at once. A parallel test may
	// take the freed port before the dial (it then resets the connection
	// instead), so a reset is retried on another freed port.
	var err error
	for try := 0; try < 5; try++ {
		l, lerr := net.Listen("tcp", "127.0.0.1:0")
		if lerr != nil {
			t.Fatal(lerr)
		}
		closed := l.Addr().String()
		l.Close()
		_, err = open(t, "socket="+closed, Options{GatewayBaseSource: "# unused\n"})
		if !errors.Is(err, syscall.ECONNRESET) {
			break
		}
	}
	var be *BootstrapError
	if !errors.As(err, &be) || !errors.Is(err, ErrBootstrapIO) || !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("refused: %v", err)
	}

	// A server that accepts and stays silent: timeout. One that answers
	// garbage: quoted. One that hangs up: worker exited.
	srv, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	go func() {
		for i := 0; ; i++ {
			c, err := srv.Accept()
			if err != nil {
				return
			}
			go func(i int, c net.Conn) {
				defer c.Close()
				line, _ := bufio.NewReader(c).ReadString('\n')
				if !strings.HasSuffix(line, "'\n") {
					return
				}
				switch i {
				case 0: // silent until the client hangs up
					_, _ = io.Copy(io.Discard, c)
				case 1:
					c.Write([]byte("HTTP/1.0 400 Bad Request\r\n"))
				}
			}(i, c)
		}
	}()
	spec := "socket=" + srv.Addr().String()
	opts := Options{GatewayBaseSource: "# stand-in\n", BootstrapTimeout: 300 * time.Millisecond}
	_, err = open(t, spec, opts)
	if !errors.Is(err, ErrBootstrapTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("silent server: %v", err)
	}
	opts.BootstrapTimeout = 5 * time.Second
	_, err = open(t, spec, opts)
	if !errors.As(err, &be) || !errors.Is(err, ErrBadReadyByte) || string(be.Received) != "HTTP/1.0 400 Bad Request\r\n" {
		t.Fatalf("garbage: %v", err)
	}
	_, err = open(t, spec, opts)
	if !errors.Is(err, ErrWorkerExited) {
		t.Fatalf("hang-up: %v", err)
	}
}
