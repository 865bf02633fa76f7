package worker_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/execnet-conform/execnet-conform/internal/peers"
	"github.com/execnet-conform/execnet-conform/reference/worker"
)

var viaChecks = []string{"exec", "echo", "remote-error", "newchannel", "env", "two-subs", "go-sub",
	"sub-exit", "terminate", "hop-ends-subs", "sub-reaped"}

// TestViaHopForPythonMaster uses the Go worker as the via hop of a real
// Python execnet master (every release found): Python workers opened with
// popen//via=hop run source, carry channels both ways, get env: applied,
// end one by one (close_write and wait on the control channel) and with
// the group, and end when the hop ends (SPEC.md 12.9, BOOT-VIA-2, 3, 6).
func TestViaHopForPythonMaster(t *testing.T) {
	for _, r := range peers.Releases(t) {
		t.Run(r.Name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, peers.CPythonPath, "testdata/via_master.py", workerBin+" worker")
			cmd.Env = append(os.Environ(), r.Env()...)
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			cmd.WaitDelay = 5 * time.Second
			err := cmd.Run()
			text := out.String()
			if err != nil || !strings.Contains(text, "\ndone\n") {
				t.Fatalf("via_master.py with execnet %s failed (%v):\n%s", r.Version, err, text)
			}
			for _, w := range viaChecks {
				if !strings.Contains(text, "ok "+w+"\n") {
					t.Errorf("check %q did not pass:\n%s", w, text)
				}
			}
		})
	}
}

// TestIsIOProxySource checks the recognition rule of BOOT-VIA-8 against
// the gateway_io.py of every execnet release on this machine, and against
// sources that only resemble it.
func TestIsIOProxySource(t *testing.T) {
	files := []string{"/usr/lib/python3/dist-packages/execnet/gateway_io.py"}
	if d := peers.SharedDir(); d != "" {
		m, _ := filepath.Glob(filepath.Join(d, "execnet-*", "execnet", "gateway_io.py"))
		files = append(files, m...)
	}
	seen := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		seen++
		if !worker.IsIOProxySource(string(b)) {
			t.Errorf("%s is not recognised as the io-proxy source", f)
		}
	}
	if seen == 0 {
		peers.Missing(t, "an execnet gateway_io.py")
	}
	for name, src := range map[string]string{
		"call only":        "serve_proxy_io(channel)\n",
		"def only":         "def serve_proxy_io(ch):\n    pass\n",
		"nested def":       "class X:\n    def serve_proxy_io(ch):\n        pass\nserve_proxy_io(channel)\n",
		"other argument":   "def serve_proxy_io(ch):\n    pass\nserve_proxy_io(other)\n",
		"call in an expr":  "def serve_proxy_io(ch):\n    pass\nx = serve_proxy_io(channel)\n",
		"trailing code":    "def serve_proxy_io(ch):\n    pass\nserve_proxy_io(channel); import os\n",
		"mentioned in str": "s = 'def serve_proxy_io(x): serve_proxy_io(channel)'\n",
		"empty":            "",
	} {
		if worker.IsIOProxySource(src) {
			t.Errorf("%s: recognised as the io-proxy source:\n%s", name, src)
		}
	}
	if !worker.IsIOProxySource("def serve_proxy_io(c):\r\n    pass\r\nif __name__ == '__channelexec__':\r\n\tserve_proxy_io(channel)  # noqa\r\n") {
		t.Error("CRLF source with a comment after the call is not recognised")
	}
}
