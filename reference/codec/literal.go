package codec

import (
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"unicode/utf8"
)

// ParseLiteral parses a Python literal of the data model, for example
//
//	{(1, 2): [b'x', 1.5j], 'k': frozenset({None})}
//
// It accepts None, True, False; ints (decimal, 0x/0o/0b, underscores,
// any size); floats (1.5, 1e3, .5, inf, nan, float('inf'), float('nan'));
// imaginary literals (2j) and complex sums R+Ij and R-Ij as repr prints
// them ((1-2j)); unary minus and plus on numbers. Numbers get the value
// Python's own evaluation gives them, zero signs included: -2j is
// -(2j), complex(-0.0, -2.0); 1-0j is complex(1, 0.0); -0-1j is
// complex(0.0, -1.0). Like Python's, this does not read back every repr
// exactly: repr prints complex(0, -2) as -2j and complex(-0.0, 1) as
// (-0+1j); write those as 0-2j and -(0.0-1j). str and bytes literals as Python
// writes them: '...', "...", triple-quoted with three ' or three ", the
// prefixes r, u, b, br and rb in either case and order, every escape
// (\N{NAME} included; see UnknownCharNameError) and implicit concatenation
// of adjacent literals ('a' "b" is 'ab'); tuples, lists, dicts, set
// literals, set(), frozenset(), frozenset(X) for a set, list or tuple
// literal X; and <Channel id=N> as printed by Repr. Whitespace, comments
// and line breaks follow Python's rules (a line break outside brackets ends
// the expression unless escaped with a backslash).
//
// f-strings and ... (Ellipsis) are rejected: the first is evaluated at run
// time, the second is a value execnet cannot serialize (the error then also
// matches ErrUnsupported). Nesting is limited to DefaultMaxDepth. Errors
// match ErrLiteralSyntax and are *LiteralError with the byte offset.
func ParseLiteral(s string) (Value, error) {
	p := litParser{s: s}
	if i := strings.IndexByte(s, 0); i >= 0 {
		return nil, p.errAt(i, nil, "a NUL byte cannot appear in Python source")
	}
	if err := p.skipLeading(); err != nil {
		return nil, err
	}
	v, err := p.value(0)
	if err != nil {
		return nil, err
	}
	if err := p.skipTrailing(); err != nil {
		return nil, err
	}
	return v, nil
}

// pyNaN is the NaN that CPython's float('nan') holds (Go's math.NaN has a
// different payload).
var pyNaN = math.Float64frombits(0x7ff8000000000000)

type litParser struct {
	s    string
	pos  int
	nest int // open brackets: line breaks inside them are whitespace
	// contEnd is the offset just after the last backslash continuation
	// that skipSpace passed.
	contEnd int
}

func (p *litParser) errf(format string, args ...any) error {
	return &LiteralError{Pos: p.pos, Detail: fmt.Sprintf(format, args...)}
}

func (p *litParser) errAt(pos int, err error, format string, args ...any) error {
	return &LiteralError{Pos: pos, Err: err, Detail: fmt.Sprintf(format, args...)}
}

// what describes the input at the current position for error messages.
func (p *litParser) what() string {
	if p.pos >= len(p.s) {
		return "end of input"
	}
	r, _ := utf8.DecodeRuneInString(p.s[p.pos:])
	return strconv.QuoteRune(r)
}

// skipSpace skips what separates two tokens: blanks, comments, a backslash
// before a line break, and line breaks themselves inside brackets.
func (p *litParser) skipSpace() {
	for p.pos < len(p.s) {
		switch p.s[p.pos] {
		case ' ', '\t', '\f':
			p.pos++
		case '\n', '\r':
			if p.nest == 0 {
				return
			}
			p.pos++
		case '#':
			for p.pos < len(p.s) && p.s[p.pos] != '\n' && p.s[p.pos] != '\r' {
				p.pos++
			}
		case '\\':
			n := lineBreakLen(p.s[p.pos+1:])
			if n == 0 {
				return
			}
			p.pos += 1 + n
			p.contEnd = p.pos
		default:
			return
		}
	}
}

