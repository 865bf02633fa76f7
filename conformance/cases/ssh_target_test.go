package cases

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/execnet-conform/execnet-conform/conformance"
	"github.com/execnet-conform/execnet-conform/internal/peers"
	"github.com/execnet-conform/execnet-conform/internal/sshdtest"
)

// TestSSHTarget runs the whole suite against CPython execnet reached over
// real OpenSSH on loopback, with host key verification on (a known_hosts
// file in a fresh HOME), and requires the same verdicts as the popen target:
// every case passes except the entries of the CPython known-failure list.
func TestSSHTarget(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the whole suite over ssh")
	}
	python := peers.CPython(t)
	srv := sshdtest.Start(t, sshdtest.Options{})
	home := t.TempDir()
	sshDir := filepath.Join(home, ".ssh")
	if err := os.MkdirAll(sshDir, 0o700); err != nil {
		t.Fatal(err)
	}
	for src, dst := range map[string]string{srv.UserKeyPath: "id_ed25519", srv.KnownHostsPath: "known_hosts"} {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(sshDir, dst), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("HOME", home)
	t.Setenv("SSH_AUTH_SOCK", "")

	known, err := conformance.LoadKnownFailing("../../testdata/known-failures/execnet-1.9.0.txt")
	if err != nil {
		t.Fatal(err)
	}
	opts := conformance.Options{
		Target:       fmt.Sprintf("ssh=%s@%s//python=%s", srv.User, srv.Addr, python),
		Style:        "import",
		KnownFailing: known,
		Seed:         1,
		Count:        20,
		// ssh sessions start slower than popen on a loaded CI machine
		BootstrapTimeout: 30 * time.Second,
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	res, err := conformance.Run(ctx, opts, All(), nil)
	if err != nil {
		t.Fatalf("run over ssh: %v\n%s", err, srv.Log())
	}
	if u := unexpected(res); len(u) > 0 {
		t.Fatalf("over ssh, %d unexpected outcomes:\n%s", len(u), strings.Join(u, "\n"))
	}
	t.Logf("ssh target: %s", conformance.Summary(res))
}
