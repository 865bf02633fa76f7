package codec

import (
	"bufio"
	"bytes"
	"context"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/execnet-conform/execnet-conform/internal/peers"
)

// TestCharNamesMatchCPython resolves every character name CPython knows
// (unicodedata.name of every code point, algorithmic names included) with
// lookupCharName, in upper and lower case, and checks the case rules and
// aliases against CPython's own \N{...} handling.
func TestCharNamesMatchCPython(t *testing.T) {
	py := peers.CPython(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const script = `
import sys, unicodedata
w = sys.stdout.write
for c in range(0x110000):
    n = unicodedata.name(chr(c), None)
    if n:
        w("%x;%s\n" % (c, n))
`
	out, err := exec.CommandContext(ctx, py, "-c", script).Output()
	if err != nil {
		t.Fatalf("python: %v", err)
	}
	count, hangul, cjk := 0, 0, 0
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		hexCode, name, _ := strings.Cut(sc.Text(), ";")
		c, err := strconv.ParseUint(hexCode, 16, 32)
		if err != nil {
			t.Fatalf("bad python line %q", sc.Text())
		}
		want := rune(c)
		count++
		if r, ok := lookupCharName(name); !ok || r != want {
			t.Errorf("\\N{%s}: %U, %v; want %U", name, r, ok, want)
		}
		lower := strings.ToLower(name)
		_, ok := lookupCharName(lower)
		switch {
		case strings.HasPrefix(name, "HANGUL SYLLABLE "):
			hangul++
			if ok { // CPython matches these names case-sensitively
				t.Errorf("\\N{%s} resolves in lower case", name)
			}
		case strings.HasPrefix(name, "CJK UNIFIED IDEOGRAPH-"):
			cjk++
			if ok {
				t.Errorf("\\N{%s} resolves in lower case", name)
			}
		case !ok:
			t.Errorf("\\N{%s} does not resolve", lower)
		}
		if t.Failed() {
			t.Fatalf("stopping after the first failures (%d names checked)", count)
		}
	}
	if count < 100000 || hangul != 11172 || cjk < 80000 {
		t.Fatalf("python listed %d names (%d Hangul, %d CJK unified)", count, hangul, cjk)
	}

	// Every alias is one CPython resolves to the same character.
	var lits []string
	var wants []rune
	for _, line := range strings.Split(strings.TrimSpace(charNameAliases), "\n") {
		name, _, _ := strings.Cut(line, ";")
		r, ok := lookupCharName(name)
		if !ok {
			t.Errorf("alias %q does not resolve", name)
			continue
		}
		lits = append(lits, name)
		wants = append(wants, r)
	}
	check := exec.CommandContext(ctx, py, "-c", `
import sys
for name in sys.stdin.read().split("\n"):
    print(ord(eval("'\\N{%s}'" % name)))
`)
	check.Stdin = strings.NewReader(strings.Join(lits, "\n"))
	out, err = check.Output()
	if err != nil {
		t.Fatalf("python aliases: %v", err)
	}
	got := strings.Fields(string(out))
	if len(got) != len(lits) || len(lits) < 400 {
		t.Fatalf("python answered %d of %d aliases", len(got), len(lits))
	}
	for i, g := range got {
		if g != strconv.Itoa(int(wants[i])) {
			t.Errorf("alias %q: %U here, python %s", lits[i], wants[i], g)
		}
	}
}
