package profile

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/execnet-conform/execnet-conform/internal/peers"
	"github.com/execnet-conform/execnet-conform/reference/codec"
)

func TestNamesAndParams(t *testing.T) {
	want := []string{Echo, Fail, Stream, NewChannel, Dumps, Loads, Info, Sleep, GatewayID}
	if got := Names(); !reflect.DeepEqual(got, want) {
		t.Fatalf("Names() = %v, want %v", got, want)
	}
	p, err := Params(Stream)
	if err != nil || !reflect.DeepEqual(p, []string{"count", "size"}) {
		t.Fatalf("Params(stream) = %v, %v", p, err)
	}
	if _, err := Source("conform_nope"); !errors.Is(err, ErrUnknownProcedure) {
		t.Fatalf("Source(unknown) error = %v, want ErrUnknownProcedure", err)
	}
}

func TestPayloadChecksKwargs(t *testing.T) {
	kw, _ := codec.NewDict(codec.Item{Key: codec.Str("message"), Value: codec.Str("x")})
	tup, err := Payload(Fail, kw)
	if err != nil {
		t.Fatal(err)
	}
	if len(tup) != 4 || tup[2] != codec.Str(Fail) || tup[1] != codec.Str(FileName) {
		t.Fatalf("payload = %v", tup)
	}
	if _, err := Payload(Fail, nil); err == nil || !strings.Contains(err.Error(), "missing keyword arguments: message") {
		t.Fatalf("missing kwarg error = %v", err)
	}
	bad, _ := codec.NewDict(codec.Item{Key: codec.Str("nope"), Value: codec.Int(1)})
	if _, err := Payload(Echo, bad); err == nil || !strings.Contains(err.Error(), "unexpected keyword argument") {
		t.Fatalf("extra kwarg error = %v", err)
	}
	nonstr, _ := codec.NewDict(codec.Item{Key: codec.Int(1), Value: codec.Int(1)})
	if err := CheckKwargs(Echo, nonstr); err == nil {
		t.Fatal("int keyword name accepted")
	}
}

// TestSourceMatchesExecnet asks real execnet for the text its remote_exec
// sends for each profile function and compares it with Source.
func TestSourceMatchesExecnet(t *testing.T) {
	for name, py := range peers.Interpreters(t) {
		t.Run(name, func(t *testing.T) {
			path, err := filepath.Abs("profile.py")
			if err != nil {
				t.Fatal(err)
			}
			const driver = `
import json, sys
from execnet import gateway
ns = {}
with open(sys.argv[1]) as f:
    exec(compile(f.read(), sys.argv[1], "exec"), ns)
out = {}
for name, fn in ns.items():
    if name.startswith("conform_"):
        out[name] = gateway._source_of_function(fn)
print(json.dumps(out))
`
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, py, "-c", driver, path)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("%v: %s", err, stderr.String())
			}
			var got map[string]string
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatal(err)
			}
			if len(got) != len(Names()) {
				t.Errorf("execnet sees %d procedures, Names() has %d", len(got), len(Names()))
			}
			for _, n := range Names() {
				src, err := Source(n)
				if err != nil {
					t.Fatal(err)
				}
				if got[n] != src {
					t.Errorf("%s: Source differs from execnet's remote_exec text\n got: %q\nwant: %q", n, src, got[n])
				}
			}
		})
	}
}

// TestPythonProfile runs every procedure on real Python execnet workers,
// started both in import style (popen) and in exec style (python=), with
// the master on each available interpreter.
func TestPythonProfile(t *testing.T) {
	interps := peers.Interpreters(t)
	path, err := filepath.Abs("profile.py")
	if err != nil {
		t.Fatal(err)
	}
	for mname, master := range interps {
		// Import style (plain popen) and exec style (python=) with every
		// worker interpreter, except PyPy driving PyPy in exec style,
		// which adds only time.
		specs := []string{"popen"}
		for wname, worker := range interps {
			if mname == "pypy" && wname == "pypy" {
				continue
			}
			specs = append(specs, "popen//python="+worker)
		}
		for _, spec := range specs {
			t.Run(mname+"/"+spec, func(t *testing.T) {
				t.Parallel()
				runDriver(t, master, path, spec, "python-execnet")
			})
		}
	}
}

// runDriver runs testdata/drive_profile.py on interpreter py against the
// gateway xspec and fails t unless every check passes.
func runDriver(t *testing.T, py, profilePath, xspec, impl string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, "testdata/drive_profile.py", profilePath, xspec, impl)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	err := cmd.Run()
	text := out.String()
	if err != nil || !strings.Contains(text, "\ndone\n") {
		t.Fatalf("driver failed (%v):\n%s", err, text)
	}
	for _, check := range []string{"info", "echo", "fail", "stream", "newchannel", "dumps", "loads", "kwargs", "sleep", "gatewayid"} {
		if !strings.Contains(text, "ok "+check+"\n") {
			t.Errorf("check %s did not pass:\n%s", check, text)
		}
	}
}

// TestPythonLoadsVectors checks profile.py's error classification against
// the golden reject vectors, on every available interpreter.
func TestPythonLoadsVectors(t *testing.T) {
	path, err := filepath.Abs("profile.py")
	if err != nil {
		t.Fatal(err)
	}
	for name, py := range peers.Interpreters(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			out, err := exec.CommandContext(ctx, py, "testdata/loads_vectors.py", path,
				"../../testdata/vectors/vectors.json", "popen").CombinedOutput()
			if err != nil || !strings.Contains(string(out), "\ndone\n") {
				t.Fatalf("%v:\n%s", err, out)
			}
		})
	}
}

// TestTableCheckKwargs checks that a Table gives the package function's
// verdicts and messages, and that a check through it parses nothing (the
// Go worker checks every execution's call through one Table).
func TestTableCheckKwargs(t *testing.T) {
	tbl := NewTable()
	d := func(items ...codec.Item) *codec.Dict {
		t.Helper()
		x, err := codec.NewDict(items...)
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	str := func(k string, v codec.Value) codec.Item { return codec.Item{Key: codec.Str(k), Value: v} }
	cases := []struct {
		name string
		kw   *codec.Dict
		ok   bool
	}{
		{Echo, d(), true},
		{Stream, d(str("count", codec.Int(1)), str("size", codec.Int(2))), true},
		{Stream, d(str("size", codec.Int(2)), str("count", codec.Int(1))), true},
		{Stream, d(), false},
		{Stream, d(str("size", codec.Int(2))), false},
		{Stream, d(str("count", codec.Int(1)), str("size", codec.Int(2)), str("extra", codec.Int(3))), false},
		{Echo, d(str("x", codec.Int(1))), false},
		{Echo, d(codec.Item{Key: codec.Int(1), Value: codec.Int(1)}), false},
		{"conform_nope", d(), false},
	}
	for _, c := range cases {
		want := CheckKwargs(c.name, c.kw)
		got := tbl.CheckKwargs(c.name, c.kw)
		if (got == nil) != c.ok || fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s(%v): Table says %v, CheckKwargs %v, want ok=%v", c.name, c.kw, got, want, c.ok)
		}
	}
	empty := d()
	if n := testing.AllocsPerRun(50, func() { _ = tbl.CheckKwargs(Echo, empty) }); n != 0 {
		t.Errorf("Table.CheckKwargs(conform_echo) allocates %.0f times per call, want 0", n)
	}
}
