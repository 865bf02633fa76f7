package xspec

import "errors"

// Errors from ShellSplit.
var (
	ErrUnclosedQuote  = errors.New("no closing quotation")
	ErrTrailingEscape = errors.New("no character after a backslash")
)

// ShellSplit splits s into words with the rules of Python's shlex.split in
// POSIX mode, which execnet applies to python= values: words are
// separated by blanks (space, tab, newline and carriage return); a
// backslash outside quotes takes the next character literally; single
// quotes take everything literally up to the next single quote; inside
// double quotes a backslash escapes only '"' and '\'. There is no
// variable, glob or comment handling. A quoted empty string is an empty
// word.
func ShellSplit(s string) ([]string, error) {
	var (
		words  []string
		cur    []byte
		inWord bool
	)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case ' ', '\t', '\n', '\r':
			if inWord {
				words = append(words, string(cur))
				cur, inWord = cur[:0], false
			}
		case '\\':
			if i+1 >= len(s) {
				return nil, ErrTrailingEscape
			}
			i++
			cur, inWord = append(cur, s[i]), true
		case '\'':
			j := i + 1
			for j < len(s) && s[j] != '\'' {
				j++
			}
			if j >= len(s) {
				return nil, ErrUnclosedQuote
			}
			cur, inWord = append(cur, s[i+1:j]...), true
			i = j
		case '"':
			inWord = true
			j := i + 1
			for ; j < len(s) && s[j] != '"'; j++ {
				if s[j] == '\\' && j+1 < len(s) && (s[j+1] == '"' || s[j+1] == '\\') {
					j++
				}
				cur = append(cur, s[j])
			}
			if j >= len(s) {
				return nil, ErrUnclosedQuote
			}
			i = j
		default:
			cur, inWord = append(cur, c), true
		}
	}
	if inWord {
		words = append(words, string(cur))
	}
	return words, nil
}