// lineBreakLen returns the length of the line break ("\n", "\r\n" or "\r")
// that s starts with, or 0.
func lineBreakLen(s string) int {
	switch {
	case strings.HasPrefix(s, "\r\n"):
		return 2
	case s != "" && (s[0] == '\n' || s[0] == '\r'):
		return 1
	}
	return 0
}

// skipTrailing accepts what may follow the expression on its line
// (blanks, a comment, backslash continuations) and then only blank lines.
func (p *litParser) skipTrailing() error {
	p.skipSpace() // at nest 0: stops at a line break
	if p.pos >= len(p.s) {
		if p.contEnd == len(p.s) {
			return p.errAt(strings.LastIndexByte(p.s, '\\'), nil, "unexpected end of input after a line continuation")
		}
		return nil
	}
	n := lineBreakLen(p.s[p.pos:])
	switch {
	case n == 0 && p.s[p.pos] == '\\':
		return p.errf("unexpected character after a line continuation backslash")
	case n == 0:
		return p.errf("unexpected %s after the value", p.what())
	}
	p.pos += n
	for p.pos < len(p.s) {
		blank, err := p.lineStart()
		if err != nil {
			return err
		}
		if !blank && p.pos < len(p.s) {
			return p.errf("unexpected %s after the value (a line break outside brackets ends the expression)", p.what())
		}
	}
	return nil
}

// skipLeading skips what may precede the expression: the blanks that eval
// strips from the start, then blank lines.
func (p *litParser) skipLeading() error {
	for p.pos < len(p.s) && (p.s[p.pos] == ' ' || p.s[p.pos] == '\t') {
		p.pos++
	}
	for {
		blank, err := p.lineStart()
		if err != nil || !blank {
			return err
		}
	}
}

// lineStart reads the start of a physical line outside brackets as
// Python's tokenizer does. It measures the indentation (a tab advances to
// the next multiple of 8, a form feed resets it to 0; when the line begins
// with backslash continuations, the column of the first one counts, except
// that CPython 3.11 takes column 0 there for "not set") and consumes the
// line if it is blank (blanks, continuations, a comment). The expression
// has no enclosing block, so any indentation of a line that is not blank
// is an error, even at the end of the input.
func (p *litParser) lineStart() (blank bool, err error) {
	start := p.pos
	col, contCol := 0, 0
loop:
	for p.pos < len(p.s) {
		switch p.s[p.pos] {
		case ' ':
			col++
		case '\t':
			col = (col/8 + 1) * 8
		case '\f':
			col = 0
		case '\\':
			n := lineBreakLen(p.s[p.pos+1:])
			if n == 0 {
				return false, p.errf("unexpected character after a line continuation backslash")
			}
			if contCol == 0 {
				contCol = col
			}
			if p.pos+1+n == len(p.s) {
				return false, p.errf("unexpected end of input after a line continuation")
			}
			p.pos += n
		default:
			break loop
		}
		p.pos++
	}
	if p.pos < len(p.s) && (p.s[p.pos] == '#' || lineBreakLen(p.s[p.pos:]) > 0) {
		for p.pos < len(p.s) && lineBreakLen(p.s[p.pos:]) == 0 {
			p.pos++
		}
		p.pos += lineBreakLen(p.s[p.pos:])
		return true, nil
	}
	if contCol == 0 {
		contCol = col
	}
	if contCol != 0 {
		return false, p.errAt(start, nil, "unexpected indent")
	}
	return false, nil
}

func (p *litParser) peek() byte {
	if p.pos < len(p.s) {
		return p.s[p.pos]
	}
	return 0
}

func (p *litParser) expect(c byte) error {
	p.skipSpace()
	if p.peek() != c {
		return p.errf("expected %q, found %s", c, p.what())
	}
	p.pos++
	return nil
}

