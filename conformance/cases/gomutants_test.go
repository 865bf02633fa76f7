package cases

import (
	"context"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/execnet-conform/execnet-conform/conformance"
)

// goMutants are deliberately broken copies of the Go reference worker,
// one per class of port mistake that issue #15 found the suite missing.
// Each names one textual substitution in the module's source and the
// cases that must catch it; when run (see TestGoMutants), the rest of the
// suite passed against each of them, so only these cases catch them.
var goMutants = []struct {
	name     string
	file     string
	old, new string
	groups   []string
}{
	{"bootstrap-line-one-read", "reference/worker/bootstrap.go",
		"\tvar line []byte\n\tfor {\n",
		"\tvar line []byte\n\tif true { // mutant: the first read is the line\n\t\tbuf := make([]byte, 65536)\n\t\tn, err := r.Read(buf)\n\t\tif err != nil {\n\t\t\treturn nil, err\n\t\t}\n\t\treturn buf[:n], nil\n\t}\n\tfor {\n",
		[]string{"delivery/*/bootstrap-line"}},
	{"header-one-read", "reference/gateway/readframe.go",
		"\t\tn, err = io.ReadFull(fr.r, fr.hdr[:])\n\t}",
		"\t\tn, err = fr.r.Read(fr.hdr[:]) // mutant: one read per header\n\t\tif err == nil && n < len(fr.hdr) {\n\t\t\terr = io.ErrUnexpectedEOF\n\t\t}\n\t}",
		[]string{"delivery/bytes/channels", "delivery/boundaries/channels"}},
	{"sleep-milliseconds", "reference/worker/procedures.go",
		"\t\td = time.Duration(secs * float64(time.Second))",
		"\t\td = time.Duration(secs * float64(time.Millisecond)) // mutant",
		[]string{"exec/sleep"}},
	{"no-exec-grace", "reference/gateway/gateway.go",
		"\t\texecGrace:  5 * time.Second,",
		"\t\texecGrace:  time.Millisecond, // mutant",
		[]string{"termination/eof/running-execution-may-finish"}},
	{"failed-exec-still-counted", "reference/gateway/gateway.go",
		"\tg.mu.Lock()\n\tg.executing--\n\tg.mu.Unlock()\n\tif err != nil",
		"\tg.mu.Lock()\n\tif err == nil || errors.Is(err, io.EOF) {\n\t\tg.executing-- // mutant\n\t}\n\tg.mu.Unlock()\n\tif err != nil",
		[]string{"termination/eof/after-failed-executions"}},
	{"bool-as-int", "reference/worker/procedures.go",
		"\tcase codec.Int:\n\t\treturn int64(v), nil\n\tcase codec.BigInt:",
		"\tcase codec.Int:\n\t\treturn int64(v), nil\n\tcase codec.Bool: // mutant\n\t\tif v {\n\t\t\treturn 1, nil\n\t\t}\n\t\treturn 0, nil\n\tcase codec.BigInt:",
		[]string{"exec/args/stream-count-bool"}},
	{"negative-count-accepted", "reference/worker/procedures.go",
		"\tif count < 0 || size < 0 {",
		"\tif size < 0 { // mutant",
		[]string{"exec/args/stream-count-negative"}},
	{"close-error-unknown-lenient", "reference/gateway/gateway.go",
		"\tcase spec.MsgChannelCloseError:\n\t\tv, err := g.decode(",
		"\tcase spec.MsgChannelCloseError:\n\t\tif g.lookup(f.Channel) == nil {\n\t\t\treturn false, nil // mutant\n\t\t}\n\t\tv, err := g.decode(",
		[]string{"robustness/unknown-id/undecodable-close-error"}},
	{"terminate-answered", "reference/gateway/gateway.go",
		"\tcase spec.MsgGatewayTerminate:\n\t\treturn true, nil",
		"\tcase spec.MsgGatewayTerminate:\n\t\t_ = g.sendEmpty(context.Background(), spec.MsgChannelClose, 0) // mutant\n\t\treturn true, nil",
		[]string{"termination/terminate/payload-ignored"}},
	{"reconfigure-retroactive", "reference/gateway/gateway.go",
		"\t\t\tg.strconfig = nsc\n\t\t\tg.mu.Unlock()\n\t\t\treturn false, nil",
		"\t\t\tg.strconfig = nsc\n\t\t\tfor _, c := range g.channels { // mutant\n\t\t\t\tc.mu.Lock()\n\t\t\t\tc.strconfig = nsc\n\t\t\t\tc.mu.Unlock()\n\t\t\t}\n\t\t\tg.mu.Unlock()\n\t\t\treturn false, nil",
		[]string{"reconfigure/gateway/existing-channel-unchanged"}},
	{"last-message-ignored", "reference/gateway/gateway.go",
		"\tcase spec.MsgChannelLastMessage:\n\t\tif ch := g.lookup(f.Channel); ch != nil {\n\t\t\tg.forget(ch)\n\t\t\tch.remoteEnd(nil, true)\n\t\t}",
		"\tcase spec.MsgChannelLastMessage:\n\t\t// mutant: ignored",
		[]string{"channel/last-message/execution-ends"}},
	{"exec-list-accepted", "reference/gateway/gateway.go",
		"\tt, ok := v.(codec.Tuple)\n\tif !ok || len(t) != 4 {",
		"\tt, ok := v.(codec.Tuple)\n\tif l, isList := v.(codec.List); isList { // mutant\n\t\tt, ok = codec.Tuple(l), true\n\t}\n\tif !ok || len(t) != 4 {",
		[]string{"exec/payload/list-not-tuple"}},
	{"channel-ref-zero-accepted", "reference/gateway/gateway.go",
		"\tif id < 1 {\n\t\t// SPEC CHAN-ID-8",
		"\tif id < 0 { // mutant\n\t\t// SPEC CHAN-ID-8",
		[]string{"channel/ids/reference-zero-not-echoed"}},
	{"negative-zero-key-distinct", "reference/codec/equal.go",
		"\tif f == math.Trunc(f) && !math.IsInf(f, 0) {\n\t\tif f >= -9.2e18",
		"\tif f == math.Trunc(f) && !math.IsInf(f, 0) && !math.Signbit(f) { // mutant\n\t\tif f >= -9.2e18",
		[]string{"serial/boundary/dict-*", "serial/boundary/set-*"}},
	{"longint-sign-counted", "reference/codec/decode.go",
		"\tif len(digits) > s.lim.MaxIntDigits {",
		"\tif len(data) > s.lim.MaxIntDigits { // mutant",
		[]string{"serial/boundary/longint-negative-4300-digits"}},
	{"fd0-left-on-pipe", "reference/worker/stdio_unix.go",
		"\tfor _, fd := range []int{0, 1} {",
		"\tfor _, fd := range []int{1} { // mutant",
		[]string{"bootstrap/stdio/fds-0-and-1-null-device"}},
}

