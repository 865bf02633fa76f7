package cases

import (
	"github.com/execnet-conform/execnet-conform/conformance"
	"github.com/execnet-conform/execnet-conform/conformance/profile"
	"github.com/execnet-conform/execnet-conform/reference/codec"
	"github.com/execnet-conform/execnet-conform/spec"
)

// The runner performs the bootstrap handshake (the ready byte) before any
// case runs; these cases check what the session looks like afterwards.
func bootstrapCases() []conformance.Case {
	return []conformance.Case{
		{
			ID:          "bootstrap/handshake/no-unsolicited-frames",
			Clauses:     []string{cBootReady, cBootNoFrame},
			Level:       conformance.MUST,
			Description: "after the ready byte the worker sends nothing on its own: the first frame is the reply to the first request",
			Fresh:       true,
			Run: func(t *conformance.T) {
				id := t.NewChannelID()
				t.Send(statusFrame(id))
				f, err := t.Recv()
				if err != nil {
					t.Fatalf("no reply to the first STATUS request: %v", err)
				}
				if f.Channel != id || f.Code != spec.MsgChannelData {
					t.Fatalf("first frame after the handshake is %s on channel %d (payload hex %s), want the STATUS reply CHANNEL_DATA on channel %d",
						f.Code, f.Channel, hexOf(f.Payload), id)
				}
				t.ExpectClose(id)
			},
		},
		{
			ID:          "bootstrap/profile/info",
			Clauses:     []string{cProfInfo, cProfCall, cProfEndNormal},
			Level:       conformance.MUST,
			Description: "conform_info sends one dict of text values implementation, version, spec, language (spec = this document's version), then ends",
			Run: func(t *conformance.T) {
				ch := t.Exec(profile.Info)
				v, raw := recvData(t, ch, "conform_info")
				d, ok := v.(*codec.Dict)
				if !ok {
					t.Fatalf("conform_info sent %s (hex %s), want a dict", reprOf(v), hexOf(raw))
				}
				var keys []codec.Value
				for _, it := range d.Items() {
					keys = append(keys, it.Key)
				}
				wantKeys := codec.List{codec.Str("implementation"), codec.Str("version"), codec.Str("spec"), codec.Str("language")}
				if !codec.Identical(codec.List(keys), wantKeys) {
					t.Errorf("conform_info keys are %s, want %s in that order", reprOf(codec.List(keys)), reprOf(wantKeys))
				}
				for _, k := range []string{"implementation", "version", "spec", "language"} {
					x, ok := d.Get(codec.Str(k))
					if !ok {
						t.Fatalf("conform_info dict %s lacks key %q", reprOf(d), k)
					}
					if _, ok := x.(codec.Str); !ok {
						t.Fatalf("conform_info dict %s: value of %q is %s, want text", reprOf(d), k, x.Kind())
					}
				}
				if s, _ := d.Get(codec.Str("spec")); s != codec.Str(spec.Version) {
					t.Errorf("conform_info spec is %s, want %q", reprOf(s), spec.Version)
				}
				t.ExpectClose(ch)
			},
		},
		{
			ID:          "bootstrap/stdio/print-does-not-corrupt-stream",
			Clauses:     []string{cBootStdio},
			Level:       conformance.MUST,
			Description: "Python workers: code writing to stdout (print, os.write(1)) does not corrupt the frame stream",
			Run: func(t *conformance.T) {
				if !t.Target().IsPython() {
					t.Skipf("not a Python worker (language %q): it runs no user code", t.Target().Language())
				}
				ch := t.ExecSource("import os, sys\nprint('noise ' * 20)\nsys.stdout.write('more noise')\nsys.stdout.flush()\n" +
					"try:\n    os.write(1, b'raw noise')\nexcept OSError:\n    pass\nchannel.send(7)\n")
				v, raw := recvData(t, ch, "source printing to stdout")
				checkIdentical(t, "value sent after printing", codec.Int(7), v, raw)
				t.ExpectClose(ch)
				if _, err := t.Status(); err != nil {
					t.Fatalf("STATUS after printing: %v", err)
				}
			},
		},
		{
			ID:          "bootstrap/stdio/stderr-untouched",
			Clauses:     []string{"BOOT-FD-2"},
			Level:       conformance.MUST,
			Description: "Python workers on Linux: file descriptor 2 still leads where the worker's stderr was started (not the null device)",
			Run: func(t *conformance.T) {
				if !t.Target().IsPython() {
					t.Skipf("not a Python worker (language %q)", t.Target().Language())
				}
				ch := t.ExecSource("import os\ntry:\n    where = os.readlink('/proc/self/fd/2')\nexcept OSError:\n    where = None\nchannel.send(where)\n")
				v, raw := recvData(t, ch, "source reading /proc/self/fd/2")
				t.ExpectClose(ch)
				where, ok := v.(codec.Str)
				if !ok {
					t.Skipf("cannot tell where fd 2 leads (no /proc): %s (hex %s)", reprOf(v), hexOf(raw))
				}
				if where == "/dev/null" {
					t.Fatalf("the worker pointed fd 2 at /dev/null")
				}
			},
		},
	}
}
