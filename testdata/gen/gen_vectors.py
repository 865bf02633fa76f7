#!/usr/bin/python3
"""Generate testdata/vectors/vectors.json from real execnet.

Run with Debian's interpreter, which sees python3-execnet:

    /usr/bin/python3 testdata/gen/gen_vectors.py

Every wire hex string either comes from execnet's own encoder, or is built
here by hand and then fed to execnet's decoder, whose behaviour (value,
exception class, or acceptance) is recorded next to it. The output is
deterministic: vectors are sorted by name and the JSON is written with sorted
keys.
"""

import json
import math
import os
import struct
import sys

import execnet
from execnet import gateway_base as gb

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "vectors", "vectors.json")

# Strconfig tuples as used by execnet: (py2str_as_py3str, py3str_as_py2str).
CHANNEL_DEFAULT = (True, False)


def i32(n):
    return struct.pack("!i", n)


def op(c):
    return c.encode("ascii")


def lstr(code, payload):
    """An opcode followed by an int32 length and the payload bytes."""
    return op(code) + i32(len(payload)) + payload


STOP = b"Q"


def err_name(exc):
    t = type(exc)
    if t.__module__ == "builtins":
        return t.__name__
    if t.__module__ == "struct":
        return "struct.error"
    return t.__name__


def err_text(exc):
    s = str(exc)
    if len(s) > 120:
        s = s[:117] + "..."
    return s


class FakeChannel(object):
    """Stands in for an execnet channel when decoding CHANNEL opcodes."""

    def __init__(self, id):
        self.id = id

    def __repr__(self):
        return "<Channel id=%d>" % self.id


class FakeFactory(object):
    def new(self, id):
        return FakeChannel(id)


