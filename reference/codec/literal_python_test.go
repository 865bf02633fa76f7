package codec_test

import (
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand"
	"strings"
	"testing"

	"golang.org/x/text/unicode/runenames"

	"github.com/execnet-conform/execnet-conform/reference/codec"
)

// stringFormLiterals are hand-picked str and bytes literals in the forms
// users type: prefixes, raw strings, triple quotes, concatenation, \N{}
// escapes, line breaks, comments. Some of them are errors in Python too.
var stringFormLiterals = []string{
	`r'a\b'`, `R'a\b'`, `r'\''`, `r"\""`, `r'\\'`, `r'a\'`, `r'\'`, `r'\\\'`, `r'\n\x41'`, `rb'\x00'`, `Rb'x'`,
	`bR'x'`, `BR'\t'`, `rB'x'`, `B'x'`, `U'x'`, `u'\u00e9'`, `ur'x'`, `bu'x'`, `ub'x'`, `rr'x'`, `x'a'`,
	"r'\\\nx'", "r'''\\\nx'''", "'a\\\nb'", "'a\nb'", "'a\rb'", "'''a\nb'''", "'''a\r\nb'''", "'''a\rb'''",
	`'''it's "quoted"'''`, `"""a "b" ''c''"""`, `''''''`, `""""""`, `'''a''''`, `'''a\''''`, `'''''a'''`,
	`'''\''''`, `r'''a\''''`, `b'''x\ny'''`, `rb"""\d+"""`, `'''unterminated''`,
	`'a' 'b'`, `'a''b'`, `'a' "b" '''c''' r'\d'`, `b'x' b'y'`, `b'x' rb'\y'`, `'a' b'y'`, `b'a' 'y'`, `u'a' r'b'`,
	"'a'\n'b'", "('a'\n'b')", "['a'\n  'b', 'c'\r\n'd']", "'a' \\\n 'b'", "('a' # one\n 'b')", "'a' # comment",
	`'\N{LATIN SMALL LETTER A}'`, `'\N{latin small letter a}'`, `'\N{Latin Small Letter Sharp S}'`,
	`'\N{LINE FEED}'`, `'\N{line feed}'`, `'\N{NUL}'`, `'\N{ZWNBSP}'`, `'\N{BYTE ORDER MARK}'`, `'\N{LATIN CAPITAL LETTER GHA}'`,
	`'\N{CJK UNIFIED IDEOGRAPH-4E00}'`, `'\N{CJK UNIFIED IDEOGRAPH-2A6DF}'`, `'\N{CJK UNIFIED IDEOGRAPH-4e00}'`,
	`'\N{cjk unified ideograph-4E00}'`, `'\N{CJK UNIFIED IDEOGRAPH-04E00}'`, `'\N{CJK UNIFIED IDEOGRAPH-0041}'`,
	`'\N{HANGUL SYLLABLE GA}'`, `'\N{HANGUL SYLLABLE GAG}'`, `'\N{HANGUL SYLLABLE A}'`, `'\N{hangul syllable ga}'`,
	`'\N{HANGUL SYLLABLE }'`, `'\N{HANGUL SYLLABLE XX}'`, `'\N{CJK COMPATIBILITY IDEOGRAPH-F900}'`,
	`'\N{cjk compatibility ideograph-f900}'`, `'\N{TANGUT IDEOGRAPH-17000}'`, `'\N{EM DASH}x\N{EM DASH}'`,
	`'\N{bogus}'`, `'\N{}'`, `'\N'`, `'\Nx'`, `'\N{LATIN SMALL LETTER A'`, `'\N{LATIN  SMALL LETTER A}'`,
	`'\N{ LATIN SMALL LETTER A}'`, `'\N{LATIN SMALL LETTER A }'`, `'\N{LINE FEED (LF)}'`, `'\N{é}'`,
	`b'\N{DASH}'`, `rb'\N{x}'`, `r'\N{DASH}'`, `b'\u1234\U00012345'`,
	`b'é'`, `rb'é'`, `b'''é'''`, `b'\xe9'`, `'\777'`, `b'\777'`, `b'\400'`,
	`float('inf' '')`, `float(r'1.5')`, `float(b'1.5')`, `['a', b'b', r'c', u'd', B'e', Rb'f']`,
	`{'k' 'ey': b'v' b'al'}`, `('a' 'b',)`, `frozenset({'a' "b"})`,
	"\n1", "\n\n'x'", "# comment\n'x'", "\n  1", "  'x'", "\t'x'", "'x'\n", "'x'\n\n", "'x'  # c", "[1, # c\n2]",
	"(\n1,\n2\n)", "[\n]", "-\n1", "(-\n1)", "{1:\n2}", "set(\n)", "\\\n1", "'x' \\\n",
	"1 \\\n", "1 \\\n\n", "1 \\\n  ", "1 # c\\\n", "1 \\", "1\n  ", "1\n  # c", "1\n\n  2", "\n  # c\n1", "1\x0b",
}

