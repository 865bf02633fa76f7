package conformance

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func envValue(env []string, name string) (string, bool) {
	for _, kv := range env {
		if n, v, _ := strings.Cut(kv, "="); n == name {
			return v, true
		}
	}
	return "", false
}

func TestNamedTarget(t *testing.T) {
	peers := t.TempDir()
	for _, d := range []string{"execnet-2.1.2", "execnet-main-92b4963", "execnet-3.0.0-a", "execnet-3.0.0-b"} {
		if err := os.MkdirAll(filepath.Join(peers, d, "execnet"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(peers, d, "execnet", "__init__.py"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv(PeersEnvVar, peers)
	t.Setenv("PYTHONPATH", "/somewhere/else")
	t.Setenv("SECRET_TOKEN", "x")

	for _, c := range []struct {
		name, xspec, pythonPath, known string
	}{
		{"go", "", "/somewhere/else", ""},
		{"execnet-1.9.0", "popen//python=/usr/bin/python3", "", "execnet-1.9.0"},
		{"pypy3", "popen//python=/usr/bin/pypy3", "", "execnet-1.9.0-pypy"},
		{"execnet-2.1.2", "popen//python=/usr/bin/python3", filepath.Join(peers, "execnet-2.1.2"), "execnet-2.1.2"},
		{"execnet-main", "popen//python=/usr/bin/python3", filepath.Join(peers, "execnet-main-92b4963"), "execnet-main"},
		{"popen//python=/opt/py", "popen//python=/opt/py", "/somewhere/else", ""},
	} {
		xspec, env, known, err := NamedTarget(c.name)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if xspec != c.xspec || known != c.known {
			t.Errorf("%s: xspec %q known %q, want %q %q", c.name, xspec, known, c.xspec, c.known)
		}
		pp, ok := envValue(env, "PYTHONPATH")
		if pp != c.pythonPath || ok != (c.pythonPath != "") {
			t.Errorf("%s: PYTHONPATH=%q (set %v), want %q", c.name, pp, ok, c.pythonPath)
		}
		if _, ok := envValue(env, "SECRET_TOKEN"); ok {
			t.Errorf("%s: the target environment passes SECRET_TOKEN", c.name)
		}
		if n := strings.Count(strings.Join(env, "\n"), "PYTHONPATH="); n > 1 {
			t.Errorf("%s: PYTHONPATH set %d times", c.name, n)
		}
	}
	for _, bad := range []string{"python3", "execnet-9.9.9", "execnet-3.0.0", "execnet-../x", ""} {
		if _, _, _, err := NamedTarget(bad); !errors.Is(err, ErrUnknownTarget) {
			t.Errorf("NamedTarget(%q): err = %v, want ErrUnknownTarget", bad, err)
		}
	}
}

func TestPeersDirSearchesUpward(t *testing.T) {
	root := t.TempDir()
	want := filepath.Join(root, "shared", "peers")
	deep := filepath.Join(root, "wt", "branch", "pkg")
	for _, d := range []string{want, deep} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv(PeersEnvVar, "")
	t.Chdir(deep)
	got, err := PeersDir()
	if err != nil || got != want {
		t.Fatalf("PeersDir() = %q, %v; want %q", got, err, want)
	}
}
