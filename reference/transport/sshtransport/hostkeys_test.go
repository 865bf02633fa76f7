package sshtransport

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/execnet-conform/execnet-conform/internal/peers"
	"github.com/execnet-conform/execnet-conform/internal/sshdtest"
)

// opensshAccepts runs OpenSSH's ssh client against srv with knownHosts as
// its only known_hosts file, strict checking, no prompts and no updates
// of the file, and reports whether it logged in and ran "true". Its
// stderr is returned for failure messages.
func opensshAccepts(t *testing.T, srv *sshdtest.Server, knownHosts string) (bool, string) {
	t.Helper()
	sshPath := peers.SSH(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, sshPath, "-F", "/dev/null",
		"-o", "BatchMode=yes",
		"-o", "StrictHostKeyChecking=yes",
		"-o", "UpdateHostKeys=no",
		"-o", "UserKnownHostsFile="+knownHosts,
		"-o", "GlobalKnownHostsFile=/dev/null",
		"-o", "IdentitiesOnly=yes",
		"-o", "ConnectTimeout=10",
		"-i", srv.UserKeyPath,
		"-p", strconv.Itoa(srv.Port),
		"-l", srv.User,
		srv.Host, "true")
	cmd.Env = append(os.Environ(), "SSH_AUTH_SOCK=")
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("ssh did not finish: %s", out)
	}
	return err == nil, string(out)
}

// TestHostKeyVerdictsMatchOpenSSH: for each mix of known_hosts entries,
// Dial connects exactly when OpenSSH's ssh client, given the same file,
// does. The server has ed25519, ECDSA and RSA host keys and an ed25519
// host certificate. Before the fix, x/crypto/ssh offered its default
// host-key algorithms (ECDSA before ed25519), so a known_hosts that
// listed only the host's correct ed25519 key (or only its RSA key) was
// refused as a "host key mismatch (possible man-in-the-middle)" that
// named the known key's type, while OpenSSH, which asks for the key types
// it knows first, connected.
func TestHostKeyVerdictsMatchOpenSSH(t *testing.T) {
	srv := sshdtest.Start(t, sshdtest.Options{HostKeyTypes: []string{"ed25519", "ecdsa", "rsa"}})
	certSrv := sshdtest.Start(t, sshdtest.Options{HostKeyTypes: []string{"ed25519"}, HostCertificate: true})
	host := knownhosts.Normalize(srv.Addr)
	line := func(k ssh.PublicKey) string { return knownhosts.Line([]string{host}, k) }
	otherEd, _ := sshdtest.NewKey(t, "ed25519")
	otherECDSA, _ := sshdtest.NewKey(t, "ecdsa")
	ed, ec, rsa := srv.HostKeys["ed25519"], srv.HostKeys["ecdsa"], srv.HostKeys["rsa"]
	hashed := knownhosts.Line([]string{knownhosts.HashHostname(host)}, ed)
	revoked := "@revoked * " + string(ssh.MarshalAuthorizedKey(ed))
	otherHost := knownhosts.Line([]string{"[other.invalid]:22"}, ed)
	certHost := knownhosts.Normalize(certSrv.Addr)
	ca := "@cert-authority " + certHost + " " + string(ssh.MarshalAuthorizedKey(certSrv.HostCA))
	otherCA, _ := sshdtest.NewKey(t, "ed25519")
	wrongCA := "@cert-authority " + certHost + " " + string(ssh.MarshalAuthorizedKey(otherCA))
	certPlain := knownhosts.Line([]string{certHost}, certSrv.HostKeys["ed25519"])

	for _, tc := range []struct {
		name  string
		srv   *sshdtest.Server
		lines []string
		ok    bool  // the expected verdict, which OpenSSH must share
		class error // Dial's error class when refused
	}{
		{"ed25519-only", srv, []string{line(ed)}, true, nil},
		{"ecdsa-only", srv, []string{line(ec)}, true, nil},
		{"rsa-only", srv, []string{line(rsa)}, true, nil},
		{"all", srv, []string{line(rsa), line(ec), line(ed)}, true, nil},
		{"hashed-ed25519", srv, []string{hashed}, true, nil},
		{"rsa-and-other-host", srv, []string{otherHost, line(rsa)}, true, nil},
		{"wrong-ed25519", srv, []string{line(otherEd)}, false, ErrHostKeyMismatch},
		{"wrong-ecdsa-right-rsa", srv, []string{line(otherECDSA), line(rsa)}, false, ErrHostKeyMismatch},
		{"empty", srv, nil, false, ErrHostKeyUnknown},
		{"only-another-host", srv, []string{otherHost}, false, ErrHostKeyUnknown},
		// OpenSSH does not ask for a key type whose listed key is also
		// @revoked: here it takes the RSA key.
		{"revoked-ed25519-and-rsa", srv, []string{line(ed), line(rsa), revoked}, true, nil},
		{"revoked-ed25519-only", srv, []string{line(ed), revoked}, false, ErrHostKeyRevoked},
		{"cert-authority", certSrv, []string{ca}, true, nil},
		{"wrong-cert-authority", certSrv, []string{wrongCA}, false, nil},
		{"plain-key-of-certified-host", certSrv, []string{certPlain}, true, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			kh := filepath.Join(t.TempDir(), "known_hosts")
			content := strings.Join(tc.lines, "\n")
			if content != "" {
				content = strings.TrimRight(content, "\n") + "\n"
			}
			if err := os.WriteFile(kh, []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			sshOK, sshOut := opensshAccepts(t, tc.srv, kh)
			cfg := config(tc.srv)
			cfg.KnownHosts = []string{kh}
			c, err := Dial(context.Background(), cfg)
			if err == nil {
				c.Close()
			}
			if sshOK != tc.ok {
				t.Fatalf("OpenSSH connected = %v, the test expects %v (the table is wrong):\n%s", sshOK, tc.ok, sshOut)
			}
			if (err == nil) != sshOK {
				t.Fatalf("Dial = %v; OpenSSH connected = %v with the same known_hosts:\n%s", err, sshOK, sshOut)
			}
			if err != nil && tc.class != nil && !errors.Is(err, tc.class) {
				t.Fatalf("Dial = %v; want class %v", err, tc.class)
			}
		})
	}
}

// TestHostKeyMessageNamesPresentedType: a refusal names the type of the
// key the host presented, and for a type known_hosts does not hold, the
// types it does hold.
func TestHostKeyMessageNamesPresentedType(t *testing.T) {
	srv := sshdtest.Start(t, sshdtest.Options{HostKeyTypes: []string{"rsa"}})
	host := knownhosts.Normalize(srv.Addr)
	otherEd, _ := sshdtest.NewKey(t, "ed25519")
	otherRSA, _ := sshdtest.NewKey(t, "rsa")
	for _, tc := range []struct {
		name, line string
		class      error
		want       []string
	}{
		{"other-type", knownhosts.Line([]string{host}, otherEd), ErrHostKeyUnknown, []string{"presented a ssh-rsa key", "only ssh-ed25519"}},
		{"same-type", knownhosts.Line([]string{host}, otherRSA), ErrHostKeyMismatch, []string{"presented a ssh-rsa key that does not match", "man-in-the-middle"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			kh := filepath.Join(t.TempDir(), "known_hosts")
			if err := os.WriteFile(kh, []byte(tc.line+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			cfg := config(srv)
			cfg.KnownHosts = []string{kh}
			_, err := Dial(context.Background(), cfg)
			if !errors.Is(err, tc.class) {
				t.Fatalf("Dial = %v; want class %v", err, tc.class)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("message %q lacks %q", err, w)
				}
			}
		})
	}
}