// pyStringRejects are literals Python evaluates that ParseLiteral rejects
// on purpose: f-strings are code, and Ellipsis has no wire form.
var pyStringRejects = []string{`f'x'`, `F'x'`, `rf'x'`, `fR'x'`, `f'{1}'`, `...`, `[...]`, `{1: ...}`}

// knownCharNames returns up to n names (and aliases and algorithmic names)
// drawn at random, that CPython resolves in \N{...}: candidates come from
// runenames, and CPython filters out those its older Unicode lacks.
func knownCharNames(t *testing.T, rng *rand.Rand, n int) []string {
	t.Helper()
	var cands []string
	for len(cands) < 2*n {
		r := rune(rng.Intn(0x31000))
		switch name := runenames.Name(r); {
		case name == "":
		case strings.HasPrefix(name, "<CJK Ideograph"):
			cands = append(cands, fmt.Sprintf("CJK UNIFIED IDEOGRAPH-%04X", r))
		case name == "<Hangul Syllable>":
			cands = append(cands, codecHangulName(r))
		case name[0] != '<':
			if rng.Intn(3) == 0 {
				name = strings.ToLower(name)
			}
			cands = append(cands, name)
		}
	}
	lits := make([]string, len(cands))
	for i, c := range cands {
		lits[i] = `'\N{` + c + `}'`
	}
	res := pyEval(t, lits)
	var out []string
	for i, c := range cands {
		v, err := codec.ParseLiteral(lits[i])
		if res[i][0] == "!ERR" {
			// A name of a newer Unicode than the interpreter's: we accept it.
			continue
		}
		if err != nil {
			t.Errorf("ParseLiteral(%s): %v; python: %s", lits[i], err, res[i][0])
			continue
		}
		if got := codec.Repr(v); got != res[i][0] {
			t.Errorf("ParseLiteral(%s): %s, python %s", lits[i], got, res[i][0])
		}
		out = append(out, c)
	}
	if len(out) < len(cands)*9/10 {
		t.Fatalf("CPython resolves only %d of %d names", len(out), len(cands))
	}
	return out[:min(n, len(out))]
}

// codecHangulName spells the name of a Hangul syllable from its jamo.
func codecHangulName(r rune) string {
	l := strings.Split("G GG N D DD R M B BB S SS  J JJ C K T P H", " ")
	v := strings.Split("A AE YA YAE EO E YEO YE O WA WAE OE YO U WEO WE WI YU EU YI I", " ")
	tl := strings.Split(" G GG GS N NJ NH D L LG LM LB LS LT LP LH M B BS S SS NG J C K T P H", " ")
	i := int(r - 0xac00)
	return "HANGUL SYLLABLE " + l[i/588] + v[i%588/28] + tl[i%28]
}

