package fuzz

import (
	"errors"
	"reflect"
	"testing"

	"github.com/execnet-conform/execnet-conform/reference/xspec"
)

// xspecSeeds are execution specs as execnet users write them, plus
// malformed ones.
var xspecSeeds = []string{
	"popen", "popen//python=python3", "popen//python=/usr/bin/pypy3//id=gw7", "popen//python=python3 -u -X dev",
	"ssh=host", "ssh=-p 2222 user@host//python=python3//chdir=/tmp", "socket=127.0.0.1:8888", "socket=[::1]:1//id=s",
	"vagrant_ssh=default//python=python3", "popen//env:FOO=bar//env:EMPTY=", "popen//dont_write_bytecode",
	"popen//nice=5//execmodel=thread", "popen//via=gw0", "socket=h:1//installvia=gw0", "popen//style=exec",
	"ssh=h//ssh_key=/k//insecure_ignore_host_key", "popen//python='unterminated", "popen//popen", "//", "=", "",
	"_private", "popen//_id=x", "popen//unknown=1", "popen//ssh=h", "a=b=c", "popen//id=", "popen//\x00=\xff",
	"popen//chdir=dir with spaces//python=\"py thon\" -u",
}

// xspecSentinels are the errors Parse, Validate and PythonArgs may wrap.
var xspecSentinels = []error{
	xspec.ErrEmptySpec, xspec.ErrEmptyKey, xspec.ErrInvalidKey, xspec.ErrDuplicateKey, xspec.ErrUnknownKey,
	xspec.ErrNeedsValue, xspec.ErrBadValue, xspec.ErrNoTransport, xspec.ErrConflict, xspec.ErrShellSyntax,
}

// checkXspecErr fails unless err is one of the package's typed errors.
func checkXspecErr(t *testing.T, what, s string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	var se *xspec.SyntaxError
	var ke *xspec.KeyError
	if !errors.As(err, &se) && !errors.As(err, &ke) {
		t.Fatalf("%s(%q): error %T (%v) is neither *xspec.SyntaxError nor *xspec.KeyError", what, s, err, err)
	}
	for _, sen := range xspecSentinels {
		if errors.Is(err, sen) {
			return
		}
	}
	t.Fatalf("%s(%q): error %v matches no xspec sentinel", what, s, err)
}

// FuzzXspecParse checks that Parse never panics and fails only with a
// typed error, that a parsed spec keeps its text (String returns Raw, the
// input), that parsing that text again gives an equal spec, and that
// Validate and PythonArgs never panic and fail only with typed errors.
func FuzzXspecParse(f *testing.F) {
	for _, s := range xspecSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sp, err := xspec.Parse(s)
		if err != nil {
			checkXspecErr(t, "Parse", s, err)
			if sp != nil {
				t.Fatalf("Parse(%q) returned a spec with error %v", s, err)
			}
			return
		}
		if sp.String() != s || sp.Raw != s {
			t.Fatalf("Parse(%q): String() = %q, Raw = %q", s, sp.String(), sp.Raw)
		}
		again, err := xspec.Parse(sp.String())
		if err != nil {
			t.Fatalf("Parse(%q) accepted, but its String() is rejected: %v", s, err)
		}
		if !reflect.DeepEqual(sp, again) {
			t.Fatalf("Parse(%q) is not stable:\n first %+v\nsecond %+v", s, sp, again)
		}
		for _, kv := range sp.Keys {
			got, ok := sp.Get(kv.Key)
			if !ok || got != kv || !sp.Has(kv.Key) {
				t.Fatalf("Parse(%q): Get(%q) = %+v, %v; item is %+v", s, kv.Key, got, ok, kv)
			}
		}
		checkXspecErr(t, "Validate", s, sp.Validate())
		if _, err := sp.PythonArgs(); err != nil {
			checkXspecErr(t, "PythonArgs", s, err)
		}
		_ = sp.WorkerID("gw0")
	})
}