// value parses a full value: a unary expression optionally followed by
// "+ Ij" or "- Ij" to form a complex number.
func (p *litParser) value(depth int) (Value, error) {
	start := p.pos
	v, err := p.unary(depth)
	if err != nil {
		return nil, err
	}
	re, isReal := realPart(v)
	if !isReal {
		return v, nil
	}
	save := p.pos
	p.skipSpace()
	op := p.peek()
	if op != '+' && op != '-' {
		p.pos = save
		return v, nil
	}
	p.pos++
	p.skipSpace()
	imStart := p.pos
	w, err := p.atom(depth)
	if err != nil {
		return nil, err
	}
	c, ok := w.(Complex)
	if !ok || real(c) != 0 || math.Signbit(real(c)) || !p.wasImag(imStart) {
		return nil, p.errAt(start, nil, "only a complex literal R+Ij or R-Ij may use binary %q", op)
	}
	if b, ok := v.(BigInt); ok && math.IsInf(re, 0) {
		return nil, p.errAt(start, nil, "int too large to convert to float (%d digits)", len(b.V.String()))
	}
	// Python (3.11) adds a real and a complex as complex(R, 0.0) and the
	// complex, part by part: 0.0 and -0.0 sums follow IEEE rules, so
	// -0.0+1j has a real +0.0 and 1-0j an imaginary +0.0.
	if op == '-' {
		return Complex(complex(re-real(c), 0-imag(c))), nil
	}
	return Complex(complex(re+real(c), 0+imag(c))), nil
}

// wasImag reports whether the atom that started at pos was an imaginary
// number literal (not a parenthesized expression).
func (p *litParser) wasImag(pos int) bool {
	c := p.s[pos]
	return c == '.' || (c >= '0' && c <= '9') || strings.HasPrefix(p.s[pos:], "inf") || strings.HasPrefix(p.s[pos:], "nan")
}

// realPart returns v as a float64 if it is a real number.
func realPart(v Value) (float64, bool) {
	switch x := v.(type) {
	case Int:
		return float64(x), true
	case Float:
		return float64(x), true
	case BigInt:
		f, _ := new(big.Float).SetInt(x.V).Float64()
		return f, true
	}
	return 0, false
}

func (p *litParser) unary(depth int) (Value, error) {
	p.skipSpace()
	start := p.pos
	if depth > DefaultMaxDepth {
		return nil, p.errAt(p.pos, ErrLimit, "nesting deeper than %d", DefaultMaxDepth)
	}
	switch p.peek() {
	case '-', '+':
		neg := p.peek() == '-'
		p.pos++
		p.skipSpace()
		v, err := p.unary(depth + 1)
		if err != nil {
			return nil, err
		}
		return negate(v, neg, func() error { return p.errAt(start, nil, "unary %c needs a number", p.s[start]) })
	}
	return p.atom(depth)
}

func negate(v Value, neg bool, bad func() error) (Value, error) {
	switch x := v.(type) {
	case Int:
		if !neg {
			return x, nil
		}
		if x == math.MinInt64 {
			return NewBigInt(new(big.Int).Neg(big.NewInt(int64(x)))), nil
		}
		return -x, nil
	case BigInt:
		if !neg {
			return x, nil
		}
		return NewBigInt(new(big.Int).Neg(x.V)), nil
	case Float:
		if neg {
			return -x, nil
		}
		return x, nil
	case Complex:
		if neg {
			return Complex(complex(-real(x), -imag(x))), nil
		}
		return x, nil
	case Bool:
		i := Int(0)
		if x {
			i = 1
		}
		if neg {
			i = -i
		}
		return i, nil
	}
	return nil, bad()
}

func (p *litParser) atom(depth int) (Value, error) {
	p.skipSpace()
	if depth > DefaultMaxDepth {
		return nil, p.errAt(p.pos, ErrLimit, "nesting deeper than %d", DefaultMaxDepth)
	}
	if p.pos >= len(p.s) {
		return nil, p.errf("expected a value, found end of input")
	}
	c := p.s[p.pos]
	if c == '(' || c == '[' || c == '{' {
		p.nest++
		defer func() { p.nest-- }()
	}
	switch {
	case c == '(':
		return p.tuple(depth)
	case c == '[':
		p.pos++
		elems, err := p.elements(depth, ']')
		if err != nil {
			return nil, err
		}
		return List(elems), nil
	case c == '{':
		return p.braces(depth)
	case p.atString():
		return p.stringLits()
	case strings.HasPrefix(p.s[p.pos:], "..."):
		return nil, p.errAt(p.pos, ErrUnsupported, "... (Ellipsis) is a Python literal, but execnet cannot serialize it")
	case c == '.' || (c >= '0' && c <= '9'):
		return p.number()
	case c == '<':
		return p.channel()
	case c == '_' || (c|0x20 >= 'a' && c|0x20 <= 'z'):
		return p.name(depth)
	}
	return nil, p.errf("expected a value, found %s", p.what())
}

