package worker_test

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/execnet-conform/execnet-conform/internal/peers"
	"github.com/execnet-conform/execnet-conform/reference/worker"
)

// TestRsyncPythonMaster copies a tree with execnet's own RSync (every
// release found) to the Go worker and to a Python worker at once: 300
// small files in subdirectories, a 3 MiB file, an empty, an executable
// and a read-only file, a read-only directory, and symlinks relative,
// absolute into the tree and outside it. The Go worker's copy must equal
// the source in content, modes, mtimes and links; the callbacks must
// count every file; a second copy with delete=True must send only the
// changed file and remove what the source does not have (SPEC.md 12.10).
func TestRsyncPythonMaster(t *testing.T) {
	for _, r := range peers.Releases(t) {
		t.Run(r.Name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			t.Cleanup(func() { makeWritable(dir) })
			ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, peers.CPythonPath, "testdata/rsync_master.py", workerBin+" worker", dir)
			cmd.Env = append(os.Environ(), r.Env()...)
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			cmd.WaitDelay = 5 * time.Second
			err := cmd.Run()
			text := out.String()
			if err != nil || !strings.Contains(text, "\ndone\n") {
				t.Fatalf("rsync_master.py with execnet %s failed (%v):\n%s", r.Version, err, text)
			}
			for _, w := range []string{"send", "identical", "python-target", "callbacks", "update-delete"} {
				if !strings.Contains(text, "ok "+w+"\n") {
					t.Errorf("check %q did not pass:\n%s", w, text)
				}
			}
		})
	}
}

// makeWritable lets t.TempDir's cleanup remove read-only directories.
func makeWritable(dir string) {
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			_ = os.Chmod(p, 0o755)
		}
		return nil
	})
}

// TestIsRsyncSource checks the recognition rule against the
// rsync_remote.py of every execnet release on this machine.
func TestIsRsyncSource(t *testing.T) {
	files := []string{"/usr/lib/python3/dist-packages/execnet/rsync_remote.py"}
	if d := peers.SharedDir(); d != "" {
		m, _ := filepath.Glob(filepath.Join(d, "execnet-*", "execnet", "rsync_remote.py"))
		files = append(files, m...)
	}
	seen := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		seen++
		if !worker.IsRsyncSource(string(b)) {
			t.Errorf("%s is not recognised as the rsync receiver", f)
		}
		if worker.IsIOProxySource(string(b)) {
			t.Errorf("%s is taken for the io-proxy", f)
		}
	}
	if seen == 0 {
		peers.Missing(t, "an execnet rsync_remote.py")
	}
}
