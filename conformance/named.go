package conformance

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// ErrUnknownTarget is matched (errors.Is) by NamedTarget's errors for a
// name it does not know or a peer snapshot it cannot find.
var ErrUnknownTarget = errors.New("conformance: unknown target")

// Interpreters of the named Python targets (Debian's).
const (
	namedCPython = "/usr/bin/python3"
	namedPyPy    = "/usr/bin/pypy3"
)

// PeersEnvVar names the variable that overrides where NamedTarget looks
// for the execnet source snapshots (default: the nearest "shared/peers"
// directory above the working directory, as ../shared/peers from the
// repository root).
const PeersEnvVar = "EXECNET_PEERS_DIR"

// NamedTargets returns the names NamedTarget knows besides
// "execnet-VERSION" for any snapshot in the peers directory.
func NamedTargets() []string {
	return []string{"go", "execnet-1.9.0", "execnet-2.0.2", "execnet-2.1.2", "execnet-main", "pypy3"}
}

// NamedTarget resolves a target name to what a run needs: the xspec, the
// environment of the popen target (as Options.Env), and the file name of
// the known-failing list for it under testdata/known-failures ("" when
// there is none): the name of a built-in known-failing list, as
// OpenKnownFailing takes it, which is the file NAME.txt under
// testdata/known-failures: execnet-VERSION for CPython with that execnet
// (execnet-1.9.0, execnet-2.1.2, execnet-main), execnet-1.9.0-pypy for
// pypy3. The caller decides what to do when no such list exists.
//
// Names:
//
//   - "go": the built-in Go worker. xspec is "", meaning the caller's
//     built-in worker (what "execnet-conform run" uses without --target).
//   - "execnet-1.9.0": Debian's python3-execnet under /usr/bin/python3,
//     with PYTHONPATH removed so that no other execnet shadows it.
//   - "execnet-VERSION" (2.0.2, 2.1.2, main, ...): /usr/bin/python3 with
//     PYTHONPATH set to the source snapshot PEERS/execnet-VERSION (or the
//     only PEERS/execnet-VERSION-* directory, as execnet-main-92b4963);
//     the import bootstrap style then tests that execnet.
//   - "pypy3": /usr/bin/pypy3 with its installed execnet, PYTHONPATH
//     removed.
//   - anything containing "//" is taken as an xspec, with the default
//     reduced environment (TargetEnv).
//
// The environment is TargetEnv(os.Environ(), nil) with PYTHONPATH replaced
// as said: the popen transport starts the target with exactly this
// environment, so PYTHONPATH is the clean way to choose the execnet a
// Python target imports. Errors match ErrUnknownTarget.
func NamedTarget(name string) (xspec string, env []string, knownFailing string, err error) {
	base := withoutEnv(TargetEnv(os.Environ(), nil), "PYTHONPATH")
	switch {
	case name == "go":
		return "", TargetEnv(os.Environ(), nil), "", nil
	case name == "execnet-1.9.0":
		return "popen//python=" + namedCPython, base, "execnet-1.9.0", nil
	case name == "pypy3":
		return "popen//python=" + namedPyPy, base, "execnet-1.9.0-pypy", nil
	case strings.Contains(name, "//"):
		return name, TargetEnv(os.Environ(), nil), "", nil
	case strings.HasPrefix(name, "execnet-"):
		dir, err := peerSnapshot(strings.TrimPrefix(name, "execnet-"))
		if err != nil {
			return "", nil, "", err
		}
		return "popen//python=" + namedCPython, append(base, "PYTHONPATH="+dir), name, nil
	}
	return "", nil, "", fmt.Errorf("%w %q (want one of %s, execnet-VERSION for a snapshot in the peers directory, or an xspec)",
		ErrUnknownTarget, name, strings.Join(NamedTargets(), ", "))
}

// withoutEnv returns env without the variable name.
func withoutEnv(env []string, name string) []string {
	out := make([]string, 0, len(env))
	for _, kv := range env {
		if n, _, _ := strings.Cut(kv, "="); n != name {
			out = append(out, kv)
		}
	}
	return out
}

// PeersDir returns the directory of the execnet source snapshots: $EXECNET_PEERS_DIR
// when set, else the first "shared/peers" directory found in the working
// directory or one of its parents.
func PeersDir() (string, error) {
	if d := os.Getenv(PeersEnvVar); d != "" {
		return filepath.Abs(d)
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("%w: finding the peers directory: %w", ErrUnknownTarget, err)
	}
	for d := wd; ; d = filepath.Dir(d) {
		p := filepath.Join(d, "shared", "peers")
		if st, err := os.Stat(p); err == nil && st.IsDir() {
			return p, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("%w: no shared/peers directory above %s (set %s)", ErrUnknownTarget, wd, PeersEnvVar)
		}
	}
}

// peerSnapshot finds PEERS/execnet-VERSION, or the only
// PEERS/execnet-VERSION-* directory.
func peerSnapshot(version string) (string, error) {
	if version == "" || strings.ContainsAny(version, `/\*?[`) {
		return "", fmt.Errorf("%w: bad execnet version %q", ErrUnknownTarget, version)
	}
	peers, err := PeersDir()
	if err != nil {
		return "", err
	}
	exact := filepath.Join(peers, "execnet-"+version)
	if isPackageDir(exact) {
		return exact, nil
	}
	matches, _ := filepath.Glob(filepath.Join(peers, "execnet-"+version+"-*"))
	var dirs []string
	for _, m := range matches {
		if isPackageDir(m) {
			dirs = append(dirs, m)
		}
	}
	switch len(dirs) {
	case 1:
		return dirs[0], nil
	case 0:
		return "", fmt.Errorf("%w: no execnet snapshot %s in %s", ErrUnknownTarget, version, peers)
	}
	return "", fmt.Errorf("%w: execnet-%s is ambiguous in %s: %s", ErrUnknownTarget, version, peers, strings.Join(dirs, ", "))
}

// isPackageDir reports whether dir holds an importable execnet package.
func isPackageDir(dir string) bool {
	st, err := os.Stat(filepath.Join(dir, "execnet", "__init__.py"))
	return err == nil && !st.IsDir()
}
