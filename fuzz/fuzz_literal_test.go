package fuzz

import (
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/execnet-conform/execnet-conform/reference/codec"
	"github.com/execnet-conform/execnet-conform/reference/codec/codectest"
)

// literalSeeds are Python literals in the shapes ParseLiteral documents,
// plus near misses that must be rejected cleanly.
var literalSeeds = []string{
	"None", "True", "False", "0", "-1", "0x_ff", "0o17", "0b101", "1_000", "10**3",
	"123456789012345678901234567890", "-0.0", "1e308", "1e309", ".5", "5.", "inf", "-inf", "nan",
	"float('inf')", "float('nan')", "2j", "-2j", "(1-2j)", "(-0-0j)", "(nan+infj)", "1.5e-7j",
	"''", `"a'b"`, `'\x00\u00e9\U0001f600\n\t\\'`, "b''", `b'\xff\x00'`, `b"\'"`,
	"()", "(1,)", "(1, 2)", "[]", "[[]]", "{}", "{1: 2, 'a': [b'x']}", "{1, 2}", "set()",
	"frozenset()", "frozenset({1, (2, 3)})", "frozenset([1])", "frozenset((1,))",
	"<Channel id=1>", "[<Channel id=-3>]", "{(1, 2): [b'x', 1.5j], 'k': frozenset({None})}",
	"((((((((((1,),),),),),),),),),)", "[" + "[" + "]" + "]", "{[]}", "{[]: 1}", "'unterminated",
	"(1, 2", "1 2", "0x", "1__0", "b'\u00e9'", "'\\N{DASH}'", "'\\777'", "frozenset(1)",
	// string forms: prefixes, raw, triple quotes, concatenation, \N{...},
	// line breaks and comments, and the near misses around them
	`r'a\b'`, `r'\''`, `r'a\'`, `Rb'\x00'`, `bR"x"`, `U'x'`, `ur'x'`, `f'x'`, `rf'{x}'`, `x'a'`,
	"'''a\nb\"'c'''", `""""""`, `'''a''''`, "'''a\r\nb'''", "'a\rb'", `'a' "b" '''c''' r'\d'`,
	`b'x' rb'\y'`, `'a' b'y'`, "('a'\n 'b')", "'a'\n'b'", "'a' \\\n 'b'", "[1, # c\n 2]  # end\n",
	`'\N{LATIN SMALL LETTER A}\N{line feed}\N{ZWNBSP}'`, `'\N{HANGUL SYLLABLE GAG}\N{CJK UNIFIED IDEOGRAPH-4E00}'`,
	`'\N{hangul syllable gag}'`, `'\N{}'`, `'\N{x'`, `b'\N{x}'`, `rb'\xe9'`, "b'''\u00e9'''",
	"...", "[..., 1]", "Ellipsis", "float(b'1.5')", "\n  1", "1 \\\n", "1\n  # c", "'\x00'",
}

// literalVectorSeeds returns the "literal" text of every golden vector.
func literalVectorSeeds(tb testing.TB) []string {
	tb.Helper()
	data, err := os.ReadFile(vectorsPath)
	if err != nil {
		tb.Fatalf("read golden vectors: %v", err)
	}
	var f struct {
		Vectors []struct {
			Literal string `json:"literal"`
		} `json:"vectors"`
	}
	if err := json.Unmarshal(data, &f); err != nil {
		tb.Fatalf("parse %s: %v", vectorsPath, err)
	}
	var out []string
	for _, v := range f.Vectors {
		if v.Literal != "" && len(v.Literal) < 4096 {
			out = append(out, v.Literal)
		}
	}
	if len(out) < 50 {
		tb.Fatalf("only %d golden vectors carry a literal", len(out))
	}
	return out
}

// FuzzParseLiteral checks that ParseLiteral never panics, that every
// failure is a *codec.LiteralError matching ErrLiteralSyntax with an
// offset inside the input, and that whatever it accepts survives
// Repr then ParseLiteral as an Identical value whose Repr is a fixed point.
func FuzzParseLiteral(f *testing.F) {
	for _, s := range literalSeeds {
		f.Add(s)
	}
	for _, s := range literalVectorSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := codec.ParseLiteral(s)
		if err != nil {
			var le *codec.LiteralError
			if !errors.As(err, &le) || !errors.Is(err, codec.ErrLiteralSyntax) {
				t.Fatalf("ParseLiteral(%q): error %T (%v) is not a *codec.LiteralError matching ErrLiteralSyntax", s, err, err)
			}
			if le.Pos < 0 || le.Pos > len(s) {
				t.Fatalf("ParseLiteral(%q): error offset %d outside the input of %d bytes", s, le.Pos, len(s))
			}
			if err.Error() == "" {
				t.Fatalf("ParseLiteral(%q): empty error message", s)
			}
			return
		}
		if v == nil {
			t.Fatalf("ParseLiteral(%q) returned a nil value and no error", s)
		}
		r := codec.Repr(v)
		again, err := codec.ParseLiteral(r)
		if err != nil {
			t.Fatalf("ParseLiteral(%q) gives %s, whose Repr does not parse: %v", s, r, err)
		}
		// Python's repr prints every NaN as "nan", so the sign and payload
		// of a NaN (for example from "-float('nan')") cannot survive a
		// literal round trip; a value holding a NaN must come back
		// identical after its first trip instead.
		if !codectest.ReadsBack(v) {
			// A complex whose repr Python reads with other zero signs
			// (-2j is -(2j)): repr and parse alternate between two values.
			return
		}
		if strings.Contains(r, "nan") {
			third, err := codec.ParseLiteral(codec.Repr(again))
			if err != nil || !codec.Identical(again, third) {
				t.Fatalf("ParseLiteral(%q): Repr round trip of %s is not stable: %v", s, r, err)
			}
		} else if !codec.Identical(v, again) {
			t.Fatalf("ParseLiteral(%q): Repr round trip changes the value:\n first %s\nsecond %s", s, r, codec.Repr(again))
		}
		if r2 := codec.Repr(again); r2 != r {
			t.Fatalf("ParseLiteral(%q): Repr is not a fixed point: %s then %s", s, r, r2)
		}
	})
}
