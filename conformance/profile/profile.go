// Package profile holds the conformance profile: a small set of procedures
// that every implementation under test runs on request, so that the
// conformance runner can drive any worker through the same calls
// (SPEC.md section "Conformance profile").
//
// The Python side of the profile is profile.py, embedded here. A master
// sends a procedure exactly as Python execnet's remote_exec(function,
// **kwargs) would: CHANNEL_EXEC with the tuple (source, file_name,
// call_name, kwargs), where source is the function's text. Python workers
// execute that source; the Go worker (reference/worker) recognises the
// call_name and runs its native version.
//
// The package depends only on codec, so that gateway, worker and runner
// code can all import it without cycles.
package profile

import (
	_ "embed"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/execnet-conform/execnet-conform/reference/codec"
)

//go:embed profile.py
var script string

// FileName is the file name sent as CHANNEL_EXEC's file_name for profile
// procedures. Python execnet sends the absolute path of the source file;
// workers use it only in tracebacks.
const FileName = "conformance/profile/profile.py"

// Procedure names.
const (
	Echo       = "conform_echo"
	Fail       = "conform_fail"
	Stream     = "conform_stream"
	NewChannel = "conform_newchannel"
	Dumps      = "conform_dumps"
	Loads      = "conform_loads"
	Info       = "conform_info"
	Sleep      = "conform_sleep"
	GatewayID  = "conform_gateway_id"
)

// StreamModulus is the fill pattern modulus of conform_stream: byte i of
// every item is i % StreamModulus.
const StreamModulus = 251

// ErrUnknownProcedure is returned for a name that is not a profile
// procedure.
var ErrUnknownProcedure = errors.New("profile: unknown procedure")

// procedure is one parsed top-level function of profile.py.
type procedure struct {
	name   string
	params []string // parameter names after channel
	source string   // as execnet's remote_exec sends it
}

// Script returns the whole text of profile.py, for drivers that exec it
// to obtain Python function objects.
func Script() string { return script }

// Names returns the procedure names in the order profile.py defines them.
func Names() []string {
	procs := parse()
	out := make([]string, len(procs))
	for i, p := range procs {
		out[i] = p.name
	}
	return out
}

// Source returns the source text of procedure name exactly as Python
// execnet 1.9's remote_exec sends it for the function object: the
// function's lines from "def" to its last non-blank line, each ending in a
// newline, preceded by one newline for every line of profile.py above the
// def, so that line numbers in remote tracebacks match the file.
func Source(name string) (string, error) {
	p, err := lookup(name)
	if err != nil {
		return "", err
	}
	return p.source, nil
}

// Params returns the keyword parameters of procedure name (every
// parameter after channel), in order.
func Params(name string) ([]string, error) {
	p, err := lookup(name)
	if err != nil {
		return nil, err
	}
	return append([]string(nil), p.params...), nil
}

// Payload returns the CHANNEL_EXEC payload for calling procedure name
// with kwargs: the tuple (source, FileName, name, kwargs). A nil kwargs is
// sent as an empty dict. It fails unless kwargs holds exactly the
// procedure's parameters, with string keys.
func Payload(name string, kwargs *codec.Dict) (codec.Tuple, error) {
	p, err := lookup(name)
	if err != nil {
		return nil, err
	}
	if kwargs == nil {
		kwargs = &codec.Dict{}
	}
	if err := CheckKwargs(name, kwargs); err != nil {
		return nil, err
	}
	return codec.Tuple{codec.Str(p.source), codec.Str(FileName), codec.Str(name), kwargs}, nil
}

// CheckKwargs reports whether kwargs holds exactly the keyword parameters
// of procedure name, each under a str key, as Python would require to
// call the function.
func CheckKwargs(name string, kwargs *codec.Dict) error {
	return NewTable().CheckKwargs(name, kwargs)
}

// Table is profile.py's procedures. The file is parsed once per process
// (parse), so NewTable and the package functions share one parse. A Table
// is never changed after NewTable and may be used from any number of
// goroutines.
type Table struct{ procs []procedure }

// NewTable parses profile.py.
func NewTable() *Table { return &Table{procs: parse()} }

// CheckKwargs is the package's CheckKwargs, with t's procedures.
func (t *Table) CheckKwargs(name string, kwargs *codec.Dict) error {
	p, err := t.lookup(name)
	if err != nil {
		return err
	}
	seen := make([]bool, len(p.params)) // a handful: no map to allocate per call
	for _, it := range kwargs.Items() {
		k, ok := it.Key.(codec.Str)
		if !ok {
			return fmt.Errorf("profile: %s: keyword names must be str, got %s", name, it.Key.Kind())
		}
		i := slices.Index(p.params, string(k))
		if i < 0 || seen[i] {
			return fmt.Errorf("profile: %s() got an unexpected keyword argument %q", name, string(k))
		}
		seen[i] = true
	}
	if slices.Contains(seen, false) {
		var missing []string
		for i, n := range p.params {
			if !seen[i] {
				missing = append(missing, n)
			}
		}
		sort.Strings(missing)
		return fmt.Errorf("profile: %s() missing keyword arguments: %s", name, strings.Join(missing, ", "))
	}
	return nil
}

func lookup(name string) (procedure, error) { return NewTable().lookup(name) }

func (t *Table) lookup(name string) (procedure, error) {
	for _, p := range t.procs {
		if p.name == name {
			return p, nil
		}
	}
	return procedure{}, fmt.Errorf("%w: %q (known: %s)", ErrUnknownProcedure, name, strings.Join(Names(), ", "))
}

// parse splits profile.py into its top-level functions. The file is
// small and parsing is cheap, so nothing is cached (no package state).
// parse returns profile.py's procedures, parsed at the first call; the
// slice is shared and never changed.
var parse = sync.OnceValue(parseScript)

func parseScript() []procedure {
	lines := strings.SplitAfter(script, "\n")
	var out []procedure
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		if !strings.HasPrefix(line, "def ") {
			continue
		}
		open := strings.IndexByte(line, '(')
		closeIdx := strings.LastIndexByte(line, ')')
		if open < 0 || closeIdx < open {
			continue
		}
		name := strings.TrimSpace(line[len("def "):open])
		var params []string
		for j, f := range strings.Split(line[open+1:closeIdx], ",") {
			f = strings.TrimSpace(f)
			if eq := strings.IndexByte(f, '='); eq >= 0 {
				f = strings.TrimSpace(f[:eq])
			}
			if j == 0 || f == "" {
				continue // channel
			}
			params = append(params, f)
		}
		// The body runs until the next non-blank line at column zero;
		// trailing blank lines are not part of the function.
		end := i + 1
		last := i
		for ; end < len(lines); end++ {
			l := lines[end]
			if strings.TrimSpace(l) == "" {
				continue
			}
			if l[0] != ' ' && l[0] != '\t' {
				break
			}
			last = end
		}
		var b strings.Builder
		b.WriteString(strings.Repeat("\n", i))
		for _, l := range lines[i : last+1] {
			b.WriteString(strings.TrimRight(l, "\n"))
			b.WriteByte('\n')
		}
		out = append(out, procedure{name: name, params: params, source: b.String()})
		i = last
	}
	return out
}
