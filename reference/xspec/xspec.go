// Package xspec parses execnet's execution specifications ("xspecs"), the
// strings that name a worker and how to reach it, such as
// "popen//python=/usr/bin/python3//id=gw0" or "socket=127.0.0.1:8888".
//
// Syntax: the spec is split on "//" into items; in each item the first "="
// separates key and value, and a key without "=" is a boolean set to true.
// A key may appear once. Keys starting with "_" are rejected, as execnet
// does. Parse keeps unknown keys (execnet does too); Validate rejects them.
//
// Differences from execnet 1.9's XSpec, which raises IndexError on an empty
// spec or an empty item and silently keeps the last of two "env:NAME" items
// with the same NAME: Parse reports each of these as a *SyntaxError.
package xspec

import (
	"errors"
	"fmt"
	"strings"
)

// KV is one key[=value] item of a spec, in the order written.
type KV struct {
	Key      string
	Value    string // "" for a bare key
	HasValue bool   // false for a bare key, which means true
	Pos      int    // byte offset of the item in Spec.Raw
}

// Spec is a parsed xspec. The named fields are the known keys; every item,
// known or not, is also in Keys.
type Spec struct {
	Raw string // the spec as given; String returns it

	// Kind is the transport: "popen", "ssh", "socket" or "vagrant_ssh",
	// or "" when the spec names none. When several are given, the first in
	// execnet's order of precedence (popen, ssh, vagrant_ssh, socket) wins;
	// Validate reports the conflict.
	Kind string
	// Target is the value of the transport key: the ssh host (with any
	// ssh arguments) or the socket "HOST:PORT"; "" for popen.
	Target string

	ID        string // id=: gateway id; the worker's id is ID+"-worker"
	Python    string // python=: interpreter command line, kept as written
	Chdir     string // chdir=: directory for the worker, applied after bootstrap
	Nice      string // nice=: niceness increment, applied after bootstrap
	ExecModel string // execmodel=: thread, eventlet, gevent, main_thread_only

	// Env holds the env:NAME=value items; EnvKeys their names in order.
	Env     map[string]string
	EnvKeys []string

	// DontWriteBytecode is dont_write_bytecode: true when the key is bare
	// or has a non-empty value (execnet tests the value's truth, so even
	// "dont_write_bytecode=0" turns it on).
	DontWriteBytecode bool

	SSHConfig  string // ssh_config=: file passed to ssh -F
	Via        string // via=: id of the gateway to start this one through
	InstallVia string // installvia=: id of the gateway that runs the socket server

	// Keys of this project, not of execnet.
	SSHKey                string // ssh_key=: private key file for the Go ssh transport
	InsecureIgnoreHostKey bool   // insecure_ignore_host_key: skip host key checks
	Style                 string // style=: bootstrap style, "import" or "exec"

	Keys []KV // every item, in order
}

// Errors that Parse and Validate wrap; match them with errors.Is.
var (
	ErrEmptySpec    = errors.New("empty spec")
	ErrEmptyKey     = errors.New("empty key")
	ErrInvalidKey   = errors.New("invalid key")
	ErrDuplicateKey = errors.New("duplicate key")
	ErrUnknownKey   = errors.New("unknown key")
	ErrNeedsValue   = errors.New("key needs a value")
	ErrBadValue     = errors.New("bad value")
	ErrNoTransport  = errors.New("no transport key (popen, ssh, socket or vagrant_ssh)")
	ErrConflict     = errors.New("conflicting keys")
	ErrShellSyntax  = errors.New("shell syntax error")
)

// SyntaxError is a spec that cannot be parsed. Err is one of ErrEmptySpec,
// ErrEmptyKey, ErrInvalidKey or ErrDuplicateKey.
type SyntaxError struct {
	Spec string
	Pos  int // byte offset in Spec of the offending item
	Key  string
	Err  error
}

func (e *SyntaxError) Error() string {
	if e.Key != "" {
		return fmt.Sprintf("xspec %q: %v %q at offset %d", e.Spec, e.Err, e.Key, e.Pos)
	}
	return fmt.Sprintf("xspec %q: %v at offset %d", e.Spec, e.Err, e.Pos)
}

// Unwrap returns the error class.
func (e *SyntaxError) Unwrap() error { return e.Err }

// KeyError is a parsed spec that Validate or PythonArgs rejects. Err is one
// of ErrUnknownKey, ErrNeedsValue, ErrBadValue, ErrNoTransport, ErrConflict
// or ErrShellSyntax.
type KeyError struct {
	Spec   string
	Key    string
	Pos    int
	Err    error
	Detail string
}

