package cases

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/execnet-conform/execnet-conform/conformance"
	"github.com/execnet-conform/execnet-conform/internal/peers"
	"github.com/execnet-conform/execnet-conform/internal/sshdtest"
	"github.com/execnet-conform/execnet-conform/reference/transport/sshtransport"
)

// TestSSHTarget runs the whole suite against CPython execnet reached over
// real OpenSSH on loopback, with host key verification on (the server's
// known_hosts entry given as Options.SSH), and requires the same verdicts
// as the popen target: every case passes except the entries of the
// CPython known-failure list. It runs beside TestExecnetReleases: both
// spend most of their time waiting for execnet's grace periods. (The
// ~/.ssh defaults are tested in sshtransport, TestDialDefaultsFromHome.)
func TestSSHTarget(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the whole suite over ssh")
	}
	t.Parallel()
	python := peers.CPython(t)
	srv := sshdtest.Start(t, sshdtest.Options{})

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
		SSH:              sshtransport.Defaults{KeyFiles: []string{srv.UserKeyPath}, KnownHosts: []string{srv.KnownHostsPath}, NoAgent: true},
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
