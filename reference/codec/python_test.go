package codec_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"math"
	"math/rand"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/leanovate/gopter"

	"github.com/execnet-conform/execnet-conform/internal/peers"
	"github.com/execnet-conform/execnet-conform/reference/codec"
	"github.com/execnet-conform/execnet-conform/reference/codec/codectest"
)

// evalScript reads JSON-encoded literals, one per line, evaluates each with
// only the names a repr can contain, and answers a JSON pair per line:
// [repr(value), execnet dumps_internal(value) as hex], or ["!ERR", name].
const evalScript = `
import sys, json
from execnet import gateway_base as g
inf = float("inf"); nan = float("nan")
names = {"__builtins__": {}, "float": float, "set": set, "frozenset": frozenset,
         "inf": inf, "nan": nan, "infj": complex(0, inf), "nanj": complex(0, nan)}
out = []
for line in sys.stdin:
    src = json.loads(line)
    try:
        v = eval(src, names)
    except Exception as e:
        out.append(["!ERR", type(e).__name__]); continue
    try:
        h = g.dumps_internal(v).hex()
    except Exception as e:
        h = "!" + type(e).__name__
    out.append([repr(v), h])
sys.stdout.write("\n".join(json.dumps(o) for o in out) + "\n")
`

// pyEval runs evalScript under CPython on the literals.
func pyEval(t *testing.T, literals []string) [][2]string {
	t.Helper()
	py := peers.CPython(t)
	var in bytes.Buffer
	for _, l := range literals {
		b, _ := json.Marshal(l)
		in.Write(b)
		in.WriteByte('\n')
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, "-W", "ignore", "-c", evalScript)
	cmd.Stdin = &in
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python: %v: %s", err, stderr.String())
	}
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(lines) != len(literals) {
		t.Fatalf("python answered %d lines for %d literals", len(lines), len(literals))
	}
	res := make([][2]string, len(lines))
	for i, l := range lines {
		if err := json.Unmarshal([]byte(l), &res[i]); err != nil {
			t.Fatalf("bad python line %q: %v", l, err)
		}
	}
	return res
}

// handLiterals exercise the literal grammar and repr corner cases. Each
// one means the same value in Python and in ParseLiteral.
var handLiterals = []string{
	"None", "True", "False", "0", "-0", "7", "-7", "0x_ff", "0XFF", "0o17", "0b1010", "1_000_000",
	"2147483647", "2147483648", "-2147483648", "-2147483649", "9223372036854775807",
	"-9223372036854775808", "9223372036854775808", "-9223372036854775809",
	"123456789012345678901234567890123456789012345678901234567890",
	"0.0", "-0.0", "1.5", "-1.5", ".5", "5.", "1e3", "1E-5", "1e16", "1e15", "123456789012345678.0",
	"0.0001", "0.00001", "1e22", "1.7976931348623157e+308", "5e-324", "2.2250738585072014e-308",
	"0.1", "0.30000000000000004", "1e400", "-1e400", "inf", "-inf", "nan", "float('inf')",
	"float('-inf')", "float('nan')", "float(' 1.25 ')", "-nan", "float('-nan')", "float('+Infinity')", "float('1_0.5')",
	"1j", "1.5j", "1e300j", "(1+2j)", "(1-2j)", "(-1.5+2.5j)", "(inf+1j)", "(1+infj)", "(nan+nanj)", "(1e+16-1e-05j)",
	"''", "'a'", "\"a\"", "'\\''", "'\"'", "'\\'\"'", "\"it's\"", "'\\\\'", "'\\t\\n\\r\\x0b\\x0c\\a\\b\\0'",
	"'\\x00\\x1f\\x7f\\x80\\x9f\\xa0\\xad\\xff'", "'\\u0100\\u0378\\u2028\\u2029\\u200b\\ufeff\\ue000\\uffff'",
	"'\\U0001F600\\U000e0001\\U0010ffff\\U0001d400\\U00031350'", "'é中😀'", "'e\\u0301'", "'\\101\\1012\\7'",
	"'a\\qb'", "'line\\\ncont'",
	"b''", "b'a'", "b'\\x00\\xff'", "b\"'\"", "b'\"'", "b'\\'\"'", "b'\\t\\n\\r\\\\'", "b'\\u1234'", "b'\\101'",
	"()", "(1,)", "(1, 2)", "(1, 2,)", "((),)", "(((1,),),)", "(1)", "[]", "[1]", "[1, 2,]", "[[], [[]]]",
	"{}", "{'a': 1}", "{'a': 1, 'a': 2}", "{1: 'a', 1.0: 'b', True: 'c'}", "{(1, 2): [b'x', 1.5j], 'k': frozenset({None})}",
	"{1}", "{1,}", "{1, 1.0, True}", "set()", "frozenset()", "frozenset({1})", "frozenset([2])", "frozenset((3,))",
	"set([4])", "{frozenset(): set()}", "[{}, {1: {2: {3: ()}}}]", "  [ 1 , 2 ]  ", "{'x': -1, 'y': -2.5, 'z': -inf}",
	"(1,-1)", "[-0.0, 0.0]", "{0.5: 1, -0.5: 2}", "(None, True, False)",
	// unary minus and complex sums, zero signs as Python's arithmetic gives them
	"-1j", "- 1j", "(-1j)", "[-1j]", "-(1j)", "+1j", "+-1j", "-0j", "0j", "-2.5j", "-1e400j", "-(1+2j)", "-(1-2j)",
	"-0-1j", "(-0-1j)", "-0.0-1j", "0.0-1j", "0-2j", "1-0j", "(1-0j)", "-1-0j", "(-0-0j)", "0-0j", "-0.0+0j",
	"-0.0-0j", "-(0.0-1j)", "-(-0.0)", "-(0.0)", "-(-0j)", "(-0+1j)", "1e400-1e400j", "(-1.5-0j)",
}

