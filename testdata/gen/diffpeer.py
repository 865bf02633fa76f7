"""Differential-test peer: answers codec questions with real execnet.

Started by reference/codec/diff_test.go as `PYTHON -u diffpeer.py`. Reads one
JSON request per line on stdin and writes one JSON reply per line on stdout:

  {"op": "loads", "hex": H, "strconfig": [a, b] | null, "channels": bool,
   "quiet": bool, "versioned": bool}
      (versioned: execnet's public loads, format byte first)
      -> {"ok": true, "repr": R, "dumps": H2 | null, "dumps_error": E | null}
         (quiet: only {"ok": true}, for values too big to repr)
      or {"ok": false, "error": CLASS, "message": TEXT}
      H2 is execnet's dumps_internal of the decoded value.
  {"op": "same", "a": H, "b": H}
      -> {"ok": true, "same": bool}: both decode to strictly the same value
         (types, float bits, dict order; sets compared as sets).
  {"op": "version"} -> {"ok": true, "execnet": V, "python": P}

Unknown or malformed requests get {"ok": false, "error": "BadRequest"}.
"""

import json
import struct
import sys

import execnet
from execnet import gateway_base as gb


class PeerChannel(object):
    def __init__(self, id):
        self.id = id

    def __repr__(self):
        return "<Channel id=%d>" % self.id

    def __eq__(self, other):
        return isinstance(other, PeerChannel) and other.id == self.id

    def __hash__(self):
        return hash(("channel", self.id))


# execnet's encoder picks save_<type name>; give our stand-in that name so
# channels found in decoded values encode as CHANNEL again.
PeerChannel.__name__ = "Channel"


class PeerFactory(object):
    def new(self, id):
        return PeerChannel(id)


def error_class(exc):
    t = type(exc)
    if t.__module__ == "struct":
        return "struct.error"
    return t.__name__


def strict_same(a, b):
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return struct.pack("!d", a) == struct.pack("!d", b)
    if isinstance(a, complex):
        return strict_same(a.real, b.real) and strict_same(a.imag, b.imag)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(strict_same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        if len(a) != len(b):
            return False
        return all(strict_same(k1, k2) and strict_same(v1, v2)
                   for (k1, v1), (k2, v2) in zip(a.items(), b.items()))
    if isinstance(a, (set, frozenset)):
        if len(a) != len(b):
            return False
        pool = list(b)
        for x in a:
            for i, y in enumerate(pool):
                if strict_same(x, y):
                    del pool[i]
                    break
            else:
                return False
        return True
    return a == b


def decode(hexstr, strconfig=None, channels=False, versioned=False):
    if versioned:
        return gb.loads(bytes.fromhex(hexstr))
    factory = PeerFactory() if channels else None
    sc = tuple(strconfig) if strconfig is not None else None
    return gb.loads_internal(bytes.fromhex(hexstr), factory, sc)


def handle(req):
    op = req.get("op")
    if op == "version":
        return {"ok": True, "execnet": execnet.__version__,
                "python": "%s %d.%d.%d" % ((sys.implementation.name,) + tuple(sys.version_info[:3]))}
    if op == "loads":
        try:
            value = decode(req["hex"], req.get("strconfig"), bool(req.get("channels")),
                           bool(req.get("versioned")))
        except Exception as exc:
            return {"ok": False, "error": error_class(exc), "message": str(exc)[:200]}
        if req.get("quiet"):
            return {"ok": True}
        out = {"ok": True, "dumps": None, "dumps_error": None}
        try:
            out["repr"] = repr(value)
        except Exception as exc:
            out["repr"] = None
            out["repr_error"] = error_class(exc)
        try:
            out["dumps"] = gb.dumps_internal(value).hex()
        except Exception as exc:
            out["dumps_error"] = error_class(exc)
        return out
    if op == "same":
        try:
            a = decode(req["a"], channels=True)
            b = decode(req["b"], channels=True)
        except Exception as exc:
            return {"ok": False, "error": error_class(exc), "message": str(exc)[:200]}
        return {"ok": True, "same": strict_same(a, b)}
    return {"ok": False, "error": "BadRequest", "message": "unknown op %r" % (op,)}


def main():
    out = sys.stdout
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            req = json.loads(line)
            reply = handle(req) if isinstance(req, dict) else {"ok": False, "error": "BadRequest"}
        except Exception as exc:
            reply = {"ok": False, "error": "BadRequest", "message": str(exc)[:200]}
        out.write(json.dumps(reply, ensure_ascii=True) + "\n")
        out.flush()


if __name__ == "__main__":
    main()