// randomStringLiteral builds one literal: adjacent string pieces with
// random prefixes, quotes and bodies (quotes, backslashes, escapes, line
// breaks, non-ASCII), sometimes inside brackets. Many are valid Python,
// some are not; either way Python and ParseLiteral must agree.
func randomStringLiteral(rng *rand.Rand, names []string) string {
	prefixes := []string{"", "", "", "u", "U", "r", "R", "b", "B", "br", "Br", "bR", "BR", "rb", "Rb", "rB", "RB"}
	quotes := []string{"'", `"`, "'''", `"""`}
	seps := []string{"", " ", "  ", "\t", "\n", "\\\n", " # c\n", "\r\n"}
	var b strings.Builder
	bracket := rng.Intn(3) == 0
	if bracket {
		b.WriteString("(")
	}
	wantBytes := rng.Intn(2) == 0
	for i, n := 0, 1+rng.Intn(3); i < n; i++ {
		if i > 0 {
			b.WriteString(seps[rng.Intn(len(seps))])
		}
		prefix := prefixes[rng.Intn(len(prefixes))]
		if rng.Intn(8) != 0 { // mostly keep the pieces of one kind
			isBytes := strings.ContainsAny(prefix, "bB")
			for isBytes != wantBytes {
				prefix = prefixes[rng.Intn(len(prefixes))]
				isBytes = strings.ContainsAny(prefix, "bB")
			}
		}
		q := quotes[rng.Intn(len(quotes))]
		b.WriteString(prefix)
		b.WriteString(q)
		b.WriteString(randomBody(rng, q, names))
		b.WriteString(q)
	}
	if bracket {
		b.WriteString(")")
	}
	return b.String()
}