// elements parses comma-separated values up to the closing byte, allowing
// a trailing comma. The opening byte has been consumed.
func (p *litParser) elements(depth int, closing byte) ([]Value, error) {
	elems := []Value{}
	for {
		p.skipSpace()
		if p.peek() == closing {
			p.pos++
			return elems, nil
		}
		v, err := p.value(depth + 1)
		if err != nil {
			return nil, err
		}
		elems = append(elems, v)
		p.skipSpace()
		switch p.peek() {
		case ',':
			p.pos++
		case closing:
			p.pos++
			return elems, nil
		default:
			return nil, p.errf("expected ',' or %q, found %s", closing, p.what())
		}
	}
}

func (p *litParser) tuple(depth int) (Value, error) {
	p.pos++ // '('
	p.skipSpace()
	if p.peek() == ')' {
		p.pos++
		return Tuple{}, nil
	}
	first, err := p.value(depth + 1)
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	switch p.peek() {
	case ')':
		p.pos++
		return first, nil // parenthesized expression
	case ',':
		p.pos++
	default:
		return nil, p.errf("expected ',' or ')', found %s", p.what())
	}
	rest, err := p.elements(depth, ')')
	if err != nil {
		return nil, err
	}
	return Tuple(append([]Value{first}, rest...)), nil
}

func (p *litParser) braces(depth int) (Value, error) {
	open := p.pos
	p.pos++ // '{'
	p.skipSpace()
	d := &Dict{}
	if p.peek() == '}' {
		p.pos++
		return d, nil
	}
	keyPos := p.pos
	first, err := p.value(depth + 1)
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.peek() != ':' {
		// a set literal
		var elems []Value
		switch p.peek() {
		case '}':
			p.pos++
			elems = []Value{first}
		case ',':
			p.pos++
			rest, err := p.elements(depth, '}')
			if err != nil {
				return nil, err
			}
			elems = append([]Value{first}, rest...)
		default:
			return nil, p.errf("expected ',', ':' or '}', found %s", p.what())
		}
		set, err := NewSet(elems...)
		if err != nil {
			return nil, p.errAt(open, ErrUnhashable, "set element: %v", err)
		}
		return set, nil
	}
	for {
		p.pos++ // ':'
		val, err := p.value(depth + 1)
		if err != nil {
			return nil, err
		}
		if err := d.Set(first, val); err != nil {
			return nil, p.errAt(keyPos, ErrUnhashable, "dict key: %v", err)
		}
		p.skipSpace()
		switch p.peek() {
		case '}':
			p.pos++
			return d, nil
		case ',':
			p.pos++
		default:
			return nil, p.errf("expected ',' or '}', found %s", p.what())
		}
		p.skipSpace()
		if p.peek() == '}' {
			p.pos++
			return d, nil
		}
		keyPos = p.pos
		if first, err = p.value(depth + 1); err != nil {
			return nil, err
		}
		if err := p.expect(':'); err != nil {
			return nil, err
		}
		p.pos--
	}
}

