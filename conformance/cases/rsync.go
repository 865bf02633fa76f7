package cases

// The rsync profile (SPEC.md 12.10, an optional profile of 12.8). The
// runner plays execnet's RSync, the sender, byte by byte: it starts the
// receiver on the target as RSync does (CHANNEL_EXEC of the rsync_remote
// module's source with call_name None, RECONFIGURE to (False, False), then
// (destdir, options)), sends the structure of a tree it holds in memory,
// answers the "send" requests and sends the links. The destination is a
// directory the runner creates on its own file system, so the cases need a
// target that runs on this machine (popen, or one started by
// Options.Open); they are skipped for ssh and socket targets. They run
// only when the selection claims the rsync profile (Case.Profile,
// execnet-conform run --profile rsync); a Python worker runs its
// release's own receiver.

import (
	"crypto/md5"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/execnet-conform/execnet-conform/conformance"
	"github.com/execnet-conform/execnet-conform/reference/codec"
	"github.com/execnet-conform/execnet-conform/reference/transport"
	"github.com/execnet-conform/execnet-conform/spec"
)

// profileRsync is the Case.Profile of the rsync cases.
const profileRsync = "rsync"

const (
	cRsyncReceiver = "CHAN-RSYNC-1"
	cRsyncInside   = "CHAN-RSYNC-3"
	cRsyncNative   = "CHAN-RSYNC-5"
)

// rsyncStandIn is sent to a worker that runs no Python when no execnet
// installation on this machine has an rsync_remote.py to send instead:
// it satisfies the recognition rule of CHAN-RSYNC-5 and does nothing
// else (a Python worker is always sent its release's own receiver).
const rsyncStandIn = `# execnet-conform: names the receiving side of the rsync profile
# (SPEC.md 12.10) for a worker that serves it natively (CHAN-RSYNC-5).
def serve_rsync(channel):
    raise NotImplementedError("execnet-conform sends this text only to workers that run no Python")


if __name__ == "__channelexec__":
    serve_rsync(channel)
`

// Modification times of the cases' files: whole binary fractions, so
// that the float seconds of the wire and the file system agree exactly.
const (
	rsyncMtime      = 1700000000.25
	rsyncOtherMtime = 1600000000.5
)

// rsNode is one entry of a tree the runner sends.
type rsNode struct {
	name  string
	mode  int64 // st_mode, file type bits included; 0 for a link
	data  []byte
	kids  []*rsNode // for a directory (mode has S_IFDIR)
	link  bool      // a symbolic link: None in the structure
	mtime float64
}

func rsDir(name string, perm int64, kids ...*rsNode) *rsNode {
	return &rsNode{name: name, mode: 0o40000 | perm, kids: kids}
}

func rsFile(name string, perm int64, data string) *rsNode {
	return &rsNode{name: name, mode: 0o100000 | perm, data: []byte(data), mtime: rsyncMtime}
}

func rsLink(name string) *rsNode { return &rsNode{name: name, link: true} }

func (n *rsNode) isDir() bool { return n.mode&0o170000 == 0o40000 }

// items returns the structure of the tree rooted at n, depth first, as
// a sender sends it (SPEC.md 12.10 step 2).
func (n *rsNode) items() []codec.Value {
	switch {
	case n.link:
		return []codec.Value{codec.None{}}
	case n.isDir():
		l := codec.List{codec.Int(n.mode)}
		for _, k := range n.kids {
			l = append(l, codec.Str(k.name))
		}
		out := []codec.Value{l}
		for _, k := range n.kids {
			out = append(out, k.items()...)
		}
		return out
	}
	return []codec.Value{codec.Tuple{codec.Int(n.mode), codec.Float(n.mtime), codec.Int(len(n.data))}}
}

