package worker_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/execnet-conform/execnet-conform/internal/peers"
	"github.com/execnet-conform/execnet-conform/internal/sshdtest"
	"github.com/execnet-conform/execnet-conform/reference/worker"
)

// workerBin is the execnet-conform binary built once by TestMain.
var workerBin string

func TestMain(m *testing.M) {
	os.Exit(buildAndRun(m))
}

func buildAndRun(m *testing.M) int {
	dir, err := os.MkdirTemp("", "execnet-conform-worker-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	defer os.RemoveAll(dir)
	workerBin = filepath.Join(dir, "execnet-conform")
	cmd := exec.Command("go", "build", "-o", workerBin, "../../cmd/execnet-conform")
	cmd.Stdout = os.Stderr
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building execnet-conform:", err)
		return 2
	}
	code := m.Run()
	if code == 0 {
		// Every goroutine of the in-process gateways and servers must
		// have ended with its test.
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goroutine leak:", err)
			return 1
		}
	}
	return code
}

const (
	profilePy   = "../../conformance/profile/profile.py"
	driverPy    = "../../conformance/profile/testdata/drive_profile.py"
	scenariosPy = "testdata/scenarios.py"
)

// runPython runs a driver script and returns its combined output; it fails
// t unless the script exits 0 and prints "done" and "ok X" for each want.
func runPython(t *testing.T, py string, want []string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, args...)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	text := out.String()
	if err != nil || !strings.Contains(text, "\ndone\n") {
		t.Fatalf("%s %s failed (%v):\n%s", py, strings.Join(args, " "), err, text)
	}
	for _, w := range want {
		if !strings.Contains(text, "ok "+w+"\n") {
			t.Errorf("check %q did not pass:\n%s", w, text)
		}
	}
	return text
}

var profileChecks = []string{"info", "echo", "fail", "stream", "newchannel", "dumps", "loads", "kwargs", "sleep", "gatewayid"}

// TestProfilePopen runs every profile procedure on the Go worker started
// by a Python execnet master (CPython and PyPy) over popen, in both
// documented forms.
func TestProfilePopen(t *testing.T) {
	for name, py := range peers.Interpreters(t) {
		for _, spec := range []string{
			"popen//python=" + workerBin + " worker",
			"popen//python=" + workerBin + "//dont_write_bytecode",
		} {
			t.Run(name+"/"+spec[len("popen//python="+workerBin):], func(t *testing.T) {
				t.Parallel()
				runPython(t, py, profileChecks, driverPy, profilePy, spec, "execnet-conform-go")
			})
		}
	}
}

// startListener starts "execnet-conform worker --listen 127.0.0.1:0" and
// returns the address it prints. The process ends with the test.
func startListener(t *testing.T) string {
	t.Helper()
	cmd := exec.Command(workerBin, "worker", "--listen", "127.0.0.1:0")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("listener exit after SIGINT: %v", err)
			}
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
			t.Errorf("listener did not exit within 10s of SIGINT")
		}
	})
	addrc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		re := regexp.MustCompile(`^listening on (\S+) \(no authentication\)$`)
		sent := false
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil && !sent {
				addrc <- m[1]
				sent = true
			}
		}
		if !sent {
			close(addrc)
		}
	}()
	select {
	case addr, ok := <-addrc:
		if !ok {
			t.Fatal("listener exited without printing its address")
		}
		return addr
	case <-time.After(10 * time.Second):
		t.Fatal("listener printed no address within 10s")
	}
	return ""
}

// TestProfileSocket runs the profile over execnet's socket gateway
// against the Go socket server, with some clients that connect and leave
// without a bootstrap line in between.
func TestProfileSocket(t *testing.T) {
	py := peers.CPython(t)
	addr := startListener(t)
	for i := 0; i < 3; i++ {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if i == 1 {
			_, _ = c.Write([]byte("partial line without newline"))
		}
		c.Close()
	}
	runPython(t, py, profileChecks, driverPy, profilePy, "socket="+addr, "execnet-conform-go")
	// A second gateway on the same server.
	runPython(t, py, []string{"concurrent", "source_only"}, scenariosPy, profilePy, "socket="+addr, "concurrent", "source_only")
}

// TestScenariosPopen covers gateway behaviour with a CPython master:
// concurrent channels, callbacks, status, exit, groups and refusals.
func TestScenariosPopen(t *testing.T) {
	py := peers.CPython(t)
	spec := "popen//python=" + workerBin + " worker"
	names := []string{"concurrent", "callbacks", "status", "exit", "group", "source_only"}
	if _, err := os.Stat("/proc/self/fd"); err == nil {
		names = append(names, "stdio")
	}
	for _, n := range names {
		t.Run(n, func(t *testing.T) {
			t.Parallel()
			runPython(t, py, []string{n}, scenariosPy, profilePy, spec, n)
		})
	}
}

// TestServeReadsRealBootstrapLine captures a real execnet exec-style
// bootstrap line and checks the worker id found in it.
func TestServeReadsRealBootstrapLine(t *testing.T) {
	py := peers.CPython(t)
	dir := t.TempDir()
	capture := filepath.Join(dir, "capture.sh")
	lineFile := filepath.Join(dir, "line")
	script := "#!/bin/sh\nhead -n 1 > " + lineFile + "\nexit 3\n"
	if err := os.WriteFile(capture, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, _ := exec.CommandContext(ctx, py, "-c",
		"import execnet, sys\ntry:\n execnet.makegateway(sys.argv[1])\nexcept BaseException:\n pass\n",
		"popen//python="+capture+"//id=probe7").CombinedOutput()
	line, err := os.ReadFile(lineFile)
	if err != nil {
		t.Fatalf("no bootstrap line captured: %v (%s)", err, out)
	}
	if len(line) < 10000 || !bytes.HasSuffix(line, []byte("\n")) {
		t.Fatalf("captured line of %d bytes does not look like execnet's exec-style bootstrap", len(line))
	}
	if got := worker.WorkerID(line); got != "probe7-worker" {
		t.Fatalf("WorkerID(real line) = %q, want %q", got, "probe7-worker")
	}
}

// TestProfileSSH runs the profile on the Go worker started by a CPython
// execnet master through OpenSSH (a real sshd on loopback), as
// "ssh=HOST//python=execnet-conform": the remote shell runs
// "execnet-conform -c LINE".
func TestProfileSSH(t *testing.T) {
	py := peers.CPython(t)
	srv := sshdtest.Start(t, sshdtest.Options{})
	cfg := filepath.Join(t.TempDir(), "ssh_config")
	conf := fmt.Sprintf(`Host conformhost
  HostName %s
  Port %d
  User %s
  IdentityFile %s
  IdentitiesOnly yes
  UserKnownHostsFile %s
  StrictHostKeyChecking yes
  BatchMode yes
`, srv.Host, srv.Port, srv.User, srv.UserKeyPath, srv.KnownHostsPath)
	if err := os.WriteFile(cfg, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	spec := "ssh=conformhost//ssh_config=" + cfg + "//python=" + workerBin
	runPython(t, py, profileChecks, driverPy, profilePy, spec, "execnet-conform-go")
}

// TestLoadsVectors sends the golden reject vectors through the Go
// worker's conform_loads and checks each error class.
func TestLoadsVectors(t *testing.T) {
	py := peers.CPython(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, py, "../../conformance/profile/testdata/loads_vectors.py", profilePy,
		"../../testdata/vectors/vectors.json", "popen//python="+workerBin+" worker").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "\ndone\n") {
		t.Fatalf("%v:\n%s", err, out)
	}
}