func (p *litParser) name(depth int) (Value, error) {
	start := p.pos
	for p.pos < len(p.s) {
		c := p.s[p.pos]
		if c == '_' || (c >= '0' && c <= '9') || (c|0x20 >= 'a' && c|0x20 <= 'z') {
			p.pos++
			continue
		}
		break
	}
	word := p.s[start:p.pos]
	switch word {
	case "None":
		return None{}, nil
	case "True":
		return Bool(true), nil
	case "False":
		return Bool(false), nil
	case "inf":
		return p.maybeImag(math.Inf(1))
	case "nan":
		return p.maybeImag(pyNaN)
	case "infj", "infJ":
		return Complex(complex(0, math.Inf(1))), nil
	case "nanj", "nanJ":
		return Complex(complex(0, pyNaN)), nil
	case "Ellipsis":
		return nil, p.errAt(start, ErrUnsupported, "Ellipsis is a Python value, but execnet cannot serialize it")
	case "set", "frozenset":
		if err := p.expect('('); err != nil {
			return nil, err
		}
		p.nest++
		defer func() { p.nest-- }()
		p.skipSpace()
		var elems []Value
		if p.peek() == ')' {
			p.pos++
		} else {
			argPos := p.pos
			arg, err := p.value(depth + 1)
			if err != nil {
				return nil, err
			}
			switch x := arg.(type) {
			case Set:
				elems = x
			case List:
				elems = x
			case Tuple:
				elems = x
			case FrozenSet:
				elems = x
			case *Dict:
				if x.Len() != 0 {
					return nil, p.errAt(argPos, nil, "%s() of a dict is not supported", word)
				}
			default:
				return nil, p.errAt(argPos, nil, "%s() needs a set, list or tuple literal", word)
			}
			if err := p.expect(')'); err != nil {
				return nil, err
			}
		}
		set, err := dedupe(elems)
		if err != nil {
			return nil, p.errAt(start, ErrUnhashable, "%s element: %v", word, err)
		}
		if word == "set" {
			return Set(set), nil
		}
		return FrozenSet(set), nil
	case "float":
		if err := p.expect('('); err != nil {
			return nil, err
		}
		p.nest++
		defer func() { p.nest-- }()
		p.skipSpace()
		argPos := p.pos
		if !p.atString() {
			return nil, p.errf("float() needs a string literal such as 'inf'")
		}
		arg, err := p.stringLits()
		if err != nil {
			return nil, err
		}
		var text string
		switch x := arg.(type) {
		case Str:
			text = strings.TrimSpace(string(x))
		case Bytes: // float(b'1.5') reads ASCII text too
			text = strings.TrimSpace(string(x))
		}
		neg := strings.HasPrefix(text, "-")
		unsigned := strings.TrimLeft(text, "+-")
		f, perr := strconv.ParseFloat(unsigned, 64)
		if perr != nil && !isRangeErr(perr) || len(text)-len(unsigned) > 1 || !validFloatArg(unsigned) {
			return nil, p.errAt(argPos, nil, "float() of %s", Repr(arg))
		}
		if math.IsNaN(f) {
			f = pyNaN
		}
		if neg {
			f = -f
		}
		if err := p.expect(')'); err != nil {
			return nil, err
		}
		return Float(f), nil
	}
	return nil, p.errAt(start, nil, "unknown name %q", word)
}

// validFloatArg accepts what Python's float() accepts after the sign:
// decimal literals (with underscores between digits), inf, infinity, nan.
func validFloatArg(s string) bool {
	switch strings.ToLower(s) {
	case "inf", "infinity", "nan":
		return true
	}
	return validUnderscores(s) && validFloatText(strings.ReplaceAll(s, "_", ""))
}