// find returns the node at the relative path rel ("/"-separated).
func (n *rsNode) find(rel string) *rsNode {
	cur := n
	for _, c := range strings.Split(rel, "/") {
		var next *rsNode
		for _, k := range cur.kids {
			if k.name == c {
				next = k
			}
		}
		if next == nil {
			return nil
		}
		cur = next
	}
	return cur
}

// rsyncDirs makes a fresh base directory for a case and returns it with
// the destination below it (not created). The base is removed when the
// case ends (the caller defers the returned cleanup); entries a receiver
// wrongly creates beside the destination land in the base too.
func rsyncDirs(t *conformance.T) (base, dest string, cleanup func()) {
	switch k := t.Target().Kind; k {
	case "ssh", "socket":
		t.Skipf("the rsync cases need a target on the runner's machine, which checks the destination on its file system; this target is %s", k)
	}
	base, err := os.MkdirTemp("", "execnet-conform-rsync-")
	if err != nil {
		t.Fatalf("rsync case: temporary directory: %v", err)
	}
	return base, filepath.Join(base, "dest"), func() { removeTree(base) }
}

// removeTree removes dir, making directories below it writable first.
func removeTree(dir string) {
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			_ = os.Chmod(p, 0o700)
		}
		return nil
	})
	_ = os.RemoveAll(dir)
}

// rsyncSource returns the receiver source and file_name to send: a
// Python worker's own execnet.rsync_remote (what execnet's RSync sends
// from a popen master of the same release); otherwise, or when the
// worker cannot import it, the rsync_remote.py of this machine's execnet,
// and for a worker that runs no Python the stand-in when there is none.
func rsyncSource(t *conformance.T) (string, codec.Value) {
	if t.Target().IsPython() {
		ch := t.ExecSource("import inspect\nimport execnet.rsync_remote as m\n" +
			"channel.send((inspect.getsourcefile(m), inspect.getsource(m)))\n")
		f, err := t.RecvOn(ch)
		if err != nil {
			t.Fatalf("asking the worker for its execnet.rsync_remote source: %v", err)
		}
		if f.Code == spec.MsgChannelData {
			v := decodeReply(t, f, "asking the worker for its execnet.rsync_remote source")
			if tu, ok := v.(codec.Tuple); ok && len(tu) == 2 {
				if src, ok := tu[1].(codec.Str); ok {
					t.ExpectClose(ch)
					return string(src), tu[0]
				}
			}
			t.Fatalf("the worker sent %s for its execnet.rsync_remote source", reprOf(v))
		}
		t.Logf("the worker cannot import execnet.rsync_remote (%s): sending this machine's", strings.TrimSpace(closeErrorText(f)))
	}
	if p, err := transport.LocateGatewayBase(t.Context()); err == nil {
		name := filepath.Join(filepath.Dir(p), "rsync_remote.py")
		if b, err := os.ReadFile(name); err == nil {
			return string(b), codec.Str(name)
		}
	}
	if t.Target().IsPython() {
		t.Skipf("no execnet rsync_remote.py to send: the worker cannot import it and none is installed here")
	}
	return rsyncStandIn, codec.None{}
}

// rsyncExchange is one transfer on one channel, the runner as sender.
type rsyncExchange struct {
	t  *conformance.T
	ch int32
}

// startRsync starts the receiver for dest on a new channel as execnet's
// RSync.add_target does (SPEC.md 12.10 step 1).
func startRsync(t *conformance.T, dest string, delete bool) *rsyncExchange {
	src, fileName := rsyncSource(t)
	ch := t.ExecPayload(codec.Tuple{codec.Str(src), fileName, codec.None{}, &codec.Dict{}})
	t.Send(reconfigureFrame(t, ch, codec.StrConfig{}))
	opts := &codec.Dict{}
	if delete {
		if err := opts.Set(codec.Str("delete"), codec.Bool(true)); err != nil {
			t.Fatalf("suite bug: %v", err)
		}
	}
	t.SendData(ch, codec.Tuple{codec.Str(dest), opts})
	return &rsyncExchange{t: t, ch: ch}
}

