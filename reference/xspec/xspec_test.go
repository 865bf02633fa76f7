package xspec

import (
	"encoding/json"
	"errors"
	"os/exec"
	"reflect"
	"strings"
	"testing"

	"github.com/execnet-conform/execnet-conform/internal/peers"
)

func TestParseFields(t *testing.T) {
	s, err := Parse("popen//python=/usr/bin/python3 -X dev//id=gw7//chdir=/tmp/x//nice=5//execmodel=thread//env:A=1//env:B=x=y//dont_write_bytecode//style=exec//foo=bar")
	if err != nil {
		t.Fatal(err)
	}
	if s.Kind != "popen" || s.Target != "" || s.ID != "gw7" || s.Python != "/usr/bin/python3 -X dev" ||
		s.Chdir != "/tmp/x" || s.Nice != "5" || s.ExecModel != "thread" || !s.DontWriteBytecode || s.Style != "exec" {
		t.Fatalf("fields: %+v", s)
	}
	if !reflect.DeepEqual(s.Env, map[string]string{"A": "1", "B": "x=y"}) || !reflect.DeepEqual(s.EnvKeys, []string{"A", "B"}) {
		t.Fatalf("env: %v %v", s.Env, s.EnvKeys)
	}
	if len(s.Keys) != 11 || s.Keys[10] != (KV{Key: "foo", Value: "bar", HasValue: true, Pos: len(s.Raw) - len("foo=bar")}) {
		t.Fatalf("keys: %+v", s.Keys)
	}
	if s.String() != s.Raw {
		t.Fatal("String")
	}
	if got := s.WorkerID("gw0"); got != "gw7-worker" {
		t.Fatal(got)
	}
	if err := s.Validate(); !errors.Is(err, ErrUnknownKey) || !strings.Contains(err.Error(), `"foo"`) || !strings.Contains(err.Error(), "dont_write_bytecode") {
		t.Fatalf("Validate: %v", err)
	}
}