func isRangeErr(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

// maybeImag returns f, or complex(0, f) when a 'j' follows.
func (p *litParser) maybeImag(f float64) (Value, error) {
	if c := p.peek(); c == 'j' || c == 'J' {
		p.pos++
		return Complex(complex(0, f)), nil
	}
	return Float(f), nil
}

func (p *litParser) channel() (Value, error) {
	const prefix = "<Channel id="
	start := p.pos
	if !strings.HasPrefix(p.s[p.pos:], prefix) {
		return nil, p.errf("expected a value, found %s", p.what())
	}
	p.pos += len(prefix)
	end := strings.IndexByte(p.s[p.pos:], '>')
	if end < 0 {
		return nil, p.errAt(start, nil, "unterminated <Channel id=N>")
	}
	id, err := strconv.ParseInt(p.s[p.pos:p.pos+end], 10, 32)
	if err != nil {
		return nil, p.errAt(p.pos, nil, "channel id %q is not an int32", p.s[p.pos:p.pos+end])
	}
	p.pos += end + 1
	return ChannelRef(id), nil
}

// number parses an int, float or imaginary literal.
func (p *litParser) number() (Value, error) {
	start := p.pos
	s := p.s
	if s[p.pos] == '0' && p.pos+1 < len(s) {
		base := 0
		switch s[p.pos+1] | 0x20 {
		case 'x':
			base = 16
		case 'o':
			base = 8
		case 'b':
			base = 2
		}
		if base != 0 {
			p.pos += 2
			for p.pos < len(s) && (isHexDigit(s[p.pos]) || s[p.pos] == '_') {
				p.pos++
			}
			return p.intLit(start, s[start+2:p.pos], base)
		}
	}
	isFloat := false
	for p.pos < len(s) {
		c := s[p.pos]
		switch {
		case c >= '0' && c <= '9', c == '_':
			p.pos++
		case c == '.':
			isFloat = true
			p.pos++
		case c == 'e' || c == 'E':
			isFloat = true
			p.pos++
			if p.pos < len(s) && (s[p.pos] == '+' || s[p.pos] == '-') {
				p.pos++
			}
		default:
			goto done
		}
	}
done:
	text := s[start:p.pos]
	imagLit := false
	if c := p.peek(); c == 'j' || c == 'J' {
		p.pos++
		imagLit = true
	}
	if c := p.peek(); c == '_' || (c >= '0' && c <= '9') || (c|0x20 >= 'a' && c|0x20 <= 'z') {
		return nil, p.errf("invalid number literal %q", s[start:p.pos+1])
	}
	if !validUnderscores(text) {
		return nil, p.errAt(start, nil, "invalid underscores in number %q", text)
	}
	clean := strings.ReplaceAll(text, "_", "")
	if !isFloat && !imagLit {
		if len(clean) > 1 && clean[0] == '0' && strings.Trim(clean, "0") != "" {
			return nil, p.errAt(start, nil, "leading zeros in decimal integer %q", text)
		}
		return p.intLit(start, text, 10)
	}
	f, err := strconv.ParseFloat(clean, 64)
	if err != nil && !isRangeErr(err) || !validFloatText(clean) {
		return nil, p.errAt(start, nil, "invalid number literal %q", text)
	}
	if imagLit {
		return Complex(complex(0, f)), nil
	}
	return Float(f), nil
}

// validFloatText rejects forms Go accepts but Python does not (hex floats,
// "inf" spelled in digits, a bare exponent).
func validFloatText(s string) bool {
	digits := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			digits++
		case c == '.':
		case c == 'e' || c == 'E':
			if digits == 0 {
				return false
			}
			rest := s[i+1:]
			if rest != "" && (rest[0] == '+' || rest[0] == '-') {
				rest = rest[1:]
			}
			if rest == "" {
				return false
			}
			for j := 0; j < len(rest); j++ {
				if rest[j] < '0' || rest[j] > '9' {
					return false
				}
			}
			return true
		default:
			return false
		}
	}
	return digits > 0
}

func validUnderscores(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] != '_' {
			continue
		}
		if i == 0 || i == len(s)-1 || !isHexDigit(s[i-1]) || !isHexDigit(s[i+1]) {
			return false
		}
	}
	return true
}

func isHexDigit(c byte) bool {
	return (c >= '0' && c <= '9') || (c|0x20 >= 'a' && c|0x20 <= 'f')
}

func (p *litParser) intLit(start int, digits string, base int) (Value, error) {
	if base != 10 && strings.HasPrefix(digits, "_") {
		digits = digits[1:] // Python allows 0x_ff
	}
	if digits == "" || !validUnderscores(digits) {
		return nil, p.errAt(start, nil, "invalid integer literal %q", p.s[start:p.pos])
	}
	clean := strings.ReplaceAll(digits, "_", "")
	if len(clean) > maxLiteralDigits {
		return nil, p.errAt(start, ErrLimit, "integer of %d digits exceeds %d", len(clean), maxLiteralDigits)
	}
	x, ok := new(big.Int).SetString(clean, base)
	if !ok {
		return nil, p.errAt(start, nil, "invalid base-%d integer literal %q", base, p.s[start:p.pos])
	}
	return NewBigInt(x), nil
}

// maxLiteralDigits bounds integer literals (conversion cost is superlinear).
const maxLiteralDigits = 100_000

// atString reports whether a string literal, with or without a prefix,
// starts at the current position: up to two letters and then a quote.
func (p *litParser) atString() bool {
	_, ok := p.stringPrefix()
	return ok
}

