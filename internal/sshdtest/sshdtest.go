// Package sshdtest starts a real OpenSSH sshd for tests, with its own host
// key, user key, authorized_keys, known_hosts and configuration, listening
// on a free loopback port (or inside a network namespace). The server is
// stopped and reaped when the test ends.
package sshdtest

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/execnet-conform/execnet-conform/internal/peers"
)

// Options configure a server.
type Options struct {
	// Addr is the address to listen on; default 127.0.0.1.
	Addr string
	// Port to listen on; 0 picks a free one (on loopback only).
	Port int
	// NetNS, when set, runs sshd with "ip netns exec NetNS".
	NetNS string
	// Dir holds the files; default t.TempDir().
	Dir string
	// HostKeyTypes lists the host keys to give the server: "ed25519",
	// "ecdsa" (P-256), "rsa" (3072 bits). Default: ed25519 only.
	HostKeyTypes []string
	// HostCertificate makes a certificate authority (Server.HostCA) and
	// gives the server a host certificate it signed for its ed25519 key
	// (HostKeyTypes must include ed25519), valid for Addr.
	HostCertificate bool
}

// Server is a running sshd.
type Server struct {
	Addr           string // host:port
	Host           string
	Port           int
	User           string                   // the local user name the key logs in as
	UserKeyPath    string                   // private key (OpenSSH PEM) authorised on the server
	KnownHostsPath string                   // known_hosts file holding the server's host key
	HostKey        ssh.PublicKey            // the first of HostKeys
	HostKeys       map[string]ssh.PublicKey // by Options.HostKeyTypes name
	HostCA         ssh.PublicKey            // with Options.HostCertificate
	Dir            string
	cmd            *exec.Cmd
	done           chan struct{}
	logPath        string
}

// Start starts sshd and waits until it accepts TCP connections. It skips
// (or fails, with EXECNET_REQUIRE_PEERS=1) when sshd is missing.
func Start(t testing.TB, o Options) *Server {
	t.Helper()
	sshd := peers.SSHD(t)
	if o.Addr == "" {
		o.Addr = "127.0.0.1"
	}
	if o.Dir == "" {
		o.Dir = t.TempDir()
	}
	if o.Port == 0 {
		o.Port = freePort(t, o.Addr)
	}
	u, err := user.Current()
	if err != nil {
		t.Fatalf("sshdtest: current user: %v", err)
	}
	s := &Server{Host: o.Addr, Port: o.Port, Addr: net.JoinHostPort(o.Addr, strconv.Itoa(o.Port)),
		User: u.Username, Dir: o.Dir, done: make(chan struct{}), logPath: filepath.Join(o.Dir, "sshd.log")}

	if len(o.HostKeyTypes) == 0 {
		o.HostKeyTypes = []string{"ed25519"}
	}
	s.HostKeys = map[string]ssh.PublicKey{}
	var hostKeyLines, knownLines strings.Builder
	for _, kt := range o.HostKeyTypes {
		path := filepath.Join(o.Dir, "ssh_host_"+kt+"_key")
		pub, _ := writeTypedKey(t, path, kt)
		s.HostKeys[kt] = pub
		if s.HostKey == nil {
			s.HostKey = pub
		}
		fmt.Fprintf(&hostKeyLines, "HostKey %s\n", path)
		knownLines.WriteString(knownhosts.Line([]string{knownhosts.Normalize(s.Addr)}, pub) + "\n")
		if o.HostCertificate && kt == "ed25519" {
			s.HostCA = writeHostCert(t, path+"-cert.pub", pub, o.Addr)
			fmt.Fprintf(&hostKeyLines, "HostCertificate %s-cert.pub\n", path)
		}
	}
	if o.HostCertificate && s.HostCA == nil {
		t.Fatal("sshdtest: HostCertificate needs an ed25519 host key")
	}
	s.UserKeyPath = filepath.Join(o.Dir, "id_ed25519")
	userPub := writeKey(t, s.UserKeyPath)
	authKeys := filepath.Join(o.Dir, "authorized_keys")
	mustWrite(t, authKeys, ssh.MarshalAuthorizedKey(userPub), 0o600)
	s.KnownHostsPath = filepath.Join(o.Dir, "known_hosts")
	mustWrite(t, s.KnownHostsPath, []byte(knownLines.String()), 0o600)

	cfg := filepath.Join(o.Dir, "sshd_config")
	conf := fmt.Sprintf(`Port %d
ListenAddress %s
%sAuthorizedKeysFile %s
PidFile %s
StrictModes no
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
AllowTcpForwarding no
X11Forwarding no
PrintMotd no
LogLevel VERBOSE
`, o.Port, o.Addr, hostKeyLines.String(), authKeys, filepath.Join(o.Dir, "sshd.pid"))
	mustWrite(t, cfg, []byte(conf), 0o600)
	// sshd needs its privilege separation directory.
	_ = os.MkdirAll("/run/sshd", 0o755)

	args := []string{sshd, "-D", "-e", "-f", cfg}
	if o.NetNS != "" {
		args = append([]string{"ip", "netns", "exec", o.NetNS}, args...)
	}
	logf, err := os.Create(s.logPath)
	if err != nil {
		t.Fatalf("sshdtest: %v", err)
	}
	s.cmd = exec.Command(args[0], args[1:]...)
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	if err := s.cmd.Start(); err != nil {
		logf.Close()
		peers.Missing(t, "sshd could not start: "+err.Error())
	}
	go func() { _ = s.cmd.Wait(); logf.Close(); close(s.done) }()
	t.Cleanup(s.Stop)
	if err := s.waitReady(o.NetNS, 10*time.Second); err != nil {
		s.Stop()
		t.Fatalf("sshdtest: sshd did not come up: %v\n%s", err, s.Log())
	}
	return s
}