func (e *KeyError) Error() string {
	s := fmt.Sprintf("xspec %q: %v", e.Spec, e.Err)
	if e.Key != "" {
		s += fmt.Sprintf(" %q at offset %d", e.Key, e.Pos)
	}
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

// Unwrap returns the error class.
func (e *KeyError) Unwrap() error { return e.Err }

// transportKeys in execnet's order of precedence.
var transportKeys = []string{"popen", "ssh", "vagrant_ssh", "socket"}

// KnownKeys lists the keys Validate accepts ("env:NAME" stands for every
// env: key).
func KnownKeys() []string {
	return []string{"popen", "ssh", "socket", "vagrant_ssh", "id", "python", "chdir",
		"nice", "env:NAME", "execmodel", "dont_write_bytecode", "ssh_config", "via",
		"installvia", "ssh_key", "insecure_ignore_host_key", "style"}
}

// Parse parses s. It fails only on syntax (see the package comment); use
// Validate for the meaning of keys.
func Parse(s string) (*Spec, error) {
	if s == "" {
		return nil, &SyntaxError{Spec: s, Err: ErrEmptySpec}
	}
	sp := &Spec{Raw: s, Env: map[string]string{}}
	seen := map[string]bool{}
	pos := 0
	for _, item := range strings.Split(s, "//") {
		kv := KV{Key: item, Pos: pos}
		if i := strings.IndexByte(item, '='); i >= 0 {
			kv.Key, kv.Value, kv.HasValue = item[:i], item[i+1:], true
		}
		switch {
		case kv.Key == "":
			return nil, &SyntaxError{Spec: s, Pos: pos, Err: ErrEmptyKey}
		case kv.Key[0] == '_':
			return nil, &SyntaxError{Spec: s, Pos: pos, Key: kv.Key, Err: ErrInvalidKey}
		case seen[kv.Key]:
			return nil, &SyntaxError{Spec: s, Pos: pos, Key: kv.Key, Err: ErrDuplicateKey}
		}
		seen[kv.Key] = true
		sp.Keys = append(sp.Keys, kv)
		sp.set(kv)
		pos += len(item) + 2
	}
	for _, k := range transportKeys {
		if kv, ok := sp.Get(k); ok {
			sp.Kind, sp.Target = k, kv.Value
			break
		}
	}
	return sp, nil
}

func (sp *Spec) set(kv KV) {
	truth := !kv.HasValue || kv.Value != ""
	switch kv.Key {
	case "id":
		sp.ID = kv.Value
	case "python":
		sp.Python = kv.Value
	case "chdir":
		sp.Chdir = kv.Value
	case "nice":
		sp.Nice = kv.Value
	case "execmodel":
		sp.ExecModel = kv.Value
	case "dont_write_bytecode":
		sp.DontWriteBytecode = truth
	case "ssh_config":
		sp.SSHConfig = kv.Value
	case "via":
		sp.Via = kv.Value
	case "installvia":
		sp.InstallVia = kv.Value
	case "ssh_key":
		sp.SSHKey = kv.Value
	case "insecure_ignore_host_key":
		sp.InsecureIgnoreHostKey = truth
	case "style":
		sp.Style = kv.Value
	default:
		if name, ok := strings.CutPrefix(kv.Key, "env:"); ok {
			sp.Env[name] = kv.Value
			sp.EnvKeys = append(sp.EnvKeys, name)
		}
	}
}

// Get returns the item with key k.
func (sp *Spec) Get(k string) (KV, bool) {
	for _, kv := range sp.Keys {
		if kv.Key == k {
			return kv, true
		}
	}
	return KV{}, false
}

// Has reports whether the spec has key k, bare or with a value.
func (sp *Spec) Has(k string) bool {
	_, ok := sp.Get(k)
	return ok
}

// String returns the spec as it was written.
func (sp *Spec) String() string { return sp.Raw }

// WorkerID returns the id the worker serves under: ID+"-worker", with
// fallback standing in for an empty ID (execnet's groups use gw0, gw1...).
func (sp *Spec) WorkerID(fallback string) string {
	id := sp.ID
	if id == "" {
		id = fallback
	}
	return id + "-worker"
}

// PythonArgs splits the python= value the way a POSIX shell (and Python's
// shlex.split) would. It returns nil and no error when the spec has no
// python key, and a *KeyError when the key is bare, empty, or has
// unbalanced quotes or a trailing backslash.
func (sp *Spec) PythonArgs() ([]string, error) {
	kv, ok := sp.Get("python")
	if !ok {
		return nil, nil
	}
	if !kv.HasValue {
		return nil, &KeyError{Spec: sp.Raw, Key: "python", Pos: kv.Pos, Err: ErrNeedsValue, Detail: "python needs an interpreter, as in python=/usr/bin/python3"}
	}
	args, err := ShellSplit(kv.Value)
	if err != nil {
		return nil, &KeyError{Spec: sp.Raw, Key: "python", Pos: kv.Pos, Err: ErrShellSyntax, Detail: err.Error()}
	}
	if len(args) == 0 {
		return nil, &KeyError{Spec: sp.Raw, Key: "python", Pos: kv.Pos, Err: ErrNeedsValue, Detail: "python= is empty"}
	}
	return args, nil
}

// Validate checks the spec strictly: every key is known, exactly one
// transport key is given, and keys that need a value have one of the right
// form. It returns the first problem as a *KeyError.
func (sp *Spec) Validate() error {
	kerr := func(kv KV, err error, detail string) error {
		return &KeyError{Spec: sp.Raw, Key: kv.Key, Pos: kv.Pos, Err: err, Detail: detail}
	}
	var kinds []string
	for _, kv := range sp.Keys {
		switch kv.Key {
		case "popen":
			if kv.HasValue {
				return kerr(kv, ErrBadValue, "popen takes no value")
			}
			kinds = append(kinds, kv.Key)
		case "ssh", "vagrant_ssh":
			if kv.Value == "" {
				return kerr(kv, ErrNeedsValue, kv.Key+" needs a host, as in "+kv.Key+"=user@host")
			}
			kinds = append(kinds, kv.Key)
		case "socket":
			if _, _, err := SplitHostPort(kv.Value); err != nil {
				return kerr(kv, ErrBadValue, err.Error())
			}
			kinds = append(kinds, kv.Key)
		case "id", "chdir", "ssh_config", "via", "installvia", "ssh_key":
			if kv.Value == "" {
				return kerr(kv, ErrNeedsValue, "")
			}
		case "python":
			if _, err := sp.PythonArgs(); err != nil {
				return err
			}
		case "nice":
			if !isInt(kv.Value) {
				return kerr(kv, ErrBadValue, "nice needs an integer")
			}
		case "execmodel":
			switch kv.Value {
			case "thread", "eventlet", "gevent", "main_thread_only":
			default:
				return kerr(kv, ErrBadValue, "execmodel is one of thread, eventlet, gevent, main_thread_only")
			}
		case "style":
			if kv.Value != "import" && kv.Value != "exec" {
				return kerr(kv, ErrBadValue, "style is import or exec")
			}
		case "dont_write_bytecode", "insecure_ignore_host_key":
		default:
			if name, ok := strings.CutPrefix(kv.Key, "env:"); ok {
				if name == "" || !kv.HasValue {
					return kerr(kv, ErrBadValue, "env items are written env:NAME=value")
				}
				continue
			}
			return kerr(kv, ErrUnknownKey, "known keys are "+strings.Join(KnownKeys(), ", "))
		}
	}
	switch {
	case len(kinds) == 0:
		return &KeyError{Spec: sp.Raw, Err: ErrNoTransport}
	case len(kinds) > 1:
		return &KeyError{Spec: sp.Raw, Err: ErrConflict, Detail: "more than one transport: " + strings.Join(kinds, ", ")}
	}
	if sp.Kind == "socket" && sp.Has("python") {
		kv, _ := sp.Get("python")
		return kerr(kv, ErrConflict, "a socket worker runs the server's interpreter; python= does not apply")
	}
	return nil
}

// SplitHostPort splits a socket target "HOST:PORT" at its last colon.
// HOST may be empty (execnet's server then binds every address); PORT must
// be a decimal number from 0 to 65535.
func SplitHostPort(target string) (host, port string, err error) {
	i := strings.LastIndexByte(target, ':')
	if i < 0 {
		return "", "", fmt.Errorf("socket target %q is not HOST:PORT", target)
	}
	host, port = target[:i], target[i+1:]
	if !isInt(port) || port[0] == '-' || port[0] == '+' || len(port) > 5 {
		return "", "", fmt.Errorf("socket target %q: bad port %q", target, port)
	}
	n := 0
	for _, c := range port {
		n = n*10 + int(c-'0')
	}
	if n > 65535 {
		return "", "", fmt.Errorf("socket target %q: port %d out of range", target, n)
	}
	return host, port, nil
}

func isInt(s string) bool {
	if s != "" && (s[0] == '-' || s[0] == '+') {
		s = s[1:]
	}
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
