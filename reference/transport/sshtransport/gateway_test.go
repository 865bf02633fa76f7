package sshtransport_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/execnet-conform/execnet-conform/internal/netnstest"
	"github.com/execnet-conform/execnet-conform/internal/peers"
	"github.com/execnet-conform/execnet-conform/internal/sshdtest"
	"github.com/execnet-conform/execnet-conform/reference/codec"
	"github.com/execnet-conform/execnet-conform/reference/gateway"
	"github.com/execnet-conform/execnet-conform/reference/transport"
	"github.com/execnet-conform/execnet-conform/reference/transport/sshtransport"
)

func sshOptions(srv ...*sshdtest.Server) gateway.Option {
	// A loaded CI machine can take seconds to start Python over ssh.
	topts := transport.Options{BootstrapTimeout: 30 * time.Second}
	d := sshtransport.Defaults{NoAgent: true}
	for _, s := range srv {
		d.KeyFiles = append(d.KeyFiles, s.UserKeyPath)
		d.KnownHosts = append(d.KnownHosts, s.KnownHostsPath)
	}
	sshtransport.Register(&topts, d)
	return gateway.WithTransportOptions(topts)
}

// TestGatewayExecStyle: a Go master reaches a Python worker over real
// OpenSSH with known_hosts verification on, in the exec style (the remote
// side needs only Python), and in the import style.
func TestGatewayExecStyle(t *testing.T) {
	py := peers.CPython(t)
	srv := sshdtest.Start(t, sshdtest.Options{})
	for _, style := range []string{"exec", "import"} {
		t.Run(style, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			spec := fmt.Sprintf("ssh=%s@%s//python=%s//style=%s", srv.User, srv.Addr, py, style)
			g, err := gateway.Open(ctx, spec, sshOptions(srv))
			if err != nil {
				t.Fatalf("open %s: %v", spec, err)
			}
			ch, err := g.RemoteExecSource(ctx, "import os\nchannel.send((os.getpid(), channel.receive() * 2))")
			if err != nil {
				t.Fatal(err)
			}
			if err := ch.Send(ctx, codec.Int(21)); err != nil {
				t.Fatal(err)
			}
			v, err := ch.Receive(ctx)
			if err != nil {
				t.Fatal(err)
			}
			tup, ok := v.(codec.Tuple)
			if !ok || len(tup) != 2 || !codec.Identical(tup[1], codec.Int(42)) {
				t.Fatalf("got %s", codec.Repr(v))
			}
			if pid, _ := tup[0].(codec.Int); int(pid) != g.Pid() {
				t.Fatalf("remote pid %d, gateway says %d", pid, g.Pid())
			}
			if err := g.Exit(ctx); err != nil {
				t.Fatalf("exit: %v", err)
			}
			if st, ok := g.ExitStatus(); !ok || st.Code != 0 {
				t.Fatalf("exit status %+v %v", st, ok)
			}
			// the remote process is gone
			if _, err := os.Stat(filepath.Join("/proc", fmt.Sprint(tup[0]))); err == nil {
				t.Fatalf("remote worker pid %s still exists after Exit", codec.Repr(tup[0]))
			}
		})
	}
}

