package codec_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/execnet-conform/execnet-conform/reference/codec"
)

// TestParseLiteralStringForms pins the value of string literal forms (the
// CPython comparison lives in TestStringLiteralsMatchCPython).
func TestParseLiteralStringForms(t *testing.T) {
	for _, tc := range []struct {
		lit  string
		want codec.Value
	}{
		{`r'a\b'`, codec.Str(`a\b`)},
		{`r'\''`, codec.Str(`\'`)},
		{`Rb'\x00'`, codec.Bytes(`\x00`)},
		{`bR"x"`, codec.Bytes("x")},
		{`U'\u00e9'`, codec.Str("é")},
		{"'''a\r\nb\"'c'''", codec.Str("a\nb\"'c")},
		{`"""x"""`, codec.Str("x")},
		{`''''''`, codec.Str("")},
		{"'a' \"b\"\t'''c'''", codec.Str("abc")},
		{"(b'x'\n  rb'\\y')", codec.Bytes(`x\y`)},
		{"'a' \\\n 'b'", codec.Str("ab")},
		{`'\N{latin small letter sharp s}\N{NUL}\N{HANGUL SYLLABLE GAG}\N{CJK UNIFIED IDEOGRAPH-4E00}'`, codec.Str("ß\x00각一")},
		{`b'\N{X}'`, codec.Bytes(`\N{X}`)},
		{"[1, # one\n 2]  # done\n", codec.List{codec.Int(1), codec.Int(2)}},
	} {
		v, err := codec.ParseLiteral(tc.lit)
		if err != nil {
			t.Errorf("ParseLiteral(%q): %v", tc.lit, err)
			continue
		}
		if !codec.Identical(v, tc.want) {
			t.Errorf("ParseLiteral(%q) = %s, want %s", tc.lit, codec.Repr(v), codec.Repr(tc.want))
		}
	}
}

// TestParseLiteralStringErrors checks the errors users meet with string
// forms: every one a *LiteralError at the right offset with a message
// that names the problem.
func TestParseLiteralStringErrors(t *testing.T) {
	for _, tc := range []struct {
		lit  string
		pos  int
		text string
	}{
		{`f'x'`, 0, "f-strings are not literals"},
		{`[Rf'{x}']`, 1, "f-strings are not literals"},
		{`ur'x'`, 0, `invalid string prefix "ur"`},
		{`'a' b'y'`, 4, "cannot join bytes and str"},
		{`r'a\'`, 0, "unterminated string literal"},
		{`'''a''`, 0, "unterminated triple-quoted"},
		{"'a\nb'", 0, "unterminated string literal"},
		{"'a'\n'b'", 4, "a line break outside brackets ends the expression"},
		{`b'é'`, 2, "bytes can only contain ASCII"},
		{`rb'é'`, 3, "bytes can only contain ASCII"},
		{`'x\N{}'`, 2, `malformed \N`},
		{`'x\N{bogus}'`, 2, `unknown Unicode character name "bogus"`},
		{`'\N{hangul syllable ga}'`, 1, "unknown Unicode character name"},
		{`...`, 0, "execnet cannot serialize it"},
		{`[1, ...]`, 4, "Ellipsis"},
		{"1\x00", 1, "NUL"},
		{"\n  1", 1, "unexpected indent"},
		{"1 \\\n", 2, "line continuation"},
	} {
		_, err := codec.ParseLiteral(tc.lit)
		var le *codec.LiteralError
		if !errors.As(err, &le) || !errors.Is(err, codec.ErrLiteralSyntax) {
			t.Errorf("ParseLiteral(%q): %v, want a *LiteralError", tc.lit, err)
			continue
		}
		if le.Pos != tc.pos || !strings.Contains(err.Error(), tc.text) {
			t.Errorf("ParseLiteral(%q): %v; want offset %d and %q", tc.lit, err, tc.pos, tc.text)
		}
	}

	_, err := codec.ParseLiteral(`'\N{NO SUCH CHARACTER}'`)
	var ne *codec.UnknownCharNameError
	if !errors.As(err, &ne) || ne.Name != "NO SUCH CHARACTER" {
		t.Errorf("unknown \\N name: %v, want an *UnknownCharNameError naming it", err)
	}
	if _, err := codec.ParseLiteral("(1, ...)"); !errors.Is(err, codec.ErrUnsupported) {
		t.Errorf("Ellipsis: %v, want ErrUnsupported as well", err)
	}
}
