// Package sshtransport reaches execnet workers over SSH with
// golang.org/x/crypto/ssh, without an ssh binary: it authenticates with the
// SSH agent or key files, checks host keys against known_hosts, starts the
// remote interpreter with execnet's bootstrap command and performs the
// handshake. See SPEC.md section "SSH transport" for how it differs from
// execnet's ssh-binary transport.
package sshtransport

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
	"golang.org/x/crypto/ssh/knownhosts"
)

// Failure classes. Every error this package returns for a failed dial or
// bootstrap wraps exactly one of them, so callers can tell them apart with
// errors.Is.
var (
	ErrHostNotFound      = errors.New("ssh: host not found")
	ErrConnectionRefused = errors.New("ssh: connection refused")
	ErrDialTimeout       = errors.New("ssh: dial timed out")
	ErrAuthFailed        = errors.New("ssh: authentication failed")
	ErrHostKeyUnknown    = errors.New("ssh: host key unknown")
	ErrHostKeyMismatch   = errors.New("ssh: host key mismatch")
	ErrHostKeyRevoked    = errors.New("ssh: host key revoked")
	ErrPythonNotFound    = errors.New("ssh: python not found on the remote host")
	ErrBootstrapTimeout  = errors.New("ssh: bootstrap did not answer in time")
	ErrBootstrapFailed   = errors.New("ssh: bootstrap failed")
	ErrNoAuthMethods     = errors.New("ssh: no authentication method available")
)

// Error is a failed dial or bootstrap with its context.
type Error struct {
	Addr   string // host:port
	User   string
	Class  error // one of the Err* values
	Detail string
	Err    error // the underlying error, if any
}

func (e *Error) Error() string {
	s := fmt.Sprintf("%v (%s@%s)", e.Class, e.User, e.Addr)
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns both the class and the cause.
func (e *Error) Unwrap() []error {
	if e.Err != nil {
		return []error{e.Class, e.Err}
	}
	return []error{e.Class}
}

// Config says how to reach and authenticate to a host.
type Config struct {
	User string // default: $USER
	Host string
	Port int // default 22
	// KeyFiles are private keys to offer. When empty, the usual files
	// ~/.ssh/id_ed25519, id_ecdsa and id_rsa are tried if present.
	KeyFiles []string
	// UseAgent offers the keys of the agent at SSH_AUTH_SOCK (default on
	// when SSH_AUTH_SOCK is set; set NoAgent to disable).
	NoAgent bool
	// KnownHosts lists known_hosts files; default ~/.ssh/known_hosts.
	KnownHosts []string
	// InsecureIgnoreHostKey accepts any host key. For tests only.
	InsecureIgnoreHostKey bool
	// DialTimeout bounds TCP connect plus SSH handshake; default 10s.
	DialTimeout time.Duration
	// KeepAlive is the interval of keepalive requests; default 15s; a
	// server that misses three in a row is considered gone.
	KeepAlive time.Duration
}

func (c *Config) addr() string {
	port := c.Port
	if port == 0 {
		port = 22
	}
	return net.JoinHostPort(c.Host, strconv.Itoa(port))
}

func (c *Config) user() string {
	if c.User != "" {
		return c.User
	}
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	return "root"
}

// Client is an authenticated SSH connection.
type Client struct {
	*ssh.Client
	cfg  Config
	stop chan struct{}
	done chan struct{}
}

// Dial connects and authenticates. The error is an *Error naming its class.
func Dial(ctx context.Context, cfg Config) (*Client, error) {
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = 10 * time.Second
	}
	if cfg.KeepAlive <= 0 {
		cfg.KeepAlive = 15 * time.Second
	}
	addr := cfg.addr()
	fail := func(class error, detail string, err error) (*Client, error) {
		return nil, &Error{Addr: addr, User: cfg.user(), Class: class, Detail: detail, Err: err}
	}
	hk, err := hostKeyCallback(cfg)
	if err != nil {
		return fail(ErrHostKeyUnknown, "cannot read known_hosts", err)
	}
	auths, closeAgent, err := authMethods(cfg)
	if err != nil {
		return fail(ErrNoAuthMethods, "", err)
	}
	defer closeAgent()

	dctx, cancel := context.WithTimeout(ctx, cfg.DialTimeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(dctx, "tcp", addr)
	if err != nil {
		return fail(classifyDial(err), "", err)
	}
	// Bound the SSH handshake by the same deadline.
	if dl, ok := dctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	var hostKeyErr error
	var presented ssh.PublicKey
	ccfg := &ssh.ClientConfig{
		User: cfg.user(),
		Auth: auths,
		HostKeyCallback: func(h string, r net.Addr, k ssh.PublicKey) error {
			err := hk(h, r, k)
			hostKeyErr, presented = err, k
			return err
		},
		Timeout: cfg.DialTimeout,
	}
	var known knownHostKeys
	if !cfg.InsecureIgnoreHostKey {
		// Ask for a host key of a type known_hosts holds for this host,
		// as OpenSSH does: otherwise the server picks by its own
		// preference and a host listed with only some of its key types
		// looks like a changed host.
		if known, err = lookupKnown(hk, addr, conn.RemoteAddr()); err != nil {
			conn.Close()
			return fail(ErrHostKeyUnknown, "cannot read known_hosts", err)
		}
		ccfg.HostKeyAlgorithms = hostKeyAlgorithms(known)
	}
	sc, chans, reqs, err := ssh.NewClientConn(conn, addr, ccfg)
	if err != nil {
		conn.Close()
		var ke *knownhosts.KeyError
		var re *knownhosts.RevokedError
		switch {
		case errors.As(hostKeyErr, &re):
			return fail(ErrHostKeyRevoked, fmt.Sprintf("the host presented a %s key that known_hosts marks @revoked (%s:%d); refusing", presented.Type(), re.Revoked.Filename, re.Revoked.Line), hostKeyErr)
		case errors.As(hostKeyErr, &ke) && len(ke.Want) > 0:
			class, detail := hostKeyDetail(presented, known)
			return fail(class, detail, hostKeyErr)
		case errors.As(hostKeyErr, &ke):
			return fail(ErrHostKeyUnknown, "the host key is not in known_hosts; add it (ssh-keyscan) or, in tests only, use insecure_ignore_host_key", hostKeyErr)
		case hostKeyErr != nil:
			return fail(ErrHostKeyMismatch, "", hostKeyErr)
		case strings.Contains(err.Error(), "unable to authenticate"):
			return fail(ErrAuthFailed, "no offered key was accepted", err)
		case errors.Is(err, os.ErrDeadlineExceeded) || dctx.Err() != nil:
			return fail(ErrDialTimeout, "during the SSH handshake", err)
		}
		return fail(ErrConnectionRefused, "SSH handshake failed", err)
	}
	_ = conn.SetDeadline(time.Time{})
	c := &Client{Client: ssh.NewClient(sc, chans, reqs), cfg: cfg, stop: make(chan struct{}), done: make(chan struct{})}
	go c.keepalive()
	return c, nil
}

// Close closes the connection and stops the keepalive goroutine.
func (c *Client) Close() error {
	select {
	case <-c.stop:
	default:
		close(c.stop)
	}
	err := c.Client.Close()
	<-c.done
	return err
}

func (c *Client) keepalive() {
	defer close(c.done)
	t := time.NewTicker(c.cfg.KeepAlive)
	defer t.Stop()
	missed := 0
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
		}
		res := make(chan error, 1)
		go func() {
			_, _, err := c.SendRequest("keepalive@openssh.com", true, nil)
			res <- err
		}()
		select {
		case err := <-res:
			if err != nil {
				return // connection gone; Wait reports it
			}
			missed = 0
		case <-time.After(c.cfg.KeepAlive):
			missed++
			if missed >= 3 {
				_ = c.Client.Close()
				return
			}
		case <-c.stop:
			return
		}
	}
}