// copyModule copies the module's source tree (without .git) to dst.
func copyModule(t *testing.T, root, dst string) {
	t.Helper()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if d.IsDir() {
			if d.Name() == ".git" {
				return filepath.SkipDir
			}
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatalf("copying the module: %v", err)
	}
}

// TestGoMutants builds each mutant of goMutants from a copy of this module
// and checks that its cases fail against it, while the runner itself is
// the unmutated one of this test binary (the runner shares the codec and
// framing code with the worker, so a mutant runner would judge with the
// mutant's rules). It builds 17 binaries and takes minutes, so it runs
// only with EXECNET_GO_MUTANTS=1:
//
//	EXECNET_GO_MUTANTS=1 go test -run TestGoMutants ./conformance/cases/
func TestGoMutants(t *testing.T) {
	if os.Getenv("EXECNET_GO_MUTANTS") != "1" {
		t.Skip("builds 17 workers; set EXECNET_GO_MUTANTS=1 to run")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("no go command: %v", err)
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	var all []string
	for _, m := range goMutants {
		all = append(all, m.groups...)
	}
	t.Run("baseline", func(t *testing.T) {
		dir := t.TempDir()
		copyModule(t, root, dir)
		bin := buildWorker(t, goBin, dir)
		if u := unexpected(runGoWorker(t, bin, all)); len(u) > 0 {
			t.Fatalf("the unmutated Go worker fails the mutant-catching cases:\n%s", strings.Join(u, "\n"))
		}
	})
	for _, m := range goMutants {
		t.Run(m.name, func(t *testing.T) {
			dir := t.TempDir()
			copyModule(t, root, dir)
			path := filepath.Join(dir, m.file)
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if n := strings.Count(string(b), m.old); n != 1 {
				t.Fatalf("%s: the text to mutate occurs %d times, want 1 (the source changed: update the mutant)", m.file, n)
			}
			if err := os.WriteFile(path, []byte(strings.Replace(string(b), m.old, m.new, 1)), 0o644); err != nil {
				t.Fatal(err)
			}
			res := runGoWorker(t, buildWorker(t, goBin, dir), m.groups)
			u := unexpected(res)
			if len(u) == 0 {
				t.Fatalf("mutant %s survived: every case of %v passed", m.name, m.groups)
			}
			t.Logf("mutant %s caught by %d case(s):\n%s", m.name, len(u), strings.Join(u, "\n"))
		})
	}
}

// buildWorker builds the execnet-conform command of the module copy in
// dir and returns the binary's path.
func buildWorker(t *testing.T, goBin, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "execnet-conform")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	build := exec.CommandContext(ctx, goBin, "build", "-o", bin, "./cmd/execnet-conform")
	build.Dir = dir
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the worker: %v\n%s", err, out)
	}
	return bin
}

// runGoWorker runs the cases matching groups against the worker
// subcommand of bin.
func runGoWorker(t *testing.T, bin string, groups []string) *conformance.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), mutantBound)
	defer cancel()
	res, err := conformance.Run(ctx, conformance.Options{
		Target:  "popen//python=" + bin + " worker",
		Select:  conformance.Selector{Run: groups},
		Seed:    1,
		Count:   20,
		Timeout: 3 * time.Second,
	}, All(), nil)
	if err != nil {
		t.Fatalf("run against %s: %v", groups, err)
	}
	if len(res.Cases) == 0 {
		t.Fatalf("no case matched %v", groups)
	}
	return res
}
