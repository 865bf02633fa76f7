package transport

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/execnet-conform/execnet-conform/internal/peers"
	"github.com/execnet-conform/execnet-conform/reference/xspec"
)

func TestOpenDispatch(t *testing.T) {
	ctx := context.Background()
	for _, s := range []string{"ssh=somehost", "vagrant_ssh=default", "id=x", "popen//via=gw0", "socket=127.0.0.1:1//installvia=gw0", "socket=127.0.0.1:1//python=python3", "custom=1"} {
		if _, err := Open(ctx, mustParse(t, s), Options{GatewayBaseSource: "#\n"}); !errors.Is(err, ErrUnsupportedTransport) {
			t.Errorf("Open(%q) = %v, want ErrUnsupportedTransport", s, err)
		}
	}
	// An opener plugged in through Options takes the kind over.
	sentinel := errors.New("ssh opener called")
	var got *xspec.Spec
	opts := Options{Openers: map[string]Opener{"ssh": OpenerFunc(func(ctx context.Context, s *xspec.Spec, o Options) (Conn, error) {
		got = s
		return nil, sentinel
	})}}
	if _, err := Open(ctx, mustParse(t, "ssh=user@host//python=python3"), opts); !errors.Is(err, sentinel) || got == nil || got.Target != "user@host" {
		t.Fatalf("opener: %v %+v", err, got)
	}
	if _, err := Open(ctx, mustParse(t, "popen//python='unbalanced"), Options{}); !errors.Is(err, xspec.ErrShellSyntax) {
		t.Fatalf("bad python=: %v", err)
	}
	if _, err := Open(ctx, mustParse(t, "socket=nocolon"), Options{}); err == nil {
		t.Fatal("bad socket target accepted")
	}
}

func TestGatewayBaseLocation(t *testing.T) {
	py := peers.CPython(t)
	p, err := LocateGatewayBase(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p)
	if err != nil || !strings.Contains(string(b), "def serve(") || !strings.Contains(string(b), "def init_popen_io(") {
		t.Fatalf("%s does not look like gateway_base.py: %v", p, err)
	}

	t.Setenv(EnvGatewayBase, "/nonexistent/gateway_base.py")
	_, err = Open(context.Background(), mustParse(t, "popen//python="+py), Options{Style: StyleExec})
	if !errors.Is(err, ErrNoGatewayBase) || !strings.Contains(err.Error(), EnvGatewayBase) {
		t.Fatalf("missing gateway_base: %v", err)
	}
	// Import style does not need it.
	c, err := Open(context.Background(), mustParse(t, "popen//python="+py), Options{Style: StyleImport})
	if err != nil {
		t.Fatal(err)
	}
	exchange(t, c)
}
