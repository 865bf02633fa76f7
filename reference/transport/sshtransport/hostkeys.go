package sshtransport

import (
	"bufio"
	"crypto/ed25519"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strings"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// hostKeyOrder is the order in which the client offers host-key
// algorithms: OpenSSH's default HostKeyAlgorithms (ssh -G, OpenSSH 9),
// less the security-key types golang.org/x/crypto/ssh does not verify as
// host keys. (ssh-rsa with SHA-1 is left out, as OpenSSH does since 8.8.)
var hostKeyOrder = []string{
	ssh.CertAlgoED25519v01,
	ssh.CertAlgoECDSA256v01,
	ssh.CertAlgoECDSA384v01,
	ssh.CertAlgoECDSA521v01,
	ssh.CertAlgoRSASHA512v01,
	ssh.CertAlgoRSASHA256v01,
	ssh.KeyAlgoED25519,
	ssh.KeyAlgoECDSA256,
	ssh.KeyAlgoECDSA384,
	ssh.KeyAlgoECDSA521,
	ssh.KeyAlgoRSASHA512,
	ssh.KeyAlgoRSASHA256,
}

// keyTypeOf returns the key type (as known_hosts names it) that host-key
// algorithm alg verifies, and whether alg is a certificate algorithm.
func keyTypeOf(alg string) (keyType string, cert bool) {
	if t, ok := strings.CutSuffix(alg, "-cert-v01@openssh.com"); ok {
		alg, cert = t, true
	}
	if alg == ssh.KeyAlgoRSASHA256 || alg == ssh.KeyAlgoRSASHA512 {
		alg = ssh.KeyAlgoRSA
	}
	return alg, cert
}

// knownHostKeys are the known_hosts entries that apply to one host.
type knownHostKeys struct {
	types map[string]bool // key types of plain entries, less @revoked keys
	ca    bool            // an @cert-authority entry applies
}

// lookupKnown returns the known_hosts entries of hk's files that apply to
// addr (host:port as dialled; remote is the connected address). The
// knownhosts package has no lookup: checking a key that is in no file
// makes it list, in its *knownhosts.KeyError, every key it holds for the
// host (@revoked entries excepted), and the @cert-authority marker of
// each is read back from its file and line.
func lookupKnown(hk ssh.HostKeyCallback, addr string, remote net.Addr) (knownHostKeys, error) {
	k := knownHostKeys{types: map[string]bool{}}
	probe, err := ssh.NewPublicKey(ed25519.PublicKey(make([]byte, ed25519.PublicKeySize)))
	if err != nil {
		return k, err
	}
	var ke *knownhosts.KeyError
	if err := hk(addr, remote, probe); !errors.As(err, &ke) {
		return k, nil // no entry to learn from (or the all-zero key is listed: ignore it)
	}
	lines := map[string][]string{}
	for _, w := range ke.Want {
		if _, ok := lines[w.Filename]; !ok {
			lines[w.Filename], err = readLines(w.Filename)
			if err != nil {
				return k, err
			}
		}
		if l := lines[w.Filename]; w.Line >= 1 && w.Line <= len(l) && strings.HasPrefix(strings.TrimSpace(l[w.Line-1]), "@cert-authority") {
			k.ca = true
			continue
		}
		var re *knownhosts.RevokedError
		if errors.As(hk(addr, remote, w.Key), &re) {
			continue // listed, but also @revoked: OpenSSH does not ask for it
		}
		k.types[w.Key.Type()] = true
	}
	return k, nil
}

func readLines(name string) ([]string, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	return lines, sc.Err()
}

// hostKeyAlgorithms orders the host-key algorithms for a host with the
// given known_hosts entries as OpenSSH does: first those it can verify
// (the algorithms of every key type known for the host, and certificate
// algorithms when an @cert-authority entry applies), then the rest. The
// server takes the first one it supports, so a host whose known_hosts
// entries hold only some of its key types is asked for one of those.
//
// Certificate algorithms are offered only when an @cert-authority entry
// applies: OpenSSH also asks for the certificate form of a known plain
// key type and, when the certificate's authority is not trusted, checks
// the plain key inside it, but x/crypto/ssh's checker refuses such a
// certificate outright, so asking for it would refuse hosts that OpenSSH
// accepts.
func hostKeyAlgorithms(k knownHostKeys) []string {
	var first, last []string
	for _, alg := range hostKeyOrder {
		t, cert := keyTypeOf(alg)
		switch {
		case cert && !k.ca:
			// not offered: see above
		case cert || k.types[t]:
			first = append(first, alg)
		default:
			last = append(last, alg)
		}
	}
	return append(first, last...)
}

// hostKeyDetail says why a host key was refused, naming the type of the
// key the host presented and, for a key type known_hosts does not hold
// for the host, the types it does hold.
func hostKeyDetail(presented ssh.PublicKey, known knownHostKeys) (class error, detail string) {
	t := "unknown"
	if presented != nil {
		t = presented.Type()
		if c, ok := presented.(*ssh.Certificate); ok {
			t = c.Key.Type() + " certificate"
		}
	}
	if presented != nil && known.types[presented.Type()] {
		return ErrHostKeyMismatch, fmt.Sprintf("the host presented a %s key that does not match known_hosts (possible man-in-the-middle); refusing", t)
	}
	var have []string
	for kt := range known.types {
		have = append(have, kt)
	}
	slices.Sort(have)
	if known.ca {
		have = append(have, "@cert-authority")
	}
	holds := "only " + strings.Join(have, ", ")
	if len(have) == 0 {
		holds = "its other entries are @revoked"
	}
	return ErrHostKeyUnknown, fmt.Sprintf("the host presented a %s key and known_hosts holds no key of that type for it (%s); add it (ssh-keyscan -t) or check the host", t, holds)
}