def same(a, b):
    """Strict identity of two decoded values: same types, float bits, order."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return struct.pack("!d", a) == struct.pack("!d", b)
    if isinstance(a, complex):
        return same(a.real, b.real) and same(a.imag, b.imag)
    if isinstance(a, (tuple, list)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        ia, ib = list(a.items()), list(b.items())
        return len(ia) == len(ib) and all(
            same(ka, kb) and same(va, vb) for (ka, va), (kb, vb) in zip(ia, ib))
    if isinstance(a, (set, frozenset)):
        if len(a) != len(b):
            return False
        rest = list(b)
        for x in a:
            for j, y in enumerate(rest):
                if same(x, y):
                    del rest[j]
                    break
            else:
                return False
        return True
    if isinstance(a, FakeChannel):
        return a.id == b.id
    return a == b


def has_multi_set(v):
    if isinstance(v, (set, frozenset)):
        return len(v) > 1 or any(has_multi_set(x) for x in v)
    if isinstance(v, (tuple, list)):
        return any(has_multi_set(x) for x in v)
    if isinstance(v, dict):
        return any(has_multi_set(k) or has_multi_set(x) for k, x in v.items())
    return False


def try_load(raw, strconfig=None, channels=False, versioned=False):
    """Decode raw with execnet; return (value, None) or (None, exception)."""
    try:
        if versioned:
            return gb.loads(raw), None
        factory = FakeFactory() if channels else None
        return gb.loads_internal(raw, factory, strconfig), None
    except Exception as e:  # record whatever execnet raises
        return None, e


class Gen(object):
    def __init__(self):
        self.vectors = {}

    def _put(self, v):
        name = v["name"]
        if name in self.vectors:
            raise SystemExit("duplicate vector name %s" % name)
        v.setdefault("python_error", None)
        v.setdefault("deviation", None)
        v.setdefault("clauses", [])
        self.vectors[name] = v

    def roundtrip(self, name, value, literal=None, raw=None, deviation=None, note=None, limits=None):
        """A value that execnet itself encodes (raw is None), or whose bytes we
        build (raw given, e.g. to fix set order); in both cases execnet must
        decode the bytes back to the value."""
        py_err = None
        if raw is None:
            raw = gb.dumps_internal(value)
        else:
            try:
                mine = gb.dumps_internal(value)
                if not has_multi_set(value) and mine != raw:
                    raise SystemExit("%s: execnet encodes %s, we wrote %s" % (name, mine.hex(), raw.hex()))
            except (gb.DumpError, struct.error, ValueError) as e:
                py_err = e
        got, err = try_load(raw)
        if err is not None:
            if deviation is None:
                raise SystemExit("%s: execnet cannot decode %s: %r" % (name, raw.hex(), err))
            py_err = py_err or err
        elif not same(got, value):
            raise SystemExit("%s: execnet decodes %s to %r, want %r" % (name, raw.hex(), got, value))
        if py_err is not None and deviation is None:
            raise SystemExit("%s: execnet failed (%r) but no deviation recorded" % (name, py_err))
        v = {"name": name, "class": "roundtrip", "hex": raw.hex(),
             "literal": literal if literal is not None else repr(value)}
        if has_multi_set(value):
            v["set_order"] = "fixed"
        if limits:
            v["limits"] = limits
        if py_err is not None:
            v["python_error"] = err_name(py_err)
            v["python_message"] = err_text(py_err)
        if deviation:
            v["deviation"] = deviation
        if note:
            v["note"] = note
        self._put(v)

    def decode_only(self, name, raw, literal=None, strconfig=None, channels=False, deviation=None, note=None):
        """Bytes that decode, but that no conforming encoder writes."""
        got, err = try_load(raw, strconfig=strconfig, channels=channels)
        v = {"name": name, "class": "decode-only", "hex": raw.hex()}
        if err is not None:
            if deviation is None:
                raise SystemExit("%s: execnet rejects decode-only vector %s: %r" % (name, raw.hex(), err))
            v["python_error"] = err_name(err)
            v["python_message"] = err_text(err)
            v["literal"] = literal
        else:
            r = repr(got)
            if literal is not None and literal != r and deviation is None:
                raise SystemExit("%s: execnet decodes to %s, literal says %s" % (name, r, literal))
            v["literal"] = literal if literal is not None else r
        if strconfig is not None:
            v["strconfig"] = {"py2str_as_py3str": strconfig[0], "py3str_as_py2str": strconfig[1]}
        if channels:
            v["channels"] = True
        if deviation:
            v["deviation"] = deviation
        if note:
            v["note"] = note
        self._put(v)

    def reject(self, name, raw, error, deviation=None, channels=False, strconfig=None, note=None,
               python_error=None):
        """Bytes that our spec rejects with the named error class. If execnet
        accepts them, a deviation must say so.

        A deviation can also be one of error class: execnet rejects the bytes
        too, but with an exception that stands for another class than ours
        (e.g. UnicodeDecodeError, class BadUTF8, where we say Truncated). Such
        a vector passes both deviation and python_error, the exception name
        (as err_name writes it) execnet must raise; anything else stops the
        script. A deviation limited to some interpreters lists them in its
        "interpreters" field; the script must run on one of them."""
        if python_error is not None and deviation is None:
            raise SystemExit("%s: python_error is only for deviations of error class" % name)
        if deviation is not None and "interpreters" in deviation and \
                sys.implementation.name not in deviation["interpreters"]:
            raise SystemExit("%s: deviation %s applies to %s only; run this script with one of them" %
                             (name, deviation["id"], ", ".join(deviation["interpreters"])))
        got, err = try_load(raw, strconfig=strconfig, channels=channels)
        v = {"name": name, "class": "reject", "hex": raw.hex(), "error": error, "literal": None}
        if err is None:
            if deviation is None:
                raise SystemExit("%s: execnet accepts %s as %r; add a deviation" % (name, raw.hex(), got))
            if python_error is not None:
                raise SystemExit("%s: execnet accepts %s as %r, deviation %s expects %s" %
                                 (name, raw.hex(), got, deviation["id"], python_error))
            try:
                r = repr(got)
                v["python_accepts"] = r if len(r) <= 200 else r[:200] + "...(%d chars)" % len(r)
            except RecursionError:
                v["python_accepts"] = "<too deep for repr>"
        else:
            if deviation is not None and python_error is None:
                raise SystemExit("%s: deviation recorded but execnet rejects too: %r" % (name, err))
            if python_error is not None and err_name(err) != python_error:
                raise SystemExit("%s: execnet raises %s (%s), deviation %s expects %s" %
                                 (name, err_name(err), err_text(err), deviation["id"], python_error))
            v["python_error"] = err_name(err)
            v["python_message"] = err_text(err)
        if channels:
            v["channels"] = True
        if strconfig is not None:
            v["strconfig"] = {"py2str_as_py3str": strconfig[0], "py3str_as_py2str": strconfig[1]}
        if deviation:
            v["deviation"] = deviation
        if note:
            v["note"] = note
        self._put(v)

    def versioned(self, name, value, literal=None):
        v1 = gb.dumps(value)
        assert v1[:1] == b"\x01", v1
        got, err = try_load(v1, versioned=True)
        if err is not None or not same(got, value):
            raise SystemExit("%s: execnet public loads fails: %r %r" % (name, got, err))
        lit = literal if literal is not None else repr(value)
        self._put({"name": "versioned/v1/" + name, "class": "roundtrip", "hex": v1.hex(),
                   "literal": lit, "version": 1})
        v2 = b"\x02" + v1[1:]
        got, err = try_load(v2, versioned=True)
        assert err is not None, "execnet 1.9 unexpectedly accepted format 2"
        self._put({"name": "versioned/v2/" + name, "class": "roundtrip", "hex": v2.hex(),
                   "literal": lit, "version": 2,
                   "python_error": err_name(err), "python_message": err_text(err),
                   "note": "computed: execnet 1.9 dumps with the format byte swapped to 2 "
                           "(execnet 2.x's public format); 1.9 itself rejects it"})

    def versioned_reject(self, name, raw, error):
        got, err = try_load(raw, versioned=True)
        v = {"name": "versioned/reject/" + name, "class": "reject", "hex": raw.hex(),
             "error": error, "literal": None, "version": "any"}
        if err is None:
            raise SystemExit("%s: execnet accepts %r" % (name, got))
        v["python_error"] = err_name(err)
        v["python_message"] = err_text(err)
        self._put(v)


def dev(id, text, interpreters=None):
    """A deviation record. interpreters (sys.implementation.name values)
    limits it to those interpreters; the others follow our spec."""
    d = {"id": id, "text": text}
    if interpreters is not None:
        d["interpreters"] = list(interpreters)
    return d


def build(g):
    # ---------------------------------------------------------------- scalars
    g.roundtrip("none", None)
    g.roundtrip("bool/true", True)
    g.roundtrip("bool/false", False)

    ints = [
        ("zero", 0), ("one", 1), ("minus-one", -1), ("127", 127), ("128", 128),
        ("255", 255), ("256", 256), ("minus-128", -128), ("minus-129", -129),
        ("32767", 32767), ("32768", 32768), ("minus-32768", -32768),
        ("65535", 65535), ("65536", 65536), ("16777216", 1 << 24),
        ("int32-max", 2**31 - 1), ("int32-min", -2**31), ("int32-min-plus-one", -2**31 + 1),
        ("beyond-int32", 2**31), ("beyond-int32-plus-one", 2**31 + 1),
        ("uint32-max", 2**32 - 1), ("2pow32", 2**32), ("2pow53", 2**53), ("2pow53-plus-one", 2**53 + 1),
        ("int64-max", 2**63 - 1), ("2pow63", 2**63), ("uint64-max", 2**64 - 1),
        ("2pow64", 2**64), ("10pow20", 10**20), ("10pow100", 10**100), ("2pow1000", 2**1000),
        ("4300-digits", 10**4299),
    ]
    for n, i in ints:
        g.roundtrip("int/" + n, i)

    neg_dev = dev("dump-negative-longint",
                  "execnet 1.9 dumps ints below -2^31 on the int32 path and raises struct.error; "
                  "our spec encodes them as LONGINT, which execnet decodes correctly")
    for n, i in [("beyond-int32-negative", -2**31 - 1), ("beyond-int32-negative-minus-one", -2**31 - 2),
                 ("int64-min", -2**63), ("beyond-int64-negative", -2**63 - 1),
                 ("minus-10pow20", -10**20), ("minus-2pow100", -2**100)]:
        g.roundtrip("int/" + n, i, raw=lstr("H", str(i).encode()) + STOP, deviation=neg_dev)

    big = 10**4300  # 4301 digits
    big_digits = "1" + "0" * 4300
    g.roundtrip("int/4301-digits", big, literal=big_digits, raw=lstr("H", big_digits.encode()) + STOP,
                limits={"max_int_digits": 5000},
                deviation=dev("int-max-str-digits",
                              "CPython 3.11 and PyPy 3.9 refuse int<->str conversion past 4300 digits "
                              "(ValueError when dumping and loading); our codec's default MaxIntDigits "
                              "is also 4300, so this vector raises the limit"))

    floats = [
        ("zero", 0.0), ("negative-zero", -0.0), ("one-half", 0.5), ("1.5", 1.5), ("minus-1.5", -1.5),
        ("one", 1.0), ("0.1", 0.1), ("third", 1 / 3), ("1e16", 1e16), ("1e22", 1e22), ("1e-7", 1e-7),
        ("123456789", 123456789.0), ("pi", math.pi), ("inf", math.inf), ("negative-inf", -math.inf),
        ("nan", math.nan), ("max", sys.float_info.max), ("negative-max", -sys.float_info.max),
        ("min-normal", sys.float_info.min), ("min-subnormal", 5e-324), ("negative-min-subnormal", -5e-324),
        ("max-subnormal", struct.unpack("!d", bytes.fromhex("000fffffffffffff"))[0]),
        ("2pow53", float(2**53)), ("2pow63", float(2**63)), ("1e300", 1e300),
    ]
    for n, f in floats:
        g.roundtrip("float/" + n, f)
    # NaN with other bit patterns decode to a NaN; Python's repr hides the payload.
    for n, h in [("negative-nan", "fff8000000000000"), ("nan-payload", "7ff0000000000001"),
                 ("nan-quiet-payload", "7ff8000000000123")]:
        g.decode_only("float/" + n, b"D" + bytes.fromhex(h) + STOP, literal="nan",
                      note="NaN payload and sign must be preserved bit for bit; repr cannot show them")

    complexes = [
        ("one-minus-2j", 1 - 2j), ("zero", 0j), ("negative-zeros", complex(-0.0, -0.0)),
        ("imag-only", 3j), ("real-only", complex(2.5, 0)), ("negative-imag-zero", complex(1, -0.0)),
        ("inf-parts", complex(math.inf, -math.inf)), ("nan-parts", complex(math.nan, math.nan)),
        ("nan-inf", complex(math.nan, math.inf)), ("subnormal", complex(5e-324, -5e-324)),
        ("max", complex(sys.float_info.max, sys.float_info.min)),
    ]
    for n, c in complexes:
        g.roundtrip("complex/" + n, c)

    # ------------------------------------------------------------ bytes/str
    byts = [
        ("empty", b""), ("nul", b"\x00"), ("ab-nul", b"ab\x00"), ("ascii", b"hello world"),
        ("all-256", bytes(range(256))), ("high", b"\xff\xfe\x80"), ("quotes", b"it's \"q\""),
        ("single-quote", b"'"), ("backslash", b"\\"), ("newline-tab", b"\n\t\r"),
        ("long-1000", bytes(i % 251 for i in range(1000))), ("invalid-utf8", b"\xc3\x28"),
    ]
    for n, b in byts:
        g.roundtrip("bytes/" + n, b)

    strs = [
        ("empty", ""), ("hi", "hi"), ("nul", "\x00"), ("a-nul-b", "a\x00b"), ("e-acute", "\u00e9"),
        ("emoji-astral", "\U0001F600"), ("cjk", "\u4e2d\u6587"), ("mixed", "a\u00e9\u4e2d\U0001F600z"),
        ("single-quote", "it's"), ("both-quotes", "'\""), ("backslash", "\\"),
        ("control", "\n\t\r\x07\x1b\x7f"), ("c1-control", "\x85\x9f"), ("nbsp", "\u00a0"),
        ("zero-width-space", "\u200b"), ("bom", "\ufeff"), ("max-bmp", "\uffff"),
        ("max-codepoint", "\U0010ffff"), ("tag-char", "\U000e0001"), ("combining", "e\u0301"),
        ("rtl", "\u05e9\u05dc\u05d5\u05dd"), ("long-1000", "x" * 1000),
        ("long-non-ascii", "\u00e9\u4e2d" * 300), ("latin1-range", "".join(chr(i) for i in range(160, 256))),
    ]
    for n, s in strs:
        g.roundtrip("str/" + n, s)

    # ------------------------------------------------------------ containers
    tuples = [("empty", ()), ("one", (1,)), ("two", (1, 2)), ("nested-empty", ((),)),
              ("nested", (1, (2, (3, ())))), ("mixed", (None, True, 1.5, b"b", "s", [], {})),
              ("with-list", ([1], [2, [3]]))]
    for n, t in tuples:
        g.roundtrip("tuple/" + n, t)
    deep_t = ()
    for _ in range(100):
        deep_t = (deep_t,)
    g.roundtrip("tuple/deep-100", deep_t)
    g.roundtrip("tuple/wide-300", tuple(range(300)))

    lists = [("empty", []), ("none", [None]), ("one-a", [1, "a"]), ("nested", [[], [[]], [[], [[]]]]),
             ("mixed", [0, -1, 2**40, 0.25, 1j, b"", "", (), set(), frozenset(), {}]),
             ("self-similar", [[1, 2], [1, 2]])]
    for n, l in lists:
        g.roundtrip("list/" + n, l)
    deep_l = []
    for _ in range(100):
        deep_l = [deep_l]
    g.roundtrip("list/deep-100", deep_l)
    g.roundtrip("list/wide-300", list(range(300)))

    dicts = [
        ("empty", {}), ("str-int", {"a": 1}), ("int-list", {1: [2]}), ("nested", {"a": [1, {"b": (None,)}]}),
        ("insertion-order", {"z": 1, "a": 2, "m": 3}), ("insertion-order-ints", {3: "c", 1: "a", 2: "b"}),
        ("key-tuple", {(1, 2): "t"}), ("key-nested-tuple", {(1, ("a", b"b")): None}),
        ("key-empty-tuple", {(): ()}), ("key-frozenset", {frozenset({1}): "fs"}),
        ("key-empty-frozenset", {frozenset(): 0}), ("key-float", {1.5: "f"}), ("key-negative-zero", {-0.0: 0}),
        ("key-bytes", {b"k": 1}), ("key-none", {None: 0}), ("key-true", {True: 1}), ("key-false", {False: 0}),
        ("key-complex", {1j: 1}), ("key-bigint", {2**70: "big"}), ("key-empty-str", {"": ""}),
        ("mixed-keys", {0: "a", "x": 1, 2.5: None, b"y": [], (): {}, None: set()}),
        ("value-dict", {"d": {"e": {}}}), ("value-set", {"s": {1}}),
        ("key-tuple-of-frozenset", {(frozenset({2}),): 1}),
    ]
    for n, d in dicts:
        g.roundtrip("dict/" + n, d)

    sets = [("empty", set()), ("one", {5}), ("one-str", {"a"}), ("one-tuple", {(1, 2)}),
            ("one-frozenset", {frozenset({1})}), ("one-none", {None}), ("one-float", {0.5}),
            ("one-bytes", {b"x"}), ("one-empty-frozenset", {frozenset()})]
    for n, s in sets:
        g.roundtrip("set/" + n, s)
    fsets = [("empty", frozenset()), ("one", frozenset({7})), ("one-tuple", frozenset({(1, "a")})),
             ("nested", frozenset({frozenset({frozenset()})}))]
    for n, s in fsets:
        g.roundtrip("frozenset/" + n, s)

    # Sets with several elements: we fix the wire order and write the literal
    # in that order; execnet must decode them to the same set.
    F = lambda i: b"F" + i32(i)
    N = lambda s: lstr("N", s.encode())
    g.roundtrip("set/three-ints", {1, 2, 3}, literal="{1, 2, 3}", raw=F(1) + F(2) + F(3) + b"O" + i32(3) + STOP)
    g.roundtrip("set/three-ints-reversed", {1, 2, 3}, literal="{3, 2, 1}",
                raw=F(3) + F(2) + F(1) + b"O" + i32(3) + STOP)
    g.roundtrip("set/two-strs", {"a", "b"}, literal="{'b', 'a'}", raw=N("b") + N("a") + b"O" + i32(2) + STOP)
    g.roundtrip("frozenset/two-mixed", frozenset({None, 1}), literal="frozenset({None, 1})",
                raw=b"L" + F(1) + b"E" + i32(2) + STOP)
    g.roundtrip("dict/key-frozenset-two", {frozenset({1, 2}): "x"}, literal="{frozenset({1, 2}): 'x'}",
                raw=b"J" + F(1) + F(2) + b"E" + i32(2) + N("x") + b"P" + STOP)
    g.roundtrip("list/of-set-two", [{1, 2}], literal="[{1, 2}]",
                raw=b"K" + i32(1) + F(0) + F(1) + F(2) + b"O" + i32(2) + b"P" + STOP)

    # ------------------------------------------------------------ decode-only
    pypy_nan = dev("pypy-nan-identity", "PyPy only: floats with the same bits are the same object, so NaN "
                                        "keys/elements with equal bits collapse into one ({nan: 2}); CPython "
                                        "and our spec keep each NaN distinct")
    g.decode_only("dict/duplicate-1-true", b"J" + F(1) + N("a") + b"P" + b"R" + N("b") + b"P" + STOP,
                  literal="{1: 'b'}", note="True == 1: the first key object stays, the value is replaced")
    g.decode_only("dict/duplicate-true-1", b"J" + b"R" + N("a") + b"P" + F(1) + N("b") + b"P" + STOP,
                  literal="{True: 'b'}")
    g.decode_only("dict/duplicate-1-1.0", b"J" + F(1) + N("a") + b"P" + b"D" + struct.pack("!d", 1.0) + N("b") + b"P" + STOP,
                  literal="{1: 'b'}")
    g.decode_only("dict/duplicate-0-false-0j", b"J" + F(0) + F(1) + b"P" + b"C" + F(2) + b"P" + b"T" + bytes(16) + F(3) + b"P" + STOP,
                  literal="{0: 3}")
    g.decode_only("dict/duplicate-str", b"J" + N("k") + F(1) + b"P" + N("k") + F(2) + b"P" + STOP, literal="{'k': 2}")
    g.decode_only("dict/nan-keys-distinct", b"J" + b"D" + struct.pack("!d", math.nan) + F(1) + b"P" +
                  b"D" + struct.pack("!d", math.nan) + F(2) + b"P" + STOP, literal="{nan: 1, nan: 2}",
                  note="two NaN key objects never compare equal, so both stay", deviation=pypy_nan)
    g.decode_only("dict/duplicate-frozenset-order", b"J" + F(1) + F(2) + b"E" + i32(2) + N("a") + b"P" +
                  F(2) + F(1) + b"E" + i32(2) + N("b") + b"P" + STOP, literal="{frozenset({1, 2}): 'b'}")
    g.decode_only("set/nan-elements-distinct", b"D" + struct.pack("!d", math.nan) + b"D" + struct.pack("!d", math.nan)
                  + b"O" + i32(2) + STOP, literal="{nan, nan}", deviation=pypy_nan)
    g.decode_only("set/duplicates", F(1) + F(1) + b"O" + i32(2) + STOP, literal="{1}")
    g.decode_only("set/duplicate-1-true", F(1) + b"R" + b"D" + struct.pack("!d", 1.0) + b"O" + i32(3) + STOP,
                  literal="{1}")
    g.decode_only("frozenset/duplicates", N("a") + N("a") + b"E" + i32(2) + STOP, literal="frozenset({'a'})")
    g.decode_only("list/unfilled", b"K" + i32(3) + STOP, literal="[None, None, None]",
                  note="NEWLIST n pushes n Nones; SETITEM fills them")
    g.decode_only("list/unfilled-6-of-6-bytes", b"K" + i32(5) + STOP, literal="[None, None, None, None, None]",
                  note="5 slots from 6 input bytes: within one slot per byte")
    g.decode_only("list/partly-filled", b"K" + i32(2) + F(1) + N("x") + b"P" + STOP, literal="[None, 'x']")
    g.decode_only("list/overwrite", b"K" + i32(1) + F(0) + F(1) + b"P" + F(0) + F(2) + b"P" + STOP, literal="[2]")
    g.decode_only("list/reverse-fill", b"K" + i32(2) + F(1) + F(20) + b"P" + F(0) + F(10) + b"P" + STOP,
                  literal="[10, 20]")
    g.decode_only("list/index-via-longint", b"K" + i32(1) + lstr("H", b"0") + F(5) + b"P" + STOP, literal="[5]")
    g.decode_only("trailing/after-stop", b"L" + STOP + b"garbage", literal="None",
                  note="decoding stops right after STOP; the rest of the buffer is not read")
    g.decode_only("trailing/two-values", b"F" + i32(1) + STOP + b"F" + i32(2) + STOP, literal="1")
    g.decode_only("longint/small-positive", lstr("H", b"5") + STOP, literal="5",
                  note="LONGINT for a value that fits in INT; encoders never write it")
    g.decode_only("longint/small-negative", lstr("H", b"-5") + STOP, literal="-5")
    g.decode_only("longint/negative-10-digits", lstr("H", b"-1234567890") + STOP, literal="-1234567890")
    g.decode_only("longint/zero", lstr("H", b"0") + STOP, literal="0")
    g.decode_only("longint/int32-max", lstr("H", b"2147483647") + STOP, literal="2147483647")
    g.decode_only("longint/int32-min", lstr("H", b"-2147483648") + STOP, literal="-2147483648")
    g.decode_only("longint/leading-zeros", lstr("H", b"0002147483648") + STOP, literal="2147483648")
    g.decode_only("longint/negative-zero", lstr("H", b"-0") + STOP, literal="0")
    # legacy opcodes, decode-only
    g.decode_only("legacy/long-G", b"G" + i32(7) + STOP, literal="7", note="Python 2 long with int32 operand")
    g.decode_only("legacy/long-G-negative", b"G" + i32(-2**31) + STOP, literal="-2147483648")
    g.decode_only("legacy/longlong-I", lstr("I", b"9223372036854775808") + STOP, literal="9223372036854775808")
    g.decode_only("legacy/longlong-I-small", lstr("I", b"-3") + STOP, literal="-3")
    g.decode_only("legacy/unicode-S", lstr("S", "h\u00e9\U0001F600".encode()) + STOP, literal="'h\u00e9\U0001F600'")
    g.decode_only("legacy/unicode-S-empty", lstr("S", b"") + STOP, literal="''")
    g.decode_only("legacy/py2string-M-as-text", lstr("M", b"caf\xe9") + STOP, literal="'caf\u00e9'",
                  strconfig=CHANNEL_DEFAULT, note="py2str_as_py3str: latin-1 text")
    g.decode_only("legacy/py2string-M-as-bytes", lstr("M", b"caf\xe9") + STOP, literal="b'caf\\xe9'",
                  strconfig=(False, False), note="py2str_as_py3str false: a Py2Str byte string")
    g.decode_only("legacy/py2string-M-empty-text", lstr("M", b"") + STOP, literal="''", strconfig=CHANNEL_DEFAULT)
    g.decode_only("legacy/py2string-M-all-latin1", lstr("M", bytes(range(256))) + STOP,
                  literal=repr(bytes(range(256)).decode("latin-1")), strconfig=CHANNEL_DEFAULT)
    g.decode_only("legacy/py2string-M-in-dict", b"J" + lstr("M", b"k") + lstr("M", b"v") + b"P" + STOP,
                  literal="{'k': 'v'}", strconfig=CHANNEL_DEFAULT)
    py3bytes = dev("py3str-as-py2str-ignored", "execnet 1.9 on Python 3 ignores py3str_as_py2str and decodes "
                                               "PY3STRING as str; execnet 2.x and our spec decode it as bytes")
    g.decode_only("strconfig/py3string-as-bytes", lstr("N", "h\u00e9".encode()) + STOP, literal="b'h\\xc3\\xa9'",
                  strconfig=(True, True), deviation=py3bytes)
    g.decode_only("strconfig/py3string-invalid-utf8-as-bytes", lstr("N", b"\xff") + STOP, literal="b'\\xff'",
                  strconfig=(False, True), deviation=py3bytes,
                  note="as bytes, the operand is not checked for UTF-8; execnet 1.9 raises UnicodeDecodeError")
    g.decode_only("strconfig/py3string-in-dict-as-bytes", b"J" + N("k") + N("v") + b"P" + STOP,
                  literal="{b'k': b'v'}", strconfig=(True, True), deviation=py3bytes)
    g.decode_only("strconfig/unicode-S-stays-text", lstr("S", b"x") + STOP, literal="'x'", strconfig=(True, True),
                  note="UNICODE is always text, whatever the strconfig")
    g.decode_only("strconfig/py3string-as-text-public", N("t") + STOP, literal="'t'", strconfig=(False, False))

    # channels: only in a channel context (a gateway resolves the id)
    for cid in (1, 2, 0x7fffffff):
        g.decode_only("channel/id-%d" % cid, b"B" + i32(cid) + STOP, literal="<Channel id=%d>" % cid, channels=True)
    g.decode_only("channel/in-tuple", b"B" + i32(3) + F(1) + b"@" + i32(2) + STOP,
                  literal="(<Channel id=3>, 1)", channels=True)
    g.decode_only("channel/as-dict-key", b"J" + b"B" + i32(5) + F(1) + b"P" + STOP,
                  literal="{<Channel id=5>: 1}", channels=True)

    # ------------------------------------------------------------ rejects
    R = g.reject
    R("reject/empty-input", b"", "ErrTruncated")
    R("reject/unknown-opcode/0x00", b"\x00", "ErrUnknownOpcode")
    R("reject/unknown-opcode/0x3f", b"\x3f", "ErrUnknownOpcode")
    R("reject/unknown-opcode/0x55", b"\x55", "ErrUnknownOpcode")
    R("reject/unknown-opcode/0xff", b"\xff", "ErrUnknownOpcode")
    R("reject/unknown-opcode/0x61", b"a", "ErrUnknownOpcode")
    R("reject/unknown-opcode/after-value", b"L\x55" + STOP, "ErrUnknownOpcode")
    R("reject/unknown-opcode/0x80-in-list", b"K" + i32(1) + F(0) + b"\x80" + b"L" + b"P" + STOP, "ErrUnknownOpcode")

    # Truncation inside each opcode's operand.
    for code, size in [("@", 4), ("A", 4), ("B", 4), ("D", 8), ("E", 4), ("F", 4), ("G", 4),
                       ("H", 4), ("I", 4), ("K", 4), ("M", 4), ("N", 4), ("O", 4), ("S", 4), ("T", 16)]:
        cuts = sorted({0, 1, size - 1})
        if code == "T":
            cuts = [0, 8, 15]
        if code == "D":
            cuts = [0, 4, 7]
        for k in cuts:
            operand = b"\x00" * k
            R("reject/truncated/%s-operand-%d-of-%d" % (code, k, size), b"L" + op(code) + operand, "ErrTruncated",
              channels=(code == "B"))
    for code in "AHIMNS":
        payload = b"12345678"
        R("reject/truncated/%s-payload-4-of-8" % code, op(code) + i32(8) + payload[:4], "ErrTruncated")
        R("reject/truncated/%s-no-stop" % code, op(code) + i32(8) + payload, "ErrTruncated")
    for code in "CJLR":
        R("reject/truncated/%s-no-stop" % code, op(code), "ErrTruncated")
    R("reject/truncated/F-no-stop", F(1), "ErrTruncated")
    R("reject/truncated/D-no-stop", b"D" + bytes(8), "ErrTruncated")
    R("reject/truncated/T-no-stop", b"T" + bytes(16), "ErrTruncated")
    R("reject/truncated/B-no-stop", b"B" + i32(1), "ErrTruncated", channels=True)
    R("reject/truncated/tuple-no-stop", F(1) + b"@" + i32(1), "ErrTruncated")
    R("reject/truncated/list-no-setitem", b"K" + i32(1) + F(0) + F(1), "ErrTruncated")
    R("reject/truncated/dict-mid-item", b"J" + N("a"), "ErrTruncated")
    R("reject/truncated/huge-bytes-length-no-data", b"A" + i32(0x7fffffff), "ErrTruncated",
      note="a huge declared length backed by no data must not allocate it")
    R("reject/truncated/huge-str-length-no-data", b"N" + i32(0x7fffffff), "ErrTruncated")
    # A length operand larger than the rest of the input is Truncated
    # (LIM-LEN-3, ERR-GEN-5 step 4, before the operand's content is looked
    # at). execnet 1.9 reads what is there and converts it first.
    longint_short = dev("longint-length-beyond-input",
                        "execnet 1.9 passes the bytes that follow a LONGINT/LONGLONG length beyond the input "
                        "to int(), which raises ValueError (class BadInteger) unless they are all digits; "
                        "our spec checks the length first: Truncated (DEV-22)")
    R("reject/truncated/huge-longint-length-no-data", b"H" + i32(0x7fffffff), "ErrTruncated",
      deviation=longint_short, python_error="ValueError")
    R("reject/truncated/H-length-beyond-input-non-digit", b"H" + i32(8) + b"123a" + STOP,
      "ErrTruncated", deviation=longint_short, python_error="ValueError",
      note="length 8, then 5 bytes (the STOP among them); execnet converts b'123aQ'")
    R("reject/truncated/I-length-beyond-input-non-digit", b"I" + i32(8) + b"9x" + STOP,
      "ErrTruncated", deviation=longint_short, python_error="ValueError")
    # When the short operand is all digits, int() succeeds and execnet fails
    # on the missing STOP (EOFError, class Truncated), as our spec does:
    # reject/truncated/H-payload-4-of-8 above is that case.
    text_short = dev("text-length-beyond-input",
                     "execnet 1.9 decodes the bytes that follow a PY3STRING/UNICODE length beyond the input, "
                     "so ill-formed UTF-8 among them raises UnicodeDecodeError (class BadUTF8); our spec checks "
                     "the length first: Truncated (DEV-24)")
    R("reject/truncated/N-length-beyond-input-bad-utf8", b"N" + i32(0x251) + b"\x80", "ErrTruncated",
      deviation=text_short, python_error="UnicodeDecodeError")
    R("reject/truncated/S-length-beyond-input-bad-utf8", b"S" + i32(8) + b"ab\xff" + STOP, "ErrTruncated",
      deviation=text_short, python_error="UnicodeDecodeError")
    R("reject/truncated/N-length-beyond-input-cut-sequence", b"N" + i32(5) + b"a\xc3", "ErrTruncated",
      deviation=text_short, python_error="UnicodeDecodeError",
      note="the input ends inside a two-byte sequence; execnet reports 'unexpected end of data'")
    # Well-formed: execnet decodes the short text and fails on the missing
    # STOP (EOFError, class Truncated), as our spec: no deviation to record.
    R("reject/truncated/N-length-beyond-input-valid-utf8", b"N" + i32(5) + b"a", "ErrTruncated",
      note="DEV-24's conforming case: the short operand is well-formed, so execnet fails later with EOFError")
    R("reject/truncated/huge-bytes-length-short-data", b"A" + i32(0x40000000) + b"abc" + STOP, "ErrTruncated")

    # Stack discipline.
    R("reject/stop/empty-stack", STOP, "ErrStopStack")
    R("reject/stop/two-deep", b"L" + b"L" + STOP, "ErrStopStack")
    R("reject/stop/three-deep", F(1) + F(2) + F(3) + STOP, "ErrStopStack")
    R("reject/stop/list-unfinished-item", b"K" + i32(1) + F(0) + F(1) + STOP, "ErrStopStack")
    R("reject/setitem/empty-stack", b"P" + STOP, "ErrStackUnderflow")
    R("reject/setitem/one-item", b"J" + b"P" + STOP, "ErrStackUnderflow")
    R("reject/setitem/two-items", b"J" + N("k") + b"P" + STOP, "ErrStackUnderflow")
    R("reject/setitem/two-items-no-container", N("k") + N("v") + b"P" + STOP, "ErrStackUnderflow")
    und = dev("buildtuple-underflow", "execnet takes the whole stack when n exceeds the stack depth "
                                      "(Python slice semantics); our spec rejects")
    R("reject/buildtuple/n-exceeds-depth", b"L" + b"@" + i32(2) + STOP, "ErrStackUnderflow", deviation=und)
    R("reject/buildtuple/n-1-empty-stack", b"@" + i32(1) + STOP, "ErrStackUnderflow", deviation=und)
    R("reject/set/n-exceeds-depth", F(1) + b"O" + i32(3) + STOP, "ErrStackUnderflow", deviation=und)
    R("reject/frozenset/n-exceeds-depth", b"E" + i32(1) + STOP, "ErrStackUnderflow", deviation=und)
    R("reject/buildtuple/n-2-depth-1-nonempty-list", b"K" + i32(1) + F(0) + b"L" + b"P" + b"@" + i32(2) + STOP,
      "ErrStackUnderflow",
      deviation=und)

    # NEWLIST slots cost memory before any item arrives: our spec bounds the
    # slots declared by all NEWLISTs of one value by the input length (one
    # slot per input byte), and fails with ErrLimit beyond it.
    slots = dev("newlist-slot-bound", "execnet builds [None] * n for NEWLIST n whatever follows; our spec "
                                      "allows at most one declared list slot per input byte")
    R("reject/newlist/large-count", b"K" + i32(1 << 20) + F(0) + b"L" + b"P" + STOP, "ErrLimit",
      deviation=slots, note="13 bytes make execnet allocate 2^20 list slots (2^31-1 would need 16 GiB)")
    R("reject/newlist/count-over-input", b"K" + i32(7) + STOP, "ErrLimit", deviation=slots)
    g.decode_only("list/nested-slots-within-input", b"K" + i32(5) + F(0) + b"K" + i32(5) + b"P" + STOP,
                  note="10 slots in total from 17 input bytes: within the bound")
    R("reject/newlist/nested-total-over-input", b"K" + i32(9) + F(0) + b"K" + i32(9) + b"P" + STOP, "ErrLimit",
      deviation=slots)

    # Negative lengths and counts.
    neg = dev("negative-count", "execnet uses the negative count as a Python slice/repeat count and "
                                "builds a value; our spec rejects negative counts")
    R("reject/negative-length/A", b"A" + i32(-1) + STOP, "ErrNegativeLength")
    R("reject/negative-length/N", b"N" + i32(-1) + STOP, "ErrNegativeLength")
    R("reject/negative-length/H", b"H" + i32(-1) + STOP, "ErrNegativeLength")
    R("reject/negative-length/A-min", b"A" + i32(-2**31) + STOP, "ErrNegativeLength")
    R("reject/negative-length/N-then-valid-value", b"N" + i32(-1) + N("a") + STOP + STOP, "ErrNegativeLength")
    R("reject/negative-count/K", b"K" + i32(-1) + STOP, "ErrNegativeLength", deviation=neg)
    R("reject/negative-count/@", F(1) + F(2) + b"@" + i32(-1) + STOP, "ErrNegativeLength")
    R("reject/negative-count/O", F(1) + b"O" + i32(-1) + STOP, "ErrNegativeLength")
    R("reject/negative-count/E-min", b"E" + i32(-2**31) + STOP, "ErrNegativeLength", deviation=neg)

    # Containers.
    R("reject/setitem/on-tuple", b"@" + i32(0) + F(0) + F(1) + b"P" + STOP, "ErrNotContainer")
    R("reject/setitem/on-int", F(5) + F(0) + F(1) + b"P" + STOP, "ErrNotContainer")
    R("reject/setitem/on-str", N("s") + F(0) + F(1) + b"P" + STOP, "ErrNotContainer")
    R("reject/setitem/on-set", b"O" + i32(0) + F(0) + F(1) + b"P" + STOP, "ErrNotContainer")
    R("reject/setitem/on-none", b"L" + F(0) + F(1) + b"P" + STOP, "ErrNotContainer")
    # A key too big for a machine index on a target that is not a container:
    # CPython converts the key before it looks at the target when the target
    # has sequence methods (str, bytes, tuple, set, frozenset) and raises
    # IndexError; PyPy raises TypeError, as our NotContainer.
    huge_key = dev("cpython-huge-setitem-key",
                   "CPython only: SETITEM on a str, bytes, tuple, set or frozenset with an int key too big for "
                   "a machine index raises IndexError 'cannot fit int into an index-sized integer' (class "
                   "IndexRange); PyPy and our spec give NotContainer (DEV-25)", interpreters=["cpython"])
    key20 = lstr("H", b"100000000000000000000")
    R("reject/setitem/on-str-huge-key", N("a") + key20 + b"L" + b"P" + STOP, "ErrNotContainer",
      deviation=huge_key, python_error="IndexError", note="'a'[10**20] = None")
    R("reject/setitem/on-tuple-huge-key", b"@" + i32(0) + key20 + b"L" + b"P" + STOP, "ErrNotContainer",
      deviation=huge_key, python_error="IndexError")
    R("reject/setitem/on-frozenset-negative-huge-key", b"E" + i32(0) + lstr("H", b"-9223372036854775809") + b"L"
      + b"P" + STOP, "ErrNotContainer", deviation=huge_key, python_error="IndexError")
    R("reject/setitem/on-int-huge-key", F(5) + key20 + b"L" + b"P" + STOP, "ErrNotContainer",
      note="DEV-25's conforming case: an int has no sequence methods, so CPython raises TypeError")
    R("reject/list/index-out-of-range", b"K" + i32(1) + F(1) + F(9) + b"P" + STOP, "ErrIndexRange")
    R("reject/list/index-on-empty", b"K" + i32(0) + F(0) + F(9) + b"P" + STOP, "ErrIndexRange")
    R("reject/list/index-bigint", b"K" + i32(1) + lstr("H", b"99999999999999999999") + F(9) + b"P" + STOP,
      "ErrIndexRange")
    R("reject/list/index-negative", b"K" + i32(1) + F(-1) + F(9) + b"P" + STOP, "ErrIndexRange",
      deviation=dev("negative-list-index", "execnet stores through Python's negative index (counting "
                                           "from the end); our spec rejects"))
    R("reject/list/index-str", b"K" + i32(1) + N("0") + F(9) + b"P" + STOP, "ErrIndexRange")
    R("reject/list/index-float", b"K" + i32(1) + b"D" + bytes(8) + F(9) + b"P" + STOP, "ErrIndexRange")
    R("reject/list/index-true", b"K" + i32(2) + F(0) + b"L" + b"P" + b"R" + F(9) + b"P" + STOP, "ErrIndexRange",
      deviation=dev("bool-list-index", "execnet accepts True/False as list index 1/0 (bool is an int "
                                       "subclass); our spec requires an INT index"))

    # Unhashable keys and elements.
    R("reject/unhashable/set-of-list", b"K" + i32(0) + b"O" + i32(1) + STOP, "ErrUnhashable")
    R("reject/unhashable/set-of-dict", b"J" + b"O" + i32(1) + STOP, "ErrUnhashable")
    R("reject/unhashable/frozenset-of-set", b"O" + i32(0) + b"E" + i32(1) + STOP, "ErrUnhashable")
    R("reject/unhashable/dict-key-list", b"J" + b"K" + i32(0) + F(1) + b"P" + STOP, "ErrUnhashable")
    R("reject/unhashable/dict-key-dict", b"J" + b"J" + F(1) + b"P" + STOP, "ErrUnhashable")
    R("reject/unhashable/dict-key-set", b"J" + b"O" + i32(0) + F(1) + b"P" + STOP, "ErrUnhashable")
    R("reject/unhashable/dict-key-tuple-with-list", b"J" + b"K" + i32(0) + b"@" + i32(1) + F(1) + b"P" + STOP,
      "ErrUnhashable")
    R("reject/unhashable/set-of-tuple-with-dict", b"J" + b"@" + i32(1) + b"O" + i32(1) + STOP, "ErrUnhashable")

    # Text and integers.
    R("reject/utf8/lone-continuation", lstr("N", b"\x80") + STOP, "ErrBadUTF8")
    R("reject/utf8/truncated-sequence", lstr("N", b"\xc3") + STOP, "ErrBadUTF8")
    R("reject/utf8/overlong-nul", lstr("N", b"\xc0\x80") + STOP, "ErrBadUTF8")
    R("reject/utf8/surrogate", lstr("N", b"\xed\xa0\x80") + STOP, "ErrBadUTF8")
    R("reject/utf8/beyond-max", lstr("N", b"\xf4\x90\x80\x80") + STOP, "ErrBadUTF8")
    R("reject/utf8/ff-byte", lstr("N", b"a\xffb") + STOP, "ErrBadUTF8")
    R("reject/utf8/unicode-S", lstr("S", b"\xfe") + STOP, "ErrBadUTF8")
    R("reject/integer/empty", lstr("H", b"") + STOP, "ErrBadInteger")
    R("reject/integer/letters", lstr("H", b"12a4") + STOP, "ErrBadInteger")
    R("reject/integer/minus-only", lstr("H", b"-") + STOP, "ErrBadInteger")
    R("reject/integer/hex", lstr("H", b"0x10") + STOP, "ErrBadInteger")
    R("reject/integer/float-syntax", lstr("H", b"1.0") + STOP, "ErrBadInteger")
    R("reject/integer/non-ascii-digit", lstr("H", "\u0661".encode()) + STOP, "ErrBadInteger")
    lenient = dev("longint-lenient-syntax", "execnet's int() accepts surrounding whitespace, a leading '+' "
                                            "and '_' digit separators; our spec requires [-]digits")
    for n, s in [("plus-underscore-spaces", b" +1_0 "), ("leading-space", b" 5"), ("trailing-newline", b"5\n"),
                 ("plus", b"+2147483648"), ("underscore", b"1_000_000_000_000"), ("tab", b"\t7")]:
        R("reject/integer/" + n, lstr("H", s) + STOP, "ErrBadInteger", deviation=lenient)
    R("reject/integer/longlong-I-letters", lstr("I", b"z") + STOP, "ErrBadInteger")

    # Decoder limits (defaults: depth 1000, 4300 digits).
    R("reject/limit/int-4301-digits", lstr("H", big_digits.encode()) + STOP, "ErrLimit",
      note="default MaxIntDigits is 4300, as CPython's and PyPy's int() limit")
    R("reject/limit/negative-int-4301-digits", lstr("H", b"-" + big_digits.encode()) + STOP, "ErrLimit")
    deep = b"@" + i32(0) + (b"@" + i32(1)) * 1000 + STOP
    R("reject/limit/tuple-depth-1001", deep, "ErrLimit",
      deviation=dev("no-depth-limit", "execnet's decoder is iterative and has no depth limit; "
                                      "our default MaxDepth is 1000"))
    R("reject/limit/list-depth-1001", (b"K" + i32(1) + b"F" + i32(0)) * 1000 + b"K" + i32(0) + b"P" * 1000 + STOP,
      "ErrLimit", deviation=dev("no-depth-limit", "execnet's decoder is iterative and has no depth limit; "
                                                  "our default MaxDepth is 1000"))

    # Channels outside a channel context.
    R("reject/channel/no-context", b"B" + i32(1) + STOP, "ErrChannelNotAllowed",
      note="public/standalone decoding has no gateway to resolve channel ids")
    R("reject/channel/no-context-nested", b"B" + i32(1) + b"@" + i32(1) + STOP, "ErrChannelNotAllowed")

    # ------------------------------------------------------------ versioned
    for n, val in [("none", None), ("int", 42), ("bigint", 2**64), ("str", "h\u00e9"), ("bytes", b"\x00\x01"),
                   ("float", 1.5), ("complex", 1 - 2j), ("tuple", (1, "a")), ("list", [1, [2]]),
                   ("dict", {"a": 1}), ("set-one", {5}), ("frozenset-one", frozenset({7})), ("true", True)]:
        g.versioned(n, val)
    g.versioned_reject("empty", b"", "ErrTruncated")
    g.versioned_reject("format-0", b"\x00" + b"L" + STOP, "ErrVersion")
    g.versioned_reject("format-3", b"\x03" + b"L" + STOP, "ErrVersion")
    g.versioned_reject("format-ff", b"\xff" + b"L" + STOP, "ErrVersion")
    g.versioned_reject("format-L-unversioned", b"L" + STOP, "ErrVersion")
    g.versioned_reject("format-1-then-truncated", b"\x01", "ErrTruncated")
    g.versioned_reject("format-1-unknown-opcode", b"\x01\x55", "ErrUnknownOpcode")
    g.versioned_reject("format-1-channel", b"\x01B" + i32(1) + STOP, "ErrChannelNotAllowed")


def main():
    g = Gen()
    build(g)
    vecs = [g.vectors[k] for k in sorted(g.vectors)]
    counts = {}
    for v in vecs:
        counts[v["class"]] = counts.get(v["class"], 0) + 1
    doc = {
        "generator": "testdata/gen/gen_vectors.py",
        "execnet_version": execnet.__version__,
        "python": "%s %d.%d.%d" % (sys.implementation.name, *sys.version_info[:3]),
        "counts": counts,
        "vectors": vecs,
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=1, sort_keys=True, ensure_ascii=True)
        f.write("\n")
    print("wrote %d vectors %s to %s" % (len(vecs), counts, os.path.normpath(OUT)))


if __name__ == "__main__":
    main()