// sendTree sends the structure of root.
func (x *rsyncExchange) sendTree(root *rsNode) {
	for _, v := range root.items() {
		x.t.SendData(x.ch, v)
	}
}

// next returns the receiver's next item as (command, argument); ended
// is set, with the error text, when the receiver ended the channel with
// CHANNEL_CLOSE_ERROR instead.
func (x *rsyncExchange) next(waiting string) (cmd string, arg codec.Value, ended bool, errText string) {
	t := x.t
	f, err := t.RecvOn(x.ch)
	if err != nil {
		t.Fatalf("rsync receiver, waiting for %s: %v", waiting, err)
	}
	if f.Code == spec.MsgChannelCloseError {
		return "", nil, true, closeErrorText(f)
	}
	if f.Code != spec.MsgChannelData {
		t.Fatalf("rsync receiver, waiting for %s: got %s on channel %d (payload hex %s), want CHANNEL_DATA", waiting, f.Code, x.ch, hexOf(f.Payload))
	}
	v := decodeReply(t, f, "rsync receiver, waiting for "+waiting)
	tu, ok := v.(codec.Tuple)
	if !ok || len(tu) != 2 {
		t.Fatalf("rsync receiver, waiting for %s: got %s, want a (command, argument) tuple", waiting, reprOf(v))
	}
	c, ok := tu[0].(codec.Str)
	if !ok {
		t.Fatalf("rsync receiver, waiting for %s: got %s, whose command is not text", waiting, reprOf(v))
	}
	return string(c), tu[1], false, ""
}

// expect receives the next item and requires it to be (cmd, arg).
func (x *rsyncExchange) expect(cmd string, arg codec.Value) {
	want := codec.Tuple{codec.Str(cmd), arg}
	got, garg, ended, text := x.next(reprOf(want))
	if ended {
		x.t.Fatalf("rsync receiver: waiting for %s, the channel ended with CHANNEL_CLOSE_ERROR: %s", reprOf(want), text)
	}
	if got != cmd || !codec.Identical(arg, garg) {
		x.t.Fatalf("rsync receiver: got %s, want %s", reprOf(codec.Tuple{codec.Str(got), garg}), reprOf(want))
	}
}

// sendRequest builds the argument of a "send" request for rel.
func sendRequest(rel string, checksum []byte) codec.Value {
	var comps codec.List
	for _, c := range strings.Split(rel, "/") {
		comps = append(comps, codec.Str(c))
	}
	var cs codec.Value = codec.None{}
	if checksum != nil {
		cs = codec.Bytes(checksum)
	}
	return codec.Tuple{comps, cs}
}

// rsyncWant is a file the receiver must ask for, with the checksum it
// must send and what the runner answers (nil: None).
type rsyncWant struct {
	rel      string
	checksum []byte
	answer   []byte
}

// wantContents returns the requests for the files rels of root, in that
// order, each answered with the file's content.
func wantContents(root *rsNode, rels ...string) []rsyncWant {
	wants := make([]rsyncWant, len(rels))
	for i, rel := range rels {
		wants[i] = rsyncWant{rel: rel, answer: root.find(rel).data}
	}
	return wants
}

// checkWanted checks that each file of wants arrived in dest as root
// holds it: content, permission bits and mtime.
func checkWanted(t *conformance.T, dest string, root *rsNode, wants []rsyncWant) {
	for _, w := range wants {
		n := root.find(w.rel)
		checkFile(t, dest, w.rel, n.data, fs.FileMode(n.mode&0o777), n.mtime)
	}
}

// linkItem is one tuple of step 5.
func linkItem(kind, rel, point string) codec.Value {
	return codec.Tuple{codec.Str(kind), codec.Str(rel), codec.Str(point)}
}

