package transport

import (
	"bufio"
	"encoding/hex"
	"math/rand"
	"os/exec"
	"strings"
	"testing"

	"github.com/execnet-conform/execnet-conform/internal/peers"
)

// TestPyStringLiteralRoundTrip evaluates PyStringLiteral's output in real
// Python and checks that it gives back the same text (compared as bytes,
// with invalid UTF-8 carried by surrogateescape).
func TestPyStringLiteralRoundTrip(t *testing.T) {
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	inputs := []string{
		"", "'", `"`, `\`, `\\'`, "'''", `"""`, "\n\r\t\x00\x7f\x1b", "é", "😀", "\u2028\u2029\u0085",
		"\xff\xfe", "ab\x80", "\xed\xa0\x80", `\x41\u0041\N{DASH}`, "line1\r\nline2\n", string(all),
		"import sys\nsys.stdout.write('1')\n", "\U0010ffff\ufeff\u00a0", "\x00\x00",
	}
	rng := rand.New(rand.NewSource(1))
	for i := 0; i < 50; i++ {
		b := make([]byte, rng.Intn(64))
		rng.Read(b)
		inputs = append(inputs, string(b))
		r := make([]rune, rng.Intn(20))
		for j := range r {
			r[j] = rune(rng.Intn(0x110000))
		}
		inputs = append(inputs, string(r))
	}
	var lines strings.Builder
	for _, s := range inputs {
		lit := PyStringLiteral(s)
		for i := 0; i < len(lit); i++ {
			if lit[i] >= 0x80 || lit[i] == '\n' || lit[i] == '\r' {
				t.Fatalf("PyStringLiteral(%q) = %q: not one ASCII line", s, lit)
			}
		}
		lines.WriteString(lit + "\n")
	}
	for name, py := range peers.Interpreters(t) {
		t.Run(name, func(t *testing.T) {
			src := "import sys\nfor line in sys.stdin:\n" +
				"    print(eval(line).encode('utf-8', 'surrogateescape').hex())\n"
			cmd := exec.Command(py, "-c", src)
			cmd.Stdin = strings.NewReader(lines.String())
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("%v: %s", err, errText(err))
			}
			sc := bufio.NewScanner(strings.NewReader(string(out)))
			sc.Buffer(nil, 1<<20)
			for i, s := range inputs {
				if !sc.Scan() {
					t.Fatalf("python gave %d lines for %d inputs", i, len(inputs))
				}
				got, _ := hex.DecodeString(sc.Text())
				if string(got) != s {
					t.Errorf("round trip of %q via %s gave %q", s, PyStringLiteral(s), got)
				}
			}
		})
	}
}

func errText(err error) string {
	if ee, ok := err.(*exec.ExitError); ok {
		return string(ee.Stderr)
	}
	return ""
}

func TestPyStringLiteralForms(t *testing.T) {
	for in, want := range map[string]string{
		"":           `''`,
		"a'b":        `'a\'b'`,
		`a\b`:        `'a\\b'`,
		"\t\n\r\x01": `'\t\n\r\x01'`,
		"é€😀":        `'\xe9\u20ac\U0001f600'`,
		"\xff":       `'\udcff'`,
	} {
		if got := PyStringLiteral(in); got != want {
			t.Errorf("PyStringLiteral(%q) = %s, want %s", in, got, want)
		}
	}
}

// FuzzPyStringLiteral checks the shape of every literal: one line of
// printable ASCII in single quotes, with no unescaped quote inside. (The
// round trip itself is checked in real Python above.)
func FuzzPyStringLiteral(f *testing.F) {
	for _, s := range []string{"", "'", "\\", "\n", "é😀", "\xff", "a\\'b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		lit := PyStringLiteral(s)
		if len(lit) < 2 || lit[0] != '\'' || lit[len(lit)-1] != '\'' {
			t.Fatalf("%q: not quoted: %s", s, lit)
		}
		body := lit[1 : len(lit)-1]
		for i := 0; i < len(body); i++ {
			c := body[i]
			if c < 0x20 || c >= 0x7f {
				t.Fatalf("%q: byte %#x in %s", s, c, lit)
			}
			if c == '\\' {
				i++ // the escaped character
				if i >= len(body) {
					t.Fatalf("%q: dangling backslash in %s", s, lit)
				}
			} else if c == '\'' {
				t.Fatalf("%q: unescaped quote in %s", s, lit)
			}
		}
	})
}
