package main

import (
	"bytes"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/execnet-conform/execnet-conform/reference/codec"
)

func runCLI(stdin string, args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = mainArgs(args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

func TestDumpsLoadsCLI(t *testing.T) {
	cases := []struct {
		args []string
		out  string
	}{
		{[]string{"dumps", "None"}, "4c51\n"},
		{[]string{"dumps", "[1, 'a']"}, "4b00000002460000000046000000015046000000014e00000001615051\n"},
		{[]string{"dumps", "--format-version", "1", "{'a': 1}"}, "014a4e000000016146000000015051\n"},
		{[]string{"dumps", "--format-version=2", "(1,)"}, "024600000001400000000151\n"},
		{[]string{"dumps", "-2147483649"}, "480000000b2d3231343734383336343951\n"},
		{[]string{"dumps", "--format-version", "1", "-1"}, "0146ffffffff51\n"},
		{[]string{"dumps", "-inf"}, "44fff000000000000051\n"},
		{[]string{"loads", "4b00000002460000000046000000015046000000014e00000001615051"}, "[1, 'a']\n"},
		{[]string{"loads", "--format-version", "1", "014a4e000000016146000000015051"}, "{'a': 1}\n"},
		{[]string{"loads", "4a 4e00000001 61 46 00000001 50 51"}, "{'a': 1}\n"},
		{[]string{"loads", "4d00000001e951"}, "'é'\n"}, // PY2STRING as text under the channel strconfig
		{[]string{"loads", "--format-version", "2", "024d00000001e951"}, "b'\\xe9'\n"},
		{[]string{"loads", "420000000751"}, "<Channel id=7>\n"},
	}
	for _, c := range cases {
		code, out, errOut := runCLI("", c.args...)
		if code != exitOK || out != c.out || errOut != "" {
			t.Errorf("%q: code %d, stdout %q, stderr %q; want 0, %q", c.args, code, out, errOut, c.out)
		}
	}
	code, out, _ := runCLI("[1, 2.5]\n", "dumps", "-")
	if code != exitOK || out != "4b000000024600000000460000000150460000000144400400000000000050"+"51\n" {
		t.Errorf("dumps from stdin: %d %q", code, out)
	}
}

func TestDumpsLoadsCLIErrors(t *testing.T) {
	cases := []struct {
		args []string
		want string // substring of the one stderr line
	}{
		{[]string{"dumps"}, "exactly one LITERAL"},
		{[]string{"dumps", "[1,"}, "offset 3"},
		{[]string{"dumps", "--format-version", "3", "1"}, "must be 1 or 2"},
		{[]string{"dumps", "--bogus", "1"}, "flag provided but not defined"},
		{[]string{"dumps", "[[]]", "extra"}, "exactly one"},
		{[]string{"dumps", "{[]: 1}"}, "unhashable"},
		{[]string{"loads", "zz"}, "not hex"},
		{[]string{"loads", "4c"}, "truncated"},
		{[]string{"loads", "4c5151"}, "trailing"},
		{[]string{"loads", "5551"}, "unknown opcode"},
		{[]string{"loads", "--format-version", "1", "024c51"}, "asks for 1"},
		{[]string{"loads", "--format-version", "1", "034c51"}, "version"},
		{[]string{"loads", "--format-version", "2", "02420000000151"}, "channel not allowed"},
	}
	for _, c := range cases {
		code, out, errOut := runCLI("", c.args...)
		if code != exitUsage || out != "" {
			t.Errorf("%q: code %d stdout %q, want exit 2 and no stdout", c.args, code, out)
		}
		if !strings.HasPrefix(errOut, "execnet-conform: ") || strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, c.want) {
			t.Errorf("%q: stderr %q, want one line starting \"execnet-conform: \" containing %q", c.args, errOut, c.want)
		}
	}
}

// TestLoadsLargeInput passes a value of 140,000 hex digits, too long for
// an argument list on some systems, through @FILE and stdin.
func TestLoadsLargeInput(t *testing.T) {
	payload := bytes.Repeat([]byte{0xab}, 70_000)
	wire := append([]byte{0x41, 0, 1, 0x11, 0x70}, payload...) // BYTES, length 70,000
	wire = append(wire, 0x51)
	h := hex.EncodeToString(wire)
	if len(h) < 140_000 {
		t.Fatalf("only %d hex digits", len(h))
	}
	path := filepath.Join(t.TempDir(), "big.hex")
	if err := os.WriteFile(path, []byte(h+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	want := codec.Repr(codec.Bytes(payload)) + "\n"
	for _, in := range []struct{ stdin, arg string }{{"", "@" + path}, {h, "-"}} {
		code, out, errOut := runCLI(in.stdin, "loads", in.arg)
		if code != exitOK || out != want {
			t.Errorf("loads %s: code %d, %d bytes of stdout, stderr %q", in.arg[:1], code, len(out), errOut)
		}
	}
}

func TestBuiltinLabel(t *testing.T) {
	tmp := filepath.Clean(os.TempDir())
	goRun := "popen//python=" + filepath.Join(tmp, "go-build123", "b001", "exe", "execnet-conform") + " worker"
	if got := builtinLabel(goRun); strings.Contains(got, "go-build") || !strings.Contains(got, "go run's temporary build") {
		t.Errorf("builtinLabel(%q) = %q, want no temporary path", goRun, got)
	}
	installed := "popen//python=/root/go/bin/execnet-conform worker"
	if got := builtinLabel(installed); got != "the built-in Go worker ("+installed+")" {
		t.Errorf("builtinLabel(%q) = %q", installed, got)
	}
}