// transfer runs steps 2 to 5 strictly: the structure of root, then
// exactly the requests of wants in that order (each answered as it
// arrives, as execnet's sender does), list_done, one ack per request,
// links, the link tuples and 42, done, and the channel's CHANNEL_CLOSE.
func (x *rsyncExchange) transfer(root *rsNode, wants []rsyncWant, links []codec.Value) {
	t := x.t
	x.sendTree(root)
	for _, w := range wants {
		x.expect("send", sendRequest(w.rel, w.checksum))
		if w.answer == nil {
			t.SendData(x.ch, codec.None{})
		} else {
			t.SendData(x.ch, codec.Bytes(w.answer))
		}
	}
	x.expect("list_done", codec.None{})
	for _, w := range wants {
		x.expect("ack", codec.Str(w.rel))
	}
	x.expect("links", codec.None{})
	for _, l := range links {
		t.SendData(x.ch, l)
	}
	t.SendData(x.ch, codec.Int(42))
	x.expect("done", codec.None{})
	t.ExpectClose(x.ch)
}

// serveLoosely plays the sender without expecting a particular sequence
// (for the cases where a receiver may refuse part way): it answers every
// "send" request with content, sends links and 42 after "links", and
// returns when the receiver sends "done" and ends the channel, or ends
// it with CHANNEL_CLOSE_ERROR (the error text is returned).
func (x *rsyncExchange) serveLoosely(root *rsNode, links []codec.Value) string {
	t := x.t
	x.sendTree(root)
	for {
		cmd, arg, ended, text := x.next("the receiver's next request")
		if ended {
			return text
		}
		switch cmd {
		case "send":
			t.SendData(x.ch, codec.Bytes("content sent by execnet-conform\n"))
		case "list_done", "ack":
		case "links":
			for _, l := range links {
				t.SendData(x.ch, l)
			}
			t.SendData(x.ch, codec.Int(42))
		case "done":
			t.ExpectClose(x.ch)
			return ""
		default:
			t.Fatalf("rsync receiver: unknown request %s", reprOf(codec.Tuple{codec.Str(cmd), arg}))
		}
	}
}

// checkFile checks a regular file's content, permission bits and
// modification time.
func checkFile(t *conformance.T, dest, rel string, data []byte, perm fs.FileMode, mtime float64) {
	p := filepath.Join(dest, filepath.FromSlash(rel))
	fi, err := os.Lstat(p)
	if err != nil {
		t.Errorf("%s: %v", rel, err)
		return
	}
	if !fi.Mode().IsRegular() {
		t.Errorf("%s is %s, want a regular file", rel, fi.Mode().Type())
		return
	}
	if got, err := os.ReadFile(p); err != nil {
		t.Errorf("%s: %v", rel, err)
	} else if string(got) != string(data) {
		t.Errorf("%s %s", rel, contentDiff(got, data))
	}
	if fi.Mode().Perm() != perm {
		t.Errorf("%s has mode %#o, want %#o", rel, fi.Mode().Perm(), perm)
	}
	if want := floatTime(mtime); !fi.ModTime().Equal(want) {
		t.Errorf("%s has mtime %s, want %s (%v seconds as sent)", rel, fi.ModTime().UTC().Format(time.RFC3339Nano), want.UTC().Format(time.RFC3339Nano), mtime)
	}
}

// contentDiff describes how a file's content got differs from want: both
// quoted when short, otherwise the sizes and the first differing byte.
func contentDiff(got, want []byte) string {
	if len(got) <= 64 && len(want) <= 64 {
		return fmt.Sprintf("holds %q, want %q", got, want)
	}
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	return fmt.Sprintf("holds %d bytes, want %d; they differ from byte %d on (got %q, want %q from there)",
		len(got), len(want), i, got[i:min(i+16, len(got))], want[i:min(i+16, len(want))])
}

