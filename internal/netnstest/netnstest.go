// Package netnstest builds test hosts in Linux network namespaces: each
// host is a namespace joined to the test's namespace by a veth pair on its
// own /24 (10.77.N.0/24, used only inside namespaces the test creates).
// Everything is removed when the test ends.
package netnstest

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/execnet-conform/execnet-conform/internal/peers"
)

// Host is one namespace.
type Host struct {
	NS     string // namespace name, for "ip netns exec"
	Addr   string // the host's address, reachable from the test
	Gate   string // the test side's address on the same link
	hostIf string
}

// Available reports why namespaces cannot be built here, or "".
func Available() string {
	if os.Geteuid() != 0 {
		return "network namespaces need root"
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return "the ip command (iproute2) is missing"
	}
	return ""
}

// Hosts creates n hosts. It skips t with the reason when namespaces are
// unavailable (not root, no iproute2); when the machine is root but the
// setup fails, and peers are required, it fails t.
func Hosts(t testing.TB, n int) []Host {
	t.Helper()
	if why := Available(); why != "" {
		if os.Geteuid() == 0 {
			peers.Missing(t, why)
		}
		t.Skip("skipping the namespace test: " + why)
	}
	tag := fmt.Sprintf("%d", os.Getpid()%100000)
	var hosts []Host
	t.Cleanup(func() {
		for _, h := range hosts {
			_ = exec.Command("ip", "netns", "del", h.NS).Run()
			_ = exec.Command("ip", "link", "del", h.hostIf).Run()
		}
	})
	for i := 1; i <= n; i++ {
		sub := 100 + (os.Getpid()+i*7)%150 // spread parallel runs
		h := Host{
			NS:     fmt.Sprintf("ecn%s-%d", tag, i),
			Addr:   fmt.Sprintf("10.77.%d.2", sub),
			Gate:   fmt.Sprintf("10.77.%d.1", sub),
			hostIf: fmt.Sprintf("ech%s%d", tag, i),
		}
		nsIf := fmt.Sprintf("ecn%s%d", tag, i)
		hosts = append(hosts, h)
		steps := [][]string{
			{"ip", "netns", "add", h.NS},
			{"ip", "link", "add", h.hostIf, "type", "veth", "peer", "name", nsIf},
			{"ip", "link", "set", nsIf, "netns", h.NS},
			{"ip", "addr", "add", h.Gate + "/24", "dev", h.hostIf},
			{"ip", "link", "set", h.hostIf, "up"},
			{"ip", "netns", "exec", h.NS, "ip", "addr", "add", h.Addr + "/24", "dev", nsIf},
			{"ip", "netns", "exec", h.NS, "ip", "link", "set", nsIf, "up"},
			{"ip", "netns", "exec", h.NS, "ip", "link", "set", "lo", "up"},
		}
		for _, s := range steps {
			if out, err := exec.Command(s[0], s[1:]...).CombinedOutput(); err != nil {
				peers.Missing(t, fmt.Sprintf("namespace setup failed at %q: %v: %s", strings.Join(s, " "), err, out))
			}
		}
	}
	return hosts
}
