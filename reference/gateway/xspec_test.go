//go:build unix

package gateway_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/execnet-conform/execnet-conform/internal/peers"
	"github.com/execnet-conform/execnet-conform/reference/codec"
	"github.com/execnet-conform/execnet-conform/reference/gateway"
	"github.com/execnet-conform/execnet-conform/reference/transport"
	"github.com/execnet-conform/execnet-conform/reference/xspec"
)

// TestXspecKeysPython opens Python workers (CPython and PyPy) with every
// key execnet applies, and reads back what the worker sees.
func TestXspecKeysPython(t *testing.T) {
	for name, interp := range peers.Interpreters(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(t.TempDir(), "made by chdir")
			spec := "popen//python=" + interp + " -X dev//id=mine//chdir=" + dir +
				"//env:XC_FOO=bar baz//env:XC_EMPTY=//nice=3//dont_write_bytecode//execmodel=thread"
			gw := openOne(t, spec)
			if gw.ID() != "mine" {
				t.Errorf("ID = %q, want mine", gw.ID())
			}
			ctx := testCtx(t, 20*time.Second)
			ch, err := gw.RemoteExecSource(ctx, `
				import os, sys
				channel.send((channel.gateway.id, os.getcwd(), os.environ.get("XC_FOO"),
				              os.environ.get("XC_EMPTY"), sys.dont_write_bytecode,
				              bool(sys.flags.dev_mode), os.nice(0)))
			`)
			if err != nil {
				t.Fatal(err)
			}
			v, err := ch.Receive(ctx)
			if err != nil {
				t.Fatal(err)
			}
			// nice=3 adds 3 to the niceness the worker inherits from this
			// test (os.nice, as execnet does), so the test also passes
			// when run under nice.
			wantNice := codec.Int(niceAfter(3))
			want := codec.Tuple{codec.Str("mine-worker"), codec.Str(dir), codec.Str("bar baz"), codec.Str(""),
				codec.Bool(true), codec.Bool(true), wantNice}
			if !codec.Identical(v, want) {
				t.Fatalf("worker sees %s\nwant        %s", codec.Repr(v), codec.Repr(want))
			}
			// Later executions run on other threads of the worker's pool:
			// they see the niceness too.
			for i := 0; i < 3; i++ {
				ch, err := gw.RemoteExecSource(ctx, "import os; channel.send(os.nice(0))")
				if err != nil {
					t.Fatal(err)
				}
				if v, err := ch.Receive(ctx); err != nil || !codec.Identical(v, wantNice) {
					t.Fatalf("execution %d sees niceness %v, %v; want %d", i, v, err, wantNice)
				}
			}
			st, err := gw.Status(ctx)
			if err != nil || st.ExecModel != "thread" {
				t.Fatalf("Status = %+v, %v; want execmodel thread", st, err)
			}
		})
	}
}

// TestXspecKeysGoWorker: the Go worker applies chdir=, env: and nice=
// natively; the test reads them from /proc.
func TestXspecKeysGoWorker(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads the worker's state from /proc (Linux)")
	}
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "go worker dir")
	gw := openOne(t, goProbeSpec()+"//id=gow//chdir="+dir+"//env:XC_FOO=bar baz//nice=4")
	if gw.ID() != "gow" {
		t.Errorf("ID = %q", gw.ID())
	}
	pid := strconv.Itoa(gw.Pid())
	cwd, err := os.Readlink("/proc/" + pid + "/cwd")
	if err != nil || cwd != dir {
		t.Errorf("worker cwd = %q, %v; want %q", cwd, err, dir)
	}
	// os.Setenv changes the environment the Go runtime holds, not the
	// copy in /proc/PID/environ, so ask the worker itself (probe mode).
	ctx := testCtx(t, 20*time.Second)
	ch, err := gw.RemoteExec(ctx, gateway.Exec{CallName: probeCallName})
	if err != nil {
		t.Fatal(err)
	}
	v, err := ch.Receive(ctx)
	if want := (codec.Tuple{codec.Str(dir), codec.Str("bar baz")}); err != nil || !codec.Identical(v, want) {
		t.Errorf("worker reports %v, %v; want %s", v, err, codec.Repr(want))
	}
	tasks, err := os.ReadDir("/proc/" + pid + "/task")
	if err != nil {
		t.Fatal(err)
	}
	for _, task := range tasks {
		stat, err := os.ReadFile("/proc/" + pid + "/task/" + task.Name() + "/stat")
		if err != nil {
			continue // the thread ended
		}
		fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
		if want := strconv.Itoa(niceAfter(4)); fields[16] != want {
			t.Errorf("thread %s of the worker has niceness %s, want %s", task.Name(), fields[16], want)
		}
	}
}