// rsyncPattern returns n bytes of a fixed pseudo-random sequence chosen by
// seed (xorshift64*), for contents where a lost, repeated or shifted
// block shows.
func rsyncPattern(n int, seed uint64) string {
	b := make([]byte, n)
	x := seed*0x9e3779b97f4a7c15 | 1
	for i := range b {
		x ^= x >> 12
		x ^= x << 25
		x ^= x >> 27
		b[i] = byte((x * 0x2545f4914f6cdd1d) >> 56)
	}
	return string(b)
}

func floatTime(s float64) time.Time {
	sec := int64(s)
	return time.Unix(sec, int64((s-float64(sec))*1e9))
}

// writeDestFile prepares a file in the destination before a transfer.
func writeDestFile(t *conformance.T, dest, rel, data string, mtime float64) {
	p := filepath.Join(dest, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatalf("preparing the destination: %v", err)
	}
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatalf("preparing the destination: %v", err)
	}
	if err := os.Chtimes(p, floatTime(mtime), floatTime(mtime)); err != nil {
		t.Fatalf("preparing the destination: %v", err)
	}
}

// checkAbsent fails the case when something exists at p, which a
// receiver must not create (CHAN-RSYNC-3).
func checkAbsent(t *conformance.T, p, refusal string) {
	if _, err := os.Lstat(p); err == nil {
		how := "ended the transfer normally"
		if refusal != "" {
			how = "then ended with CHANNEL_CLOSE_ERROR " + fmt.Sprintf("%q", strings.TrimSpace(refusal))
		}
		t.Errorf("the receiver created %s outside its destination directory (it %s)", p, how)
	}
}

func md5Of(s string) []byte {
	sum := md5.Sum([]byte(s))
	return sum[:]
}

// rsyncCopyTree is the tree of rsync/copy/tree-arrives.
func rsyncCopyTree() *rsNode {
	return rsDir("", 0o755,
		rsFile("a.txt", 0o644, "alpha\n"),
		rsDir("bin", 0o755, rsFile("tool", 0o755, "#!/bin/sh\necho tool\n")),
		rsFile("empty", 0o644, ""),
		rsLink("link-base"),
		rsLink("link-rel"),
		rsDir("sub", 0o750, rsFile("b.bin", 0o600, "\x00\x01\x02\xff binary")),
	)
}