func TestParseKinds(t *testing.T) {
	for spec, want := range map[string][2]string{
		"socket=127.0.0.1:8888":        {"socket", "127.0.0.1:8888"},
		"ssh=-p 22 user@host//id=x":    {"ssh", "-p 22 user@host"},
		"vagrant_ssh=default":          {"vagrant_ssh", "default"},
		"id=x":                         {"", ""},
		"socket=h:1//popen":            {"popen", ""}, // execnet's precedence
		"popen//via=gw0":               {"popen", ""},
		"socket=:8888//installvia=gw0": {"socket", ":8888"},
	} {
		s, err := Parse(spec)
		if err != nil {
			t.Fatalf("%s: %v", spec, err)
		}
		if s.Kind != want[0] || s.Target != want[1] {
			t.Errorf("%s: kind %q target %q, want %v", spec, s.Kind, s.Target, want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for spec, want := range map[string]struct {
		err error
		pos int
	}{
		"":                        {ErrEmptySpec, 0},
		"=x":                      {ErrEmptyKey, 0},
		"popen//=x":               {ErrEmptyKey, 7},
		"popen////id=1":           {ErrEmptyKey, 7},
		"popen//":                 {ErrEmptyKey, 7},
		"popen//_x":               {ErrInvalidKey, 7},
		"popen//popen":            {ErrDuplicateKey, 7},
		"popen//id=a//id=b":       {ErrDuplicateKey, 13},
		"popen//env:A=1//env:A=2": {ErrDuplicateKey, 16},
	} {
		_, err := Parse(spec)
		var se *SyntaxError
		if !errors.As(err, &se) || !errors.Is(err, want.err) || se.Pos != want.pos {
			t.Errorf("Parse(%q) = %v, want %v at %d", spec, err, want.err, want.pos)
		}
	}
}

func TestValidate(t *testing.T) {
	ok := []string{"popen", "popen//python=python3", "socket=127.0.0.1:0", "socket=:8888", "ssh=host//python=python3//ssh_key=/k//insecure_ignore_host_key",
		"popen//env:X=//nice=-3//execmodel=main_thread_only//style=import//dont_write_bytecode"}
	for _, s := range ok {
		sp, err := Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		if err := sp.Validate(); err != nil {
			t.Errorf("Validate(%q): %v", s, err)
		}
	}
	bad := map[string]error{
		"id=x":                       ErrNoTransport,
		"popen//socket=h:1":          ErrConflict,
		"popen=yes":                  ErrBadValue,
		"popen//python":              ErrNeedsValue,
		"popen//python=":             ErrNeedsValue,
		"popen//python='a":           ErrShellSyntax,
		"socket=host":                ErrBadValue,
		"socket=host:99999":          ErrBadValue,
		"socket=host:x":              ErrBadValue,
		"socket=h:1//python=python3": ErrConflict,
		"ssh":                        ErrNeedsValue,
		"popen//nice=x":              ErrBadValue,
		"popen//execmodel=fibers":    ErrBadValue,
		"popen//style=magic":         ErrBadValue,
		"popen//env:=1":              ErrBadValue,
		"popen//id":                  ErrNeedsValue,
		"popen//colour=red":          ErrUnknownKey,
	}
	for s, want := range bad {
		sp, err := Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		err = sp.Validate()
		var ke *KeyError
		if !errors.Is(err, want) || !errors.As(err, &ke) {
			t.Errorf("Validate(%q) = %v, want %v", s, err, want)
		}
	}
}

func TestPythonArgs(t *testing.T) {
	for py, want := range map[string][]string{
		"/usr/bin/python3":                          {"/usr/bin/python3"},
		"  python3   -X  dev ":                      {"python3", "-X", "dev"},
		"/opt/execnet-conform worker":               {"/opt/execnet-conform", "worker"},
		`/bin/sh -c 'echo garbage; sleep 5'`:        {"/bin/sh", "-c", "echo garbage; sleep 5"},
		`"/path with space/python" -c "a \"b\" \c"`: {"/path with space/python", "-c", `a "b" \c`},
		`a\ b ''`: {"a b", ""},
	} {
		s, err := Parse("popen//python=" + py)
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.PythonArgs()
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("PythonArgs(%q) = %q, %v; want %q", py, got, err, want)
		}
	}
	s, _ := Parse("popen")
	if got, err := s.PythonArgs(); got != nil || err != nil {
		t.Fatalf("no python: %q %v", got, err)
	}
	s, _ = Parse(`popen//python=python3 "unclosed`)
	if _, err := s.PythonArgs(); !errors.Is(err, ErrShellSyntax) {
		t.Fatalf("unbalanced: %v", err)
	}
}

// TestShellSplitMatchesShlex compares ShellSplit with Python's shlex.split,
// which execnet uses for python= values.
func TestShellSplitMatchesShlex(t *testing.T) {
	py := peers.CPython(t)
	inputs := []string{
		"a b", " a\tb\nc\r", `a\ b`, `'a b' "c d"`, `"a\"b"`, `"a\\b"`, `"a\$b"`, `'a\b'`,
		`a""b`, `''`, `""`, `a''`, "a\vb\fc", `x\`, `"open`, `'open`, `a"b c"d`, `\'`, `"\'"`,
		`/usr/bin/python3 -c "import sys; print(1)"`, "é 'ü ß'", `a\\ b`, `"\\\""`, "",
	}
	src := "import json, shlex, sys\nout = []\nfor s in json.load(sys.stdin):\n" +
		"    try:\n        out.append(shlex.split(s))\n    except ValueError:\n        out.append(None)\n" +
		"json.dump(out, sys.stdout)\n"
	in, _ := json.Marshal(inputs)
	cmd := exec.Command(py, "-c", src)
	cmd.Stdin = strings.NewReader(string(in))
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	var want [][]string
	if err := json.Unmarshal(out, &want); err != nil {
		t.Fatal(err)
	}
	for i, s := range inputs {
		got, err := ShellSplit(s)
		if want[i] == nil {
			if err == nil {
				t.Errorf("ShellSplit(%q) = %q, shlex raises", s, got)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, want[i]) && !(len(got) == 0 && len(want[i]) == 0) {
			t.Errorf("ShellSplit(%q) = %q, %v; shlex gives %q", s, got, err, want[i])
		}
	}
}

// TestParseMatchesExecnet parses specs with execnet's XSpec and checks that
// the attributes agree, and that the specs execnet rejects as duplicates are
// rejected here.
func TestParseMatchesExecnet(t *testing.T) {
	py := peers.CPython(t)
	specs := []string{"popen", "popen//python", "popen//python=python3 -u//id=a", "socket=1.2.3.4:88//id=x",
		"popen//chdir=/a//nice=3//foo=bar", "popen//id=", "popen//env:A=1//env:B=2=3", "ssh=h//ssh_config=c//via=g",
		"popen//popen", "popen//python=a//python=b", "popen//_x", "popen//dont_write_bytecode=0"}
	src := "import json, sys\nfrom execnet.xspec import XSpec\nout = []\nfor s in json.load(sys.stdin):\n" +
		"    try:\n        x = XSpec(s)\n        out.append({k: v for k, v in vars(x).items() if k != '_spec'})\n" +
		"    except Exception as e:\n        out.append(type(e).__name__)\n" +
		"json.dump(out, sys.stdout)\n"
	in, _ := json.Marshal(specs)
	cmd := exec.Command(py, "-c", src)
	cmd.Stdin = strings.NewReader(string(in))
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	var want []any
	if err := json.Unmarshal(out, &want); err != nil {
		t.Fatal(err)
	}
	for i, s := range specs {
		sp, err := Parse(s)
		if name, isErr := want[i].(string); isErr {
			if err == nil {
				t.Errorf("Parse(%q) succeeded; execnet raises %s", s, name)
			}
			continue
		}
		if err != nil {
			t.Errorf("Parse(%q): %v; execnet accepts it", s, err)
			continue
		}
		attrs := want[i].(map[string]any)
		env := attrs["env"].(map[string]any)
		if len(env) != len(sp.Env) {
			t.Errorf("%q: env %v, execnet %v", s, sp.Env, env)
		}
		for k, v := range env {
			if sp.Env[k] != v {
				t.Errorf("%q: env %s=%q, execnet %v", s, k, sp.Env[k], v)
			}
		}
		delete(attrs, "env")
		if len(attrs) != len(sp.Keys)-len(sp.EnvKeys) {
			t.Errorf("%q: %d keys, execnet %v", s, len(sp.Keys), attrs)
		}
		for k, v := range attrs {
			kv, ok := sp.Get(k)
			switch v := v.(type) {
			case bool:
				if !ok || kv.HasValue {
					t.Errorf("%q: %s should be bare", s, k)
				}
			case string:
				if !ok || !kv.HasValue || kv.Value != v {
					t.Errorf("%q: %s = %+v, execnet %q", s, k, kv, v)
				}
			}
		}
	}
}