func TestReprAndDumpsMatchCPython(t *testing.T) {
	var lits []string
	for _, l := range handLiterals {
		if l != "" {
			lits = append(lits, l)
		}
	}
	// Generated values whose repr Python evaluates back to the same value:
	// no multi-element sets (Python orders them itself), no complex with a
	// repr that Python reads as another zero sign and no NaN
	// payloads (eval yields the canonical NaN).
	params := gopter.DefaultGenParameters()
	params.Rng = rand.New(rand.NewSource(42))
	gen := codectest.GenValue(3)
	for len(lits) < 1500 {
		v := gen(params).Result.(codec.Value)
		if pythonFaithful(v) {
			lits = append(lits, codec.Repr(v))
		}
	}
	// Every float class through repr.
	rng := rand.New(rand.NewSource(7))
	for i := 0; i < 500; i++ {
		f := math.Float64frombits(rng.Uint64())
		if math.IsNaN(f) {
			continue
		}
		lits = append(lits, codec.Repr(codec.Float(f)))
	}
	res := pyEval(t, lits)
	bad := 0
	for i, lit := range lits {
		pyRepr, pyHex := res[i][0], res[i][1]
		v, err := codec.ParseLiteral(lit)
		if pyRepr == "!ERR" {
			t.Errorf("python cannot evaluate %q (%s); ParseLiteral gives %v, %v", lit, pyHex, v, err)
			bad++
			continue
		}
		if err != nil {
			t.Errorf("ParseLiteral(%q): %v (python: %s)", lit, err, pyRepr)
			bad++
			continue
		}
		if got := codec.Repr(v); got != pyRepr {
			t.Errorf("literal %q: Repr %s, python repr %s", lit, got, pyRepr)
			bad++
		}
		got, err := codec.Dumps(v)
		switch {
		case strings.HasPrefix(pyHex, "!"):
			// execnet cannot dump ints below -2^31 (struct.error); we use LONGINT.
			if pyHex != "!error" || err != nil {
				t.Errorf("literal %q: execnet dump fails (%s), Dumps: %x, %v", lit, pyHex, got, err)
				bad++
			}
		case err != nil:
			t.Errorf("literal %q: Dumps: %v", lit, err)
			bad++
		case hex.EncodeToString(got) != pyHex && !hasUnorderedSet(v):
			t.Errorf("literal %q: Dumps %x, execnet %s", lit, got, pyHex)
			bad++
		}
		if bad > 20 {
			t.Fatal("too many mismatches")
		}
	}
	t.Logf("%d literals compared with CPython", len(lits))
}

// pythonFaithful reports whether eval(Repr(v)) in Python rebuilds v exactly
// in the same order.
func pythonFaithful(v codec.Value) bool {
	switch x := v.(type) {
	case codec.Float:
		f := float64(x)
		return !math.IsNaN(f) || math.Float64bits(f) == 0x7ff8000000000000
	case codec.Complex:
		re, im := real(x), imag(x)
		return codectest.ComplexReadsBack(complex128(x)) && !math.IsNaN(re) && !math.IsNaN(im)
	case codec.Tuple:
		return allFaithful(x)
	case codec.List:
		return allFaithful(x)
	case codec.Set:
		return len(x) <= 1 && allFaithful(x)
	case codec.FrozenSet:
		return len(x) <= 1 && allFaithful(x)
	case *codec.Dict:
		for _, it := range x.Items() {
			if !pythonFaithful(it.Key) || !pythonFaithful(it.Value) {
				return false
			}
		}
	}
	return true
}

func allFaithful(xs []codec.Value) bool {
	for _, e := range xs {
		if !pythonFaithful(e) {
			return false
		}
	}
	return true
}

func hasUnorderedSet(v codec.Value) bool {
	switch x := v.(type) {
	case codec.Set:
		return len(x) > 1 || anyUnorderedSet(x)
	case codec.FrozenSet:
		return len(x) > 1 || anyUnorderedSet(x)
	case codec.Tuple:
		return anyUnorderedSet(x)
	case codec.List:
		return anyUnorderedSet(x)
	case *codec.Dict:
		for _, it := range x.Items() {
			if hasUnorderedSet(it.Key) || hasUnorderedSet(it.Value) {
				return true
			}
		}
	}
	return false
}

func anyUnorderedSet(xs []codec.Value) bool {
	for _, e := range xs {
		if hasUnorderedSet(e) {
			return true
		}
	}
	return false
}

// TestPrintableTableMatchesCPython checks the repr escaping decision for
// every code point outside the surrogates against CPython's
// str.isprintable.
func TestPrintableTableMatchesCPython(t *testing.T) {
	py := peers.CPython(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, py, "-c",
		"import sys; sys.stdout.buffer.write(bytes(chr(c).isprintable() for c in range(0x110000)))").Output()
	if err != nil || len(out) != 0x110000 {
		t.Fatalf("python: %v (%d bytes)", err, len(out))
	}
	mismatches := 0
	for r := rune(0); r < 0x110000; r++ {
		if r >= 0xd800 && r <= 0xdfff || r < 0x80 {
			continue
		}
		s := string(r)
		rep := codec.Repr(codec.Str(s))
		kept := rep == "'"+s+"'"
		if kept != (out[r] == 1) {
			mismatches++
			if mismatches <= 10 {
				t.Errorf("U+%04X: Repr %s, python isprintable %v", r, rep, out[r] == 1)
			}
		}
	}
	if mismatches > 0 {
		t.Errorf("%d code points differ", mismatches)
	}
}