func rsyncCases() []conformance.Case {
	return []conformance.Case{
		{
			ID:          "rsync/copy/tree-arrives",
			Clauses:     []string{cRsyncReceiver, cRsyncNative},
			Level:       conformance.MUST,
			Profile:     profileRsync,
			Description: "a tree (files, directories, an executable, an empty file, two kinds of symlink) sent to a fresh destination: one request per file in structure order, list_done, acks, links, done; the files, modes, mtimes and links arrive",
			Run: func(t *conformance.T) {
				_, dest, cleanup := rsyncDirs(t)
				defer cleanup()
				root := rsyncCopyTree()
				wants := wantContents(root, "a.txt", "bin/tool", "empty", "sub/b.bin")
				x := startRsync(t, dest, false)
				x.transfer(root, wants, []codec.Value{
					linkItem("linkbase", "link-base", "sub"),
					linkItem("link", "link-rel", "a.txt"),
				})
				checkWanted(t, dest, root, wants)
				for p, perm := range map[string]fs.FileMode{"": 0o755, "bin": 0o755, "sub": 0o750} {
					fi, err := os.Lstat(filepath.Join(dest, p))
					if err != nil || !fi.IsDir() || fi.Mode().Perm() != perm {
						t.Errorf("directory %q: %v %v, want a directory of mode %#o", p, fi.Mode(), err, perm)
					}
				}
				for rel, want := range map[string]string{"link-base": filepath.Join(dest, "sub"), "link-rel": "a.txt"} {
					if got, err := os.Readlink(filepath.Join(dest, rel)); err != nil || got != want {
						t.Errorf("link %s points to %q (%v), want %q", rel, got, err, want)
					}
				}
			},
		},
		{
			ID:          "rsync/copy/large-files-arrive",
			Clauses:     []string{cRsyncReceiver},
			Level:       conformance.MUST,
			Profile:     profileRsync,
			Description: "files of 300 KiB and of 1 MiB and 3 bytes, with a small file between them: each arrives whole, with its mode and mtime (a receiver may move contents of this size straight from the stream into the file, as the Go worker does from 256 KiB)",
			Run: func(t *conformance.T) {
				_, dest, cleanup := rsyncDirs(t)
				defer cleanup()
				root := rsDir("", 0o755,
					rsFile("big.bin", 0o644, rsyncPattern(300<<10, 1)),
					rsFile("small.txt", 0o600, "small\n"),
					rsDir("d", 0o755, rsFile("bigger.bin", 0o640, rsyncPattern(1<<20+3, 2))),
				)
				wants := wantContents(root, "big.bin", "small.txt", "d/bigger.bin")
				x := startRsync(t, dest, false)
				x.transfer(root, wants, nil)
				checkWanted(t, dest, root, wants)
			},
		},
		{
			ID:          "rsync/copy/only-changed-files-requested",
			Clauses:     []string{cRsyncReceiver},
			Level:       conformance.MUST,
			Profile:     profileRsync,
			Description: "a destination holding a file of the same size and mtime, one of the same size and another mtime, and one of another size: no request for the first, the MD5 checksum for the second, None for the third",
			Run: func(t *conformance.T) {
				_, dest, cleanup := rsyncDirs(t)
				defer cleanup()
				writeDestFile(t, dest, "resized.txt", "old", rsyncMtime)
				writeDestFile(t, dest, "same.txt", "same", rsyncMtime)
				writeDestFile(t, dest, "touched.txt", "touched", rsyncOtherMtime)
				root := rsDir("", 0o755,
					rsFile("resized.txt", 0o644, "newer"),
					rsFile("same.txt", 0o644, "SAME"), // not asked for: not sent
					rsFile("touched.txt", 0o644, "touched"),
				)
				x := startRsync(t, dest, false)
				x.transfer(root, []rsyncWant{
					{rel: "resized.txt", answer: []byte("newer")},
					// The checksum matches the content: the sender answers None.
					{rel: "touched.txt", checksum: md5Of("touched")},
				}, nil)
				checkFile(t, dest, "resized.txt", []byte("newer"), 0o644, rsyncMtime)
				checkFile(t, dest, "same.txt", []byte("same"), 0o644, rsyncMtime)
				checkFile(t, dest, "touched.txt", []byte("touched"), 0o644, rsyncMtime)
			},
		},
		{
			ID:          "rsync/delete/extra-entries-removed",
			Clauses:     []string{cRsyncReceiver},
			Level:       conformance.MUST,
			Profile:     profileRsync,
			Description: "with the option delete, a file and a directory in the destination that the structure does not name are removed; named ones are kept",
			Run: func(t *conformance.T) {
				_, dest, cleanup := rsyncDirs(t)
				defer cleanup()
				writeDestFile(t, dest, "keep.txt", "keep", rsyncMtime)
				writeDestFile(t, dest, "extra.txt", "extra", rsyncMtime)
				writeDestFile(t, dest, "extra-dir/inner.txt", "inner", rsyncMtime)
				writeDestFile(t, dest, "sub/extra-inner.txt", "inner", rsyncMtime)
				root := rsDir("", 0o755, rsFile("keep.txt", 0o644, "keep"), rsDir("sub", 0o755, rsFile("new.txt", 0o644, "new")))
				x := startRsync(t, dest, true)
				x.transfer(root, []rsyncWant{{rel: "sub/new.txt", answer: []byte("new")}}, nil)
				checkFile(t, dest, "keep.txt", []byte("keep"), 0o644, rsyncMtime)
				checkFile(t, dest, "sub/new.txt", []byte("new"), 0o644, rsyncMtime)
				for _, rel := range []string{"extra.txt", "extra-dir", "sub/extra-inner.txt"} {
					if _, err := os.Lstat(filepath.Join(dest, rel)); err == nil {
						t.Errorf("%s is still in the destination, which the structure does not name (delete was asked for)", rel)
					}
				}
			},
		},
		{
			ID:          "rsync/delete/extra-entries-kept-without-option",
			Clauses:     []string{cRsyncReceiver},
			Level:       conformance.MUST,
			Profile:     profileRsync,
			Description: "without the option delete, entries of the destination that the structure does not name stay",
			Run: func(t *conformance.T) {
				_, dest, cleanup := rsyncDirs(t)
				defer cleanup()
				writeDestFile(t, dest, "extra.txt", "extra", rsyncMtime)
				writeDestFile(t, dest, "extra-dir/inner.txt", "inner", rsyncMtime)
				root := rsDir("", 0o755, rsFile("new.txt", 0o644, "new"))
				x := startRsync(t, dest, false)
				x.transfer(root, []rsyncWant{{rel: "new.txt", answer: []byte("new")}}, nil)
				checkFile(t, dest, "extra.txt", []byte("extra"), 0o644, rsyncMtime)
				checkFile(t, dest, "extra-dir/inner.txt", []byte("inner"), 0o644, rsyncMtime)
			},
		},
		{
			ID:          "rsync/outside/dotdot-entry-name",
			Clauses:     []string{cRsyncInside},
			Level:       conformance.MUST,
			Profile:     profileRsync,
			Description: "an entry named ../escaped in the structure: the receiver creates nothing beside its destination (it may refuse the transfer with CHANNEL_CLOSE_ERROR)",
			Run: func(t *conformance.T) {
				base, dest, cleanup := rsyncDirs(t)
				defer cleanup()
				// A regular file first, so that a worker serving the
				// profile shows it (a request) before it refuses.
				root := rsDir("", 0o755, rsFile("a.txt", 0o644, "a"), rsFile("../escaped", 0o644, "escaped"))
				refusal := startRsync(t, dest, false).serveLoosely(root, nil)
				checkAbsent(t, filepath.Join(base, "escaped"), refusal)
			},
		},
		{
			ID:          "rsync/outside/absolute-entry-name",
			Clauses:     []string{cRsyncInside},
			Level:       conformance.MUST,
			Profile:     profileRsync,
			Description: "an entry whose name is an absolute path beside the destination: the receiver creates nothing there (it may refuse the transfer with CHANNEL_CLOSE_ERROR)",
			Run: func(t *conformance.T) {
				base, dest, cleanup := rsyncDirs(t)
				defer cleanup()
				abs := filepath.Join(base, "escaped-absolute")
				root := rsDir("", 0o755, rsFile("a.txt", 0o644, "a"), rsFile(abs, 0o644, "escaped"))
				refusal := startRsync(t, dest, false).serveLoosely(root, nil)
				checkAbsent(t, abs, refusal)
			},
		},
		{
			ID:          "rsync/outside/dotdot-link-path",
			Clauses:     []string{cRsyncInside},
			Level:       conformance.MUST,
			Profile:     profileRsync,
			Description: "a link tuple whose relative path is ../escaped-link: the receiver creates no link beside its destination (it may refuse the transfer with CHANNEL_CLOSE_ERROR)",
			Run: func(t *conformance.T) {
				base, dest, cleanup := rsyncDirs(t)
				defer cleanup()
				root := rsDir("", 0o755, rsFile("a.txt", 0o644, "a"))
				refusal := startRsync(t, dest, false).serveLoosely(root, []codec.Value{linkItem("link", "../escaped-link", "a.txt")})
				checkAbsent(t, filepath.Join(base, "escaped-link"), refusal)
			},
		},
	}
}
