package peers

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// Release is one Python execnet release that tests run against: the
// Debian package (1.9.0, imported by CPythonPath and PyPyPath as
// installed), or a source snapshot under the shared peers folder that a
// worker imports through PYTHONPATH.
type Release struct {
	// Name is the release as the known-failing lists name it: "1.9.0",
	// "2.0.2", "2.1.2" or "main".
	Name string
	// Dir is the snapshot's folder (the directory that holds execnet/),
	// to put on PYTHONPATH; "" for the Debian package.
	Dir string
	// Version is what execnet.__version__ reports.
	Version string
}

// Env returns the environment variables that make an interpreter import
// this release: PYTHONPATH=Dir for a snapshot, none for the Debian
// package. A popen target keeps PYTHON* variables (conformance.TargetEnv).
func (r Release) Env() []string {
	if r.Dir == "" {
		return nil
	}
	return []string{"PYTHONPATH=" + r.Dir}
}

// snapshotDirs maps each release name to its folder under the shared
// peers directory (see its README.md).
var snapshotDirs = []struct{ name, dir string }{
	{"2.0.2", "execnet-2.0.2"},
	{"2.1.2", "execnet-2.1.2"},
	{"main", "execnet-main-92b4963"},
}

// SharedDir returns the shared peers directory: $EXECNET_PEERS_DIR when
// set, else the first "shared/peers" found beside this module's root or
// one of its parents ("../shared/peers" from the worktree root, as in CI).
// It returns "" when there is none.
func SharedDir() string {
	if d := os.Getenv("EXECNET_PEERS_DIR"); d != "" {
		return d
	}
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return ""
	}
	// file is <root>/internal/peers/snapshots.go
	dir := filepath.Dir(filepath.Dir(filepath.Dir(file)))
	for range 4 {
		cand := filepath.Join(filepath.Dir(dir), "shared", "peers")
		if st, err := os.Stat(cand); err == nil && st.IsDir() {
			return cand
		}
		dir = filepath.Dir(dir)
	}
	return ""
}

// importedVersion runs CPython with PYTHONPATH=dir and returns the
// execnet version it imports, or "".
func importedVersion(dir string) string {
	cmd := exec.Command(CPythonPath, "-c", "import execnet; print(execnet.__version__)")
	cmd.Env = append(os.Environ(), "PYTHONPATH="+dir)
	out, err := cmd.Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// Releases returns every execnet release available to CPython: the
// Debian package 1.9.0 and each snapshot of the shared peers directory
// that imports. A missing one skips as a subtest would (it is left out);
// when peers are required (EXECNET_REQUIRE_PEERS=1) a missing one fails
// t. With none available, t is skipped (or failed).
func Releases(t testing.TB) []Release {
	t.Helper()
	var out []Release
	if v := execnetVersion(CPythonPath); v != "" {
		out = append(out, Release{Name: v, Version: v})
	} else if Required() {
		t.Errorf("peer not available: %s with execnet (python3-execnet); EXECNET_REQUIRE_PEERS=1 makes this a failure", CPythonPath)
	}
	shared := SharedDir()
	for _, s := range snapshotDirs {
		if shared == "" {
			if Required() {
				t.Errorf("peer not available: execnet %s (no shared/peers folder beside the module; set EXECNET_PEERS_DIR); EXECNET_REQUIRE_PEERS=1 makes this a failure", s.name)
			}
			continue
		}
		dir := filepath.Join(shared, s.dir)
		v := importedVersion(dir)
		if v == "" {
			if Required() {
				t.Errorf("peer not available: execnet %s (%s does not import with %s); EXECNET_REQUIRE_PEERS=1 makes this a failure", s.name, dir, CPythonPath)
			}
			continue
		}
		out = append(out, Release{Name: s.name, Dir: dir, Version: v})
	}
	if len(out) == 0 {
		Missing(t, "any execnet release for "+CPythonPath+" (python3-execnet, or snapshots in ../shared/peers)")
	}
	return out
}