// stringPrefix returns the letters before the quote of a string literal at
// the current position (up to three, so that bad prefixes get a clear
// error), and whether there is one.
func (p *litParser) stringPrefix() (string, bool) {
	i := p.pos
	for i < len(p.s) && i-p.pos < 3 && (p.s[i]|0x20 >= 'a' && p.s[i]|0x20 <= 'z') {
		i++
	}
	if i < len(p.s) && (p.s[i] == '\'' || p.s[i] == '"') {
		return p.s[p.pos:i], true
	}
	return "", false
}

// stringLits parses one string literal and those adjacent to it, which
// Python joins into one value; they must be all str or all bytes.
func (p *litParser) stringLits() (Value, error) {
	first := p.pos
	out, isBytes, err := p.stringLit(nil)
	if err != nil {
		return nil, err
	}
	for {
		save := p.pos
		p.skipSpace()
		if !p.atString() {
			p.pos = save
			break
		}
		at := p.pos
		var more bool
		if out, more, err = p.stringLit(out); err != nil {
			return nil, err
		}
		if more != isBytes {
			return nil, p.errAt(at, nil, "cannot join bytes and str literals (the literal at offset %d is %s)", first, kindWord(isBytes))
		}
	}
	if isBytes {
		return Bytes(out), nil
	}
	return Str(out), nil
}

func kindWord(isBytes bool) string {
	if isBytes {
		return "bytes"
	}
	return "str"
}

// stringLit parses one string literal with its prefix, appends its value
// (UTF-8 text, or the bytes) to out and reports whether it was bytes.
// As Python does, it first finds where the literal ends (a backslash
// always protects the next character, even in a raw literal) and then
// decodes the body.
func (p *litParser) stringLit(out []byte) ([]byte, bool, error) {
	start := p.pos
	prefix, _ := p.stringPrefix()
	raw, isBytes := false, false
	switch strings.ToLower(prefix) {
	case "", "u":
	case "r":
		raw = true
	case "b":
		isBytes = true
	case "br", "rb":
		raw, isBytes = true, true
	case "f", "rf", "fr":
		return nil, false, p.errAt(start, nil, "f-strings are not literals (Python evaluates them when it runs them); write a plain string")
	default:
		return nil, false, p.errAt(start, nil, "invalid string prefix %q", prefix)
	}
	p.pos += len(prefix)
	q := p.s[p.pos]
	closing := p.s[p.pos : p.pos+1]
	if strings.HasPrefix(p.s[p.pos:], strings.Repeat(closing, 3)) {
		closing = strings.Repeat(closing, 3)
	}
	p.pos += len(closing)
	bodyStart := p.pos
	for {
		if p.pos >= len(p.s) {
			if len(closing) == 3 {
				return nil, false, p.errAt(start, nil, "unterminated triple-quoted string literal")
			}
			return nil, false, p.errAt(start, nil, "unterminated string literal")
		}
		c := p.s[p.pos]
		if c == '\\' {
			p.pos += 1 + max(1, lineBreakLen(p.s[p.pos+1:]))
			continue
		}
		if c == q && strings.HasPrefix(p.s[p.pos:], closing) {
			break
		}
		if (c == '\n' || c == '\r') && len(closing) == 1 {
			return nil, false, p.errAt(start, nil, "unterminated string literal (a line break needs a triple-quoted string or an escape)")
		}
		p.pos++
	}
	bodyEnd := p.pos
	p.pos = bodyStart
	if out == nil {
		out = []byte{}
	}
	var err error
	if out, err = p.decodeBody(out, bodyEnd, raw, isBytes); err != nil {
		return nil, false, err
	}
	p.pos = bodyEnd + len(closing)
	return out, isBytes, nil
}

// decodeBody decodes the body of a string literal from the current
// position to end, appending to out. Line breaks in the body become "\n",
// as Python reads "\r\n" and "\r" in source.
func (p *litParser) decodeBody(out []byte, end int, raw, isBytes bool) ([]byte, error) {
	for p.pos < end {
		c := p.s[p.pos]
		switch {
		case c == '\r' || c == '\n':
			out = append(out, '\n')
			p.pos += lineBreakLen(p.s[p.pos:end])
		case c == '\\' && !raw:
			var err error
			if out, err = p.escape(out, end, isBytes); err != nil {
				return nil, err
			}
		case c >= utf8.RuneSelf:
			r, n := utf8.DecodeRuneInString(p.s[p.pos:end])
			if r == utf8.RuneError && n == 1 {
				return nil, p.errf("invalid UTF-8 in string literal")
			}
			if isBytes {
				return nil, p.errf("bytes can only contain ASCII literal characters (use \\x escapes)")
			}
			out = append(out, p.s[p.pos:p.pos+n]...)
			p.pos += n
		default:
			out = append(out, c)
			p.pos++
		}
	}
	return out, nil
}

