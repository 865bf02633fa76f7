package sshtransport

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/execnet-conform/execnet-conform/reference/transport"
	"github.com/execnet-conform/execnet-conform/reference/xspec"
)

// Defaults are settings an Opener applies to every ssh= spec unless the
// spec itself says otherwise (ssh_key=, insecure_ignore_host_key).
type Defaults struct {
	KeyFiles   []string // tried when the spec has no ssh_key=
	KnownHosts []string // default ~/.ssh/known_hosts
	NoAgent    bool
	// InsecureIgnoreHostKey accepts any host key. For tests only.
	InsecureIgnoreHostKey bool
}

// Opener opens ssh= specs: ssh=[user@]host[:port]//python=python3[//...].
// The remote side gets the exec style by default, so it needs Python and
// nothing else; style=import uses the remote interpreter's own execnet.
type Opener struct{ Defaults Defaults }

// Register adds an ssh opener to opts (kind "ssh").
func Register(opts *transport.Options, d Defaults) {
	if opts.Openers == nil {
		opts.Openers = map[string]transport.Opener{}
	}
	opts.Openers["ssh"] = &Opener{Defaults: d}
}

// ParseTarget splits [user@]host[:port].
func ParseTarget(target string) (user, host string, port int, err error) {
	if i := strings.LastIndex(target, "@"); i >= 0 {
		user, target = target[:i], target[i+1:]
	}
	h, p, err := xspec.SplitHostPort(target)
	if err != nil || p == "" {
		h, p = target, ""
		if strings.HasPrefix(h, "[") && strings.HasSuffix(h, "]") {
			h = h[1 : len(h)-1]
		}
	}
	if h == "" {
		return "", "", 0, fmt.Errorf("ssh=%q: no host", target)
	}
	port = 22
	if p != "" {
		if port, err = strconv.Atoi(p); err != nil || port <= 0 || port > 65535 {
			return "", "", 0, fmt.Errorf("ssh=%q: bad port %q", target, p)
		}
	}
	return user, h, port, nil
}

// Open dials the host, starts the remote interpreter and performs the
// handshake. ctx bounds the dial and the bootstrap.
func (o *Opener) Open(ctx context.Context, s *xspec.Spec, opts transport.Options) (transport.Conn, error) {
	user, host, port, err := ParseTarget(s.Target)
	if err != nil {
		return nil, err
	}
	cfg := Config{User: user, Host: host, Port: port,
		KeyFiles: o.Defaults.KeyFiles, KnownHosts: o.Defaults.KnownHosts, NoAgent: o.Defaults.NoAgent,
		InsecureIgnoreHostKey: o.Defaults.InsecureIgnoreHostKey || s.InsecureIgnoreHostKey,
		DialTimeout:           opts.BootstrapTimeout}
	if s.SSHKey != "" {
		cfg.KeyFiles = []string{expandHome(s.SSHKey)}
	}
	if s.SSHConfig != "" {
		return nil, fmt.Errorf("%w: %q: ssh_config= is not supported by the Go ssh transport (it reads no ssh_config; give user, port and ssh_key= in the spec)", transport.ErrUnsupportedTransport, s.Raw)
	}
	style := opts.Style
	if s.Has("style") {
		style = s.Style
	}
	if style == "" {
		style = transport.StyleExec
	}
	workerID := opts.WorkerID
	if workerID == "" {
		workerID = s.WorkerID("gw0")
	}
	execModel := s.ExecModel
	if execModel == "" {
		execModel = "thread"
	}
	var src string
	switch style {
	case transport.StyleImport:
		src = transport.ImportSource(workerID, execModel)
	case transport.StyleExec:
		gb := opts.GatewayBaseSource
		if gb == "" {
			var err error
			if gb, err = transport.ReadGatewayBase(ctx); err != nil {
				return nil, err
			}
		}
		src = transport.ExecSource(gb, workerID, execModel)
	default:
		return nil, fmt.Errorf("sshtransport: %q: unknown bootstrap style %q", s.Raw, style)
	}
	c, err := Dial(ctx, cfg)
	if err != nil {
		return nil, err
	}
	timeout := opts.BootstrapTimeout
	if timeout <= 0 {
		timeout = transport.DefaultBootstrapTimeout
	}
	return Start(ctx, c, true, RemoteCommand(s.Python), transport.PyStringLiteral(src)+"\n", timeout)
}

func expandHome(p string) string {
	if strings.HasPrefix(p, "~/") {
		if h, err := os.UserHomeDir(); err == nil {
			return h + p[1:]
		}
	}
	return p
}