// TestXspecSetupFailure: a chdir that cannot be made fails Open with the
// worker's error, for both kinds of worker, and leaves no process.
func TestXspecSetupFailure(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "missing parent", "child")
	for _, tc := range []struct{ name, spec, want string }{
		{"python", pythonSpec(t), "FileNotFoundError"},
		{"go", goWorkerSpec(), "OSError"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := testCtx(t, 20*time.Second)
			gw, err := gateway.Open(ctx, tc.spec+"//chdir="+bad)
			var re *gateway.RemoteError
			if err == nil {
				gw.Exit(context.Background())
				t.Fatal("Open succeeded with a chdir that cannot be made")
			}
			if !errors.As(err, &re) || !strings.Contains(re.Text, tc.want) || !strings.Contains(err.Error(), "chdir") {
				t.Fatalf("Open = %v; want a RemoteError with %s", err, tc.want)
			}
		})
	}
}

// TestXspecUnknownKey: Open and Group.Open refuse unknown keys before
// starting anything, naming the known keys.
func TestXspecUnknownKey(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t, 5*time.Second)
	for _, open := range []func(string) error{
		func(s string) error { _, err := gateway.Open(ctx, s); return err },
		func(s string) error {
			_, err := gateway.NewGroup().Open(ctx, "popen//python=/bin/false", s)
			return err
		},
	} {
		err := open("popen//python=/nonexistent/python//chdirr=/tmp")
		if !errors.Is(err, xspec.ErrUnknownKey) {
			t.Fatalf("unknown key: %v, want ErrUnknownKey", err)
		}
		for _, k := range []string{`"chdirr"`, "chdir", "nice", "env:NAME", "dont_write_bytecode", "execmodel"} {
			if !strings.Contains(err.Error(), k) {
				t.Errorf("error %q does not name %s", err, k)
			}
		}
		var be *transport.BootstrapError
		if errors.As(err, &be) {
			t.Fatalf("a process was started: %v", err)
		}
	}
}

// TestXspecExecModelPassedThrough: execmodel= reaches the Python
// worker's bootstrap. This execnet has no eventlet installed, so the
// worker fails to start, naming it.
func TestXspecExecModelPassedThrough(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t, 20*time.Second)
	gw, err := gateway.Open(ctx, pythonSpec(t)+"//execmodel=eventlet")
	if err == nil {
		defer gw.Exit(context.Background())
		st, err := gw.Status(ctx)
		if err != nil || st.ExecModel != "eventlet" {
			t.Fatalf("worker with eventlet installed: Status = %+v, %v", st, err)
		}
		return
	}
	var be *transport.BootstrapError
	if !errors.As(err, &be) || !strings.Contains(err.Error(), "eventlet") {
		t.Fatalf("Open = %v; want a bootstrap error naming eventlet", err)
	}
}

// niceAfter is the niceness of a process started by this test that adds
// inc to the niceness it inherits (nice= adds, as os.nice does): this
// process's own niceness (from /proc/self/stat, 0 where there is none)
// plus inc, at most 19.
func niceAfter(inc int) int {
	base := 0
	if stat, err := os.ReadFile("/proc/self/stat"); err == nil {
		fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
		if len(fields) > 16 {
			base, _ = strconv.Atoi(fields[16])
		}
	}
	return min(base+inc, 19)
}
