package transport

import (
	"strings"
	"unicode/utf8"
)

// PyStringLiteral returns a Python string literal, in single quotes and
// pure ASCII, that Python 3's eval turns back into s. Printable ASCII
// stands for itself except the backslash and the single quote; tab,
// newline and carriage return use their short escapes; other control
// bytes and DEL use \xNN; other code points use \xNN, \uNNNN or
// \UNNNNNNNN. A byte that is not part of valid UTF-8 becomes the lone
// surrogate \udcNN, the value Python's "surrogateescape" error handler
// gives it, so no input is silently lost.
//
// The result never contains a newline, so it fits execnet's one-line
// bootstrap (the worker runs exec(eval(sys.stdin.readline()))).
func PyStringLiteral(s string) string {
	const hex = "0123456789abcdef"
	var b strings.Builder
	b.Grow(len(s) + len(s)/8 + 2)
	b.WriteByte('\'')
	esc := func(prefix string, v rune, digits int) {
		b.WriteString(prefix)
		for i := digits - 1; i >= 0; i-- {
			b.WriteByte(hex[(v>>(4*uint(i)))&15])
		}
	}
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '\\' || c == '\'':
				b.WriteByte('\\')
				b.WriteByte(c)
			case c == '\t':
				b.WriteString(`\t`)
			case c == '\n':
				b.WriteString(`\n`)
			case c == '\r':
				b.WriteString(`\r`)
			case c < 0x20 || c == 0x7f:
				esc(`\x`, rune(c), 2)
			default:
				b.WriteByte(c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			esc(`\u`, 0xdc00|rune(c), 4)
		case r <= 0xff:
			esc(`\x`, r, 2)
		case r <= 0xffff:
			esc(`\u`, r, 4)
		default:
			esc(`\U`, r, 8)
		}
		i += size
	}
	b.WriteByte('\'')
	return b.String()
}
