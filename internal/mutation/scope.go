package mutation

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"strings"
)

// Reachable lists, per import path, the functions the Go linker kept in
// a binary: the static reach of the binary's main, as the linker's
// dead-code elimination computes it. Build the binary with inlining off
// (-gcflags=all=-l), or a function inlined at every call site would be
// missing.
type Reachable map[string]map[string]bool

// Has reports whether function fn ("F", "T.M", "(*T).M") of package pkg
// is in the binary.
func (r Reachable) Has(pkg, fn string) bool { return r[pkg][fn] }

// closureSuffix matches what the compiler appends to the symbol of a
// function literal, a go or defer wrapper, or a method value.
var closureSuffix = regexp.MustCompile(`\.(func|gowrap|deferwrap)\d+.*$|-fm$`)

var initDecl = regexp.MustCompile(`^init\.\d+$`)

// stripBrackets removes bracketed text (a generic's type arguments,
// which may nest) from a symbol.
func stripBrackets(s string) string {
	var b strings.Builder
	depth := 0
	for _, r := range s {
		switch {
		case r == '[':
			depth++
		case r == ']' && depth > 0:
			depth--
		case depth == 0:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// ReadReachable runs "go tool nm" on the binary at path and returns the
// text symbols of the given packages.
func ReadReachable(ctx context.Context, goCmd, path string, pkgs []string) (Reachable, error) {
	cmd := exec.CommandContext(ctx, goCmd, "tool", "nm", "-type", path)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("mutation: go tool nm %s: %w: %s", path, err, strings.TrimSpace(stderr.String()))
	}
	return parseNM(out, pkgs), nil
}

func parseNM(out []byte, pkgs []string) Reachable {
	r := Reachable{}
	for _, p := range pkgs {
		r[p] = map[string]bool{}
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for sc.Scan() {
		// "  4a1b20 T github.com/x/y.(*T).M"; a generic's symbol holds
		// spaces inside its brackets.
		f := strings.SplitN(strings.TrimSpace(sc.Text()), " ", 3)
		if len(f) < 3 || (f[1] != "T" && f[1] != "t") {
			continue
		}
		sym := stripBrackets(f[2])
		for _, p := range pkgs {
			rest, ok := strings.CutPrefix(sym, p+".")
			if !ok {
				continue
			}
			rest = closureSuffix.ReplaceAllString(rest, "")
			// A package's func init declarations are "init.0", "init.1";
			// FuncName calls each "init". They always run.
			if initDecl.MatchString(rest) {
				rest = "init"
			}
			if rest != "" {
				r[p][rest] = true
			}
		}
	}
	return r
}