// Stop kills sshd (and with it every session it serves) and reaps it.
// It is safe to call more than once.
func (s *Server) Stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	select {
	case <-s.done:
	case <-time.After(5 * time.Second):
	}
}

// KillAll kills sshd and every per-connection sshd it forked, the way a
// crashed or rebooted server would drop its sessions.
func (s *Server) KillAll() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = exec.Command("pkill", "-KILL", "-P", strconv.Itoa(s.cmd.Process.Pid)).Run()
	s.Stop()
}

// Log returns what sshd wrote so far.
func (s *Server) Log() string {
	b, _ := os.ReadFile(s.logPath)
	return string(b)
}

func (s *Server) waitReady(netns string, d time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	for {
		var err error
		if netns == "" {
			var c net.Conn
			c, err = (&net.Dialer{Timeout: time.Second}).DialContext(ctx, "tcp", s.Addr)
			if err == nil {
				c.Close()
				return nil
			}
		} else if strings.Contains(s.Log(), "Server listening") {
			return nil
		} else {
			err = fmt.Errorf("no 'Server listening' line yet")
		}
		select {
		case <-s.done:
			return fmt.Errorf("sshd exited")
		case <-ctx.Done():
			return fmt.Errorf("%v (last: %v)", ctx.Err(), err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func freePort(t testing.TB, host string) int {
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		t.Fatalf("sshdtest: free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// writeKey creates an ed25519 key pair, writes the private half in OpenSSH
// format to path and returns the public half.
func writeKey(t testing.TB, path string) ssh.PublicKey {
	t.Helper()
	pub, _ := writeTypedKey(t, path, "ed25519")
	return pub
}

// NewKey creates a key pair of the given type ("ed25519", "ecdsa" for
// P-256, "rsa" for 3072 bits), for tests that need a key no server holds.
func NewKey(t testing.TB, keyType string) (ssh.PublicKey, ssh.Signer) {
	t.Helper()
	_, signer := newKey(t, keyType)
	return signer.PublicKey(), signer
}

func newKey(t testing.TB, keyType string) (crypto.Signer, ssh.Signer) {
	t.Helper()
	var priv crypto.Signer
	var err error
	switch keyType {
	case "ed25519":
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	case "ecdsa":
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "rsa":
		priv, err = rsa.GenerateKey(rand.Reader, 3072)
	default:
		t.Fatalf("sshdtest: unknown key type %q", keyType)
	}
	if err != nil {
		t.Fatalf("sshdtest: keygen: %v", err)
	}
	signer, err := ssh.NewSignerFromSigner(priv)
	if err != nil {
		t.Fatalf("sshdtest: signer: %v", err)
	}
	return priv, signer
}

// writeTypedKey creates a key pair of the given type, writes the private
// half in OpenSSH format to path (and the public half to path.pub) and
// returns the public half and a signer.
func writeTypedKey(t testing.TB, path, keyType string) (ssh.PublicKey, ssh.Signer) {
	t.Helper()
	priv, signer := newKey(t, keyType)
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatalf("sshdtest: marshal key: %v", err)
	}
	mustWrite(t, path, pem.EncodeToMemory(block), 0o600)
	mustWrite(t, path+".pub", ssh.MarshalAuthorizedKey(signer.PublicKey()), 0o644)
	return signer.PublicKey(), signer
}

// writeHostCert makes a certificate authority, signs a host certificate
// for key valid for host, writes it to path and returns the authority's
// public key.
func writeHostCert(t testing.TB, path string, key ssh.PublicKey, host string) ssh.PublicKey {
	t.Helper()
	caPub, ca := NewKey(t, "ed25519")
	cert := &ssh.Certificate{
		Key:             key,
		Serial:          1,
		CertType:        ssh.HostCert,
		KeyId:           "sshdtest host",
		ValidPrincipals: []string{host},
		ValidAfter:      0,
		ValidBefore:     ssh.CertTimeInfinity,
	}
	if err := cert.SignCert(rand.Reader, ca); err != nil {
		t.Fatalf("sshdtest: sign host certificate: %v", err)
	}
	mustWrite(t, path, ssh.MarshalAuthorizedKey(cert), 0o644)
	return caPub
}

func mustWrite(t testing.TB, path string, b []byte, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, b, mode); err != nil {
		t.Fatalf("sshdtest: %v", err)
	}
}