func randomBody(rng *rand.Rand, q string, names []string) string {
	atoms := []string{"a", "Z", "0", " ", "é", "中", "😀", "\u00a0", "\t", "\\\\", "\\'", `\"`, "\\n", "\\t",
		"\\x41", "\\xff", "\\u00e9", "\\U0001F600", "\\0", "\\101", "\\777", "\\q", "\\d", "\\\n", "\\N{EM DASH}",
		"{", "}", "#"}
	var b strings.Builder
	for i, n := 0, rng.Intn(8); i < n; i++ {
		switch k := rng.Intn(40); {
		case k < 28:
			b.WriteString(atoms[rng.Intn(len(atoms))])
		case k < 32:
			b.WriteString(`\N{` + names[rng.Intn(len(names))] + `}`)
		case k < 34:
			if len(q) == 3 {
				b.WriteString("\n")
			} else {
				b.WriteString(q[:1]) // ends the piece early: usually an error
			}
		case k < 36:
			b.WriteString(`'`)
			if len(q) == 3 && q[0] == '\'' {
				b.WriteString("x") // keep it from joining the closing quotes
			}
		case k < 38:
			b.WriteString(`"`)
			if len(q) == 3 && q[0] == '"' {
				b.WriteString("x")
			}
		case k < 39:
			b.WriteString(`\`) // a lone backslash: it protects what follows
		default:
			b.WriteString("\r")
		}
	}
	return b.String()
}

// TestStringLiteralsMatchCPython compares ParseLiteral with CPython's eval
// on string literal forms: both accept or both reject, and what they accept
// has the same repr and the same execnet dumps_internal bytes.
func TestStringLiteralsMatchCPython(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	names := knownCharNames(t, rng, 300)
	lits := append([]string(nil), stringFormLiterals...)
	for len(lits) < 2500 {
		lits = append(lits, randomStringLiteral(rng, names))
	}
	res := pyEval(t, lits)
	accepted, rejected, bad := 0, 0, 0
	for i, lit := range lits {
		pyRepr, pyHex := res[i][0], res[i][1]
		v, err := codec.ParseLiteral(lit)
		switch {
		case pyRepr == "!ERR" && err == nil:
			t.Errorf("python rejects %q (%s); ParseLiteral gives %s", lit, pyHex, codec.Repr(v))
			bad++
		case pyRepr == "!ERR":
			var le *codec.LiteralError
			if !errors.As(err, &le) || !errors.Is(err, codec.ErrLiteralSyntax) || le.Pos < 0 || le.Pos > len(lit) {
				t.Errorf("ParseLiteral(%q): error %v is not a *LiteralError inside the input", lit, err)
				bad++
			}
			rejected++
		case err != nil:
			t.Errorf("ParseLiteral(%q): %v (python: %s)", lit, err, pyRepr)
			bad++
		default:
			accepted++
			if got := codec.Repr(v); got != pyRepr {
				t.Errorf("literal %q: Repr %s, python repr %s", lit, got, pyRepr)
				bad++
			}
			if got, err := codec.Dumps(v); err != nil || hex.EncodeToString(got) != pyHex {
				t.Errorf("literal %q: Dumps %x, %v; execnet %s", lit, got, err, pyHex)
				bad++
			}
		}
		if bad > 20 {
			t.Fatal("too many mismatches")
		}
	}
	// Both sides must have work to do: a generator that only produced
	// errors (or only accepted forms) would prove little.
	if accepted < len(lits)/3 || rejected < len(lits)/10 {
		t.Errorf("%d literals accepted and %d rejected by both: the generator is off balance", accepted, rejected)
	}
	t.Logf("%d string literals compared with CPython: %d accepted, %d rejected by both", len(lits), accepted, rejected)

	res = pyEval(t, pyStringRejects)
	for i, lit := range pyStringRejects {
		if res[i][0] == "!ERR" {
			t.Errorf("python rejects %q (%s), expected it to evaluate", lit, res[i][1])
		}
		if _, err := codec.ParseLiteral(lit); !errors.Is(err, codec.ErrLiteralSyntax) {
			t.Errorf("ParseLiteral(%q): %v, want a literal syntax error", lit, err)
		}
	}
}

// TestLiteralLayoutMatchesCPython inserts blanks, line breaks, comments
// and backslash continuations at random places of the hand-written
// literals of TestReprAndDumpsMatchCPython and of stringFormLiterals: in
// brackets, between tokens, inside numbers and strings, at either end.
// Python and ParseLiteral must agree on each result.
func TestLiteralLayoutMatchesCPython(t *testing.T) {
	rng := rand.New(rand.NewSource(11))
	seps := []string{" ", "\t", "\f", "\n", "\r\n", "\r", "\\\n", " # c\n", "# c", "\n  ", "\n\n", "  \\\n  "}
	bases := append(append([]string(nil), handLiterals...), stringFormLiterals...)
	var lits []string
	for len(lits) < 2000 {
		s := bases[rng.Intn(len(bases))]
		for k := 1 + rng.Intn(2); k > 0; k-- {
			i := rng.Intn(len(s) + 1)
			for i > 0 && i < len(s) && s[i]&0xc0 == 0x80 {
				i-- // keep UTF-8 sequences whole
			}
			s = s[:i] + seps[rng.Intn(len(seps))] + s[i:]
		}
		lits = append(lits, s)
	}
	res := pyEval(t, lits)
	accepted, bad := 0, 0
	for i, lit := range lits {
		pyRepr, pyHex := res[i][0], res[i][1]
		v, err := codec.ParseLiteral(lit)
		switch {
		case pyRepr == "!ERR" && err == nil:
			t.Errorf("python rejects %q (%s); ParseLiteral gives %s", lit, pyHex, codec.Repr(v))
			bad++
		case pyRepr == "!ERR":
		case err != nil && strings.HasPrefix(pyHex, "!"):
			// Python evaluates it to something execnet cannot dump (a
			// comment can leave just the name float, for example).
		case err != nil:
			t.Errorf("ParseLiteral(%q): %v (python: %s)", lit, err, pyRepr)
			bad++
		default:
			accepted++
			if got := codec.Repr(v); got != pyRepr && !hasUnorderedSet(v) {
				t.Errorf("literal %q: Repr %s, python repr %s", lit, got, pyRepr)
				bad++
			}
		}
		if bad > 20 {
			t.Fatal("too many mismatches")
		}
	}
	if accepted < len(lits)/4 || accepted > len(lits)*9/10 {
		t.Errorf("%d of %d literals accepted: the generator is off balance", accepted, len(lits))
	}
	t.Logf("%d literals with layout compared with CPython, %d accepted by both", len(lits), accepted)
}
