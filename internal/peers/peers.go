// Package peers finds the real peers that tests talk to (Python execnet on
// CPython and PyPy, OpenSSH's sshd). A test whose peer is missing skips with
// a clear message, or fails when EXECNET_REQUIRE_PEERS=1 (as in .ci/run).
package peers

import (
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
)

// Required reports whether missing peers must fail tests.
func Required() bool { return os.Getenv("EXECNET_REQUIRE_PEERS") == "1" }

// Missing skips t, or fails it when peers are required.
func Missing(t testing.TB, what string) {
	t.Helper()
	msg := "peer not available: " + what + " (install with: apt-get install -y python3-execnet pypy3 openssh-server)"
	if Required() {
		t.Fatal(msg + "; EXECNET_REQUIRE_PEERS=1 makes this a failure")
	}
	t.Skip(msg)
}

var (
	probeMu sync.Mutex
	probed  = map[string]string{}
)

// execnetVersion runs interp and returns the execnet version it imports, or "".
func execnetVersion(interp string) string {
	probeMu.Lock()
	defer probeMu.Unlock()
	if v, ok := probed[interp]; ok {
		return v
	}
	out, err := exec.Command(interp, "-c", "import execnet; print(execnet.__version__)").Output()
	v := ""
	if err == nil {
		v = strings.TrimSpace(string(out))
	}
	probed[interp] = v
	return v
}

// CPythonPath is Debian's interpreter, which sees python3-execnet.
const CPythonPath = "/usr/bin/python3"

// PyPyPath is Debian's PyPy 3 interpreter.
const PyPyPath = "/usr/bin/pypy3"

// CPython returns the path of a CPython interpreter that imports execnet,
// or skips/fails t.
func CPython(t testing.TB) string {
	t.Helper()
	if execnetVersion(CPythonPath) == "" {
		Missing(t, CPythonPath+" with execnet")
	}
	return CPythonPath
}

// PyPy returns the path of a PyPy interpreter that imports execnet, or
// skips/fails t.
func PyPy(t testing.TB) string {
	t.Helper()
	if execnetVersion(PyPyPath) == "" {
		Missing(t, PyPyPath+" with execnet")
	}
	return PyPyPath
}

// Interpreters returns every available Python interpreter with execnet as
// name→path ("cpython", "pypy"). Missing ones are skipped as subtests
// would be: when peers are required, a missing one fails t.
func Interpreters(t testing.TB) map[string]string {
	t.Helper()
	m := map[string]string{}
	for name, p := range map[string]string{"cpython": CPythonPath, "pypy": PyPyPath} {
		if execnetVersion(p) != "" {
			m[name] = p
		} else if Required() {
			t.Fatalf("peer not available: %s with execnet; EXECNET_REQUIRE_PEERS=1 makes this a failure", p)
		}
	}
	if len(m) == 0 {
		Missing(t, "any Python with execnet")
	}
	return m
}

// SSHD returns the path of OpenSSH's sshd, or skips/fails t.
func SSHD(t testing.TB) string {
	t.Helper()
	for _, p := range []string{"/usr/sbin/sshd"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	Missing(t, "OpenSSH sshd (/usr/sbin/sshd)")
	return ""
}

// SSH returns the path of OpenSSH's ssh client, or skips/fails t.
func SSH(t testing.TB) string {
	t.Helper()
	if p, err := exec.LookPath("ssh"); err == nil {
		return p
	}
	Missing(t, "OpenSSH ssh client")
	return ""
}