func classifyDial(err error) error {
	var dnsErr *net.DNSError
	switch {
	case errors.As(err, &dnsErr):
		return ErrHostNotFound
	case errors.Is(err, syscall.ECONNREFUSED):
		return ErrConnectionRefused
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
		return ErrDialTimeout
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return ErrHostNotFound
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return ErrDialTimeout
	}
	return ErrConnectionRefused
}

func hostKeyCallback(cfg Config) (ssh.HostKeyCallback, error) {
	if cfg.InsecureIgnoreHostKey {
		return ssh.InsecureIgnoreHostKey(), nil
	}
	files := cfg.KnownHosts
	if len(files) == 0 {
		home, err := os.UserHomeDir()
		if err != nil {
			return nil, err
		}
		files = []string{filepath.Join(home, ".ssh", "known_hosts")}
	}
	return knownhosts.New(files...)
}

func authMethods(cfg Config) ([]ssh.AuthMethod, func(), error) {
	var methods []ssh.AuthMethod
	closeAgent := func() {}
	if sock := os.Getenv("SSH_AUTH_SOCK"); sock != "" && !cfg.NoAgent {
		if conn, err := net.DialTimeout("unix", sock, 2*time.Second); err == nil {
			ag := agent.NewClient(conn)
			methods = append(methods, ssh.PublicKeysCallback(ag.Signers))
			closeAgent = func() { conn.Close() }
		}
	}
	files := cfg.KeyFiles
	explicit := len(files) > 0
	if !explicit {
		if home, err := os.UserHomeDir(); err == nil {
			for _, n := range []string{"id_ed25519", "id_ecdsa", "id_rsa"} {
				files = append(files, filepath.Join(home, ".ssh", n))
			}
		}
	}
	var signers []ssh.Signer
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			if explicit {
				closeAgent()
				return nil, closeAgent, fmt.Errorf("key file %s: %w", f, err)
			}
			continue
		}
		s, err := ssh.ParsePrivateKey(b)
		if err != nil {
			if explicit {
				closeAgent()
				return nil, closeAgent, fmt.Errorf("key file %s: %w (passphrase-protected keys must be loaded into ssh-agent)", f, err)
			}
			continue
		}
		signers = append(signers, s)
	}
	if len(signers) > 0 {
		methods = append(methods, ssh.PublicKeys(signers...))
	}
	if len(methods) == 0 {
		return nil, closeAgent, errors.New("no SSH agent (SSH_AUTH_SOCK) and no usable key file (~/.ssh/id_ed25519, id_ecdsa, id_rsa, or ssh_key=PATH)")
	}
	return methods, closeAgent, nil
}