// escape decodes the backslash escape at the current position of a
// literal body that ends at end.
func (p *litParser) escape(out []byte, end int, isBytes bool) ([]byte, error) {
	at := p.pos
	p.pos++ // backslash
	if p.pos >= end {
		return nil, p.errAt(at, nil, "unterminated escape")
	}
	if n := lineBreakLen(p.s[p.pos:end]); n > 0 {
		p.pos += n // a backslash before a line break joins the lines
		return out, nil
	}
	c := p.s[p.pos]
	p.pos++
	switch c {
	case '\\', '\'', '"':
		return append(out, c), nil
	case 'a':
		return append(out, 7), nil
	case 'b':
		return append(out, 8), nil
	case 'f':
		return append(out, 12), nil
	case 'n':
		return append(out, '\n'), nil
	case 'r':
		return append(out, '\r'), nil
	case 't':
		return append(out, '\t'), nil
	case 'v':
		return append(out, 11), nil
	case '0', '1', '2', '3', '4', '5', '6', '7':
		v := int(c - '0')
		for i := 0; i < 2 && p.pos < end && p.s[p.pos] >= '0' && p.s[p.pos] <= '7'; i++ {
			v = v*8 + int(p.s[p.pos]-'0')
			p.pos++
		}
		if isBytes {
			return append(out, byte(v)), nil // Python keeps the low 8 bits of \400 and above
		}
		return utf8.AppendRune(out, rune(v)), nil
	case 'x':
		v, err := p.hexEscape(at, 2, end)
		if err != nil {
			return nil, err
		}
		if isBytes {
			return append(out, byte(v)), nil
		}
		return utf8.AppendRune(out, rune(v)), nil
	case 'u', 'U':
		if isBytes {
			break
		}
		n := 4
		if c == 'U' {
			n = 8
		}
		v, err := p.hexEscape(at, n, end)
		if err != nil {
			return nil, err
		}
		if v > utf8.MaxRune {
			return nil, p.errAt(at, nil, "\\U escape %x is beyond U+10FFFF", v)
		}
		if v >= 0xd800 && v <= 0xdfff {
			return nil, p.errAt(at, nil, "lone surrogate \\u%04x cannot be UTF-8 encoded", v)
		}
		return utf8.AppendRune(out, rune(v)), nil
	case 'N':
		if isBytes {
			break
		}
		closeAt := -1
		if p.pos < end && p.s[p.pos] == '{' {
			closeAt = strings.IndexByte(p.s[p.pos:end], '}')
		}
		if closeAt < 2 {
			return nil, p.errAt(at, nil, "malformed \\N character escape (want \\N{NAME})")
		}
		name := p.s[p.pos+1 : p.pos+closeAt]
		r, ok := lookupCharName(name)
		if !ok {
			return nil, p.errAt(at, &UnknownCharNameError{Name: name}, "unknown Unicode character name %q in \\N{...}", name)
		}
		p.pos += closeAt + 1
		return utf8.AppendRune(out, r), nil
	}
	// Python keeps unknown escapes (and \N, \u, \U in bytes) as they are.
	p.pos--
	return append(out, '\\'), nil
}

func (p *litParser) hexEscape(at, n, end int) (uint32, error) {
	if p.pos+n > end {
		return 0, p.errAt(at, nil, "truncated \\%c escape", p.s[at+1])
	}
	var v uint32
	for i := 0; i < n; i++ {
		c := p.s[p.pos+i]
		if !isHexDigit(c) {
			return 0, p.errAt(at, nil, "truncated \\%c escape", p.s[at+1])
		}
		d := uint32(c - '0')
		if c > '9' {
			d = uint32(c|0x20-'a') + 10
		}
		v = v<<4 | d
	}
	p.pos += n
	return v, nil
}