// TestThreeHosts builds three hosts in network namespaces, each with its own
// sshd, opens a Group of Python execnet workers on all three over ssh,
// spreads a job across them, gathers the results and terminates the group.
func TestThreeHosts(t *testing.T) {
	py := peers.CPython(t)
	hosts := netnstest.Hosts(t, 3)
	var servers []*sshdtest.Server
	var specs []string
	for i, h := range hosts {
		s := sshdtest.Start(t, sshdtest.Options{Addr: h.Addr, Port: 22, NetNS: h.NS})
		servers = append(servers, s)
		specs = append(specs, fmt.Sprintf("ssh=%s@%s//python=%s//id=host%d", s.User, h.Addr, py, i))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	group := gateway.NewGroup(sshOptions(servers...))
	gws, err := group.Open(ctx, specs...)
	if err != nil {
		t.Fatalf("group open: %v", err)
	}
	// Each worker first reports the routing table it sees (proof that it
	// runs inside its own namespace), then squares the numbers it gets.
	src := `channel.send(open('/proc/net/fib_trie').read())
for x in channel:
    channel.send((x, x * x))
`
	var chans []*gateway.Channel
	for i, g := range gws {
		ch, err := g.RemoteExecSource(ctx, src)
		if err != nil {
			t.Fatal(err)
		}
		v, err := ch.Receive(ctx)
		if err != nil {
			t.Fatal(err)
		}
		fib := string(v.(codec.Str))
		for j, h := range hosts {
			if has := strings.Contains(fib, h.Addr); has != (i == j) {
				t.Fatalf("worker %d: routing table mentions %s = %v", i, h.Addr, has)
			}
		}
		chans = append(chans, ch)
	}
	const jobs = 30
	for i := 0; i < jobs; i++ {
		if err := chans[i%len(chans)].Send(ctx, codec.Int(i)); err != nil {
			t.Fatal(err)
		}
	}
	sum := 0
	for i := 0; i < jobs; i++ {
		v, err := chans[i%len(chans)].Receive(ctx)
		if err != nil {
			t.Fatalf("job %d: %v", i, err)
		}
		tup := v.(codec.Tuple)
		if !codec.Identical(tup[0], codec.Int(i)) {
			t.Fatalf("job %d answered %s", i, codec.Repr(v))
		}
		sum += int(tup[1].(codec.Int))
	}
	want := 0
	for i := 0; i < jobs; i++ {
		want += i * i
	}
	if sum != want {
		t.Fatalf("sum of squares %d, want %d", sum, want)
	}
	for _, ch := range chans {
		_ = ch.Close()
	}
	rep := group.Terminate(ctx, 5*time.Second)
	if f := rep.Forced(); len(f) != 0 {
		t.Fatalf("workers needed force: %s", rep)
	}
	for _, w := range rep.Workers {
		if !w.StatusKnown || w.Status.Code != 0 {
			t.Fatalf("worker %s ended with %+v (known %v)", w.ID, w.Status, w.StatusKnown)
		}
		if !strings.HasPrefix(w.ID, "host") {
			t.Fatalf("unexpected id %s", w.ID)
		}
	}
}

// TestDialDefaultsFromHome: with no keys and no known_hosts given
// (Defaults' zero value, as the runner and gateway.Open use by default),
// the key comes from ~/.ssh/id_ed25519 and the host key is checked
// against ~/.ssh/known_hosts of $HOME; a HOME whose known_hosts lacks the
// server is refused as unknown, so the file is really consulted.
func TestDialDefaultsFromHome(t *testing.T) {
	py := peers.CPython(t)
	srv := sshdtest.Start(t, sshdtest.Options{})
	home := func(withKnownHosts bool) string {
		dir := t.TempDir()
		ssh := filepath.Join(dir, ".ssh")
		if err := os.MkdirAll(ssh, 0o700); err != nil {
			t.Fatal(err)
		}
		files := map[string]string{srv.UserKeyPath: "id_ed25519"}
		if withKnownHosts {
			files[srv.KnownHostsPath] = "known_hosts"
		}
		for src, dst := range files {
			b, err := os.ReadFile(src)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(ssh, dst), b, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		return dir
	}
	t.Setenv("SSH_AUTH_SOCK", "")
	topts := transport.Options{BootstrapTimeout: 30 * time.Second}
	sshtransport.Register(&topts, sshtransport.Defaults{})
	spec := fmt.Sprintf("ssh=%s@%s//python=%s//style=import", srv.User, srv.Addr, py)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	t.Setenv("HOME", home(false))
	if g, err := gateway.Open(ctx, spec, gateway.WithTransportOptions(topts)); !errors.Is(err, sshtransport.ErrHostKeyUnknown) {
		if err == nil {
			_ = g.Exit(ctx)
		}
		t.Fatalf("HOME without a known_hosts entry: want ErrHostKeyUnknown, got %v", err)
	}

	t.Setenv("HOME", home(true))
	g, err := gateway.Open(ctx, spec, gateway.WithTransportOptions(topts))
	if err != nil {
		t.Fatalf("open %s with ~/.ssh defaults: %v\n%s", spec, err, srv.Log())
	}
	ch, err := g.RemoteExecSource(ctx, "channel.send(channel.receive() + 1)")
	if err != nil {
		t.Fatal(err)
	}
	if err := ch.Send(ctx, codec.Int(41)); err != nil {
		t.Fatal(err)
	}
	if v, err := ch.Receive(ctx); err != nil || !codec.Identical(v, codec.Int(42)) {
		t.Fatalf("got %v %v, want 42", v, err)
	}
	if err := g.Exit(ctx); err != nil {
		t.Fatalf("exit: %v", err)
	}
}
