package transport

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// The bootstrap styles of Options.Style and the style= xspec key.
const (
	// StyleImport: the worker imports execnet.gateway_base from its own
	// installation. This tests the interpreter's own execnet.
	StyleImport = "import"
	// StyleExec: the master sends the whole gateway_base.py source, so
	// the worker needs no execnet installed.
	StyleExec = "exec"
)

// ImportSource returns the Python source of an import-style bootstrap: it
// takes serve, init_popen_io and get_execmodel from the worker's own
// execnet.gateway_base, moves the protocol off fds 0 and 1, writes the
// ready byte and serves as workerID with the given execution model
// ("thread" when empty).
func ImportSource(workerID, execModel string) string {
	return "import sys\n" +
		"from execnet.gateway_base import serve, init_popen_io, get_execmodel\n" +
		popenTail(workerID, execModel)
}

// ExecSource returns the Python source of an exec-style popen bootstrap:
// gatewayBase (the text of execnet's gateway_base.py) followed by lines
// that set up the popen io, write the ready byte and serve.
func ExecSource(gatewayBase, workerID, execModel string) string {
	return strings.TrimRight(gatewayBase, "\n") + "\n\n" + popenTail(workerID, execModel)
}

func popenTail(workerID, execModel string) string {
	if execModel == "" {
		execModel = "thread"
	}
	return fmt.Sprintf("_xc_io = init_popen_io(get_execmodel(%s))\n"+
		"_xc_io.write(b'1')\n"+
		"serve(_xc_io, id=%s)\n", PyStringLiteral(execModel), PyStringLiteral(workerID))
}

// SocketSource returns the Python source sent to execnet's socket server
// (script/socketserver.py), which evaluates one line and runs it with the
// accepted connection in the global "clientsock": gatewayBase followed by
// a small socket io class of ours, the ready byte and serve.
func SocketSource(gatewayBase, workerID, execModel string) string {
	if execModel == "" {
		execModel = "thread"
	}
	return strings.TrimRight(gatewayBase, "\n") + "\n\n" + `import socket as _xc_socket


class _XcSocketIO(object):
    """Blocking frame io over the connected socket the server handed us."""

    def __init__(self, sock, execmodel):
        self.sock = sock
        self.execmodel = execmodel
        try:
            sock.setsockopt(_xc_socket.IPPROTO_TCP, _xc_socket.TCP_NODELAY, 1)
        except (AttributeError, OSError):
            pass

    def read(self, count):
        parts = []
        got = 0
        while got < count:
            chunk = self.sock.recv(count - got)
            if not chunk:
                raise EOFError("socket closed after %d of %d bytes" % (got, count))
            parts.append(chunk)
            got += len(chunk)
        return b"".join(parts)

    def write(self, data):
        self.sock.sendall(data)

    def _shut(self, how):
        try:
            self.sock.shutdown(how)
        except OSError:
            pass

    def close_read(self):
        self._shut(_xc_socket.SHUT_RD)

    def close_write(self):
        self._shut(_xc_socket.SHUT_WR)

    def wait(self):
        return None

    def kill(self):
        pass


` + fmt.Sprintf("_xc_io = _XcSocketIO(clientsock, get_execmodel(%s))\n"+
		"_xc_io.write(b'1')\n"+
		"serve(_xc_io, id=%s)\n", PyStringLiteral(execModel), PyStringLiteral(workerID))
}

// EnvGatewayBase names the environment variable that may point at an
// execnet gateway_base.py file for the exec style.
const EnvGatewayBase = "EXECNET_GATEWAY_BASE"

// LocateGatewayBase returns the path of an execnet gateway_base.py on this
// machine: $EXECNET_GATEWAY_BASE if set, else the file that
// /usr/bin/python3 (then python3 on PATH) imports, else the first match in
// the usual dist-packages and site-packages directories. Each interpreter
// gets at most 10 seconds, and less if ctx ends sooner.
func LocateGatewayBase(ctx context.Context) (string, error) {
	if p := os.Getenv(EnvGatewayBase); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("%w: $%s: %v", ErrNoGatewayBase, EnvGatewayBase, err)
		}
		return p, nil
	}
	var tried []string
	for _, py := range []string{"/usr/bin/python3", "python3"} {
		qctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		cmd := exec.CommandContext(qctx, py, "-c", "import execnet.gateway_base as g; print(g.__file__)")
		cmd.WaitDelay = time.Second
		out, err := cmd.Output()
		cancel()
		if err == nil {
			p := string(bytes.TrimSpace(out))
			// A compiled-only installation names a .pyc; its source is next to it.
			if strings.HasSuffix(p, ".pyc") {
				p = strings.TrimSuffix(p, "c")
			}
			if _, err := os.Stat(p); err == nil {
				return p, nil
			}
		}
		tried = append(tried, py)
		if ctx.Err() != nil {
			return "", fmt.Errorf("%w: %v", ErrNoGatewayBase, ctx.Err())
		}
	}
	patterns := []string{
		"/usr/lib/python3/dist-packages/execnet/gateway_base.py",
		"/usr/local/lib/python3*/dist-packages/execnet/gateway_base.py",
		"/usr/local/lib/python3*/site-packages/execnet/gateway_base.py",
		"/usr/lib/python3*/site-packages/execnet/gateway_base.py",
		"/usr/lib/pypy3*/dist-packages/execnet/gateway_base.py",
	}
	for _, pat := range patterns {
		if m, _ := filepath.Glob(pat); len(m) > 0 {
			return m[0], nil
		}
	}
	return "", fmt.Errorf("%w: set Options.GatewayBaseSource or $%s, or install execnet for one of %s (searched also %s)",
		ErrNoGatewayBase, EnvGatewayBase, strings.Join(tried, ", "), strings.Join(patterns, ", "))
}

// gatewayBaseSource returns opts.GatewayBaseSource, or reads the located file.
func gatewayBaseSource(ctx context.Context, opts *Options) (string, error) {
	if opts.GatewayBaseSource != "" {
		return opts.GatewayBaseSource, nil
	}
	return ReadGatewayBase(ctx)
}

// ReadGatewayBase returns the text of the gateway_base.py that
// LocateGatewayBase finds. Callers that open many exec-style or socket
// workers can read it once and pass it as Options.GatewayBaseSource.
func ReadGatewayBase(ctx context.Context) (string, error) {
	p, err := LocateGatewayBase(ctx)
	if err != nil {
		return "", err
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrNoGatewayBase, err)
	}
	return string(b), nil
}
